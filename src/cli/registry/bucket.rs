//! `kiln registry bucket list|show|delete` and `kiln registry product list|show|delete`.

use super::table::{self, or_dash};
use super::{open_for_reading, open_for_writing, print_json, Format, FormatArg, ProductArgs};
use crate::registry::{names, Result};
use clap::{Args, Subcommand};

/// `kiln registry bucket ...`.
#[derive(Debug, Subcommand)]
pub enum BucketCommand {
    /// List every bucket.
    List(FormatArg),
    /// Show a bucket and its products.
    Show(BucketArgs),
    /// Delete an empty bucket.
    Delete(BucketName),
}

/// `-bucket B`.
#[derive(Debug, Args)]
pub struct BucketName {
    /// The bucket.
    #[arg(long)]
    bucket: String,
}

/// Options of `kiln registry bucket show` and `product list`.
#[derive(Debug, Args)]
pub struct BucketArgs {
    #[command(flatten)]
    bucket: BucketName,
    #[command(flatten)]
    format: FormatArg,
}

/// `kiln registry product ...`.
#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    /// List a bucket's products.
    List(BucketArgs),
    /// Show a product: releases, latest, providers.
    Show(ProductShowArgs),
    /// Delete a product with its releases and channels.
    Delete(ProductArgs),
}

/// Options of `kiln registry product show`.
#[derive(Debug, Args)]
pub struct ProductShowArgs {
    #[command(flatten)]
    product: ProductArgs,
    #[command(flatten)]
    format: FormatArg,
}

/// Run `kiln registry bucket ...`.
pub fn run_bucket(c: BucketCommand) -> Result<()> {
    match c {
        BucketCommand::List(f) => {
            let buckets = open_for_reading()?.buckets()?;
            if f.format == Format::Json {
                print_json(&buckets);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = buckets
                .iter()
                .map(|b| {
                    vec![
                        b.name.clone(),
                        b.products.len().to_string(),
                        b.created_at.to_seconds_string(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table::render(&["BUCKET", "PRODUCTS", "CREATED"], &rows)
            );
        }
        BucketCommand::Show(a) => {
            let b = open_for_reading()?.bucket(&a.bucket.bucket)?;
            if a.format.format == Format::Json {
                print_json(&b);
                return Ok(());
            }
            println!("bucket    {}", b.name);
            println!("id        {}", b.id);
            println!("created   {}", b.created_at.to_seconds_string());
            println!(
                "products  {}",
                or_dash((!b.products.is_empty()).then(|| b.products.join(", ")))
            );
        }
        BucketCommand::Delete(a) => {
            names::bucket(&a.bucket)?;
            open_for_writing()?.delete_bucket(&a.bucket)?;
            println!("deleted bucket {}", a.bucket);
        }
    }
    Ok(())
}

/// Run `kiln registry product ...`.
pub fn run_product(c: ProductCommand) -> Result<()> {
    match c {
        ProductCommand::List(a) => {
            let products = open_for_reading()?.products(&a.bucket.bucket)?;
            if a.format.format == Format::Json {
                print_json(&products);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = products
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        p.releases.to_string(),
                        or_dash(p.latest.clone()),
                        p.providers.join(", "),
                    ]
                })
                .collect();
            print!(
                "{}",
                table::render(&["PRODUCT", "RELEASES", "LATEST", "PROVIDERS"], &rows)
            );
        }
        ProductCommand::Show(a) => {
            let p = open_for_reading()?.product(&a.product.bucket, &a.product.product)?;
            if a.format.format == Format::Json {
                print_json(&p);
                return Ok(());
            }
            println!("product    {}/{}", p.bucket, p.name);
            println!("id         {}", p.id);
            println!("created    {}", p.created_at.to_seconds_string());
            println!("releases   {}", p.releases);
            println!("latest     {}", or_dash(p.latest));
            println!(
                "providers  {}",
                or_dash((!p.providers.is_empty()).then(|| p.providers.join(", ")))
            );
        }
        ProductCommand::Delete(a) => {
            names::bucket(&a.bucket)?;
            names::product(&a.product)?;
            open_for_writing()?.delete_product(&a.bucket, &a.product)?;
            println!("deleted product {}/{}", a.bucket, a.product);
        }
    }
    Ok(())
}
