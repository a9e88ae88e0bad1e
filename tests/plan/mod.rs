//! The execution graph: `kiln graph` in every format on the examples, selections, diagnostics,
//! `for_each` sources, the walker's failure policy, `kiln build -dry-run` (and that it touches
//! nothing), and every corpus template kiln can build compiling to a plan.

mod corpus;

use crate::test::{repo_root, with_snapshots, Test};
use kiln::config::{self, LoadOptions, Template};
use kiln::plan::{self, render, BuildGraph, NodeKind, Outcome, PlanOptions, State, Walker};
use kiln::source::SourceMap;
use std::path::{Path, PathBuf};

const EXAMPLES: &[&str] = &[
    "seed",
    "quickstart",
    "multi-region",
    "post-processor-chains",
    "release",
    "for-each",
];
const TEXT_FORMATS: &[&str] = &["text", "dot", "mermaid", "json"];

fn example(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("examples").join(format!("{name}.pkr.hcl")))
        .expect("example template")
}

/// `kiln ARGS... NAME.pkr.hcl` on an example copied into a scratch directory.
fn on_example(name: &str, args: &[&str]) -> Test {
    let file = format!("{name}.pkr.hcl");
    Test::new()
        .write(&file, example(name))
        .args(args.iter().copied())
        .arg(file)
}

/// Load and compile a template held in memory.
pub(crate) fn compile_text(text: &str, options: &PlanOptions) -> (Template, BuildGraph) {
    let dir = tempfile::tempdir().expect("scratch");
    std::fs::write(dir.path().join("t.pkr.hcl"), text).expect("template");
    let (template, diags) = load(dir.path());
    let template = template.unwrap_or_else(|| panic!("the template loads: {diags:?}"));
    let graph = plan::compile(&template, options)
        .unwrap_or_else(|d| panic!("the template compiles: {d:?}"));
    (template, graph)
}

pub(crate) fn load(path: &Path) -> (Option<Template>, Vec<kiln::diagnostic::Diagnostic>) {
    let options = LoadOptions {
        path: path.to_path_buf(),
        timestamp: "2026-11-24T12:00:00Z".into(),
        cwd: path.to_path_buf(),
        ..LoadOptions::default()
    };
    let (template, diags) = config::load(&mut SourceMap::new(), &options);
    let template = if kiln::diagnostic::has_errors(&diags) {
        None
    } else {
        template
    };
    (template, diags)
}

fn ids(graph: &BuildGraph) -> Vec<&str> {
    graph.nodes().map(|(_, n)| n.id.as_str()).collect()
}

fn has_edge(graph: &BuildGraph, from: &str, to: &str) -> bool {
    let (Some(f), Some(t)) = (graph.find(from), graph.find(to)) else {
        return false;
    };
    graph.successors(f).contains(&t)
}

#[test]
fn example_graphs_in_every_text_format() {
    with_snapshots(|| {
        for name in EXAMPLES {
            for format in TEXT_FORMATS {
                let out = on_example(name, &["graph", &format!("-format={format}")]).run();
                assert_eq!(out.stderr, "", "{name} {format}");
                insta::assert_snapshot!(format!("plan__{name}.{format}"), out.stdout);
            }
        }
    });
}

#[test]
fn the_seed_graph_is_the_one_in_the_design() {
    let (_, graph) = compile_text(&example("seed"), &PlanOptions::default());
    let s = "amazon-ebs.my-ami";
    let chain = [
        format!("{s}/source-ami"),
        format!("{s}/launch"),
        format!("{s}/provisioner[0].shell"),
        format!("{s}/capture"),
        format!("{s}/post-processor[0].hcp-packer-publish"),
        "release[my-hcp-packer-bucket/my-product/my-release]".to_string(),
    ];
    for pair in chain.windows(2) {
        assert!(
            has_edge(&graph, &pair[0], &pair[1]),
            "{} -> {}",
            pair[0],
            pair[1]
        );
    }
    assert!(has_edge(
        &graph,
        &format!("{s}/capture"),
        &format!("{s}/cleanup")
    ));
    assert_eq!(graph.len(), 7, "{:?}", ids(&graph));
    let launch = graph.node(graph.find(&format!("{s}/launch")).expect("launch"));
    assert_eq!(
        (launch.kind, launch.region.as_deref()),
        (NodeKind::Launch, Some("us-east-1"))
    );
}

#[test]
fn copies_run_in_parallel_and_post_processors_wait_for_every_copy() {
    let (_, graph) = compile_text(&example("multi-region"), &PlanOptions::default());
    for session in ["web.amazon-ebs.east", "web.amazon-ebs.west"] {
        for region in ["eu-west-1", "ap-southeast-2"] {
            let copy = format!("{session}/copy[{region}]");
            assert!(
                has_edge(&graph, &format!("{session}/capture"), &copy),
                "{copy}"
            );
            assert!(
                has_edge(
                    &graph,
                    &copy,
                    &format!("{session}/post-processor[0].manifest")
                ),
                "{copy}"
            );
        }
    }
    assert!(!has_edge(
        &graph,
        "web.amazon-ebs.east/copy[eu-west-1]",
        "web.amazon-ebs.east/copy[ap-southeast-2]"
    ));
    // Two independent branches: nothing of one session waits for the other.
    let (waves, _) = kiln::exec::dry_run::waves(&graph, &Default::default());
    assert_eq!(waves[0].len(), 2, "both sessions start at once");
}

#[test]
fn a_copy_to_the_build_region_is_skipped_and_regions_deduplicated() {
    let text = r#"
source "amazon-ebs" "a" {
  ami_name      = "image-a"
  instance_type = "t3.micro"
  source_ami    = "ami-1"
  ssh_username  = "ubuntu"
  region        = "us-east-1"
  ami_regions   = ["us-east-1", "eu-west-1", "eu-west-1"]
}
build { sources = ["source.amazon-ebs.a"] }
"#;
    let (_, graph) = compile_text(text, &PlanOptions::default());
    let copies: Vec<&str> = ids(&graph)
        .into_iter()
        .filter(|i| i.contains("/copy["))
        .collect();
    assert_eq!(copies, ["amazon-ebs.a/copy[eu-west-1]"]);
}

#[test]
fn one_release_waits_for_every_source_that_publishes_to_it() {
    let (_, graph) = compile_text(&example("release"), &PlanOptions::default());
    assert_eq!(graph.releases().len(), 1);
    let release = &graph.releases()[0];
    assert_eq!(release.key.path(), "acme/web-server/v1.1.0");
    let publishers: Vec<&str> = release
        .publishers
        .iter()
        .map(|p| graph.node(*p).id.as_str())
        .collect();
    assert_eq!(
        publishers,
        [
            "release.amazon-ebs.east/post-processor[0].hcp-packer-publish",
            "release.amazon-ebs.west/post-processor[0].hcp-packer-publish"
        ]
    );
    assert_eq!(graph.predecessors(release.node), release.publishers);
    // The data source feeds the provisioners that read it.
    assert!(has_edge(
        &graph,
        "data.hcp-packer-version.base",
        "release.amazon-ebs.east/provisioner[0].shell"
    ));
}

#[test]
fn keep_input_artifact_decides_what_is_deleted() {
    let (_, graph) = compile_text(&example("post-processor-chains"), &PlanOptions::default());
    let all = ids(&graph);
    // The only chain of `scratch` drops its input, so the builder's artifact goes afterwards.
    assert!(has_edge(
        &graph,
        "scratch.null.app/post-processor[0].shell-local",
        "scratch.null.app/discard"
    ));
    // `chains` keeps it: the checksum says so.
    assert!(
        !all.iter()
            .any(|i| i.starts_with("chains.") && i.ends_with("/discard")),
        "{all:?}"
    );
    let second = graph.node(
        graph
            .find("chains.null.app/post-processors[0][1].shell-local")
            .expect("chain step"),
    );
    assert!(
        second.summary.contains("deletes its input artifact"),
        "{}",
        second.summary
    );
    // Post-processor blocks run one after another in declared order, as in Packer; so do
    // the steps of one chain.
    assert!(has_edge(
        &graph,
        "chains.null.app/post-processors[0][0].checksum",
        "chains.null.app/post-processors[0][1].shell-local"
    ));
    assert!(has_edge(
        &graph,
        "chains.null.app/post-processors[0][1].shell-local",
        "chains.null.app/post-processor[1].manifest"
    ));
    // only/except on provisioners and post-processors.
    assert!(all.contains(&"chains.null.app/provisioner[1].shell-local"));
    assert!(!all.contains(&"chains.null.docs/provisioner[1].shell-local"));
    assert!(!all.contains(&"chains.null.docs/post-processor[1].manifest"));
}

#[test]
fn a_failed_step_skips_its_descendants_but_never_cleanup_or_other_branches() {
    let (_, graph) = compile_text(&example("multi-region"), &PlanOptions::default());
    let mut walker = Walker::new(&graph);
    let failing = graph
        .find("web.amazon-ebs.east/provisioner[0].shell")
        .expect("provisioner");
    while !walker.is_finished() {
        let ready = walker.take_ready();
        assert!(!ready.is_empty(), "the walk never stalls");
        for n in ready {
            walker.finish(
                n,
                if n == failing {
                    Outcome::Failed
                } else {
                    Outcome::Succeeded
                },
            );
        }
    }
    let state = |id: &str| walker.state(graph.find(id).unwrap_or_else(|| panic!("{id}")));
    assert_eq!(
        state("web.amazon-ebs.east/provisioner[0].shell"),
        State::Failed
    );
    for skipped in [
        "provisioner[1].file",
        "capture",
        "copy[eu-west-1]",
        "post-processor[0].manifest",
    ] {
        assert_eq!(
            state(&format!("web.amazon-ebs.east/{skipped}")),
            State::Skipped,
            "{skipped}"
        );
    }
    assert_eq!(state("web.amazon-ebs.east/cleanup"), State::Succeeded);
    assert_eq!(
        state("web.amazon-ebs.west/post-processor[0].manifest"),
        State::Succeeded
    );
}

#[test]
fn the_error_cleanup_provisioner_runs_only_when_a_provisioner_fails() {
    let (_, graph) = compile_text(&example("post-processor-chains"), &PlanOptions::default());
    let cleanup = "chains.null.app/error-cleanup-provisioner.shell-local";
    let (_, never) = kiln::exec::dry_run::waves(&graph, &Default::default());
    assert!(never.contains(&graph.find(cleanup).expect("error cleanup")));
    let mut walker = Walker::new(&graph);
    let failing = graph
        .find("chains.null.app/provisioner[1].shell-local")
        .expect("provisioner");
    while !walker.is_finished() {
        for n in walker.take_ready() {
            walker.finish(
                n,
                if n == failing {
                    Outcome::Failed
                } else {
                    Outcome::Succeeded
                },
            );
        }
    }
    assert_eq!(
        walker.state(graph.find(cleanup).expect("error cleanup")),
        State::Succeeded
    );
    let docs = graph
        .find("chains.null.docs/error-cleanup-provisioner.shell-local")
        .expect("docs cleanup");
    assert_eq!(walker.state(docs), State::Skipped);
}

#[test]
fn only_and_except_select_with_packers_globs() {
    with_snapshots(|| {
        let only = on_example("multi-region", &["graph", "-only=web.*east"]).run();
        insta::assert_snapshot!("plan__multi-region.only-east", only.stdout);
        // -except removes builds, and post-processors by name or type (with the rest of their chain).
        let except = on_example("multi-region", &["graph", "-except=*.west,manifest"]).run();
        insta::assert_snapshot!("plan__multi-region.except-west-and-manifest", except.stdout);
        let chains = on_example(
            "post-processor-chains",
            &["graph", "-except=checksum,scratch.*"],
        )
        .run();
        insta::assert_snapshot!("plan__post-processor-chains.except-checksum", chains.stdout);
        let warned = on_example(
            "multi-region",
            &["graph", "-only=web.amazon-ebs.east", "-only=nothing"],
        )
        .run();
        assert!(warned.stdout.contains("web.amazon-ebs.east"));
        insta::assert_snapshot!("plan__only-partly-unmatched.stderr", warned.stderr);
        let instance = on_example(
            "for-each",
            &["graph", "-only=fleet.amazon-ebs.web[\"us-east-1\"]"],
        )
        .run();
        assert!(
            instance
                .stdout
                .contains("fleet.amazon-ebs.web[\"us-east-1\"]"),
            "{}",
            instance.stdout
        );
        assert!(
            !instance.stdout.contains("eu-west-1"),
            "{}",
            instance.stdout
        );
    });
}

#[test]
fn selection_and_template_errors_are_diagnostics() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "unknown-source",
            "source \"null\" \"app\" {\n  communicator = \"none\"\n}\n\nbuild {\n  sources = [\"source.null.ap\"]\n}\n",
            &[],
        ),
        (
            "duplicate-source",
            "source \"null\" \"app\" {\n  communicator = \"none\"\n}\n\nsource \"null\" \"app\" {\n  communicator = \"none\"\n}\n\nbuild {\n  sources = [\"source.null.app\"]\n}\n",
            &[],
        ),
        (
            "source-used-twice",
            "source \"null\" \"app\" {\n  communicator = \"none\"\n}\n\nbuild {\n  sources = [\"source.null.app\", \"source.null.app\"]\n}\n",
            &[],
        ),
        ("build-without-sources", "build {\n  name = \"empty\"\n}\n", &[]),
        (
            "for-each-list",
            "source \"null\" \"app\" {\n  for_each     = [\"a\", \"b\"]\n  communicator = \"none\"\n}\n\nbuild {\n  sources = [\"source.null.app\"]\n}\n",
            &[],
        ),
        (
            "for-each-number",
            "source \"null\" \"app\" {\n  for_each     = 3\n  communicator = \"none\"\n}\n\nbuild {\n  sources = [\"source.null.app\"]\n}\n",
            &[],
        ),
        (
            "for-each-unknown",
            "data \"amazon-ami\" \"base\" {\n  filters = { name = \"x\" }\n  owners  = [\"self\"]\n  region  = \"us-east-1\"\n}\n\nsource \"null\" \"app\" {\n  for_each     = data.amazon-ami.base.tags\n  communicator = \"none\"\n}\n\nbuild {\n  sources = [\"source.null.app\"]\n}\n",
            &[],
        ),
    ];
    with_snapshots(|| {
        for (name, text, flags) in cases {
            let out = Test::new()
                .write("t.pkr.hcl", *text)
                .arg("graph")
                .args(flags.iter().copied())
                .arg("t.pkr.hcl")
                .status(1)
                .run();
            assert_eq!(out.stdout, "", "{name}");
            insta::assert_snapshot!(format!("plan__error.{name}"), out.stderr);
        }
    });
}

/// An `-only` that matches nothing leaves nothing to plan: a warning naming the nearest build,
/// and success, as Packer builds nothing and exits 0.
#[test]
fn an_only_matching_nothing_is_a_warning_and_plans_nothing() {
    let cases: &[(&str, &str)] = &[
        ("only-matches-nothing", "-only=web.amazon-ebs.esat"),
        ("bad-glob", "-only=web.[east"),
    ];
    with_snapshots(|| {
        for (name, flag) in cases {
            let out = Test::new()
                .write("t.pkr.hcl", example("multi-region"))
                .args(["graph", flag, "t.pkr.hcl"])
                .status(0)
                .run();
            assert_eq!(out.stdout, "Nothing to build.\n", "{name}");
            insta::assert_snapshot!(format!("plan__warning.{name}"), out.stderr);
        }
    });
}

#[test]
fn for_each_sources_expand_into_named_instances() {
    let text = r#"
variable "regions" {
  type    = map(string)
  default = { east = "us-east-1", west = "us-west-2" }
}

source "amazon-ebs" "web" {
  for_each      = var.regions
  region        = each.value
  ami_name      = "web-${each.key}"
  instance_type = "t3.micro"
  source_ami    = "ami-1"
  ssh_username  = "ubuntu"
}

build {
  name    = "all"
  sources = ["source.amazon-ebs.web"]
}

build {
  name = "one"
  source "amazon-ebs.web[\"west\"]" {
    name = "renamed"
  }
}
"#;
    let (_, graph) = compile_text(text, &PlanOptions::default());
    let sessions: Vec<(&str, Option<&str>)> = graph
        .sessions()
        .iter()
        .map(|s| (s.id.as_str(), s.region.as_deref()))
        .collect();
    assert_eq!(
        sessions,
        [
            ("all.amazon-ebs.web[\"east\"]", Some("us-east-1")),
            ("all.amazon-ebs.web[\"west\"]", Some("us-west-2")),
            ("one.amazon-ebs.renamed", Some("us-west-2")),
        ]
    );
    let (out, diags) = kiln::exec::dry_run(&graph, &Default::default());
    assert!(diags.is_empty(), "{diags:?}");
    assert!(out.contains("ami_name = \"web-east\""), "{out}");
    assert!(out.contains("ami_name = \"web-west\""), "{out}");
}

#[test]
fn dry_runs_print_every_step_with_its_values() {
    let date = regex::Regex::new(r"built \d{8}").expect("regex");
    // `{{timestamp}}` in builder fields expands to the run's Unix time.
    let unix = regex::Regex::new(r"-\d{10}\b").expect("regex");
    with_snapshots(|| {
        for name in EXAMPLES {
            let out = on_example(name, &["build", "-dry-run"]).run();
            assert_eq!(out.stderr, "", "{name}");
            let shown = date.replace_all(&out.stdout, "built [date]");
            insta::assert_snapshot!(
                format!("plan__{name}.dry-run"),
                unix.replace_all(&shown, "-[unix time]")
            );
        }
    });
}

const SECRET: &str = "Hunter2-correct-horse";

#[test]
fn a_dry_run_masks_secrets_contacts_nothing_and_writes_nothing() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let template = format!(
        r#"
variable "password" {{
  type      = string
  default   = "{SECRET}"
  sensitive = true
}}

data "amazon-ami" "base" {{
  filters             = {{ name = "ubuntu/*" }}
  owners              = ["099720109477"]
  most_recent         = true
  region              = "us-east-1"
  custom_endpoint_ec2 = "{endpoint}"
}}

source "amazon-ebs" "web" {{
  ami_name            = "web-{{{{timestamp}}}}"
  instance_type       = "t3.micro"
  region              = "us-east-1"
  source_ami          = data.amazon-ami.base.id
  ssh_username        = "ubuntu"
  ssh_password        = var.password
  ami_regions         = ["eu-west-1"]
  custom_endpoint_ec2 = "{endpoint}"
}}

source "file" "note" {{
  content = "hello"
  target  = "out/note.txt"
}}

build {{
  sources = ["source.amazon-ebs.web", "source.file.note"]

  provisioner "shell-local" {{
    inline = ["touch touched.txt"]
  }}

  post-processor "manifest" {{
    output = "out/manifest.json"
  }}

  post-processor "hcp-packer-publish" {{
    bucket_name  = "acme"
    product_name = "web"
    release_name = "v1"
  }}
}}
"#
    );
    let test = Test::new()
        .write("t.pkr.hcl", template)
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ENDPOINT_URL_EC2", &endpoint)
        .env("KILN_REGISTRY_ADDR", &endpoint)
        .args(["build", "-dry-run", "t.pkr.hcl"]);
    let before = listing(test.dir());
    let out = test.run_unchecked();
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(listing(&out.dir), before, "the dry run wrote nothing");
    listener.set_nonblocking(true).expect("non-blocking");
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the dry run connected to the endpoint"
    );
    assert!(
        !out.stdout.contains(SECRET),
        "the secret leaked:\n{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("ssh_password        = (sensitive)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("source_ami          = (known after build)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("amazon-ebs.web/copy[eu-west-1]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("release[acme/web/v1]"),
        "{}",
        out.stdout
    );
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn dot_output_renders_with_graphviz() {
    // A missing `dot` fails the test rather than skipping it: scripts/test.sh installs graphviz.
    let version = std::process::Command::new("dot").arg("-V").output();
    assert!(
        version.as_ref().is_ok_and(|v| v.status.success()),
        "graphviz's `dot` must be on PATH (scripts/test.sh installs it): {version:?}"
    );
    for name in EXAMPLES {
        let out = on_example(name, &["graph", "-format=dot"]).run();
        let mut child = std::process::Command::new("dot")
            .arg("-Tsvg")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("dot starts");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(out.stdout.as_bytes())
            .expect("dot reads");
        let result = child.wait_with_output().expect("dot finishes");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(
            result.status.success() && stderr.is_empty(),
            "{name}: {stderr}"
        );
        assert!(
            String::from_utf8_lossy(&result.stdout).contains("<svg"),
            "{name}"
        );
    }
}

#[test]
fn json_output_is_valid_and_consistent() {
    for name in EXAMPLES {
        let out = on_example(name, &["graph", "-format=json"]).run();
        let json: serde_json::Value =
            serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{name}: {e}"));
        let nodes = json["nodes"].as_array().expect("nodes");
        let ids: std::collections::BTreeSet<&str> = nodes
            .iter()
            .map(|n| n["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids.len(), nodes.len(), "{name}: ids are unique");
        for node in nodes {
            assert!(
                node["kind"].is_string() && node["span"]["line"].as_u64().is_some_and(|l| l > 0),
                "{name}: {node}"
            );
            assert_eq!(node["span"]["file"], format!("{name}.pkr.hcl"), "{name}");
        }
        for edge in json["edges"].as_array().expect("edges") {
            for end in ["from", "to"] {
                assert!(
                    ids.contains(edge[end].as_str().expect("id")),
                    "{name}: {edge}"
                );
            }
        }
    }
}

#[test]
fn mermaid_output_is_well_formed() {
    let id = regex::Regex::new(r"^n\d+$").expect("regex");
    for name in EXAMPLES {
        let out = on_example(name, &["graph", "-format=mermaid"]).run();
        assert!(out.stdout.starts_with("flowchart TB\n"), "{name}");
        let opens = out
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("subgraph "))
            .count();
        let ends = out.stdout.lines().filter(|l| l.trim() == "end").count();
        assert_eq!(opens, ends, "{name}: subgraphs are closed");
        for line in out
            .stdout
            .lines()
            .filter(|l| l.contains("-->") || l.contains("-.->"))
        {
            let parts: Vec<&str> = line.split_whitespace().collect();
            assert!(
                parts.len() == 3 && id.is_match(parts[0]) && id.is_match(parts[2]),
                "{name}: {line}"
            );
        }
    }
}

#[test]
fn svg_output_is_drawn_in_process_and_stable() {
    for name in EXAMPLES {
        let first = on_example(name, &["graph", "-format=svg"]).run();
        let second = on_example(name, &["graph", "-format=svg"]).run();
        assert!(
            first.stdout.contains("<svg") && first.stdout.trim_end().ends_with("</svg>"),
            "{name}"
        );
        assert!(first.stdout.contains("launch"), "{name}");
        assert_eq!(
            first.stdout, second.stdout,
            "{name}: the drawing is deterministic"
        );
    }
}

#[test]
fn large_graphs_are_drawn_by_their_structure_in_linear_time() {
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!(
            "source \"amazon-ebs\" \"s{i}\" {{\n  ami_name = \"image-{i}\"\n  instance_type = \"t3.micro\"\n  source_ami = \"ami-1\"\n  ssh_username = \"ubuntu\"\n  region      = \"us-east-1\"\n  ami_regions = [\"eu-west-1\", \"eu-west-2\"]\n}}\n"
        ));
    }
    let sources: Vec<String> = (0..200)
        .map(|i| format!("\"source.amazon-ebs.s{i}\""))
        .collect();
    text.push_str(&format!(
        "build {{\n  sources = [{}]\n  provisioner \"shell\" {{\n    inline = [\"true\"]\n  }}\n}}\n",
        sources.join(", ")
    ));
    let (_, graph) = compile_text(&text, &PlanOptions::default());
    assert!(graph.len() > 1_000, "{} steps", graph.len());
    let first = render::svg(&graph).expect("drawn");
    assert_eq!(
        first,
        render::svg(&graph).expect("drawn again"),
        "the drawing is deterministic"
    );
    assert!(first.starts_with("<svg") && first.trim_end().ends_with("</svg>"));
    for (_, node) in graph.nodes() {
        assert!(
            first.contains(&format!("<title>{}</title>", node.id)),
            "{} is drawn",
            node.id
        );
    }
}
