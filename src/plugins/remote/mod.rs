//! Plugins that work on the machine being built, over its communicator: the SSH client and the
//! communicator settings every builder takes, and the `shell` and `file` provisioners.

pub mod communicator;
pub mod file;
mod quickack;
mod run;
pub mod shell;
pub mod ssh;
