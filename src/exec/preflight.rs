//! What kiln cannot run yet, refused before anything starts: each plugin says what it cannot
//! do, so a run never launches a machine it then cannot provision.

use crate::diagnostic::Diagnostic;
use crate::plan::{BuildGraph, NodeKind, Work};
use crate::plugins::Decoded;
use std::collections::HashSet;

/// Steps kiln cannot run yet, as diagnostics, before anything starts: a run never launches a
/// machine it then cannot provision. Each plugin says what it cannot do.
pub fn preflight(graph: &BuildGraph) -> Vec<Diagnostic> {
    let hint = "`kiln build -dry-run` shows what the build would do";
    let mut diags = Vec::new();
    let mut needs_connection: Vec<Diagnostic> = Vec::new();
    let mut refused = HashSet::new();
    let mut refuse = |span, what: String| {
        if refused.insert(what.clone()) {
            diags.push(Diagnostic::error(span, what).with_hint(hint));
        }
    };
    for (_, node) in graph.nodes() {
        let session = node.session.map(|s| &graph.sessions()[s]);
        let unsupported = match &node.work {
            Work::Data(d) => d.plugin.as_ref().and_then(|p| p.unsupported()),
            Work::Builder(_) if node.kind == NodeKind::Launch => {
                session.and_then(|s| s.config.builder.unsupported())
            }
            Work::Builder(_) | Work::Discard => None,
            Work::Provisioner(step) => match &step.decoded {
                Some(Decoded::Provisioner(p)) => {
                    let connects = session.map(|s| s.connects.clone());
                    match connects {
                        Some(Err(why)) if p.needs_connection() => {
                            needs_connection.push(
                                Diagnostic::error(
                                    node.span,
                                    format!("kiln cannot run the {} provisioner yet: it needs a communicator, and {why}", step.plugin),
                                )
                                .with_hint("connect with `communicator = \"ssh\"` (`ssh_host`, `ssh_username` and a password or key), or run the commands locally with `shell-local`; `kiln build -dry-run` shows what the build would do"),
                            );
                            None
                        }
                        _ => p.unsupported(),
                    }
                }
                _ => None,
            },
            Work::PostProcessor { step, .. } => match &step.decoded {
                Some(Decoded::PostProcessor(p)) => p.unsupported(),
                _ => None,
            },
            Work::Registry(_) | Work::Release(_) => None,
        };
        if let Some(what) = unsupported {
            refuse(node.span, what);
        }
    }
    // One diagnostic per provisioner block, however many builds use it.
    let mut seen = HashSet::new();
    needs_connection.retain(|d| seen.insert((d.span, d.message.clone())));
    diags.extend(needs_connection);
    diags
}
