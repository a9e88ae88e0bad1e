//! Data source `amazon-ami`: finds an AMI by filters (`data.amazon-ami.NAME.id`).

use super::client::{access_of, connect};
use super::common::validate_access;
use super::lookup::by_filter;
use super::types::AmiFilter;
use crate::body::{shown_attr, with_region, BodyValue};
use crate::diagnostic::Diagnostic;
use crate::plugins::check::Checker;
use crate::plugins::sdk::{StepContext, StepFuture};
use crate::value::{Map, Value};
use serde::Deserialize;
use std::collections::BTreeMap;

crate::plugins::plugin_config! {
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

impl crate::plugins::sdk::Config for Config {
    /// Packer's checks: filters are required, and so is an owner.
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
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

/// The nested blocks of the config.
pub const BLOCKS: &[&str] = &["assume_role"];

impl crate::plugins::sdk::DataSource for Config {
    fn summary(&self, body: &BodyValue) -> String {
        with_region("find an AMI", shown_attr(body, "region").as_deref())
    }

    fn calls_api(&self) -> bool {
        true
    }

    fn unsupported(&self) -> Option<String> {
        let fields = [
            ("assume_role", self.assume_role.is_some()),
            ("vault_aws_engine", self.vault_aws_engine.is_some()),
            (
                "shared_credentials_file",
                !self.shared_credentials_file.is_empty(),
            ),
            ("mfa_code", !self.mfa_code.is_empty()),
        ];
        let set: Vec<&str> = fields
            .iter()
            .filter(|(_, on)| *on)
            .map(|(f, _)| *f)
            .collect();
        (!set.is_empty()).then(|| {
            format!(
                "kiln cannot read the amazon-ami data source with {} yet",
                set.join(", ")
            )
        })
    }

    fn read<'a>(&'a self, cx: StepContext<'a>) -> StepFuture<'a, Value> {
        Box::pin(async move {
            let client = connect(&cx, &access_of!(self), &self.region).await?;
            let filter = AmiFilter {
                filters: self.filters.clone(),
                owners: self.owners.clone(),
                most_recent: self.most_recent,
                include_deprecated: self.include_deprecated,
            };
            let image = by_filter(&client, &filter).await?;
            let mut value = Map::new();
            value.insert("id".into(), Value::string(image.id));
            value.insert("name".into(), Value::string(image.name));
            value.insert("creation_date".into(), Value::string(image.creation_date));
            value.insert("owner".into(), Value::string(image.owner));
            value.insert("owner_name".into(), Value::string(image.owner_name));
            let tags: Map = image
                .tags
                .into_iter()
                .map(|(k, v)| (k, Value::string(v)))
                .collect();
            value.insert("tags".into(), Value::Object(tags));
            Ok(Value::Object(value))
        })
    }
}
