//! HCP Packer's status values for releases (versions) and builds, and how a release's is derived.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A build's status, stored as is. HCP's `BuildStatus` without the `BUILD_` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BuildStatus {
    /// Expected by its release but not started.
    Unset,
    /// Being built; its heartbeat says it is alive.
    Running,
    /// Built, images attached.
    Done,
    /// Stopped on purpose.
    Cancelled,
    /// Failed, or its heartbeat went stale.
    Failed,
}

impl BuildStatus {
    /// The stored (and printed) name: `UNSET`, `RUNNING`, `DONE`, `CANCELLED`, `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            BuildStatus::Unset => "UNSET",
            BuildStatus::Running => "RUNNING",
            BuildStatus::Done => "DONE",
            BuildStatus::Cancelled => "CANCELLED",
            BuildStatus::Failed => "FAILED",
        }
    }

    /// HCP's enum name (`BUILD_DONE`).
    pub fn hcp_name(self) -> String {
        format!("BUILD_{}", self.as_str())
    }

    /// Read a stored name back.
    pub fn parse(s: &str) -> Option<BuildStatus> {
        Some(match s {
            "UNSET" => BuildStatus::Unset,
            "RUNNING" => BuildStatus::Running,
            "DONE" => BuildStatus::Done,
            "CANCELLED" => BuildStatus::Cancelled,
            "FAILED" => BuildStatus::Failed,
            _ => return None,
        })
    }
}

impl fmt::Display for BuildStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a build that did not finish ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BuildEnd {
    /// The build failed.
    Failed,
    /// The build was cancelled.
    Cancelled,
}

impl BuildEnd {
    /// The status this end leaves the build in.
    pub fn status(self) -> BuildStatus {
        match self {
            BuildEnd::Failed => BuildStatus::Failed,
            BuildEnd::Cancelled => BuildStatus::Cancelled,
        }
    }
}

/// A release's status. HCP's `VersionStatus` without the `VERSION_` prefix.
///
/// None of it is stored: a release stores its completion time, its revocation (time, message,
/// kind) and its builds' statuses, and the status is derived from those at read time. So a
/// scheduled revocation takes effect at its time with no job running, and a release's status can
/// never disagree with its builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReleaseStatus {
    /// Builds are expected or running; not complete yet.
    Running,
    /// Complete: every expected build is DONE (HCP's ACTIVE, "valid and ready to be used").
    Active,
    /// Nothing is running any more, some builds are DONE and some FAILED or CANCELLED.
    Incomplete,
    /// Nothing is running any more, no build is DONE and some FAILED.
    Failed,
    /// Nothing is running any more, no build is DONE or FAILED and some were CANCELLED.
    Cancelled,
    /// Revoked: lookups refuse it.
    Revoked,
    /// Complete, with a revocation set for a future time.
    RevocationScheduled,
}

impl ReleaseStatus {
    /// The printed name: `RUNNING`, `ACTIVE`, `INCOMPLETE`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::Running => "RUNNING",
            ReleaseStatus::Active => "ACTIVE",
            ReleaseStatus::Incomplete => "INCOMPLETE",
            ReleaseStatus::Failed => "FAILED",
            ReleaseStatus::Cancelled => "CANCELLED",
            ReleaseStatus::Revoked => "REVOKED",
            ReleaseStatus::RevocationScheduled => "REVOCATION_SCHEDULED",
        }
    }

    /// HCP's enum name (`VERSION_ACTIVE`).
    pub fn hcp_name(self) -> String {
        format!("VERSION_{}", self.as_str())
    }

    /// Derive the status from what is stored: whether the release completed, when (if ever) it
    /// is revoked, the builds' statuses, and the time now.
    pub fn derive(
        complete: bool,
        revoke_at: Option<super::Timestamp>,
        builds: impl IntoIterator<Item = BuildStatus>,
        now: super::Timestamp,
    ) -> ReleaseStatus {
        match revoke_at {
            Some(at) if at <= now => return ReleaseStatus::Revoked,
            Some(_) => return ReleaseStatus::RevocationScheduled,
            None => {}
        }
        if complete {
            return ReleaseStatus::Active;
        }
        let (mut running, mut done, mut failed, mut cancelled) = (false, false, false, false);
        for s in builds {
            match s {
                BuildStatus::Running | BuildStatus::Unset => running |= s == BuildStatus::Running,
                BuildStatus::Done => done = true,
                BuildStatus::Failed => failed = true,
                BuildStatus::Cancelled => cancelled = true,
            }
        }
        if running || !(failed || cancelled) {
            ReleaseStatus::Running
        } else if done {
            ReleaseStatus::Incomplete
        } else if failed {
            ReleaseStatus::Failed
        } else {
            ReleaseStatus::Cancelled
        }
    }
}

impl fmt::Display for ReleaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a dependency's parent is still what its channel serves (HCP's `AncestryStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AncestryStatus {
    /// The parent was read by release name, not through a channel: nothing to compare.
    Undetermined,
    /// The channel still serves the parent.
    UpToDate,
    /// The channel has moved to another release since.
    OutOfDate,
}

impl AncestryStatus {
    /// The printed name.
    pub fn as_str(self) -> &'static str {
        match self {
            AncestryStatus::Undetermined => "UNDETERMINED",
            AncestryStatus::UpToDate => "UP_TO_DATE",
            AncestryStatus::OutOfDate => "OUT_OF_DATE",
        }
    }
}

impl fmt::Display for AncestryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Timestamp;
    use super::*;
    use BuildStatus::*;

    fn derive(complete: bool, builds: &[BuildStatus]) -> ReleaseStatus {
        ReleaseStatus::derive(complete, None, builds.iter().copied(), Timestamp(1000))
    }

    #[test]
    fn release_status_follows_builds() {
        assert_eq!(derive(false, &[]), ReleaseStatus::Running);
        assert_eq!(derive(false, &[Unset, Done]), ReleaseStatus::Running);
        assert_eq!(derive(false, &[Running, Failed]), ReleaseStatus::Running);
        assert_eq!(derive(false, &[Done, Failed]), ReleaseStatus::Incomplete);
        assert_eq!(derive(false, &[Unset, Failed]), ReleaseStatus::Failed);
        assert_eq!(derive(false, &[Cancelled]), ReleaseStatus::Cancelled);
        assert_eq!(derive(true, &[Done]), ReleaseStatus::Active);
    }

    #[test]
    fn revocation_wins_and_takes_effect_at_its_time() {
        let s = |at| ReleaseStatus::derive(true, Some(Timestamp(at)), [Done], Timestamp(1000));
        assert_eq!(s(1000), ReleaseStatus::Revoked);
        assert_eq!(s(1001), ReleaseStatus::RevocationScheduled);
        assert_eq!(ReleaseStatus::Active.hcp_name(), "VERSION_ACTIVE");
        assert_eq!(Done.hcp_name(), "BUILD_DONE");
    }
}
