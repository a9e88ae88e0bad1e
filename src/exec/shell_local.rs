//! `shell-local`, as provisioner and as post-processor: Packer's shell-local package. Inline
//! commands go into a temporary script with the shebang; each script runs through
//! `execute_command` (`/bin/sh -c '{{.Vars}} {{.Script}}'`) with Packer's variables
//! (`PACKER_BUILD_NAME`, `PACKER_BUILDER_TYPE`, ...) in `{{.Vars}}`.

use super::process::{self, Exit, Run, Stream, TempFile};
use super::step::{StepContext, StepError};
use crate::config::legacy::{self, LegacyContext};
use crate::plugins::shell_local::Config as Settings;
use std::collections::BTreeMap;

/// Run the commands of `settings` for the step in `cx`.
pub async fn run(cx: &StepContext<'_>, settings: Settings) -> Result<(), StepError> {
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
        let temp = inline_script(&settings, &inline, &legacy)?;
        scripts.push(temp.path().display().to_string());
        Some(temp)
    };
    let format = if settings.env_var_format.is_empty() {
        "%s='%s' "
    } else {
        settings.env_var_format.as_str()
    };
    let vars = flattened_vars(cx, &settings.environment_vars, &settings.env, format);
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
        let env = [("PACKER_RUN_UUID".to_string(), cx.shared.run_uuid.clone())];
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
pub(super) fn flattened_vars(
    cx: &StepContext<'_>,
    environment_vars: &[String],
    env: &BTreeMap<String, String>,
    format: &str,
) -> String {
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
    let escape = |v: &str| v.replace('\'', "'\"'\"'");
    for kv in environment_vars {
        if let Some((k, v)) = kv.split_once('=') {
            vars.insert(k.to_string(), escape(v));
        }
    }
    for (k, v) in env {
        vars.insert(k.clone(), escape(v));
    }
    vars.iter()
        .map(|(k, v)| format.replacen("%s", k, 1).replacen("%s", v, 1))
        .collect()
}

/// Packer's `ValidExitCode`: `valid` (default `[0]`) holds the exit code, or the step fails
/// with Packer's message.
pub(super) fn check_exit_code<C: Into<i64> + Copy + std::fmt::Display>(
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
