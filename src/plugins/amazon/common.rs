//! Field groups of the Amazon plugin (Packer's `AccessConfig`, `AMIConfig` and `RunConfig`) and
//! the checks their `Prepare()` methods make.

use crate::diagnostic::Diagnostic;
use crate::plugins::check::Checker;

/// Field group: AWS credentials, region and endpoint (Packer's `AccessConfig`).
macro_rules! amazon_access_fields {
    ([$($head:tt)*] [$($fields:tt)*] $($rest:ident)*) => {
        $crate::plugins::plugin_config!(@splice [$($head)*] [$($fields)*
            /// Access key ID (default: the usual AWS credential chain).
            #[serde(default)]
            pub access_key: String,
            /// Assume this role before anything else.
            #[serde(default)]
            pub assume_role: Option<$crate::plugins::amazon::types::AssumeRole>,
            /// EC2-compatible endpoint URL (also `AWS_ENDPOINT_URL`).
            #[serde(default)]
            pub custom_endpoint_ec2: String,
            /// Shared credentials file.
            #[serde(default)]
            pub shared_credentials_file: String,
            /// Decode authorization failure messages through STS.
            #[serde(default)]
            pub decode_authorization_messages: bool,
            /// Skip TLS verification of the endpoint.
            #[serde(default)]
            pub insecure_skip_tls_verify: bool,
            /// Retries of throttled API calls.
            #[serde(default)]
            pub max_retries: i64,
            /// MFA token code.
            #[serde(default)]
            pub mfa_code: String,
            /// Profile in the shared credentials file.
            #[serde(default)]
            pub profile: String,
            /// The region to build in (default: `AWS_REGION`, the profile's, or the instance's).
            #[serde(default)]
            pub region: String,
            /// Secret access key.
            #[serde(default)]
            pub secret_key: String,
            /// Do not look up credentials in the instance metadata service.
            #[serde(default)]
            pub skip_metadata_api_check: bool,
            /// Do not check credentials with STS.
            #[serde(default)]
            pub skip_credential_validation: bool,
            /// Session token.
            #[serde(default)]
            pub token: String,
            /// Credentials from Vault's AWS secrets engine.
            #[serde(default)]
            pub vault_aws_engine: Option<$crate::plugins::amazon::types::VaultAwsEngine>,
            /// Polling of long-running AWS operations.
            #[serde(default)]
            pub aws_polling: Option<$crate::plugins::amazon::types::AwsPolling>,
        ] $($rest)*);
    };
}
pub(crate) use amazon_access_fields;

/// Field group: the AMI to create (Packer's `AMIConfig`). `ami_name` is required.
macro_rules! amazon_ami_fields {
    ([$($head:tt)*] [$($fields:tt)*] $($rest:ident)*) => {
        $crate::plugins::plugin_config!(@splice [$($head)*] [$($fields)*
            /// Name of the AMI (3 to 128 characters; may use `{{timestamp}}`).
            pub ami_name: String,
            /// AMI description.
            #[serde(default)]
            pub ami_description: String,
            /// `paravirtual` or `hvm`.
            #[serde(default)]
            pub ami_virtualization_type: String,
            /// Account IDs allowed to launch the AMI.
            #[serde(default)]
            pub ami_users: Vec<String>,
            /// Groups allowed to launch the AMI (`all` makes it public).
            #[serde(default)]
            pub ami_groups: Vec<String>,
            /// Organization ARNs allowed to launch the AMI.
            #[serde(default)]
            pub ami_org_arns: Vec<String>,
            /// Organizational unit ARNs allowed to launch the AMI.
            #[serde(default)]
            pub ami_ou_arns: Vec<String>,
            /// Product codes to attach.
            #[serde(default)]
            pub ami_product_codes: Vec<String>,
            /// Regions to copy the AMI to.
            #[serde(default)]
            pub ami_regions: Vec<String>,
            /// Do not check that the regions exist.
            #[serde(default)]
            pub skip_region_validation: bool,
            /// Time-based snapshot copy duration, in minutes (multiple of 15).
            #[serde(default)]
            pub snapshot_copy_duration_minutes: i64,
            /// Tags for the AMI.
            #[serde(default)]
            pub tags: std::collections::BTreeMap<String, String>,
            /// Tags for the AMI as repeatable blocks.
            #[serde(default)]
            pub tag: Vec<$crate::plugins::amazon::types::KeyValue>,
            /// Enhanced networking (ENA).
            #[serde(default)]
            pub ena_support: Option<bool>,
            /// SR-IOV networking.
            #[serde(default)]
            pub sriov_support: bool,
            /// Deregister an existing AMI with the same name first.
            #[serde(default)]
            pub force_deregister: bool,
            /// Also delete that AMI's snapshots.
            #[serde(default)]
            pub force_delete_snapshot: bool,
            /// Encrypt the boot volume of the AMI.
            #[serde(default)]
            pub encrypt_boot: Option<bool>,
            /// KMS key for the boot volume.
            #[serde(default)]
            pub kms_key_id: String,
            /// KMS key per region for copies.
            #[serde(default)]
            pub region_kms_key_ids: std::collections::BTreeMap<String, String>,
            /// Do not keep the AMI in the build region.
            #[serde(default)]
            pub skip_save_build_region: bool,
            /// `v2.0` to require IMDSv2 on instances of the AMI.
            #[serde(default)]
            pub imds_support: String,
            /// When the AMI is deprecated (RFC 3339).
            #[serde(default)]
            pub deprecate_at: String,
            /// Tags for the AMI's snapshots.
            #[serde(default)]
            pub snapshot_tags: std::collections::BTreeMap<String, String>,
            /// Snapshot tags as repeatable blocks.
            #[serde(default)]
            pub snapshot_tag: Vec<$crate::plugins::amazon::types::KeyValue>,
            /// Accounts allowed to create volumes from the snapshots.
            #[serde(default)]
            pub snapshot_users: Vec<String>,
            /// Groups allowed to create volumes from the snapshots.
            #[serde(default)]
            pub snapshot_groups: Vec<String>,
            /// Deregistration protection.
            #[serde(default)]
            pub deregistration_protection: Option<$crate::plugins::amazon::types::DeregistrationProtection>,
        ] $($rest)*);
    };
}
pub(crate) use amazon_ami_fields;

/// Field group: the instance to launch (Packer's `RunConfig`, without its communicator).
macro_rules! amazon_run_fields {
    ([$($head:tt)*] [$($fields:tt)*] $($rest:ident)*) => {
        $crate::plugins::plugin_config!(@splice [$($head)*] [$($fields)*
            /// Give the instance a public IP (unset: the subnet's default).
            #[serde(default)]
            pub associate_public_ip_address: Option<bool>,
            /// An Elastic IP to associate with the instance.
            #[serde(default)]
            pub elastic_ip_allocation_id: String,
            /// Availability zone to launch in.
            #[serde(default)]
            pub availability_zone: String,
            /// Spot block duration in minutes (deprecated by AWS).
            #[serde(default)]
            pub block_duration_minutes: i64,
            /// `none` (default) or `open`.
            #[serde(default)]
            pub capacity_reservation_preference: String,
            /// Capacity reservation to launch into.
            #[serde(default)]
            pub capacity_reservation_id: String,
            /// Capacity reservation group to launch into.
            #[serde(default)]
            pub capacity_reservation_group_arn: String,
            /// Leave stopping the instance to a provisioner.
            #[serde(default)]
            pub disable_stop_instance: bool,
            /// EBS-optimized instance.
            #[serde(default)]
            pub ebs_optimized: bool,
            /// Nitro Enclaves.
            #[serde(default)]
            pub enable_nitro_enclave: bool,
            /// Deprecated: use `enable_unlimited_credits`.
            #[serde(default)]
            pub enable_t2_unlimited: bool,
            /// Unlimited CPU credits (burstable types).
            #[serde(default)]
            pub enable_unlimited_credits: bool,
            /// IAM instance profile for the instance.
            #[serde(default)]
            pub iam_instance_profile: String,
            /// Tags for the spot fleet request.
            #[serde(default)]
            pub fleet_tags: std::collections::BTreeMap<String, String>,
            /// Fleet tags as repeatable blocks.
            #[serde(default)]
            pub fleet_tag: Vec<$crate::plugins::amazon::types::KeyValue>,
            /// Do not check that the instance profile exists.
            #[serde(default)]
            pub skip_profile_validation: bool,
            /// Policy of a temporary instance profile to create.
            #[serde(default)]
            pub temporary_iam_instance_profile_policy_document: Option<$crate::plugins::amazon::types::PolicyDocument>,
            /// `stop` (default) or `terminate`.
            #[serde(default)]
            pub shutdown_behavior: String,
            /// Instance type, e.g. `t3.micro` (or `spot_instance_types`).
            #[serde(default)]
            pub instance_type: String,
            /// Find security groups by filter.
            #[serde(default)]
            pub security_group_filter: Option<$crate::plugins::amazon::types::ResourceFilter>,
            /// Tags for the instance and the temporary resources.
            #[serde(default)]
            pub run_tags: std::collections::BTreeMap<String, String>,
            /// Run tags as repeatable blocks.
            #[serde(default)]
            pub run_tag: Vec<$crate::plugins::amazon::types::KeyValue>,
            /// Security group to use instead of a temporary one.
            #[serde(default)]
            pub security_group_id: String,
            /// Security groups to use instead of a temporary one.
            #[serde(default)]
            pub security_group_ids: Vec<String>,
            /// The AMI to start from.
            #[serde(default)]
            pub source_ami: String,
            /// Find the AMI to start from.
            #[serde(default)]
            pub source_ami_filter: Option<$crate::plugins::amazon::types::AmiFilter>,
            /// `price-capacity-optimized`, `capacity-optimized`, `diversified` or `lowest-price`.
            #[serde(default)]
            pub spot_allocation_strategy: String,
            /// Instance types a spot request may use.
            #[serde(default)]
            pub spot_instance_types: Vec<String>,
            /// Maximum spot price, or `auto`.
            #[serde(default)]
            pub spot_price: String,
            /// Product for `spot_price = "auto"` (undocumented).
            #[serde(default)]
            pub spot_price_auto_product: String,
            /// Tags for the spot request.
            #[serde(default)]
            pub spot_tags: std::collections::BTreeMap<String, String>,
            /// Spot tags as repeatable blocks.
            #[serde(default)]
            pub spot_tag: Vec<$crate::plugins::amazon::types::KeyValue>,
            /// Find the subnet by filter.
            #[serde(default)]
            pub subnet_filter: Option<$crate::plugins::amazon::types::SubnetFilter>,
            /// Subnet to launch in.
            #[serde(default)]
            pub subnet_id: String,
            /// License configurations.
            #[serde(default)]
            pub license_specifications: Vec<$crate::plugins::amazon::types::LicenseSpecification>,
            /// Placement of the instance.
            #[serde(default)]
            pub placement: Option<$crate::plugins::amazon::types::Placement>,
            /// Deprecated: use `placement { tenancy }`.
            #[serde(default)]
            pub tenancy: String,
            /// CIDRs allowed into the temporary security group (default `0.0.0.0/0`).
            #[serde(default)]
            pub temporary_security_group_source_cidrs: Vec<String>,
            /// Allow only this machine's public IP into the temporary security group.
            #[serde(default)]
            pub temporary_security_group_source_public_ip: bool,
            /// User data.
            #[serde(default)]
            pub user_data: String,
            /// File holding the user data.
            #[serde(default)]
            pub user_data_file: String,
            /// Find the VPC by filter.
            #[serde(default)]
            pub vpc_filter: Option<$crate::plugins::amazon::types::ResourceFilter>,
            /// VPC to launch in.
            #[serde(default)]
            pub vpc_id: String,
            /// How long to wait for a Windows password (default 20m).
            #[serde(default)]
            pub windows_password_timeout: String,
            /// Instance metadata service settings.
            #[serde(default)]
            pub metadata_options: Option<$crate::plugins::amazon::types::MetadataOptions>,
            /// Which address to connect to: `public_ip`, `private_ip`, `public_dns`, `private_dns`, `ipv6`, `session_manager`.
            #[serde(default)]
            pub ssh_interface: String,
            /// Wait before starting a Session Manager session (default 10s).
            #[serde(default)]
            pub pause_before_ssm: String,
            /// Local port of the Session Manager tunnel.
            #[serde(default)]
            pub session_manager_port: u16,
        ] $($rest)*);
    };
}
pub(crate) use amazon_run_fields;

/// Packer's `AccessConfig.Prepare()` checks.
pub(crate) fn validate_access(c: &mut Checker) {
    if c.is_set("access_key") != c.is_set("secret_key") {
        let given = if c.is_set("access_key") {
            "access_key"
        } else {
            "secret_key"
        };
        c.error(
            given,
            "`access_key` and `secret_key` must both be either set or not set",
        );
    }
    if c.is_set("vault_aws_engine") {
        for field in ["access_key", "secret_key", "token"] {
            c.exclusive(
                "vault_aws_engine",
                field,
                "credentials cannot be set together with vault_aws_engine",
            );
        }
    }
}

/// Packer's `AMIConfig.Prepare()` checks.
pub(crate) fn validate_ami(c: &mut Checker) {
    if let Some(name) = c.string("ami_name").filter(|n| !n.is_empty()) {
        let length = name.chars().count();
        if !(3..=128).contains(&length) {
            c.error(
                "ami_name",
                format!("ami_name must be between 3 and 128 characters long, not {length}"),
            );
        }
        if let Some(bad) = name.chars().find(|ch| !is_ami_name_char(*ch)) {
            c.push(
                Diagnostic::error(c.span("ami_name"), format!("ami_name cannot contain {bad:?}"))
                    .with_hint("AMI names may hold letters, digits, spaces and ( ) [ ] . / - ' @ _; the `clean_resource_name` filter cleans a name"),
            );
        }
    }
    let encrypted = c.bool("encrypt_boot");
    if !c.is_pending("encrypt_boot") && encrypted != Some(true) {
        for field in ["kms_key_id", "region_kms_key_ids"] {
            if c.is_set(field) {
                c.error(
                    field,
                    format!("encrypt_boot must be true when {field} is set"),
                );
            }
        }
    }
    if let (Some(regions), Some(keys)) = (c.strings("ami_regions"), c.keys("region_kms_key_ids")) {
        if !keys.is_empty() {
            for region in regions.iter().filter(|r| !keys.contains(r)) {
                c.error(
                    "region_kms_key_ids",
                    format!("region {region} is in ami_regions but not in region_kms_key_ids"),
                );
            }
        }
    }
    if let Some(regions) = c.strings("ami_regions") {
        for (i, region) in regions.iter().enumerate() {
            if regions[..i].contains(region) {
                c.push(Diagnostic::warning(
                    c.span("ami_regions"),
                    format!("`{region}` is listed twice in ami_regions"),
                ));
            }
        }
    }
    c.one_of("imds_support", &["v2.0"]);
    c.one_of("ami_virtualization_type", &["paravirtual", "hvm"]);
    if let Some(minutes) = c
        .number("snapshot_copy_duration_minutes")
        .filter(|m| *m != 0.0)
    {
        if minutes < 15.0 || minutes % 15.0 != 0.0 {
            c.error(
                "snapshot_copy_duration_minutes",
                "snapshot_copy_duration_minutes must be a multiple of 15",
            );
        }
    }
}

/// Characters Packer allows in an AMI name.
fn is_ami_name_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || "()[] ./-'@_".contains(ch)
}

/// Packer's `RunConfig.Prepare()` checks, including those on the communicator it holds.
pub(crate) fn validate_run(c: &mut Checker) {
    if !c.is_set("source_ami") && !c.is_set("source_ami_filter") {
        c.push(
            Diagnostic::error(c.block_span(), "a source_ami or source_ami_filter must be specified")
                .with_hint("set `source_ami = \"ami-...\"`, or find one with `source_ami_filter { filters = {...} owners = [...] }`"),
        );
    }
    if !c.is_set("source_ami") {
        c.each_block("source_ami_filter", |f| {
            let owner_filter = match f.keys("filters") {
                Some(keys) => keys.iter().any(|k| k == "owner-id" || k == "owner-alias"),
                None => f.is_pending("filters"),
            };
            if !f.is_set("owners") && !owner_filter {
                f.push(
                    Diagnostic::error(
                        f.block_span(),
                        "for security reasons, your source AMI filter must declare an owner",
                    )
                    .with_hint(
                        "add `owners = [\"...\"]` (an account ID, or an alias such as \"amazon\")",
                    ),
                );
            }
        });
    }
    if !c.is_set("instance_type") && !c.is_set("spot_instance_types") {
        c.push(
            Diagnostic::error(
                c.block_span(),
                "either instance_type or spot_instance_types must be specified",
            )
            .with_hint("set `instance_type = \"t3.micro\"`, for example"),
        );
    }
    c.exclusive(
        "instance_type",
        "spot_instance_types",
        "either instance_type or spot_instance_types must be specified, not both",
    );
    let spot = c.is_pending("spot_price")
        || c.string("spot_price")
            .is_some_and(|p| !p.is_empty() && p != "0");
    for field in ["spot_tags", "fleet_tags"] {
        if c.is_set(field) && !spot {
            c.error(
                field,
                format!("{field} should not be set when not requesting a spot instance"),
            );
        }
    }
    if let Some(minutes) = c.number("block_duration_minutes") {
        if minutes % 60.0 != 0.0 {
            c.error(
                "block_duration_minutes",
                "block_duration_minutes must be a multiple of 60",
            );
        }
    }
    c.one_of(
        "spot_allocation_strategy",
        &[
            "price-capacity-optimized",
            "capacity-optimized",
            "diversified",
            "lowest-price",
        ],
    );
    c.exclusive(
        "user_data",
        "user_data_file",
        "only one of user_data or user_data_file can be specified",
    );
    c.exclusive(
        "security_group_id",
        "security_group_ids",
        "only one of security_group_id or security_group_ids can be specified",
    );
    for cidr in c
        .strings("temporary_security_group_source_cidrs")
        .unwrap_or_default()
    {
        if !is_cidr(&cidr) {
            c.error(
                "temporary_security_group_source_cidrs",
                format!("`{cidr}` is not a CIDR block such as \"10.0.0.0/16\""),
            );
        }
    }
    c.one_of("shutdown_behavior", &["stop", "terminate"]);
    c.one_of(
        "ssh_interface",
        &[
            "public_ip",
            "private_ip",
            "public_dns",
            "private_dns",
            "ipv6",
            "session_manager",
        ],
    );
    if c.string("ssh_interface").as_deref() == Some("session_manager")
        && !c.is_set("iam_instance_profile")
        && !c.is_set("temporary_iam_instance_profile_policy_document")
    {
        c.error(
            "ssh_interface",
            "session_manager connectivity requires iam_instance_profile or temporary_iam_instance_profile_policy_document",
        );
    }
    if c.is_set("ssh_keypair_name")
        && !c.is_set("ssh_private_key_file")
        && c.bool("ssh_agent_auth") != Some(true)
    {
        c.error(
            "ssh_keypair_name",
            "ssh_private_key_file must be provided or ssh_agent_auth enabled when ssh_keypair_name is specified",
        );
    }
    c.one_of("temporary_key_pair_type", &["rsa", "ed25519"]);
    c.one_of("capacity_reservation_preference", &["none", "open"]);
    c.exclusive(
        "capacity_reservation_id",
        "capacity_reservation_group_arn",
        "capacity_reservation_id and capacity_reservation_group_arn are mutually exclusive",
    );
    for target in ["capacity_reservation_id", "capacity_reservation_group_arn"] {
        c.exclusive(
            target,
            "capacity_reservation_preference",
            "capacity_reservation_preference cannot be set with a capacity reservation target",
        );
    }
    c.one_of("tenancy", &["default", "dedicated", "host"]);
    c.each_block("placement", |p| {
        p.one_of("tenancy", &["default", "dedicated", "host"]);
        p.exclusive(
            "host_id",
            "host_resource_group_arn",
            "host_id and host_resource_group_arn cannot be specified at the same time",
        );
        if (p.is_set("host_id") || p.is_set("host_resource_group_arn"))
            && p.string("tenancy")
                .is_some_and(|t| !t.is_empty() && t != "host")
        {
            p.error(
                "tenancy",
                "the tenancy should be `host` with host_id or host_resource_group_arn",
            );
        }
    });
    if c.is_set("tenancy") && c.blocks("placement").iter().any(|p| p.is_set("tenancy")) {
        c.error(
            "tenancy",
            "set only one of placement.tenancy and tenancy (deprecated)",
        );
    }
    let instance_type = c.string("instance_type").unwrap_or_default();
    if c.bool("enable_unlimited_credits") == Some(true)
        || c.bool("enable_t2_unlimited") == Some(true)
    {
        let burstable = ["t2.", "t3.", "t3a.", "t4g."]
            .iter()
            .any(|p| instance_type.starts_with(p));
        if !burstable && !c.is_pending("instance_type") && !instance_type.is_empty() {
            c.error("instance_type", format!("instance type {instance_type} does not support unlimited credits (T2, T3, T3a and T4g do)"));
        }
        if c.is_set("spot_price") && instance_type.starts_with("t2.") {
            c.error(
                "spot_price",
                "unlimited credits cannot be used with spot instances of type T2",
            );
        }
    }
    if c.bool("enable_nitro_enclave") == Some(true) {
        if c.is_set("spot_price") {
            c.error(
                "spot_price",
                "Nitro Enclaves cannot be used with spot instances",
            );
        }
        if instance_type.starts_with('t') {
            c.error(
                "instance_type",
                format!(
                    "Nitro Enclaves cannot be used with burstable instance type {instance_type}"
                ),
            );
        }
    }
    c.each_block("metadata_options", |m| {
        m.one_of("http_endpoint", &["enabled", "disabled"]);
        m.one_of("http_tokens", &["optional", "required"]);
        m.one_of("instance_metadata_tags", &["enabled", "disabled"]);
        if let Some(limit) = m.number("http_put_response_hop_limit") {
            if !(1.0..=64.0).contains(&limit) {
                m.error(
                    "http_put_response_hop_limit",
                    "http_put_response_hop_limit must be between 1 and 64",
                );
            }
        }
    });
    if c.is_set("elastic_ip_allocation_id") {
        if let Some(id) = c.string("elastic_ip_allocation_id") {
            let hex = id.strip_prefix("eipalloc-").unwrap_or_default();
            if hex.is_empty() || !hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
                c.error(
                    "elastic_ip_allocation_id",
                    format!(
                        "`{id}` is not an EIP allocation ID such as eipalloc-0123456789abcdef0"
                    ),
                );
            }
        }
        c.exclusive(
            "elastic_ip_allocation_id",
            "associate_public_ip_address",
            "associate_public_ip_address must not be set with elastic_ip_allocation_id",
        );
    }
    for field in ["windows_password_timeout", "pause_before_ssm"] {
        c.duration(field);
    }
}

/// An IPv4 or IPv6 CIDR block.
fn is_cidr(text: &str) -> bool {
    let Some((address, bits)) = text.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits <= 32,
        Ok(std::net::IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{is_ami_name_char, is_cidr};

    #[test]
    fn cidrs() {
        assert!(is_cidr("0.0.0.0/0"));
        assert!(is_cidr("::/0"));
        assert!(!is_cidr("10.0.0.0"));
        assert!(!is_cidr("10.0.0.0/33"));
    }

    #[test]
    fn ami_name_characters() {
        assert!("my-ami (v1) [x] 1.0/a'b@c_d".chars().all(is_ami_name_char));
        assert!(!is_ami_name_char('!'));
    }
}
