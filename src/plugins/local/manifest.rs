//! Post-processor `manifest`: records each build's artifacts in a JSON file
//! (`packer-manifest.json` by default).

use crate::body::BodyValue;
use crate::diagnostic::Diagnostic;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The manifest post-processor's config.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct Config {
    /// The manifest file (default `packer-manifest.json`).
    pub output: String,
    /// Record file names without their directories.
    pub strip_path: bool,
    /// Leave out the build time.
    pub strip_time: bool,
    /// Extra data stored with each build.
    pub custom_data: BTreeMap<String, String>,
}

impl crate::plugins::sdk::Config for Config {
    /// Packer checks nothing here.
    fn validate(&self, _body: &BodyValue) -> Vec<Diagnostic> {
        Vec::new()
    }
}

// Post-processor `manifest`: appends the build's artifact to a JSON file in exactly Packer's
// shape (`packer-manifest.json`: `builds[]` and `last_run_uuid`). Builds finishing at once
// take turns on the file.

use crate::plugins::sdk::{Artifact, PostProcessor, StepContext, StepError, StepFuture};

use serde::Serialize;
use std::path::Path;

/// Packer's default manifest file.
const DEFAULT_OUTPUT: &str = "packer-manifest.json";

/// The manifest file.
#[derive(Serialize, Deserialize, Debug, Default)]
pub struct ManifestFile {
    pub builds: Vec<Entry>,
    pub last_run_uuid: String,
}

/// One build's record.
#[derive(Serialize, Deserialize, Debug)]
pub struct Entry {
    pub name: String,
    pub builder_type: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub build_time: i64,
    pub files: Option<Vec<ArtifactFile>>,
    pub artifact_id: String,
    pub packer_run_uuid: String,
    pub custom_data: Option<BTreeMap<String, String>>,
}

/// A file of the artifact.
#[derive(Serialize, Deserialize, Debug)]
pub struct ArtifactFile {
    pub name: String,
    pub size: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Append the artifact to the manifest.
pub async fn record(
    cx: &StepContext<'_>,
    c: &Config,
    artifact: &Artifact,
) -> Result<(), StepError> {
    let output = if c.output.is_empty() {
        DEFAULT_OUTPUT
    } else {
        c.output.as_str()
    };
    let mut files = Vec::new();
    for f in &artifact.files {
        let size = std::fs::metadata(f).map(|m| m.len() as i64).unwrap_or(0);
        let name = if c.strip_path {
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            f.display().to_string()
        };
        files.push(ArtifactFile { name, size });
    }
    let build_time = if c.strip_time {
        0
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    };
    let entry = Entry {
        name: cx.build_name(),
        builder_type: cx.builder_type(),
        build_time,
        files: if files.is_empty() { None } else { Some(files) },
        artifact_id: artifact.id.clone(),
        packer_run_uuid: cx.run_uuid(),
        custom_data: if c.custom_data.is_empty() {
            None
        } else {
            Some(c.custom_data.clone())
        },
    };
    let lock = cx.host.file_lock(Path::new(output));
    let _turn = lock.lock().await;
    cx.activity(&format!("writing {output}"));
    let (path, run) = (output.to_string(), cx.run_uuid());
    tokio::task::spawn_blocking(move || update(&path, entry, run))
        .await
        .map_err(|e| StepError::new(format!("Unable to write {output}: {e}")))?
}

/// Add `entry` to the manifest at `output`: read, change and write whole, one process at a
/// time (another kiln may write the same manifest), so no entry is lost and a kill leaves the
/// old manifest or the new one.
fn update(output: &str, entry: Entry, run_uuid: String) -> Result<(), StepError> {
    let folder = match Path::new(output).parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(folder)
        .map_err(|e| StepError::new(format!("Unable to create {}: {e}", folder.display())))?;
    let _lock = crate::fsutil::FolderLock::acquire(folder)
        .map_err(|e| StepError::new(format!("Unable to lock {}: {e}", folder.display())))?;
    let mut manifest = match std::fs::read_to_string(output) {
        Ok(text) if !text.trim().is_empty() => serde_json::from_str::<ManifestFile>(&text)
            .map_err(|e| StepError::new(format!("Unable to parse content from {output}: {e}")))?,
        Ok(_) => ManifestFile::default(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ManifestFile::default(),
        Err(e) => return Err(StepError::new(format!("Unable to open {output}: {e}"))),
    };
    manifest.builds.push(entry);
    manifest.last_run_uuid = run_uuid;
    let text = go_json(&manifest)
        .map_err(|e| StepError::new(format!("Unable to encode the manifest: {e}")))?;
    crate::fsutil::write_atomic(Path::new(output), text.as_bytes())
        .map_err(|e| StepError::new(format!("Unable to write {output}: {e}")))
}

/// JSON as Go's `json.MarshalIndent(v, "", "  ")` writes it: two-space indent, `<`, `>` and `&`
/// escaped.
fn go_json<T: Serialize>(value: &T) -> serde_json::Result<String> {
    let text = serde_json::to_string_pretty(value)?;
    Ok(text
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026"))
}

impl PostProcessor for Config {
    /// Packer's manifest post-processor keeps its input whatever is set.
    fn keeps_input(&self, _keep_input_artifact: Option<bool>) -> bool {
        true
    }

    fn post_process<'a>(
        &'a self,
        cx: StepContext<'a>,
        input: &'a Artifact,
    ) -> StepFuture<'a, Artifact> {
        Box::pin(async move {
            record(&cx, self, input).await?;
            Ok(input.clone())
        })
    }
}
