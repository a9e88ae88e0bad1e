//! `kiln registry release list|show|revoke|restore`.

use super::table::{self, or_dash};
use super::{
    author, open_for_reading, open_for_writing, print_json, Format, FormatArg, ProductArgs,
};
use crate::registry::model::{parse_duration, Release, Revoke, Timestamp};
use crate::registry::{names, Error, Result, Store};
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::fmt::Write;

/// `kiln registry release ...`.
#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// List a product's releases, oldest first.
    List(ListArgs),
    /// Show a release: status, builds, images per provider and region, parents and children.
    Show(ShowArgs),
    /// Revoke a release now (or at a time), and the releases built from it.
    Revoke(RevokeArgs),
    /// Undo a revocation, and the revocations its descendants inherited.
    Restore(RestoreArgs),
}

/// Options of `kiln registry release list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    product: ProductArgs,
    #[command(flatten)]
    format: FormatArg,
}

/// Options of `kiln registry release show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    product: ProductArgs,
    /// The release.
    #[arg(long)]
    release: String,
    #[command(flatten)]
    format: FormatArg,
}

/// Options of `kiln registry release revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    product: ProductArgs,
    /// The release.
    #[arg(long)]
    release: String,
    /// When the revocation takes effect (RFC 3339, e.g. 2026-07-01T00:00:00Z); default now.
    #[arg(long, value_name = "TIME", conflicts_with = "in_")]
    at: Option<String>,
    /// Revoke after this long: 30d, 12h, 1d12h, 90m, 45s.
    #[arg(long = "in", value_name = "DURATION")]
    in_: Option<String>,
    /// Why (shown to everyone who asks for the release).
    #[arg(long, default_value = "")]
    message: String,
    /// Leave the releases built from this one alone.
    #[arg(long)]
    skip_descendants: bool,
}

/// Options of `kiln registry release restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    product: ProductArgs,
    /// The release.
    #[arg(long)]
    release: String,
}

/// Run `kiln registry release ...`.
pub fn run(c: ReleaseCommand) -> Result<()> {
    match c {
        ReleaseCommand::List(a) => {
            let store = open_for_reading()?;
            let releases = store.releases(&a.product.bucket, &a.product.product)?;
            if a.format.format == Format::Json {
                print_json(&releases);
                return Ok(());
            }
            let channels = serving(store.as_ref(), &a.product.bucket, &a.product.product)?;
            print!("{}", list_table(&releases, &channels));
        }
        ReleaseCommand::Show(a) => {
            let store = open_for_reading()?;
            let r = store.release(&a.product.bucket, &a.product.product, &a.release)?;
            if a.format.format == Format::Json {
                print_json(&r);
                return Ok(());
            }
            let channels = serving(store.as_ref(), &a.product.bucket, &a.product.product)?;
            print!("{}", show(&r, &channels));
        }
        ReleaseCommand::Revoke(a) => {
            names::release(&a.release)?;
            let at = match (&a.at, &a.in_) {
                (Some(t), _) => Some(Timestamp::parse_rfc3339(t).ok_or_else(|| {
                    Error::invalid(format!("-at {t:?} is not an RFC 3339 time"))
                        .with_hint("write it like 2026-07-01T00:00:00Z")
                })?),
                (None, Some(d)) => {
                    Some(Timestamp::now().plus(parse_duration(d).ok_or_else(|| {
                        Error::invalid(format!("-in {d:?} is not a duration"))
                            .with_hint("write it like 30d, 12h, 1d12h, 90m or 45s")
                    })?))
                }
                (None, None) => None,
            };
            let revoked = open_for_writing()?.revoke(&Revoke {
                bucket: a.product.bucket,
                product: a.product.product,
                release: a.release,
                at,
                message: a.message,
                author: author(),
                skip_descendants: a.skip_descendants,
            })?;
            let when = match at {
                Some(t) if t > Timestamp::now() => {
                    format!("to be revoked at {}", t.to_seconds_string())
                }
                _ => "revoked".to_string(),
            };
            for (i, key) in revoked.iter().enumerate() {
                let how = if i == 0 { "" } else { " (inherited)" };
                println!("{key}: {when}{how}");
            }
        }
        ReleaseCommand::Restore(a) => {
            names::release(&a.release)?;
            let restored =
                open_for_writing()?.restore(&a.product.bucket, &a.product.product, &a.release)?;
            for key in restored {
                println!("{key}: restored");
            }
        }
    }
    Ok(())
}

/// Release name → the channels serving it, sorted.
fn serving(
    store: &dyn Store,
    bucket: &str,
    product: &str,
) -> Result<BTreeMap<String, Vec<String>>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in store.channels(bucket, product)? {
        if let Some(r) = c.release {
            map.entry(r).or_default().push(c.name);
        }
    }
    Ok(map)
}

fn done_count(r: &Release) -> String {
    let done = r
        .builds
        .iter()
        .filter(|b| b.status == crate::registry::model::BuildStatus::Done)
        .count();
    format!("{done}/{}", r.builds.len())
}

fn out_of_date(r: &Release) -> bool {
    r.parents
        .iter()
        .any(|p| p.status == crate::registry::model::AncestryStatus::OutOfDate)
}

fn list_table(releases: &[Release], channels: &BTreeMap<String, Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = releases
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                or_dash(r.version.map(|v| format!("v{v}"))),
                r.status.to_string(),
                done_count(r),
                r.created_at.to_seconds_string(),
                channels
                    .get(&r.name)
                    .map(|c| c.join(", "))
                    .unwrap_or_default(),
                if out_of_date(r) {
                    "parent out of date"
                } else {
                    ""
                }
                .to_string(),
            ]
        })
        .collect();
    table::render(
        &[
            "RELEASE",
            "VERSION",
            "STATUS",
            "BUILDS DONE",
            "CREATED",
            "CHANNELS",
            "NOTE",
        ],
        &rows,
    )
}

fn show(r: &Release, channels: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| {
        let _ = writeln!(out, "{k:<10} {v}");
    };
    line("release", format!("{}/{}/{}", r.bucket, r.product, r.name));
    line("id", r.id.clone());
    line("version", or_dash(r.version.map(|v| format!("v{v}"))));
    line("status", r.status.to_string());
    line("created", r.created_at.to_seconds_string());
    line(
        "completed",
        or_dash(r.completed_at.map(|t| t.to_seconds_string())),
    );
    line(
        "channels",
        or_dash(channels.get(&r.name).map(|c| c.join(", "))),
    );
    if let Some(rev) = &r.revocation {
        let mut text = format!(
            "{} at {} by {}",
            rev.kind.as_str(),
            rev.revoke_at.to_seconds_string(),
            rev.author
        );
        if let Some(from) = &rev.inherited_from {
            let _ = write!(text, ", inherited from {from}");
        }
        if !rev.message.is_empty() {
            let _ = write!(text, ": {}", rev.message);
        }
        line("revocation", text);
    }
    let mut rows = Vec::new();
    for b in &r.builds {
        let provider = or_dash(b.provider.clone());
        if b.images.is_empty() {
            rows.push(vec![
                b.component.clone(),
                provider.clone(),
                b.status.to_string(),
                "-".into(),
                b.message.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        for (i, img) in b.images.iter().enumerate() {
            let first = i == 0;
            rows.push(vec![
                if first {
                    b.component.clone()
                } else {
                    String::new()
                },
                if first {
                    provider.clone()
                } else {
                    String::new()
                },
                if first {
                    b.status.to_string()
                } else {
                    String::new()
                },
                img.region.clone(),
                img.external_id.clone(),
            ]);
        }
    }
    out.push('\n');
    out.push_str(&table::render(
        &["BUILD", "PROVIDER", "STATUS", "REGION", "IMAGE"],
        &rows,
    ));
    for (title, deps, parents) in [("PARENT", &r.parents, true), ("CHILD", &r.children, false)] {
        if deps.is_empty() {
            continue;
        }
        let rows: Vec<Vec<String>> = deps
            .iter()
            .map(|d| {
                vec![
                    if parents {
                        d.parent.clone()
                    } else {
                        d.child.clone()
                    },
                    or_dash(d.channel.clone()),
                    d.status.to_string(),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table::render(&[title, "CHANNEL", "ANCESTRY"], &rows));
    }
    out
}
