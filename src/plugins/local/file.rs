//! Builder `file`: writes one file (`content`, or a copy of `source`) to `target`; useful for
//! testing post-processors without a machine.

use crate::body::{shown_attr, BodyValue};
use crate::diagnostic::Diagnostic;
use crate::plugins::check::Checker;
use crate::plugins::sdk::{
    generated, Artifact, Builder, BuilderPlan, BuilderStep, BuilderStepKind, StepContext,
    StepError, StepFuture,
};
use serde::Deserialize;

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
                let bytes = copy_file(&self.source, &target).await?;
                cx.say(&format!("Copied {bytes} bytes"));
            } else {
                write_file(&target, self.content.as_bytes()).await?;
            }
            let mut generated = generated::base(&cx);
            generated::without_connection(&mut generated, "File");
            cx.host
                .launched(cx.session()?, generated, Artifact::file(&target));
            Ok(())
        })
    }
}

async fn copy_file(source: &str, target: &str) -> Result<usize, StepError> {
    let data = tokio::fs::read(source)
        .await
        .map_err(|e| StepError::new(format!("cannot read {source}: {e}")))?;
    write_file(target, &data).await?;
    Ok(data.len())
}

async fn write_file(target: &str, data: &[u8]) -> Result<(), StepError> {
    let path = std::path::Path::new(target);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| StepError::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    tokio::fs::write(path, data)
        .await
        .map_err(|e| StepError::new(format!("cannot write {target}: {e}")))
}
