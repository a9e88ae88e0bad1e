//! Artifacts: what a builder or post-processor produced, as Packer's `packersdk.Artifact`.

use std::path::PathBuf;

/// One artifact.
#[derive(Clone, Debug, PartialEq)]
pub struct Artifact {
    /// Packer's builder id of the plugin that made it (`packer.file`, `fnoeding.null`).
    pub builder_id: String,
    /// Packer's `Id()`: `File`, `Null`, or an AMI id.
    pub id: String,
    /// Packer's `String()`, shown in the closing summary.
    pub description: String,
    /// Files that make up the artifact.
    pub files: Vec<PathBuf>,
}

impl Artifact {
    /// The null builder's artifact: nothing.
    pub fn null() -> Artifact {
        Artifact {
            builder_id: "fnoeding.null".into(),
            id: "Null".into(),
            description: "Did not export anything. This is the null builder".into(),
            files: Vec::new(),
        }
    }

    /// The file builder's artifact: the one file it wrote.
    pub fn file(target: &str) -> Artifact {
        Artifact {
            builder_id: "packer.file".into(),
            id: "File".into(),
            description: format!("Stored file: {target}"),
            files: vec![PathBuf::from(target)],
        }
    }

    /// Remove the artifact's files (a post-processor chain did not keep it).
    pub fn destroy(&self) -> std::io::Result<()> {
        for f in &self.files {
            match std::fs::remove_file(f) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}
