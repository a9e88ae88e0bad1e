//! `kiln build`. For now only `-dry-run`: the plan walked as a build would walk it, each step
//! printed with the values it would use.

use super::template::{self, TemplateArgs};
use crate::diagnostic;
use crate::plan::{self, DryRunOptions, PlanOptions};
use clap::Args;
use std::ffi::OsString;
use std::path::PathBuf;

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
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Template file or directory.
    pub path: PathBuf,
}

/// Run `kiln build`.
pub fn run(args: BuildArgs, argv: &[OsString], color: bool) -> anyhow::Result<i32> {
    if !args.dry_run {
        eprintln!("error: running builds is not available yet in this version of kiln");
        eprintln!(
            "  = hint: `kiln build -dry-run {}` shows every step a build would run",
            args.path.display()
        );
        return Ok(1);
    }
    let options = template::options(args.path, argv, false);
    let (sources, loaded, _) = template::load(&options, color);
    let Some(loaded) = loaded else { return Ok(1) };
    let checked = loaded.check();
    if !checked.is_empty() {
        eprint!("{}", diagnostic::render_all(&checked, &sources, color));
    }
    if diagnostic::has_errors(&checked) {
        return Ok(1);
    }
    let selection = PlanOptions {
        only: args.only,
        except: args.except,
    };
    let Some(graph) = template::compile(&loaded, &sources, &selection, color) else {
        return Ok(1);
    };
    let dry = DryRunOptions {
        parallel_builds: args.parallel_builds,
    };
    let (text, diags) = plan::dry_run(&loaded, &graph, &dry);
    print!("{text}");
    if !diags.is_empty() {
        eprint!("{}", diagnostic::render_all(&diags, &sources, color));
    }
    Ok(if diagnostic::has_errors(&diags) { 1 } else { 0 })
}
