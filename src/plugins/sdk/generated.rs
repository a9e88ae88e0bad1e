//! The build's generated data every builder starts from (`build.PackerRunUUID`, ...).

use super::context::StepContext;
use std::collections::BTreeMap;

/// What every launch generates: the run's UUID and Packer's HTTP-server placeholders for
/// builders without one.
pub fn base(cx: &StepContext<'_>) -> BTreeMap<String, String> {
    let mut generated = BTreeMap::new();
    generated.insert("PackerRunUUID".to_string(), cx.run_uuid());
    for key in ["PackerHTTPAddr", "PackerHTTPIP", "PackerHTTPPort"] {
        let what = key.trim_start_matches("PackerHTTP").to_uppercase();
        generated.insert(
            key.into(),
            format!("ERR_HTTP_{what}_NOT_IMPLEMENTED_BY_BUILDER"),
        );
    }
    generated
}

/// A session with no connection: `ID`, and `<unknown>` for what a connection would tell, as
/// Packer shows it.
pub fn without_connection(generated: &mut BTreeMap<String, String>, id: &str) {
    generated.insert("ID".into(), id.into());
    for key in [
        "Host",
        "Port",
        "User",
        "Password",
        "ConnType",
        "SSHPublicKey",
        "SSHPrivateKey",
        "WinRMPassword",
    ] {
        generated.insert(key.into(), "<unknown>".into());
    }
}
