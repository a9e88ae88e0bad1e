//! The `-events` stream: one JSON object per line, each an [`Event`] with the run's clock and
//! the layout's [`FORMAT_VERSION`]:
//!
//! ```json
//! {"format_version":1,"time":"2026-12-03T10:00:00.123Z","at_ms":12.5,"event":"step_finish","node":"null.a/provisioner[0].shell-local","kind":"provisioner","build":"null.a","plugin":"shell-local","duration_ms":3.1}
//! ```

use serde::Serialize;

/// The layout of an event line. Raised when a field changes meaning or goes away; a new field or
/// a new event keeps it.
pub const FORMAT_VERSION: u32 = 1;

/// The step an event is about.
#[derive(Clone, Debug, Serialize)]
pub struct Step<'a> {
    /// The graph's node id.
    pub node: &'a str,
    /// The node's kind (`launch`, `provisioner`, `cleanup`, ...).
    pub kind: &'a str,
    /// The build (session) the step belongs to; a data source has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<&'a str>,
}

/// One event of a run.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    RunStart {
        run_uuid: &'a str,
        steps: usize,
        builds: usize,
    },
    StepStart {
        #[serde(flatten)]
        step: Step<'a>,
    },
    /// A cleanup step starts.
    Cleanup {
        #[serde(flatten)]
        step: Step<'a>,
    },
    StepFinish {
        #[serde(flatten)]
        step: Step<'a>,
        duration_ms: f64,
    },
    StepFail {
        #[serde(flatten)]
        step: Step<'a>,
        duration_ms: f64,
        error: String,
        cancelled: bool,
    },
    StepSkip {
        #[serde(flatten)]
        step: Step<'a>,
        reason: &'a str,
    },
    /// A line of output.
    Log {
        build: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        node: Option<&'a str>,
        level: &'a str,
        message: &'a str,
    },
    BuildFinish {
        build: &'a str,
        duration_ms: f64,
        succeeded: bool,
    },
    /// The first interrupt arrived.
    Interrupt,
    /// The second interrupt arrived: the run ends with steps still running.
    Abandon,
    RunFinish {
        duration_ms: f64,
        failed: usize,
        interrupted: bool,
    },
}

/// An event as written: the version, the wall-clock time, milliseconds since the run started.
#[derive(Serialize)]
pub(super) struct Line<'a> {
    pub format_version: u32,
    pub time: String,
    pub at_ms: f64,
    #[serde(flatten)]
    pub event: &'a Event<'a>,
}

/// Milliseconds to the microsecond, as events give times and durations.
pub fn millis(d: std::time::Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}
