//! `kiln fmt`: byte-for-byte Packer formatting.
//!
//! The corpus expectations come from `scripts/capture-fmt-fixtures.sh`, which runs Packer 1.6.6's
//! `packer fmt` over `../shared/corpus`. Set `KILN_FMT_ONLY=<substring>` to check only the corpus
//! files whose path contains it.

use crate::test::{repo_root, shared_dir, with_snapshots, Test};
use kiln::format::format;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One corpus template and what `packer fmt` made of it.
struct CorpusFile {
    rel: String,
    input: String,
    /// `None` when packer refused the file.
    expected: Option<String>,
}

fn fixture_dir() -> PathBuf {
    repo_root().join("tests/fixtures/fmt")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Relative paths of every `*.hcl` file under `dir`, sorted.
fn hcl_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "hcl") {
                let rel = path.strip_prefix(dir).expect("under dir");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

fn list(path: &Path) -> BTreeSet<String> {
    read(path)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').next().unwrap_or(l).to_string())
        .collect()
}

/// Every corpus file with its expectation, checking that the captured fixtures cover exactly
/// the corpus (re-run `scripts/capture-fmt-fixtures.sh` when it changes).
fn corpus() -> Vec<CorpusFile> {
    let corpus_dir = shared_dir().join("corpus");
    let stored_dir = fixture_dir().join("corpus");
    let unchanged = list(&stored_dir.join("UNCHANGED.txt"));
    let refused = list(&stored_dir.join("REFUSED.txt"));
    let stored: BTreeSet<String> = hcl_files(&stored_dir).into_iter().collect();
    let files = hcl_files(&corpus_dir);
    let covered: BTreeSet<String> = unchanged
        .iter()
        .chain(&refused)
        .chain(&stored)
        .cloned()
        .collect();
    let all: BTreeSet<String> = files.iter().cloned().collect();
    assert_eq!(
        covered, all,
        "tests/fixtures/fmt/corpus does not match ../shared/corpus; run scripts/capture-fmt-fixtures.sh"
    );
    let only = std::env::var("KILN_FMT_ONLY").unwrap_or_default();
    files
        .into_iter()
        .filter(|rel| rel.contains(&only))
        .map(|rel| {
            let input = read(&corpus_dir.join(&rel));
            let expected = if refused.contains(&rel) {
                None
            } else if stored.contains(&rel) {
                Some(read(&stored_dir.join(&rel)))
            } else {
                Some(input.clone())
            };
            CorpusFile {
                rel,
                input,
                expected,
            }
        })
        .collect()
}

/// Where two texts first differ, as `line N: expected … / got …`.
fn first_difference(expected: &str, got: &str) -> String {
    let mut e = expected.split_inclusive('\n');
    let mut g = got.split_inclusive('\n');
    for n in 1.. {
        match (e.next(), g.next()) {
            (None, None) => break,
            (a, b) if a == b => continue,
            (a, b) => return format!("line {n}:\n    packer: {a:?}\n    kiln:   {b:?}"),
        }
    }
    "identical".to_string()
}

#[test]
fn corpus_formats_exactly_like_packer() {
    let files = corpus();
    let mut failures = Vec::new();
    let mut checked = 0;
    for file in &files {
        let Some(expected) = &file.expected else {
            continue;
        };
        checked += 1;
        let got = format(&file.input);
        if &got != expected {
            failures.push(format!(
                "{}: {}",
                file.rel,
                first_difference(expected, &got)
            ));
        }
    }
    assert!(checked > 0, "no corpus file was checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} corpus files differ from packer fmt:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn formatting_is_idempotent() {
    let mut failures = Vec::new();
    for file in corpus() {
        let once = format(&file.input);
        let twice = format(&once);
        if once != twice {
            failures.push(format!("{}: {}", file.rel, first_difference(&once, &twice)));
        }
    }
    assert!(
        failures.is_empty(),
        "formatting twice changes:\n{}",
        failures.join("\n")
    );
}

/// `Debug` of a syntax tree without its spans (`@start..end`), which formatting moves. Template
/// literal parts and heredoc lines carry spans too; their text is compared, their place is not.
fn without_spans(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let start = digits(after);
        let span_len = match after[start..].strip_prefix("..") {
            Some(tail) if start > 0 && digits(tail) > 0 => start + 2 + digits(tail),
            _ => 0,
        };
        if span_len == 0 {
            out.push('@');
        }
        rest = &after[span_len..];
    }
    out.push_str(rest);
    out
}

#[test]
fn formatting_keeps_the_meaning() {
    let mut parsed = 0;
    let mut failures = Vec::new();
    for file in corpus() {
        let Ok(before) = kiln::syntax::parse(kiln::source::FileId(0), &file.input) else {
            continue;
        };
        parsed += 1;
        let formatted = format(&file.input);
        match kiln::syntax::parse(kiln::source::FileId(0), &formatted) {
            Ok(after) => {
                let (before, after) = (
                    without_spans(&format!("{before:?}")),
                    without_spans(&format!("{after:?}")),
                );
                if before != after {
                    failures.push(format!("{}: the syntax tree changed", file.rel));
                }
            }
            Err(diags) => failures.push(format!(
                "{}: the formatted text no longer parses: {}",
                file.rel,
                diags.first().map_or("", |d| d.message.as_str())
            )),
        }
    }
    assert!(parsed > 0, "kiln parsed no corpus file");
    assert!(
        failures.is_empty(),
        "formatting changed meaning:\n{}",
        failures.join("\n")
    );
}

#[test]
fn span_stripping_removes_only_spans() {
    assert_eq!(
        without_spans(r#"Ident { name: "a@1..2", span: @10..12 }, x@y"#),
        r#"Ident { name: "a", span:  }, x@y"#
    );
}

#[test]
fn formatter_survives_hostile_input() {
    let inputs = [
        "",
        "\u{feff}",
        "\u{feff}\u{feff}",
        "}",
        "}}}{{{",
        "~}",
        "${",
        "\"${",
        "\"${}",
        "<<",
        "<<EOT",
        "<<EOT\n",
        "<<EOT\n${",
        "x = <<EOT\nabc",
        "/*",
        "/* *",
        "#",
        "\r",
        "a\rb",
        "\"\\",
        "\"$",
        "\"%",
        "a = \"\n\"",
        "1e",
        "1.",
        "..",
        "....",
        "\t\t",
        "a=[[[[",
        "a=]]]]",
        "%{",
        "x = \"%{ if }\"",
        "a = 1 ; b = 2",
        "é = ü",
        "a = \"\u{0}\"",
        "<<-\n",
        "<<-X\r\nX\r\n",
        "a = <<EOT\nEOT",
    ];
    let squeeze = |s: &str| s.replace([' ', '\t'], "");
    for input in inputs {
        let once = squeeze(&format(input));
        // Only spaces may change, and a leading byte-order mark may go (as with packer).
        let without_bom = input.strip_prefix('\u{feff}').unwrap_or(input);
        assert!(
            once == squeeze(input) || once == squeeze(without_bom),
            "{input:?} became {once:?}"
        );
    }
    // Every prefix of a real template, cut at any character.
    let text = read(&fixture_dir().join("cases/heredocs.pkr.hcl"));
    for (i, _) in text.char_indices() {
        let _ = format(&text[..i]);
    }
}

// The command line, through the real binary.

const UNFORMATTED: &str = "variable \"a\" {\ndefault=1\n}\n";
const FORMATTED: &str = "variable \"a\" {\n  default = 1\n}\n";

#[test]
fn stdin_is_formatted_to_stdout() {
    Test::new()
        .args(["fmt", "-"])
        .stdin(UNFORMATTED)
        .stdout(FORMATTED)
        .run();
}

#[test]
fn stdin_that_is_formatted_is_echoed() {
    Test::new()
        .args(["fmt", "-"])
        .stdin(FORMATTED)
        .stdout(FORMATTED)
        .run();
}

#[test]
fn check_lists_unformatted_files_exits_3_and_writes_nothing() {
    for flag in ["-check", "--check"] {
        let test = Test::new()
            .write("a.pkr.hcl", UNFORMATTED)
            .write("b.pkr.hcl", FORMATTED)
            .args(["fmt", flag, "a.pkr.hcl", "b.pkr.hcl"]);
        let out = test.run_unchecked();
        assert_eq!(out.status, 3, "{flag}: {out:?}");
        assert_eq!(out.stdout, "a.pkr.hcl\n", "{flag}");
        assert_eq!(read(&test.dir().join("a.pkr.hcl")), UNFORMATTED, "{flag}");
    }
}

#[test]
fn check_passes_on_formatted_files() {
    Test::new()
        .write("a.pkr.hcl", FORMATTED)
        .args(["fmt", "-check", "a.pkr.hcl"])
        .stdout("")
        .run();
}

#[test]
fn files_are_rewritten_and_listed() {
    let test = Test::new()
        .write("a.pkr.hcl", UNFORMATTED)
        .write("b.pkrvars.hcl", "region=\"x\"\n")
        .args(["fmt", "a.pkr.hcl", "b.pkrvars.hcl"]);
    let out = test.run_unchecked();
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (0, "a.pkr.hcl\nb.pkrvars.hcl\n")
    );
    assert_eq!(read(&test.dir().join("a.pkr.hcl")), FORMATTED);
    assert_eq!(read(&test.dir().join("b.pkrvars.hcl")), "region = \"x\"\n");
}

#[test]
fn write_false_lists_but_does_not_write() {
    for flag in ["-write=false", "--write=false"] {
        let test = Test::new()
            .write("a.pkr.hcl", UNFORMATTED)
            .args(["fmt", flag, "a.pkr.hcl"]);
        let out = test.run_unchecked();
        assert_eq!(
            (out.status, out.stdout.as_str()),
            (0, "a.pkr.hcl\n"),
            "{flag}"
        );
        assert_eq!(read(&test.dir().join("a.pkr.hcl")), UNFORMATTED, "{flag}");
    }
}

#[test]
fn diff_shows_a_unified_diff() {
    for flags in [
        &["-diff", "-write=false"][..],
        &["--diff", "--write=false"][..],
    ] {
        let out = Test::new()
            .write("a.pkr.hcl", UNFORMATTED)
            .arg("fmt")
            .args(flags.iter().copied())
            .arg("a.pkr.hcl")
            .run();
        with_snapshots(|| insta::assert_snapshot!("fmt__diff", out.stdout));
    }
}

#[test]
fn directories_hold_templates_and_recursive_descends() {
    let test = Test::new()
        .write("top.pkr.hcl", UNFORMATTED)
        .write("notes.hcl", "a=1\n")
        .write("sub/vars.pkrvars.hcl", "a=1\n")
        .write("sub/deeper/x.pkr.hcl", UNFORMATTED)
        .args(["fmt", "."]);
    let out = test.run_unchecked();
    assert_eq!((out.status, out.stdout.as_str()), (0, "top.pkr.hcl\n"));
    assert_eq!(read(&test.dir().join("sub/vars.pkrvars.hcl")), "a=1\n");

    let test = Test::new()
        .write("top.pkr.hcl", UNFORMATTED)
        .write("notes.hcl", "a=1\n")
        .write("sub/vars.pkrvars.hcl", "a=1\n")
        .write("sub/deeper/x.pkr.hcl", UNFORMATTED)
        .args(["fmt", "-recursive", "."]);
    let out = test.run_unchecked();
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (
            0,
            "sub/deeper/x.pkr.hcl\nsub/vars.pkrvars.hcl\ntop.pkr.hcl\n"
        )
    );
    assert_eq!(read(&test.dir().join("sub/deeper/x.pkr.hcl")), FORMATTED);
    assert_eq!(read(&test.dir().join("notes.hcl")), "a=1\n");
}

#[test]
fn a_directory_without_templates_is_an_error() {
    Test::new()
        .write("sub/notes.txt", "")
        .args(["fmt", "sub"])
        .status(1)
        .stderr_contains("sub holds no *.pkr.hcl or *.pkrvars.hcl files")
        .run();
}

#[test]
fn a_syntax_error_is_reported_and_the_file_left_alone() {
    let broken = "variable \"a\" {\n  default =\n}\n";
    let test = Test::new()
        .write("bad.pkr.hcl", broken)
        .write("good.pkr.hcl", UNFORMATTED)
        .args(["fmt", "bad.pkr.hcl", "good.pkr.hcl"]);
    let out = test.run_unchecked();
    assert_eq!(out.status, 1, "{out:?}");
    assert!(out.stderr.contains("--> bad.pkr.hcl:"), "{}", out.stderr);
    assert_eq!(out.stdout, "good.pkr.hcl\n");
    assert_eq!(read(&test.dir().join("bad.pkr.hcl")), broken);
    assert_eq!(read(&test.dir().join("good.pkr.hcl")), FORMATTED);
}

#[test]
fn a_missing_file_is_an_error() {
    Test::new()
        .args(["fmt", "missing.pkr.hcl"])
        .status(1)
        .stderr_contains("cannot read missing.pkr.hcl")
        .run();
}

/// The hand-written cases: `kiln fmt -` output is snapshotted for review, and must equal what
/// `packer fmt` made of the same file (`cases/expected/`, from the capture script).
#[test]
fn cases_snapshot() {
    let cases = fixture_dir().join("cases");
    let mut names: Vec<String> = std::fs::read_dir(&cases)
        .expect("cases directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pkr.hcl"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 8,
        "expected at least 8 cases, found {names:?}"
    );
    for name in names {
        let input = read(&cases.join(&name));
        let out = Test::new().args(["fmt", "-"]).stdin(input.clone()).run();
        let expected = read(&cases.join("expected").join(&name));
        assert_eq!(out.stdout, expected, "{name} differs from packer fmt");
        assert_eq!(
            format(&input),
            expected,
            "{name}: the library and the CLI disagree"
        );
        // Carriage returns are made visible, since snapshots normalise line endings.
        let shown = out.stdout.replace('\r', "\\r");
        let snapshot = format!("fmt__{}", name.trim_end_matches(".pkr.hcl"));
        with_snapshots(|| insta::assert_snapshot!(snapshot, shown));
    }
}
