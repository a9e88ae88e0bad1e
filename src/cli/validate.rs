//! `kiln validate`

use clap::Args;

/// Options of `kiln validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Only check syntax.
    #[arg(long)]
    pub syntax_only: bool,
    /// Files or directories.
    pub paths: Vec<std::path::PathBuf>,
}

/// Run `kiln validate`.
pub fn run(_args: ValidateArgs, _color: bool) -> anyhow::Result<i32> {
    anyhow::bail!("not yet")
}
