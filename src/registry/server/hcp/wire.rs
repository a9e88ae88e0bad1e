//! HCP's records as its clients read them, made from kiln's: field names, enum spellings and
//! int64-as-string counts as in the Swagger spec. A field kiln has no value for is left out
//! rather than sent empty, except those the clients dereference (`status`, `name`, `id`).

use crate::registry::model::{
    self, AncestryStatus, Channel as KilnChannel, Dependency, Release, RevocationType, Timestamp,
};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `hashicorp.cloud.location.Location`.
#[derive(Clone, Debug, Serialize)]
pub struct Location {
    pub organization_id: String,
    pub project_id: String,
}

/// `hashicorp.cloud.common.PaginationResponse`.
#[derive(Debug, Default, Serialize)]
pub struct Pagination {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_page_token: Option<String>,
}

/// `Bucket` (a kiln product).
#[derive(Debug, Serialize)]
pub struct Bucket {
    pub id: String,
    pub name: String,
    pub location: Location,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_version: Option<Version>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub platforms: Vec<String>,
    pub description: String,
    pub labels: BTreeMap<String, String>,
    /// int64, as a string.
    pub version_count: String,
    pub resource_name: String,
}

impl Bucket {
    pub fn new(p: &model::Product, latest: Option<&Release>, location: &Location) -> Bucket {
        Bucket {
            id: p.id.clone(),
            name: p.name.clone(),
            location: location.clone(),
            latest_version: latest.map(Version::new),
            created_at: p.created_at,
            updated_at: p.updated_at.unwrap_or(p.created_at),
            platforms: p.providers.clone(),
            description: p.description.clone(),
            labels: p.labels.clone(),
            version_count: p.releases.to_string(),
            resource_name: format!("packer/project/{}/bucket/{}", location.project_id, p.name),
        }
    }
}

/// `{href, status}` of a version's or bucket's ancestry.
#[derive(Debug, Serialize)]
pub struct Ancestry {
    pub href: String,
    pub status: &'static str,
}

/// `RevokedAncestor`.
#[derive(Debug, Serialize)]
pub struct RevokedAncestor {
    pub bucket_name: String,
    pub version_fingerprint: String,
}

/// `Version` (a kiln release).
#[derive(Debug, Serialize)]
pub struct Version {
    pub id: String,
    pub bucket_name: String,
    /// `v0` until complete, then `v1`, `v2`...
    pub name: String,
    pub status: String,
    pub fingerprint: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub builds: Vec<Build>,
    pub template_type: &'static str,
    pub has_descendants: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_inherited_from: Option<RevokedAncestor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parents: Option<Ancestry>,
}

impl Version {
    pub fn new(r: &Release) -> Version {
        let changed = r
            .builds
            .iter()
            .flat_map(|b| [Some(b.created_at), b.heartbeat_at, b.finished_at])
            .flatten()
            .chain(r.completed_at)
            .max()
            .unwrap_or(r.created_at)
            .max(r.created_at);
        let revocation = r.revocation.as_ref();
        Version {
            id: r.id.clone(),
            bucket_name: r.product.clone(),
            name: format!("v{}", r.version.unwrap_or(0)),
            status: r.status.hcp_name(),
            fingerprint: r.name.clone(),
            created_at: r.created_at,
            updated_at: revocation
                .map_or(changed, |v| changed.max(v.revoke_at.min(Timestamp::now()))),
            builds: r.builds.iter().map(|b| Build::new(b, &r.id)).collect(),
            template_type: match r.template_type.as_deref() {
                Some("HCL2") => "HCL2",
                Some("JSON") => "JSON",
                _ => "TEMPLATE_TYPE_UNSET",
            },
            has_descendants: !r.children.is_empty(),
            revoke_at: revocation.map(|v| v.revoke_at),
            revocation_message: revocation.map(|v| v.message.clone()),
            revocation_author: revocation.map(|v| v.author.clone()),
            revocation_type: revocation.map(|v| match v.kind {
                RevocationType::Manual => "MANUAL",
                RevocationType::Inherited => "INHERITED",
            }),
            revocation_inherited_from: revocation
                .and_then(|v| v.inherited_from.as_deref())
                .and_then(|key| {
                    let mut parts = key.splitn(3, '/');
                    let (_, product, release) = (parts.next()?, parts.next()?, parts.next()?);
                    Some(RevokedAncestor {
                        bucket_name: product.to_string(),
                        version_fingerprint: release.to_string(),
                    })
                }),
            parents: (!r.parents.is_empty()).then(|| Ancestry {
                href: format!(
                    "buckets/{}/ancestry?version_fingerprint={}",
                    r.product, r.name
                ),
                status: ancestry_status(&r.parents),
            }),
        }
    }
}

/// The worst of the parents' statuses: out of date if any is, else up to date if any is.
fn ancestry_status(parents: &[Dependency]) -> &'static str {
    let has = |s| parents.iter().any(|d| d.status == s);
    if has(AncestryStatus::OutOfDate) {
        "OUT_OF_DATE"
    } else if has(AncestryStatus::UpToDate) {
        "UP_TO_DATE"
    } else {
        "UNDETERMINED"
    }
}

/// `Build`.
#[derive(Debug, Serialize)]
pub struct Build {
    pub id: String,
    pub version_id: String,
    pub component_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packer_run_uuid: Option<String>,
    pub artifacts: Vec<Artifact>,
    pub platform: String,
    pub status: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_external_identifier: Option<String>,
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl Build {
    pub fn new(b: &model::Build, version_id: &str) -> Build {
        Build {
            id: b.id.clone(),
            version_id: version_id.to_string(),
            component_type: b.component.clone(),
            packer_run_uuid: b.run_uuid.clone(),
            artifacts: b
                .images
                .iter()
                .map(|i| Artifact {
                    id: i.id.clone(),
                    external_identifier: i.external_id.clone(),
                    region: i.region.clone(),
                    created_at: i.created_at,
                })
                .collect(),
            platform: b.provider.clone().unwrap_or_default(),
            status: b.status.hcp_name(),
            created_at: b.created_at,
            updated_at: [Some(b.created_at), b.heartbeat_at, b.finished_at]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(b.created_at),
            source_external_identifier: b.source_image.clone(),
            labels: b.labels.clone(),
            metadata: b.metadata.clone(),
        }
    }
}

/// The parts of a client's build metadata HCP keeps: `packer`, `vcs` and `cicd`, each an object.
pub fn metadata(given: Option<&Value>) -> Option<Value> {
    let given = given?.as_object()?;
    let kept: Map<String, Value> = ["packer", "vcs", "cicd"]
        .into_iter()
        .filter_map(|k| {
            given
                .get(k)
                .filter(|v| v.is_object())
                .map(|v| (k.to_string(), v.clone()))
        })
        .collect();
    (!kept.is_empty()).then_some(Value::Object(kept))
}

/// `Artifact` (a kiln image).
#[derive(Debug, Serialize)]
pub struct Artifact {
    pub id: String,
    pub external_identifier: String,
    pub region: String,
    pub created_at: Timestamp,
}

/// `Channel`.
#[derive(Debug, Serialize)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub bucket_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    pub managed: bool,
    /// Kiln restricts only `latest` (no client may assign it).
    pub restricted: bool,
}

impl Channel {
    pub fn new(
        c: &KilnChannel,
        product: &str,
        serving: Option<&Release>,
        author: Option<String>,
    ) -> Channel {
        Channel {
            id: c.id.clone(),
            name: c.name.clone(),
            bucket_name: product.to_string(),
            author_id: author,
            created_at: c.created_at,
            updated_at: c.assigned_at.unwrap_or(c.created_at).max(c.created_at),
            version: serving.map(Version::new),
            managed: c.managed,
            restricted: c.managed,
        }
    }
}

/// `ChannelAssignment`.
#[derive(Debug, Serialize)]
pub struct ChannelAssignment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    pub author_id: String,
    pub assigned_at: Timestamp,
}

/// `Sbom`.
#[derive(Debug, Serialize)]
pub struct Sbom {
    pub id: String,
    pub name: String,
    pub format: String,
}

impl From<crate::registry::Sbom> for Sbom {
    fn from(s: crate::registry::Sbom) -> Sbom {
        Sbom {
            id: s.id,
            name: s.name,
            format: s.format,
        }
    }
}
