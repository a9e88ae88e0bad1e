//! Diagnostics: one type and one renderer for every stage of the program.

use crate::source::{FileId, SourceFile, SourceMap, Span};
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// What kind of problem a diagnostic reports, for code and tests that act on it without
/// reading its message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// Nothing tells this diagnostic apart yet.
    #[default]
    Other,
    /// A variable has no default and no value was given for it.
    UnsetVariable,
    /// An object has no attribute of the name asked for.
    UnknownAttribute,
    /// A block, object, list or parenthesis is never closed.
    Unclosed,
    /// A heredoc no line ends.
    UnterminatedHeredoc,
}

/// A secondary location shown under the main one ("first defined here").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// A problem found in user input, pointing at where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub span: Option<Span>,
    pub labels: Vec<Label>,
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code: Code::Other,
            message: message.into(),
            span: Some(span),
            labels: Vec::new(),
            hint: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(span, message)
        }
    }

    /// An error that belongs to no place in a file (a missing file, a bad flag).
    pub fn global(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code: Code::Other,
            message: message.into(),
            span: None,
            labels: Vec::new(),
            hint: None,
        }
    }

    /// Tag with the kind of problem it reports.
    pub fn with_code(mut self, code: Code) -> Diagnostic {
        self.code = code;
        self
    }

    /// Add a hint line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Add a secondary location.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Render as text: `error: ...`, `--> file:line:col`, the lines with the spans underlined (a
    /// long line cut around its span, wide characters counted as two columns), then the hint.
    /// A line holding a sensitive value is shown as "(a sensitive value, not shown)".
    pub fn render(&self, sources: &SourceMap, color: bool) -> String {
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let marks: Vec<(Span, AnnotationKind, Option<&str>)> = self
            .span
            .iter()
            .map(|&span| (span, AnnotationKind::Primary, None))
            .chain(
                self.labels
                    .iter()
                    .map(|l| (l.span, AnnotationKind::Context, Some(l.message.as_str()))),
            )
            .collect();
        let mut files: Vec<FileId> = Vec::new();
        for (span, _, _) in &marks {
            if !files.contains(&span.file) {
                files.push(span.file);
            }
        }
        let mut group = Group::with_title(level.primary_title(self.message.as_str()));
        for file in files {
            let spans: Vec<_> = marks.iter().filter(|(s, _, _)| s.file == file).collect();
            let excerpt = Excerpt::new(sources, file, spans.iter().map(|(s, _, _)| *s));
            let mut snippet = Snippet::source(excerpt.text.clone())
                .path(sources.get(file).name())
                .line_start(excerpt.first_line + 1)
                .fold(true);
            for (span, kind, label) in spans {
                let (start, end) = excerpt.range(sources.get(file), *span);
                snippet = snippet.annotation((*kind).span(start..end).label(*label));
            }
            group = group.element(snippet);
        }
        if let Some(hint) = &self.hint {
            group = group.element(Level::HELP.with_name("hint").message(hint.as_str()));
        }
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let mut out = renderer.term_width(render_width()).render(&[group]);
        out.push('\n');
        out
    }
}

/// The columns a diagnostic may use: the terminal's when stderr is one, else rustc's 140.
fn render_width() -> usize {
    crate::exec::ui::terminal_width(libc::STDERR_FILENO)
        .unwrap_or(annotate_snippets::renderer::DEFAULT_TERM_WIDTH)
}

/// Where `span` ends as shown: a span that takes in a line break ends on the line before it,
/// not at the start of the next.
fn shown_end(file: &SourceFile, span: Span) -> usize {
    let (start, end) = (
        span.start as usize,
        (span.end as usize).max(span.start as usize),
    );
    let end = end.min(file.text().len());
    if end > start && file.line_start(file.line_index(end)) == end && file.line_index(end) > 0 {
        end - 1
    } else {
        end
    }
}

const HIDDEN_LINE: &str = "(a sensitive value, not shown)";

/// The lines of one file that a diagnostic's spans touch, each line holding a sensitive value
/// replaced by a placeholder, with the map from the file's offsets into this text.
struct Excerpt {
    text: String,
    first_line: usize,
    /// Per line: where it starts in the file, where in `text`, its length in `text`, and whether
    /// it was replaced.
    lines: Vec<(usize, usize, usize, bool)>,
}

impl Excerpt {
    fn new(sources: &SourceMap, file: FileId, spans: impl Iterator<Item = Span>) -> Excerpt {
        let source = sources.get(file);
        let (mut first, mut last) = (usize::MAX, 0);
        for span in spans {
            first = first.min(source.line_index(span.start as usize));
            last = last.max(source.line_index(shown_end(source, span)));
        }
        let mut text = String::new();
        let mut lines = Vec::new();
        for line in first..=last {
            let start = source.line_start(line);
            let body = source.line_text(line);
            let hidden = sources.is_hidden(file, start, start + body.len());
            let shown = if hidden { HIDDEN_LINE } else { body };
            lines.push((start, text.len(), shown.len(), hidden));
            text.push_str(shown);
            text.push('\n');
        }
        Excerpt {
            text,
            first_line: first,
            lines,
        }
    }

    /// Where `span` of `file` falls in the excerpt, on character boundaries.
    fn range(&self, file: &SourceFile, span: Span) -> (usize, usize) {
        let mut start = self.map(span.start as usize);
        let mut end = self.map(shown_end(file, span)).max(start);
        while !self.text.is_char_boundary(start) {
            start -= 1;
        }
        while !self.text.is_char_boundary(end) {
            end += 1;
        }
        (start, end)
    }

    /// Where byte `offset` of the file falls in the excerpt: a hidden line's start for any offset
    /// inside it, a line's end for an offset in its line ending.
    fn map(&self, offset: usize) -> usize {
        let i = self
            .lines
            .partition_point(|&(start, _, _, _)| start <= offset)
            .saturating_sub(1);
        let (start, at, len, hidden) = self.lines[i];
        if hidden {
            at
        } else {
            at + offset.saturating_sub(start).min(len)
        }
    }
}

/// Render many diagnostics, separated by blank lines, sorted by file and position.
pub fn render_all(diagnostics: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by_key(|d| d.span.map(|s| (s.file, s.start, s.end)));
    sorted
        .iter()
        .map(|d| d.render(sources, color))
        .collect::<Vec<_>>()
        .join("\n")
}

/// True when any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

/// The candidate closest to `word` by edit distance (a swap of two neighbours counting one edit),
/// if it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

/// `a`, `b` and `c` for messages.
pub fn quote_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}
