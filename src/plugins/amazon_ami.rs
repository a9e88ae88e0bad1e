//! Data source `amazon-ami`: finds an AMI by filters (`data.amazon-ami.NAME.id`).

use super::amazon_common::validate_access;
use super::check::Checker;
use crate::config::BodyValue;
use crate::diagnostic::Diagnostic;
use serde::Deserialize;
use std::collections::BTreeMap;

super::plugin_config! {
    /// The amazon-ami data source's config: AWS access plus the image filter.
    #[derive(Deserialize, Debug, Clone)]
    pub struct Config with [amazon_access_fields] {
        /// DescribeImages filters, e.g. `name`, `root-device-type`.
        #[serde(default)]
        pub filters: BTreeMap<String, String>,
        /// Owner account IDs or aliases; required for security.
        #[serde(default)]
        pub owners: Vec<String>,
        /// Pick the newest match instead of failing on several.
        #[serde(default)]
        pub most_recent: bool,
        /// Also consider deprecated images.
        #[serde(default)]
        pub include_deprecated: bool,
    }
}

/// Fields of the data source's value (`data.amazon-ami.NAME.<field>`).
pub const OUTPUT_FIELDS: &[&str] = &["id", "name", "creation_date", "owner", "owner_name", "tags"];

impl Config {
    /// Packer's checks: filters are required, and so is an owner.
    pub fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        validate_access(&mut c);
        if !c.is_set("filters") {
            c.push(
                Diagnostic::error(c.block_span(), "the `filters` must be specified")
                    .with_hint("set `filters = { name = \"ubuntu/images/*\" }`, for example"),
            );
        }
        let owner_filter = self
            .filters
            .keys()
            .any(|k| k == "owner-id" || k == "owner-alias")
            || c.is_pending("filters");
        if !c.is_set("owners") && !owner_filter {
            c.push(
                Diagnostic::error(
                    c.block_span(),
                    "for security reasons, you must declare an owner",
                )
                .with_hint(
                    "add `owners = [\"...\"]` (an account ID, or an alias such as \"amazon\")",
                ),
            );
        }
        c.finish()
    }
}
