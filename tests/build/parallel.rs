//! How many sessions and cloud calls run at once, counted at a gate each test opens itself: a
//! step that reaches the gate waits there until the test lets it through, so what is inside at
//! once is what the scheduler allows, whatever the machine's speed.

use super::{null_sources, spawn_kiln, template, wait_with_timeout, Test};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a test waits for what it expects to reach its gate.
const GATE_DEADLINE: Duration = Duration::from_secs(60);

/// `n` null sources whose shell-local provisioner enters the gate folder `gate/` (a directory
/// named after the source), waits for a `go` file in it, and leaves. It gives up on its own
/// after a minute, so a failing test leaves nothing behind.
fn gated(n: usize) -> String {
    let steps = r#"  provisioner "shell-local" {
    inline = [
      "mkdir gate/${source.name}",
      "n=0; until [ -e gate/${source.name}/go ]; do n=$((n+1)); [ $n -lt 1200 ] || exit 9; sleep 0.05; done",
      "rm -r gate/${source.name}",
    ]
  }
"#;
    null_sources(n, steps)
}

/// Let `total` gated provisioners through the gate folder `gate` of a running `kiln`, the ones
/// waiting together once `at_once` of them (or all that are left) are inside. Fails when more
/// than `at_once` are ever inside; returns the most that were.
fn keep_gate(gate: &Path, kiln: &mut Child, total: usize, at_once: usize) -> usize {
    let deadline = Instant::now() + GATE_DEADLINE;
    let mut released = BTreeSet::new();
    let mut most = 0;
    while released.len() < total {
        let inside: BTreeSet<String> = std::fs::read_dir(gate)
            .expect("the gate folder exists")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        most = most.max(inside.len());
        assert!(
            inside.len() <= at_once,
            "more than {at_once} inside the gate at once: {inside:?}"
        );
        let waiting: Vec<String> = inside.difference(&released).cloned().collect();
        if waiting.len() == at_once.min(total - released.len()) {
            for name in waiting {
                std::fs::write(gate.join(&name).join("go"), "").expect("open the gate");
                released.insert(name);
            }
            continue;
        }
        if let Some(status) = kiln.try_wait().expect("kiln's status") {
            panic!("kiln exited ({status}) with {released:?} let through and {inside:?} inside");
        }
        assert!(
            Instant::now() < deadline,
            "waiting for {at_once} at the gate; inside: {inside:?}, let through: {released:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    most
}

/// Build `n` gated sources with `args`, keeping the gate; the most that were inside at once.
fn most_at_gate(n: usize, args: &[&str], at_once: usize) -> usize {
    let test = Test::new().write("t.pkr.hcl", gated(n));
    let dir = test.dir();
    std::fs::create_dir_all(dir.join("gate")).expect("the gate folder");
    let mut kiln = spawn_kiln(dir, args);
    let most = keep_gate(&dir.join("gate"), &mut kiln, n, at_once);
    let (status, stdout) = wait_with_timeout(&mut kiln, GATE_DEADLINE);
    assert_eq!(status, 0, "{stdout}");
    most
}

#[test]
fn sources_build_in_parallel() {
    assert_eq!(most_at_gate(4, &["build", "t.pkr.hcl"], 4), 4);
}

#[test]
fn parallel_builds_one_runs_sessions_one_at_a_time() {
    assert_eq!(
        most_at_gate(3, &["build", "-parallel-builds=1", "t.pkr.hcl"], 1),
        1
    );
}

/// A visitor that holds every launch at a gate the test opens, and records how many sessions
/// run at once.
struct Gate {
    graph: Arc<kiln::plan::BuildGraph>,
    state: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    /// Launches inside the gate: node, region, and the sender that lets it out once taken.
    inside: Vec<(
        petgraph::graph::NodeIndex,
        String,
        Option<tokio::sync::oneshot::Sender<()>>,
    )>,
    sessions: HashSet<usize>,
    most_sessions: usize,
}

impl kiln::exec::Visitor for Gate {
    fn visit(
        self: Arc<Self>,
        node: petgraph::graph::NodeIndex,
        _cancel: tokio_util::sync::CancellationToken,
    ) -> kiln::exec::StepFuture {
        Box::pin(async move {
            let n = self.graph.node(node);
            let (go, wait) = tokio::sync::oneshot::channel();
            {
                let mut s = self.state.lock().unwrap();
                if let Some(session) = n.session {
                    s.sessions.insert(session);
                    s.most_sessions = s.most_sessions.max(s.sessions.len());
                }
                if n.kind != kiln::plan::NodeKind::Launch {
                    return Ok(());
                }
                let region = n.region.clone().expect("an amazon-ebs launch has a region");
                s.inside.push((node, region, Some(go)));
            }
            // Its own deadline, so a failing test leaves no step waiting forever.
            let _ = tokio::time::timeout(GATE_DEADLINE, wait).await;
            self.state
                .lock()
                .unwrap()
                .inside
                .retain(|(n, _, _)| *n != node);
            Ok(())
        })
    }

    fn session_ended(&self, session: usize) {
        self.state.lock().unwrap().sessions.remove(&session);
    }
}

/// Run `text` with `limits`, letting launches through the gate region by region once
/// `at_once` launches of a region (or all it has left) wait there. Fails when a region ever has
/// more than `at_once` inside; returns the most a region had inside at once, and the most
/// sessions that ran at once.
fn run_gated(text: &str, limits: kiln::exec::Limits, at_once: usize) -> (usize, usize) {
    let (_template, graph) = crate::plan::compile_text(text, &kiln::plan::PlanOptions::default());
    let graph = Arc::new(graph);
    let mut left: BTreeMap<String, usize> = BTreeMap::new();
    for (_, n) in graph.nodes() {
        if n.kind == kiln::plan::NodeKind::Launch {
            *left.entry(n.region.clone().expect("a region")).or_default() += 1;
        }
    }
    let gate = Arc::new(Gate {
        graph: graph.clone(),
        state: Default::default(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_interrupts, rx) = tokio::sync::mpsc::unbounded_channel();
    let run = runtime.spawn({
        let (graph, gate) = (graph.clone(), gate.clone());
        async move { kiln::exec::scheduler::run(&graph, gate, &limits, rx).await }
    });
    let deadline = Instant::now() + GATE_DEADLINE;
    let mut most = 0;
    while left.values().any(|n| *n > 0) {
        let mut s = gate.state.lock().unwrap();
        let mut per_region: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, region, _) in &s.inside {
            *per_region.entry(region).or_default() += 1;
        }
        for (region, inside) in &per_region {
            assert!(*inside <= at_once, "{region}: {inside} launches at once");
            most = most.max(*inside);
        }
        let waiting = |region: &str| {
            s.inside
                .iter()
                .filter(|(_, r, go)| r == region && go.is_some())
                .count()
        };
        if left.iter().all(|(r, n)| waiting(r) == at_once.min(*n)) {
            for (_, region, go) in s.inside.iter_mut().filter(|(_, _, go)| go.is_some()) {
                *left.get_mut(region.as_str()).expect("a counted region") -= 1;
                let _ = go.take().expect("still waiting").send(());
            }
            continue;
        }
        drop(s);
        assert!(
            !run.is_finished(),
            "the run ended with launches left: {left:?}"
        );
        assert!(Instant::now() < deadline, "launches left: {left:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let finished = runtime.block_on(run).expect("the run does not panic");
    assert!(finished.results.iter().all(|r| matches!(r, Some(Ok(())))));
    let most_sessions = gate.state.lock().unwrap().most_sessions;
    (most, most_sessions)
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
    let (most, _) = run_gated(
        &fleet(&["us-east-1", "eu-west-1"], 5),
        kiln::exec::Limits {
            per_region: 2,
            ..Default::default()
        },
        2,
    );
    assert_eq!(most, 2, "two launches at once in a region, never more");
}

#[test]
fn parallel_builds_bounds_running_sessions() {
    let (most, most_sessions) = run_gated(
        &fleet(&["us-east-1"], 8),
        kiln::exec::Limits {
            parallel_builds: 3,
            ..Default::default()
        },
        3,
    );
    assert_eq!((most, most_sessions), (3, 3));
}
