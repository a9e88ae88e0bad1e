//! Data source `hcp-packer-artifact`: the image of a product's release for one platform and
//! region, read from the registry (and its deprecated predecessor, `hcp-packer-image`).

use crate::body::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::plugins::check::Checker;
use crate::plugins::hcp::read::{self, release_ref, Lookup};
use crate::plugins::sdk::{DataSource, StepContext, StepFuture};
use crate::value::Value;
use serde::Deserialize;

/// The hcp-packer-artifact data source's config: HCP Packer's fields, and kiln's names for
/// them (`product`, `release`) with the bucket (`bucket`, HCP's project).
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct Config {
    /// The product (HCP Packer's bucket).
    #[serde(default)]
    pub bucket_name: String,
    /// Read the release this channel points at...
    #[serde(default)]
    pub channel_name: String,
    /// ...or this release, by fingerprint.
    #[serde(default)]
    pub version_fingerprint: String,
    /// kiln's bucket (HCP Packer's project); the default bucket when unset.
    #[serde(default)]
    pub bucket: String,
    /// kiln's name for `bucket_name`.
    #[serde(default)]
    pub product: String,
    /// kiln's name for `version_fingerprint`.
    #[serde(default)]
    pub release: String,
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
    "id",
    "bucket",
    "product",
    "release",
];

impl crate::plugins::sdk::Config for Config {
    /// Packer's check: exactly one of `channel_name` and `version_fingerprint` (or kiln's
    /// `release`), and the product named once.
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        one_of(&mut c, &["bucket_name", "product"], "the product");
        one_of(
            &mut c,
            &["channel_name", "version_fingerprint", "release"],
            "the release or channel to read",
        );
        c.finish()
    }
}

/// Exactly one of `fields` must be set.
pub(super) fn one_of(c: &mut Checker, fields: &[&str], what: &str) {
    let set: Vec<&str> = fields.iter().copied().filter(|f| c.is_set(f)).collect();
    let listed = crate::diagnostic::quote_list(fields);
    if set.is_empty() {
        c.require_any(fields, &format!("{what} must be set: one of {listed}"));
    } else if set.len() > 1 {
        c.error(
            set[1],
            format!("`{}` and `{}` are mutually exclusive", set[0], set[1]),
        );
    }
}

/// The deprecated hcp-packer-image data source's config.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct ImageConfig {
    /// kiln's bucket; the default bucket when unset.
    #[serde(default)]
    pub bucket: String,
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

impl DataSource for Config {
    fn summary(&self, body: &BodyValue) -> String {
        image_summary(body, &["product", "bucket_name"], "platform")
    }

    fn read<'a>(&'a self, cx: StepContext<'a>) -> StepFuture<'a, Value> {
        let at = release_ref(
            &[&self.release, &self.version_fingerprint],
            &[&self.channel_name],
        );
        let lookup = Lookup::new(&self.bucket, &self.product, &self.bucket_name, at);
        Box::pin(read::image(
            cx,
            lookup,
            &self.platform,
            &self.region,
            &self.component_type,
        ))
    }
}

impl DataSource for ImageConfig {
    fn summary(&self, body: &BodyValue) -> String {
        image_summary(body, &["bucket_name"], "cloud_provider")
    }

    fn read<'a>(&'a self, cx: StepContext<'a>) -> StepFuture<'a, Value> {
        let at = release_ref(&[&self.iteration_id], &[&self.channel]);
        let lookup = Lookup::new(&self.bucket, "", &self.bucket_name, at);
        Box::pin(read::image(
            cx,
            lookup,
            &self.cloud_provider,
            &self.region,
            &self.component_type,
        ))
    }
}

/// "read the aws image in us-east-1 of web-server from the registry".
fn image_summary(body: &BodyValue, product: &[&str], platform: &str) -> String {
    let product = product
        .iter()
        .find_map(|p| crate::body::shown_attr(body, p))
        .unwrap_or_else(|| crate::body::UNKNOWN.into());
    let platform =
        crate::body::shown_attr(body, platform).unwrap_or_else(|| crate::body::UNKNOWN.into());
    let region =
        crate::body::shown_attr(body, "region").unwrap_or_else(|| crate::body::UNKNOWN.into());
    format!("read the {platform} image in {region} of {product} from the registry")
}
