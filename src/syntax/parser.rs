//! The pest parser generated from `grammar/hcl.pest`.

use pest_derive::Parser;

/// HCL's native syntax.
#[derive(Parser)]
#[grammar = "../grammar/hcl.pest"]
pub(super) struct HclParser;
