//! Plugins that work on the local machine: the `null` and `file` builders, the `shell-local`
//! and `breakpoint` provisioners, and the `manifest`, `checksum` and `shell-local`
//! post-processors.

pub mod breakpoint;
pub mod checksum;
pub mod file;
pub mod manifest;
pub mod null;
pub mod process;
pub mod shell_local;
pub mod shell_local_pp;
pub mod watchdog;
