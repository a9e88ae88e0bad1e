//! Walking a loaded template into a [`Graph<Building>`]: data sources, one session per selected
//! build × source (see `session.rs`), and one finalize node per registry release.

use super::graph::{
    Building, DataWork, Graph, Node, NodeKind, PlannedBuild, Release, ReleaseKey, Work,
};
use super::select::{Glob, Selection};
use super::session::BuildSteps;
use super::{BuildGraph, PlanOptions};
use crate::config::{BuildBlock, Template};
use crate::diagnostic::{has_errors, suggest, Diagnostic};
use crate::plugins::Decoded;
use crate::source::Span;
use petgraph::graph::NodeIndex;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// The state of one compilation.
pub(super) struct Compiler<'t> {
    pub(super) template: &'t Template,
    pub(super) selection: Selection,
    pub(super) graph: Graph<Building>,
    pub(super) diags: Vec<Diagnostic>,
    /// The node of each `template.data` entry.
    pub(super) data_nodes: Vec<NodeIndex>,
    /// Publish nodes by the release they publish to, with the span of the first.
    pub(super) releases: BTreeMap<ReleaseKey, (Span, Vec<NodeIndex>)>,
    session_ids: HashSet<String>,
    /// Every build name seen, for "did you mean" when `-only` matches nothing.
    pub(super) names: Vec<String>,
}

/// Compile `template` into its sealed graph.
pub(super) fn compile(
    template: &Template,
    options: &PlanOptions,
) -> Result<BuildGraph, Vec<Diagnostic>> {
    let selection = Selection::new(&options.only, &options.except);
    let mut c = Compiler {
        template,
        selection,
        graph: Graph::new(),
        diags: Vec::new(),
        data_nodes: Vec::new(),
        releases: BTreeMap::new(),
        session_ids: HashSet::new(),
        names: Vec::new(),
    };
    c.data();
    for build in &template.builds {
        c.build(build);
    }
    c.finalize_releases();
    c.check_selection();
    if template.builds.is_empty() {
        c.graph.warn(
            global_warning("the template has no build block, so there is nothing to build")
                .with_hint("add build { sources = [\"source.<type>.<name>\"] }"),
        );
    }
    if has_errors(&c.diags) {
        return Err(c.diags);
    }
    for warning in c.diags {
        c.graph.warn(warning);
    }
    c.graph.seal().map_err(|_| {
        vec![Diagnostic::global(
            "internal error: the build graph has a cycle",
        )]
    })
}

impl<'t> Compiler<'t> {
    /// One node per data source, each after the data sources it reads.
    fn data(&mut self) {
        for d in &self.template.data {
            let plugin = match &d.plugin {
                Some(Decoded::DataSource(p)) => Some(p.clone()),
                _ => None,
            };
            let (summary, region, api) = match &plugin {
                Some(p) => (p.summary(&d.config), p.region(&d.config), p.calls_api()),
                None => (format!("read the {} data source", d.kind), None, false),
            };
            let node = self.graph.add(Node {
                id: format!("data.{}", d.address()),
                kind: NodeKind::Data,
                plugin: Some(d.kind.clone()),
                session: None,
                region,
                span: d.span,
                summary,
                api,
                work: Work::Data(Arc::new(DataWork {
                    address: d.address(),
                    plugin,
                    config: d.config.clone(),
                    binder: d.binder.clone(),
                })),
            });
            self.data_nodes.push(node);
            self.graph.push_data(node);
        }
        for (i, d) in self.template.data.iter().enumerate() {
            for dep in &d.deps {
                let (from, to) = (self.data_nodes[*dep], self.data_nodes[i]);
                self.graph.edge(from, to);
            }
        }
    }

    /// Every selected session of one build.
    fn build(&mut self, build: &'t BuildBlock) {
        let mut planned = PlannedBuild {
            name: build.display_name(),
            sessions: Vec::new(),
        };
        let steps = BuildSteps::new(build, self.template);
        for use_ in &build.sources {
            let name = match &build.name {
                Some(b) => format!("{b}.{}", use_.address()),
                None => use_.address(),
            };
            self.names.push(name.clone());
            if !self.selection.includes(&name) {
                continue;
            }
            // Loading reports a source that did not decode; it has nothing to plan.
            let Some(config) = use_.config.clone() else {
                continue;
            };
            let id = self.unique_id(&name);
            let session = super::session::plan(
                self,
                super::session::Use {
                    build,
                    use_,
                    config,
                    steps: &steps,
                },
                id,
                name,
            );
            planned.sessions.push(session);
        }
        if !planned.sessions.is_empty() {
            self.graph.push_build(planned);
        }
    }

    /// Packer's build name, or with `#2`, `#3`... when two unnamed builds use the same source.
    fn unique_id(&mut self, name: &str) -> String {
        let mut id = name.to_string();
        let mut n = 1;
        while self.session_ids.contains(&id) {
            n += 1;
            id = format!("{name}#{n}");
        }
        self.session_ids.insert(id.clone());
        id
    }

    /// One finalize node per release, after every publish step that feeds it.
    fn finalize_releases(&mut self) {
        let releases = std::mem::take(&mut self.releases);
        for (i, (key, (span, publishers))) in releases.into_iter().enumerate() {
            let sources = publishers.len();
            let node = self.graph.add(Node {
                id: format!("release[{}]", key.path()),
                kind: NodeKind::Finalize,
                plugin: None,
                session: None,
                region: None,
                api: false,
                span,
                summary: format!(
                    "complete the release once {sources} source{} published",
                    if sources == 1 { " has" } else { "s have" }
                ),
                work: Work::Release(i),
            });
            for p in &publishers {
                self.graph.edge(*p, node);
            }
            self.graph.push_release(Release {
                key,
                node,
                publishers,
            });
        }
    }

    /// `-only` that selects nothing is an error; patterns that match nothing are warnings.
    fn check_selection(&mut self) {
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let listed = if names.is_empty() {
            "the template has no builds".to_string()
        } else {
            let shown: Vec<&str> = names.iter().take(10).copied().collect();
            let more = if names.len() > 10 {
                format!(" and {} more", names.len() - 10)
            } else {
                String::new()
            };
            format!(
                "the builds are {}{more}",
                crate::diagnostic::quote_list(&shown)
            )
        };
        let hint = |glob: &Glob| {
            let pattern = glob.as_str();
            let advice = match suggest(pattern, &names) {
                Some(s) => format!("did you mean `{s}`? {listed}"),
                None => format!("{listed}; patterns are globs such as `ubuntu.*`"),
            };
            match glob.error() {
                Some(e) => format!(
                    "`{pattern}` is not a valid glob ({e}), so it must equal a name; {advice}"
                ),
                None => advice,
            }
        };
        let unmatched: Vec<(String, String)> = self
            .selection
            .unmatched_only()
            .into_iter()
            .map(|g| (g.as_str().to_string(), hint(g)))
            .collect();
        // Warnings, even when nothing is left to build: Packer then builds nothing and exits
        // 0, and a CI matrix running one `-only` over many templates depends on that.
        let no_session = self.graph_is_empty_of_sessions();
        for (pattern, hint) in &unmatched {
            let message = format!("-only `{pattern}` matches no build");
            self.diags
                .push(global_warning(message).with_hint(hint.clone()));
        }
        if no_session && self.selection.has_only() && unmatched.is_empty() {
            self.diags.push(
                global_warning("-only and -except together leave no build to run")
                    .with_hint(listed.clone()),
            );
        }
        let unmatched: Vec<(String, String)> = self
            .selection
            .unmatched_except()
            .into_iter()
            .map(|g| (g.as_str().to_string(), hint(g)))
            .collect();
        for (pattern, hint) in unmatched {
            self.diags.push(
                global_warning(format!(
                    "-except `{pattern}` matches no build and no post-processor"
                ))
                .with_hint(hint),
            );
        }
    }

    fn graph_is_empty_of_sessions(&self) -> bool {
        self.session_ids.is_empty()
    }
}

/// A warning about no place in a file (a command-line pattern).
fn global_warning(message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        severity: crate::diagnostic::Severity::Warning,
        ..Diagnostic::global(message)
    }
}
