//! Parser throughput against hcl-edit, and `validate -syntax-only` wall time against packer.
//!
//! Run with `cargo build --release && cargo bench --bench parse`: the wall-time part spawns the
//! release `kiln` binary and is skipped when it has not been built.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kiln::source::FileId;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/seed-template.pkr.hcl"
);

/// Time one round should take; with `ROUNDS` rounds each parser runs for at least 2 s.
const ROUND_TARGET: Duration = Duration::from_millis(500);
const ROUNDS: usize = 5;
const KILN_SPAWNS: usize = 50;
const PACKER_SPAWNS: usize = 20;

fn main() {
    println!("kiln parse bench: run `cargo build --release` first so the CLI wall-time part has a binary");
    println!();

    let files = load_corpus(Path::new(CORPUS));
    let (accepted, rejected) = split_accepted(&files);
    print_rejected(&files, &rejected);

    let texts: Vec<&str> = accepted.iter().map(|&i| files[i].1.as_str()).collect();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    let (kiln_best, hcl_best) = race(&texts);
    print_table(texts.len(), bytes, kiln_best, hcl_best);

    println!();
    time_kiln_cli();
    time_packer_cli();
}

/// Every `*.hcl` file under `dir`, sorted by path so runs compare.
fn load_corpus(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut paths = Vec::new();
    collect_hcl(dir, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| match std::fs::read_to_string(&path) {
            Ok(text) => Some((path, text)),
            Err(err) => {
                println!("skipping {}: {err}", path.display());
                None
            }
        })
        .collect()
}

fn collect_hcl(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            println!("cannot read {}: {err}", dir.display());
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_hcl(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "hcl") {
            out.push(path);
        }
    }
}

/// Which parsers turned a file down.
struct Rejection {
    index: usize,
    kiln: bool,
    hcl_edit: bool,
}

/// Indices of files both parsers accept, and the rest with who rejected them.
fn split_accepted(files: &[(PathBuf, String)]) -> (Vec<usize>, Vec<Rejection>) {
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for (index, (_, text)) in files.iter().enumerate() {
        let kiln = kiln::syntax::parse(FileId(0), text).is_err();
        let hcl_edit = hcl_edit::parser::parse_body(text).is_err();
        if kiln || hcl_edit {
            rejected.push(Rejection {
                index,
                kiln,
                hcl_edit,
            });
        } else {
            accepted.push(index);
        }
    }
    (accepted, rejected)
}

fn print_rejected(files: &[(PathBuf, String)], rejected: &[Rejection]) {
    println!(
        "corpus: {} files, {} excluded from both sides",
        files.len(),
        rejected.len()
    );
    for r in rejected {
        let by = match (r.kiln, r.hcl_edit) {
            (true, true) => "kiln and hcl-edit",
            (true, false) => "kiln",
            _ => "hcl-edit",
        };
        let path = &files[r.index].0;
        let shown = path.strip_prefix(CORPUS).unwrap_or(path);
        println!("  rejected by {by}: {}", shown.display());
    }
    println!();
}

fn parse_all_kiln(texts: &[&str]) {
    for text in texts {
        let _ = black_box(kiln::syntax::parse(FileId(0), black_box(text)));
    }
}

fn parse_all_hcl_edit(texts: &[&str]) {
    for text in texts {
        let _ = black_box(hcl_edit::parser::parse_body(black_box(text)));
    }
}

/// Best time for one pass over `texts`, per parser: rounds alternate between the two so that
/// drift in machine load hits both alike.
fn race(texts: &[&str]) -> (Duration, Duration) {
    let parsers: [fn(&[&str]); 2] = [parse_all_kiln, parse_all_hcl_edit];
    let iterations = parsers.map(|parse| {
        // One warm-up pass, then as many passes as fill a round.
        parse(texts);
        let start = Instant::now();
        parse(texts);
        let once = start.elapsed().max(Duration::from_micros(1));
        (ROUND_TARGET.as_secs_f64() / once.as_secs_f64()).ceil() as usize
    });
    let mut best = [Duration::MAX; 2];
    for _ in 0..ROUNDS {
        for (which, parse) in parsers.iter().enumerate() {
            let start = Instant::now();
            for _ in 0..iterations[which] {
                parse(texts);
            }
            let per_pass = start.elapsed() / iterations[which] as u32;
            best[which] = best[which].min(per_pass);
        }
    }
    (best[0], best[1])
}

fn print_table(files: usize, bytes: usize, kiln_best: Duration, hcl_best: Duration) {
    let mb = bytes as f64 / 1e6;
    let rate = |d: Duration| mb / d.as_secs_f64();
    println!(
        "{:<10} {:>6} {:>9} {:>10} {:>9}",
        "parser", "files", "total MB", "best pass", "MB/s"
    );
    for (name, best) in [("kiln", kiln_best), ("hcl-edit", hcl_best)] {
        println!(
            "{:<10} {:>6} {:>9.3} {:>8.2}ms {:>9.1}",
            name,
            files,
            mb,
            best.as_secs_f64() * 1e3,
            rate(best)
        );
    }
    println!(
        "throughput ratio kiln/hcl-edit: {:.2}x (best of {ROUNDS} rounds, >= {:.1} s per parser)",
        rate(kiln_best) / rate(hcl_best),
        ROUND_TARGET.as_secs_f64() * ROUNDS as f64
    );
}

/// The release binary beside this bench's own build (`target/release/deps/parse-*`).
fn kiln_binary() -> PathBuf {
    let beside = std::env::current_exe().ok().and_then(|exe| {
        exe.parent()
            .and_then(Path::parent)
            .map(|release| release.join("kiln"))
    });
    beside
        .filter(|p| p.is_file())
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/kiln"))
}

fn time_kiln_cli() {
    let binary = kiln_binary();
    if !binary.is_file() {
        println!(
            "kiln validate: skipped, {} is absent (run `cargo build --release`)",
            binary.display()
        );
        return;
    }
    let mut command = Command::new(&binary);
    command.args(["validate", "-syntax-only", SEED]);
    report_wall_time(
        "kiln validate -syntax-only",
        &mut command,
        KILN_SPAWNS,
        &binary,
    );
}

fn time_packer_cli() {
    let Some(packer) = find_on_path("packer") else {
        println!("packer validate: skipped, `packer` is not on PATH");
        return;
    };
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(err) => {
            println!("packer validate: skipped, no temp dir: {err}");
            return;
        }
    };
    let seed = dir.path().join("seed-template.pkr.hcl");
    if let Err(err) = std::fs::copy(SEED, &seed) {
        println!("packer validate: skipped, cannot copy the seed: {err}");
        return;
    }
    let mut command = Command::new(&packer);
    command
        .args(["validate", "-syntax-only"])
        .arg(&seed)
        .current_dir(dir.path())
        // No update check: it would add a network round trip to every run.
        .env("CHECKPOINT_DISABLE", "1");
    report_wall_time(
        "packer validate -syntax-only",
        &mut command,
        PACKER_SPAWNS,
        &packer,
    );
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Spawn `command` `runs` times (after one warm-up) and print median and min wall time.
fn report_wall_time(label: &str, command: &mut Command, runs: usize, binary: &Path) {
    command.stdout(Stdio::null()).stderr(Stdio::null());
    let warm_up = match command.status() {
        Ok(status) => status,
        Err(err) => {
            println!("{label}: skipped, cannot run {}: {err}", binary.display());
            return;
        }
    };
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let status = command.status();
        times.push(start.elapsed());
        if status.is_err() {
            println!("{label}: stopped, the command failed to start");
            return;
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let exit = match warm_up.code() {
        Some(0) => String::new(),
        Some(code) => format!(", exit code {code}: the timing covers a rejection"),
        None => ", killed by a signal".to_string(),
    };
    println!(
        "{label}: median {:.2} ms, min {:.2} ms over {runs} runs ({}{exit})",
        ms(times[times.len() / 2]),
        ms(times[0]),
        binary.display()
    );
}
