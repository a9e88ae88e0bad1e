//! Provisioner `shell-local`: runs commands on the machine running kiln. Its fields (Packer's
//! `shell-local` package) are shared with the `shell-local` post-processor.

use super::check::Checker;
use crate::config::BodyValue;
use crate::diagnostic::Diagnostic;
use serde::Deserialize;

/// Field group: the settings of Packer's `shell-local` package.
macro_rules! shell_local_fields {
    ([$($head:tt)*] [$($fields:tt)*] $($rest:ident)*) => {
        $crate::plugins::plugin_config!(@splice [$($head)*] [$($fields)*
            /// Deprecated single command; use `inline`.
            #[serde(default)]
            pub command: String,
            /// Commands to run, in one shell.
            #[serde(default)]
            pub inline: Vec<String>,
            /// A script to run.
            #[serde(default)]
            pub script: String,
            /// Scripts to run in order.
            #[serde(default)]
            pub scripts: Vec<String>,
            /// Exit codes that count as success (default `[0]`).
            #[serde(default)]
            pub valid_exit_codes: Vec<i64>,
            /// `KEY=value` environment variables.
            #[serde(default)]
            pub environment_vars: Vec<String>,
            /// Environment variables as a map.
            #[serde(default)]
            pub env: std::collections::BTreeMap<String, String>,
            /// printf format of one variable in `{{.Vars}}`.
            #[serde(default)]
            pub env_var_format: String,
            /// The command line that runs a script (default `["/bin/sh", "-c", "{{.Vars}} {{.Script}}"]`).
            #[serde(default)]
            pub execute_command: Vec<String>,
            /// Shebang of `inline` scripts (default `/bin/sh -e`).
            #[serde(default)]
            pub inline_shebang: String,
            /// Run only on these operating systems (`linux`, `darwin`, `windows`, ...).
            #[serde(default)]
            pub only_on: Vec<String>,
            /// Extension of the temporary script file.
            #[serde(default)]
            pub tempfile_extension: String,
            /// Convert script paths for the Windows Subsystem for Linux.
            #[serde(default)]
            pub use_linux_pathing: bool,
        ] $($rest)*);
    };
}
pub(crate) use shell_local_fields;

super::plugin_config! {
    /// The shell-local provisioner's config.
    #[derive(Deserialize, Debug, Clone, PartialEq)]
    pub struct Config with [shell_local_fields] {}
}

impl Config {
    /// Packer's `shell-local` checks.
    pub fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        validate_shell_local(&mut c);
        c.finish()
    }
}

/// Operating systems `only_on` accepts.
const OPERATING_SYSTEMS: &[&str] = &[
    "darwin", "freebsd", "linux", "openbsd", "solaris", "windows",
];

/// The checks of Packer's `shell-local` package: exactly one of `command`, `inline`, `script`
/// and `scripts`; known operating systems; well-formed variables.
fn validate_shell_local(c: &mut Checker) {
    let given: Vec<&str> = ["command", "inline", "script", "scripts"]
        .into_iter()
        .filter(|f| c.is_set(f))
        .collect();
    match given.as_slice() {
        [] => c.push(
            Diagnostic::error(
                c.block_span(),
                "command, inline, script and scripts cannot all be empty",
            )
            .with_hint("set `inline = [\"...\"]`, `script = \"path\"` or `scripts = [...]`"),
        ),
        [_] => {}
        [first, rest @ ..] => {
            for field in rest {
                c.exclusive(
                    first,
                    field,
                    "only one of command, inline, script or scripts may be specified",
                );
            }
        }
    }
    for os in c.strings("only_on").unwrap_or_default() {
        if !OPERATING_SYSTEMS.contains(&os.as_str()) {
            c.push(
                Diagnostic::error(c.span("only_on"), format!("invalid OS `{os}` in only_on"))
                    .with_hint(format!(
                        "supported OS names: {}",
                        OPERATING_SYSTEMS.join(", ")
                    )),
            );
        }
    }
    if c.bool("use_linux_pathing") == Some(true) && (c.is_set("inline") || c.is_set("command")) {
        c.error(
            "use_linux_pathing",
            "use_linux_pathing works only with script or scripts, not inline commands",
        );
    }
    c.key_value_list("environment_vars");
}
