//! Post-processor `checksum`: writes checksum files for the artifact's files.

use crate::body::BodyValue;
use crate::diagnostic::{suggest, Diagnostic};
use crate::plugins::check::Checker;
use serde::Deserialize;

/// The checksum types Packer knows.
pub const CHECKSUM_TYPES: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/// The checksum post-processor's config.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct Config {
    /// Checksums to compute (default `["md5"]`).
    pub checksum_types: Vec<String>,
    /// Output path template (default `packer_{{.BuildName}}_{{.BuilderType}}_{{.ChecksumType}}.checksum`).
    pub output: String,
}

impl crate::plugins::sdk::Config for Config {
    /// Packer's check: every checksum type must be one it knows.
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        for given in c.strings("checksum_types").unwrap_or_default() {
            if CHECKSUM_TYPES.contains(&given.as_str()) {
                continue;
            }
            let d = Diagnostic::error(
                c.span("checksum_types"),
                format!("unrecognized checksum type `{given}`"),
            );
            c.push(match suggest(&given, CHECKSUM_TYPES) {
                Some(close) => d.with_hint(format!("did you mean `{close}`?")),
                None => d.with_hint(format!("checksum types are {}", CHECKSUM_TYPES.join(", "))),
            });
        }
        c.finish()
    }
}

// Post-processor `checksum`: one checksum file per type, a line `<hex>\t<file name>` per file
// of the artifact, appended as Packer appends. Files are hashed in parallel on rayon, off the
// async threads.

use crate::body::legacy;
use crate::plugins::sdk::{Artifact, PostProcessor, StepContext, StepError, StepFuture};

use md5::Md5;
use rayon::prelude::*;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Packer's default output path pattern.
const DEFAULT_OUTPUT: &str = "packer_{{.BuildName}}_{{.BuilderType}}_{{.ChecksumType}}.checksum";

/// Hash the artifact's files and write the checksum files; the new artifact is those files.
pub async fn run(
    cx: &StepContext<'_>,
    c: &Config,
    input: &Artifact,
) -> Result<Artifact, StepError> {
    let types: Vec<String> = if c.checksum_types.is_empty() {
        vec!["md5".into()]
    } else {
        c.checksum_types.clone()
    };
    let files = input.files.clone();
    let jobs: Vec<(String, PathBuf)> = types
        .iter()
        .flat_map(|t| files.iter().map(move |f| (t.clone(), f.clone())))
        .collect();
    cx.activity(&format!("hashing {} file(s)", files.len()));
    let hashed = tokio::task::spawn_blocking(move || {
        jobs.par_iter()
            .map(|(t, f)| hash_file(t, f).map_err(|e| format!("cannot hash {}: {e}", f.display())))
            .collect::<Result<Vec<String>, String>>()
    })
    .await
    .map_err(|e| StepError::new(format!("hashing failed: {e}")))?
    .map_err(StepError::new)?;

    let pattern = if c.output.is_empty() {
        DEFAULT_OUTPUT
    } else {
        c.output.as_str()
    };
    let mut values = cx.legacy();
    values.build.insert("BuildName".into(), cx.build_name());
    values.build.insert("BuilderType".into(), cx.builder_type());
    let mut outputs: Vec<PathBuf> = Vec::new();
    let mut hashes = hashed.into_iter();
    for t in &types {
        values.build.insert("ChecksumType".into(), t.clone());
        let path = PathBuf::from(
            legacy::expand(pattern, &values).map_err(|e| StepError::new(format!("output: {e}")))?,
        );
        for f in &files {
            let Some(hex) = hashes.next() else { break };
            if !path.exists() && !outputs.contains(&path) {
                outputs.push(path.clone());
            }
            append(&path, &format!("{hex}\t{}\n", base_name(f)))
                .map_err(|e| StepError::new(format!("cannot write {}: {e}", path.display())))?;
        }
    }
    // Packer's checksum artifact holds the input's files and the checksum files it created.
    let outputs: Vec<PathBuf> = files.iter().cloned().chain(outputs).collect();
    let names: Vec<String> = outputs.iter().map(|p| p.display().to_string()).collect();
    Ok(Artifact {
        builder_id: "packer.post-processor.checksum".into(),
        id: String::new(),
        description: format!("Created artifact from files: {}", names.join(", ")),
        files: outputs,
        images: Vec::new(),
    })
}

fn base_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

fn append(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(line.as_bytes())
}

/// The lowercase hex digest of one file.
fn hash_file(kind: &str, path: &Path) -> std::io::Result<String> {
    fn digest<D: Digest>(path: &Path) -> std::io::Result<String> {
        let mut file = std::fs::File::open(path)?;
        let mut hasher = D::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(crate::functions::hex(&hasher.finalize()))
    }
    match kind {
        "md5" => digest::<Md5>(path),
        "sha1" => digest::<Sha1>(path),
        "sha224" => digest::<Sha224>(path),
        "sha256" => digest::<Sha256>(path),
        "sha384" => digest::<Sha384>(path),
        "sha512" => digest::<Sha512>(path),
        other => Err(std::io::Error::other(format!(
            "unknown checksum type {other}"
        ))),
    }
}

impl PostProcessor for Config {
    fn keeps_input(&self, keep_input_artifact: Option<bool>) -> bool {
        keep_input_artifact.unwrap_or(true)
    }

    fn post_process<'a>(
        &'a self,
        cx: StepContext<'a>,
        input: &'a Artifact,
    ) -> StepFuture<'a, Artifact> {
        Box::pin(async move { run(&cx, self, input).await })
    }
}
