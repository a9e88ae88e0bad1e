//! Running amazon-ebs's steps on EC2, as Packer's amazon-ebs does them: find the source AMI;
//! launch (temporary key pair and security group, RunInstances, wait running, SSH); capture
//! (stop, CreateImage, wait available); copy to each of `ami_regions`; clean up whatever
//! happened. Every resource carries the run's tag and is noted in the session the moment its ID
//! is known, so the cleanup finds it after a failure or an interrupt.

use super::client::{self, api_error, error_code, Polling, RUN_TAG};
use super::ebs::Config;
use super::lookup::{self, FoundImage};
use super::session::{MadeImage, Session};
use super::types::BlockDevice;
use crate::functions::gotime::wait_duration;
use crate::plugins::remote::ssh;
use crate::plugins::sdk::journal::{Op, Record};
use crate::plugins::sdk::{generated, Artifact, ArtifactImage, StepContext, StepError};
use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, Filter, IamInstanceProfileSpecification, InstanceStateName,
    IpPermission, IpRange, KeyType, ResourceType, Tag, TagSpecification, VolumeType,
};
use aws_sdk_ec2::Client;
use std::collections::BTreeMap;
use std::time::Duration;

/// The plugin family in the run journal.
pub const PLUGIN: &str = "amazon";

/// Packer's builder ID for amazon-ebs artifacts.
pub const BUILDER_ID: &str = "mitchellh.amazonebs";

impl Config {
    /// Work on the session's state under its lock (never held across an await).
    fn state<R>(&self, session: usize, f: impl FnOnce(&mut Session) -> R) -> R {
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(sessions.entry(session).or_default())
    }

    /// The session's EC2 client for `region`, made once.
    async fn client(&self, cx: &StepContext<'_>, region: &str) -> Result<Client, StepError> {
        let session = cx.session()?;
        if let Some(c) = self.state(session, |s| s.clients.get(region).cloned()) {
            return Ok(c);
        }
        let c = client::connect(cx, &client::access_of!(self), region).await?;
        self.state(session, |s| s.clients.insert(region.to_string(), c.clone()));
        Ok(c)
    }

    /// Write what happened to a resource into the run's journal. A resource's creation must be
    /// on disk before the step goes on; a deletion that cannot be written is only said (the
    /// next `kiln cleanup` finds the resource gone).
    fn journal(
        &self,
        cx: &StepContext<'_>,
        op: Op,
        kind: &str,
        id: &str,
        region: &str,
    ) -> Result<(), StepError> {
        let mut record = Record::resource(op, PLUGIN, kind, id, region);
        record.endpoint = client::endpoint(&client::access_of!(self)).unwrap_or_default();
        record.profile = self.profile.clone();
        record.build = cx.target().to_string();
        let written = cx.journal(&record);
        if let (Op::Deleted, Err(e)) = (op, &written) {
            cx.error(&e.message());
            return Ok(());
        }
        written
    }

    fn polling(&self) -> Polling {
        Polling::new(self.aws_polling.as_ref())
    }

    /// The tags of a resource the run creates: the given ones and the run's tag.
    fn tags(
        &self,
        cx: &StepContext<'_>,
        kind: ResourceType,
        extra: &[(&String, &String)],
    ) -> TagSpecification {
        let mut spec = TagSpecification::builder().resource_type(kind);
        for (k, v) in extra {
            spec = spec.tags(Tag::builder().key(*k).value(*v).build());
        }
        spec.tags(Tag::builder().key(RUN_TAG).value(cx.run_uuid()).build())
            .build()
    }

    /// `source_ami_filter`: find the source AMI before the launch.
    pub(super) async fn lookup(&self, cx: &StepContext<'_>) -> Result<(), StepError> {
        let Some(filter) = &self.source_ami_filter else {
            return Ok(());
        };
        let client = self.client(cx, &self.region).await?;
        cx.say("Finding the source AMI...");
        let image = lookup::by_filter(&client, filter).await?;
        cx.message(&format!("Found Image ID: {}", image.id));
        self.state(cx.session()?, |s| s.source = Some(image));
        Ok(())
    }

    /// Launch the instance and connect to it over SSH.
    pub(super) async fn launch(&self, cx: &StepContext<'_>) -> Result<(), StepError> {
        let session = cx.session()?;
        let region = self.region.as_str();
        let client = self.client(cx, region).await?;
        let source = match self.state(session, |s| s.source.clone()) {
            Some(found) => found,
            None => {
                let found = lookup::by_id(&client, &self.source_ami).await?;
                self.state(session, |s| s.source = Some(found.clone()));
                found
            }
        };
        // The name check, the key pair and the security group do not depend on one another:
        // they go at once. Each waits for the others to end, so nothing made is dropped unseen.
        let check = async {
            if !self.skip_create_ami && !self.force_deregister {
                self.prevalidate(cx, &client).await?;
            }
            Ok(())
        };
        let (checked, key, groups) = tokio::join!(
            check,
            self.key_pair(cx, &client),
            self.security_groups(cx, &client)
        );
        checked?;
        let (key_name, auth) = key?;
        let groups = groups?;
        let instance = self
            .run_instance(cx, &client, &source, key_name.as_deref(), &groups)
            .await?;
        let address = self.address(&instance)?;
        let mut generated = generated::base(cx);
        generated.insert("ID".into(), instance.id.clone());
        generated.insert("BuildRegion".into(), region.to_string());
        generated.insert("SourceAMI".into(), source.id.clone());
        generated.insert("SourceAMIName".into(), source.name.clone());
        generated.insert("SourceAMIDescription".into(), source.description.clone());
        generated.insert("SourceAMIOwner".into(), source.owner.clone());
        generated.insert("SourceAMIOwnerName".into(), source.owner_name.clone());
        generated.insert("SourceAMICreationDate".into(), source.creation_date.clone());
        let tags: BTreeMap<&str, &str> = source
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        generated.insert(
            "SourceAMITags".into(),
            serde_json::to_string(&tags).unwrap_or_default(),
        );
        if self.communicator == "none" {
            generated::without_connection(&mut generated, &instance.id);
        } else {
            self.connect(cx, &address, auth, &mut generated).await?;
        }
        cx.host.launched(
            session,
            generated,
            self.artifact(&source.id, &BTreeMap::new()),
        );
        Ok(())
    }

    /// This account's AMIs named `ami_name`; `what` says what the call was for in an error.
    async fn images_named(
        &self,
        client: &Client,
        what: &str,
    ) -> Result<aws_sdk_ec2::operation::describe_images::DescribeImagesOutput, StepError> {
        client
            .describe_images()
            .owners("self")
            .filters(
                Filter::builder()
                    .name("name")
                    .values(&self.ami_name)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| api_error(what, e))
    }

    /// Packer's prevalidation: the AMI name must be free (unless `force_deregister`).
    async fn prevalidate(&self, cx: &StepContext<'_>, client: &Client) -> Result<(), StepError> {
        cx.say(&format!("Prevalidating AMI Name: {}", self.ami_name));
        let out = self.images_named(client, "check the AMI name").await?;
        match out.images().first().and_then(|i| i.image_id()) {
            Some(id) => Err(StepError::new(format!(
                "AMI Name: '{}' is used by an existing AMI: {id}; set `force_deregister = true` to replace it",
                self.ami_name
            ))),
            None => Ok(()),
        }
    }

    /// The key pair to launch with and how SSH authenticates: the template's key pair and key
    /// file, or a temporary key pair kiln creates (its private key a secret from then on).
    async fn key_pair(
        &self,
        cx: &StepContext<'_>,
        client: &Client,
    ) -> Result<(Option<String>, ssh::Auth), StepError> {
        if !self.ssh_private_key_file.is_empty() {
            let auth = private_key_file(cx, &self.ssh_private_key_file)?;
            let name = Some(self.ssh_keypair_name.clone()).filter(|n| !n.is_empty());
            return Ok((name, auth));
        }
        if self.ssh_agent_auth {
            let name = Some(self.ssh_keypair_name.clone()).filter(|n| !n.is_empty());
            return Ok((name, ssh::Auth::Agent));
        }
        if !self.ssh_password.is_empty() {
            cx.add_secret(&self.ssh_password);
            return Ok((None, ssh::Auth::Password(self.ssh_password.clone())));
        }
        let name = if self.temporary_key_pair_name.is_empty() {
            format!("kiln_{}", ulid::Ulid::generate().to_string().to_lowercase())
        } else {
            self.temporary_key_pair_name.clone()
        };
        let key_type = match self.temporary_key_pair_type.as_str() {
            "ed25519" => KeyType::Ed25519,
            _ => KeyType::Rsa,
        };
        cx.say(&format!("Creating temporary keypair: {name}"));
        let out = client
            .create_key_pair()
            .key_name(&name)
            .key_type(key_type)
            .tag_specifications(self.tags(cx, ResourceType::KeyPair, &[]))
            .send()
            .await
            .map_err(|e| api_error("create the temporary key pair", e))?;
        self.state(cx.session()?, |s| s.key_pair = Some(name.clone()));
        self.journal(cx, Op::Created, KEY_PAIR, &name, &self.region)?;
        let text = out.key_material().unwrap_or_default().to_string();
        register_key(cx, &text);
        if text.is_empty() {
            return Err(StepError::new(
                "EC2 returned no private key for the temporary key pair",
            ));
        }
        let auth = ssh::Auth::Key {
            file: format!("of the temporary key pair {name}"),
            text,
        };
        Ok((Some(name), auth))
    }

    /// The template's security groups, or a temporary one open on the SSH port.
    async fn security_groups(
        &self,
        cx: &StepContext<'_>,
        client: &Client,
    ) -> Result<Vec<String>, StepError> {
        let mut given = self.security_group_ids.clone();
        if !self.security_group_id.is_empty() {
            given.push(self.security_group_id.clone());
        }
        if !given.is_empty() {
            return Ok(given);
        }
        let name = format!("kiln_{}", ulid::Ulid::generate().to_string().to_lowercase());
        cx.say(&format!(
            "Creating temporary security group for this instance: {name}"
        ));
        let mut request = client
            .create_security_group()
            .group_name(&name)
            .description("Temporary group for kiln")
            .tag_specifications(self.tags(cx, ResourceType::SecurityGroup, &[]));
        if !self.vpc_id.is_empty() {
            request = request.vpc_id(&self.vpc_id);
        }
        let out = request
            .send()
            .await
            .map_err(|e| api_error("create the temporary security group", e))?;
        let id = out.group_id().unwrap_or_default().to_string();
        self.state(cx.session()?, |s| s.security_group = Some(id.clone()));
        self.journal(cx, Op::Created, SECURITY_GROUP, &id, &self.region)?;
        cx.message(&format!("Security group ID: {id}"));
        let port = i32::from(self.ssh_port());
        let cidrs = if self.temporary_security_group_source_cidrs.is_empty() {
            vec!["0.0.0.0/0".to_string()]
        } else {
            self.temporary_security_group_source_cidrs.clone()
        };
        let mut permission = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port);
        for cidr in &cidrs {
            permission = permission.ip_ranges(IpRange::builder().cidr_ip(cidr).build());
        }
        cx.say(&format!(
            "Authorizing access to port {port} from {} in the temporary security group...",
            cidrs.join(", ")
        ));
        client
            .authorize_security_group_ingress()
            .group_id(&id)
            .ip_permissions(permission.build())
            .send()
            .await
            .map_err(|e| api_error("open the SSH port in the temporary security group", e))?;
        Ok(vec![id])
    }

    fn ssh_port(&self) -> u16 {
        if self.ssh_port == 0 {
            22
        } else {
            self.ssh_port
        }
    }

    /// RunInstances, then wait for the instance to run.
    async fn run_instance(
        &self,
        cx: &StepContext<'_>,
        client: &Client,
        source: &FoundImage,
        key_name: Option<&str>,
        groups: &[String],
    ) -> Result<Instance, StepError> {
        cx.say("Launching a source AWS instance...");
        let mut run_tags: BTreeMap<String, String> = self.run_tags.clone();
        run_tags.extend(
            self.run_tag
                .iter()
                .map(|t| (t.key.clone(), t.value.clone())),
        );
        run_tags
            .entry("Name".into())
            .or_insert_with(|| "Packer Builder".into());
        let tag_list: Vec<(&String, &String)> = run_tags.iter().collect();
        let mut volume_tags: BTreeMap<String, String> = self.run_volume_tags.clone();
        volume_tags.extend(
            self.run_volume_tag
                .iter()
                .map(|t| (t.name.clone(), t.value.clone())),
        );
        let volume_list: Vec<(&String, &String)> = volume_tags.iter().collect();
        let mut request = client
            .run_instances()
            .image_id(&source.id)
            .instance_type(self.instance_type.as_str().into())
            .min_count(1)
            .max_count(1)
            .set_security_group_ids(Some(groups.to_vec()))
            .tag_specifications(self.tags(cx, ResourceType::Instance, &tag_list))
            .tag_specifications(self.tags(cx, ResourceType::Volume, &volume_list));
        if let Some(key) = key_name {
            request = request.key_name(key);
        }
        if let Some(data) = self.user_data()? {
            use base64::Engine as _;
            request = request.user_data(base64::engine::general_purpose::STANDARD.encode(data));
        }
        if !self.subnet_id.is_empty() {
            request = request.subnet_id(&self.subnet_id);
        }
        if !self.iam_instance_profile.is_empty() {
            request = request.iam_instance_profile(
                IamInstanceProfileSpecification::builder()
                    .name(&self.iam_instance_profile)
                    .build(),
            );
        }
        if self.ebs_optimized {
            request = request.ebs_optimized(true);
        }
        if !self.availability_zone.is_empty() {
            request = request.placement(
                aws_sdk_ec2::types::Placement::builder()
                    .availability_zone(&self.availability_zone)
                    .build(),
            );
        }
        if !self.shutdown_behavior.is_empty() {
            request = request
                .instance_initiated_shutdown_behavior(self.shutdown_behavior.as_str().into());
        }
        for device in &self.launch_block_device_mappings {
            request = request.block_device_mappings(mapping(device));
        }
        let out = request
            .send()
            .await
            .map_err(|e| api_error("launch the source instance", e))?;
        let id = out
            .instances()
            .first()
            .and_then(|i| i.instance_id())
            .ok_or_else(|| StepError::new("RunInstances returned no instance"))?
            .to_string();
        self.state(cx.session()?, |s| s.instance = Some(id.clone()));
        self.journal(cx, Op::Created, INSTANCE, &id, &self.region)?;
        cx.message(&format!("Instance ID: {id}"));
        cx.say(&format!("Waiting for instance ({id}) to become ready..."));
        let id = id.as_str();
        let instance = self
            .polling()
            .wait(cx, &format!("instance {id} to run"), move || async move {
                let i = describe_instance(client, id).await?;
                match i.state {
                    Some(InstanceStateName::Running) => Ok(Some(i)),
                    Some(InstanceStateName::Pending) | None => Ok(None),
                    Some(other) => Err(StepError::new(format!(
                        "instance {id} is {} instead of running",
                        other.as_str()
                    ))),
                }
            })
            .await?;
        Ok(instance)
    }

    fn user_data(&self) -> Result<Option<Vec<u8>>, StepError> {
        if !self.user_data.is_empty() {
            return Ok(Some(self.user_data.clone().into_bytes()));
        }
        if self.user_data_file.is_empty() {
            return Ok(None);
        }
        std::fs::read(&self.user_data_file).map(Some).map_err(|e| {
            StepError::new(format!(
                "cannot read the user_data_file {}: {e}",
                self.user_data_file
            ))
        })
    }

    /// Where SSH connects: `ssh_host`, else the address `ssh_interface` picks.
    fn address(&self, instance: &Instance) -> Result<String, StepError> {
        if !self.ssh_host.is_empty() {
            return Ok(self.ssh_host.clone());
        }
        let pick = match self.ssh_interface.as_str() {
            "public_ip" => instance.public_ip.clone(),
            "private_ip" => instance.private_ip.clone(),
            "public_dns" => instance.public_dns.clone(),
            "private_dns" => instance.private_dns.clone(),
            _ => instance
                .public_ip
                .clone()
                .or_else(|| instance.private_ip.clone()),
        };
        pick.ok_or_else(|| {
            StepError::new(format!(
                "instance {} has no address to connect to (ssh_interface {:?}); set `ssh_host` or `ssh_interface`",
                instance.id, self.ssh_interface
            ))
        })
    }

    /// Connect over SSH, keep the connection in the session and record the connection's
    /// generated data.
    async fn connect(
        &self,
        cx: &StepContext<'_>,
        host: &str,
        auth: ssh::Auth,
        generated: &mut BTreeMap<String, String>,
    ) -> Result<(), StepError> {
        let target = ssh::Target {
            host: host.to_string(),
            port: self.ssh_port(),
            user: self.ssh_username.clone(),
            auth,
            timeout: ssh_timeout(&self.ssh_timeout, &self.ssh_wait_timeout)?,
            handshake_attempts: if self.ssh_handshake_attempts == 0 {
                10
            } else {
                self.ssh_handshake_attempts
            },
            pty: self.ssh_pty,
            keep_alive: Some(Duration::from_secs(5)),
        };
        if !self.pause_before_connecting.is_empty() {
            let pause = wait_duration(&self.pause_before_connecting)
                .map_err(|e| StepError::new(format!("pause_before_connecting: {e}")))?;
            cx.pause(pause, "before connecting").await?;
        }
        cx.say(&format!("Using SSH communicator to connect: {host}"));
        if let Some(endpoint) = std::env::var(ssh::ENDPOINT_VAR)
            .ok()
            .filter(|e| !e.is_empty())
        {
            cx.message(&format!(
                "{} sends the connection to {endpoint}",
                ssh::ENDPOINT_VAR
            ));
        }
        ssh::open_for_session(
            *cx,
            &target,
            &self.ssh_password,
            &self.winrm_password,
            generated,
        )
        .await?;
        Ok(())
    }

    /// The artifact: every finished AMI, by region, as Packer's amazon artifact.
    fn artifact(&self, source: &str, amis: &BTreeMap<String, String>) -> Artifact {
        let parts: Vec<String> = amis.iter().map(|(r, id)| format!("{r}:{id}")).collect();
        let lines: Vec<String> = amis.iter().map(|(r, id)| format!("{r}: {id}")).collect();
        Artifact {
            builder_id: BUILDER_ID.into(),
            id: parts.join(","),
            description: if amis.is_empty() {
                "No AMIs to report".into()
            } else {
                format!("AMIs were created:\n{}\n", lines.join("\n"))
            },
            files: Vec::new(),
            images: amis
                .iter()
                .map(|(region, id)| ArtifactImage {
                    provider: "aws".into(),
                    region: region.clone(),
                    id: id.clone(),
                    source: Some(source.to_string()),
                })
                .collect(),
        }
    }

    /// Record a finished AMI and hand the session's artifact, with every AMI so far, to the
    /// runtime (under the session's lock, so parallel copies never lose one another's).
    fn finished(&self, cx: &StepContext<'_>, region: &str) -> Result<(), StepError> {
        let session = cx.session()?;
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let s = sessions.entry(session).or_default();
        let mut done = None;
        if let Some(image) = s.images.get_mut(region) {
            image.done = true;
            done = Some(image.id.clone());
        }
        let source = s.source.as_ref().map(|f| f.id.clone()).unwrap_or_default();
        let artifact = self.artifact(&source, &s.finished());
        cx.host
            .launched(session, cx.host.generated(session), artifact);
        drop(sessions);
        match done {
            Some(id) => self.journal(cx, Op::Finished, IMAGE, &id, region),
            None => Ok(()),
        }
    }

    /// Stop the instance, create the AMI and wait until it is available.
    pub(super) async fn capture(&self, cx: &StepContext<'_>) -> Result<(), StepError> {
        let result = self.create_image(cx).await;
        self.settle(cx, &self.region, result).await
    }

    /// Copy the AMI to `to` and wait for the copy.
    pub(super) async fn copy(&self, cx: &StepContext<'_>, to: &str) -> Result<(), StepError> {
        let result = self.copy_image(cx, to).await;
        self.settle(cx, to, result).await
    }

    /// After the capture or a copy into `region`: once one of them has failed (or was
    /// interrupted), none of the session's AMIs is kept, as Packer deletes a failed build's
    /// AMIs. The step that fails deletes the AMIs finished so far and its own; a copy still
    /// running deletes its own when it ends. The cleanup runs beside the copies, so it cannot
    /// wait for them to do this.
    async fn settle(
        &self,
        cx: &StepContext<'_>,
        region: &str,
        result: Result<(), StepError>,
    ) -> Result<(), StepError> {
        let session = cx.session()?;
        let doomed: Vec<(String, String)> = self.state(session, |s| {
            if result.is_err() {
                s.image_failed = true;
            }
            if !s.image_failed {
                return Vec::new();
            }
            let regions: Vec<String> = s
                .images
                .iter()
                .filter(|(r, i)| i.done || r.as_str() == region)
                .map(|(r, _)| r.clone())
                .collect();
            regions
                .into_iter()
                .filter_map(|r| s.images.remove(&r).map(|i| (r, i.id)))
                .collect()
        });
        if !doomed.is_empty() {
            cx.say("The build failed while making its AMIs: deregistering them...");
        }
        let mut left = Vec::new();
        for (r, id) in &doomed {
            let deleted = match self.client(cx, r).await {
                Ok(c) => deregister_with_snapshots(&c, id).await,
                Err(e) => Err(e),
            };
            match deleted {
                Ok(()) => {
                    cx.message(&format!("Deregistered AMI {id} in {r}"));
                    self.journal(cx, Op::Deleted, IMAGE, id, r)?;
                }
                Err(e) => {
                    cx.error(&e.message());
                    left.push(format!("AMI {id} in {r}"));
                }
            }
        }
        match result {
            Err(e) if !left.is_empty() => Err(StepError::LeftBehind {
                message: e.message(),
                resources: left,
            }),
            Err(e) => Err(e),
            Ok(()) if !doomed.is_empty() => Err(StepError::new(format!(
                "the AMI in {region} was deleted again: another of the build's AMIs failed"
            ))),
            Ok(()) => Ok(()),
        }
    }

    async fn create_image(&self, cx: &StepContext<'_>) -> Result<(), StepError> {
        let session = cx.session()?;
        if self.skip_create_ami {
            cx.say("Skipping AMI creation (skip_create_ami)...");
            return Ok(());
        }
        let region = self.region.as_str();
        let client = self.client(cx, region).await?;
        let instance = self
            .state(session, |s| s.instance.clone())
            .ok_or_else(|| StepError::new("the session has no instance to capture"))?;
        if self.force_deregister {
            self.deregister_named(cx, &client).await?;
        }
        if !self.disable_stop_instance {
            cx.say("Stopping the source instance...");
            client
                .stop_instances()
                .instance_ids(&instance)
                .send()
                .await
                .map_err(|e| api_error(&format!("stop instance {instance}"), e))?;
            cx.say("Waiting for the instance to stop...");
            let (client, instance) = (&client, instance.as_str());
            self.polling()
                .wait(
                    cx,
                    &format!("instance {instance} to stop"),
                    move || async move {
                        let i = describe_instance(client, instance).await?;
                        Ok((i.state == Some(InstanceStateName::Stopped)).then_some(()))
                    },
                )
                .await?;
        }
        cx.say(&format!(
            "Creating AMI {} from instance {instance}",
            self.ami_name
        ));
        let mut tags: BTreeMap<String, String> = self.tags.clone();
        tags.extend(self.tag.iter().map(|t| (t.key.clone(), t.value.clone())));
        let tag_list: Vec<(&String, &String)> = tags.iter().collect();
        let mut request = client
            .create_image()
            .instance_id(&instance)
            .name(&self.ami_name)
            .tag_specifications(self.tags(cx, ResourceType::Image, &tag_list));
        if !self.ami_description.is_empty() {
            request = request.description(&self.ami_description);
        }
        for device in &self.ami_block_device_mappings {
            request = request.block_device_mappings(mapping(device));
        }
        let out = request
            .send()
            .await
            .map_err(|e| api_error("create the AMI", e))?;
        let ami = out
            .image_id()
            .ok_or_else(|| StepError::new("CreateImage returned no image ID"))?
            .to_string();
        self.state(session, |s| {
            s.images.insert(
                region.to_string(),
                MadeImage {
                    id: ami.clone(),
                    done: false,
                },
            )
        });
        self.journal(cx, Op::Created, IMAGE, &ami, region)?;
        cx.message(&format!("AMI: {ami}"));
        cx.say("Waiting for AMI to become ready...");
        let mut snapshots = self.wait_available(cx, &client, &ami).await?;
        let mut ami = ami;
        if self.encrypt_boot == Some(true) {
            match self.encrypt(cx, &client, &ami).await {
                Ok(done) => (ami, snapshots) = done,
                Err(e) => {
                    // The session now tracks the encrypted copy: the plain AMI goes here.
                    if deregister_with_snapshots(&client, &ami).await.is_ok() {
                        self.journal(cx, Op::Deleted, IMAGE, &ami, region)?;
                    }
                    return Err(e);
                }
            }
        }
        self.share_and_tag(cx, &client, &ami, &snapshots).await?;
        self.finished(cx, region)
    }

    /// `encrypt_boot`: copy the fresh AMI within its region, encrypted (with `kms_key_id`, or
    /// the region's `region_kms_key_ids` entry, else the account's default key), and deregister
    /// the unencrypted one, as Packer's encrypt step does. The encrypted AMI and its snapshots.
    async fn encrypt(
        &self,
        cx: &StepContext<'_>,
        client: &Client,
        plain: &str,
    ) -> Result<(String, Vec<String>), StepError> {
        let session = cx.session()?;
        let region = self.region.as_str();
        cx.say(&format!(
            "Copying AMI {plain} to an encrypted AMI in {region}..."
        ));
        let mut request = client
            .copy_image()
            .source_region(region)
            .source_image_id(plain)
            .name(&self.ami_name)
            .encrypted(true)
            .tag_specifications(self.tags(cx, ResourceType::Image, &[]));
        if !self.ami_description.is_empty() {
            request = request.description(&self.ami_description);
        }
        let key = Some(self.kms_key_id.as_str())
            .filter(|k| !k.is_empty())
            .or_else(|| self.region_kms_key_ids.get(region).map(String::as_str))
            .filter(|k| !k.is_empty());
        if let Some(key) = key {
            request = request.kms_key_id(key);
        }
        let out = request
            .send()
            .await
            .map_err(|e| api_error(&format!("copy AMI {plain} encrypted"), e))?;
        let encrypted = out
            .image_id()
            .ok_or_else(|| StepError::new("CopyImage returned no image ID"))?
            .to_string();
        // The session's image in this region is the encrypted one from now on; the plain one
        // stays in the journal until it is deregistered.
        self.state(session, |s| {
            s.images.insert(
                region.to_string(),
                MadeImage {
                    id: encrypted.clone(),
                    done: false,
                },
            )
        });
        self.journal(cx, Op::Created, IMAGE, &encrypted, region)?;
        cx.message(&format!("Encrypted AMI: {encrypted}"));
        let snapshots = self.wait_available(cx, client, &encrypted).await?;
        cx.say(&format!("Deregistering the unencrypted AMI {plain}..."));
        deregister_with_snapshots(client, plain).await?;
        self.journal(cx, Op::Deleted, IMAGE, plain, region)?;
        Ok((encrypted, snapshots))
    }

    /// Wait until `ami` is available; its snapshots.
    async fn wait_available(
        &self,
        cx: &StepContext<'_>,
        client: &Client,
        ami: &str,
    ) -> Result<Vec<String>, StepError> {
        self.polling()
            .wait(
                cx,
                &format!("AMI {ami} to become available"),
                move || async move {
                    let out = client
                        .describe_images()
                        .image_ids(ami)
                        .send()
                        .await
                        .map_err(|e| api_error(&format!("read AMI {ami}"), e))?;
                    let Some(image) = out.images().first() else {
                        return Ok(None);
                    };
                    match image.state().map(|s| s.as_str()) {
                        Some("available") => Ok(Some(snapshots_of(image))),
                        Some("failed") | Some("error") | Some("invalid") | Some("deregistered") => {
                            let reason = image
                                .state_reason()
                                .and_then(|r| r.message())
                                .unwrap_or("no reason given");
                            Err(StepError::new(format!("AMI {ami} failed: {reason}")))
                        }
                        _ => Ok(None),
                    }
                },
            )
            .await
    }

    /// `snapshot_tags`, `ami_users` and `ami_groups` on a finished AMI.
    async fn share_and_tag(
        &self,
        cx: &StepContext<'_>,
        client: &Client,
        ami: &str,
        snapshots: &[String],
    ) -> Result<(), StepError> {
        let mut tags: BTreeMap<String, String> = self.snapshot_tags.clone();
        tags.extend(
            self.snapshot_tag
                .iter()
                .map(|t| (t.key.clone(), t.value.clone())),
        );
        if !tags.is_empty() && !snapshots.is_empty() {
            cx.say("Adding tags to the AMI's snapshots...");
            let mut request = client.create_tags().set_resources(Some(snapshots.to_vec()));
            for (k, v) in &tags {
                request = request.tags(Tag::builder().key(k).value(v).build());
            }
            request
                .send()
                .await
                .map_err(|e| api_error("tag the AMI's snapshots", e))?;
        }
        if !self.ami_users.is_empty() || !self.ami_groups.is_empty() {
            cx.say("Modifying the AMI's launch permissions...");
            let mut add = aws_sdk_ec2::types::LaunchPermissionModifications::builder();
            for user in &self.ami_users {
                add = add.add(
                    aws_sdk_ec2::types::LaunchPermission::builder()
                        .user_id(user)
                        .build(),
                );
            }
            for group in &self.ami_groups {
                add = add.add(
                    aws_sdk_ec2::types::LaunchPermission::builder()
                        .group(group.as_str().into())
                        .build(),
                );
            }
            client
                .modify_image_attribute()
                .image_id(ami)
                .launch_permission(add.build())
                .send()
                .await
                .map_err(|e| api_error(&format!("share AMI {ami}"), e))?;
        }
        Ok(())
    }

    /// `force_deregister`: deregister the AMIs that already have the name (and, with
    /// `force_delete_snapshot`, delete their snapshots).
    async fn deregister_named(
        &self,
        cx: &StepContext<'_>,
        client: &Client,
    ) -> Result<(), StepError> {
        let out = self
            .images_named(client, "find AMIs with the same name")
            .await?;
        for image in out.images() {
            let id = image.image_id().unwrap_or_default();
            cx.say(&format!("Deregistered AMI id: {id}"));
            deregister(
                client,
                id,
                self.force_delete_snapshot.then(|| snapshots_of(image)),
            )
            .await?;
        }
        Ok(())
    }

    async fn copy_image(&self, cx: &StepContext<'_>, to: &str) -> Result<(), StepError> {
        let session = cx.session()?;
        if self.skip_create_ami {
            return Ok(());
        }
        let from = self.region.as_str();
        let ami = self
            .state(session, |s| {
                s.images.get(from).filter(|i| i.done).map(|i| i.id.clone())
            })
            .ok_or_else(|| StepError::new("there is no AMI to copy"))?;
        let client = self.client(cx, to).await?;
        cx.say(&format!(
            "Copying/Encrypting AMI ({ami}) to other regions..."
        ));
        let mut request = client
            .copy_image()
            .source_region(from)
            .source_image_id(&ami)
            .name(&self.ami_name);
        if !self.ami_description.is_empty() {
            request = request.description(&self.ami_description);
        }
        if self.encrypt_boot == Some(true) {
            request = request.encrypted(true);
            if let Some(key) = self.region_kms_key_ids.get(to).filter(|k| !k.is_empty()) {
                request = request.kms_key_id(key);
            } else if !self.kms_key_id.is_empty() && to == from {
                request = request.kms_key_id(&self.kms_key_id);
            }
        }
        let out = request
            .send()
            .await
            .map_err(|e| api_error(&format!("copy AMI {ami} to {to}"), e))?;
        let copy = out
            .image_id()
            .ok_or_else(|| StepError::new("CopyImage returned no image ID"))?
            .to_string();
        self.state(session, |s| {
            s.images.insert(
                to.to_string(),
                MadeImage {
                    id: copy.clone(),
                    done: false,
                },
            )
        });
        self.journal(cx, Op::Created, IMAGE, &copy, to)?;
        cx.message(&format!("Copying to: {to} ({copy})"));
        let snapshots = self.wait_available(cx, &client, &copy).await?;
        let mut tags: BTreeMap<String, String> = self.tags.clone();
        tags.extend(self.tag.iter().map(|t| (t.key.clone(), t.value.clone())));
        tags.insert(RUN_TAG.into(), cx.run_uuid());
        let mut request = client.create_tags().resources(&copy);
        for (k, v) in &tags {
            request = request.tags(Tag::builder().key(k).value(v).build());
        }
        request
            .send()
            .await
            .map_err(|e| api_error(&format!("tag AMI {copy}"), e))?;
        self.share_and_tag(cx, &client, &copy, &snapshots).await?;
        cx.message(&format!("AMI {copy} is available in {to}"));
        self.finished(cx, to)
    }

    /// Delete what the session made and does not keep, whatever happened: the instance, the
    /// temporary key pair and security group, and every AMI when making images failed. What it
    /// cannot delete it names in its error.
    pub(super) async fn cleanup(&self, cx: &StepContext<'_>) -> Result<(), StepError> {
        let session = cx.session()?;
        let (instance, key_pair, group, images, failed) = self.state(session, |s| {
            (
                s.instance.take(),
                s.key_pair.take(),
                s.security_group.take(),
                s.images.clone(),
                s.images_failed(),
            )
        });
        if instance.is_none() && key_pair.is_none() && group.is_none() && !failed {
            return Ok(());
        }
        let client = self.client(cx, &self.region).await?;
        let mut left = Vec::new();
        let mut first: Option<StepError> = None;
        let mut note = |what: String, e: StepError| {
            left.push(what);
            first.get_or_insert(e);
        };
        // The key pair is not needed once the instance runs: it goes beside the termination,
        // which the security group has to wait for.
        let instance_then_group = async {
            let mut failures = Vec::new();
            if let Some(id) = &instance {
                cx.say("Terminating the source AWS instance...");
                match self.terminate(cx, &client, id).await {
                    Ok(()) => self.journal(cx, Op::Deleted, INSTANCE, id, &self.region)?,
                    Err(e) => failures.push((format!("instance {id}"), e)),
                }
            }
            if let Some(id) = &group {
                cx.say("Deleting temporary security group...");
                match self.delete_group(cx, &client, id).await {
                    Ok(()) => self.journal(cx, Op::Deleted, SECURITY_GROUP, id, &self.region)?,
                    Err(e) => failures.push((format!("security group {id}"), e)),
                }
            }
            Ok::<_, StepError>(failures)
        };
        let key = async {
            let Some(name) = &key_pair else {
                return Ok(None);
            };
            cx.say("Deleting temporary keypair...");
            match client.delete_key_pair().key_name(name).send().await {
                Ok(_) => {
                    self.journal(cx, Op::Deleted, KEY_PAIR, name, &self.region)?;
                    Ok::<_, StepError>(None)
                }
                Err(e) => Ok(Some((
                    format!("key pair {name}"),
                    api_error(&format!("delete key pair {name}"), e),
                ))),
            }
        };
        let (others, key) = tokio::join!(instance_then_group, key);
        for (what, e) in others?.into_iter().chain(key?) {
            note(what, e);
        }
        if failed {
            cx.say("Making the AMIs failed: deregistering the AMIs this build made...");
            for (region, image) in &images {
                let result = match self.client(cx, region).await {
                    Ok(c) => deregister_with_snapshots(&c, &image.id).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(()) => {
                        cx.message(&format!("Deregistered AMI {} in {region}", image.id));
                        self.journal(cx, Op::Deleted, IMAGE, &image.id, region)?;
                    }
                    Err(e) => note(format!("AMI {} in {region}", image.id), e),
                }
            }
            self.state(session, |s| s.images.clear());
        }
        match first {
            None => Ok(()),
            Some(e) => Err(StepError::LeftBehind {
                message: e.message(),
                resources: left,
            }),
        }
    }

    async fn terminate(
        &self,
        cx: &StepContext<'_>,
        client: &Client,
        id: &str,
    ) -> Result<(), StepError> {
        match client.terminate_instances().instance_ids(id).send().await {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("InvalidInstanceID.NotFound") => return Ok(()),
            Err(e) => return Err(api_error(&format!("terminate instance {id}"), e)),
        }
        // A security group cannot be deleted while an instance still uses it.
        self.cleanup_polling()
            .wait(
                cx,
                &format!("instance {id} to terminate"),
                move || async move {
                    let i = describe_instance(client, id).await?;
                    Ok((i.state == Some(InstanceStateName::Terminated)).then_some(()))
                },
            )
            .await
    }

    async fn delete_group(
        &self,
        cx: &StepContext<'_>,
        client: &Client,
        id: &str,
    ) -> Result<(), StepError> {
        self.cleanup_polling()
            .wait(
                cx,
                &format!("security group {id} to be deleted"),
                move || async move {
                    match client.delete_security_group().group_id(id).send().await {
                        Ok(_) => Ok(Some(())),
                        Err(e) if error_code(&e) == Some("InvalidGroup.NotFound") => Ok(Some(())),
                        // Still in use by the terminating instance's network interface.
                        Err(e) if error_code(&e) == Some("DependencyViolation") => Ok(None),
                        Err(e) => Err(api_error(&format!("delete security group {id}"), e)),
                    }
                },
            )
            .await
    }

    /// The cleanup's waits: bounded, since nothing else will delete what it leaves.
    fn cleanup_polling(&self) -> Polling {
        self.polling().within(Duration::from_secs(10 * 60))
    }
}

/// The kinds of resource in the run journal.
pub const INSTANCE: &str = "instance";
pub const KEY_PAIR: &str = "key_pair";
pub const SECURITY_GROUP: &str = "security_group";
pub const IMAGE: &str = "image";

/// An instance as the steps need it.
#[derive(Clone, Debug)]
struct Instance {
    id: String,
    state: Option<InstanceStateName>,
    public_ip: Option<String>,
    private_ip: Option<String>,
    public_dns: Option<String>,
    private_dns: Option<String>,
}

async fn describe_instance(client: &Client, id: &str) -> Result<Instance, StepError> {
    let out = client
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .map_err(|e| api_error(&format!("read instance {id}"), e))?;
    let instance = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .next()
        .ok_or_else(|| StepError::new(format!("instance {id} does not exist")))?;
    let text = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
    Ok(Instance {
        id: id.to_string(),
        state: instance.state().and_then(|s| s.name()).cloned(),
        public_ip: text(instance.public_ip_address()),
        private_ip: text(instance.private_ip_address()),
        public_dns: text(instance.public_dns_name()),
        private_dns: text(instance.private_dns_name()),
    })
}

fn snapshots_of(image: &aws_sdk_ec2::types::Image) -> Vec<String> {
    image
        .block_device_mappings()
        .iter()
        .filter_map(|m| m.ebs().and_then(|e| e.snapshot_id()))
        .map(str::to_string)
        .collect()
}

/// Deregister `ami` and delete `snapshots`.
async fn deregister(
    client: &Client,
    ami: &str,
    snapshots: Option<Vec<String>>,
) -> Result<(), StepError> {
    match client.deregister_image().image_id(ami).send().await {
        Ok(_) => {}
        Err(e) if error_code(&e).is_some_and(|c| c.starts_with("InvalidAMIID")) => {}
        Err(e) => return Err(api_error(&format!("deregister AMI {ami}"), e)),
    }
    for snapshot in snapshots.unwrap_or_default() {
        match client.delete_snapshot().snapshot_id(&snapshot).send().await {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("InvalidSnapshot.NotFound") => {}
            Err(e) => return Err(api_error(&format!("delete snapshot {snapshot}"), e)),
        }
    }
    Ok(())
}

/// Deregister `ami` and delete the snapshots it has.
pub(super) async fn deregister_with_snapshots(client: &Client, ami: &str) -> Result<(), StepError> {
    let snapshots = match client.describe_images().image_ids(ami).send().await {
        Ok(out) => out.images().first().map(snapshots_of).unwrap_or_default(),
        Err(e) if error_code(&e).is_some_and(|c| c.starts_with("InvalidAMIID")) => return Ok(()),
        Err(e) => return Err(api_error(&format!("read AMI {ami}"), e)),
    };
    deregister(client, ami, Some(snapshots)).await
}

/// A block device mapping as EC2 takes it.
fn mapping(device: &BlockDevice) -> BlockDeviceMapping {
    let mut m = BlockDeviceMapping::builder().device_name(&device.device_name);
    if device.no_device {
        return m.no_device("").build();
    }
    if !device.virtual_name.is_empty() {
        return m.virtual_name(&device.virtual_name).build();
    }
    let mut ebs = EbsBlockDevice::builder()
        .delete_on_termination(device.delete_on_termination.unwrap_or(true));
    let positive = |n: i32| (n > 0).then_some(n);
    ebs = ebs.set_volume_size(positive(device.volume_size));
    ebs = ebs.set_iops(positive(device.iops));
    ebs = ebs.set_throughput(positive(device.throughput));
    ebs = ebs.set_encrypted(device.encrypted);
    if !device.volume_type.is_empty() {
        ebs = ebs.volume_type(VolumeType::from(device.volume_type.as_str()));
    }
    if !device.snapshot_id.is_empty() {
        ebs = ebs.snapshot_id(&device.snapshot_id);
    }
    if !device.kms_key_id.is_empty() {
        ebs = ebs.kms_key_id(&device.kms_key_id);
    }
    m = m.ebs(ebs.build());
    m.build()
}

/// `ssh_timeout` (or `ssh_wait_timeout`); Packer's 5 minutes when unset or zero.
fn ssh_timeout(timeout: &str, wait_timeout: &str) -> Result<Duration, StepError> {
    let text = [timeout, wait_timeout].into_iter().find(|t| !t.is_empty());
    let d = match text {
        Some(t) => wait_duration(t).map_err(|e| StepError::new(format!("ssh_timeout: {e}")))?,
        None => Duration::ZERO,
    };
    Ok(if d.is_zero() {
        Duration::from_secs(300)
    } else {
        d
    })
}

/// `ssh_private_key_file` as SSH authentication, its text secret from now on.
fn private_key_file(cx: &StepContext<'_>, file: &str) -> Result<ssh::Auth, StepError> {
    let path = match file.strip_prefix("~/") {
        Some(rest) => std::env::var("HOME")
            .map(|home| std::path::Path::new(&home).join(rest))
            .unwrap_or_else(|_| file.into()),
        None => file.into(),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| StepError::new(format!("cannot read the ssh_private_key_file {file}: {e}")))?;
    register_key(cx, &text);
    Ok(ssh::Auth::Key {
        file: file.to_string(),
        text,
    })
}

/// A private key never shows again: whole, nor line by line as output arrives.
fn register_key(cx: &StepContext<'_>, text: &str) {
    cx.add_secret(text.trim());
    for line in text
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
    {
        cx.add_secret(line.trim());
    }
}
