//! `kiln fmt`: rewrite templates into Packer's canonical layout, as `packer fmt` does.
//!
//! Files are read in order, then parsed and formatted in parallel, then reported in sorted path
//! order, so the output never depends on thread timing. A file that does not parse is reported
//! and left alone; the others are still formatted.

use crate::diagnostic::Diagnostic;
use crate::format;
use crate::source::{FileId, ReadError, SourceFile, SourceMap, Span};
use crate::syntax;
use clap::{ArgAction, Args};
use rayon::prelude::*;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// Options of `kiln fmt`. Boolean flags take an optional `=true`/`=false`, as Go's flag package
/// (and so Packer) accepts.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Only check that the input is formatted: list the files that are not and exit with 3.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = false, default_missing_value = "true")]
    pub check: bool,
    /// Show a unified diff of each formatting change.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = false, default_missing_value = "true")]
    pub diff: bool,
    /// Write the result back to the files (`-write=false` leaves them alone, as `-check` does).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = true, default_missing_value = "true")]
    pub write: bool,
    /// Also format the templates in subdirectories.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = false, default_missing_value = "true")]
    pub recursive: bool,
    /// Files or directories; `-` reads standard input and writes the result to standard output.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// What happened to one file.
enum Outcome {
    /// It parsed; `formatted` is its canonical text.
    Formatted { formatted: String },
    /// It did not parse.
    Invalid(Vec<Diagnostic>),
}

/// Run `kiln fmt` and return the exit code: 0, 1 when anything could not be read, parsed or
/// written, 3 when `-check` found unformatted input.
pub fn run(args: FmtArgs, color: bool) -> anyhow::Result<i32> {
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        if args.paths.len() > 1 {
            anyhow::bail!("`-` (standard input) cannot be combined with other paths");
        }
        return run_stdin(&args, color);
    }

    let mut sources = SourceMap::new();
    let mut diags = Vec::new();
    let files = collect_files(&args.paths, args.recursive, &mut diags);
    let mut loaded = Vec::new();
    for path in &files {
        match sources.read(path) {
            Ok(id) => loaded.push(id),
            Err((id, err)) => diags.push(read_diagnostic(id, err)),
        }
    }
    if !diags.is_empty() {
        super::template::report(&diags, &sources, color);
    }
    let mut failed = !diags.is_empty();

    let outcomes: Vec<Outcome> = loaded
        .par_iter()
        .map(|&id| process(id, sources.get(id).text()))
        .collect();

    let write = args.write && !args.check;
    let mut unformatted = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (&id, outcome) in loaded.iter().zip(outcomes) {
        let file = sources.get(id);
        match outcome {
            Outcome::Invalid(diags) => {
                super::template::report(&diags, &sources, color);
                failed = true;
            }
            Outcome::Formatted { formatted } if formatted != file.text() => {
                unformatted = true;
                // Written whole or not at all; the name is printed once the file is written.
                let written = match file.path().filter(|_| write) {
                    Some(path) => crate::fsutil::write_atomic(path, formatted.as_bytes()),
                    None => Ok(()),
                };
                match written {
                    Ok(()) => writeln!(out, "{}", file.name())?,
                    Err(err) => {
                        out.flush()?;
                        let diag =
                            Diagnostic::global(format!("cannot write {}: {err}", file.name()));
                        super::machine::error(&diag.render(&sources, color));
                        failed = true;
                    }
                }
                if args.diff {
                    write!(
                        out,
                        "{}",
                        unified_diff(file.name(), file.text(), &formatted)
                    )?;
                }
            }
            Outcome::Formatted { .. } => {}
        }
    }
    out.flush()?;
    Ok(exit_code(failed, args.check && unformatted))
}

fn exit_code(failed: bool, check_failed: bool) -> i32 {
    if failed {
        1
    } else if check_failed {
        3
    } else {
        0
    }
}

/// Parse first (Packer refuses to format what it cannot parse), then format.
fn process(id: FileId, text: &str) -> Outcome {
    match syntax::parse(id, text) {
        Ok(_) => Outcome::Formatted {
            formatted: format::format(text),
        },
        Err(diags) => Outcome::Invalid(diags),
    }
}

/// `kiln fmt -`: format standard input onto standard output, following `packer fmt -`: the
/// result is printed when it is written (not with `-check` or `-write=false`), formatted input is
/// echoed as it is, and no diff is shown.
fn run_stdin(args: &FmtArgs, color: bool) -> anyhow::Result<i32> {
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes)?;
    let mut sources = SourceMap::new();
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let offset = err.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(err.as_bytes()).into_owned();
            let id = sources.add(SourceFile::new("<stdin>", None, text));
            let diag = read_diagnostic(
                Some(id),
                ReadError::Utf8 {
                    path: "<stdin>".to_string(),
                    offset,
                },
            );
            super::machine::error(&diag.render(&sources, color));
            return Ok(1);
        }
    };
    let id = sources.add(SourceFile::new("<stdin>", None, text));
    let text = sources.get(id).text();
    let formatted = match process(id, text) {
        Outcome::Formatted { formatted } => formatted,
        Outcome::Invalid(diags) => {
            super::template::report(&diags, &sources, color);
            return Ok(1);
        }
    };
    let mut out = std::io::stdout().lock();
    if formatted == text {
        out.write_all(text.as_bytes())?;
        return Ok(0);
    }
    if args.write && !args.check {
        out.write_all(formatted.as_bytes())?;
    }
    out.flush()?;
    Ok(exit_code(false, args.check))
}

/// The template files the arguments name, sorted and without repeats. Problems (a missing path,
/// a directory without templates, a file that is not a template) become diagnostics.
fn collect_files(paths: &[PathBuf], recursive: bool, diags: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        let path = clean(path);
        match std::fs::metadata(&path) {
            Err(err) => diags.push(Diagnostic::global(format!(
                "cannot read {}: {err}",
                path.display()
            ))),
            Ok(meta) if meta.is_dir() => {
                let before = files.len();
                walk(&path, recursive, &mut files, diags);
                if files.len() == before {
                    diags.push(
                        Diagnostic::global(format!(
                            "{} holds no *.pkr.hcl or *.pkrvars.hcl files",
                            path.display()
                        ))
                        .with_hint(if recursive {
                            "kiln fmt only rewrites Packer HCL2 templates and variable files"
                        } else {
                            "add -recursive to format the templates in its subdirectories"
                        }),
                    );
                }
            }
            Ok(_) if is_template_name(&path) => files.push(path),
            Ok(_) => diags.push(
                Diagnostic::global(format!(
                    "{} is not a *.pkr.hcl or *.pkrvars.hcl file",
                    path.display()
                ))
                .with_hint(format!(
                    "format it from standard input: kiln fmt - < {}",
                    path.display()
                )),
            ),
        }
    }
    files.sort();
    files.dedup();
    files
}

/// Add the templates of `dir` (and of its subdirectories when `recursive`) to `files`.
/// Symbolic links to directories are not followed, so a link cycle cannot trap the walk.
fn walk(dir: &Path, recursive: bool, files: &mut Vec<PathBuf>, diags: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            diags.push(Diagnostic::global(format!(
                "cannot read {}: {err}",
                dir.display()
            )));
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = clean(&dir.join(entry.file_name()));
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if recursive {
                walk(&path, recursive, files, diags);
            }
        } else if is_template_name(&path) && std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            files.push(path);
        }
    }
}

/// Drop `.` components, as Go's `filepath.Join` does, so `kiln fmt .` reports `a.pkr.hcl`
/// rather than `./a.pkr.hcl`.
fn clean(path: &Path) -> PathBuf {
    let cleaned: PathBuf = path
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    if cleaned.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        cleaned
    }
}

fn is_template_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".pkr.hcl") || name.ends_with(".pkrvars.hcl")
}

fn read_diagnostic(id: Option<FileId>, err: ReadError) -> Diagnostic {
    match (&err, id) {
        (ReadError::Utf8 { offset, .. }, Some(id)) => Diagnostic::error(
            Span::new(id, *offset, *offset + 1),
            "the file is not valid UTF-8",
        )
        .with_hint("HCL files must be UTF-8 text"),
        _ => Diagnostic::global(err.to_string()),
    }
}

/// A unified diff with the `old/` and `new/` labels `packer fmt -diff` prints.
fn unified_diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("old/{name}"), &format!("new/{name}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_drops_current_dir_components() {
        assert_eq!(
            clean(Path::new("./a/./b.pkr.hcl")),
            PathBuf::from("a/b.pkr.hcl")
        );
        assert_eq!(clean(Path::new(".")), PathBuf::from("."));
    }

    #[test]
    fn diff_has_packer_labels() {
        assert_eq!(
            unified_diff("u.pkr.hcl", "a=1\n", "a = 1\n"),
            "--- old/u.pkr.hcl\n+++ new/u.pkr.hcl\n@@ -1 +1 @@\n-a=1\n+a = 1\n"
        );
    }
}
