//! `kiln cleanup` on EC2: delete what a killed run left behind in one region, found from the
//! run's journal and from the run tag every resource carries.
//!
//! Instances are terminated first (a security group cannot go while an instance uses it), then
//! security groups and key pairs go, then AMIs that are not results: an AMI the journal saw
//! created but never finished, or, found by tag alone, one that is not `available`. An
//! available AMI found by tag is kept, since nothing tells a finished build's image from an
//! interrupted one's without the journal: deregister it yourself if it is not wanted.

use super::client::{self, error_code, Access, Polling, RUN_TAG};
use super::run::{deregister_with_snapshots, IMAGE, INSTANCE, KEY_PAIR, SECURITY_GROUP};
use crate::plugins::sdk::StepError;
use aws_sdk_ec2::types::{InstanceStateName, Tag};
use aws_sdk_ec2::Client;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Where one region's sweep reaches EC2: the endpoint and profile a journal recorded, or the
/// command line's; credentials always from the environment's chain.
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub region: String,
    pub endpoint: String,
    pub profile: String,
}

/// One resource to delete.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Resource {
    /// `instance`, `security_group`, `key_pair` or `image`.
    pub kind: String,
    pub id: String,
    /// The run that made it (from its tag or its journal).
    pub run: String,
}

/// What happened to one resource.
#[derive(Debug)]
pub struct Outcome {
    pub resource: Resource,
    pub region: String,
    /// Deleted, or why not.
    pub result: Result<(), String>,
}

/// A region's EC2, for finding and deleting.
pub struct Sweep {
    client: Client,
    region: String,
    cancel: CancellationToken,
}

impl Sweep {
    /// Connect to `target`'s region.
    pub async fn connect(target: &Target, cancel: CancellationToken) -> Result<Sweep, StepError> {
        let access = Access {
            access_key: "",
            secret_key: "",
            token: "",
            profile: &target.profile,
            custom_endpoint_ec2: &target.endpoint,
            max_retries: 0,
        };
        Ok(Sweep {
            client: client::connect_to(&access, &target.region).await?,
            region: target.region.clone(),
            cancel,
        })
    }

    /// The resources tagged by `run` (by any run when `None`) that a cleanup deletes: live
    /// instances, security groups, key pairs, and AMIs that are not available.
    pub async fn tagged(&self, run: Option<&str>) -> Result<Vec<Resource>, StepError> {
        let ours = |tags: &[Tag]| -> Option<String> {
            tags.iter()
                .find(|t| t.key() == Some(RUN_TAG))
                .and_then(|t| t.value())
                .filter(|v| run.is_none_or(|r| r == *v))
                .map(str::to_string)
        };
        let mut found = Vec::new();
        let mut pages = self.client.describe_instances().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| client::api_error("list instances", e))?;
            for i in page.reservations().iter().flat_map(|r| r.instances()) {
                let state = i.state().and_then(|s| s.name());
                let gone = matches!(
                    state,
                    Some(InstanceStateName::Terminated) | Some(InstanceStateName::ShuttingDown)
                );
                if let (Some(run), Some(id), false) = (ours(i.tags()), i.instance_id(), gone) {
                    found.push(resource(INSTANCE, id, run));
                }
            }
        }
        let mut pages = self
            .client
            .describe_security_groups()
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| client::api_error("list security groups", e))?;
            for g in page.security_groups() {
                if let (Some(run), Some(id)) = (ours(g.tags()), g.group_id()) {
                    found.push(resource(SECURITY_GROUP, id, run));
                }
            }
        }
        let keys = self
            .client
            .describe_key_pairs()
            .send()
            .await
            .map_err(|e| client::api_error("list key pairs", e))?;
        for k in keys.key_pairs() {
            if let (Some(run), Some(name)) = (ours(k.tags()), k.key_name()) {
                found.push(resource(KEY_PAIR, name, run));
            }
        }
        let images = self
            .client
            .describe_images()
            .owners("self")
            .send()
            .await
            .map_err(|e| client::api_error("list AMIs", e))?;
        for i in images.images() {
            let available = i.state().is_some_and(|s| s.as_str() == "available");
            if let (Some(run), Some(id), false) = (ours(i.tags()), i.image_id(), available) {
                found.push(resource(IMAGE, id, run));
            }
        }
        Ok(found)
    }

    /// Delete `resources` in a safe order and say what happened to each.
    pub async fn delete(&self, resources: &[Resource]) -> Vec<Outcome> {
        let unique: BTreeSet<&Resource> = resources.iter().collect();
        let of = |kind: &str| -> Vec<&Resource> {
            unique.iter().copied().filter(|r| r.kind == kind).collect()
        };
        let mut outcomes = Vec::new();
        for r in of(INSTANCE) {
            let result = self.terminate(&r.id).await;
            outcomes.push(self.outcome(r, result));
        }
        for r in of(SECURITY_GROUP) {
            let result = self.delete_group(&r.id).await;
            outcomes.push(self.outcome(r, result));
        }
        for r in of(KEY_PAIR) {
            let result = match self.client.delete_key_pair().key_name(&r.id).send().await {
                Ok(_) => Ok(()),
                Err(e) if error_code(&e) == Some("InvalidKeyPair.NotFound") => Ok(()),
                Err(e) => Err(client::api_error(&format!("delete key pair {}", r.id), e)),
            };
            outcomes.push(self.outcome(r, result));
        }
        for r in of(IMAGE) {
            let result = deregister_with_snapshots(&self.client, &r.id).await;
            outcomes.push(self.outcome(r, result));
        }
        outcomes
    }

    fn outcome(&self, resource: &Resource, result: Result<(), StepError>) -> Outcome {
        Outcome {
            resource: resource.clone(),
            region: self.region.clone(),
            result: result.map_err(|e| e.message()),
        }
    }

    fn polling() -> Polling {
        Polling::new(None).within(Duration::from_secs(10 * 60))
    }

    async fn terminate(&self, id: &str) -> Result<(), StepError> {
        let client = &self.client;
        match client.terminate_instances().instance_ids(id).send().await {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("InvalidInstanceID.NotFound") => return Ok(()),
            Err(e) => return Err(client::api_error(&format!("terminate instance {id}"), e)),
        }
        Self::polling()
            .poll(
                &self.cancel,
                &format!("instance {id} to terminate"),
                move || async move {
                    let out = client
                        .describe_instances()
                        .instance_ids(id)
                        .send()
                        .await
                        .map_err(|e| client::api_error(&format!("read instance {id}"), e))?;
                    let state = out
                        .reservations()
                        .iter()
                        .flat_map(|r| r.instances())
                        .find_map(|i| i.state().and_then(|s| s.name()).cloned());
                    Ok(matches!(state, None | Some(InstanceStateName::Terminated)).then_some(()))
                },
            )
            .await
    }

    async fn delete_group(&self, id: &str) -> Result<(), StepError> {
        let client = &self.client;
        Self::polling()
            .poll(
                &self.cancel,
                &format!("security group {id} to be deleted"),
                move || async move {
                    match client.delete_security_group().group_id(id).send().await {
                        Ok(_) => Ok(Some(())),
                        Err(e) if error_code(&e) == Some("InvalidGroup.NotFound") => Ok(Some(())),
                        Err(e) if error_code(&e) == Some("DependencyViolation") => Ok(None),
                        Err(e) => Err(client::api_error(&format!("delete security group {id}"), e)),
                    }
                },
            )
            .await
    }
}

fn resource(kind: &str, id: &str, run: String) -> Resource {
    Resource {
        kind: kind.to_string(),
        id: id.to_string(),
        run,
    }
}
