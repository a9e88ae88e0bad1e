//! The text view: data sources, then each build's sessions as numbered steps (a parallel stage
//! shows its branches as a tree), then the releases. What runs at once and what follows what is
//! readable at a glance.

use super::plural;
use crate::plan::{BuildGraph, NodeKind, Session, Stage};
use petgraph::graph::NodeIndex;
use std::fmt::Write;

/// Render the text view.
pub fn text(graph: &BuildGraph) -> String {
    let mut out = String::new();
    let sessions = graph.sessions().len();
    if sessions == 0 {
        out.push_str("Nothing to build.\n");
    } else {
        let _ = writeln!(
            out,
            "Plan: {} for {} in {}.",
            plural(graph.len(), "step"),
            plural(sessions, "source"),
            plural(graph.builds().len(), "build")
        );
    }
    if !graph.data().is_empty() {
        out.push_str("\ndata sources, first:\n");
        let rows: Vec<Row> = graph
            .data()
            .iter()
            .map(|n| Row::new(format!("  {}", graph.node(*n).id), describe(graph, *n)))
            .collect();
        write_rows(&mut out, &rows);
    }
    for build in graph.builds() {
        let n = build.sessions.len();
        let parallel = if n > 1 { ", in parallel" } else { "" };
        let _ = writeln!(
            out,
            "\nbuild {}: {}{parallel}",
            build.name,
            plural(n, "source")
        );
        for s in &build.sessions {
            session(&mut out, graph, &graph.sessions()[*s]);
        }
    }
    if !graph.releases().is_empty() {
        out.push_str("\nreleases, each once every source publishing to it has:\n");
        for release in graph.releases() {
            let node = graph.node(release.node);
            write_rows(
                &mut out,
                &[Row::new(format!("  {}", node.id), node.summary.clone())],
            );
            for p in &release.publishers {
                let _ = writeln!(out, "      after {}", graph.node(*p).id);
            }
        }
    }
    out
}

fn session(out: &mut String, graph: &BuildGraph, session: &Session) {
    let region = session
        .region
        .as_ref()
        .map(|r| format!(" in {r}"))
        .unwrap_or_default();
    let _ = writeln!(out, "\n  {}  ({}{region})", session.id, session.builder);
    let mut rows = Vec::new();
    for (k, stage) in session.stages.iter().enumerate() {
        let number = format!("{:>5}. ", k + 1);
        match stage {
            Stage::Step(n) => rows.push(Row::new(
                format!("{number}{}", graph.node(*n).step_name()),
                describe(graph, *n),
            )),
            Stage::Parallel(branches) => {
                rows.push(Row::new(format!("{number}in parallel:"), String::new()));
                for (b, branch) in branches.iter().enumerate() {
                    let last = b + 1 == branches.len();
                    for (j, n) in branch.iter().enumerate() {
                        let lead = match (j == 0, last) {
                            (true, false) => "├─ ",
                            (true, true) => "└─ ",
                            (false, false) => "│  ",
                            (false, true) => "   ",
                        };
                        rows.push(Row::new(
                            format!("       {lead}{}", graph.node(*n).step_name()),
                            describe(graph, *n),
                        ));
                    }
                }
            }
        }
    }
    for n in &session.always {
        let node = graph.node(*n);
        let (when, summary) = if node.kind == NodeKind::ErrorCleanup {
            ("on failure", node.summary.clone())
        } else {
            let after: Vec<&str> = graph
                .predecessors(*n)
                .into_iter()
                .map(|p| graph.node(p).step_name())
                .collect();
            (
                "always",
                format!("{}; after {}", node.summary, after.join(", ")),
            )
        };
        rows.push(Row::new(
            format!("       {when}: {}", node.step_name()),
            summary,
        ));
    }
    write_rows(out, &rows);
}

/// A step's summary, with the data sources it waits for.
fn describe(graph: &BuildGraph, n: NodeIndex) -> String {
    let node = graph.node(n);
    let data: Vec<&str> = graph
        .predecessors(n)
        .into_iter()
        .map(|p| graph.node(p))
        .filter(|p| p.kind == NodeKind::Data && p.session.is_none())
        .map(|p| p.id.as_str())
        .collect();
    match (node.summary.is_empty(), data.is_empty()) {
        (_, true) => node.summary.clone(),
        (true, false) => format!("after {}", data.join(", ")),
        (false, false) => format!("{} (after {})", node.summary, data.join(", ")),
    }
}

struct Row {
    left: String,
    right: String,
}

impl Row {
    fn new(left: String, right: String) -> Row {
        Row { left, right }
    }
}

/// Rows with their descriptions aligned in one column (capped, so one long id does not push
/// every description off the screen).
fn write_rows(out: &mut String, rows: &[Row]) {
    let width = rows
        .iter()
        .filter(|r| !r.right.is_empty())
        .map(|r| r.left.chars().count())
        .max()
        .unwrap_or(0)
        .min(56);
    for row in rows {
        if row.right.is_empty() {
            let _ = writeln!(out, "{}", row.left);
            continue;
        }
        let pad = width.saturating_sub(row.left.chars().count()) + 3;
        let _ = writeln!(out, "{}{:pad$}{}", row.left, "", row.right, pad = pad);
    }
}
