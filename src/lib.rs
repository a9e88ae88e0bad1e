
//! kiln: build machine images from Packer templates.

pub mod diagnostic;
pub mod source;
pub mod cli;
pub mod format;
pub mod functions;
pub mod syntax;
pub mod value;
