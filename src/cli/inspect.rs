//! `kiln inspect`: what a template declares, as `packer inspect` lists it.

use super::template::{self, TemplateArgs};
use crate::config::Template;
use crate::value::{to_console, Value};
use clap::Args;
use std::ffi::OsString;
use std::fmt::Write;
use std::path::PathBuf;

/// Options of `kiln inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub template: TemplateArgs,
    /// Template file or directory.
    pub path: PathBuf,
}

/// Run `kiln inspect`.
pub fn run(args: InspectArgs, argv: &[OsString], color: bool) -> anyhow::Result<i32> {
    let options = template::options(args.path, argv, true);
    let (_, loaded, _) = template::load(&options, color);
    let Some(loaded) = loaded else { return Ok(1) };
    for message in messages(&loaded) {
        super::machine::say(&message);
    }
    Ok(0)
}

/// The listing as Packer says it, in three messages: the heading, the variables (sensitive ones
/// masked) and locals, and the builds with their steps.
fn messages(t: &Template) -> [String; 3] {
    let header = String::from("Packer Inspect: HCL2 mode\n");
    let mut out = String::from("> input-variables:\n\n");
    for (name, var) in &t.variables {
        let _ = writeln!(
            out,
            "var.{name}: {}",
            crate::value::quote(&shown(&var.value))
        );
    }
    out.push_str("\n> local-variables:\n\n");
    for (name, local) in &t.locals {
        let _ = writeln!(
            out,
            "local.{name}: {}",
            crate::value::quote(&shown(&local.value))
        );
    }
    let variables = std::mem::replace(&mut out, String::from("> builds:\n\n"));
    for build in &t.builds {
        let _ = write!(out, "  > {}:\n\n", build.display_name());
        if let Some(d) = &build.description {
            let _ = write!(out, "    description: {d}\n\n");
        }
        out.push_str("    sources:\n\n");
        for s in &build.sources {
            let _ = write!(out, "      {}\n\n", s.address());
        }
        out.push_str("    provisioners:\n\n");
        if build.provisioners.is_empty() {
            out.push_str("      <no provisioner>\n\n");
        }
        for p in &build.provisioners {
            let _ = write!(out, "      {}\n\n", p.kind);
        }
        out.push_str("    post-processors:\n\n");
        if build.post_processors.is_empty() {
            out.push_str("      <no post-processor>\n\n");
        }
        for (i, chain) in build.post_processors.iter().enumerate() {
            let _ = writeln!(out, "      {i}:");
            for pp in chain {
                let _ = writeln!(out, "        {}", pp.kind);
            }
            out.push('\n');
        }
    }
    out.pop();
    [header, variables, out]
}

/// A value as inspect shows it: masked when it holds anything sensitive.
fn shown(v: &Value) -> String {
    if v.contains_sensitive() {
        return "<sensitive>".into();
    }
    to_console(v)
}
