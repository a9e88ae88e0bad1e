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
    /// What the registry records of it (Packer's `par.artifact.metadata` state): one image per
    /// region. Empty for an artifact the registry cannot hold (a checksum file).
    pub images: Vec<ArtifactImage>,
}

/// One image of an artifact, as the registry records it (Packer SDK's `registryimage.Image`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactImage {
    /// The provider (HCP's platform): `aws`, `null`, `file`...
    pub provider: String,
    /// The region it lives in.
    pub region: String,
    /// Its external ID (an AMI ID, a file name).
    pub id: String,
    /// The image it was built from, when known.
    pub source: Option<String>,
}

impl Artifact {
    /// The null builder's artifact: nothing.
    pub fn null() -> Artifact {
        Artifact {
            builder_id: "fnoeding.null".into(),
            id: "Null".into(),
            description: "Did not export anything. This is the null builder".into(),
            files: Vec::new(),
            // Packer's null artifact reports itself to HCP Packer this way.
            images: vec![ArtifactImage {
                provider: "null".into(),
                region: "null".into(),
                id: "Null".into(),
                source: Some("null".into()),
            }],
        }
    }

    /// The file builder's artifact: the one file it wrote, registered as provider and region
    /// `file` with the file's absolute path as its ID (Packer splits the path into region and
    /// ID, but a registry region holds no `/`).
    pub fn file(target: &str) -> Artifact {
        let path = std::path::absolute(target).unwrap_or_else(|_| PathBuf::from(target));
        Artifact {
            builder_id: "packer.file".into(),
            id: "File".into(),
            description: format!("Stored file: {target}"),
            files: vec![PathBuf::from(target)],
            images: vec![ArtifactImage {
                provider: "file".into(),
                region: "file".into(),
                id: path.display().to_string(),
                source: None,
            }],
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
