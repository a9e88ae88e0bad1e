//! Packer's closing summary: the errors of failed builds, the artifacts of successful ones
//! (also in `-machine-readable` form), and the run's exit code.

use super::events::{self, Event};
use super::scheduler::Finished;
use super::state::RunState;
use crate::plugins::sdk::duration;
use crate::plugins::sdk::Artifact;
use std::time::Duration;

/// Print the closing summary; returns the exit code.
pub(super) fn summary(shared: &RunState, finished: &Finished, wall: Duration) -> i32 {
    let ui = &shared.ui;
    ui.plain(&format!(
        "\n==> Wait completed after {}",
        duration::human(wall)
    ));
    let sessions = shared.graph.sessions();
    let mut failed = Vec::new();
    for (s, info) in sessions.iter().enumerate() {
        if let Some(e) = &shared.session(s).error {
            failed.push((info.name.clone(), e.message()));
        }
    }
    for (n, node) in shared.graph.nodes() {
        if node.session.is_none() {
            if let Some(Err(e)) = &finished.results[n.index()] {
                failed.push((node.id.clone(), e.message()));
            }
        }
    }
    if !failed.is_empty() {
        ui.machine("", "error-count", &[&failed.len().to_string()]);
        ui.plain_error("\n==> Some builds didn't complete successfully and had errors:");
        for (name, message) in &failed {
            ui.machine(name, "error", &[message]);
            ui.plain_error(&format!("--> {name}: {message}"));
        }
    }
    let artifacts: Vec<(usize, Vec<Artifact>)> = sessions
        .iter()
        .enumerate()
        .filter(|(s, _)| shared.session(*s).error.is_none())
        .map(|(s, _)| (s, shared.artifacts(s)))
        .filter(|(_, a)| !a.is_empty())
        .collect();
    if artifacts.is_empty() {
        ui.plain("\n==> Builds finished but no artifacts were created.");
    } else {
        ui.plain("\n==> Builds finished. The artifacts of successful builds are:");
    }
    for (s, artifacts) in artifacts {
        let info = &sessions[s];
        ui.machine(
            &info.name,
            "artifact-count",
            &[&artifacts.len().to_string()],
        );
        for (i, a) in artifacts.iter().enumerate() {
            let i = i.to_string();
            ui.machine(&info.name, "artifact", &[&i, "builder-id", &a.builder_id]);
            ui.machine(&info.name, "artifact", &[&i, "id", &a.id]);
            ui.machine(&info.name, "artifact", &[&i, "string", &a.description]);
            let files: Vec<String> = a.files.iter().map(|f| f.display().to_string()).collect();
            ui.machine(
                &info.name,
                "artifact",
                &[&i, "files-count", &files.len().to_string()],
            );
            for (j, f) in files.iter().enumerate() {
                ui.machine(&info.name, "artifact", &[&i, "file", &j.to_string(), f]);
            }
            ui.machine(&info.name, "artifact", &[&i, "end"]);
            ui.plain(&format!("--> {}: {}", info.name, a.description));
        }
    }
    if finished.interrupted {
        ui.plain("Cleanly cancelled builds after being interrupted.");
    }
    ui.event(&Event::RunFinish {
        duration_ms: events::millis(wall),
        failed: failed.len(),
        interrupted: finished.interrupted,
    });
    if failed.is_empty() && !finished.interrupted {
        0
    } else {
        1
    }
}
