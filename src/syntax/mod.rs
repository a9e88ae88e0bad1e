//! Reading HCL text: the pest grammar (`grammar/hcl.pest`), lowered into the spanned [`ast`].
//! pest's types stay inside this module.

pub mod ast;
mod error;
mod lower;
mod parser;
mod template;

use crate::diagnostic::Diagnostic;
use crate::source::FileId;

pub use ast::*;

/// Parse one HCL file into its body, or every syntax error found in it.
pub fn parse(file: FileId, text: &str) -> Result<Body, Vec<Diagnostic>> {
    lower::parse_file(file, text)
}

/// Parse a whole text as a template (what `templatefile` reads).
pub fn parse_template(file: FileId, text: &str) -> Result<Template, Vec<Diagnostic>> {
    lower::parse_template_file(file, text)
}

/// Parse a whole text as one expression (what `kiln console` reads per line).
pub fn parse_expression(file: FileId, text: &str) -> Result<Expr, Vec<Diagnostic>> {
    lower::parse_expression(file, text)
}

/// Run only the pest grammar over a file, without lowering: for profiling the two apart
/// (`examples/parse_loop.rs`).
#[doc(hidden)]
pub fn grammar_accepts(text: &str) -> bool {
    use pest::Parser;
    parser::HclParser::parse(parser::Rule::file, text).is_ok()
}
