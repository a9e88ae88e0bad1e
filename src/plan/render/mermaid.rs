//! Mermaid: a `flowchart` with one subgraph per build holding one per source. Node ids are
//! generated (`n0`, `n1`, ...) because mermaid ids cannot hold the characters step ids do; the
//! labels carry the readable ids.

use super::{is_cleanup_edge, label_lines};
use crate::plan::{BuildGraph, NodeKind};
use petgraph::graph::NodeIndex;
use std::fmt::Write;

/// Render the mermaid view.
pub fn mermaid(graph: &BuildGraph) -> String {
    let mut out = String::from("flowchart TB\n");
    for n in graph.data() {
        node(&mut out, graph, *n, "  ");
    }
    for (b, build) in graph.builds().iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph b{b}[\"{}\"]",
            escape(&format!("build {}", build.name))
        );
        for s in &build.sessions {
            let session = &graph.sessions()[*s];
            let region = session
                .region
                .as_ref()
                .map(|r| format!(" in {r}"))
                .unwrap_or_default();
            let title = format!("{} ({}{region})", session.id, session.builder);
            let _ = writeln!(out, "    subgraph s{s}[\"{}\"]", escape(&title));
            out.push_str("      direction TB\n");
            for n in session.nodes() {
                node(&mut out, graph, n, "      ");
            }
            out.push_str("    end\n");
        }
        out.push_str("  end\n");
    }
    for r in graph.releases() {
        node(&mut out, graph, r.node, "  ");
    }
    for (from, to) in graph.edges() {
        let arrow = if is_cleanup_edge(graph, to) {
            "-.->"
        } else {
            "-->"
        };
        let _ = writeln!(out, "  n{} {arrow} n{}", from.index(), to.index());
    }
    out
}

fn node(out: &mut String, graph: &BuildGraph, n: NodeIndex, indent: &str) {
    let label = label_lines(graph, n)
        .iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join("<br/>");
    let (open, close) = match graph.node(n).kind {
        NodeKind::Data => ("[(", ")]"),
        NodeKind::Launch => ("([", "])"),
        NodeKind::Provisioner => ("[", "]"),
        NodeKind::Capture => ("[[", "]]"),
        NodeKind::Copy => ("[/", "/]"),
        NodeKind::PostProcessor => ("[\\", "/]"),
        NodeKind::Publish => (">", "]"),
        NodeKind::Finalize => ("{{", "}}"),
        NodeKind::ErrorCleanup | NodeKind::Discard | NodeKind::Cleanup => ("(", ")"),
    };
    let _ = writeln!(out, "{indent}n{}{open}\"{label}\"{close}", n.index());
}

/// Escape label text: mermaid reads `"` as the end of the label and `<`/`>` as HTML, so they
/// (and `#`, which starts an entity) become entity codes.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
