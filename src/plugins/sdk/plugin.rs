//! One small interface per plugin kind, as Packer's SDK has them (`packer.Builder`,
//! `packer.Provisioner`, `packer.PostProcessor`, `packer.Datasource`). A plugin's decoded config
//! implements its kind's trait; the planner asks it what its steps are and the runtime runs them
//! through the trait, so neither ever names a plugin.

use super::context::StepContext;
use super::error::StepError;
use crate::body::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::plugins::sdk::Artifact;
use crate::source::Span;
use crate::value::Value;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

/// A running step.
pub type StepFuture<'a, T = ()> = Pin<Box<dyn Future<Output = Result<T, StepError>> + Send + 'a>>;

/// A plugin config as decoded from a block: Packer's `Prepare()` checks, pointing into the
/// body it was decoded from. Values unknown until build time are never reported.
pub trait Config: serde::de::DeserializeOwned + Debug + Send + Sync + 'static {
    /// The checks beyond the field types.
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic>;
}

/// What one of a builder's steps is in its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuilderStepKind {
    /// Find something the launch needs (amazon-ebs's `source_ami_filter`).
    Lookup,
    /// Start the session: launch an instance, connect, or write a file.
    Launch,
    /// Make the image once the provisioners are done.
    Capture,
    /// Copy the image to another region; copies run at once, after the capture.
    Copy,
    /// Tear down what the launch made, after the capture, whatever happened.
    Cleanup,
}

/// One of a builder's steps, as the plan shows it and the runtime hands it back.
#[derive(Clone, Debug, PartialEq)]
pub struct BuilderStep {
    pub kind: BuilderStepKind,
    /// The step's name in its node's id (`launch`, `copy[us-west-2]`).
    pub name: String,
    /// What it does, in a few words ("copy the AMI to us-west-2").
    pub summary: String,
    /// The cloud region it works in.
    pub region: Option<String>,
    /// It calls a cloud API, so it counts against its region's limit.
    pub api: bool,
    /// The part of the config it comes from; the source block when `None`.
    pub span: Option<Span>,
    /// The plugin whose work it is, when not the builder's own (amazon-ebs's lookup is the
    /// `amazon-ami` data source's).
    pub plugin: Option<&'static str>,
}

/// A builder's steps for one session.
#[derive(Clone, Debug, PartialEq)]
pub struct BuilderPlan {
    pub steps: Vec<BuilderStep>,
    /// `Ok` when the launch leaves a connection provisioners can use, else why not.
    pub connects: Result<(), String>,
}

/// A builder (`source` blocks).
pub trait Builder: Debug + Send + Sync {
    /// The provider its images live on, as the registry records them (HCP's platform): `aws`,
    /// `null`, `file`.
    fn platform(&self) -> &'static str;

    /// The session's steps, given the config's evaluated body (where unknown values still show
    /// as unknown).
    fn plan(&self, body: &BodyValue) -> BuilderPlan;

    /// What a dry run shows of the config for `step`.
    fn show(&self, step: &BuilderStep, body: &BodyValue) -> Option<BodyValue> {
        (step.kind == BuilderStepKind::Launch).then(|| body.clone())
    }

    /// Why kiln cannot run this configuration yet; checked before anything starts.
    fn unsupported(&self) -> Option<String> {
        None
    }

    /// Run one of the steps [`Builder::plan`] described. The launch reports its generated
    /// data and artifact through [`StepContext`]'s host.
    fn run<'a>(&'a self, step: &'a BuilderStep, cx: StepContext<'a>) -> StepFuture<'a>;
}

/// A provisioner (`provisioner` blocks).
pub trait Provisioner: Debug + Send + Sync {
    /// It works over the session's connection to its machine (not on the local host).
    fn needs_connection(&self) -> bool {
        false
    }

    /// Why kiln cannot run this configuration yet.
    fn unsupported(&self) -> Option<String> {
        None
    }

    fn provision<'a>(&'a self, cx: StepContext<'a>) -> StepFuture<'a>;
}

/// Where a publishing post-processor puts a build's images; `None` for a part known only once
/// the build runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseTarget {
    pub bucket: Option<String>,
    pub product: Option<String>,
    pub release: Option<String>,
}

impl ReleaseTarget {
    /// `bucket/product/release`, `*` standing for an unknown part.
    pub fn path(&self) -> String {
        let part = |p: &Option<String>| p.clone().unwrap_or_else(|| "*".into());
        format!(
            "{}/{}/{}",
            part(&self.bucket),
            part(&self.product),
            part(&self.release)
        )
    }
}

/// A post-processor (`post-processor` blocks and `post-processors` chains).
pub trait PostProcessor: Debug + Send + Sync {
    /// Whether its input artifact survives it: `keep_input_artifact` when set, else the
    /// plugin's default (Packer deletes it).
    fn keeps_input(&self, keep_input_artifact: Option<bool>) -> bool {
        keep_input_artifact.unwrap_or(false)
    }

    /// The registry release it publishes to, when it publishes; a part known only once the
    /// build runs is `None`.
    fn publishes(&self) -> Option<ReleaseTarget> {
        None
    }

    /// Why kiln cannot run this configuration yet.
    fn unsupported(&self) -> Option<String> {
        None
    }

    /// Work on `input`; returns the artifact it leaves.
    fn post_process<'a>(
        &'a self,
        cx: StepContext<'a>,
        input: &'a Artifact,
    ) -> StepFuture<'a, Artifact>;
}

/// A data source (`data` blocks).
pub trait DataSource: Debug + Send + Sync {
    /// What reading it does, for the plan.
    fn summary(&self, body: &BodyValue) -> String;

    /// The region it reads in, as the plan shows it.
    fn region(&self, body: &BodyValue) -> Option<String> {
        crate::body::shown_attr(body, "region")
    }

    /// It calls a cloud API, so it counts against its region's limit.
    fn calls_api(&self) -> bool {
        false
    }

    /// Why kiln cannot read it during a build yet.
    fn unsupported(&self) -> Option<String> {
        None
    }

    /// Read the data: the value `data.TYPE.NAME` holds for the steps after it.
    fn read<'a>(&'a self, cx: StepContext<'a>) -> StepFuture<'a, Value>;
}
