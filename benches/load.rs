//! `cargo bench --bench load`: load and evaluate every corpus template directory in memory
//! order, and time `kiln validate` against `packer validate` on the seed template.
//!
//! Build the release binary first (`cargo build --release`) for the process timings.

use kiln::config::{self, LoadOptions};
use kiln::source::SourceMap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../shared/corpus");
    let scratch = tempfile_dir();
    let dirs = regroup(&corpus, &scratch);
    let bytes: u64 = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .sum();
    let options = |path: &Path| LoadOptions {
        path: path.to_path_buf(),
        timestamp: "2026-11-24T12:00:00Z".into(),
        cwd: path.to_path_buf(),
        allow_unset: true,
        ..LoadOptions::default()
    };
    // Warm up, and count what loads.
    let mut loaded = 0;
    for d in &dirs {
        let mut sources = SourceMap::new();
        if config::load(&mut sources, &options(d)).0.is_some() {
            loaded += 1;
        }
    }
    let mut best = Duration::MAX;
    let rounds = 5;
    for _ in 0..rounds {
        let start = Instant::now();
        for d in &dirs {
            let mut sources = SourceMap::new();
            let (t, _) = config::load(&mut sources, &options(d));
            if let Some(t) = t {
                std::hint::black_box(t);
            }
        }
        best = best.min(start.elapsed());
    }
    let secs = best.as_secs_f64();
    println!("load + evaluate + check every corpus directory (best of {rounds}):");
    println!("| directories | loaded | MB | wall | directories/s | MB/s |");
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| {} | {} | {:.2} | {:.1} ms | {:.0} | {:.1} |",
        dirs.len(),
        loaded,
        bytes as f64 / 1e6,
        secs * 1e3,
        dirs.len() as f64 / secs,
        bytes as f64 / 1e6 / secs
    );

    // Process wall time of validate: kiln on the seed, and Packer 1.6.6 on the same template
    // without its `packer {}` block (1.6.6 predates `required_plugins`).
    let seed = std::fs::read_to_string(root.join("../shared/seed-template.pkr.hcl"))
        .expect("seed template");
    let seed_path = scratch.join("seed.pkr.hcl");
    std::fs::write(&seed_path, &seed).expect("write seed");
    let legacy = scratch.join("legacy");
    std::fs::create_dir_all(&legacy).expect("dir");
    let without_packer_block = seed
        .split("\nsource ")
        .skip(1)
        .map(|s| format!("\nsource {s}"))
        .collect::<String>();
    std::fs::write(legacy.join("seed.pkr.hcl"), without_packer_block).expect("write legacy seed");
    let kiln = root.join("target/release/kiln");
    println!();
    println!("| command | median | min |");
    println!("| --- | --- | --- |");
    if kiln.exists() {
        let (med, min) = time_process(&kiln, &["validate", seed_path.to_str().unwrap()], 50);
        println!("| kiln validate seed | {med:.1} ms | {min:.1} ms |");
        let (med, min) = time_process(
            &kiln,
            &["validate", legacy.join("seed.pkr.hcl").to_str().unwrap()],
            50,
        );
        println!("| kiln validate seed (no packer block) | {med:.1} ms | {min:.1} ms |");
    } else {
        println!("| kiln | (build target/release/kiln first) | |");
    }
    match which("packer") {
        Some(packer) => {
            let (med, min) = time_process(
                &packer,
                &["validate", legacy.join("seed.pkr.hcl").to_str().unwrap()],
                20,
            );
            println!(
                "| packer 1.6.6 validate seed (no packer block) | {med:.1} ms | {min:.1} ms |"
            );
        }
        None => println!("| packer | not installed (apt-get install packer) | |"),
    }
    chained_locals(&scratch, &kiln);
    let _ = std::fs::remove_dir_all(&scratch);
}

/// Locals each reading the one before (`l{i} = local.l{i-1} + 1`): loading must stay linear in
/// their number. Packer 1.6.6 validates the same file as the peer; it gives up on long chains
/// (its evaluation makes a fixed number of passes), which the table says.
fn chained_locals(scratch: &Path, kiln: &Path) {
    println!();
    println!("| chained locals | kiln load (in memory, best of 3) | kiln validate (process) | packer 1.6.6 validate |");
    println!("| --- | --- | --- | --- |");
    let packer = which("packer");
    for n in [1_000, 4_000, 16_000] {
        let dir = scratch.join(format!("locals-{n}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut text = String::from("locals {\n  l0 = 1\n");
        for i in 1..n {
            text.push_str(&format!("  l{i} = local.l{} + 1\n", i - 1));
        }
        text.push_str("}\n\nsource \"null\" \"x\" {\n  communicator = \"none\"\n}\n\nbuild {\n  sources = [\"source.null.x\"]\n}\n");
        let file = dir.join("t.pkr.hcl");
        std::fs::write(&file, text).expect("write");
        let options = LoadOptions {
            path: file.clone(),
            timestamp: "2026-11-24T12:00:00Z".into(),
            cwd: dir.clone(),
            ..LoadOptions::default()
        };
        let best = (0..3)
            .map(|_| {
                let start = Instant::now();
                let mut sources = SourceMap::new();
                std::hint::black_box(config::load(&mut sources, &options));
                start.elapsed()
            })
            .min()
            .unwrap_or_default();
        let args = ["validate", file.to_str().expect("a UTF-8 path")];
        let process = if kiln.exists() {
            format!("{:.1} ms", time_process(kiln, &args, 3).0)
        } else {
            "(build target/release/kiln first)".into()
        };
        let peer = match &packer {
            Some(packer) => {
                let ok = Command::new(packer)
                    .args(args)
                    .env("CHECKPOINT_DISABLE", "1")
                    .output()
                    .is_ok_and(|o| o.status.success());
                let (med, _) = time_process(packer, &args, 3);
                if ok {
                    format!("{med:.1} ms")
                } else {
                    format!("fails after {med:.1} ms")
                }
            }
            None => "not installed".into(),
        };
        println!(
            "| {n} | {:.1} ms | {process} | {peer} |",
            best.as_secs_f64() * 1e3
        );
    }
}

fn time_process(bin: &Path, args: &[&str], runs: usize) -> (f64, f64) {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let _ = Command::new(bin)
                .args(args)
                .env("CHECKPOINT_DISABLE", "1")
                .output();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[runs / 2], times[0])
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-bench-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Rebuild the corpus's original directories (INDEX.tsv maps stored files to original paths).
fn regroup(corpus: &Path, scratch: &Path) -> Vec<PathBuf> {
    let index = std::fs::read_to_string(corpus.join("INDEX.tsv")).expect("corpus index");
    let mut groups: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            continue;
        }
        let original = Path::new(cols[2]);
        let dir = original
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let base = original
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        groups
            .entry((cols[1].to_string(), dir))
            .or_default()
            .push((cols[0].to_string(), base));
    }
    let mut out = Vec::new();
    for (i, files) in groups.values().enumerate() {
        if !files
            .iter()
            .any(|(_, b)| b.ends_with(".pkr.hcl") || b.ends_with(".pkr.json"))
        {
            continue;
        }
        let d = scratch.join(format!("d{i}"));
        std::fs::create_dir_all(&d).expect("dir");
        for (stored, base) in files {
            let _ = std::fs::copy(corpus.join(stored), d.join(base));
        }
        out.push(d);
    }
    out
}
