//! `kiln registry image` and `kiln registry search`: from names to an image ID and back.

use super::table::{self, or_dash};
use super::{open_for_reading, print_json, Format, FormatArg, ProductArgs};
use crate::registry::model::{ImageQuery, ReleaseRef, ReleaseStatus};
use crate::registry::{names, Result};
use clap::{ArgGroup, Args};

/// Options of `kiln registry image`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("at").required(true).args(["release", "channel"])))]
pub struct ImageArgs {
    #[command(flatten)]
    product: ProductArgs,
    /// The release, by name.
    #[arg(long)]
    release: Option<String>,
    /// The channel whose release to use (`latest` follows the newest complete release).
    #[arg(long)]
    channel: Option<String>,
    /// The provider (platform): aws, azure, gcp, docker, null...
    #[arg(long)]
    provider: String,
    /// The region.
    #[arg(long)]
    region: String,
    /// The component, when several builds have an image for the provider and region.
    #[arg(long)]
    component: Option<String>,
    #[command(flatten)]
    format: FormatArg,
}

/// Run `kiln registry image`: print the external ID alone, or the whole record as JSON.
pub fn run(a: ImageArgs) -> Result<()> {
    // clap's group makes one of the two required.
    let at = match a.release {
        Some(r) => ReleaseRef::Release(r),
        None => ReleaseRef::Channel(a.channel.unwrap_or_default()),
    };
    let query = ImageQuery {
        bucket: a.product.bucket,
        product: a.product.product,
        at,
        provider: a.provider,
        region: a.region,
        component: a.component,
    };
    let record = open_for_reading()?.image(&query)?;
    if record.release_status == ReleaseStatus::RevocationScheduled {
        eprintln!(
            "warning: release {} of {}/{} is scheduled to be revoked",
            record.release, record.bucket, record.product
        );
    }
    match a.format.format {
        Format::Json => print_json(&record),
        Format::Text => println!("{}", record.external_id),
    }
    Ok(())
}

/// Options of `kiln registry search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The image's external ID, e.g. ami-0123456789abcdef0.
    id: String,
    #[command(flatten)]
    format: FormatArg,
}

/// Run `kiln registry search`.
pub fn search(a: SearchArgs) -> Result<()> {
    names::external_id(&a.id)?;
    let found = open_for_reading()?.search(&a.id)?;
    if a.format.format == Format::Json {
        print_json(&found);
        return Ok(());
    }
    if found.is_empty() {
        return Err(crate::registry::Error::not_found(format!(
            "a release holding image `{}`",
            a.id
        )));
    }
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|f| {
            vec![
                f.bucket.clone(),
                f.product.clone(),
                f.release.clone(),
                or_dash(f.version.map(|v| format!("v{v}"))),
                f.release_status.to_string(),
                f.component.clone(),
                f.provider.clone(),
                f.region.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &[
                "BUCKET",
                "PRODUCT",
                "RELEASE",
                "VERSION",
                "STATUS",
                "COMPONENT",
                "PROVIDER",
                "REGION"
            ],
            &rows
        )
    );
    Ok(())
}
