//! The registry's plugins: the `hcp-packer-publish` post-processor and the
//! `hcp-packer-version` / `hcp-packer-artifact` data sources (with their deprecated names),
//! which read kiln's registry.

pub mod artifact;
pub mod publish;
pub mod read;
pub mod version;
