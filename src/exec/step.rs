//! Running one step: the scheduler's visitor. A provisioner's and a post-processor's
//! configuration is evaluated again here, when the step runs, with the build's generated data
//! (`build.ID`, `build.Host`, ...) known, as Packer binds them late.

use super::artifact::Artifact;
use super::duration::parse_go;
use super::ui::Level;
use super::Shared;
use crate::config::legacy::LegacyContext;
use crate::config::{BodyValue, StepBlock};
use crate::plan::{Node, NodeKind, Origin};
use crate::plugins::{self, PluginConfig, PluginKind};
use petgraph::graph::NodeIndex;
use std::collections::BTreeMap;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Why a step failed.
#[derive(Clone, Debug, PartialEq)]
pub struct StepError {
    pub message: String,
    /// The step was stopped by an interrupt, not by its own failure.
    pub cancelled: bool,
}

impl StepError {
    pub fn new(message: impl Into<String>) -> StepError {
        StepError {
            message: message.into(),
            cancelled: false,
        }
    }

    pub fn cancelled() -> StepError {
        StepError {
            message: "the build was cancelled".into(),
            cancelled: true,
        }
    }
}

/// What a running step can reach: its node, its session, the UI and its cancellation.
pub struct StepContext<'a> {
    pub shared: &'a Shared,
    pub index: NodeIndex,
    pub node: &'a Node,
    pub cancel: &'a CancellationToken,
}

impl StepContext<'_> {
    /// The session's build name as Packer prints it (`null.a`, `quickstart.file.note`).
    pub fn target(&self) -> &str {
        match self.node.session {
            Some(s) => &self.shared.graph.sessions()[s].name,
            None => "",
        }
    }

    pub fn say(&self, text: &str) {
        self.line(Level::Say, text);
    }

    pub fn message(&self, text: &str) {
        self.line(Level::Message, text);
    }

    pub fn error(&self, text: &str) {
        self.line(Level::Error, text);
    }

    fn line(&self, level: Level, text: &str) {
        self.shared
            .ui
            .line(self.target(), Some(&self.node.id), level, text);
    }

    /// Say `Pausing <d> <why>...` and wait that long, unless the step is cancelled first.
    pub async fn pause(&self, d: std::time::Duration, why: &str) -> Result<(), StepError> {
        let d_text = super::duration::human(d);
        self.say(&format!("Pausing {d_text} {why}..."));
        self.activity(&format!("pausing {d_text}"));
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = self.cancel.cancelled() => Err(StepError::cancelled()),
        }
    }

    /// Say what the step is waiting on, for the status line.
    pub fn activity(&self, text: &str) {
        self.shared.set_activity(self.index, text);
    }

    /// `PACKER_BUILD_NAME`: the source's name.
    pub fn build_name(&self) -> String {
        self.session_info()
            .map(|s| {
                s.source
                    .split_once('.')
                    .map_or(s.source.clone(), |(_, n)| n.to_string())
            })
            .unwrap_or_default()
    }

    /// `PACKER_BUILDER_TYPE`.
    pub fn builder_type(&self) -> String {
        self.session_info()
            .map(|s| s.builder.clone())
            .unwrap_or_default()
    }

    fn session_info(&self) -> Option<&crate::plan::Session> {
        self.node.session.map(|s| &self.shared.graph.sessions()[s])
    }

    /// One value of the build's generated data.
    pub fn generated(&self, key: &str) -> Option<String> {
        let s = self.node.session?;
        self.shared.session(s).generated.get(key).cloned()
    }

    /// The legacy-template context with the build's generated data.
    pub fn legacy(&self) -> LegacyContext {
        let Some(s) = self.node.session else {
            return LegacyContext::default();
        };
        let info = &self.shared.graph.sessions()[s];
        let template = &self.shared.template;
        let build = &template.builds[info.build];
        let generated = self.shared.session(s).generated.clone();
        template.legacy_context(&template.context, build, &info.builder, &generated)
    }
}

/// Run the step at `index`.
pub async fn run(
    shared: &Shared,
    index: NodeIndex,
    cancel: &CancellationToken,
) -> Result<(), StepError> {
    let node = shared.graph.node(index);
    let cx = StepContext {
        shared,
        index,
        node,
        cancel,
    };
    match node.kind {
        NodeKind::Launch => launch(&cx).await,
        NodeKind::Provisioner | NodeKind::ErrorCleanup => provision(&cx).await,
        NodeKind::PostProcessor => post_process(&cx).await,
        NodeKind::Discard => {
            let session = node.session.ok_or_else(|| StepError::new("no session"))?;
            let artifact = shared.session(session).builder_artifact.clone();
            if let Some(a) = artifact {
                cx.say("Deleting the builder's artifact: no post-processor keeps it");
                a.destroy()
                    .map_err(|e| StepError::new(format!("cannot delete the artifact: {e}")))?;
                shared.session(session).keep_builder_artifact = false;
            }
            Ok(())
        }
        // Local builders hold nothing to tear down; other kinds are refused before the run.
        NodeKind::Cleanup => Ok(()),
        _ => Err(StepError::new(format!(
            "kiln cannot run {} steps yet",
            node.kind.name()
        ))),
    }
}

/// Start the session: the builder's own work for local builders.
async fn launch(cx: &StepContext<'_>) -> Result<(), StepError> {
    let session = cx
        .node
        .session
        .ok_or_else(|| StepError::new("no session"))?;
    let config = cx.shared.source_config(session)?;
    let plugin = cx.node.plugin.as_deref().unwrap_or("");
    let decoded = decode(cx, PluginKind::Builder, plugin, &config)?;
    let mut generated = BTreeMap::new();
    generated.insert("PackerRunUUID".to_string(), cx.shared.run_uuid.clone());
    for key in ["PackerHTTPAddr", "PackerHTTPIP", "PackerHTTPPort"] {
        let what = key.trim_start_matches("PackerHTTP").to_uppercase();
        generated.insert(
            key.into(),
            format!("ERR_HTTP_{what}_NOT_IMPLEMENTED_BY_BUILDER"),
        );
    }
    let artifact = match decoded {
        PluginConfig::Null(c) if c.communicator != "none" => {
            connect(cx, &c, &mut generated).await?;
            Artifact::null()
        }
        // Without a communicator there is no host to tell; Packer shows `<unknown>`.
        PluginConfig::Null(_) => {
            generated.insert("ID".into(), "Null".into());
            for key in NO_CONNECTION {
                generated.insert((*key).into(), "<unknown>".into());
            }
            Artifact::null()
        }
        PluginConfig::File(c) => {
            let target = c.target.clone();
            if !c.source.is_empty() {
                cx.say(&format!("Copying {} to {target}", c.source));
                let bytes = copy_file(&c.source, &target).await?;
                cx.say(&format!("Copied {bytes} bytes"));
            } else {
                write_file(&target, c.content.as_bytes()).await?;
            }
            generated.insert("ID".into(), "File".into());
            for key in NO_CONNECTION {
                generated.insert((*key).into(), "<unknown>".into());
            }
            Artifact::file(&target)
        }
        _ => {
            return Err(StepError::new(format!(
                "kiln cannot run the {plugin} builder yet"
            )))
        }
    };
    let mut state = cx.shared.session(session);
    state.generated = generated;
    state.builder_artifact = Some(artifact);
    Ok(())
}

/// The null builder with a communicator: connect over SSH as Packer does, keep the connection
/// in the session and record the connection's generated data.
async fn connect(
    cx: &StepContext<'_>,
    c: &crate::plugins::null::Config,
    generated: &mut BTreeMap<String, String>,
) -> Result<(), StepError> {
    let target = ssh_target(cx, c)?;
    if !c.pause_before_connecting.is_empty() {
        let pause = parse_go(&c.pause_before_connecting)
            .map_err(|e| StepError::new(format!("pause_before_connecting: {e}")))?;
        cx.pause(pause, "before connecting").await?;
    }
    cx.say(&format!(
        "Using SSH communicator to connect: {}",
        target.host
    ));
    cx.say("Waiting for SSH to become available...");
    cx.activity(&format!("waiting for SSH on {}", target.address()));
    let connection = super::ssh::connect(&target, cx.cancel)
        .await
        .map_err(|e| match e {
            super::ssh::Error::Cancelled => StepError::cancelled(),
            e => StepError::new(e.to_string()),
        })?;
    cx.say("Connected to SSH!");
    generated.insert("ID".into(), "Null".into());
    generated.insert("ConnType".into(), "ssh".into());
    generated.insert("Host".into(), target.host.clone());
    generated.insert("Port".into(), target.port.to_string());
    generated.insert("User".into(), target.user.clone());
    generated.insert("Password".into(), c.ssh_password.clone());
    let key = match &target.auth {
        super::ssh::Auth::Key { text, .. } => text.clone(),
        _ => String::new(),
    };
    generated.insert("SSHPrivateKey".into(), key);
    generated.insert("SSHPublicKey".into(), String::new());
    generated.insert("WinRMPassword".into(), c.winrm_password.clone());
    let session = cx
        .node
        .session
        .ok_or_else(|| StepError::new("no session"))?;
    cx.shared.session(session).ssh = Some(std::sync::Arc::new(connection));
    Ok(())
}

/// Where and how the null builder connects, its credentials registered as secrets first so
/// no later line can show them.
fn ssh_target(
    cx: &StepContext<'_>,
    c: &plugins::null::Config,
) -> Result<super::ssh::Target, StepError> {
    use super::ssh::Auth;
    let unsupported = [
        ("ssh_bastion_host", !c.ssh_bastion_host.is_empty()),
        ("ssh_proxy_host", !c.ssh_proxy_host.is_empty()),
        ("ssh_certificate_file", !c.ssh_certificate_file.is_empty()),
        ("ssh_local_tunnels", !c.ssh_local_tunnels.is_empty()),
        ("ssh_remote_tunnels", !c.ssh_remote_tunnels.is_empty()),
        ("ssh_ciphers", !c.ssh_ciphers.is_empty()),
        (
            "ssh_key_exchange_algorithms",
            !c.ssh_key_exchange_algorithms.is_empty(),
        ),
    ];
    if let Some((field, _)) = unsupported.iter().find(|(_, set)| *set) {
        return Err(StepError::new(format!(
            "kiln cannot use `{field}` with the SSH communicator yet; remove it to connect directly"
        )));
    }
    let ui = &cx.shared.ui;
    ui.add_secret(&c.ssh_password);
    let auth = if c.ssh_agent_auth {
        Auth::Agent
    } else if !c.ssh_private_key_file.is_empty() {
        let file = &c.ssh_private_key_file;
        let path = match file.strip_prefix("~/") {
            Some(rest) => std::env::var("HOME")
                .map(|home| std::path::Path::new(&home).join(rest))
                .unwrap_or_else(|_| file.into()),
            None => file.into(),
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            StepError::new(format!("cannot read the ssh_private_key_file {file}: {e}"))
        })?;
        ui.add_secret(text.trim());
        // Output arrives line by line: each line of the key is a secret of its own.
        for line in text
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        {
            ui.add_secret(line.trim());
        }
        Auth::Key {
            file: file.clone(),
            text,
        }
    } else {
        Auth::Password(c.ssh_password.clone())
    };
    let timeout_text = [&c.ssh_timeout, &c.ssh_wait_timeout]
        .into_iter()
        .find(|t| !t.is_empty());
    let timeout = match timeout_text {
        Some(t) => parse_go(t).map_err(|e| StepError::new(format!("ssh_timeout: {e}")))?,
        None => std::time::Duration::ZERO,
    };
    // Packer's default, also for an explicit zero.
    let timeout = if timeout.is_zero() {
        std::time::Duration::from_secs(300)
    } else {
        timeout
    };
    let keep_alive = match c.ssh_keep_alive_interval.as_str() {
        "" => Some(std::time::Duration::from_secs(5)),
        t if t.starts_with('-') => None,
        t => match parse_go(t)
            .map_err(|e| StepError::new(format!("ssh_keep_alive_interval: {e}")))?
        {
            d if d.is_zero() => None,
            d => Some(d),
        },
    };
    Ok(super::ssh::Target {
        host: c.ssh_host.clone(),
        port: if c.ssh_port == 0 { 22 } else { c.ssh_port },
        user: c.ssh_username.clone(),
        auth,
        timeout,
        handshake_attempts: if c.ssh_handshake_attempts == 0 {
            10
        } else {
            c.ssh_handshake_attempts
        },
        pty: c.ssh_pty,
        keep_alive,
    })
}

/// Generated data a build without a connection does not have.
const NO_CONNECTION: &[&str] = &[
    "Host",
    "Port",
    "User",
    "Password",
    "ConnType",
    "SSHPublicKey",
    "SSHPrivateKey",
    "WinRMPassword",
];

async fn copy_file(source: &str, target: &str) -> Result<usize, StepError> {
    let data = tokio::fs::read(source)
        .await
        .map_err(|e| StepError::new(format!("cannot read {source}: {e}")))?;
    write_file(target, &data).await?;
    Ok(data.len())
}

async fn write_file(target: &str, data: &[u8]) -> Result<(), StepError> {
    let path = std::path::Path::new(target);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| StepError::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    tokio::fs::write(path, data)
        .await
        .map_err(|e| StepError::new(format!("cannot write {target}: {e}")))
}

/// A provisioner (or the error-cleanup provisioner), with `pause_before`, `max_retries` and
/// `timeout` as Packer applies them.
async fn provision(cx: &StepContext<'_>) -> Result<(), StepError> {
    let step = cx
        .shared
        .step_block(cx.node)
        .ok_or_else(|| StepError::new("no such provisioner"))?;
    if let Some(pause) = &step.pause_before {
        let pause = parse_go(pause).map_err(|e| StepError::new(format!("pause_before: {e}")))?;
        cx.pause(pause, "before the next provisioner").await?;
    }
    let timeout = match &step.timeout {
        Some(t) => Some(parse_go(t).map_err(|e| StepError::new(format!("timeout: {e}")))?),
        None => None,
    };
    let attempts = step.max_retries.unwrap_or(0) + 1;
    let mut attempt = 1;
    loop {
        let result = match timeout {
            Some(limit) => {
                // The timeout cancels only this attempt, which then stops its commands.
                let child = cx.cancel.child_token();
                let attempt_cx = StepContext {
                    cancel: &child,
                    ..*cx
                };
                let started = Instant::now();
                let once = provision_once(&attempt_cx, step);
                tokio::pin!(once);
                tokio::select! {
                    r = &mut once => r,
                    _ = tokio::time::sleep(limit) => {
                        child.cancel();
                        let _ = once.await;
                        if cx.cancel.is_cancelled() {
                            Err(StepError::cancelled())
                        } else {
                            Err(StepError::new(format!(
                                "the provisioner timed out after {}",
                                super::duration::human(started.elapsed())
                            )))
                        }
                    }
                }
            }
            None => provision_once(cx, step).await,
        };
        match result {
            Err(e) if !e.cancelled && attempt < attempts => {
                cx.say(&format!(
                    "Provisioner failed (attempt {attempt} of {attempts}): {}; retrying",
                    e.message
                ));
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn provision_once(cx: &StepContext<'_>, step: &StepBlock) -> Result<(), StepError> {
    let config = cx.shared.step_config(cx.node, step)?;
    match decode(cx, PluginKind::Provisioner, &step.kind, &config)? {
        PluginConfig::ShellLocal(c) => super::shell_local::run(cx, *c).await,
        PluginConfig::Breakpoint(c) => breakpoint(cx, c).await,
        PluginConfig::Shell(c) => super::remote::shell(cx, *c).await,
        PluginConfig::FileProvisioner(c) => super::remote::file(cx, c).await,
        _ => Err(StepError::new(format!(
            "kiln cannot run the {} provisioner yet",
            step.kind
        ))),
    }
}

/// Pause until the user presses enter (a terminal only; elsewhere the pause is skipped).
async fn breakpoint(cx: &StepContext<'_>, c: plugins::breakpoint::Config) -> Result<(), StepError> {
    if c.disable {
        cx.say("Breakpoint provisioner disabled; continuing");
        return Ok(());
    }
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        cx.say(&format!(
            "Breakpoint skipped: there is no terminal to wait on ({})",
            c.note
        ));
        return Ok(());
    }
    let _prompt = cx.shared.prompt.lock().await;
    cx.say(&format!(
        "Pausing at breakpoint provisioner with note \"{}\". Press enter to continue.",
        c.note
    ));
    cx.activity("waiting for enter");
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| ())
    });
    tokio::select! {
        _ = read => Ok(()),
        _ = cx.cancel.cancelled() => Err(StepError::cancelled()),
    }
}

/// One post-processor of a chain: takes the chain's current artifact (the builder's at the
/// start) and leaves its own.
async fn post_process(cx: &StepContext<'_>) -> Result<(), StepError> {
    let Origin::PostProcessor { chain, position } = cx.node.origin else {
        return Err(StepError::new("not a post-processor"));
    };
    let session = cx
        .node
        .session
        .ok_or_else(|| StepError::new("no session"))?;
    let step = cx
        .shared
        .step_block(cx.node)
        .ok_or_else(|| StepError::new("no such post-processor"))?;
    let input = {
        let state = cx.shared.session(session);
        state
            .chains
            .get(&chain)
            .and_then(|c| c.last())
            .or(state.builder_artifact.as_ref())
            .cloned()
    };
    let Some(input) = input else {
        return Err(StepError::new(
            "the post-processor has no artifact to work on",
        ));
    };
    let config = cx.shared.step_config(cx.node, step)?;
    let output = match decode(cx, PluginKind::PostProcessor, &step.kind, &config)? {
        PluginConfig::Manifest(c) => {
            announce(cx, step);
            super::manifest::record(cx, &c, &input).await?;
            input.clone()
        }
        PluginConfig::Checksum(c) => {
            announce(cx, step);
            super::checksum::run(cx, &c, &input).await?
        }
        PluginConfig::ShellLocalPostProcessor(c) => {
            announce(cx, step);
            super::shell_local::run(cx, *c).await?;
            input.clone()
        }
        _ => {
            return Err(StepError::new(format!(
                "kiln cannot run the {} post-processor yet",
                step.kind
            )))
        }
    };
    // Packer keeps or deletes an intermediate artifact once the next post-processor has
    // used it; the builder's own artifact is the discard step's business.
    let mut state = cx.shared.session(session);
    let artifacts = state.chains.entry(chain).or_default();
    if position > 0 && !crate::plan::keeps_input(step) {
        if let Some(prior) = artifacts.pop() {
            drop(state);
            cx.say("Deleting the previous post-processor's artifact");
            prior
                .destroy()
                .map_err(|e| StepError::new(format!("Failed cleaning up prior artifact: {e}")))?;
            state = cx.shared.session(session);
        }
    }
    state.chains.entry(chain).or_default().push(output);
    Ok(())
}

/// Packer's `Running post-processor: name (type kind)`.
fn announce(cx: &StepContext<'_>, step: &StepBlock) {
    cx.say(&format!(
        "Running post-processor: {} (type {})",
        step.name.as_deref().unwrap_or(""),
        step.kind
    ));
}

/// Decode a plugin config, turning diagnostics into the step's error.
fn decode(
    cx: &StepContext<'_>,
    kind: PluginKind,
    plugin: &str,
    config: &BodyValue,
) -> Result<PluginConfig, StepError> {
    plugins::decode(kind, plugin, cx.node.span, config)
        .map_err(|diags| StepError::new(cx.shared.render(&diags)))
}
