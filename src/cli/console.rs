//! `kiln console`: evaluate expressions typed on standard input, one per line.

use super::template::{self, TemplateArgs};
use crate::eval::Context;
use crate::functions::FunctionContext;
use crate::source::SourceMap;
use crate::syntax;
use crate::value::{to_console, Map, Value};
use clap::Args;
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Options of `kiln console`.
#[derive(Debug, Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Template file or directory whose variables and locals are in scope.
    pub path: Option<PathBuf>,
}

/// Run `kiln console`.
pub fn run(args: ConsoleArgs, argv: &[OsString], color: bool) -> anyhow::Result<i32> {
    let (mut sources, ctx) = match args.path {
        Some(path) => {
            let options = template::options(path, argv, true);
            let (sources, loaded, _) = template::load(&options, color);
            match loaded {
                Some(t) => (sources, t.console_context()),
                None => return Ok(1),
            }
        }
        None => {
            let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            let mut ctx = Context::new(FunctionContext {
                base_dir: cwd,
                timestamp: template::now_rfc3339(),
                env_allowed: false,
            });
            ctx.variables
                .insert("var".into(), Value::Object(Map::new()));
            ctx.variables
                .insert("local".into(), Value::Object(Map::new()));
            (SourceMap::new(), ctx)
        }
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let id = sources.add_text("<console-input>", line.clone());
        let result = syntax::parse_expression(id, &line)
            .and_then(|expr| ctx.eval(&expr).map_err(|d| vec![d]));
        match result {
            Ok(value) if super::machine::enabled() => {
                let line = super::machine::line("", "ui", &["message", &to_console(&value)]);
                let mut out = stdout.lock();
                out.write_all(line.as_bytes())?;
                out.flush()?;
            }
            Ok(value) => {
                let mut out = stdout.lock();
                writeln!(out, "{}", to_console(&value))?;
                out.flush()?;
            }
            Err(diags) => super::template::report(&diags, &sources, color),
        }
    }
    Ok(0)
}
