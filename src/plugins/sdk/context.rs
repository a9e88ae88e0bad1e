//! What a running step can reach: its place in the run, the output, the session's state and
//! its cancellation. The runtime implements [`Host`]; plugins see only [`StepContext`].

use super::error::StepError;
use crate::body::legacy::LegacyContext;
use crate::plugins::sdk::{Artifact, Publication};
use crate::registry::model::ParentRef;
use crate::registry::Store;
use crate::source::Span;
use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The kinds of line Packer's UI has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `==> target: text`: what a step is doing.
    Say,
    /// `    target: text`: output of a command or detail.
    Message,
    /// `==> target: text`, in red: an error.
    Error,
}

impl Level {
    /// The level's name in events.
    pub fn name(self) -> &'static str {
        match self {
            Level::Say => "say",
            Level::Message => "message",
            Level::Error => "error",
        }
    }
}

/// An open connection to the machine a session builds (an SSH session), kept by the runtime
/// for the session's later steps and closed when the session ends.
pub trait Connection: Send + Sync + 'static {
    /// Hang up.
    fn close(self: Arc<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
    /// The concrete connection, for the plugins that know its type.
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// The runtime's side of a step: output, the session's state, and what steps share.
pub trait Host: Send + Sync {
    /// Print one line of a step's output.
    fn line(&self, step: &StepInfo, level: Level, text: &str);
    /// Say what the step is waiting on, for the status line.
    fn activity(&self, step: &StepInfo, text: &str);
    /// Never print this text again (a password, a key).
    fn add_secret(&self, secret: &str);
    /// `PACKER_RUN_UUID`.
    fn run_uuid(&self) -> &str;
    /// The session's generated data (`build.ID`, `build.Host`, ...) known so far.
    fn generated(&self, session: usize) -> BTreeMap<String, String>;
    /// The builder launched the session: its generated data and its artifact.
    fn launched(&self, session: usize, generated: BTreeMap<String, String>, artifact: Artifact);
    /// The session's connection to its machine, once one is open.
    fn connection(&self, session: usize) -> Option<Arc<dyn Connection>>;
    /// Keep the session's connection for its later steps.
    fn connected(&self, session: usize, connection: Arc<dyn Connection>);
    /// One prompt on the terminal at a time.
    fn prompt(&self) -> &tokio::sync::Mutex<()>;
    /// A lock for a file several steps write (a shared manifest).
    fn file_lock(&self, path: &Path) -> Arc<tokio::sync::Mutex<()>>;
    /// Record the session's images in the registry as one build of a release; says on the
    /// step what it published.
    fn publish<'a>(
        &'a self,
        step: &'a StepInfo,
        publication: Publication,
    ) -> Pin<Box<dyn Future<Output = Result<(), StepError>> + Send + 'a>>;
    /// The registry the run publishes to, for the data sources that read it.
    fn registry(&self) -> Result<Arc<dyn Store>, StepError>;
    /// A data source read an image or a release from the registry: every release the run
    /// publishes was built from it.
    fn built_from(
        &self,
        parent: ParentRef,
    ) -> Pin<Box<dyn Future<Output = Result<(), StepError>> + Send + '_>>;
    /// The legacy-template context of a session (`{{ build `ID` }}`, `{{ .Name }}`, ...), with
    /// its generated data so far.
    fn legacy(&self, session: Option<usize>) -> LegacyContext;
}

/// Where a step sits in the run.
#[derive(Clone, Debug)]
pub struct StepInfo {
    /// The graph node's index.
    pub index: usize,
    /// The node's id (`null.a/provisioner[0].shell`).
    pub id: String,
    /// The session the step belongs to.
    pub session: Option<usize>,
    /// The session's build name as Packer prints it (`null.a`), empty for none.
    pub target: String,
    /// The source as used, `type.name`.
    pub source: String,
    /// The builder type of the session.
    pub builder: String,
    /// The block the step came from.
    pub span: Span,
}

/// What a running step can reach.
#[derive(Clone, Copy)]
pub struct StepContext<'a> {
    pub host: &'a dyn Host,
    pub step: &'a StepInfo,
    pub cancel: &'a CancellationToken,
}

impl<'a> StepContext<'a> {
    /// The same step with another cancellation token (one attempt under a timeout).
    pub fn with_cancel(&self, cancel: &'a CancellationToken) -> StepContext<'a> {
        StepContext { cancel, ..*self }
    }

    /// The session's build name as Packer prints it (`null.a`, `quickstart.file.note`).
    pub fn target(&self) -> &str {
        &self.step.target
    }

    pub fn say(&self, text: &str) {
        self.host.line(self.step, Level::Say, text);
    }

    pub fn message(&self, text: &str) {
        self.host.line(self.step, Level::Message, text);
    }

    pub fn error(&self, text: &str) {
        self.host.line(self.step, Level::Error, text);
    }

    /// Say what the step is waiting on, for the status line.
    pub fn activity(&self, text: &str) {
        self.host.activity(self.step, text);
    }

    /// Never print this text again.
    pub fn add_secret(&self, secret: &str) {
        self.host.add_secret(secret);
    }

    /// `PACKER_RUN_UUID`.
    pub fn run_uuid(&self) -> String {
        self.host.run_uuid().to_string()
    }

    /// Write `record` to the run's journal, fsynced, before the step goes on.
    pub fn journal(&self, record: &super::journal::Record) -> Result<(), StepError> {
        super::journal::Journal::of(self.host.run_uuid())
            .and_then(|j| j.append(record))
            .map_err(|e| StepError::new(e.to_string()))
    }

    /// Say `Pausing <d> <why>...` and wait that long, unless the step is cancelled first.
    pub async fn pause(&self, d: std::time::Duration, why: &str) -> Result<(), StepError> {
        let d_text = super::duration::human(d);
        self.say(&format!("Pausing {d_text} {why}..."));
        self.activity(&format!("pausing {d_text}"));
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = self.cancel.cancelled() => Err(StepError::cancelled()),
        }
    }

    /// `PACKER_BUILD_NAME`: the source's name.
    pub fn build_name(&self) -> String {
        let source = &self.step.source;
        source
            .split_once('.')
            .map_or(source.clone(), |(_, n)| n.to_string())
    }

    /// `PACKER_BUILDER_TYPE`.
    pub fn builder_type(&self) -> String {
        self.step.builder.clone()
    }

    /// One value of the build's generated data.
    pub fn generated(&self, key: &str) -> Option<String> {
        let s = self.step.session?;
        self.host.generated(s).get(key).cloned()
    }

    /// The legacy-template context with the build's generated data.
    pub fn legacy(&self) -> LegacyContext {
        self.host.legacy(self.step.session)
    }

    /// The session's open connection of type `C`.
    pub fn connection<C: Send + Sync + 'static>(&self) -> Option<Arc<C>> {
        let s = self.step.session?;
        self.host.connection(s)?.as_any().downcast::<C>().ok()
    }

    /// The session this step belongs to, or an error for a step outside any.
    pub fn session(&self) -> Result<usize, StepError> {
        self.step
            .session
            .ok_or_else(|| StepError::new("the step belongs to no build"))
    }
}
