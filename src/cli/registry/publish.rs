//! `kiln registry publish`: register images some other tool built.

use super::{open_for_writing, print_json, Format, FormatArg};
use crate::registry::model::{Completion, NewImage, ParentRef, Publish, PublishBuild, ReleaseRef};
use crate::registry::{Error, Result};
use clap::Args;
use std::collections::BTreeMap;

/// Options of `kiln registry publish`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Each -region is paired with the -id in the same position: `-region us-east-1 -id ami-1 -region \
eu-west-1 -id ami-2` records two images of one build in one transaction.

Completion: the publish marks its build DONE. The release completes (gets its version, moves \
`latest` and assigns every -channel) when every build it expects is DONE. Without -expect it \
expects only the builds published so far, so a single publish completes it. When several \
processes publish the components of one release, give each the same `-expect c1,c2,...`: the \
release stays RUNNING until the last of them is DONE, and completes exactly once.

A complete release is immutable: publishing the same images again changes nothing; a different \
image is refused (publish into a new release name instead).")]
pub struct PublishArgs {
    #[command(flatten)]
    product: super::ProductArgs,
    /// The release name (HCP's fingerprint), e.g. v1.2.0.
    #[arg(long)]
    release: String,
    /// The build's component, e.g. amazon-ebs.my-ami.
    #[arg(long)]
    component: String,
    /// The provider (platform): aws, azure, gcp, docker, null...
    #[arg(long)]
    provider: String,
    /// A region the build has an image in; repeat, one per -id.
    #[arg(long, required = true)]
    region: Vec<String>,
    /// The image's external ID in the region at the same position; repeat.
    #[arg(long, required = true)]
    id: Vec<String>,
    /// Every component the release waits for, comma-separated (this one is added).
    #[arg(long, value_delimiter = ',', value_name = "COMPONENTS")]
    expect: Vec<String>,
    /// A channel to assign when the release completes; repeat for several.
    #[arg(long)]
    channel: Vec<String>,
    /// A build label, key=value; repeat for several.
    #[arg(long, value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// The image the build started from.
    #[arg(long)]
    source_image: Option<String>,
    /// The bucket of the release this one was built from (default: -bucket).
    #[arg(long, requires = "parent_product")]
    parent_bucket: Option<String>,
    /// The product of the release this one was built from.
    #[arg(long)]
    parent_product: Option<String>,
    /// The parent release, by name.
    #[arg(long, requires = "parent_product", conflicts_with = "parent_channel")]
    parent_release: Option<String>,
    /// The channel the parent image was read through (records which release it served).
    #[arg(long, requires = "parent_product")]
    parent_channel: Option<String>,
    #[command(flatten)]
    format: FormatArg,
}

fn request(a: &PublishArgs) -> Result<Publish> {
    if a.region.len() != a.id.len() {
        return Err(Error::invalid(format!(
            "{} -region but {} -id: give one -id per -region, in the same order",
            a.region.len(),
            a.id.len()
        )));
    }
    let mut labels = BTreeMap::new();
    for l in &a.label {
        let Some((k, v)) = l.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(Error::invalid(format!("label {l:?} is not key=value")));
        };
        labels.insert(k.to_string(), v.to_string());
    }
    let mut expect: Vec<String> = a.expect.iter().filter(|c| !c.is_empty()).cloned().collect();
    expect.sort();
    expect.dedup();
    let mut parents = Vec::new();
    if let Some(product) = &a.parent_product {
        let at = match (&a.parent_release, &a.parent_channel) {
            (Some(r), None) => ReleaseRef::Release(r.clone()),
            (None, Some(c)) => ReleaseRef::Channel(c.clone()),
            _ => {
                return Err(Error::invalid(
                    "-parent-product needs -parent-release or -parent-channel",
                ))
            }
        };
        parents.push(ParentRef {
            bucket: a
                .parent_bucket
                .clone()
                .unwrap_or_else(|| a.product.bucket.clone()),
            product: product.clone(),
            at,
        });
    }
    Ok(Publish {
        bucket: a.product.bucket.clone(),
        product: a.product.product.clone(),
        release: a.release.clone(),
        expect,
        channels: a.channel.clone(),
        builds: vec![PublishBuild {
            component: a.component.clone(),
            provider: a.provider.clone(),
            labels,
            source_image: a.source_image.clone(),
            images: a
                .region
                .iter()
                .zip(&a.id)
                .map(|(region, id)| NewImage {
                    region: region.clone(),
                    external_id: id.clone(),
                })
                .collect(),
        }],
        parents,
    })
}

/// Run `kiln registry publish`.
pub fn run(a: PublishArgs) -> Result<()> {
    let publish = request(&a)?;
    // Names are checked before the database is opened, so bad input writes nothing at all.
    crate::registry::names::check_publish(&publish)?;
    let store = open_for_writing()?;
    let done = store.publish(&publish)?;
    if a.format.format == Format::Json {
        print_json(&done);
        return Ok(());
    }
    let what = format!(
        "{}/{} release {}",
        publish.bucket, publish.product, publish.release
    );
    match done {
        Completion::Completed { version, .. } => {
            println!(
                "published {} into {what}: the release is complete (v{version})",
                a.component
            )
        }
        Completion::Pending { waiting_for, .. } => println!(
            "published {} into {what}: the release waits for {}",
            a.component,
            waiting_for.join(", ")
        ),
        Completion::Unchanged { .. } => {
            println!("{what} already holds exactly these images: nothing changed")
        }
    }
    Ok(())
}
