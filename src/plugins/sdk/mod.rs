//! What plugins build on: the plugin traits, the step context the runtime hands them, their
//! errors and artifacts. Plugins import this module, never the runtime.

pub mod artifact;
pub mod context;
pub mod duration;
pub mod error;
pub mod generated;
pub mod journal;
pub mod plugin;
pub mod registry;

pub use artifact::{Artifact, ArtifactImage};
pub use context::{Connection, Host, Level, StepContext, StepInfo};
pub use error::StepError;
pub use plugin::{
    Builder, BuilderPlan, BuilderStep, BuilderStepKind, Config, DataSource, PostProcessor,
    Provisioner, ReleaseTarget, StepFuture,
};
pub use registry::Publication;
