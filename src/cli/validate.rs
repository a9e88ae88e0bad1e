//! `kiln validate`

use super::template::{self, TemplateArgs};
use crate::diagnostic::{self, Diagnostic};
use crate::source::SourceMap;
use crate::syntax;
use clap::Args;
use rayon::prelude::*;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Options of `kiln validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Only check that the files parse.
    #[arg(long)]
    pub syntax_only: bool,
    /// Only validate the builds whose names match these globs.
    #[arg(long, value_name = "PATTERNS")]
    pub only: Vec<String>,
    /// Leave out the builds whose names match these globs.
    #[arg(long, value_name = "PATTERNS")]
    pub except: Vec<String>,
    /// Do not warn about variables a variable file sets but the template does not declare.
    #[arg(long)]
    pub no_warn_undeclared_var: bool,
    /// Run the data sources while validating (not supported yet: kiln reports it).
    #[arg(long)]
    pub evaluate_datasources: bool,
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Template file or directory (with -syntax-only: any number of files or directories).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Run `kiln validate`.
pub fn run(args: ValidateArgs, argv: &[OsString], color: bool) -> anyhow::Result<i32> {
    if args.syntax_only {
        return syntax_only(&args.paths, color);
    }
    if args.paths.len() != 1 {
        anyhow::bail!(
            "validate takes one template file or directory (or -syntax-only with several)"
        );
    }
    if args.evaluate_datasources {
        anyhow::bail!("-evaluate-datasources is not supported yet: kiln runs data sources only in `kiln build`; validate checks their configuration without running them");
    }
    let mut options = template::options(args.paths[0].clone(), argv, false);
    options.warn_undeclared_vars = !args.no_warn_undeclared_var;
    // Loading checks every plugin config and prints what it found.
    let (sources, loaded, _) = template::load(&options, color);
    let Some(loaded) = loaded else {
        return Ok(1);
    };
    // The selection is checked as a build would check it (a pattern matching nothing is a
    // warning); every build's configuration was checked above, selected or not.
    let selection = crate::plan::PlanOptions {
        only: args.only,
        except: args.except,
    };
    let selects = !selection.only.is_empty() || !selection.except.is_empty();
    if selects && template::compile(&loaded, &sources, &selection, color).is_none() {
        return Ok(1);
    }
    super::machine::say("The configuration is valid.");
    Ok(0)
}

/// Print the diagnostics; exit 1 on errors, else say the configuration is valid.
fn report(diags: &[Diagnostic], sources: &SourceMap, color: bool) -> i32 {
    if !diags.is_empty() {
        super::template::report(diags, sources, color);
    }
    if diagnostic::has_errors(diags) {
        return 1;
    }
    super::machine::say("The configuration is valid.");
    0
}

fn syntax_only(paths: &[PathBuf], color: bool) -> anyhow::Result<i32> {
    let files = template_files(paths)?;
    let mut sources = SourceMap::new();
    let mut diags = Vec::new();
    let mut loaded = Vec::new();
    for path in &files {
        match crate::config::files::read(&mut sources, path) {
            Ok(id) => loaded.push(id),
            Err(d) => diags.push(d),
        }
    }
    let parsed: Vec<Vec<Diagnostic>> = loaded
        .par_iter()
        .map(|&id| match syntax::parse(id, sources.get(id).text()) {
            Ok(_) => Vec::new(),
            Err(diags) => diags,
        })
        .collect();
    diags.extend(parsed.into_iter().flatten());
    Ok(report(&diags, &sources, color))
}

/// Expand directories into their `*.pkr.hcl` and `*.pkrvars.hcl` files, sorted.
pub(crate) fn template_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_template_name(p))
                .collect();
            found.sort();
            if found.is_empty() {
                anyhow::bail!(
                    "{} holds no *.pkr.hcl or *.pkrvars.hcl files",
                    path.display()
                );
            }
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn is_template_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".pkr.hcl") || name.ends_with(".pkrvars.hcl")
}
