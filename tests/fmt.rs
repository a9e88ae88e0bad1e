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
    let covered: BTreeSet<String> = unchanged.iter().chain(&refused).chain(&stored).cloned().collect();
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
        let Some(expected) = &file.expected else { continue };
        checked += 1;
        let got = format(&file.input);
        if &got != expected {
            failures.push(format!("{}: {}", file.rel, first_difference(expected, &got)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} corpus files differ from packer fmt:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
