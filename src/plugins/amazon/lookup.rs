//! Finding an AMI: by ID (`source_ami`) or by filters and owners (`source_ami_filter`, the
//! `amazon-ami` data source), as Packer's `AmiFilterOptions.GetFilteredImage` does.

use super::client::api_error;
use super::types::AmiFilter;
use crate::plugins::sdk::StepError;
use aws_sdk_ec2::types::{Filter, Image};
use aws_sdk_ec2::Client;

/// The image found, with what the build's generated data tells of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FoundImage {
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner: String,
    pub owner_name: String,
    pub creation_date: String,
    pub root_device_name: String,
    pub tags: Vec<(String, String)>,
}

impl FoundImage {
    fn of(image: &Image) -> FoundImage {
        let text = |s: Option<&str>| s.unwrap_or_default().to_string();
        let mut tags: Vec<(String, String)> = image
            .tags()
            .iter()
            .map(|t| (text(t.key()), text(t.value())))
            .collect();
        tags.sort();
        FoundImage {
            id: text(image.image_id()),
            name: text(image.name()),
            description: text(image.description()),
            owner: text(image.owner_id()),
            owner_name: text(image.image_owner_alias()),
            creation_date: text(image.creation_date()),
            root_device_name: text(image.root_device_name()),
            tags,
        }
    }
}

/// The image `id`, which must exist.
pub async fn by_id(client: &Client, id: &str) -> Result<FoundImage, StepError> {
    let out = client
        .describe_images()
        .image_ids(id)
        .send()
        .await
        .map_err(|e| api_error(&format!("find the source AMI {id}"), e))?;
    out.images()
        .first()
        .map(FoundImage::of)
        .ok_or_else(|| StepError::new(format!("the source AMI {id} does not exist")))
}

/// The one image `filter` matches, or the newest with `most_recent`.
pub async fn by_filter(client: &Client, filter: &AmiFilter) -> Result<FoundImage, StepError> {
    let mut request = client.describe_images();
    for (name, value) in &filter.filters {
        request = request.filters(
            Filter::builder()
                .name(filter_name(name))
                .values(value)
                .build(),
        );
    }
    for owner in &filter.owners {
        request = request.owners(owner);
    }
    if filter.include_deprecated {
        request = request.include_deprecated(true);
    }
    let out = request
        .send()
        .await
        .map_err(|e| api_error("find the source AMI", e))?;
    let mut images: Vec<&Image> = out.images().iter().collect();
    if images.is_empty() {
        return Err(StepError::new(format!(
            "no AMI matches the filter ({}; owners {})",
            describe(filter),
            filter.owners.join(", ")
        )));
    }
    if images.len() > 1 && !filter.most_recent {
        return Err(StepError::new(format!(
            "{} AMIs match the filter ({}); set `most_recent = true` or narrow the filters",
            images.len(),
            describe(filter)
        )));
    }
    // ISO 8601 dates sort as text; the ID breaks ties so the pick is deterministic.
    images
        .sort_by(|a, b| (a.creation_date(), a.image_id()).cmp(&(b.creation_date(), b.image_id())));
    let newest = images.last().expect("not empty: checked above");
    Ok(FoundImage::of(newest))
}

/// EC2's filter names are lower-case (`name`, `root-device-type`), but templates write them as
/// they like (the seed has `Name` and `Root-Device-Type`): kiln sends them lower-case. A tag
/// filter's key (`tag:Name`) keeps its case, as tag keys are case-sensitive.
fn filter_name(name: &str) -> String {
    match name.split_once(':') {
        Some((kind, key)) if kind.eq_ignore_ascii_case("tag") => format!("tag:{key}"),
        _ => name.to_ascii_lowercase(),
    }
}

fn describe(filter: &AmiFilter) -> String {
    filter
        .filters
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Before images are registered: each AMI of `images` (provider `aws`) exists and is available
/// in its region, asked with `access` (a publish step's `cloud_provider_config` credentials,
/// else the environment's chain). A missing image is an error that names it.
pub async fn check_published(
    cx: &crate::plugins::sdk::StepContext<'_>,
    access: &super::client::Access<'_>,
    images: &[crate::plugins::sdk::ArtifactImage],
) -> Result<(), StepError> {
    let mut missing = Vec::new();
    for image in images.iter().filter(|i| i.provider == "aws") {
        let client = super::client::connect(cx, access, &image.region).await?;
        let out = client.describe_images().image_ids(&image.id).send().await;
        let available = match out {
            Ok(out) => out
                .images()
                .iter()
                .any(|i| i.state().is_some_and(|s| s.as_str() == "available")),
            Err(e)
                if super::client::error_code(&e).is_some_and(|c| c.starts_with("InvalidAMIID")) =>
            {
                false
            }
            Err(e) => {
                return Err(api_error(
                    &format!("check that AMI {} exists in {}", image.id, image.region),
                    e,
                ))
            }
        };
        if !available {
            missing.push(format!("{} in {}", image.id, image.region));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(StepError::new(format!(
        "not publishing: EC2 has no available AMI {}",
        missing.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::filter_name;

    #[test]
    fn filter_names_are_sent_lower_case_but_tag_keys_keep_theirs() {
        assert_eq!(filter_name("Root-Device-Type"), "root-device-type");
        assert_eq!(filter_name("Name"), "name");
        assert_eq!(filter_name("tag:Name"), "tag:Name");
        assert_eq!(filter_name("Tag:Team"), "tag:Team");
    }
}
