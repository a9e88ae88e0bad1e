//! The pipeline's seams: plugins reached only through their table, loading that finishes with
//! every plugin config checked, one walk for a run and a dry run, post-processors in order.

use crate::test::{repo_root, with_snapshots, Test};
use kiln::body::{AttrValue, BlockValue, BodyValue};
use kiln::config::{self, LoadOptions};
use kiln::exec::scheduler::{self, Limits, StepFuture, Visitor};
use kiln::plan::{self, BuildGraph, PlanOptions};
use kiln::plugins::{self, PluginKind, PLUGINS};
use kiln::source::{SourceMap, Span};
use kiln::value::{Map, Value};
use petgraph::graph::NodeIndex;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("source folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The string literals of Rust source, comments left out.
fn string_literals(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'\'' => {
                // A char literal ('x', '\n', '"'); anything else is a lifetime.
                if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else if b.get(i + 2) == Some(&b'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            b'r' if b.get(i + 1) == Some(&b'#') || b.get(i + 1) == Some(&b'"') => {
                let mut j = i + 1;
                while b.get(j) == Some(&b'#') {
                    j += 1;
                }
                if b.get(j) != Some(&b'"')
                    || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
                {
                    i += 1;
                    continue;
                }
                let hashes = j - i - 1;
                let close = format!("\"{}", "#".repeat(hashes));
                let start = j + 1;
                let end = text[start..].find(&close).map_or(b.len(), |e| start + e);
                out.push(text[start..end].to_string());
                i = end + close.len();
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                out.push(text[start..i.min(b.len())].to_string());
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Literals in `src/plan` and `src/exec` that equal a plugin's name but are not about one.
const NOT_PLUGINS: &[(&str, &str)] = &[
    ("src/plan/render/json.rs", "null"), // JSON's null
    ("src/plan/show.rs", "null"),        // HCL's null
    ("src/exec/summary.rs", "file"),     // Packer's machine-readable `artifact,N,file`
];

#[test]
fn plan_and_exec_name_no_plugin() {
    let root = repo_root();
    let names: Vec<&str> = PLUGINS.iter().map(|p| p.name).collect();
    let mut found = Vec::new();
    for folder in ["src/plan", "src/exec"] {
        for file in rust_files(&root.join(folder)) {
            let text = std::fs::read_to_string(&file).expect("readable");
            let rel = file
                .strip_prefix(&root)
                .expect("in the repo")
                .display()
                .to_string();
            for literal in string_literals(&text) {
                let allowed = NOT_PLUGINS.iter().any(|(f, l)| *f == rel && *l == literal);
                if names.contains(&literal.as_str()) && !allowed {
                    found.push(format!("{rel}: \"{literal}\""));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "plugin names outside src/plugins: {found:?}"
    );
    // The scanner itself finds literals and skips comments.
    assert_eq!(
        string_literals("// \"no\"\nlet a = \"yes\"; let c = '\"'; let r = r#\"raw\"#;"),
        ["yes", "raw"]
    );
}

#[test]
fn the_plugin_table_is_what_validate_lists() {
    for kind in PluginKind::ALL {
        let block = match kind {
            PluginKind::Builder => "source \"qemu\" \"x\" {}\nbuild { sources = [\"source.qemu.x\"] }\n",
            PluginKind::Provisioner => "source \"null\" \"x\" { communicator = \"none\" }\nbuild {\n  sources = [\"source.null.x\"]\n  provisioner \"ansible\" {}\n}\n",
            PluginKind::PostProcessor => "source \"null\" \"x\" { communicator = \"none\" }\nbuild {\n  sources = [\"source.null.x\"]\n  post-processor \"vagrant\" {}\n}\n",
            PluginKind::DataSource => "data \"http\" \"x\" {}\n",
        };
        let out = Test::new()
            .write("t.pkr.hcl", block)
            .args(["validate", "t.pkr.hcl"])
            .status(1)
            .run();
        let listed = format!(
            "available {}s: {}",
            kind.noun(),
            plugins::names(kind).join(", ")
        );
        assert!(out.stderr.contains(&listed), "{listed}\n{}", out.stderr);
        let in_table: Vec<&str> = PLUGINS
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.name)
            .collect();
        let mut sorted = in_table.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, plugins::names(kind));
    }
    // `required_plugins` sources come from the table too.
    for (source, provided) in plugins::plugin_sources() {
        for name in provided {
            let plugin = PLUGINS
                .iter()
                .find(|p| p.name == name && p.source == Some(source));
            assert!(plugin.is_some(), "{source} provides {name}");
        }
    }
}

#[test]
fn json_nested_blocks_are_the_plugins_blocks() {
    let span = |n: u32| Span {
        start: n,
        end: n + 1,
        ..Span::default()
    };
    for plugin in PLUGINS {
        for (n, block) in (0u32..).zip(plugin.blocks.iter()) {
            assert!(plugins::nested_blocks().contains(block));
            // Written as a block, the config takes it...
            let as_block = BodyValue {
                blocks: vec![BlockValue {
                    kind: block.to_string(),
                    kind_span: span(n),
                    labels: Vec::new(),
                    body: BodyValue::default(),
                    span: span(n),
                }],
                ..BodyValue::default()
            };
            let (_, diags) = plugins::check(plugin.kind, plugin.name, Span::default(), &as_block);
            assert!(
                !diags.iter().any(|d| d.span == Some(span(n))),
                "{} {}: {diags:?}",
                plugin.name,
                block
            );
            // ...and written as an attribute, it is refused there: it is a block.
            let as_attr = BodyValue {
                attrs: vec![AttrValue {
                    name: block.to_string(),
                    name_span: span(n),
                    value: Value::Object(Map::new()),
                    value_span: span(n),
                }],
                ..BodyValue::default()
            };
            let (_, diags) = plugins::check(plugin.kind, plugin.name, Span::default(), &as_attr);
            assert!(
                diags.iter().any(|d| d.span == Some(span(n))),
                "{} {}: {diags:?}",
                plugin.name,
                block
            );
        }
    }
}

#[test]
fn graph_refuses_a_template_validate_rejects_with_the_same_diagnostics() {
    let text = "source \"file\" \"x\" {\n  contnt = \"x\"\n  target = \"out.txt\"\n}\nbuild { sources = [\"source.file.x\"] }\n";
    let validate = Test::new()
        .write("t.pkr.hcl", text)
        .args(["validate", "-color=false", "t.pkr.hcl"])
        .status(1)
        .run();
    assert!(validate.stderr.contains("contnt"), "{}", validate.stderr);
    let graph = Test::new()
        .write("t.pkr.hcl", text)
        .args(["graph", "-color=false", "t.pkr.hcl"])
        .status(1)
        .run();
    assert_eq!(graph.stderr, validate.stderr);
    assert_eq!(graph.stdout, "");
}

#[test]
fn bad_durations_are_validate_errors_at_their_spans() {
    let text = r#"source "null" "x" {
  ssh_host     = "127.0.0.1"
  ssh_username = "u"
  ssh_password = "p"
  ssh_timeout  = "-5s"
}

build {
  sources = ["source.null.x"]
  provisioner "shell-local" {
    pause_before = "ten seconds"
    inline       = ["true"]
  }
}
"#;
    let out = Test::new()
        .write("t.pkr.hcl", text)
        .args(["validate", "-color=false", "t.pkr.hcl"])
        .status(1)
        .run();
    with_snapshots(|| insta::assert_snapshot!("pipeline__bad_durations", out.stderr));
    assert!(out.stderr.contains("t.pkr.hcl:5:18"), "{}", out.stderr);
    assert!(out.stderr.contains("t.pkr.hcl:11:20"), "{}", out.stderr);
}

#[test]
fn post_processor_blocks_run_one_after_another_in_declared_order() {
    let text = r#"source "null" "x" {
  communicator = "none"
}

build {
  sources = ["source.null.x"]
  post-processor "shell-local" {
    inline = ["sleep 0.3", "echo first > handoff.txt"]
  }
  post-processor "shell-local" {
    inline = ["cat handoff.txt", "echo second >> handoff.txt"]
  }
}
"#;
    let test = Test::new().write("t.pkr.hcl", text);
    let out = test.run_unchecked_with(&["build", "-color=false", "t.pkr.hcl"]);
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("first"), "{}", out.stdout);
    let written = std::fs::read_to_string(test.dir().join("handoff.txt")).expect("written");
    assert_eq!(written, "first\nsecond\n");
}

/// A run's visitor that records which steps the scheduler starts in each round; every step
/// succeeds at once and the runner goes in lockstep, as every step taking the same time.
#[derive(Default)]
struct Recorder {
    rounds: Mutex<Vec<Vec<NodeIndex>>>,
    current: Mutex<Vec<NodeIndex>>,
}

impl Visitor for Recorder {
    fn visit(self: Arc<Self>, _node: NodeIndex, _cancel: CancellationToken) -> StepFuture {
        Box::pin(async { Ok(()) })
    }
    fn started(&self, node: NodeIndex) {
        self.current.lock().unwrap().push(node);
    }
    fn lockstep(&self) -> bool {
        true
    }
    fn settled(&self) {
        let mut round = std::mem::take(&mut *self.current.lock().unwrap());
        round.sort_unstable();
        if !round.is_empty() {
            self.rounds.lock().unwrap().push(round);
        }
    }
}

fn compile(path: &Path) -> BuildGraph {
    let mut sources = SourceMap::new();
    let options = LoadOptions {
        path: path.to_path_buf(),
        timestamp: "2026-01-02T03:04:05Z".into(),
        cwd: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        ..LoadOptions::default()
    };
    let (template, diags) = config::load(&mut sources, &options);
    let template = template.unwrap_or_else(|| panic!("{}: {diags:?}", path.display()));
    plan::compile(&template, &PlanOptions::default()).expect("compiles")
}

/// The waves `kiln build -dry-run` prints: node ids per wave.
fn printed_waves(out: &str) -> Vec<Vec<String>> {
    let mut waves: Vec<Vec<String>> = Vec::new();
    let mut in_wave = false;
    for line in out.lines() {
        if line.starts_with("==> wave ") {
            waves.push(Vec::new());
            in_wave = true;
        } else if line.starts_with("==> ") {
            in_wave = false;
        } else if let (true, Some(rest)) = (in_wave, line.strip_prefix("--> ")) {
            let id = rest.split([' ', ':']).next().unwrap_or(rest);
            // Ids hold `: ` nowhere but may hold brackets and quotes; the summary follows `: `.
            let id = rest
                .split(": ")
                .next()
                .unwrap_or(id)
                .split(" [")
                .next()
                .unwrap_or(id);
            waves.last_mut().expect("a wave").push(id.to_string());
        }
    }
    waves
}

#[test]
fn dry_run_waves_are_the_steps_a_run_starts_together() {
    let examples = repo_root().join("examples");
    for name in [
        "quickstart",
        "post-processor-chains",
        "seed",
        "multi-region",
        "for-each",
    ] {
        let path = examples.join(format!("{name}.pkr.hcl"));
        let graph = compile(&path);
        for parallel_builds in [0, 1, 2] {
            let recorder = Arc::new(Recorder::default());
            let limits = Limits {
                parallel_builds,
                ..Limits::default()
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let (_tx, rx) = tokio::sync::mpsc::unbounded_channel();
            runtime.block_on(scheduler::run(&graph, recorder.clone(), &limits, rx));
            let recorded: Vec<Vec<String>> = recorder
                .rounds
                .lock()
                .unwrap()
                .iter()
                .map(|r| r.iter().map(|n| graph.node(*n).id.clone()).collect())
                .collect();
            let out = Test::new()
                .args([
                    "build".to_string(),
                    "-dry-run".to_string(),
                    format!("-parallel-builds={parallel_builds}"),
                    path.display().to_string(),
                ])
                .run();
            assert_eq!(
                printed_waves(&out.stdout),
                recorded,
                "{name} -parallel-builds={parallel_builds}\n{}",
                out.stdout
            );
            if parallel_builds > 0 {
                for wave in &recorded {
                    let mut sessions: Vec<&str> = wave
                        .iter()
                        .filter_map(|id| id.split_once('/').map(|(s, _)| s))
                        .collect();
                    sessions.sort_unstable();
                    sessions.dedup();
                    assert!(
                        sessions.len() <= parallel_builds,
                        "{name}: {wave:?} runs more than {parallel_builds} sources at once"
                    );
                }
            }
        }
    }
}

#[test]
fn stages_use_only_what_comes_before_them() {
    let root = repo_root();
    // (folder, paths it must not use): plan works from typed configs, never HCL; the runtime
    // evaluates nothing; plugins never reach the runtime or the loader; the body type and its
    // decoder sit below both the loader and the plugins.
    let rules: &[(&str, &[&str])] = &[
        ("src/plan", &["crate::syntax", "crate::eval", "crate::exec"]),
        ("src/exec", &["crate::syntax", "crate::eval"]),
        (
            "src/plugins",
            &["crate::exec", "crate::plan", "crate::config"],
        ),
        (
            "src/body",
            &[
                "crate::config",
                "crate::plugins",
                "crate::plan",
                "crate::exec",
            ],
        ),
    ];
    let mut found = Vec::new();
    for (folder, banned) in rules {
        for file in rust_files(&root.join(folder)) {
            let text = std::fs::read_to_string(&file).expect("readable");
            // Unit tests may build their fixtures with anything.
            let code = text.split("#[cfg(test)]").next().unwrap_or(&text);
            let rel = file
                .strip_prefix(&root)
                .expect("in the repo")
                .display()
                .to_string();
            if rel == "src/plugins/tests.rs" {
                continue;
            }
            for b in *banned {
                if code.contains(b) {
                    found.push(format!("{rel} uses {b}"));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}
