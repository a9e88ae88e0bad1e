//! `kiln init` and `kiln plugins installed|required`. kiln's plugins are built in, so `init`
//! installs nothing: it checks the template's `required_plugins` against what kiln has, says so
//! and exits 0, or names what kiln lacks and exits 1. A CI script's `packer init .` runs
//! unchanged.

use super::machine;
use super::template;
use crate::config::{self, RequiredPlugin};
use crate::plugins::{self, PluginKind};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Options of `kiln init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Accepted for Packer's scripts; built-in plugins are always the newest kiln has.
    #[arg(long)]
    pub upgrade: bool,
    /// Template file or directory.
    pub path: PathBuf,
}

/// `kiln plugins ...`
#[derive(Debug, Args)]
pub struct PluginsArgs {
    #[command(subcommand)]
    pub command: PluginsCommand,
}

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List the plugins kiln has (all built in).
    Installed,
    /// List the plugins a template requires, and whether kiln has each.
    Required {
        /// Template file or directory.
        path: PathBuf,
    },
}

/// Run `kiln init`.
pub fn run_init(args: InitArgs, color: bool) -> anyhow::Result<i32> {
    let Some(required) = required(&args.path, color) else {
        return Ok(1);
    };
    if required.is_empty() {
        machine::say("No plugins requirement found, make sure you reference a Packer config containing a packer.required_plugins block. See https://www.packer.io/docs/templates/hcl_templates/blocks/packer for more info.");
        return Ok(0);
    }
    let mut missing = 0;
    for rp in &required {
        match built_in(rp) {
            Ok(provides) => machine::say(&format!(
                "{}: built into kiln ({}); nothing to install",
                describe(rp),
                provides.join(", ")
            )),
            Err(why) => {
                missing += 1;
                machine::error(&format!("error: {}: {why}\n", describe(rp)));
            }
        }
    }
    Ok(if missing == 0 { 0 } else { 1 })
}

/// Run `kiln plugins ...`.
pub fn run_plugins(args: PluginsArgs, color: bool) -> anyhow::Result<i32> {
    match args.command {
        PluginsCommand::Installed => {
            for (source, provides) in plugins::plugin_sources() {
                machine::say(&format!("{source} (built in: {})", provides.join(", ")));
            }
            let core: Vec<String> = PluginKind::ALL
                .iter()
                .flat_map(|&kind| {
                    plugins::names(kind)
                        .into_iter()
                        .filter(move |name| {
                            plugins::find(kind, name).is_some_and(|p| p.source.is_none())
                        })
                        .map(move |name| format!("{} {name}", kind.noun()))
                })
                .collect();
            machine::say(&format!(
                "built into Packer's core as well: {}",
                core.join(", ")
            ));
            Ok(0)
        }
        PluginsCommand::Required { path } => {
            let Some(required) = required(&path, color) else {
                return Ok(1);
            };
            let mut missing = 0;
            for rp in &required {
                let state = match built_in(rp) {
                    Ok(_) => "built in".to_string(),
                    Err(why) => {
                        missing += 1;
                        format!("missing: {why}")
                    }
                };
                machine::say(&format!("{} ({state})", describe(rp)));
            }
            Ok(if missing == 0 { 0 } else { 1 })
        }
    }
}

/// The template's `required_plugins`; `None` after printing why they could not be read.
fn required(path: &std::path::Path, color: bool) -> Option<Vec<RequiredPlugin>> {
    let mut sources = crate::source::SourceMap::new();
    let (packer, diags) = config::load_packer_block(&mut sources, path);
    template::report(&diags, &sources, color);
    packer.map(|p| p.required_plugins)
}

/// `amazon github.com/hashicorp/amazon >= 1.2.8`
fn describe(rp: &RequiredPlugin) -> String {
    let mut out = rp.name.clone();
    if let Some(source) = &rp.source {
        out.push(' ');
        out.push_str(source);
    }
    if let Some(version) = &rp.version {
        out.push(' ');
        out.push_str(version);
    }
    out
}

/// The plugin types kiln has built in for a requirement, or why it has none.
fn built_in(rp: &RequiredPlugin) -> Result<Vec<&'static str>, String> {
    let Some(source) = &rp.source else {
        return Err("no `source` is given, so there is nothing to look for".into());
    };
    plugins::provided_by(source).ok_or_else(|| {
            let have: Vec<&str> = plugins::plugin_sources().into_iter().map(|(s, _)| s).collect();
            format!(
                "kiln has no built-in plugin from this source (it has {}); kiln cannot load external plugins",
                have.join(", ")
            )
        })
}
