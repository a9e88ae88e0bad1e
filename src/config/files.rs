//! Finding and parsing the files of a template: a directory's `*.pkr.hcl` / `*.pkr.json`, or a
//! single file, plus the variable files beside them.

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, ReadError, SourceMap, Span};
use crate::syntax::{self, Body};
use std::path::{Path, PathBuf};

/// One parsed file.
#[derive(Debug)]
pub struct ParsedFile {
    pub id: FileId,
    pub path: PathBuf,
    pub body: Body,
}

/// The files that make up a template.
#[derive(Debug, Default)]
pub struct TemplateFiles {
    /// The directory templates' relative paths resolve against (`path.root`).
    pub root: PathBuf,
    /// `*.pkr.hcl` and `*.pkr.json`, sorted by name.
    pub templates: Vec<PathBuf>,
    /// `*.auto.pkrvars.hcl` and `*.auto.pkrvars.json`, sorted by name.
    pub auto_var_files: Vec<PathBuf>,
}

/// Why no template could be found.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error("{0} does not exist")]
    Missing(String),
    #[error("{0} holds no *.pkr.hcl or *.pkr.json files")]
    Empty(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The template at `path`: a directory's template files, or one file.
pub fn find(path: &Path) -> Result<TemplateFiles, FindError> {
    let io = |source| FindError::Io {
        path: path.display().to_string(),
        source,
    };
    // A path that is there but cannot be followed (a symlink loop) says why, not "missing".
    let meta = match std::fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(e)),
    };
    if meta.as_ref().is_some_and(|m| m.is_dir()) {
        let mut templates = Vec::new();
        let mut auto = Vec::new();
        let entries = std::fs::read_dir(path).map_err(io)?;
        for entry in entries.flatten() {
            let p = entry.path();
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            // As Packer: only folders are passed over; anything else with a template's name
            // is read, so a dangling symlink fails the run instead of leaving its values out.
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if name.ends_with(".pkr.hcl") || name.ends_with(".pkr.json") {
                templates.push(p);
            } else if name.ends_with(".auto.pkrvars.hcl") || name.ends_with(".auto.pkrvars.json") {
                auto.push(p);
            }
        }
        templates.sort();
        auto.sort();
        if templates.is_empty() {
            return Err(FindError::Empty(path.display().to_string()));
        }
        Ok(TemplateFiles {
            root: path.to_path_buf(),
            templates,
            auto_var_files: auto,
        })
    } else if meta.is_some() {
        // A file, or something that is not one (a FIFO): reading it says which.
        let root = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(TemplateFiles {
            root,
            templates: vec![path.to_path_buf()],
            auto_var_files: Vec::new(),
        })
    } else {
        Err(FindError::Missing(path.display().to_string()))
    }
}

/// Read one file into the source map; a file that cannot be read, or is not UTF-8, is a
/// diagnostic (pointing at the first bad byte for the latter).
pub fn read(sources: &mut SourceMap, path: &Path) -> Result<FileId, Diagnostic> {
    // Reading a FIFO would wait for a writer forever.
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() && !meta.is_dir() {
            return Err(Diagnostic::global(format!(
                "cannot read {}: it is not a regular file",
                path.display()
            )));
        }
    }
    match sources.read(path) {
        Ok(id) => Ok(id),
        Err((Some(id), ReadError::Utf8 { offset, .. })) => Err(Diagnostic::error(
            Span::new(id, offset, offset + 1),
            "the file is not valid UTF-8",
        )
        .with_hint("HCL files must be UTF-8 text")),
        Err((_, err)) => Err(Diagnostic::global(err.to_string())),
    }
}

/// Read and parse one file (HCL or JSON syntax by extension); diagnostics on failure.
pub fn parse(sources: &mut SourceMap, path: &Path) -> Result<ParsedFile, Vec<Diagnostic>> {
    let id = read(sources, path).map_err(|d| vec![d])?;
    let text = sources.get(id).text();
    let is_json = path.extension().is_some_and(|e| e == "json");
    let body = if is_json {
        super::json::parse(id, text)?
    } else {
        syntax::parse(id, text)?
    };
    Ok(ParsedFile {
        id,
        path: path.to_path_buf(),
        body,
    })
}
