//! Any text either parses or yields diagnostics that point inside it and render.

#![no_main]

use kiln::diagnostic::render_all;
use kiln::source::{FileId, SourceMap, Span};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let mut sources = SourceMap::new();
    let file = sources.add_text("fuzz.pkr.hcl", text.clone());
    let Err(diags) = kiln::syntax::parse(file, &text) else {
        return;
    };
    assert!(!diags.is_empty(), "a failed parse reported no diagnostic");
    for diag in &diags {
        let spans = diag.span.iter().chain(diag.labels.iter().map(|l| &l.span));
        for &span in spans {
            check_span(span, file, &text, &diag.message);
        }
    }
    let _ = render_all(&diags, &sources, false);
});

fn check_span(span: Span, file: FileId, text: &str, message: &str) {
    let (start, end) = (span.start as usize, span.end as usize);
    assert_eq!(span.file, file, "span of {message:?} names another file");
    assert!(
        start <= end && end <= text.len(),
        "span {start}..{end} of {message:?} is outside the {} bytes of input",
        text.len()
    );
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "span {start}..{end} of {message:?} splits a character"
    );
}
