//! How many sessions and cloud calls run at once.

use super::{build, events, intervals, sleepers, template, Test};
use std::time::{Duration, Instant};

#[test]
fn sources_build_in_parallel() {
    let test = Test::new().write("t.pkr.hcl", sleepers(4, 1));
    let started = Instant::now();
    build(&test, &["build", "-events=ev.json", "t.pkr.hcl"], 0);
    let ev = events(test.dir(), "ev.json");
    let steps = intervals(&ev, "provisioner");
    assert_eq!(steps.len(), 4);
    let last_start = steps.iter().map(|s| s.1).fold(0.0, f64::max);
    let first_end = steps.iter().map(|s| s.2).fold(f64::MAX, f64::min);
    assert!(last_start < first_end, "all four sleeps overlap: {steps:?}");
    // Four one-second sleeps one after another would take four seconds.
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn parallel_builds_one_runs_sessions_one_at_a_time() {
    let test = Test::new().write("t.pkr.hcl", sleepers(3, 1));
    build(
        &test,
        &[
            "build",
            "-parallel-builds=1",
            "-events=ev.json",
            "t.pkr.hcl",
        ],
        0,
    );
    let ev = events(test.dir(), "ev.json");
    let mut steps = intervals(&ev, "provisioner");
    steps.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(steps.len(), 3);
    for pair in steps.windows(2) {
        assert!(
            pair[1].1 >= pair[0].2,
            "a session starts only after the previous one ended: {steps:?}"
        );
    }
}

/// A visitor that records how many steps run at once, per region and per session.
struct Counter {
    graph: std::sync::Arc<kiln::plan::BuildGraph>,
    state: std::sync::Mutex<CounterState>,
}

#[derive(Default)]
struct CounterState {
    regions: std::collections::HashMap<String, (usize, usize)>,
    sessions: std::collections::HashSet<usize>,
    most_sessions: usize,
}

impl kiln::exec::Visitor for Counter {
    fn visit(
        self: std::sync::Arc<Self>,
        node: petgraph::graph::NodeIndex,
        _cancel: tokio_util::sync::CancellationToken,
    ) -> kiln::exec::StepFuture {
        Box::pin(async move {
            let n = self.graph.node(node);
            let region = n
                .region
                .clone()
                .filter(|_| n.kind == kiln::plan::NodeKind::Launch);
            {
                let mut s = self.state.lock().unwrap();
                if let Some(r) = &region {
                    let e = s.regions.entry(r.clone()).or_default();
                    e.0 += 1;
                    e.1 = e.1.max(e.0);
                }
                if let Some(session) = n.session {
                    s.sessions.insert(session);
                    s.most_sessions = s.most_sessions.max(s.sessions.len());
                }
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
            if let Some(r) = &region {
                self.state.lock().unwrap().regions.get_mut(r).unwrap().0 -= 1;
            }
            Ok(())
        })
    }

    fn session_ended(&self, session: usize) {
        self.state.lock().unwrap().sessions.remove(&session);
    }
}

fn run_counted(text: &str, limits: kiln::exec::Limits) -> CounterState {
    let (_template, graph) = crate::plan::compile_text(text, &kiln::plan::PlanOptions::default());
    let graph = std::sync::Arc::new(graph);
    let counter = std::sync::Arc::new(Counter {
        graph: graph.clone(),
        state: Default::default(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let finished = runtime.block_on(async {
        let (_tx, rx) = tokio::sync::mpsc::unbounded_channel();
        kiln::exec::scheduler::run(&graph, counter.clone(), &limits, rx).await
    });
    assert!(finished.results.iter().all(|r| matches!(r, Some(Ok(())))));
    std::sync::Arc::try_unwrap(counter)
        .ok()
        .expect("the run is over")
        .state
        .into_inner()
        .unwrap()
}

/// `per_region` amazon-ebs sources in each region.
fn fleet(regions: &[&str], per_region: usize) -> String {
    let mut sources = Vec::new();
    for region in regions {
        for i in 0..per_region {
            let name = format!("{region}-{i}");
            let body = format!(
                "  region = \"{region}\"\n  source_ami = \"ami-12345678\"\n  instance_type = \"t3.micro\"\n  ssh_username = \"ubuntu\"\n  ami_name = \"{name}\"\n"
            );
            sources.push(("amazon-ebs", name, body));
        }
    }
    template(&sources, "")
}

#[test]
fn cloud_calls_are_bounded_per_region() {
    let state = run_counted(
        &fleet(&["us-east-1", "eu-west-1"], 5),
        kiln::exec::Limits {
            per_region: 2,
            ..Default::default()
        },
    );
    for region in ["us-east-1", "eu-west-1"] {
        assert_eq!(
            state.regions[region].1, 2,
            "{region}: two launches at once, never more"
        );
    }
}

#[test]
fn parallel_builds_bounds_running_sessions() {
    let state = run_counted(
        &fleet(&["us-east-1"], 8),
        kiln::exec::Limits {
            parallel_builds: 3,
            ..Default::default()
        },
    );
    assert_eq!(state.most_sessions, 3);
}
