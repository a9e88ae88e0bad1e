//! Walking a loaded template into a [`Graph<Building>`]: data sources, one session per selected
//! build × source (see `session.rs`), and one finalize node per registry release.

use super::graph::{Building, Graph, Node, NodeKind, Origin, PlannedBuild, Release, ReleaseKey};
use super::select::{Glob, Selection};
use super::{BuildGraph, PlanOptions};
use crate::config::{BuildBlock, SourceBlock, Template};
use crate::diagnostic::{has_errors, suggest, Diagnostic};
use crate::eval::references;
use crate::source::Span;
use crate::syntax::{Body, Expr, Structure};
use crate::value::Value;
use petgraph::graph::NodeIndex;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// How unknown values read in a plan.
pub const UNKNOWN: &str = "(known after build)";

/// The state of one compilation.
pub(super) struct Compiler<'t> {
    pub(super) template: &'t Template,
    pub(super) selection: Selection,
    pub(super) graph: Graph<Building>,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) deps: DataDeps<'t>,
    /// The node of each `template.data` entry.
    pub(super) data_nodes: Vec<NodeIndex>,
    /// Publish nodes by the release they publish to, with the span of the first.
    pub(super) releases: BTreeMap<ReleaseKey, (Span, Vec<NodeIndex>)>,
    sources: HashMap<String, &'t SourceBlock>,
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
        deps: DataDeps::new(template),
        data_nodes: Vec::new(),
        releases: BTreeMap::new(),
        sources: template.sources.iter().map(|s| (s.address(), s)).collect(),
        session_ids: HashSet::new(),
        names: Vec::new(),
    };
    c.data();
    for (index, build) in template.builds.iter().enumerate() {
        c.build(index, build);
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
        for (i, d) in self.template.data.iter().enumerate() {
            let region = d.config.attr("region").map(|a| shown(&a.value));
            let summary = match d.kind.as_str() {
                "amazon-ami" => with_region("find an AMI", region.as_deref()),
                "hcp-packer-version" | "hcp-packer-iteration" => {
                    "read a release from the registry".into()
                }
                "hcp-packer-artifact" | "hcp-packer-image" => {
                    "read an image from the registry".into()
                }
                other => format!("read the {other} data source"),
            };
            let node = self.graph.add(Node {
                id: format!("data.{}", d.address()),
                kind: NodeKind::Data,
                plugin: Some(d.kind.clone()),
                session: None,
                region,
                span: d.span,
                summary,
                origin: Origin::Data(i),
            });
            self.data_nodes.push(node);
            self.graph.push_data(node);
        }
        for (i, d) in self.template.data.iter().enumerate() {
            for dep in self.deps.of_body(&d.body) {
                if dep != i {
                    let (from, to) = (self.data_nodes[dep], self.data_nodes[i]);
                    self.graph.edge(from, to);
                }
            }
        }
    }

    /// Every selected session of one build.
    fn build(&mut self, index: usize, build: &'t BuildBlock) {
        let mut planned = PlannedBuild {
            name: build.display_name(),
            index,
            sessions: Vec::new(),
        };
        let steps = StepDeps::new(build, &mut self.deps);
        for (u, use_) in build.sources.iter().enumerate() {
            let name = match &build.name {
                Some(b) => format!("{b}.{}", use_.address()),
                None => use_.address(),
            };
            self.names.push(name.clone());
            if !self.selection.includes(&name) {
                continue;
            }
            let Some(block) = self.sources.get(use_.reference.as_str()).copied() else {
                let refs: Vec<&str> = self.sources.keys().map(String::as_str).collect();
                let d = Diagnostic::error(
                    use_.span,
                    format!("the build refers to an unknown source `{}`", use_.reference),
                );
                self.diags.push(match suggest(&use_.reference, &refs) {
                    Some(s) => d.with_hint(format!("did you mean `source.{s}`?")),
                    None => d,
                });
                continue;
            };
            let id = self.unique_id(&name);
            let session = super::session::plan(
                self,
                super::session::Use {
                    build,
                    index,
                    use_,
                    position: u,
                    block,
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
                span,
                summary: format!(
                    "complete the release once {sources} source{} published",
                    if sources == 1 { " has" } else { "s have" }
                ),
                origin: Origin::Release(i),
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
            format!("the builds are {}{more}", crate::eval::quote_list(&shown))
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
        let no_session = self.graph_is_empty_of_sessions();
        for (pattern, hint) in &unmatched {
            let message = format!("-only `{pattern}` matches no build");
            let d = if no_session {
                Diagnostic::global(message)
            } else {
                global_warning(message)
            };
            self.diags.push(d.with_hint(hint.clone()));
        }
        if no_session && self.selection.has_only() && unmatched.is_empty() {
            self.diags.push(
                Diagnostic::global("-only and -except together leave no build to run")
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

/// Evaluate one attribute of `body`, reporting a failure. `None` when it is not set.
pub(super) fn attr_value(
    body: &Body,
    name: &str,
    ctx: &crate::eval::Context,
    diags: &mut Vec<Diagnostic>,
) -> Option<Value> {
    let attr = body.attribute(name)?;
    match ctx.eval(&attr.expr) {
        Ok(v) => Some(v),
        Err(d) => {
            diags.push(d);
            None
        }
    }
}

/// A value as a plan shows it in a name or summary: strings bare, unknown and sensitive values
/// as placeholders.
pub(super) fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Sensitive(_) => "(sensitive)".into(),
        v if v.contains_sensitive() => "(sensitive)".into(),
        v if v.contains_unknown() => UNKNOWN.into(),
        v => crate::value::to_console(v).replace('\n', " "),
    }
}

/// A string value, `None` when unknown.
pub(super) fn known_string(value: &Value) -> Option<String> {
    if value.contains_unknown() {
        return None;
    }
    Some(shown(value))
}

pub(super) fn with_region(what: &str, region: Option<&str>) -> String {
    match region {
        Some(r) => format!("{what} in {r}"),
        None => what.to_string(),
    }
}

/// Which data sources each expression reaches, directly or through locals.
pub(super) struct DataDeps<'t> {
    template: &'t Template,
    index: HashMap<(&'t str, &'t str), usize>,
    locals: HashMap<String, BTreeSet<usize>>,
}

impl<'t> DataDeps<'t> {
    fn new(template: &'t Template) -> Self {
        DataDeps {
            template,
            index: template
                .data
                .iter()
                .enumerate()
                .map(|(i, d)| ((d.kind.as_str(), d.name.as_str()), i))
                .collect(),
            locals: HashMap::new(),
        }
    }

    /// The data sources a body reads.
    pub(super) fn of_body(&mut self, body: &Body) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        if !self.index.is_empty() {
            self.body_into(body, &mut out, &mut Vec::new());
        }
        out
    }

    fn body_into(&mut self, body: &Body, out: &mut BTreeSet<usize>, visiting: &mut Vec<String>) {
        for item in &body.items {
            match item {
                Structure::Attribute(a) => self.expr_into(&a.expr, out, visiting),
                Structure::Block(b) => self.body_into(&b.body, out, visiting),
            }
        }
    }

    fn expr_into(&mut self, expr: &Expr, out: &mut BTreeSet<usize>, visiting: &mut Vec<String>) {
        for r in references(expr) {
            match (r.root.as_str(), r.path.as_slice()) {
                ("data", [kind, name, ..]) => {
                    if let Some(i) = self.index.get(&(kind.as_str(), name.as_str())) {
                        out.insert(*i);
                    }
                }
                ("local", [name, ..]) => out.extend(self.of_local(name, visiting)),
                _ => {}
            }
        }
    }

    fn of_local(&mut self, name: &str, visiting: &mut Vec<String>) -> BTreeSet<usize> {
        if let Some(known) = self.locals.get(name) {
            return known.clone();
        }
        // Loading rejects cycles; this guard only keeps a broken template from recursing forever.
        if visiting.iter().any(|v| v == name) {
            return BTreeSet::new();
        }
        let Some(local) = self.template.locals.get(name) else {
            return BTreeSet::new();
        };
        visiting.push(name.to_string());
        let mut out = BTreeSet::new();
        self.expr_into(&local.expr, &mut out, visiting);
        visiting.pop();
        self.locals.insert(name.to_string(), out.clone());
        out
    }
}

/// The data sources each step of a build reads, computed once per build.
pub(super) struct StepDeps {
    pub(super) provisioners: Vec<BTreeSet<usize>>,
    pub(super) error_cleanup: BTreeSet<usize>,
    pub(super) post_processors: Vec<Vec<BTreeSet<usize>>>,
    pub(super) registry: BTreeSet<usize>,
}

impl StepDeps {
    fn new(build: &BuildBlock, deps: &mut DataDeps) -> StepDeps {
        StepDeps {
            provisioners: build
                .provisioners
                .iter()
                .map(|p| deps.of_body(&p.body))
                .collect(),
            error_cleanup: build
                .error_cleanup
                .as_ref()
                .map(|p| deps.of_body(&p.body))
                .unwrap_or_default(),
            post_processors: build
                .post_processors
                .iter()
                .map(|chain| chain.iter().map(|p| deps.of_body(&p.body)).collect())
                .collect(),
            registry: build
                .registry
                .as_ref()
                .or(deps.template.registry.as_ref())
                .map(|r| deps.of_body(&r.body))
                .unwrap_or_default(),
        }
    }
}
