//! The `kiln` command line: Packer's flag spellings, subcommands, exit codes.

mod args;
mod build;
mod cleanup;
mod console;
mod fmt;
mod graph;
mod inspect;
mod registry;
mod template;
mod validate;

use clap::{Parser, Subcommand};

/// Build machine images from Packer templates.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, about, long_about = None)]
struct Cli {
    /// Color the output (`-color=false` turns it off).
    #[arg(long, global = true, default_value = "auto", value_parser = args::parse_color)]
    color: args::Color,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check that templates are valid.
    Validate(validate::ValidateArgs),
    /// Rewrite templates into the canonical format.
    Fmt(fmt::FmtArgs),
    /// List a template's variables, locals, sources and builds.
    Inspect(inspect::InspectArgs),
    /// Evaluate expressions read from standard input.
    Console(console::ConsoleArgs),
    /// Print a template's execution graph (text, dot, mermaid, json or svg).
    Graph(graph::GraphArgs),
    /// Build the images (-dry-run prints what a build would do).
    Build(build::BuildArgs),
    /// Publish, look up, channel and revoke images in the registry.
    Registry(registry::RegistryArgs),
    /// Delete what killed runs left in the cloud, from their journals and tags.
    Cleanup(cleanup::CleanupArgs),
}

/// Run the program on the process arguments and return the exit code.
pub fn main() -> i32 {
    crate::plugins::local::watchdog::run_if_asked();
    raise_open_file_limit();
    let argv = args::normalize(std::env::args_os());
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 1 } else { 0 };
            let _ = err.print();
            return code;
        }
    };
    let color = cli.color.enabled();
    let result = match cli.command {
        Command::Validate(a) => validate::run(a, &argv, color),
        Command::Fmt(a) => fmt::run(a, color),
        Command::Inspect(a) => inspect::run(a, &argv, color),
        Command::Console(a) => console::run(a, &argv, color),
        Command::Graph(a) => graph::run(a, &argv, color),
        Command::Build(a) => build::run(a, &argv, color, cli.color.enabled_for_stdout()),
        Command::Registry(a) => registry::run(a),
        Command::Cleanup(a) => cleanup::run(a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            1
        }
    }
}

/// Raise the soft limit on open files to the hard one, as Go programs (Packer) do at start:
/// hundreds of parallel builds each hold pipes, sockets and logs, and the common soft limit of
/// 1,024 would fail them with "Too many open files".
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
