//! The communicator fields every builder that connects to its machine shares (Packer's
//! `communicator.Config`): `communicator` picks `ssh` (the default) or `none`; kiln also reads
//! the WinRM fields so such templates decode, and reports that it cannot connect that way.

use crate::plugins::check::Checker;

/// Field group: Packer's communicator settings (`communicator`, `ssh_*`, `winrm_*`).
macro_rules! communicator_fields {
    ([$($head:tt)*] [$($fields:tt)*] $($rest:ident)*) => {
        $crate::plugins::plugin_config!(@splice [$($head)*] [$($fields)*
            /// `ssh` (default), `none`; `winrm` is read but not supported.
            #[serde(default)]
            pub communicator: String,
            /// Wait this long before connecting (a duration).
            #[serde(default)]
            pub pause_before_connecting: String,
            /// Connect to this address instead of the one the builder finds.
            #[serde(default)]
            pub ssh_host: String,
            /// SSH port (default 22).
            #[serde(default)]
            pub ssh_port: u16,
            /// The user to connect as.
            #[serde(default)]
            pub ssh_username: String,
            /// Password authentication.
            #[serde(default)]
            pub ssh_password: String,
            /// An existing key pair to launch with (needs `ssh_private_key_file` or agent auth).
            #[serde(default)]
            pub ssh_keypair_name: String,
            /// Name of the temporary key pair the builder creates.
            #[serde(default)]
            pub temporary_key_pair_name: String,
            /// `rsa` (default) or `ed25519`.
            #[serde(default)]
            pub temporary_key_pair_type: String,
            /// RSA key size of the temporary key pair.
            #[serde(default)]
            pub temporary_key_pair_bits: u32,
            /// Allowed SSH ciphers.
            #[serde(default)]
            pub ssh_ciphers: Vec<String>,
            /// Remove the temporary key from `authorized_keys` before the image is captured.
            #[serde(default)]
            pub ssh_clear_authorized_keys: bool,
            /// Allowed key exchange algorithms.
            #[serde(default)]
            pub ssh_key_exchange_algorithms: Vec<String>,
            /// Private key file for key authentication.
            #[serde(default)]
            pub ssh_private_key_file: String,
            /// Certificate file for certificate authentication.
            #[serde(default)]
            pub ssh_certificate_file: String,
            /// Request a PTY.
            #[serde(default)]
            pub ssh_pty: bool,
            /// How long to wait for SSH to become available (default 5m).
            #[serde(default)]
            pub ssh_timeout: String,
            /// Deprecated spelling of `ssh_timeout`.
            #[serde(default)]
            pub ssh_wait_timeout: String,
            /// Authenticate with the local SSH agent.
            #[serde(default)]
            pub ssh_agent_auth: bool,
            /// Do not forward the SSH agent.
            #[serde(default)]
            pub ssh_disable_agent_forwarding: bool,
            /// Handshake attempts before giving up (default 10).
            #[serde(default)]
            pub ssh_handshake_attempts: u32,
            /// Bastion (jump) host.
            #[serde(default)]
            pub ssh_bastion_host: String,
            /// Bastion port (default 22).
            #[serde(default)]
            pub ssh_bastion_port: u16,
            /// Authenticate to the bastion with the SSH agent.
            #[serde(default)]
            pub ssh_bastion_agent_auth: bool,
            /// Bastion user.
            #[serde(default)]
            pub ssh_bastion_username: String,
            /// Bastion password.
            #[serde(default)]
            pub ssh_bastion_password: String,
            /// Keyboard-interactive authentication to the bastion.
            #[serde(default)]
            pub ssh_bastion_interactive: bool,
            /// Bastion private key file.
            #[serde(default)]
            pub ssh_bastion_private_key_file: String,
            /// Bastion certificate file.
            #[serde(default)]
            pub ssh_bastion_certificate_file: String,
            /// `scp` (default) or `sftp`.
            #[serde(default)]
            pub ssh_file_transfer_method: String,
            /// SOCKS proxy host.
            #[serde(default)]
            pub ssh_proxy_host: String,
            /// SOCKS proxy port (default 1080).
            #[serde(default)]
            pub ssh_proxy_port: u16,
            /// SOCKS proxy user.
            #[serde(default)]
            pub ssh_proxy_username: String,
            /// SOCKS proxy password.
            #[serde(default)]
            pub ssh_proxy_password: String,
            /// Keep-alive interval (default 5s; negative disables).
            #[serde(default)]
            pub ssh_keep_alive_interval: String,
            /// Read/write timeout of the connection (default none).
            #[serde(default)]
            pub ssh_read_write_timeout: String,
            /// Remote tunnels, `port:host:port`.
            #[serde(default)]
            pub ssh_remote_tunnels: Vec<String>,
            /// Local tunnels, `port:host:port`.
            #[serde(default)]
            pub ssh_local_tunnels: Vec<String>,
            /// Public key material (set by builders, not templates).
            #[serde(default)]
            pub ssh_public_key: Vec<u8>,
            /// Private key material (set by builders, not templates).
            #[serde(default)]
            pub ssh_private_key: Vec<u8>,
            /// WinRM user.
            #[serde(default)]
            pub winrm_username: String,
            /// WinRM password.
            #[serde(default)]
            pub winrm_password: String,
            /// WinRM host override.
            #[serde(default)]
            pub winrm_host: String,
            /// Bypass the proxy for WinRM.
            #[serde(default)]
            pub winrm_no_proxy: bool,
            /// WinRM port.
            #[serde(default)]
            pub winrm_port: u16,
            /// WinRM timeout.
            #[serde(default)]
            pub winrm_timeout: String,
            /// WinRM over HTTPS.
            #[serde(default)]
            pub winrm_use_ssl: bool,
            /// Skip WinRM certificate checks.
            #[serde(default)]
            pub winrm_insecure: bool,
            /// NTLM authentication for WinRM.
            #[serde(default)]
            pub winrm_use_ntlm: bool,
        ] $($rest)*);
    };
}
pub(crate) use communicator_fields;

/// Names of the fields [`communicator_fields!`] adds (for documentation and tests).
pub const FIELDS: &[&str] = &[
    "communicator",
    "pause_before_connecting",
    "ssh_host",
    "ssh_port",
    "ssh_username",
    "ssh_password",
    "ssh_keypair_name",
    "temporary_key_pair_name",
    "temporary_key_pair_type",
    "temporary_key_pair_bits",
    "ssh_ciphers",
    "ssh_clear_authorized_keys",
    "ssh_key_exchange_algorithms",
    "ssh_private_key_file",
    "ssh_certificate_file",
    "ssh_pty",
    "ssh_timeout",
    "ssh_wait_timeout",
    "ssh_agent_auth",
    "ssh_disable_agent_forwarding",
    "ssh_handshake_attempts",
    "ssh_bastion_host",
    "ssh_bastion_port",
    "ssh_bastion_agent_auth",
    "ssh_bastion_username",
    "ssh_bastion_password",
    "ssh_bastion_interactive",
    "ssh_bastion_private_key_file",
    "ssh_bastion_certificate_file",
    "ssh_file_transfer_method",
    "ssh_proxy_host",
    "ssh_proxy_port",
    "ssh_proxy_username",
    "ssh_proxy_password",
    "ssh_keep_alive_interval",
    "ssh_read_write_timeout",
    "ssh_remote_tunnels",
    "ssh_local_tunnels",
    "ssh_public_key",
    "ssh_private_key",
    "winrm_username",
    "winrm_password",
    "winrm_host",
    "winrm_no_proxy",
    "winrm_port",
    "winrm_timeout",
    "winrm_use_ssl",
    "winrm_insecure",
    "winrm_use_ntlm",
];

/// The communicator a body selects: `ssh` unless `communicator` says otherwise, None while unknown.
pub(crate) fn kind(c: &Checker) -> Option<String> {
    if c.is_pending("communicator") {
        return None;
    }
    Some(
        c.string("communicator")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "ssh".into()),
    )
}

/// Packer's communicator checks, plus kiln's: only `ssh` and `none` can be used.
pub(crate) fn validate(c: &mut Checker) {
    let Some(kind) = kind(c) else { return };
    match kind.as_str() {
        "ssh" => validate_ssh(c),
        "none" => {}
        "winrm" => c.push(
            crate::diagnostic::Diagnostic::error(
                c.span("communicator"),
                "kiln cannot connect with the winrm communicator",
            )
            .with_hint("kiln supports `ssh` and `none`"),
        ),
        _ => c.one_of("communicator", &["ssh", "none", "winrm"]),
    }
    c.duration("pause_before_connecting");
}

fn validate_ssh(c: &mut Checker) {
    if !c.is_set("ssh_username") {
        c.push(
            crate::diagnostic::Diagnostic::error(
                c.block_span(),
                "an ssh_username must be specified",
            )
            .with_hint("set `ssh_username` (the user to connect as), or `communicator = \"none\"`"),
        );
    }
    if c.is_set("ssh_bastion_host")
        && c.bool("ssh_bastion_agent_auth") != Some(true)
        && !c.is_pending("ssh_bastion_agent_auth")
        && !c.is_set("ssh_bastion_password")
        && !c.is_set("ssh_bastion_private_key_file")
    {
        c.error(
            "ssh_bastion_host",
            "ssh_bastion_password or ssh_bastion_private_key_file must be specified with ssh_bastion_host",
        );
    }
    c.exclusive(
        "ssh_bastion_host",
        "ssh_proxy_host",
        "please specify either ssh_bastion_host or ssh_proxy_host, not both",
    );
    c.one_of("ssh_file_transfer_method", &["scp", "sftp"]);
    for field in ["ssh_timeout", "ssh_wait_timeout", "ssh_read_write_timeout"] {
        c.duration(field);
    }
    c.signed_duration("ssh_keep_alive_interval");
}
