//! The SVG view, laid out in-process (no graphviz needed): one box per step, filled by kind,
//! with dashed edges into cleanup steps. `layout-rs` lays out graphs of up to
//! [`LAYOUT_UP_TO`] steps; its layering grows quadratically, so larger graphs are placed by
//! their own structure (`columns.rs`), in linear time.

use super::is_cleanup_edge;
use crate::plan::{BuildGraph, NodeKind};
use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

const FONT_SIZE: usize = 12;

/// Graphs up to this many steps also get `layout-rs`'s edge-crossing optimisation.
const OPTIMISE_UP_TO: usize = 300;

/// Graphs up to this many steps are laid out by `layout-rs`.
pub const LAYOUT_UP_TO: usize = 1_000;

/// Render the SVG view. Fails only if the layout library gives up on the graph.
pub fn svg(graph: &BuildGraph) -> Result<String, String> {
    if graph.len() > LAYOUT_UP_TO {
        return Ok(super::columns::svg(graph, fill_name));
    }
    let dir = Orientation::TopToBottom;
    let layout = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut vg = VisualGraph::new(dir);
        let mut handles = Vec::with_capacity(graph.len());
        for (_, node) in graph.nodes() {
            let mut label = node.id.clone();
            if !node.summary.is_empty() {
                label.push('\n');
                label.push_str(&node.summary);
            }
            let shape = ShapeKind::new_box(&label);
            let rounded = if node.kind == NodeKind::Launch { 10 } else { 0 };
            let look = StyleAttr::new(
                Color::fast("black"),
                1,
                Some(fill(node.kind)),
                rounded,
                FONT_SIZE,
            );
            let size = get_shape_size(dir, &shape, FONT_SIZE, false);
            handles.push(vg.add_node(Element::create(shape, look, dir, size)));
        }
        for (from, to) in graph.edges() {
            let style = if is_cleanup_edge(graph, to) {
                LineStyleKind::Dashed
            } else {
                LineStyleKind::Normal
            };
            let look = StyleAttr::new(Color::fast("#555555"), 1, None, 0, FONT_SIZE);
            let arrow = Arrow::new(
                LineEndKind::None,
                LineEndKind::Arrow,
                style,
                "",
                &look,
                &None,
                &None,
            );
            vg.add_edge(arrow, handles[from.index()], handles[to.index()]);
        }
        let mut writer = SVGWriter::new();
        if graph.is_empty() {
            return writer.finalize();
        }
        vg.do_it(false, graph.len() > OPTIMISE_UP_TO, false, &mut writer);
        writer.finalize()
    }));
    layout.map_err(|_| {
        "the SVG layout failed on this graph; use -format=dot and graphviz instead".to_string()
    })
}

fn fill(kind: NodeKind) -> Color {
    Color::fast(fill_name(kind))
}

fn fill_name(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Data => "#dbe9f6",
        NodeKind::Launch => "#d5f0d5",
        NodeKind::Provisioner => "#ffffff",
        NodeKind::Capture => "#fdebc8",
        NodeKind::Copy => "#fff6d9",
        NodeKind::PostProcessor => "#ece3f6",
        NodeKind::Publish => "#d9f2f2",
        NodeKind::Finalize => "#b9e4e4",
        NodeKind::ErrorCleanup | NodeKind::Discard | NodeKind::Cleanup => "#f3dcdc",
    }
}
