//! Provisioner `shell`: runs shell commands or scripts on the machine over the communicator.

use crate::body::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::plugins::check::Checker;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The shell provisioner's config.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct Config {
    /// Commands to run, in one shell.
    pub inline: Vec<String>,
    /// A local script to upload and run.
    pub script: String,
    /// Local scripts to upload and run in order.
    pub scripts: Vec<String>,
    /// Exit codes that count as success (default `[0]`).
    pub valid_exit_codes: Vec<i64>,
    /// `KEY=value` environment variables.
    pub environment_vars: Vec<String>,
    /// Environment variables as a map (wins over `environment_vars`).
    pub env: BTreeMap<String, String>,
    /// printf format of one variable in `{{.Vars}}` (default `%s='%s' `).
    pub env_var_format: String,
    /// Upload scripts unchanged (no line-ending conversion).
    pub binary: bool,
    /// Where the script is uploaded (default `remote_folder/remote_file`).
    pub remote_path: String,
    /// How a script runs (default `chmod +x {{.Path}}; {{.Vars}} {{.Path}}`).
    pub execute_command: String,
    /// Shebang of `inline` scripts (default `/bin/sh -e`).
    pub inline_shebang: String,
    /// Wait this long after the scripts ran (a duration).
    pub pause_after: String,
    /// Pass the variables in a sourced file instead of the command line.
    pub use_env_var_file: bool,
    /// Remote folder for uploads (default `/tmp`).
    pub remote_folder: String,
    /// Remote file name (default `script_NNN.sh`).
    pub remote_file: String,
    /// How long to retry starting a script after a reboot (default 5m).
    pub start_retry_timeout: String,
    /// Leave the uploaded script on the machine.
    pub skip_clean: bool,
    /// A dropped connection (a reboot) is not a failure.
    pub expect_disconnect: bool,
}

impl crate::plugins::sdk::Config for Config {
    /// Packer's checks: exactly one of `inline`, `script` and `scripts`; well-formed variables
    /// and durations.
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        c.exclusive(
            "script",
            "scripts",
            "only one of script or scripts can be specified",
        );
        let script = c.is_set("script") || c.is_set("scripts");
        if !script && body.attr("inline").is_none_or(|a| a.value.is_null()) {
            c.push(
                Diagnostic::error(
                    c.block_span(),
                    "either a script file or an inline script must be specified",
                )
                .with_hint("set `inline = [\"...\"]`, `script = \"path\"` or `scripts = [...]`"),
            );
        }
        for field in ["script", "scripts"] {
            c.exclusive(
                "inline",
                field,
                "only a script file or an inline script can be specified, not both",
            );
        }
        c.key_value_list("environment_vars");
        c.duration("pause_after");
        c.duration("start_retry_timeout");
        c.finish()
    }
}

impl crate::plugins::sdk::Provisioner for Config {
    fn needs_connection(&self) -> bool {
        true
    }

    fn provision<'a>(
        &'a self,
        cx: crate::plugins::sdk::StepContext<'a>,
    ) -> crate::plugins::sdk::StepFuture<'a> {
        Box::pin(async move { super::run::shell(&cx, self).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::decode::decode;
    use crate::body::AttrValue;
    use crate::plugins::sdk::Config as _;
    use crate::source::Span;
    use crate::value::Value;

    fn body(attrs: Vec<(&str, Value)>) -> BodyValue {
        BodyValue {
            attrs: attrs
                .into_iter()
                .map(|(n, value)| AttrValue {
                    name: n.to_string(),
                    name_span: Span::default(),
                    value,
                    value_span: Span::default(),
                })
                .collect(),
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
    fn exactly_one_source_of_commands() {
        let inline = Value::Tuple(vec![Value::string("echo hi")]);
        assert_eq!(
            messages(&body(vec![("inline", inline.clone())])),
            Vec::<String>::new()
        );
        assert_eq!(
            messages(&body(vec![])),
            ["either a script file or an inline script must be specified"]
        );
        assert_eq!(
            messages(&body(vec![
                ("inline", inline),
                ("script", Value::string("a.sh"))
            ])),
            ["only a script file or an inline script can be specified, not both"]
        );
    }

    #[test]
    fn environment_variables_need_an_equals_sign() {
        let vars = Value::Tuple(vec![Value::string("A=1"), Value::string("B")]);
        let b = body(vec![
            ("script", Value::string("a.sh")),
            ("environment_vars", vars),
        ]);
        assert_eq!(
            messages(&b),
            ["environment variable not in format 'key=value': B"]
        );
    }
}
