//! `kiln validate`

use crate::diagnostic::{self, Diagnostic};
use crate::source::{ReadError, SourceMap, Span};
use crate::syntax;
use clap::Args;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Options of `kiln validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Only check that the files parse.
    #[arg(long)]
    pub syntax_only: bool,
    /// Template files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Run `kiln validate`.
pub fn run(args: ValidateArgs, color: bool) -> anyhow::Result<i32> {
    let files = template_files(&args.paths)?;
    let mut sources = SourceMap::new();
    let mut diags = Vec::new();
    let mut loaded = Vec::new();
    for path in &files {
        match sources.read(path) {
            Ok(id) => loaded.push(id),
            Err((id, err)) => diags.push(read_diagnostic(id, err)),
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
    if !diags.is_empty() {
        eprint!("{}", diagnostic::render_all(&diags, &sources, color));
    }
    if diagnostic::has_errors(&diags) {
        return Ok(1);
    }
    if !args.syntax_only {
        // Full validation arrives with template loading; syntax is what can be checked today.
        anyhow::bail!("full validation is not available yet; run `kiln validate -syntax-only`");
    }
    println!("The configuration is valid.");
    Ok(0)
}

fn read_diagnostic(id: Option<crate::source::FileId>, err: ReadError) -> Diagnostic {
    match (&err, id) {
        (ReadError::Utf8 { offset, .. }, Some(id)) => {
            Diagnostic::error(Span::new(id, *offset, *offset + 1), "the file is not valid UTF-8")
                .with_hint("HCL files must be UTF-8 text")
        }
        _ => Diagnostic::global(err.to_string()),
    }
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
                anyhow::bail!("{} holds no *.pkr.hcl or *.pkrvars.hcl files", path.display());
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
