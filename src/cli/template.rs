//! Loading a template for a command: the shared `-var`, `-var-file` and PATH arguments.

use crate::config::{self, LoadOptions, Template, VarArg};
use crate::diagnostic::{self, Diagnostic};
use crate::source::SourceMap;
use clap::Args;
use std::ffi::OsString;
use std::path::PathBuf;

/// Arguments every template command takes.
#[derive(Debug, Args, Clone)]
pub struct TemplateArgs {
    /// Set a variable: -var 'name=value' (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub var: Vec<String>,
    /// Read variables from a .pkrvars.hcl or .pkrvars.json file (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_file: Vec<PathBuf>,
}

/// `-var` and `-var-file` in the order they were given (later ones win), read from the raw
/// command line because clap keeps the two lists apart.
pub fn ordered_vars(argv: &[OsString]) -> Vec<VarArg> {
    let mut out = Vec::new();
    let mut iter = argv.iter().filter_map(|a| a.to_str());
    while let Some(arg) = iter.next() {
        if arg == "--" {
            break;
        }
        if let Some(v) = arg.strip_prefix("--var=") {
            out.push(VarArg::Var(v.to_string()));
        } else if let Some(v) = arg.strip_prefix("--var-file=") {
            out.push(VarArg::File(PathBuf::from(v)));
        } else if arg == "--var" {
            if let Some(v) = iter.next() {
                out.push(VarArg::Var(v.to_string()));
            }
        } else if arg == "--var-file" {
            if let Some(v) = iter.next() {
                out.push(VarArg::File(PathBuf::from(v)));
            }
        }
    }
    out
}

/// The current time as RFC 3339 UTC, the run's single `timestamp()`.
pub fn now_rfc3339() -> String {
    crate::plugins::sdk::duration::rfc3339(std::time::SystemTime::now())
}

/// Load options for `path` from the process environment and the ordered `-var` flags.
pub fn options(path: PathBuf, argv: &[OsString], allow_unset: bool) -> LoadOptions {
    LoadOptions {
        path,
        vars: ordered_vars(argv),
        env: std::env::vars()
            .filter(|(k, _)| k.starts_with("PKR_VAR_"))
            .collect(),
        timestamp: now_rfc3339(),
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        allow_unset,
        warn_undeclared_vars: true,
    }
}

/// Load a template and print its diagnostics; `None` when errors stop the command.
pub fn load(options: &LoadOptions, color: bool) -> (SourceMap, Option<Template>, Vec<Diagnostic>) {
    let mut sources = SourceMap::new();
    let (template, diags) = config::load(&mut sources, options);
    if !diags.is_empty() {
        report(&diags, &sources, color);
    }
    let template = if diagnostic::has_errors(&diags) {
        None
    } else {
        template
    };
    (sources, template, diags)
}

/// Print diagnostics for the user: on stderr, or as `ui,error` lines with -machine-readable.
pub fn report(diags: &[Diagnostic], sources: &SourceMap, color: bool) {
    if !diags.is_empty() {
        super::machine::error(&diagnostic::render_all(diags, sources, color));
    }
}

/// Compile a loaded template's graph, printing its diagnostics and warnings; `None` on errors.
pub fn compile(
    loaded: &Template,
    sources: &SourceMap,
    selection: &crate::plan::PlanOptions,
    color: bool,
) -> Option<crate::plan::BuildGraph> {
    match crate::plan::compile(loaded, selection) {
        Ok(graph) => {
            if !graph.warnings().is_empty() {
                report(graph.warnings(), sources, color);
            }
            Some(graph)
        }
        Err(diags) => {
            report(&diags, sources, color);
            None
        }
    }
}
