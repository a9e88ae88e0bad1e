//! `cargo bench --bench plan`: compile a generated template of N amazon-ebs sources, each with
//! 3 `ami_regions` and 5 provisioners and publishing to one release, into its build graph, for
//! N = 1,000 and 10,000; print the time (best of 3) and peak memory, and the time each view
//! takes to render the 10,000-source graph. The goal: under 1 s and 500 MB for 10,000 sources.

use kiln::config::{self, LoadOptions};
use kiln::plan::{self, render, PlanOptions};
use kiln::source::SourceMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

fn main() {
    let scratch = std::env::temp_dir().join(format!("kiln-plan-bench-{}", std::process::id()));
    println!("compile N sources x 3 ami_regions x 5 provisioners (best of 3):");
    println!("| sources | steps | edges | load | compile | compile per source | peak RSS |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut per_source = Vec::new();
    let mut big = None;
    for n in [1_000, 10_000] {
        let dir = scratch.join(n.to_string());
        std::fs::create_dir_all(&dir).expect("scratch directory");
        std::fs::write(dir.join("fleet.pkr.hcl"), template(n)).expect("template");
        let options = LoadOptions {
            path: dir.clone(),
            timestamp: "2026-11-24T12:00:00Z".into(),
            cwd: dir.clone(),
            ..LoadOptions::default()
        };
        let mut sources = SourceMap::new();
        let start = Instant::now();
        let (template, diags) = config::load(&mut sources, &options);
        let load = start.elapsed();
        let template = template
            .filter(|_| !kiln::diagnostic::has_errors(&diags))
            .unwrap_or_else(|| panic!("{diags:?}"));
        let mut best = Duration::MAX;
        let mut graph = None;
        for _ in 0..3 {
            drop(graph.take());
            let start = Instant::now();
            let compiled =
                plan::compile(&template, &PlanOptions::default()).expect("the template compiles");
            best = best.min(start.elapsed());
            graph = Some(compiled);
        }
        let graph = graph.expect("compiled");
        let peak = peak_rss_mb();
        println!(
            "| {n} | {} | {} | {:.0} ms | {:.0} ms | {:.1} µs | {peak:.0} MB |",
            graph.len(),
            graph.edges().len(),
            load.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e6 / n as f64,
        );
        per_source.push(best.as_secs_f64() / n as f64);
        if n == 10_000 {
            assert!(
                best < Duration::from_secs(1),
                "compiling 10,000 sources took {best:?}"
            );
            assert!(peak < 500.0, "peak memory {peak:.0} MB");
            big = Some((graph, sources));
        }
    }
    println!(
        "\ncost per source at 10k / at 1k: {:.2} (1.00 is linear)",
        per_source[1] / per_source[0]
    );
    let (graph, sources) = big.expect("the 10k graph");
    println!("\nrender the 10,000-source graph ({} steps):", graph.len());
    println!("| format | time | output |");
    println!("| --- | --- | --- |");
    for format in render::Format::ALL {
        let start = Instant::now();
        let out = render::render(&graph, format, &sources);
        let took = start.elapsed();
        let size = out.as_ref().map_or_else(
            |e| format!("failed: {e}"),
            |s| format!("{:.1} MB", s.len() as f64 / 1e6),
        );
        println!("| {format} | {:.0} ms | {size} |", took.as_secs_f64() * 1e3);
    }
    println!("\npeak RSS of the whole run: {:.0} MB", peak_rss_mb());
    let _ = std::fs::remove_dir_all(&scratch);
}

/// A template with `n` sources in one build, each copied to 3 regions, 5 provisioners, and a
/// publish step feeding one release.
fn template(n: usize) -> String {
    let mut t = String::from(
        "variable \"copy_to\" {\n  type    = list(string)\n  default = [\"eu-west-1\", \"ap-south-1\", \"sa-east-1\"]\n}\n\n",
    );
    for i in 0..n {
        let _ = write!(
            t,
            "source \"amazon-ebs\" \"s{i}\" {{\n  ami_name      = \"fleet-{i}-{{{{timestamp}}}}\"\n  instance_type = \"t3.micro\"\n  region        = \"us-east-1\"\n  source_ami    = \"ami-0123456789abcdef0\"\n  ssh_username  = \"ubuntu\"\n  ami_regions   = var.copy_to\n}}\n\n"
        );
    }
    t.push_str("build {\n  name = \"fleet\"\n  sources = [\n");
    for i in 0..n {
        let _ = writeln!(t, "    \"source.amazon-ebs.s{i}\",");
    }
    t.push_str("  ]\n");
    for p in 0..5 {
        let _ = write!(t, "\n  provisioner \"shell\" {{\n    inline = [\"echo step {p} on ${{source.name}}\"]\n  }}\n");
    }
    t.push_str("\n  post-processor \"hcp-packer-publish\" {\n    bucket_name  = \"acme\"\n    product_name = \"fleet\"\n    release_name = \"v1\"\n  }\n}\n");
    t
}

/// The process's peak resident set size (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
