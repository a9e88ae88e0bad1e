//! `cargo bench --bench exec`: the scheduler's own cost. A generated template of 20,000 `null`
//! sources with 4 provisioners each compiles to 100,000 steps; the tokio scheduler walks them
//! with a visitor that does nothing, so what is measured is readiness tracking, session
//! bookkeeping and task spawning. The peer in the same run is the bare [`Walker`] driven in a
//! loop with no tasks at all. Target: 100,000 no-op steps in under 1 s.

use kiln::config::{self, LoadOptions};
use kiln::exec::{scheduler, Limits, StepFuture, Visitor};
use kiln::plan::{self, Outcome, PlanOptions, Walker};
use kiln::source::SourceMap;
use petgraph::graph::NodeIndex;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

struct NoOp;

impl Visitor for NoOp {
    fn visit(self: Arc<Self>, _node: NodeIndex, _cancel: CancellationToken) -> StepFuture {
        Box::pin(async { Ok(()) })
    }
}

fn main() {
    let sources = 20_000;
    let dir = std::env::temp_dir().join(format!("kiln-exec-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    std::fs::write(dir.join("t.pkr.hcl"), template(sources)).expect("template");
    let options = LoadOptions {
        path: dir.clone(),
        timestamp: "2026-11-24T12:00:00Z".into(),
        cwd: dir.clone(),
        ..LoadOptions::default()
    };
    let mut map = SourceMap::new();
    let (template, diags) = config::load(&mut map, &options);
    let template = template
        .filter(|_| !kiln::diagnostic::has_errors(&diags))
        .unwrap_or_else(|| panic!("{diags:?}"));
    let graph = plan::compile(&template, &PlanOptions::default()).expect("compiles");
    println!(
        "walk {} no-op steps of {sources} sessions (best of 5):",
        graph.len()
    );
    println!("| walker | limit | time | per step |");
    println!("| --- | --- | --- | --- |");

    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let mut walker = Walker::new(&graph);
        loop {
            let ready = walker.take_ready();
            if ready.is_empty() {
                break;
            }
            for n in ready {
                walker.finish(n, Outcome::Succeeded);
            }
        }
        best = best.min(start.elapsed());
    }
    row("bare Walker loop (peer)", "-", best, graph.len());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    for limit in [0, 10] {
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let limits = Limits {
                parallel_builds: limit,
                ..Limits::default()
            };
            let start = Instant::now();
            let finished = runtime.block_on(async {
                let (_tx, rx) = tokio::sync::mpsc::unbounded_channel();
                scheduler::run(&graph, Arc::new(NoOp), &limits, rx).await
            });
            best = best.min(start.elapsed());
            assert!(finished.results.iter().all(|r| matches!(r, Some(Ok(())))));
        }
        let label = if limit == 0 {
            "unlimited".to_string()
        } else {
            limit.to_string()
        };
        row("tokio scheduler", &label, best, graph.len());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn row(name: &str, limit: &str, time: Duration, steps: usize) {
    println!(
        "| {name} | {limit} | {:.0} ms | {:.2} µs |",
        time.as_secs_f64() * 1e3,
        time.as_secs_f64() * 1e6 / steps as f64
    );
}

fn template(n: usize) -> String {
    let mut t = String::new();
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        t.push_str(&format!(
            "source \"null\" \"s{i}\" {{\n  communicator = \"none\"\n}}\n"
        ));
        names.push(format!("\"source.null.s{i}\""));
    }
    t.push_str(&format!("build {{\n  sources = [{}]\n", names.join(", ")));
    for p in 0..4 {
        t.push_str(&format!(
            "  provisioner \"shell-local\" {{\n    inline = [\"echo {p}\"]\n  }}\n"
        ));
    }
    t.push_str("}\n");
    t
}
