//! The JSON view, for other programs:
//!
//! ```json
//! {
//!   "nodes": [
//!     {"id": "ubuntu.amazon-ebs.east/launch", "kind": "launch", "plugin": "amazon-ebs",
//!      "build": "ubuntu", "source": "amazon-ebs.east", "region": "us-east-1",
//!      "summary": "launch an instance in us-east-1",
//!      "span": {"file": "build.pkr.hcl", "line": 3, "column": 1, "end_line": 3, "end_column": 30}}
//!   ],
//!   "edges": [{"from": "ubuntu.amazon-ebs.east/launch", "to": "ubuntu.amazon-ebs.east/capture"}]
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
use std::fmt::Write;

/// Render the JSON view; `sources` is the map the template was loaded into.
pub fn json(graph: &BuildGraph, sources: &SourceMap) -> String {
    let mut out = String::from("{\n  \"nodes\": [");
    for (k, (_, node)) in graph.nodes().enumerate() {
        out.push_str(if k == 0 { "\n    " } else { ",\n    " });
        let session = node.session.map(|s| &graph.sessions()[s]);
        let build = session.map(|s| s.build.as_str());
        let _ = write!(
            out,
            "{{\"id\": {}, \"kind\": {}, \"plugin\": {}, \"build\": {}, \"source\": {}, \"region\": {}, \"summary\": {}, \"span\": {}}}",
            string(&node.id),
            string(node.kind.name()),
            optional(node.plugin.as_deref()),
            optional(build),
            optional(session.map(|s| s.source.as_str())),
            optional(node.region.as_deref()),
            string(&node.summary),
            span(sources, node.span),
        );
    }
    out.push_str("\n  ],\n  \"edges\": [");
    for (k, (from, to)) in graph.edges().into_iter().enumerate() {
        out.push_str(if k == 0 { "\n    " } else { ",\n    " });
        let _ = write!(
            out,
            "{{\"from\": {}, \"to\": {}}}",
            string(&graph.node(from).id),
            string(&graph.node(to).id)
        );
    }
    out.push_str("\n  ]\n}\n");
    out
}

fn span(sources: &SourceMap, span: Span) -> String {
    let file = sources.get(span.file);
    let start = file.position(span.start as usize);
    let end = file.position(span.end as usize);
    format!(
        "{{\"file\": {}, \"line\": {}, \"column\": {}, \"end_line\": {}, \"end_column\": {}}}",
        string(file.name()),
        start.line,
        start.column,
        end.line,
        end.column
    )
}

fn optional(s: Option<&str>) -> String {
    s.map_or_else(|| "null".to_string(), string)
}

/// A JSON string literal.
fn string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}
