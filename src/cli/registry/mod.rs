//! `kiln registry ...`: the embedded image registry from the command line.

mod bucket;
mod channel;
mod hcp_env;
mod image;
mod migrate;
mod publish;
mod release;
mod serve;
mod table;

use crate::registry::{self, Store};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

/// Options of `kiln registry`.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    #[command(subcommand)]
    command: RegistryCommand,
}

#[derive(Debug, Subcommand)]
enum RegistryCommand {
    /// Register images that some other tool built.
    Publish(publish::PublishArgs),
    /// Print the image of a release or channel for a provider and region.
    Image(image::ImageArgs),
    /// Find the releases that hold an image ID.
    Search(image::SearchArgs),
    /// List, show, revoke and restore releases.
    #[command(subcommand)]
    Release(release::ReleaseCommand),
    /// Assign channels, list them and show their history.
    #[command(subcommand)]
    Channel(channel::ChannelCommand),
    /// List, show and delete buckets.
    #[command(subcommand)]
    Bucket(bucket::BucketCommand),
    /// List, show and delete products.
    #[command(subcommand)]
    Product(bucket::ProductCommand),
    /// Serve the registry over HTTP for a team (a JSON API with scoped tokens).
    Serve(serve::ServeArgs),
    /// Create, list and revoke the server's tokens.
    #[command(subcommand)]
    Token(serve::TokenCommand),
    /// The server's audit log: every write, by token.
    Audit(serve::AuditArgs),
    /// Print the environment that points stock Packer and Terraform's `hcp` provider at a kiln
    /// server (HCP_API_ADDRESS, HCP_CLIENT_ID...), with a new token as their client.
    HcpEnv(hcp_env::HcpEnvArgs),
    /// Copy a registry whole (history, tokens, audit log) into a new database, and verify it.
    Migrate(migrate::MigrateArgs),
}

/// `-bucket B -product P`, which most subcommands take.
#[derive(Debug, Args)]
struct ProductArgs {
    /// The bucket (top-level container); builds publish into `default` unless
    /// KILN_REGISTRY_BUCKET names another.
    #[arg(long, default_value_t = crate::registry::default_bucket())]
    bucket: String,
    /// The product (a line of images, e.g. web-server).
    #[arg(long)]
    product: String,
}

/// Output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Tables for people.
    #[default]
    Text,
    /// JSON for scripts.
    Json,
}

/// `-format=text|json`.
#[derive(Debug, Args)]
struct FormatArg {
    /// Output format: text or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Run `kiln registry ...`.
pub fn run(args: RegistryArgs) -> anyhow::Result<i32> {
    let result = match args.command {
        RegistryCommand::Publish(a) => publish::run(a),
        RegistryCommand::Image(a) => image::run(a),
        RegistryCommand::Search(a) => image::search(a),
        RegistryCommand::Release(c) => release::run(c),
        RegistryCommand::Channel(c) => channel::run(c),
        RegistryCommand::Bucket(c) => bucket::run_bucket(c),
        RegistryCommand::Product(c) => bucket::run_product(c),
        RegistryCommand::Serve(a) => serve::serve(a),
        RegistryCommand::Token(c) => serve::token(c),
        RegistryCommand::Audit(a) => serve::audit(a),
        RegistryCommand::HcpEnv(a) => hcp_env::run(a),
        RegistryCommand::Migrate(a) => migrate::run(a),
    };
    match result {
        Ok(()) => Ok(0),
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("hint: {hint}");
            }
            Ok(1)
        }
    }
}

fn open_for_writing() -> registry::Result<Box<dyn Store>> {
    registry::open_default()
}

fn open_for_reading() -> registry::Result<Box<dyn Store>> {
    registry::open_default_for_reading()
}

/// Who a change is attributed to.
fn author() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

fn print_json<T: Serialize + ?Sized>(value: &T) {
    // Serializing these records cannot fail: every map key is a string.
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    println!("{text}");
}
