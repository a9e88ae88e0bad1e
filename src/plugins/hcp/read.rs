//! Reading the registry for the data sources: one image (`hcp-packer-artifact`) or the release
//! a channel serves (`hcp-packer-version`), as Packer's outputs; each read is recorded as a
//! parent of the releases the run publishes.

use crate::plugins::sdk::registry::blocking;
use crate::plugins::sdk::{StepContext, StepError};
use crate::registry::model::{ImageQuery, ParentRef, Release, ReleaseRef, ReleaseStatus};
use crate::registry::{self, Store};
use crate::value::{Map, Value};

/// Where a data source reads: a bucket's product, at a release or through a channel.
#[derive(Clone, Debug)]
pub struct Lookup {
    pub bucket: String,
    pub product: String,
    pub at: ReleaseRef,
}

impl Lookup {
    /// The product from `product` or HCP's `bucket_name`, the bucket from `bucket` or the
    /// default one.
    pub fn new(bucket: &str, product: &str, bucket_name: &str, at: ReleaseRef) -> Lookup {
        Lookup {
            bucket: if bucket.is_empty() {
                registry::default_bucket()
            } else {
                bucket.to_string()
            },
            product: if product.is_empty() {
                bucket_name.to_string()
            } else {
                product.to_string()
            },
            at,
        }
    }

    fn parent(&self) -> ParentRef {
        ParentRef {
            bucket: self.bucket.clone(),
            product: self.product.clone(),
            at: self.at.clone(),
        }
    }
}

/// The release or channel a config names: a release (`release`, `version_fingerprint`) wins
/// over a channel; the checks at load make sure exactly one is set.
pub fn release_ref(release: &[&str], channel: &[&str]) -> ReleaseRef {
    let first = |xs: &[&str]| xs.iter().find(|x| !x.is_empty()).map(|x| x.to_string());
    match first(release) {
        Some(r) => ReleaseRef::Release(r),
        None => ReleaseRef::Channel(first(channel).unwrap_or_default()),
    }
}

fn string(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

/// The channel's ID, when the lookup went through one.
fn channel_id(store: &dyn Store, lookup: &Lookup) -> registry::Result<String> {
    let ReleaseRef::Channel(name) = &lookup.at else {
        return Ok(String::new());
    };
    Ok(store
        .channels(&lookup.bucket, &lookup.product)?
        .into_iter()
        .find(|c| c.name == *name)
        .map(|c| c.id)
        .unwrap_or_default())
}

/// `hcp-packer-artifact`: the image for `platform` in `region`.
pub async fn image(
    cx: StepContext<'_>,
    lookup: Lookup,
    platform: &str,
    region: &str,
    component: &str,
) -> Result<Value, StepError> {
    let store = cx.host.registry()?;
    let query = ImageQuery {
        bucket: lookup.bucket.clone(),
        product: lookup.product.clone(),
        at: lookup.at.clone(),
        provider: platform.to_string(),
        region: region.to_string(),
        component: (!component.is_empty()).then(|| component.to_string()),
    };
    let l = lookup.clone();
    let (record, release, channel_id) = blocking(move || {
        let record = store.image(&query)?;
        let release = store.release(&record.bucket, &record.product, &record.release)?;
        let channel_id = channel_id(&*store, &l)?;
        Ok((record, release, channel_id))
    })
    .await?;
    cx.host.built_from(lookup.parent()).await?;
    cx.say(&format!(
        "Read {} ({} in {}) from release {}/{}/{}",
        record.external_id,
        record.provider,
        record.region,
        record.bucket,
        record.product,
        record.release
    ));
    let labels: Map = release
        .builds
        .iter()
        .find(|b| b.id == record.build_id)
        .map(|b| {
            b.labels
                .iter()
                .map(|(k, v)| (k.clone(), string(v)))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Map::new();
    out.insert("platform".into(), string(&record.provider));
    out.insert("component_type".into(), string(&record.component));
    out.insert("created_at".into(), string(record.created_at.to_string()));
    out.insert("build_id".into(), string(&record.build_id));
    out.insert("version_id".into(), string(&record.release_id));
    out.insert("channel_id".into(), string(channel_id));
    out.insert("packer_run_uuid".into(), string(""));
    out.insert("external_identifier".into(), string(&record.external_id));
    out.insert("region".into(), string(&record.region));
    out.insert("labels".into(), Value::Map(labels));
    out.insert("id".into(), string(&record.image_id));
    out.insert("bucket".into(), string(&record.bucket));
    out.insert("product".into(), string(&record.product));
    out.insert("release".into(), string(&record.release));
    Ok(Value::Object(out))
}

/// `hcp-packer-version`: the release the lookup names (a channel's, as Packer reads it).
pub async fn version(cx: StepContext<'_>, lookup: Lookup) -> Result<Value, StepError> {
    let store = cx.host.registry()?;
    let l = lookup.clone();
    let (release, channel_id) = blocking(move || {
        let name = match &l.at {
            ReleaseRef::Release(r) => r.clone(),
            ReleaseRef::Channel(c) => {
                let channel = store
                    .channels(&l.bucket, &l.product)?
                    .into_iter()
                    .find(|ch| ch.name == *c)
                    .ok_or_else(|| {
                        registry::Error::not_found(format!(
                            "channel `{c}` of {}/{}",
                            l.bucket, l.product
                        ))
                        .with_hint(format!(
                            "`kiln registry channel list -bucket {} -product {}` lists its channels",
                            l.bucket, l.product
                        ))
                    })?;
                channel.release.ok_or_else(|| {
                    registry::Error::not_found(format!(
                        "a release on channel `{c}` of {}/{}",
                        l.bucket, l.product
                    ))
                    .with_hint("assign it with `kiln registry channel assign`")
                })?
            }
        };
        let release = store.release(&l.bucket, &l.product, &name)?;
        Ok((release, channel_id(&*store, &l)?))
    })
    .await?;
    refuse_revoked(&release)?;
    cx.host.built_from(lookup.parent()).await?;
    cx.say(&format!(
        "Read release {}/{}/{} ({})",
        release.bucket, release.product, release.name, release.status
    ));
    let mut out = Map::new();
    out.insert("author_id".into(), string(""));
    out.insert("bucket_name".into(), string(&release.product));
    out.insert("created_at".into(), string(release.created_at.to_string()));
    out.insert("fingerprint".into(), string(&release.name));
    out.insert("id".into(), string(&release.id));
    out.insert(
        "name".into(),
        string(release.version.map(|v| format!("v{v}")).unwrap_or_default()),
    );
    out.insert("status".into(), string(release.status.to_string()));
    out.insert(
        "updated_at".into(),
        string(
            release
                .completed_at
                .unwrap_or(release.created_at)
                .to_string(),
        ),
    );
    out.insert("channel_id".into(), string(channel_id));
    out.insert("bucket".into(), string(&release.bucket));
    out.insert("product".into(), string(&release.product));
    out.insert("release".into(), string(&release.name));
    Ok(Value::Object(out))
}

/// A revoked release is not to be built from.
fn refuse_revoked(release: &Release) -> Result<(), StepError> {
    if release.status != ReleaseStatus::Revoked {
        return Ok(());
    }
    let why = release
        .revocation
        .as_ref()
        .map(|r| r.message.clone())
        .filter(|m| !m.is_empty())
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    Err(StepError::new(format!(
        "release {}/{}/{} is revoked{why} (use a newer release, or `kiln registry release restore` to undo the revocation)",
        release.bucket, release.product, release.name
    )))
}
