//! Post-processor `hcp-packer-publish` (kiln's, from the seed template): publishes the build's
//! images to the registry as one build of a product's release.

use crate::body::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::plugins::amazon::client::Access;
use crate::plugins::amazon::lookup::check_published;
use crate::plugins::check::Checker;
use crate::plugins::sdk::{Artifact, Publication, ReleaseTarget, StepContext, StepFuture};
use crate::registry::names;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The hcp-packer-publish post-processor's config.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct Config {
    /// The registry bucket (HCP Packer's project).
    pub bucket_name: String,
    /// The product (HCP Packer's bucket), e.g. `web-server`.
    pub product_name: String,
    /// The release this build belongs to, e.g. `v1.1.0`.
    pub release_name: String,
    /// A channel to point at the release once it is complete.
    #[serde(default)]
    pub channel: Option<String>,
    /// Labels recorded on the build.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// A description of the release.
    #[serde(default)]
    pub description: String,
    /// Explicit cloud credentials (by default the environment's).
    #[serde(default)]
    pub cloud_provider_config: Option<CloudProviderConfig>,
}

/// `cloud_provider_config { aws { ... } }`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct CloudProviderConfig {
    /// AWS credentials.
    pub aws: Option<AwsCredentials>,
}

/// `aws { access_key = ..., secret_key = ..., region = ... }`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct AwsCredentials {
    /// Access key ID.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: String,
    /// Session token.
    pub token: String,
    /// Region.
    pub region: String,
    /// Profile in the shared credentials file.
    pub profile: String,
}

impl crate::plugins::sdk::Config for Config {
    /// Names must not be empty, and `latest` is a channel the registry manages itself.
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        type NameCheck = fn(&str) -> crate::registry::Result<()>;
        let rules: [(&str, NameCheck); 3] = [
            ("bucket_name", names::bucket),
            ("product_name", names::product),
            ("release_name", names::release),
        ];
        for (field, rule) in rules {
            match c.string(field) {
                Some(s) if s.trim().is_empty() => {
                    c.error(field, format!("`{field}` must not be empty"))
                }
                Some(s) => {
                    if let Err(e) = rule(&s) {
                        let d = Diagnostic::error(c.span(field), e.to_string());
                        c.push(match e.hint() {
                            Some(h) => d.with_hint(h.to_string()),
                            None => d,
                        });
                    }
                }
                None => {}
            }
        }
        if c.string("channel").as_deref() == Some("latest") {
            c.push(
                Diagnostic::error(
                    c.span("channel"),
                    "the `latest` channel is managed by the registry",
                )
                .with_hint(
                    "it always points at the newest complete release; publish to another channel",
                ),
            );
        }
        c.each_block("cloud_provider_config", |p| {
            p.each_block("aws", |aws| {
                if aws.is_set("access_key") != aws.is_set("secret_key") {
                    let given = if aws.is_set("access_key") {
                        "access_key"
                    } else {
                        "secret_key"
                    };
                    aws.error(
                        given,
                        "`access_key` and `secret_key` must both be either set or not set",
                    );
                }
            })
        });
        c.finish()
    }
}

impl crate::plugins::sdk::PostProcessor for Config {
    /// The images stay where they are: publishing only records them.
    fn keeps_input(&self, _keep_input_artifact: Option<bool>) -> bool {
        true
    }

    /// Values known only at build time decode as empty strings.
    fn publishes(&self) -> Option<ReleaseTarget> {
        let known = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Some(ReleaseTarget {
            bucket: known(&self.bucket_name),
            product: known(&self.product_name),
            release: known(&self.release_name),
        })
    }

    /// Records the input artifact's images (the builder's, when the input has none) as this
    /// source's build of the release; the artifact it leaves names the release.
    fn post_process<'a>(
        &'a self,
        cx: StepContext<'a>,
        input: &'a Artifact,
    ) -> StepFuture<'a, Artifact> {
        Box::pin(async move {
            let target = self.publishes().unwrap_or_default();
            let path = target.path();
            let aws = self
                .cloud_provider_config
                .as_ref()
                .and_then(|c| c.aws.clone())
                .unwrap_or_default();
            let access = Access {
                access_key: &aws.access_key,
                secret_key: &aws.secret_key,
                token: &aws.token,
                profile: &aws.profile,
                custom_endpoint_ec2: "",
                max_retries: 0,
            };
            // The images must exist where the artifact says before the registry points at them.
            check_published(&cx, &access, &input.images).await?;
            let publication = Publication {
                target,
                channels: self.channel.iter().cloned().collect(),
                labels: self.labels.clone(),
                images: input.images.clone(),
            };
            cx.host.publish(cx.step, publication).await?;
            Ok(Artifact {
                builder_id: "kiln.post-processor.hcp-packer-publish".into(),
                id: path.clone(),
                description: format!("Published to the registry as release {path}"),
                files: Vec::new(),
                images: Vec::new(),
            })
        })
    }
}
