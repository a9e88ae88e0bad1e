//! The nested blocks of the Amazon plugin's configs (`source_ami_filter { ... }`,
//! `launch_block_device_mappings { ... }`, `assume_role { ... }`, ...), with Packer's field names.

use serde::Deserialize;
use std::collections::BTreeMap;

/// `tag { key = ..., value = ... }` and the other repeatable key/value tag blocks.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct KeyValue {
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// `filter { name = ..., value = ... }` and `run_volume_tag { ... }`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct NameValue {
    /// Filter or tag name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// `source_ami_filter { ... }`: how to find the source AMI.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct AmiFilter {
    /// DescribeImages filters, e.g. `name`, `root-device-type`.
    pub filters: BTreeMap<String, String>,
    /// Owner account IDs or aliases (`self`, `amazon`); required for security.
    pub owners: Vec<String>,
    /// Pick the newest match instead of failing on several.
    pub most_recent: bool,
    /// Also consider deprecated images.
    pub include_deprecated: bool,
}

impl AmiFilter {
    /// True when the filter names an owner, through `owners` or an owner filter key.
    pub fn has_owner(&self) -> bool {
        !self.owners.is_empty()
            || self
                .filters
                .keys()
                .any(|k| k == "owner-id" || k == "owner-alias")
    }
}

/// `security_group_filter { ... }`, `vpc_filter { ... }`: DescribeX filters.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct ResourceFilter {
    /// Filters as a map.
    pub filters: BTreeMap<String, String>,
    /// Filters as repeatable `filter { name, value }` blocks.
    pub filter: Vec<NameValue>,
}

/// `subnet_filter { ... }`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct SubnetFilter {
    /// Filters as a map.
    pub filters: BTreeMap<String, String>,
    /// Filters as repeatable `filter { name, value }` blocks.
    pub filter: Vec<NameValue>,
    /// Pick the subnet with the most free addresses.
    pub most_free: bool,
    /// Pick a random matching subnet.
    pub random: bool,
}

/// `temporary_iam_instance_profile_policy_document { Version = ..., Statement { ... } }`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct PolicyDocument {
    /// Policy language version, e.g. `2012-10-17`.
    #[serde(rename = "Version")]
    pub version: String,
    /// The statements.
    #[serde(rename = "Statement")]
    pub statement: Vec<Statement>,
}

/// `Statement { Effect = ..., Action = [...], Resource = [...] }`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct Statement {
    /// `Allow` or `Deny`.
    #[serde(rename = "Effect")]
    pub effect: String,
    /// Actions, e.g. `logs:*`.
    #[serde(rename = "Action")]
    pub action: Vec<String>,
    /// Resource ARNs.
    #[serde(rename = "Resource")]
    pub resource: Vec<String>,
}

/// `license_specifications { license_configuration_request { ... } }`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct LicenseSpecification {
    /// The license configuration to use.
    pub license_configuration_request: Option<LicenseConfigurationRequest>,
}

/// `license_configuration_request { license_configuration_arn = ... }`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct LicenseConfigurationRequest {
    /// ARN of the license configuration.
    pub license_configuration_arn: String,
}

/// `placement { ... }`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct Placement {
    /// Host resource group to launch into.
    pub host_resource_group_arn: String,
    /// Dedicated host to launch on.
    pub host_id: String,
    /// `default`, `dedicated` or `host`.
    pub tenancy: String,
}

/// `metadata_options { ... }`: the instance metadata service.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct MetadataOptions {
    /// `enabled` (default) or `disabled`.
    pub http_endpoint: String,
    /// `optional` (default) or `required` (IMDSv2).
    pub http_tokens: String,
    /// Hop limit, 1 to 64 (default 1).
    pub http_put_response_hop_limit: i32,
    /// `enabled` or `disabled` (default): instance tags in the metadata.
    pub instance_metadata_tags: String,
}

/// `launch_block_device_mappings { ... }` and `ami_block_device_mappings { ... }`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct BlockDevice {
    /// Delete the volume when the instance terminates.
    pub delete_on_termination: Option<bool>,
    /// Device name, e.g. `/dev/sda1`; required.
    pub device_name: String,
    /// Encrypt the volume.
    pub encrypted: Option<bool>,
    /// Provisioned IOPS (io1, io2, gp3).
    pub iops: i32,
    /// Suppress the device from the mapping.
    pub no_device: bool,
    /// Snapshot to create the volume from.
    pub snapshot_id: String,
    /// Throughput in MiB/s (gp3).
    pub throughput: i32,
    /// Instance store name, `ephemeral0`...
    pub virtual_name: String,
    /// `gp2`, `gp3`, `io1`, `io2`, `st1`, `sc1`, `standard`.
    pub volume_type: String,
    /// Size in GiB.
    pub volume_size: i32,
    /// KMS key for encryption (needs `encrypted = true`).
    pub kms_key_id: String,
}

/// `assume_role { ... }`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct AssumeRole {
    /// Role to assume.
    pub role_arn: String,
    /// Session length in seconds.
    pub duration_seconds: i64,
    /// External ID.
    pub external_id: String,
    /// Inline session policy (JSON).
    pub policy: String,
    /// Managed session policies.
    pub policy_arns: Vec<String>,
    /// Session name.
    pub session_name: String,
    /// Session tags.
    pub tags: BTreeMap<String, String>,
    /// Tag keys passed on to later sessions.
    pub transitive_tag_keys: Vec<String>,
}

/// `vault_aws_engine { ... }`: credentials from Vault's AWS secrets engine.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct VaultAwsEngine {
    /// Vault role name.
    pub name: String,
    /// Role ARN for `assumed_role` credentials.
    pub role_arn: String,
    /// Lease TTL for `sts` credentials.
    pub ttl: String,
    /// Mount path of the engine (default `aws`).
    pub engine_name: String,
}

/// `aws_polling { ... }`: how long to wait for AWS resources.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct AwsPolling {
    /// Seconds between attempts.
    pub delay_seconds: i64,
    /// Attempts before giving up.
    pub max_attempts: i64,
}

/// `deregistration_protection { ... }`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct DeregistrationProtection {
    /// Protect the AMI from deregistration.
    pub enabled: bool,
    /// Keep protection for 24 hours after it is turned off.
    pub with_cooldown: bool,
}

/// `fast_launch { ... }` (Windows fast launch).
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct FastLaunch {
    /// Turn fast launch on.
    pub enable_fast_launch: bool,
    /// Launch template ID.
    pub template_id: String,
    /// Launch template name.
    pub template_name: String,
    /// Launch template version.
    pub template_version: i64,
    /// Per-region launch templates.
    pub region_launch_templates: Vec<FastLaunchTemplate>,
    /// Parallel launches to pre-provision snapshots (default 6).
    pub max_parallel_launches: i64,
    /// Pre-provisioned snapshots to keep (default 5).
    pub target_resource_count: i64,
}

/// `region_launch_templates { region = ..., ... }`.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct FastLaunchTemplate {
    /// Turn fast launch on for this region.
    #[serde(default)]
    pub enable_fast_launch: Option<bool>,
    /// The region.
    pub region: String,
    /// Launch template ID.
    #[serde(default)]
    pub template_id: String,
    /// Launch template name.
    #[serde(default)]
    pub template_name: String,
    /// Launch template version.
    #[serde(default)]
    pub template_version: i64,
}
