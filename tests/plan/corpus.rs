//! Every corpus template kiln can build compiles to a plan, snapshotted as text.

use super::load;
use crate::test::{shared_dir, with_snapshots};
use kiln::diagnostic::Code;
use kiln::plan::{self, render, PlanOptions};
use kiln::source::SourceMap;
use std::path::{Path, PathBuf};

/// Every corpus template directory (regrouped as `scripts/corpus-validate.py` does) that uses only
/// kiln's plugins and needs no variable without a default compiles; its text plan is a snapshot.
#[test]
fn corpus_templates_compile_to_plans() {
    let scratch = tempfile::tempdir().expect("scratch");
    let mut compiled = 0;
    let mut failures = Vec::new();
    with_snapshots(|| {
        for (name, dir) in corpus_dirs(scratch.path()) {
            if !uses_only_builtin_plugins(&dir) {
                continue;
            }
            let (template, diags) = load(&dir);
            if diags.iter().any(|d| d.code == Code::UnsetVariable) {
                continue;
            }
            let expected_invalid = EXPECTED_INVALID.iter().any(|(n, _)| *n == name);
            let Some(template) = template else {
                if !expected_invalid {
                    failures.push(format!(
                        "{name}: does not load: {:?}",
                        diags.iter().map(|d| &d.message).collect::<Vec<_>>()
                    ));
                }
                continue;
            };
            if expected_invalid {
                failures.push(format!("{name}: loads now; take it off EXPECTED_INVALID"));
            }
            match plan::compile(&template, &PlanOptions::default()) {
                Ok(graph) => {
                    compiled += 1;
                    let text = render::text(&graph).replace(&dir.display().to_string(), "[dir]");
                    insta::assert_snapshot!(format!("plan__corpus.{name}"), text);
                }
                Err(d) => failures.push(format!("{name}: does not compile: {d:?}")),
            }
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        compiled >= 15,
        "only {compiled} corpus directories compiled"
    );
}

/// Corpus directories that use only kiln's plugins but are meant to fail (test fixtures of
/// Packer's own error handling), with why.
const EXPECTED_INVALID: &[(&str, &str)] = &[
    ("hashicorp__packer__command__test-fixtures__fmt", "a formatting fixture whose amazon-ebs source lacks the required `ami_name`"),
    ("hashicorp__packer__command__test-fixtures__hcl__validation", "`wrong_pause_before.pkr.hcl` sets `pause_before = \"5\"`, no duration, on purpose"),
    ("hashicorp__packer__command__test-fixtures__hcl2_upgrade__ami_test", "an upgrade fixture whose amazon-ebs source lacks the required `ami_name`"),
    ("hashicorp__packer__command__test-fixtures__hcl2_upgrade__placeholders", "an upgrade fixture with a field the null builder does not have (`other_prop`)"),
    ("hashicorp__packer__command__test-fixtures__hcl__dynamic", "`dynamic` source and provisioner blocks inside a build are not supported by the loader yet"),
    ("hashicorp__packer__command__test-fixtures__hcl__reprepare", "independent fixtures that each declare `null.example`"),
    ("hashicorp__packer__command__test-fixtures__hcp", "independent fixtures that each declare `file.test`"),
    ("hashicorp__packer__command__test-fixtures__repro-sensitive-multiline", "independent fixtures that each declare the same variable and source"),
    ("hashicorp__packer__command__test-fixtures__validate-invalid", "refers to a source that does not exist, on purpose"),
    ("hashicorp__packer__command__test-fixtures__version_req__base_failure", "requires Packer >= 700000, on purpose"),
    ("hashicorp__packer__command__test-fixtures__version_req__wrong_field_name", "misspells `required_version`, on purpose"),
    ("hashicorp__packer__hcl2template__fixtures", "a top-level provisioner block, on purpose"),
    ("hashicorp__packer__hcl2template__testdata__communicator", "a top-level `communicator` block, which Packer 1.11 no longer reads"),
    ("hashicorp__packer__hcl2template__testdata__unknown", "an unknown block type, on purpose"),
    ("hashicorp__packer__hcl2template__testdata__variables", "independent fixtures, several invalid on purpose"),
    ("hashicorp__packer__hcl2template__testdata__variables__validation", "independent fixtures, one failing validation on purpose"),
    ("hashicorp__packer__packer_test__core_tests__templates", "independent fixtures, one defining a local twice on purpose"),
];

/// The corpus regrouped into its original directories under `scratch`: (name, directory).
fn corpus_dirs(scratch: &Path) -> Vec<(String, PathBuf)> {
    let corpus = shared_dir().join("corpus");
    let index = std::fs::read_to_string(corpus.join("INDEX.tsv")).expect("INDEX.tsv");
    let mut groups: std::collections::BTreeMap<(String, String), Vec<(String, String)>> =
        Default::default();
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, repo, path, ..] = cols[..] else {
            continue;
        };
        let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
        groups
            .entry((repo.to_string(), dir.to_string()))
            .or_default()
            .push((file.to_string(), base.to_string()));
    }
    let mut out = Vec::new();
    for (i, ((repo, dir), files)) in groups.into_iter().enumerate() {
        if !files.iter().any(|(_, base)| base.ends_with(".pkr.hcl")) {
            continue;
        }
        let target = scratch.join(i.to_string());
        std::fs::create_dir_all(&target).expect("scratch dir");
        for (stored, base) in &files {
            std::fs::copy(corpus.join(stored), target.join(base)).expect("copy corpus file");
        }
        let dir = if dir.is_empty() {
            "root".to_string()
        } else {
            dir.replace('/', "__")
        };
        out.push((format!("{}__{dir}", repo.replace('/', "__")), target));
    }
    out
}

/// Whether every plugin a directory's templates name is built into kiln (read from the syntax,
/// so a template that does not load is still classified).
fn uses_only_builtin_plugins(dir: &Path) -> bool {
    use kiln::plugins::{names, PluginKind};
    use kiln::syntax::{Block, Structure};
    let mut sources = SourceMap::new();
    let mut wanted: Vec<(PluginKind, String)> = Vec::new();
    fn steps(block: &Block, wanted: &mut Vec<(PluginKind, String)>) {
        for inner in block.body.blocks() {
            let label = inner
                .labels
                .first()
                .map(|l| l.value.clone())
                .unwrap_or_default();
            match inner.ident.name.as_str() {
                "provisioner" | "error-cleanup-provisioner" => {
                    wanted.push((PluginKind::Provisioner, label))
                }
                "post-processor" => wanted.push((PluginKind::PostProcessor, label)),
                "post-processors" => steps(inner, wanted),
                _ => {}
            }
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.to_string_lossy().ends_with(".pkr.hcl") {
            continue;
        }
        let Ok(id) = sources.read(&path) else {
            return false;
        };
        let Ok(body) = kiln::syntax::parse(id, sources.get(id).text()) else {
            return false;
        };
        for item in &body.items {
            let Structure::Block(block) = item else {
                continue;
            };
            let label = block
                .labels
                .first()
                .map(|l| l.value.clone())
                .unwrap_or_default();
            match block.ident.name.as_str() {
                "source" => wanted.push((PluginKind::Builder, label)),
                "data" => wanted.push((PluginKind::DataSource, label)),
                "build" => {
                    steps(block, &mut wanted);
                    for inner in block.body.blocks().filter(|b| b.ident.name == "source") {
                        let kind = inner.labels.first().map(|l| {
                            l.value
                                .trim_start_matches("source.")
                                .split('.')
                                .next()
                                .unwrap_or("")
                                .to_string()
                        });
                        wanted.push((PluginKind::Builder, kind.unwrap_or_default()));
                    }
                }
                _ => {}
            }
        }
    }
    wanted
        .iter()
        .all(|(kind, name)| names(*kind).contains(&name.as_str()))
}
