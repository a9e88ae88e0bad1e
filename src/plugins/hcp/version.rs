//! Data source `hcp-packer-version`: the release a channel of a product points at, read from
//! the registry (and its deprecated predecessor, `hcp-packer-iteration`).

use crate::body::BodyValue;
use crate::diagnostic::Diagnostic;
use serde::Deserialize;

/// The hcp-packer-version data source's config.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct Config {
    /// The product (HCP Packer's bucket).
    pub bucket_name: String,
    /// The channel to read.
    pub channel_name: String,
}

/// Fields of the data source's value.
pub const OUTPUT_FIELDS: &[&str] = &[
    "author_id",
    "bucket_name",
    "created_at",
    "fingerprint",
    "id",
    "name",
    "status",
    "updated_at",
    "channel_id",
];

impl crate::plugins::sdk::Config for Config {
    /// Everything Packer checks is a required field.
    fn validate(&self, _body: &BodyValue) -> Vec<Diagnostic> {
        Vec::new()
    }
}

/// The deprecated hcp-packer-iteration data source's config.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct IterationConfig {
    /// The product (HCP Packer's bucket).
    pub bucket_name: String,
    /// The channel to read.
    pub channel: String,
}

impl crate::plugins::sdk::Config for IterationConfig {
    /// Everything Packer checks is a required field.
    fn validate(&self, _body: &BodyValue) -> Vec<Diagnostic> {
        Vec::new()
    }
}

super::registry_data_source!(
    Config,
    "hcp-packer-version",
    "read a release from the registry"
);

super::registry_data_source!(
    IterationConfig,
    "hcp-packer-iteration",
    "read a release from the registry"
);
