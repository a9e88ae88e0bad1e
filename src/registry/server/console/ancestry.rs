//! A release's ancestry as a graph: the releases it was built from (and theirs), and the ones
//! built from it (and theirs), laid out in columns by generation and drawn as inline SVG.

use super::{href, Failure, Viewer};
use crate::registry::auth::Scope;
use crate::registry::model::{AncestryStatus, Release, ReleaseStatus};
use crate::registry::server::Registry;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Generations walked each way from the release.
const DEPTH: i32 = 3;
/// Releases drawn at most; a wider family is cut, and the page says so.
const MAX_NODES: usize = 40;

/// One release in the drawing.
pub(super) struct Node {
    /// `bucket/product/release`.
    pub key: String,
    /// Generations from the release shown: parents are -1, children 1.
    pub depth: i32,
    /// Known when the viewer may read the release.
    pub status: Option<ReleaseStatus>,
    pub link: Option<String>,
}

/// A parent → child edge.
pub(super) struct Edge {
    pub parent: String,
    pub child: String,
    pub status: AncestryStatus,
    pub channel: Option<String>,
}

/// The family of one release.
pub(super) struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Whether [`MAX_NODES`] cut it.
    pub truncated: bool,
}

impl Graph {
    /// Walk parents and children breadth first from `release`, reading only what the viewer
    /// may read (a release in another bucket is drawn by name alone).
    pub async fn walk(r: &Registry, viewer: &Viewer, release: &Release) -> Result<Graph, Failure> {
        let root = key(&release.bucket, &release.product, &release.name);
        let mut depths = BTreeMap::from([(root.clone(), 0)]);
        let mut statuses = BTreeMap::from([(root.clone(), release.status)]);
        let mut edges = BTreeMap::new();
        let mut truncated = false;
        let mut queue: VecDeque<(Release, i32)> = VecDeque::from([(release.clone(), 0)]);
        while let Some((at, depth)) = queue.pop_front() {
            let up = at.parents.iter().map(|d| (d, d.parent.clone(), depth - 1));
            let down = at.children.iter().map(|d| (d, d.child.clone(), depth + 1));
            for (dep, other, next) in up.chain(down) {
                // Keep walking away from the root only: a parent's other children are not drawn.
                if (depth < 0 && next > depth) || (depth > 0 && next < depth) {
                    continue;
                }
                if !depths.contains_key(&other) {
                    if depths.len() >= MAX_NODES {
                        truncated = true;
                        continue;
                    }
                    depths.insert(other.clone(), next);
                    if next.abs() <= DEPTH {
                        if let Some(found) = read(r, viewer, &other).await? {
                            statuses.insert(other.clone(), found.status);
                            if next.abs() < DEPTH {
                                queue.push_back((found, next));
                            }
                        }
                    }
                }
                edges
                    .entry((dep.parent.clone(), dep.child.clone()))
                    .or_insert(Edge {
                        parent: dep.parent.clone(),
                        child: dep.child.clone(),
                        status: dep.status,
                        channel: dep.channel.clone(),
                    });
            }
        }
        let nodes = depths
            .into_iter()
            .map(|(key, depth)| {
                let status = statuses.get(&key).copied();
                let link = status.and_then(|_| {
                    let mut parts = key.splitn(3, '/');
                    let (b, p, n) = (parts.next()?, parts.next()?, parts.next()?);
                    Some(href(b, p, Some(("releases", n))))
                });
                Node {
                    key,
                    depth,
                    status,
                    link,
                }
            })
            .collect();
        Ok(Graph {
            nodes,
            edges: edges.into_values().collect(),
            truncated,
        })
    }

    /// Whether there is anything to draw besides the release itself.
    pub fn is_alone(&self) -> bool {
        self.edges.is_empty()
    }

    /// The drawing: one column per generation, oldest on the left.
    pub fn svg(&self) -> maud::Markup {
        const W: i32 = 230;
        const H: i32 = 48;
        const GAP_X: i32 = 60;
        const GAP_Y: i32 = 16;
        let min = self.nodes.iter().map(|n| n.depth).min().unwrap_or(0);
        let mut rows: BTreeMap<i32, i32> = BTreeMap::new();
        let mut at: BTreeMap<&str, (i32, i32)> = BTreeMap::new();
        for n in &self.nodes {
            let row = rows.entry(n.depth).or_insert(0);
            let x = 10 + (n.depth - min) * (W + GAP_X);
            let y = 10 + *row * (H + GAP_Y);
            *row += 1;
            at.insert(&n.key, (x, y));
        }
        let width = at.values().map(|(x, _)| x + W + 10).max().unwrap_or(W + 20);
        let height = at.values().map(|(_, y)| y + H + 10).max().unwrap_or(H + 20);
        let drawn: BTreeSet<&str> = at.keys().copied().collect();
        maud::html! {
            svg class="ancestry" xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
                viewBox=(format!("0 0 {width} {height}")) role="img"
                aria-label="The release's ancestry: parents on the left, children on the right" {
                defs {
                    marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8"
                        markerHeight="8" orient="auto-start-reverse" {
                        path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" {}
                    }
                }
                @for e in self.edges.iter().filter(|e| drawn.contains(e.parent.as_str()) && drawn.contains(e.child.as_str())) {
                    @let (px, py) = at[e.parent.as_str()];
                    @let (cx, cy) = at[e.child.as_str()];
                    @let (x1, y1, x2, y2) = (px + W, py + H / 2, cx, cy + H / 2);
                    @let mid = (x1 + x2) / 2;
                    path class={ "edge " (e.status.as_str().to_lowercase()) } marker-end="url(#arrow)"
                        d=(format!("M {x1} {y1} C {mid} {y1}, {mid} {y2}, {x2} {y2}")) {
                        title { (e.parent) " → " (e.child)
                            @if let Some(c) = &e.channel { " (through channel " (c) ")" }
                            ": " (e.status) }
                    }
                }
                @for n in &self.nodes {
                    @let (x, y) = at[n.key.as_str()];
                    @let class = match (n.depth, n.status) {
                        (0, _) => "node self",
                        (_, Some(ReleaseStatus::Revoked | ReleaseStatus::RevocationScheduled)) => "node revoked",
                        (_, None) => "node hidden",
                        _ => "node",
                    };
                    @let body = maud::html! {
                        rect x=(x) y=(y) width=(W) height=(H) rx="6" {}
                        text x=(x + 10) y=(y + 20) class="name" { (short(&n.key, 32)) }
                        text x=(x + 10) y=(y + 38) class="status" {
                            @match n.status { Some(s) => (s), None => "not visible to this token" }
                        }
                    };
                    g class=(class) data-release=(n.key) {
                        title { (n.key) }
                        @match &n.link {
                            Some(link) if n.depth != 0 => a href=(link) { (body) },
                            _ => (body),
                        }
                    }
                }
            }
        }
    }
}

/// `bucket/product/release`, the form dependencies name releases by.
fn key(bucket: &str, product: &str, release: &str) -> String {
    format!("{bucket}/{product}/{release}")
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{cut}…")
}

/// The release `bucket/product/release`, when the viewer may read it and it still exists.
async fn read(r: &Registry, viewer: &Viewer, key: &str) -> Result<Option<Release>, Failure> {
    let mut parts = key.splitn(3, '/');
    let (Some(b), Some(p), Some(n)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    if !viewer.token.allows(Scope::Read, Some(b)) {
        return Ok(None);
    }
    let (b, p, n) = (b.to_string(), p.to_string(), n.to_string());
    match r.call(move |s| s.release(&b, &p, &n)).await {
        Ok(found) => Ok(Some(found)),
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_with_an_ellipsis() {
        assert_eq!(short("abc", 5), "abc");
        assert_eq!(short("abcdefgh", 5), "abcd…");
    }
}
