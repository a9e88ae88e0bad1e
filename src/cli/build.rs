//! `kiln build`: compile the template's graph and run it (or, with `-dry-run`, walk it and
//! print each step with the values it would use).

use super::template::{self, TemplateArgs};
use crate::config::Template;
use crate::diagnostic;
use crate::exec::{self, DryRunOptions, OnError, Ui, UiOptions};
use crate::plan::{BuildGraph, PlanOptions};
use crate::source::SourceMap;
use clap::Args;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Options of `kiln build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Print every step with the values it would use, in execution order; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only build the builds whose names match these globs (`-only='ubuntu.*,*.east'`).
    #[arg(long, value_name = "PATTERNS")]
    pub only: Vec<String>,
    /// Leave out the builds and post-processors whose names match these globs.
    #[arg(long, value_name = "PATTERNS")]
    pub except: Vec<String>,
    /// Build at most this many sources at once (0: no limit).
    #[arg(long, value_name = "N")]
    pub parallel_builds: Option<usize>,
    /// When a step fails: cleanup (default), abort, ask or run-cleanup-provisioner.
    #[arg(long, value_name = "ACTION", default_value = "cleanup", value_parser = parse_on_error)]
    pub on_error: OnError,
    /// Prefix every output line with the time.
    #[arg(long)]
    pub timestamp_ui: bool,
    /// Write an NDJSON stream of step events to FILE.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Also write each build's output to its own file in DIR.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Run builds one at a time and pause before each step until Enter is pressed.
    #[arg(long)]
    pub debug: bool,
    /// Warn about variables a variable file sets but the template does not declare.
    #[arg(long)]
    pub warn_on_undeclared_var: bool,
    /// Accepted for Packer compatibility; kiln always runs every selected build.
    #[arg(long, hide = true)]
    pub force: bool,
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Template file or directory.
    pub path: PathBuf,
}

fn parse_on_error(s: &str) -> Result<OnError, String> {
    match s {
        "cleanup" => Ok(OnError::Cleanup),
        "abort" => Ok(OnError::Abort),
        "ask" => Ok(OnError::Ask),
        "run-cleanup-provisioner" => Ok(OnError::RunCleanupProvisioner),
        other => Err(format!(
            "expected cleanup, abort, ask or run-cleanup-provisioner, not `{other}`"
        )),
    }
}

/// Run `kiln build`.
pub fn run(args: BuildArgs, argv: &[OsString], color: bool, ui_color: bool) -> anyhow::Result<i32> {
    let mut options = template::options(args.path.clone(), argv, false);
    options.warn_undeclared_vars = args.warn_on_undeclared_var;
    let (sources, loaded, _) = template::load(&options, color);
    let Some(loaded) = loaded else { return Ok(1) };
    let selection = PlanOptions {
        only: args.only.clone(),
        except: args.except.clone(),
    };
    let Some(graph) = template::compile(&loaded, &sources, &selection, color) else {
        return Ok(1);
    };
    if !args.dry_run {
        return build(args, loaded, graph, sources, color, ui_color);
    }
    let dry = DryRunOptions {
        parallel_builds: args.parallel_builds,
    };
    let (text, diags) = exec::dry_run(&graph, &dry);
    print!("{text}");
    if !diags.is_empty() {
        super::template::report(&diags, &sources, color);
    }
    Ok(if diagnostic::has_errors(&diags) { 1 } else { 0 })
}

/// The template or variable file that `path` is (the same file, by device and inode), if any.
fn input_named(sources: &SourceMap, path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let target = std::fs::metadata(path).ok()?;
    sources
        .files()
        .filter_map(|f| Some((f.name(), std::fs::metadata(f.path()?).ok()?)))
        .find(|(_, m)| m.dev() == target.dev() && m.ino() == target.ino())
        .map(|(name, _)| name.to_string())
}

/// Run the graph for real.
fn build(
    args: BuildArgs,
    loaded: Template,
    graph: BuildGraph,
    sources: SourceMap,
    color: bool,
    ui_color: bool,
) -> anyhow::Result<i32> {
    let refused = exec::preflight(&graph);
    if !refused.is_empty() {
        super::template::report(&refused, &sources, color);
        return Ok(1);
    }
    if args.on_error == OnError::Ask && !std::io::stdin().is_terminal() {
        eprintln!("warning: -on-error=ask needs a terminal to ask on; a failed step is cleaned up instead");
    }
    if let Some(events) = args.events.as_deref() {
        if let Some(input) = input_named(&sources, events) {
            eprintln!(
                "error: -events={} names {input}, a file of this build: the events would overwrite it; name another file",
                events.display()
            );
            return Ok(1);
        }
    }
    let targets: Vec<String> = graph.sessions().iter().map(|s| s.name.clone()).collect();
    let secrets = loaded.secrets();
    let ui_options = UiOptions {
        color: ui_color,
        timestamps: args.timestamp_ui,
        machine_readable: super::machine::enabled(),
        // No progress lines while the debug log writes to the same terminal: they would cross.
        progress: std::io::stdout().is_terminal()
            && !(crate::log::on_stderr() && std::io::stderr().is_terminal()),
        events: args.events.clone(),
        log_dir: args.log_dir.clone(),
    };
    let ui = match Ui::new(ui_options, &targets, secrets) {
        Ok(ui) => ui,
        Err(e) => {
            eprintln!("error: cannot open the events file or log directory: {e}");
            return Ok(1);
        }
    };
    if args.debug {
        ui.plain("Debug mode enabled. Builds will not be parallelized.");
    }
    let mut state = exec::RunState::new(graph, sources, ui);
    state.debug = args.debug;
    let state = Arc::new(state);
    if let Err(diags) = state.registry.begin(&state.graph, &state.ui) {
        super::template::report(&diags, &state.sources, color);
        return Ok(1);
    }
    let limits = exec::Limits {
        parallel_builds: if args.debug {
            1
        } else {
            args.parallel_builds.unwrap_or(0)
        },
        on_error: args.on_error,
        ..exec::Limits::default()
    };
    Ok(exec::run(state, &limits))
}
