//! `kiln graph`: print a template's execution graph as text, DOT, mermaid, JSON or SVG.

use super::template::{self, TemplateArgs};
use crate::plan::{self, render::Format, PlanOptions};
use clap::Args;
use std::ffi::OsString;
use std::path::PathBuf;

/// Options of `kiln graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Output format: text, dot, mermaid, json or svg.
    #[arg(long, default_value = "text", value_parser = parse_format)]
    pub format: Format,
    /// Only plan the builds whose names match these globs (`-only='ubuntu.*,*.east'`).
    #[arg(long, value_name = "PATTERNS")]
    pub only: Vec<String>,
    /// Leave out the builds and post-processors whose names match these globs.
    #[arg(long, value_name = "PATTERNS")]
    pub except: Vec<String>,
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Template file or directory.
    pub path: PathBuf,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// Run `kiln graph`.
pub fn run(args: GraphArgs, argv: &[OsString], color: bool) -> anyhow::Result<i32> {
    let options = template::options(args.path, argv, false);
    let (sources, loaded, _) = template::load(&options, color);
    let Some(loaded) = loaded else { return Ok(1) };
    let selection = PlanOptions {
        only: args.only,
        except: args.except,
    };
    let Some(graph) = template::compile(&loaded, &sources, &selection, color) else {
        return Ok(1);
    };
    match plan::render::render(&graph, args.format, &sources) {
        Ok(text) => {
            print!("{text}");
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(1)
        }
    }
}
