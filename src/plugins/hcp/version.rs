//! Data source `hcp-packer-version`: the release a channel of a product points at, read from
//! the registry (and its deprecated predecessor, `hcp-packer-iteration`).

use crate::body::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::plugins::check::Checker;
use crate::plugins::hcp::artifact::one_of;
use crate::plugins::hcp::read::{self, release_ref, Lookup};
use crate::plugins::sdk::{DataSource, StepContext, StepFuture};
use crate::value::Value;
use serde::Deserialize;

/// The hcp-packer-version data source's config: HCP Packer's fields, and kiln's (`bucket`,
/// `product`, `release`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct Config {
    /// The product (HCP Packer's bucket).
    #[serde(default)]
    pub bucket_name: String,
    /// The channel to read.
    #[serde(default)]
    pub channel_name: String,
    /// kiln's bucket (HCP Packer's project); the default bucket when unset.
    #[serde(default)]
    pub bucket: String,
    /// kiln's name for `bucket_name`.
    #[serde(default)]
    pub product: String,
    /// Read this release by name instead of a channel's.
    #[serde(default)]
    pub release: String,
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
    "bucket",
    "product",
    "release",
];

impl crate::plugins::sdk::Config for Config {
    /// The product named once, and a channel (or kiln's `release`).
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        one_of(&mut c, &["bucket_name", "product"], "the product");
        one_of(
            &mut c,
            &["channel_name", "release"],
            "the channel (or release) to read",
        );
        c.finish()
    }
}

/// The deprecated hcp-packer-iteration data source's config.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct IterationConfig {
    /// kiln's bucket; the default bucket when unset.
    #[serde(default)]
    pub bucket: String,
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

impl DataSource for Config {
    fn summary(&self, body: &BodyValue) -> String {
        version_summary(
            body,
            &["product", "bucket_name"],
            &["release", "channel_name"],
        )
    }

    fn read<'a>(&'a self, cx: StepContext<'a>) -> StepFuture<'a, Value> {
        let at = release_ref(&[&self.release], &[&self.channel_name]);
        Box::pin(read::version(
            cx,
            Lookup::new(&self.bucket, &self.product, &self.bucket_name, at),
        ))
    }
}

impl DataSource for IterationConfig {
    fn summary(&self, body: &BodyValue) -> String {
        version_summary(body, &["bucket_name"], &["channel"])
    }

    fn read<'a>(&'a self, cx: StepContext<'a>) -> StepFuture<'a, Value> {
        let at = release_ref(&[], &[&self.channel]);
        Box::pin(read::version(
            cx,
            Lookup::new(&self.bucket, "", &self.bucket_name, at),
        ))
    }
}

/// "read the release on channel production of web-server from the registry".
fn version_summary(body: &BodyValue, product: &[&str], at: &[&str]) -> String {
    let unknown = || crate::body::UNKNOWN.to_string();
    let product = product
        .iter()
        .find_map(|p| crate::body::shown_attr(body, p))
        .unwrap_or_else(unknown);
    let at = at
        .iter()
        .find_map(|f| {
            crate::body::shown_attr(body, f).map(|v| {
                if f.starts_with("channel") {
                    format!("the release on channel {v}")
                } else {
                    format!("release {v}")
                }
            })
        })
        .unwrap_or_else(|| format!("the release on channel {}", unknown()));
    format!("read {at} of {product} from the registry")
}
