//! `kiln fmt`

use clap::Args;

/// Options of `kiln fmt`.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Files or directories; `-` reads standard input.
    pub paths: Vec<std::path::PathBuf>,
}

/// Run `kiln fmt`.
pub fn run(_args: FmtArgs, _color: bool) -> anyhow::Result<i32> {
    anyhow::bail!("kiln fmt is not written yet")
}
