//! kiln: build machine images from Packer templates.

pub mod body;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod eval;
pub mod exec;
pub mod format;
pub mod fsutil;
pub mod functions;
pub mod plan;
pub mod plugins;
pub mod registry;
pub mod source;
pub mod syntax;
pub mod value;
