//! Locals and data sources, evaluated in dependency order (a petgraph DAG of their references).

use super::evaluate;
use super::schema::{self, Schema};
use super::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::eval::{references, Context};
use crate::plugins::{self, Decoded, PluginKind};
use crate::source::Span;
use crate::syntax::{Body, Expr};
use crate::value::{Map, Type, Value};
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::BTreeMap;

/// One local value.
#[derive(Clone, Debug)]
pub struct Local {
    pub name: String,
    pub span: Span,
    pub expr: Expr,
    pub sensitive: bool,
    pub value: Value,
}

/// One `data "type" "name"` block.
#[derive(Clone, Debug)]
pub struct DataSource {
    pub kind: String,
    pub name: String,
    pub span: Span,
    pub kind_span: Span,
    pub body: Body,
    /// The evaluated configuration.
    pub config: BodyValue,
    /// The decoded plugin config, when it decoded.
    pub plugin: Option<Decoded>,
    /// The other data sources its body reads (indexes into `Template::data`).
    pub deps: std::collections::BTreeSet<usize>,
    /// The result: unknown until the data source runs.
    pub value: Value,
    /// Set when it reads other data sources: evaluates it again once they are read.
    pub binder: Option<std::sync::Arc<super::DataBinder>>,
}

impl DataSource {
    /// `type.name`
    pub fn address(&self) -> String {
        format!("{}.{}", self.kind, self.name)
    }
}

const LOCAL_SCHEMA: Schema = Schema {
    what: "local block",
    attributes: &["expression", "sensitive"],
    blocks: &[],
};

enum Node<'a> {
    Local(&'a str),
    Data(usize),
}

/// Declare, order and evaluate locals and data sources. Each evaluated value is added to
/// `ctx` (`local.*`, `data.*`) as it becomes known.
pub fn evaluate_all(
    bodies: &[&Body],
    ctx: &mut Context,
    diags: &mut Vec<Diagnostic>,
) -> (BTreeMap<String, Local>, Vec<DataSource>, Vec<Local>) {
    let mut locals: BTreeMap<String, Local> = BTreeMap::new();
    let mut data: Vec<DataSource> = Vec::new();
    for body in bodies {
        for block in body.blocks() {
            match block.ident.name.as_str() {
                "locals" => {
                    for item in &block.body.items {
                        match item {
                            crate::syntax::Structure::Attribute(a) => add_local(
                                &mut locals,
                                Local {
                                    name: a.name.name.clone(),
                                    span: a.name.span,
                                    expr: a.expr.clone(),
                                    sensitive: false,
                                    value: Value::Null,
                                },
                                diags,
                            ),
                            crate::syntax::Structure::Block(b) => diags.push(
                                Diagnostic::error(b.header_span(), "a `locals` block holds only `name = expression` attributes")
                                    .with_hint("write a single local with options as local \"name\" { expression = ... }"),
                            ),
                        }
                    }
                }
                "local" => {
                    let Some(name) = schema::one_label(block, "local", "name", diags) else {
                        continue;
                    };
                    schema::check(&block.body, &LOCAL_SCHEMA, diags);
                    let Some(expr) = block.body.attribute("expression") else {
                        diags.push(
                            Diagnostic::error(
                                block.header_span(),
                                format!("the local `{name}` has no `expression`"),
                            )
                            .with_hint("local \"name\" { expression = ... }"),
                        );
                        continue;
                    };
                    let sensitive = block
                        .body
                        .attribute("sensitive")
                        .map(|a| {
                            matches!(
                                ctx.eval(&a.expr).map(|v| v.unmark().0.clone()),
                                Ok(Value::Bool(true))
                            )
                        })
                        .unwrap_or(false);
                    add_local(
                        &mut locals,
                        Local {
                            name,
                            span: block.header_span(),
                            expr: expr.expr.clone(),
                            sensitive,
                            value: Value::Null,
                        },
                        diags,
                    );
                }
                "data" => {
                    let Some(labels) = schema::labels(block, "data", &["type", "name"], diags)
                    else {
                        continue;
                    };
                    if let Some(first) = data
                        .iter()
                        .find(|d| d.kind == labels[0] && d.name == labels[1])
                    {
                        diags.push(
                            Diagnostic::error(
                                block.header_span(),
                                format!(
                                    "the data source `{}.{}` is declared twice",
                                    labels[0], labels[1]
                                ),
                            )
                            .with_label(first.span, "first declared here"),
                        );
                        continue;
                    }
                    data.push(DataSource {
                        kind: labels[0].clone(),
                        name: labels[1].clone(),
                        span: block.header_span(),
                        kind_span: block.labels[0].span,
                        body: block.body.clone(),
                        config: BodyValue::default(),
                        plugin: None,
                        deps: Default::default(),
                        value: Value::Unknown(Type::Dynamic),
                        binder: None,
                    });
                }
                _ => {}
            }
        }
    }

    // One graph over both kinds: a local may read a data source and the other way round.
    let mut graph: DiGraph<Node, ()> = DiGraph::new();
    let mut local_nodes: BTreeMap<&str, NodeIndex> = BTreeMap::new();
    for name in locals.keys() {
        local_nodes.insert(name, graph.add_node(Node::Local(name)));
    }
    let data_nodes: Vec<NodeIndex> = (0..data.len())
        .map(|i| graph.add_node(Node::Data(i)))
        .collect();
    let mut edges = Vec::new();
    for (name, local) in &locals {
        for r in references(&local.expr) {
            edges.push((local_nodes[name.as_str()], r));
        }
    }
    for (i, d) in data.iter().enumerate() {
        for r in body_references(&d.body) {
            edges.push((data_nodes[i], r));
        }
    }
    for (from, r) in edges {
        let target = match (r.root.as_str(), r.path.as_slice()) {
            // An unknown name is reported when the expression is evaluated.
            ("local", [name, ..]) => local_nodes.get(name.as_str()).copied(),
            ("data", [kind, name, ..]) => data
                .iter()
                .position(|d| &d.kind == kind && &d.name == name)
                .map(|i| data_nodes[i]),
            _ => None,
        };
        if let Some(to) = target {
            // Edge from dependency to dependent: `to` must be evaluated before `from`.
            graph.add_edge(to, from, ());
        }
    }
    let order = match toposort(&graph, None) {
        Ok(order) => order,
        Err(_) => {
            report_cycles(&graph, &locals, &data, diags);
            return (locals, data, Vec::new());
        }
    };
    let order: Vec<NodeIndex> = order;
    // Locals that read a data source, directly or through another local: unknown until the
    // data sources run, evaluated again then (in this order).
    let mut reads_data: std::collections::HashSet<NodeIndex> = std::collections::HashSet::new();
    let mut data_locals: Vec<Local> = Vec::new();
    let mut data_values: BTreeMap<String, Map> = BTreeMap::new();
    for node in order {
        match graph[node] {
            Node::Local(name) => {
                let local = locals.get(name).expect("graph nodes are declared locals");
                if graph
                    .neighbors_directed(node, petgraph::Direction::Incoming)
                    .any(|n| reads_data.contains(&n))
                {
                    reads_data.insert(node);
                    data_locals.push(local.clone());
                }
                let value = match ctx.eval(&local.expr) {
                    Ok(v) => v.mark_if(local.sensitive),
                    Err(d) => {
                        diags.push(d);
                        Value::Unknown(Type::Dynamic)
                    }
                };
                // Added in place: copying every local for each one is quadratic.
                match ctx
                    .variables
                    .entry("local".into())
                    .or_insert_with(|| Value::Object(Map::new()))
                {
                    Value::Object(values) => {
                        values.insert(name.to_string(), value);
                    }
                    other => *other = Value::Object(Map::from([(name.to_string(), value)])),
                }
            }
            Node::Data(i) => {
                reads_data.insert(node);
                let d = &data[i];
                let config = evaluate::body(&d.body, d.span, ctx, diags);
                let (plugin, found) =
                    plugins::check(PluginKind::DataSource, &d.kind, d.kind_span, &config);
                diags.extend(found);
                data_values
                    .entry(d.kind.clone())
                    .or_default()
                    .insert(d.name.clone(), d.value.clone());
                ctx.variables.insert(
                    "data".into(),
                    Value::Object(
                        data_values
                            .iter()
                            .map(|(k, m)| (k.clone(), Value::Object(m.clone())))
                            .collect(),
                    ),
                );
                let d = &mut data[i];
                d.config = config;
                d.plugin = plugin;
            }
        }
    }
    let local_values = match ctx.variables.get("local") {
        Some(Value::Object(values)) => values.clone(),
        _ => Map::new(),
    };
    for (name, local) in locals.iter_mut() {
        if let Some(v) = local_values.get(name) {
            local.value = v.clone();
        }
    }
    (locals, data, data_locals)
}

fn add_local(locals: &mut BTreeMap<String, Local>, local: Local, diags: &mut Vec<Diagnostic>) {
    if let Some(first) = locals.get(&local.name) {
        diags.push(
            Diagnostic::error(
                local.span,
                format!("the local `{}` is defined twice", local.name),
            )
            .with_label(first.span, "first defined here")
            .with_hint("each local name may be defined only once across the template's files"),
        );
        return;
    }
    locals.insert(local.name.clone(), local);
}

/// Every reference in a block body, nested blocks included.
fn body_references(body: &Body) -> Vec<crate::eval::Reference> {
    let mut out = Vec::new();
    for item in &body.items {
        match item {
            crate::syntax::Structure::Attribute(a) => out.extend(references(&a.expr)),
            crate::syntax::Structure::Block(b) => out.extend(body_references(&b.body)),
        }
    }
    out
}

fn report_cycles(
    graph: &DiGraph<Node, ()>,
    locals: &BTreeMap<String, Local>,
    data: &[DataSource],
    diags: &mut Vec<Diagnostic>,
) {
    for component in tarjan_scc(graph) {
        let cyclic = component.len() > 1 || graph.contains_edge(component[0], component[0]);
        if !cyclic {
            continue;
        }
        let mut members: Vec<(String, Span)> = component
            .iter()
            .map(|n| match graph[*n] {
                Node::Local(name) => (format!("local.{name}"), locals[name].span),
                Node::Data(i) => (format!("data.{}", data[i].address()), data[i].span),
            })
            .collect();
        members.sort_by_key(|(_, s)| (s.file, s.start));
        let names: Vec<String> = members.iter().map(|(n, _)| format!("`{n}`")).collect();
        let (first_name, first_span) = &members[0];
        let mut d = Diagnostic::error(
            *first_span,
            format!(
                "these values depend on each other in a cycle: {}",
                names.join(" → ")
            ),
        )
        .with_hint(format!(
            "break the cycle: one of them must not refer, directly or not, to {first_name}"
        ));
        for (name, span) in &members[1..] {
            d = d.with_label(*span, format!("{name} is part of the cycle"));
        }
        diags.push(d);
    }
}
