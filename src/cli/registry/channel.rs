//! `kiln registry channel assign|list|history`.

use super::table::{self, or_dash};
use super::{
    author, open_for_reading, open_for_writing, print_json, Format, FormatArg, ProductArgs,
};
use crate::registry::model::AssignChannel;
use crate::registry::Result;
use clap::{Args, Subcommand};

/// `kiln registry channel ...`.
#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Point a channel at a complete release (creating the channel if needed).
    Assign(AssignArgs),
    /// List a product's channels and the release each serves.
    List(ListArgs),
    /// Show a channel's assignments, oldest first.
    History(HistoryArgs),
}

/// Options of `kiln registry channel assign`.
#[derive(Debug, Args)]
pub struct AssignArgs {
    #[command(flatten)]
    product: ProductArgs,
    /// The channel, e.g. production (`latest` is kiln's own).
    #[arg(long)]
    channel: String,
    /// The release to serve.
    #[arg(long)]
    release: String,
}

/// Options of `kiln registry channel list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    product: ProductArgs,
    #[command(flatten)]
    format: FormatArg,
}

/// Options of `kiln registry channel history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    product: ProductArgs,
    /// The channel.
    #[arg(long)]
    channel: String,
    #[command(flatten)]
    format: FormatArg,
}

/// Run `kiln registry channel ...`.
pub fn run(c: ChannelCommand) -> Result<()> {
    match c {
        ChannelCommand::Assign(a) => {
            crate::registry::names::check_assignable(&a.channel)?;
            let assign = AssignChannel {
                bucket: a.product.bucket,
                product: a.product.product,
                channel: a.channel,
                release: a.release,
                author: author(),
            };
            let done = open_for_writing()?.assign_channel(&assign)?;
            println!(
                "channel {} of {}/{} now serves release {}",
                done.channel, assign.bucket, assign.product, done.release
            );
        }
        ChannelCommand::List(a) => {
            let channels = open_for_reading()?.channels(&a.product.bucket, &a.product.product)?;
            if a.format.format == Format::Json {
                print_json(&channels);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = channels
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        or_dash(c.release.clone()),
                        if c.managed { "managed" } else { "" }.to_string(),
                        or_dash(c.assigned_at.map(|t| t.to_seconds_string())),
                        c.rolled_back_from
                            .as_ref()
                            .map(|r| format!("rolled back from {r} (revoked)"))
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table::render(&["CHANNEL", "RELEASE", "KIND", "ASSIGNED", "NOTE"], &rows)
            );
        }
        ChannelCommand::History(a) => {
            let history = open_for_reading()?.channel_history(
                &a.product.bucket,
                &a.product.product,
                &a.channel,
            )?;
            if a.format.format == Format::Json {
                print_json(&history);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = history
                .iter()
                .map(|h| {
                    vec![
                        h.assigned_at.to_seconds_string(),
                        h.release.clone(),
                        h.author.clone(),
                        if h.revoked { "revoked" } else { "" }.to_string(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table::render(&["ASSIGNED", "RELEASE", "BY", "NOTE"], &rows)
            );
        }
    }
    Ok(())
}
