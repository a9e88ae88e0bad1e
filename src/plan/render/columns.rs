//! A linear-time SVG layout for graphs too large for a general layout algorithm: the graph's
//! own structure is the layout. Data sources form the top row; each session is a column inside
//! its build's frame, one row per stage, parallel branches side by side; releases form the
//! bottom row. Edges are straight lines.

use super::is_cleanup_edge;
use crate::plan::{BuildGraph, NodeKind, Stage};
use petgraph::graph::NodeIndex;
use std::fmt::Write;

const BOX_W: f64 = 240.0;
const BOX_H: f64 = 40.0;
const GAP_X: f64 = 24.0;
const GAP_Y: f64 = 28.0;
const MARGIN: f64 = 20.0;
/// Room for a frame's title above its contents.
const TITLE: f64 = 22.0;
/// Characters that fit on a line of a box.
const LINE_CHARS: usize = 38;

/// Render `graph` as SVG, placing nodes by the graph's structure.
pub fn svg(graph: &BuildGraph, fill: impl Fn(NodeKind) -> &'static str) -> String {
    let mut pos: Vec<Option<(f64, f64)>> = vec![None; graph.len()];
    let mut frames: Vec<(f64, f64, f64, f64, String, bool)> = Vec::new();
    let row = |r: f64| r * (BOX_H + GAP_Y);
    let mut y0 = MARGIN;
    for (i, n) in graph.data().iter().enumerate() {
        pos[n.index()] = Some((MARGIN + i as f64 * (BOX_W + GAP_X), y0));
    }
    if !graph.data().is_empty() {
        y0 += BOX_H + GAP_Y * 2.0;
    }
    let mut x = MARGIN;
    let mut bottom = y0;
    for build in graph.builds() {
        let build_x = x;
        let mut build_bottom = y0;
        x += GAP_X / 2.0;
        for s in &build.sessions {
            let session = &graph.sessions()[*s];
            let top = y0 + TITLE * 2.0;
            let mut r = 0.0;
            let mut width: f64 = 1.0;
            for stage in &session.stages {
                match stage {
                    Stage::Step(n) => {
                        pos[n.index()] = Some((x, top + row(r)));
                        r += 1.0;
                    }
                    Stage::Parallel(branches) => {
                        width = width.max(branches.len() as f64);
                        let mut longest = 0;
                        for (b, branch) in branches.iter().enumerate() {
                            for (k, n) in branch.iter().enumerate() {
                                pos[n.index()] =
                                    Some((x + b as f64 * (BOX_W + GAP_X), top + row(r + k as f64)));
                            }
                            longest = longest.max(branch.len());
                        }
                        r += longest as f64;
                    }
                }
            }
            for (b, n) in session.always.iter().enumerate() {
                pos[n.index()] = Some((x + b as f64 * (BOX_W + GAP_X), top + row(r)));
                width = width.max(b as f64 + 1.0);
            }
            if !session.always.is_empty() {
                r += 1.0;
            }
            let w = width * (BOX_W + GAP_X);
            let h = TITLE + row(r);
            frames.push((
                x - GAP_X / 4.0,
                top - TITLE,
                w - GAP_X / 2.0,
                h,
                session.id.clone(),
                false,
            ));
            build_bottom = build_bottom.max(top + h);
            x += w + GAP_X / 2.0;
        }
        frames.push((
            build_x,
            y0,
            x - build_x,
            build_bottom - y0 + GAP_Y / 2.0,
            format!("build {}", build.name),
            true,
        ));
        bottom = bottom.max(build_bottom + GAP_Y / 2.0);
        x += GAP_X;
    }
    let release_y = bottom + GAP_Y * 2.0;
    for (i, r) in graph.releases().iter().enumerate() {
        pos[r.node.index()] = Some((MARGIN + i as f64 * (BOX_W + GAP_X), release_y));
    }
    let width = pos
        .iter()
        .flatten()
        .map(|(x, _)| x + BOX_W)
        .fold(x, f64::max)
        + MARGIN;
    let height = pos
        .iter()
        .flatten()
        .map(|(_, y)| y + BOX_H)
        .fold(bottom, f64::max)
        + MARGIN;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">"
    );
    out.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555555\"/></marker></defs>\n");
    // Build frames first so session frames and nodes draw over them.
    frames.sort_by_key(|f| !f.5);
    for (fx, fy, fw, fh, title, is_build) in &frames {
        let dash = if *is_build {
            ""
        } else {
            " stroke-dasharray=\"4 3\""
        };
        let _ = writeln!(
            out,
            "<rect x=\"{fx:.0}\" y=\"{fy:.0}\" width=\"{fw:.0}\" height=\"{fh:.0}\" rx=\"6\" fill=\"none\" stroke=\"#999999\"{dash}/><text x=\"{:.0}\" y=\"{:.0}\">{}</text>",
            fx + 6.0,
            fy + 15.0,
            escape(title)
        );
    }
    for (from, to) in graph.edges() {
        let (Some((x1, y1)), Some((x2, y2))) = (pos[from.index()], pos[to.index()]) else {
            continue;
        };
        let dash = if is_cleanup_edge(graph, to) {
            " stroke-dasharray=\"5 4\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<line x1=\"{:.0}\" y1=\"{:.0}\" x2=\"{:.0}\" y2=\"{y2:.0}\" stroke=\"#555555\"{dash} marker-end=\"url(#arrow)\"/>",
            x1 + BOX_W / 2.0,
            y1 + BOX_H,
            x2 + BOX_W / 2.0,
        );
    }
    for (i, node) in graph.nodes() {
        let Some((nx, ny)) = pos[i.index()] else {
            continue;
        };
        node_box(&mut out, graph, i, nx, ny, fill(node.kind));
    }
    out.push_str("</svg>\n");
    out
}

fn node_box(out: &mut String, graph: &BuildGraph, n: NodeIndex, x: f64, y: f64, fill: &str) {
    let node = graph.node(n);
    let rx = if node.kind == NodeKind::Launch { 10 } else { 2 };
    let _ = write!(
        out,
        "<g><title>{}</title><rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{BOX_W:.0}\" height=\"{BOX_H:.0}\" rx=\"{rx}\" fill=\"{fill}\" stroke=\"#333333\"/>",
        escape(&node.id)
    );
    let _ = write!(
        out,
        "<text x=\"{:.0}\" y=\"{:.0}\">{}</text>",
        x + 6.0,
        y + 16.0,
        escape(&clip(node.step_name()))
    );
    if !node.summary.is_empty() {
        let _ = write!(
            out,
            "<text x=\"{:.0}\" y=\"{:.0}\" fill=\"#555555\">{}</text>",
            x + 6.0,
            y + 32.0,
            escape(&clip(&node.summary))
        );
    }
    out.push_str("</g>\n");
}

/// Shorten a line to what fits in a box (the full id is in the box's tooltip).
fn clip(s: &str) -> String {
    if s.chars().count() <= LINE_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(LINE_CHARS - 1).collect();
    out.push('…');
    out
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
