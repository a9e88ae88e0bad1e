//! Builder `file`: writes one file (`content`, or a copy of `source`) to `target`; useful for
//! testing post-processors without a machine.

use crate::body::{shown_attr, BodyValue};
use crate::diagnostic::Diagnostic;
use crate::fsutil;
use crate::plugins::check::Checker;
use crate::plugins::sdk::{
    generated, Artifact, Builder, BuilderPlan, BuilderStep, BuilderStepKind, StepContext,
    StepError, StepFuture,
};
use serde::Deserialize;
use std::io::{ErrorKind, Read, Write};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// The file builder's config.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct Config {
    /// A file to copy to `target`.
    #[serde(default)]
    pub source: String,
    /// The text to write to `target`.
    #[serde(default)]
    pub content: String,
    /// The file to create.
    pub target: String,
}

impl crate::plugins::sdk::Config for Config {
    /// Packer's checks: `source` and `content` exclude each other; with neither the target is
    /// empty (a warning).
    fn validate(&self, body: &BodyValue) -> Vec<Diagnostic> {
        let mut c = Checker::new(body);
        c.exclusive(
            "source",
            "content",
            "source and content cannot both be specified",
        );
        if !c.is_set("source") && !c.is_set("content") {
            c.push(
                Diagnostic::warning(
                    c.block_span(),
                    "both source and content are blank; the target will be empty",
                )
                .with_hint("set `content = \"...\"` or `source = \"path\"`"),
            );
        }
        c.finish()
    }
}

impl Builder for Config {
    fn platform(&self) -> &'static str {
        "file"
    }

    fn plan(&self, body: &BodyValue) -> BuilderPlan {
        let summary = match shown_attr(body, "target") {
            Some(t) => format!("write {t}"),
            None => "write the target file".into(),
        };
        BuilderPlan {
            steps: vec![BuilderStep {
                kind: BuilderStepKind::Launch,
                name: "launch".into(),
                summary,
                region: None,
                api: false,
                span: None,
                plugin: None,
            }],
            connects: Err(
                "kiln connects over SSH only from the null and amazon-ebs builders so far".into(),
            ),
        }
    }

    fn run<'a>(&'a self, step: &'a BuilderStep, cx: StepContext<'a>) -> StepFuture<'a> {
        Box::pin(async move {
            if step.kind != BuilderStepKind::Launch {
                return Ok(());
            }
            let target = self.target.clone();
            if !self.source.is_empty() {
                cx.say(&format!("Copying {} to {target}", self.source));
                let bytes = copy_file(&self.source, &target, cx.cancel).await?;
                cx.say(&format!("Copied {bytes} bytes"));
            } else {
                write_whole(&target, |to| to.write_all(self.content.as_bytes()))
                    .map_err(|e| StepError::new(format!("cannot write {target}: {e}")))?;
            }
            let mut generated = generated::base(&cx);
            generated::without_connection(&mut generated, "File");
            cx.host
                .launched(cx.session()?, generated, Artifact::file(&target));
            Ok(())
        })
    }
}

/// Copy `source` to `target` a chunk at a time, so memory stays flat whatever the size, and
/// stop between chunks once the build is cancelled. The target is written whole or not at all.
async fn copy_file(
    source: &str,
    target: &str,
    cancel: &CancellationToken,
) -> Result<u64, StepError> {
    let (source, target, cancel) = (source.to_owned(), target.to_owned(), cancel.clone());
    tokio::task::spawn_blocking(move || copy_whole(&source, &target, &cancel))
        .await
        .map_err(|e| StepError::new(format!("the copy stopped: {e}")))?
}

fn copy_whole(source: &str, target: &str, cancel: &CancellationToken) -> Result<u64, StepError> {
    let mut from = std::fs::File::open(source)
        .map_err(|e| StepError::new(format!("cannot read {source}: {e}")))?;
    let mut copied = 0u64;
    let mut read_failed = None;
    let written = write_whole(target, |to| {
        let mut buf = vec![0u8; COPY_CHUNK];
        loop {
            if cancel.is_cancelled() {
                return Err(std::io::Error::new(ErrorKind::Interrupted, "cancelled"));
            }
            let n = match from.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    let kind = e.kind();
                    read_failed = Some(e);
                    return Err(kind.into());
                }
            };
            to.write_all(&buf[..n])?;
            copied += n as u64;
        }
    });
    match (written, read_failed) {
        (Ok(()), _) => Ok(copied),
        (Err(_), Some(e)) => Err(StepError::new(format!("cannot read {source}: {e}"))),
        (Err(_), None) if cancel.is_cancelled() => Err(StepError::cancelled()),
        (Err(e), None) => Err(StepError::new(format!("cannot write {target}: {e}"))),
    }
}

/// How much of the source is held at once.
const COPY_CHUNK: usize = 1 << 20;

fn write_whole(
    target: &str,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let path = Path::new(target);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    fsutil::write_atomic_with(path, fill)
}
