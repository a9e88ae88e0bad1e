//! Parse the corpus in a loop, for profilers and instruction counts:
//! `cargo build --release --example parse_loop && valgrind --tool=callgrind target/release/examples/parse_loop 3`.
//! With `GRAMMAR_ONLY=1` only the pest grammar runs, without lowering into the AST.

use kiln::source::FileId;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "hcl") {
            out.push(path);
        }
    }
}

fn main() {
    let passes: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let grammar_only = std::env::var_os("GRAMMAR_ONLY").is_some();
    let mut paths = Vec::new();
    collect(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus")),
        &mut paths,
    );
    paths.sort();
    let texts: Vec<String> = paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    let start = std::time::Instant::now();
    let mut accepted = 0usize;
    for _ in 0..passes {
        for text in &texts {
            let text = std::hint::black_box(text.as_str());
            let ok = if grammar_only {
                kiln::syntax::grammar_accepts(text)
            } else {
                kiln::syntax::parse(FileId(0), text).is_ok()
            };
            accepted += usize::from(ok);
        }
    }
    let bytes: usize = texts.iter().map(String::len).sum();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} files, {accepted} accepted over {passes} passes, {:.1} MB/s",
        texts.len(),
        (bytes * passes) as f64 / secs / 1e6
    );
}
