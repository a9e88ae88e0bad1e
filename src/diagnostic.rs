//! Diagnostics: one type and one renderer for every stage of the program.

use crate::source::{SourceMap, Span};
use std::fmt::Write;

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

    /// Render as text (`error: ...`, `--> file:line:col`, the line, a caret underline, the hint).
    pub fn render(&self, sources: &SourceMap, color: bool) -> String {
        let paint = Paint { on: color };
        let mut out = String::new();
        let (word, code) = match self.severity {
            Severity::Error => ("error", "1;31"),
            Severity::Warning => ("warning", "1;33"),
        };
        let _ = writeln!(
            out,
            "{}{}",
            paint.wrap(code, word),
            paint.wrap("1", &format!(": {}", self.message))
        );
        let gutter = self
            .span
            .iter()
            .chain(self.labels.iter().map(|l| &l.span))
            .map(|s| {
                (sources.get(s.file).position(s.start as usize).line)
                    .to_string()
                    .len()
            })
            .max()
            .unwrap_or(1);
        if let Some(span) = self.span {
            snippet(&mut out, sources, span, '^', None, gutter, &paint, code);
        }
        for label in &self.labels {
            snippet(
                &mut out,
                sources,
                label.span,
                '-',
                Some(&label.message),
                gutter,
                &paint,
                "1;34",
            );
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(
                out,
                "{:gutter$} {} {}",
                "",
                paint.wrap("1;34", "="),
                paint.wrap("1", &format!("hint: {hint}")),
                gutter = gutter
            );
        }
        out
    }
}

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn snippet(
    out: &mut String,
    sources: &SourceMap,
    span: Span,
    mark: char,
    message: Option<&str>,
    gutter: usize,
    paint: &Paint,
    code: &str,
) {
    let file = sources.get(span.file);
    let start = file.position(span.start as usize);
    let bar = paint.wrap("1;34", "|");
    let _ = writeln!(
        out,
        "{:gutter$}{} {}:{}:{}",
        "",
        paint.wrap("1;34", "-->"),
        file.name(),
        start.line,
        start.column,
        gutter = gutter
    );
    let line_index = start.line - 1;
    let line = file.line_text(line_index);
    let _ = writeln!(out, "{:gutter$} {bar}", "", gutter = gutter);
    let line_start = file.line_start(line_index);
    if sources.is_hidden(span.file, line_start, line_start + line.len()) {
        // A line holding a sensitive value is not quoted, and not underlined.
        let _ = writeln!(
            out,
            "{} {bar} (a sensitive value, not shown)",
            paint.wrap("1;34", &format!("{:>gutter$}", start.line, gutter = gutter)),
        );
        return;
    }
    let _ = writeln!(
        out,
        "{} {bar} {}",
        paint.wrap("1;34", &format!("{:>gutter$}", start.line, gutter = gutter)),
        line.replace('\t', " ")
    );
    // Underline from the start column to the span's end, or to the end of the first line.
    let span_end = (span.end as usize).max(span.start as usize);
    let end_in_line = span_end.min(line_start + line.len());
    let from = start.column - 1;
    let width = file
        .text()
        .get(span.start as usize..end_in_line.max(span.start as usize))
        .map(|s| s.chars().count())
        .unwrap_or(0)
        .max(1);
    let marks: String = std::iter::repeat_n(mark, width).collect();
    let text = match message {
        Some(m) => format!("{marks} {m}"),
        None => marks,
    };
    // Padding built by hand: a format width stops at 65535 columns, and a minified line is longer.
    let _ = writeln!(
        out,
        "{:gutter$} {bar} {}{}",
        "",
        " ".repeat(from),
        paint.wrap(code, &text),
        gutter = gutter
    );
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

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
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
