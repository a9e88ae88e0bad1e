//! Source files, byte spans and line/column lookup shared by every stage.

use std::fmt;
use std::path::{Path, PathBuf};

/// Identifies one file inside a [`SourceMap`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

impl fmt::Debug for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A byte range inside one source file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    /// A span over `start..end` of `file`.
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span covering both `self` and `other` (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// An empty span at this span's start.
    pub fn start_point(self) -> Span {
        Span {
            end: self.start,
            ..self
        }
    }

    /// An empty span at this span's end.
    pub fn end_point(self) -> Span {
        Span {
            start: self.end,
            ..self
        }
    }

    /// The byte range, for slicing the file's text.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    /// True when the span covers no bytes.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}..{}", self.start, self.end)
    }
}

/// A 1-based line and column (columns count characters, as HCL does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// One loaded file: its display name, text and line index.
#[derive(Debug)]
pub struct SourceFile {
    name: String,
    path: Option<PathBuf>,
    text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Index `text` under the display `name`.
    pub fn new(name: impl Into<String>, path: Option<PathBuf>, text: String) -> SourceFile {
        // A byte order mark says only "UTF-8", as Packer's reader takes it.
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name: name.into(),
            path,
            text,
            line_starts,
        }
    }

    /// The name shown in diagnostics.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path on disk, when the file came from disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// 0-based line index holding byte `offset`.
    pub fn line_index(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// The 1-based line and column of byte `offset` (clamped into the text).
    pub fn position(&self, offset: usize) -> Position {
        let offset = self.clamp(offset);
        let line = self.line_index(offset);
        let start = self.line_starts[line];
        let column = self.text[start..offset].chars().count() + 1;
        Position {
            line: line + 1,
            column,
        }
    }

    /// The text of 0-based line `line` without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line];
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// Byte offset where 0-based `line` starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts[line]
    }

    /// Number of lines (an empty file has one).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

/// Every file a run has read, addressed by [`FileId`].
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
    /// Text never to quote in a diagnostic: the values of sensitive variables.
    hidden: Vec<Span>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Add a file and return its id.
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(self.files.len() as u32 - 1)
    }

    /// Add text held in memory under a display name.
    pub fn add_text(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.add(SourceFile::new(name, None, text.into()))
    }

    /// The file for `id`.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// Never quote the text `span` covers (a sensitive variable's value) in a diagnostic.
    pub fn hide(&mut self, span: Span) {
        self.hidden.push(span);
    }

    /// Whether bytes `start..end` of `file` touch hidden text.
    pub fn is_hidden(&self, file: FileId, start: usize, end: usize) -> bool {
        self.hidden.iter().any(|h| {
            h.file == file && (h.start as usize) < end.max(start + 1) && start < h.end as usize
        })
    }

    /// Every file, in the order added.
    pub fn files(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter()
    }

    /// The text a span covers.
    pub fn snippet(&self, span: Span) -> &str {
        let text = self.get(span.file).text();
        text.get(span.range()).unwrap_or("")
    }
}

/// Why a file could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid UTF-8 (byte {offset})")]
    Utf8 { path: String, offset: usize },
}

impl SourceMap {
    /// Read a file from disk into the map. A file that is not UTF-8 is added with the bad bytes
    /// replaced, so the error can point into it.
    pub fn read(&mut self, path: &Path) -> Result<FileId, (Option<FileId>, ReadError)> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| {
            (
                None,
                ReadError::Io {
                    path: name.clone(),
                    source,
                },
            )
        })?;
        match String::from_utf8(bytes) {
            Ok(text) => Ok(self.add(SourceFile::new(name, Some(path.to_path_buf()), text))),
            Err(err) => {
                let bom = if err.as_bytes().starts_with(b"\xEF\xBB\xBF") {
                    3
                } else {
                    0
                };
                // The offset into the text, which leaves the byte order mark out.
                let offset = err.utf8_error().valid_up_to() - bom;
                let text = String::from_utf8_lossy(err.as_bytes()).into_owned();
                let id = self.add(SourceFile::new(
                    name.clone(),
                    Some(path.to_path_buf()),
                    text,
                ));
                Err((Some(id), ReadError::Utf8 { path: name, offset }))
            }
        }
    }
}
