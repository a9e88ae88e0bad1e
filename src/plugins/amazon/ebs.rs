//! Builder `amazon-ebs`: launch an EC2 instance from a source AMI, provision it over SSH, and
//! capture an EBS-backed AMI, copied to `ami_regions`.

use super::common::{validate_access, validate_ami, validate_run};
use super::types::{BlockDevice, FastLaunch, NameValue};
use crate::body::{shown, shown_attr, with_region, AttrValue, BodyValue, SENSITIVE, UNKNOWN};
use crate::diagnostic::Diagnostic;
use crate::plugins::check::Checker;
use crate::plugins::remote::communicator;
use crate::plugins::sdk::{
    Builder, BuilderPlan, BuilderStep, BuilderStepKind as Kind, StepContext, StepError, StepFuture,
};
use crate::source::Span;
use crate::value::Value;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::collections::BTreeSet;

crate::plugins::plugin_config! {
    /// The amazon-ebs builder's config: Packer's field set, AWS access, AMI, run and
    /// communicator groups included.
    #[derive(Deserialize, Debug, Clone)]
    pub struct Config with [amazon_access_fields, amazon_ami_fields, amazon_run_fields, communicator_fields] {
        /// Build and provision, but create no AMI.
        #[serde(default)]
        pub skip_create_ami: bool,
        /// Do not copy the run tags onto the AMI.
        #[serde(default)]
        pub skip_ami_run_tags: bool,
        /// Block devices of the AMI.
        #[serde(default)]
        pub ami_block_device_mappings: Vec<BlockDevice>,
        /// Block devices of the build instance.
        #[serde(default)]
        pub launch_block_device_mappings: Vec<BlockDevice>,
        /// Tags for the volumes of the build instance.
        #[serde(default)]
        pub run_volume_tags: BTreeMap<String, String>,
        /// Run volume tags as repeatable blocks.
        #[serde(default)]
        pub run_volume_tag: Vec<NameValue>,
        /// Remove ephemeral (instance store) devices from the mappings.
        #[serde(default)]
        pub no_ephemeral: bool,
        /// Windows fast launch.
        #[serde(default)]
        pub fast_launch: Option<FastLaunch>,
        /// What each session running this config has made so far, by session.
        #[serde(skip)]
        pub(crate) sessions: std::sync::Arc<std::sync::Mutex<BTreeMap<usize, super::session::Session>>>,
    }
}

impl crate::plugins::sdk::Config for Config {
    /// Packer's `Prepare()` checks for amazon-ebs, pointing into `body`.
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        validate_access(&mut c);
        validate_ami(&mut c);
        validate_run(&mut c);
        communicator::validate(&mut c);
        for kind in ["launch_block_device_mappings", "ami_block_device_mappings"] {
            c.each_block(kind, validate_block_device);
        }
        let spot = c
            .string("spot_price")
            .is_some_and(|p| !p.is_empty() && p != "0");
        if spot && (self.ena_support == Some(true) || self.sriov_support) {
            let field = if self.sriov_support {
                "sriov_support"
            } else {
                "ena_support"
            };
            c.error(field, "spot instances cannot be modified, which ena_support and sriov_support require; use a source AMI that already has ENA or SR-IOV enabled");
        }
        c.finish()
    }
}

/// Packer's `BlockDevice.Prepare()` checks.
fn validate_block_device(c: &mut Checker) {
    if !c.is_set("device_name") && !c.is_pending("device_name") {
        c.push(
            Diagnostic::error(
                c.block_span(),
                "`device_name` must be specified for every device in a block device mapping",
            )
            .with_hint("set `device_name = \"/dev/sda1\"`, for example"),
        );
    }
    if c.is_set("kms_key_id") && c.bool("encrypted") == Some(false) {
        c.error(
            "encrypted",
            "a device with a kms_key_id must have `encrypted = true`",
        );
    }
    let volume_type = c.string("volume_type");
    if let Some(volume_type) = volume_type.filter(|t| !t.is_empty()) {
        if c.number("throughput").is_some_and(|t| t != 0.0) && volume_type != "gp3" {
            c.error(
                "throughput",
                format!("throughput is only available for gp3 volumes, not {volume_type}"),
            );
        }
        if c.number("iops").is_some_and(|i| i != 0.0)
            && !["io1", "io2", "gp3"].contains(&volume_type.as_str())
        {
            c.error(
                "iops",
                format!("iops is only available for io1, io2 and gp3 volumes, not {volume_type}"),
            );
        }
    }
    if let Some(throughput) = c.number("throughput").filter(|t| *t != 0.0) {
        if !(125.0..=1000.0).contains(&throughput) {
            c.error(
                "throughput",
                "throughput must be between 125 and 1000 MiB/s",
            );
        }
    }
}

/// The nested blocks of the config.
pub const BLOCKS: &[&str] = &[
    "source_ami_filter",
    "vpc_filter",
    "subnet_filter",
    "security_group_filter",
    "launch_block_device_mappings",
    "ami_block_device_mappings",
    "assume_role",
];

impl Builder for Config {
    fn platform(&self) -> &'static str {
        "aws"
    }

    fn plan(&self, body: &BodyValue) -> BuilderPlan {
        let region = shown_attr(body, "region");
        let region = region.as_deref();
        let step = |kind, name: &str, summary: String, region: Option<&str>, span| BuilderStep {
            kind,
            name: name.to_string(),
            summary,
            region: region.map(str::to_string),
            api: true,
            span,
            plugin: None,
        };
        let mut steps = Vec::new();
        if let Some(filter) = body.blocks_of("source_ami_filter").next() {
            steps.push(BuilderStep {
                plugin: Some("amazon-ami"),
                ..step(
                    Kind::Lookup,
                    "source-ami",
                    with_region("find the source AMI", region),
                    region,
                    Some(filter.body.span),
                )
            });
        }
        steps.push(step(
            Kind::Launch,
            "launch",
            with_region("launch an instance", region),
            region,
            None,
        ));
        steps.push(step(
            Kind::Capture,
            "capture",
            with_region("create the AMI", region),
            region,
            None,
        ));
        steps.extend(
            copies(body, region)
                .into_iter()
                .map(|(name, target, to, span)| {
                    step(
                        Kind::Copy,
                        &name,
                        format!("copy the AMI to {target}"),
                        Some(&to),
                        Some(span),
                    )
                }),
        );
        steps.push(BuilderStep {
            api: true,
            ..step(
                Kind::Cleanup,
                "cleanup",
                "terminate the instance, delete the temporary key pair and security group".into(),
                None,
                None,
            )
        });
        BuilderPlan {
            steps,
            connects: match self.communicator.as_str() {
                "" | "ssh" => Ok(()),
                "none" => Err("the build's communicator is `none`".into()),
                other => Err(format!("kiln cannot connect over {other} yet")),
            },
        }
    }

    fn show(&self, step: &BuilderStep, body: &BodyValue) -> Option<BodyValue> {
        let pick = |names: &[&str]| BodyValue {
            span: body.span,
            attrs: body
                .attrs
                .iter()
                .filter(|a| names.contains(&a.name.as_str()))
                .cloned()
                .collect(),
            blocks: Vec::new(),
        };
        match step.kind {
            Kind::Launch => Some(body.clone()),
            Kind::Lookup => {
                let mut b = pick(&["region", "source_ami"]);
                b.blocks = body.blocks_of("source_ami_filter").cloned().collect();
                Some(b)
            }
            Kind::Capture => Some(pick(&[
                "ami_name",
                "ami_description",
                "region",
                "tags",
                "snapshot_tags",
            ])),
            Kind::Copy => {
                let mut b = pick(&["ami_name"]);
                let span = step.span.unwrap_or(body.span);
                let region = match step.region.as_deref() {
                    Some(UNKNOWN) | None => Value::unknown(),
                    Some(SENSITIVE) => Value::string("").sensitive(),
                    Some(r) => Value::string(r),
                };
                b.attrs.push(AttrValue {
                    name: "region".into(),
                    name_span: span,
                    value: region,
                    value_span: span,
                });
                Some(b)
            }
            Kind::Cleanup => None,
        }
    }

    fn unsupported(&self) -> Option<String> {
        let fields = self.unsupported_fields();
        if !matches!(self.communicator.as_str(), "" | "ssh" | "none") {
            return Some(format!(
                "kiln runs amazon-ebs only with `communicator = \"ssh\"` or `\"none\"` so far, not {:?}",
                self.communicator
            ));
        }
        (!fields.is_empty()).then(|| {
            format!(
                "kiln cannot run amazon-ebs with {} yet; remove {} to build",
                fields.join(", "),
                if fields.len() == 1 { "it" } else { "them" }
            )
        })
    }

    fn run<'a>(&'a self, step: &'a BuilderStep, cx: StepContext<'a>) -> StepFuture<'a> {
        Box::pin(async move {
            match step.kind {
                Kind::Lookup => self.lookup(&cx).await,
                Kind::Launch => self.launch(&cx).await,
                Kind::Capture => self.capture(&cx).await,
                Kind::Copy => {
                    let to = step
                        .region
                        .as_deref()
                        .ok_or_else(|| StepError::new("a copy step without its region"))?;
                    self.copy(&cx, to).await
                }
                Kind::Cleanup => self.cleanup(&cx).await,
            }
        })
    }
}

impl Config {
    /// The fields this config sets that kiln does not run yet, by their template names.
    fn unsupported_fields(&self) -> Vec<&'static str> {
        let set = [
            ("assume_role", self.assume_role.is_some()),
            ("vault_aws_engine", self.vault_aws_engine.is_some()),
            (
                "shared_credentials_file",
                !self.shared_credentials_file.is_empty(),
            ),
            ("mfa_code", !self.mfa_code.is_empty()),
            (
                "spot_price",
                !self.spot_price.is_empty() && self.spot_price != "0",
            ),
            ("spot_instance_types", !self.spot_instance_types.is_empty()),
            ("vpc_filter", self.vpc_filter.is_some()),
            ("subnet_filter", self.subnet_filter.is_some()),
            (
                "security_group_filter",
                self.security_group_filter.is_some(),
            ),
            (
                "temporary_iam_instance_profile_policy_document",
                self.temporary_iam_instance_profile_policy_document
                    .is_some(),
            ),
            (
                "temporary_security_group_source_public_ip",
                self.temporary_security_group_source_public_ip,
            ),
            ("skip_save_build_region", self.skip_save_build_region),
            ("fast_launch", self.fast_launch.is_some()),
            ("ami_org_arns", !self.ami_org_arns.is_empty()),
            ("ami_ou_arns", !self.ami_ou_arns.is_empty()),
            ("ami_product_codes", !self.ami_product_codes.is_empty()),
            ("snapshot_users", !self.snapshot_users.is_empty()),
            ("snapshot_groups", !self.snapshot_groups.is_empty()),
            ("deprecate_at", !self.deprecate_at.is_empty()),
            (
                "deregistration_protection",
                self.deregistration_protection.is_some(),
            ),
            (
                "elastic_ip_allocation_id",
                !self.elastic_ip_allocation_id.is_empty(),
            ),
            (
                "capacity_reservation_id",
                !self.capacity_reservation_id.is_empty(),
            ),
            (
                "capacity_reservation_group_arn",
                !self.capacity_reservation_group_arn.is_empty(),
            ),
            (
                "license_specifications",
                !self.license_specifications.is_empty(),
            ),
            ("enable_nitro_enclave", self.enable_nitro_enclave),
            ("ena_support", self.ena_support == Some(true)),
            ("sriov_support", self.sriov_support),
            (
                "ssh_interface = \"session_manager\"",
                self.ssh_interface == "session_manager",
            ),
            ("ssh_bastion_host", !self.ssh_bastion_host.is_empty()),
            ("ssh_proxy_host", !self.ssh_proxy_host.is_empty()),
            (
                "ssh_certificate_file",
                !self.ssh_certificate_file.is_empty(),
            ),
            ("ssh_local_tunnels", !self.ssh_local_tunnels.is_empty()),
            ("ssh_remote_tunnels", !self.ssh_remote_tunnels.is_empty()),
            ("ssh_ciphers", !self.ssh_ciphers.is_empty()),
            (
                "ssh_key_exchange_algorithms",
                !self.ssh_key_exchange_algorithms.is_empty(),
            ),
        ];
        set.iter().filter(|(_, on)| *on).map(|(f, _)| *f).collect()
    }
}

/// One copy step per `ami_regions` entry other than the build region: (step name, where it
/// copies to in words, its region as shown, span). A list unknown until the build is one
/// `copy[*]` step.
fn copies(body: &BodyValue, region: Option<&str>) -> Vec<(String, String, String, Span)> {
    let Some(attr) = body.attr("ami_regions") else {
        return Vec::new();
    };
    let span = attr.value_span;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    match attr.value.unmark().0.as_sequence() {
        Some(items) => {
            for (i, item) in items.iter().enumerate() {
                let target = shown(item);
                let name = if item.contains_unknown() || item.contains_sensitive() {
                    format!("copy[#{i}]")
                } else {
                    format!("copy[{target}]")
                };
                if Some(target.as_str()) == region && !item.contains_unknown()
                    || !seen.insert(name.clone())
                {
                    continue;
                }
                out.push((name, target.clone(), target, span));
            }
        }
        None if attr.value.contains_unknown() => out.push((
            "copy[*]".into(),
            format!("each of ami_regions {UNKNOWN}"),
            UNKNOWN.into(),
            span,
        )),
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::decode::decode;
    use crate::body::{AttrValue, BlockValue};
    use crate::plugins::sdk::Config as _;
    use crate::source::Span;
    use crate::value::Value;

    fn attr(name: &str, value: Value) -> AttrValue {
        AttrValue {
            name: name.into(),
            name_span: Span::default(),
            value,
            value_span: Span::default(),
        }
    }

    fn base() -> BodyValue {
        BodyValue {
            attrs: vec![
                attr("ami_name", Value::string("test-{{timestamp}}")),
                attr("instance_type", Value::string("t3.micro")),
                attr("region", Value::string("us-east-1")),
                attr("source_ami", Value::string("ami-123")),
                attr("ssh_username", Value::string("ubuntu")),
            ],
            ..BodyValue::default()
        }
    }

    fn messages(body: &BodyValue) -> Vec<String> {
        let config: Config = decode(body).expect("decodes");
        config
            .validate(body)
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn a_minimal_config_is_valid() {
        assert_eq!(messages(&base()), Vec::<String>::new());
    }

    #[test]
    fn a_source_ami_is_required() {
        let mut body = base();
        body.attrs.retain(|a| a.name != "source_ami");
        assert_eq!(
            messages(&body),
            ["a source_ami or source_ami_filter must be specified"]
        );
    }

    #[test]
    fn an_unknown_source_ami_counts_as_given() {
        let mut body = base();
        body.attrs.retain(|a| a.name != "source_ami");
        body.attrs.push(attr("source_ami", Value::unknown()));
        assert_eq!(messages(&body), Vec::<String>::new());
    }

    #[test]
    fn a_filter_needs_an_owner() {
        let mut body = base();
        body.attrs.retain(|a| a.name != "source_ami");
        let mut filters = crate::value::Map::new();
        filters.insert("name".into(), Value::string("ubuntu/*"));
        body.blocks.push(BlockValue {
            kind: "source_ami_filter".into(),
            kind_span: Span::default(),
            labels: vec![],
            body: BodyValue {
                attrs: vec![attr("filters", Value::Object(filters))],
                ..BodyValue::default()
            },
            span: Span::default(),
        });
        assert_eq!(
            messages(&body),
            ["for security reasons, your source AMI filter must declare an owner"]
        );
    }

    #[test]
    fn combinations_packer_rejects() {
        let mut body = base();
        body.attrs
            .push(attr("user_data", Value::string("#!/bin/sh")));
        body.attrs
            .push(attr("user_data_file", Value::string("boot.sh")));
        body.attrs
            .push(attr("shutdown_behavior", Value::string("stopp")));
        body.attrs
            .push(attr("kms_key_id", Value::string("alias/x")));
        assert_eq!(
            messages(&body),
            [
                "encrypt_boot must be true when kms_key_id is set",
                "only one of user_data or user_data_file can be specified",
                "`shutdown_behavior` must be one of \"stop\", \"terminate\", not \"stopp\"",
            ]
        );
    }

    #[test]
    fn block_devices_need_a_name() {
        let mut body = base();
        body.blocks.push(BlockValue {
            kind: "launch_block_device_mappings".into(),
            kind_span: Span::default(),
            labels: vec![],
            body: BodyValue {
                attrs: vec![attr("volume_size", Value::int(20))],
                ..BodyValue::default()
            },
            span: Span::default(),
        });
        let config: Config = decode(&body).expect("decodes");
        assert_eq!(config.launch_block_device_mappings[0].volume_size, 20);
        assert_eq!(
            messages(&body),
            ["`device_name` must be specified for every device in a block device mapping"]
        );
    }
}
