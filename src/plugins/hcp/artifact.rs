//! Data source `hcp-packer-artifact`: the image of a product's release for one platform and
//! region, read from the registry (and its deprecated predecessor, `hcp-packer-image`).

use crate::body::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::plugins::check::Checker;
use serde::Deserialize;

/// The hcp-packer-artifact data source's config.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct Config {
    /// The product (HCP Packer's bucket).
    pub bucket_name: String,
    /// Read the release this channel points at...
    #[serde(default)]
    pub channel_name: String,
    /// ...or this release, by fingerprint.
    #[serde(default)]
    pub version_fingerprint: String,
    /// The provider, e.g. `aws`.
    pub platform: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
    /// The component that built it, e.g. `amazon-ebs.my-ami`, when several did.
    #[serde(default)]
    pub component_type: String,
}

/// Fields of the data source's value (`data.hcp-packer-artifact.NAME.external_identifier`...).
pub const OUTPUT_FIELDS: &[&str] = &[
    "platform",
    "component_type",
    "created_at",
    "build_id",
    "version_id",
    "channel_id",
    "packer_run_uuid",
    "external_identifier",
    "region",
    "labels",
];

impl crate::plugins::sdk::Config for Config {
    /// Packer's check: exactly one of `channel_name` and `version_fingerprint`.
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        one_release(body, "channel_name", "version_fingerprint")
    }
}

/// The deprecated hcp-packer-image data source's config.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct ImageConfig {
    /// The product (HCP Packer's bucket).
    pub bucket_name: String,
    /// Read the iteration this channel points at...
    #[serde(default)]
    pub channel: String,
    /// ...or this iteration.
    #[serde(default)]
    pub iteration_id: String,
    /// The provider, e.g. `aws`.
    pub cloud_provider: String,
    /// The region.
    pub region: String,
    /// The component that built it.
    #[serde(default)]
    pub component_type: String,
}

impl crate::plugins::sdk::Config for ImageConfig {
    /// Packer's check: exactly one of `channel` and `iteration_id`.
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        one_release(body, "channel", "iteration_id")
    }
}

fn one_release(body: &BodyValue, channel: &str, release: &str) -> Vec<Diagnostic> {
    let mut c = Checker::new(body);
    c.exclusive(
        channel,
        release,
        &format!("`{channel}` and `{release}` are mutually exclusive"),
    );
    c.require_any(
        &[channel, release],
        &format!("one of `{channel}` or `{release}` must be set"),
    );
    c.finish()
}

super::registry_data_source!(
    Config,
    "hcp-packer-artifact",
    "read an image from the registry"
);

super::registry_data_source!(
    ImageConfig,
    "hcp-packer-image",
    "read an image from the registry"
);
