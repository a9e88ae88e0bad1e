//! Provisioner `shell-local`: runs commands on the machine running kiln. Its fields (Packer's
//! `shell-local` package) are shared with the `shell-local` post-processor.

use crate::body::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::plugins::check::Checker;
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

crate::plugins::plugin_config! {
    /// The shell-local provisioner's config.
    #[derive(Deserialize, Debug, Clone, PartialEq)]
    pub struct Config with [shell_local_fields] {}
}

impl crate::plugins::sdk::Config for Config {
    /// Packer's `shell-local` checks.
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
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

// `shell-local`, as provisioner and as post-processor: Packer's shell-local package. Inline
// commands go into a temporary script with the shebang; each script runs through
// `execute_command` (`/bin/sh -c '{{.Vars}} {{.Script}}'`) with Packer's variables
// (`PACKER_BUILD_NAME`, `PACKER_BUILDER_TYPE`, ...) in `{{.Vars}}`.

use super::process::{self, Exit, Run, Stream, TempFile};
use crate::body::legacy::{self, LegacyContext};
use crate::plugins::sdk::{
    Artifact, PostProcessor, Provisioner, StepContext, StepError, StepFuture,
};
type Settings = Config;
use std::collections::BTreeMap;

/// Run the commands of `settings` for the step in `cx`.
pub async fn run(cx: &StepContext<'_>, settings: &Settings) -> Result<(), StepError> {
    if !settings.only_on.is_empty() && !settings.only_on.iter().any(|os| os == current_os()) {
        cx.say("Skipping shell-local due to runtime OS");
        return Ok(());
    }
    let mut scripts: Vec<String> = settings.scripts.clone();
    if !settings.script.is_empty() {
        scripts.insert(0, settings.script.clone());
    }
    let mut inline = settings.inline.clone();
    if !settings.command.is_empty() {
        inline.push(settings.command.clone());
    }
    let legacy = cx.legacy();
    let _temp = if inline.is_empty() {
        None
    } else {
        let temp = inline_script(settings, &inline, &legacy)?;
        scripts.push(temp.path().display().to_string());
        Some(temp)
    };
    let format = if settings.env_var_format.is_empty() {
        "%s='%s' "
    } else {
        settings.env_var_format.as_str()
    };
    // The variables reach the script through its environment, so their values (secrets,
    // often) never stand on a command line that `ps` shows. Only an execute_command of the
    // template's own gets them in `{{.Vars}}` too, as it may need them there (`sudo`).
    let vars = if settings.execute_command.is_empty() {
        String::new()
    } else {
        flattened_vars(cx, &settings.environment_vars, &settings.env, format)
    };
    let mut env: Vec<(String, String)> = packer_vars(cx, &settings.environment_vars, &settings.env)
        .into_iter()
        .collect();
    env.push(("PACKER_RUN_UUID".to_string(), cx.run_uuid()));
    let execute = if settings.execute_command.is_empty() {
        vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            "{{.Vars}} {{.Script}}".to_string(),
        ]
    } else {
        settings.execute_command.clone()
    };
    for script in &scripts {
        let mut values = legacy.clone();
        values.build.insert("Vars".into(), vars.clone());
        values.build.insert("Script".into(), script.clone());
        values.build.insert("Command".into(), script.clone());
        let argv: Vec<String> = execute
            .iter()
            .map(|part| legacy::expand(part, &values))
            .collect::<Result<_, _>>()
            .map_err(|e| StepError::new(format!("execute_command: {e}")))?;
        let Some((program, args)) = argv.split_first() else {
            return Err(StepError::new("execute_command is empty"));
        };
        cx.say(&format!("Running local shell script: {script}"));
        cx.activity(&format!("running {script}"));
        let exit = process::run(
            Run {
                program,
                args,
                env: &env,
            },
            cx.cancel,
            |line, stream| match stream {
                Stream::Stdout => cx.message(line),
                Stream::Stderr => cx.error(line),
            },
        )
        .await
        .map_err(|e| {
            StepError::new(format!(
                "Error executing script: {script}: {e}\n\nPlease see output above for more information."
            ))
        })?;
        match exit {
            Exit::Cancelled => return Err(StepError::cancelled()),
            Exit::Signal(sig) => {
                return Err(StepError::new(format!(
                    "Script {script} was ended by signal {sig}"
                )))
            }
            Exit::Code(code) => check_exit_code(code, &settings.valid_exit_codes)?,
        }
    }
    Ok(())
}

/// Write the inline commands, each expanded as a legacy template, into an executable script.
fn inline_script(
    settings: &Settings,
    inline: &[String],
    legacy: &LegacyContext,
) -> Result<TempFile, StepError> {
    let shebang = if settings.inline_shebang.is_empty() {
        "/bin/sh -e"
    } else {
        settings.inline_shebang.as_str()
    };
    let mut text = format!("#!{shebang}\n");
    for command in inline {
        let command = legacy::expand(command, legacy)
            .map_err(|e| StepError::new(format!("inline command `{command}`: {e}")))?;
        text.push_str(&command);
        text.push('\n');
    }
    TempFile::create(
        "kiln-shell-",
        &settings.tempfile_extension,
        text.as_bytes(),
        true,
    )
    .map_err(|e| StepError::new(format!("cannot write an inline script: {e}")))
}

/// `{{.Vars}}`: Packer's variables, `environment_vars` and `env`, sorted by name, each in
/// `format` (`NAME='value' `), single quotes in values escaped for the shell. The remote `shell`
/// provisioner builds its variables the same way.
pub(crate) fn flattened_vars(
    cx: &StepContext<'_>,
    environment_vars: &[String],
    env: &BTreeMap<String, String>,
    format: &str,
) -> String {
    let escape = |v: &str| v.replace('\'', "'\"'\"'");
    packer_vars(cx, environment_vars, env)
        .iter()
        .map(|(k, v)| format.replacen("%s", k, 1).replacen("%s", &escape(v), 1))
        .collect()
}

/// Packer's variables, `environment_vars` and `env`, by name, values as given.
pub(crate) fn packer_vars(
    cx: &StepContext<'_>,
    environment_vars: &[String],
    env: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("PACKER_BUILD_NAME".into(), cx.build_name());
    vars.insert("PACKER_BUILDER_TYPE".into(), cx.builder_type());
    for (key, name) in [
        ("PackerHTTPAddr", "PACKER_HTTP_ADDR"),
        ("PackerHTTPIP", "PACKER_HTTP_IP"),
        ("PackerHTTPPort", "PACKER_HTTP_PORT"),
    ] {
        if let Some(v) = cx.generated(key).filter(|v| !v.starts_with("ERR_")) {
            vars.insert(name.into(), v);
        }
    }
    for kv in environment_vars {
        if let Some((k, v)) = kv.split_once('=') {
            vars.insert(k.to_string(), v.to_string());
        }
    }
    for (k, v) in env {
        vars.insert(k.clone(), v.clone());
    }
    vars
}

/// Packer's `ValidExitCode`: `valid` (default `[0]`) holds the exit code, or the step fails
/// with Packer's message.
pub(crate) fn check_exit_code<C: Into<i64> + Copy + std::fmt::Display>(
    code: C,
    valid: &[i64],
) -> Result<(), StepError> {
    let valid: &[i64] = if valid.is_empty() { &[0] } else { valid };
    if valid.contains(&code.into()) {
        return Ok(());
    }
    let allowed: Vec<String> = valid.iter().map(i64::to_string).collect();
    Err(StepError::new(format!(
        "Script exited with non-zero exit status: {code}. Allowed exit codes are: [{}]",
        allowed.join(" ")
    )))
}

/// The operating system's name as Go's `runtime.GOOS` spells it.
fn current_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

impl Provisioner for Config {
    fn provision<'a>(&'a self, cx: StepContext<'a>) -> StepFuture<'a> {
        Box::pin(async move { run(&cx, self).await })
    }
}

/// The `shell-local` post-processor runs the same way, and leaves its input as it was.
impl PostProcessor for Config {
    fn keeps_input(&self, keep_input_artifact: Option<bool>) -> bool {
        keep_input_artifact.unwrap_or(true)
    }

    fn post_process<'a>(
        &'a self,
        cx: StepContext<'a>,
        input: &'a Artifact,
    ) -> StepFuture<'a, Artifact> {
        Box::pin(async move {
            run(&cx, self).await?;
            Ok(input.clone())
        })
    }
}
