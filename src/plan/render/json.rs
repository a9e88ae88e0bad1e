//! The JSON view, for other programs:
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "nodes": [
//!     {"id":"ubuntu.amazon-ebs.east/launch","kind":"launch","plugin":"amazon-ebs","build":"ubuntu","source":"amazon-ebs.east","region":"us-east-1","summary":"launch an instance in us-east-1","span":{"file":"build.pkr.hcl","line":3,"column":1,"end_line":3,"end_column":30}}
//!   ],
//!   "edges": [
//!     {"from":"ubuntu.amazon-ebs.east/launch","to":"ubuntu.amazon-ebs.east/capture"}
//!   ]
//! }
//! ```
//!
//! `kind` is one of `data`, `launch`, `provisioner`, `capture`, `copy`, `post-processor`,
//! `publish`, `finalize`, `error-cleanup`, `discard`, `cleanup`. `plugin`, `build`, `source`
//! and `region` are `null` when they do not apply (a data source has no build; a finalize node
//! no plugin). An edge means "`from` must finish before `to` starts"; edges into `cleanup` and
//! `error-cleanup` nodes are followed whatever happened to `from`. Nodes are in template order,
//! edges sorted; one object per line.

use crate::plan::BuildGraph;
use crate::source::{SourceMap, Span};
use serde::Serialize;

/// The layout of the document. Raised when a field changes meaning or goes away; a new field
/// keeps it.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Node<'a> {
    id: &'a str,
    kind: &'a str,
    plugin: Option<&'a str>,
    build: Option<&'a str>,
    source: Option<&'a str>,
    region: Option<&'a str>,
    summary: &'a str,
    span: Place<'a>,
}

#[derive(Serialize)]
struct Place<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

#[derive(Serialize)]
struct Edge<'a> {
    from: &'a str,
    to: &'a str,
}

/// Render the JSON view; `sources` is the map the template was loaded into.
pub fn json(graph: &BuildGraph, sources: &SourceMap) -> String {
    let nodes = graph.nodes().map(|(_, node)| {
        let session = node.session.map(|s| &graph.sessions()[s]);
        Node {
            id: &node.id,
            kind: node.kind.name(),
            plugin: node.plugin.as_deref(),
            build: session.map(|s| s.build.as_str()),
            source: session.map(|s| s.source.as_str()),
            region: node.region.as_deref(),
            summary: &node.summary,
            span: place(sources, node.span),
        }
    });
    let edges = graph.edges().into_iter().map(|(from, to)| Edge {
        from: &graph.node(from).id,
        to: &graph.node(to).id,
    });
    format!(
        "{{\n  \"format_version\": {FORMAT_VERSION},\n  \"nodes\": [{}\n  ],\n  \"edges\": [{}\n  ]\n}}\n",
        one_per_line(nodes),
        one_per_line(edges)
    )
}

/// Each item as compact JSON on a line of its own, the way the document is laid out.
fn one_per_line<T: Serialize>(items: impl Iterator<Item = T>) -> String {
    let lines: Vec<String> = items
        .map(|item| serde_json::to_string(&item).unwrap_or_default())
        .collect();
    if lines.is_empty() {
        String::new()
    } else {
        format!("\n    {}", lines.join(",\n    "))
    }
}

fn place(sources: &SourceMap, span: Span) -> Place<'_> {
    let file = sources.get(span.file);
    let start = file.position(span.start as usize);
    let end = file.position(span.end as usize);
    Place {
        file: file.name(),
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
    }
}
