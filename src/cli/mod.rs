//! The `kiln` command line: Packer's flag spellings, subcommands, exit codes.

mod args;
mod build;
mod cleanup;
mod console;
mod fmt;
mod graph;
mod init;
mod inspect;
mod machine;
mod registry;
mod template;
mod validate;
mod version;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};

/// Build machine images from Packer templates.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, about, long_about = None)]
struct Cli {
    /// Color the output (`-color=false` turns it off).
    #[arg(long, global = true, default_value = "auto", value_parser = args::parse_color)]
    color: args::Color,

    /// Print Packer's machine-readable `timestamp,target,type,data...` lines.
    #[arg(long, global = true)]
    machine_readable: bool,

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
    /// Check a template's required_plugins against kiln's built-in plugins.
    Init(init::InitArgs),
    /// List kiln's plugins, or the plugins a template requires.
    Plugins(init::PluginsArgs),
    /// Print kiln's version and the Packer version it follows.
    Version(version::VersionArgs),
    /// Print a shell completion script: `kiln completions bash > /etc/bash_completion.d/kiln`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print kiln's manual page (roff), or a command's: `kiln man build | man -l -`.
    Man {
        /// The command whose page to print.
        command: Option<String>,
    },
}

/// Run the program on the process arguments and return the exit code.
pub fn main() -> i32 {
    crate::plugins::local::watchdog::run_if_asked();
    crate::log::init();
    raise_open_file_limit();
    let argv = args::normalize(std::env::args_os());
    let cli = match parse(&argv) {
        Ok(cli) => cli,
        Err(err) => {
            // Packer's codes: 127 for no command or an unknown one, 1 for a bad flag, 0 for help.
            use clap::error::ErrorKind;
            let code = match err.kind() {
                ErrorKind::InvalidSubcommand
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                | ErrorKind::MissingSubcommand => 127,
                _ if err.use_stderr() => 1,
                _ => 0,
            };
            let text = args::usage_error(&err);
            if err.use_stderr() {
                eprint!("{text}");
            } else {
                print!("{text}");
            }
            return code;
        }
    };
    if cli.machine_readable {
        machine::enable();
    }
    let color = cli.color.enabled() && !cli.machine_readable;
    let result = match cli.command {
        Command::Validate(a) => validate::run(a, &argv, color),
        Command::Fmt(a) => fmt::run(a, color),
        Command::Inspect(a) => inspect::run(a, &argv, color),
        Command::Console(a) => console::run(a, &argv, color),
        Command::Graph(a) => graph::run(a, &argv, color),
        Command::Build(a) => build::run(
            a,
            &argv,
            color,
            cli.color.enabled_for_stdout() && !cli.machine_readable,
        ),
        Command::Registry(a) => registry::run(a),
        Command::Cleanup(a) => cleanup::run(a),
        Command::Init(a) => init::run_init(a, color),
        Command::Plugins(a) => init::run_plugins(a, color),
        Command::Version(a) => version::run(a),
        Command::Completions { shell } => {
            let mut command = go_booleans(Cli::command());
            clap_complete::generate(shell, &mut command, "kiln", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man { command } => man_page(command.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            machine::error(&format!("error: {err:#}\n"));
            1
        }
    }
}

/// `kiln man [COMMAND]`: the page of kiln or of one command, flags with one dash.
fn man_page(name: Option<&str>) -> anyhow::Result<i32> {
    let root = go_booleans(Cli::command());
    let man = match name {
        None => clap_mangen::Man::new(root),
        Some(name) => match root.find_subcommand(name) {
            Some(sub) => clap_mangen::Man::new(sub.clone()).title(format!("kiln-{name}")),
            None => anyhow::bail!("there is no command `{name}`"),
        },
    };
    let mut page = Vec::new();
    man.render(&mut page)?;
    // roff writes a dash as `\-`: `\-\-only` becomes `\-only`, as Packer's flags are typed.
    let page = String::from_utf8_lossy(&page).replace("\\-\\-", "\\-");
    print!("{page}");
    Ok(0)
}

/// Parse the command line with every boolean flag read as Go's flag package reads it: `-f`,
/// `-f=true` and `-f=false` (and Go's other spellings of true and false).
fn parse(argv: &[std::ffi::OsString]) -> Result<Cli, clap::Error> {
    let mut command = go_booleans(Cli::command());
    let mut matches = command.try_get_matches_from_mut(argv)?;
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut command))
}

/// Every `SetTrue` flag, in every subcommand, made to take an optional `=value`.
fn go_booleans(command: clap::Command) -> clap::Command {
    let command = command.mut_args(|arg| {
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            arg.action(ArgAction::Set)
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("true")
                .default_value("false")
                .hide_default_value(true)
                .value_name("BOOL")
                .value_parser(args::go_bool)
        } else {
            arg
        }
    });
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    names.iter().fold(command, |command, name| {
        command.mut_subcommand(name, go_booleans)
    })
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
