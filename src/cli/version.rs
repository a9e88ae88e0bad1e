//! `kiln version`: kiln's version and the Packer version whose templates and behaviour it
//! follows, as `packer version` prints them.

use super::machine;
use crate::config::PACKER_VERSION;
use clap::Args;

/// Options of `kiln version` (none; Packer ignores arguments here too).
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Ignored, as by `packer version`.
    #[arg(hide = true)]
    pub rest: Vec<String>,
}

/// Run `kiln version`.
pub fn run(_args: VersionArgs) -> anyhow::Result<i32> {
    let kiln = env!("CARGO_PKG_VERSION");
    if machine::enabled() {
        // Packer's own lines first, so scripts that read them find Packer's version.
        print!("{}", machine::line("", "version", &[PACKER_VERSION]));
        print!("{}", machine::line("", "version-prelease", &[""]));
        print!("{}", machine::line("", "version-commit", &[""]));
        print!("{}", machine::line("", "kiln-version", &[kiln]));
    }
    machine::say(&format!("Packer v{PACKER_VERSION}"));
    machine::say(&format!("kiln v{kiln}"));
    Ok(0)
}
