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

impl crate::plugins::sdk::DataSource for Config {
    fn summary(&self, _body: &BodyValue) -> String {
        "read a release from the registry".into()
    }

    fn unsupported(&self) -> Option<String> {
        Some(NOT_YET_HCP_PACKER_VERSION.into())
    }

    fn read<'a>(
        &'a self,
        _cx: crate::plugins::sdk::StepContext<'a>,
    ) -> crate::plugins::sdk::StepFuture<'a, crate::value::Value> {
        Box::pin(async {
            Err(crate::plugins::sdk::StepError::new(
                NOT_YET_HCP_PACKER_VERSION,
            ))
        })
    }
}

impl crate::plugins::sdk::DataSource for IterationConfig {
    fn summary(&self, _body: &BodyValue) -> String {
        "read a release from the registry".into()
    }

    fn unsupported(&self) -> Option<String> {
        Some(NOT_YET_HCP_PACKER_ITERATION.into())
    }

    fn read<'a>(
        &'a self,
        _cx: crate::plugins::sdk::StepContext<'a>,
    ) -> crate::plugins::sdk::StepFuture<'a, crate::value::Value> {
        Box::pin(async {
            Err(crate::plugins::sdk::StepError::new(
                NOT_YET_HCP_PACKER_ITERATION,
            ))
        })
    }
}

const NOT_YET_HCP_PACKER_ITERATION: &str =
    "kiln cannot read the hcp-packer-iteration data source during a build yet";

const NOT_YET_HCP_PACKER_VERSION: &str =
    "kiln cannot read the hcp-packer-version data source during a build yet";
