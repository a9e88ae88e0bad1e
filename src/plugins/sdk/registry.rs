//! What a plugin hands the runtime to publish into the registry, and how registry errors read
//! as step errors.

use super::{ArtifactImage, ReleaseTarget, StepError};
use std::collections::BTreeMap;

/// One session's images, to record as one build of a release.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Publication {
    /// The release; the runtime fills what is unset (an `hcp_packer_registry` block names only
    /// the product: the bucket is the default one and the release the run's fingerprint).
    pub target: ReleaseTarget,
    /// Channels to point at the release once it is complete.
    pub channels: Vec<String>,
    /// Labels recorded on the build.
    pub labels: BTreeMap<String, String>,
    /// The images; when empty, the runtime publishes the builder's artifact's.
    pub images: Vec<ArtifactImage>,
}

/// A registry failure as a step's error, with its hint.
pub fn step_error(e: crate::registry::Error) -> StepError {
    match e.hint() {
        Some(hint) => StepError::new(format!("{e} ({hint})")),
        None => StepError::new(e.to_string()),
    }
}

/// Run a registry call off the async threads (a store may block: SQLite's lock, an HTTP call).
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::registry::Result<T> + Send + 'static,
) -> Result<T, StepError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(step_error),
        Err(e) => Err(StepError::new(format!("the registry call failed: {e}"))),
    }
}
