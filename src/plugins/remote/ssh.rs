//! The SSH communicator: a client on tokio (russh) that connects to a build's machine, runs
//! commands with their output streamed line by line, and copies files through `cat` on the
//! remote side, so the machine needs only a POSIX shell (Packer's scp needs `scp` there).
//! Host keys are not verified, as Packer does not verify them.
//!
//! No message here ever carries the password or the key's text: errors name the key's file.

use crate::plugins::local::process::Stream;
use russh::client::{self, Handle};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect, Sig};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The environment variable that sends every SSH connection to one endpoint.
pub const ENDPOINT_VAR: &str = "KILN_SSH_ENDPOINT";

/// `host:port` or `[v6]:port` as a host and a port.
fn endpoint_of(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse().ok()?;
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// How long to wait between two connection attempts.
const RETRY: Duration = Duration::from_secs(1);

/// How to authenticate.
#[derive(Clone)]
pub enum Auth {
    /// `ssh_password`.
    Password(String),
    /// `ssh_private_key_file`: the file's name and its text.
    Key { file: String, text: String },
    /// `ssh_agent_auth`: the agent at `SSH_AUTH_SOCK`.
    Agent,
}

impl Auth {
    fn method(&self) -> String {
        match self {
            Auth::Password(_) => "the password".into(),
            Auth::Key { file, .. } => format!("the private key {file}"),
            Auth::Agent => "every key of the SSH agent".into(),
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Password(_) => f.write_str("Password(<sensitive>)"),
            Auth::Key { file, .. } => write!(f, "Key({file})"),
            Auth::Agent => f.write_str("Agent"),
        }
    }
}

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub auth: Auth,
    /// `ssh_timeout`: how long to keep trying.
    pub timeout: Duration,
    /// `ssh_handshake_attempts`: how many rejected handshakes end the wait early.
    pub handshake_attempts: u32,
    /// `ssh_pty`: run commands in a pseudo-terminal.
    pub pty: bool,
    /// `ssh_keep_alive_interval`; `None` disables keep-alives.
    pub keep_alive: Option<Duration>,
}

impl Target {
    /// Where the socket goes: `KILN_SSH_ENDPOINT` (`host:port`) when set, for every connection
    /// of the run (a tunnel, or a test's sshd standing in for machines that have no real
    /// address), else the target itself.
    fn dial(&self) -> Result<(String, u16), Failure> {
        match std::env::var(ENDPOINT_VAR) {
            Ok(endpoint) if !endpoint.is_empty() => endpoint_of(&endpoint).ok_or_else(|| {
                Failure::Fatal(Error::Remote(format!(
                    "{ENDPOINT_VAR} must be host:port, not {endpoint:?}"
                )))
            }),
            _ => Ok((self.host.clone(), self.port)),
        }
    }

    /// `host:port`, as messages show it.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// What can go wrong talking to the machine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Timeout waiting for SSH: {address} did not accept an SSH connection within {waited} (last error: {last})")]
    Timeout {
        address: String,
        waited: String,
        last: String,
    },
    #[error("cannot use the SSH private key {file}: {reason}")]
    Key { file: String, reason: String },
    #[error("kiln experienced an authentication error when trying to connect via SSH as {user} to {address}: the server rejected {method}. Check ssh_username and the credentials")]
    Auth {
        user: String,
        address: String,
        method: String,
    },
    #[error("ssh_agent_auth: {0}")]
    Agent(String),
    #[error("the SSH connection to {address} failed: {reason}")]
    Connection { address: String, reason: String },
    #[error("{0}")]
    Remote(String),
    #[error("the build was cancelled")]
    Cancelled,
}

/// How a remote command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(u32),
    /// A signal (`TERM`, `KILL`, ...) ended it.
    Signal(String),
    /// The connection dropped before it said how it ended (a reboot, say).
    Disconnected,
    /// Its step was cancelled: the command was signalled and its channel closed.
    Cancelled,
}

/// The russh handler: accepts every host key, as Packer does.
struct Client;

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// A connection to the machine. Reconnects by itself when the connection dropped (after a
/// reboot), within `ssh_timeout`.
pub struct Machine {
    target: Target,
    key: Option<Arc<PrivateKey>>,
    handle: Mutex<Arc<Handle<Client>>>,
}

impl fmt::Debug for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ssh::Machine({}@{})",
            self.target.user,
            self.target.address()
        )
    }
}

/// A builder's launch: wait until SSH on `target` answers (within its timeout), say so as
/// Packer does, add the connection's generated data (`ConnType`, `Host`, `Port`, `User`,
/// `Password`, `SSHPrivateKey`, `SSHPublicKey`, `WinRMPassword`) to `generated`, and keep the
/// connection for the session's later steps.
pub async fn open_for_session(
    cx: crate::plugins::sdk::StepContext<'_>,
    target: &Target,
    ssh_password: &str,
    winrm_password: &str,
    generated: &mut std::collections::BTreeMap<String, String>,
) -> Result<(), crate::plugins::sdk::StepError> {
    use crate::plugins::sdk::StepError;
    cx.say("Waiting for SSH to become available...");
    cx.activity(&format!("waiting for SSH on {}", target.address()));
    let connection = connect(target, cx.cancel).await.map_err(|e| match e {
        Error::Cancelled => StepError::cancelled(),
        e => StepError::new(e.to_string()),
    })?;
    cx.say("Connected to SSH!");
    let key = match &target.auth {
        Auth::Key { text, .. } => text.clone(),
        _ => String::new(),
    };
    for (name, value) in [
        ("ConnType", "ssh".to_string()),
        ("Host", target.host.clone()),
        ("Port", target.port.to_string()),
        ("User", target.user.clone()),
        ("Password", ssh_password.to_string()),
        ("SSHPrivateKey", key),
        ("SSHPublicKey", String::new()),
        ("WinRMPassword", winrm_password.to_string()),
    ] {
        generated.insert(name.to_string(), value);
    }
    cx.host
        .connected(cx.session()?, std::sync::Arc::new(connection));
    Ok(())
}

/// Connect to `target`, retrying until `ssh_timeout` runs out.
pub async fn connect(target: &Target, cancel: &CancellationToken) -> Result<Machine, Error> {
    let key = match &target.auth {
        Auth::Key { file, text } => Some(Arc::new(parse_key(file, text)?)),
        _ => None,
    };
    let handle = open(target, key.as_ref(), cancel).await?;
    Ok(Machine {
        target: target.clone(),
        key,
        handle: Mutex::new(Arc::new(handle)),
    })
}

fn parse_key(file: &str, text: &str) -> Result<PrivateKey, Error> {
    russh::keys::decode_secret_key(text, None).map_err(|e| {
        let reason = match e {
            russh::keys::Error::KeyIsEncrypted => {
                "the key is encrypted with a passphrase, which kiln cannot read yet (use ssh_agent_auth)".to_string()
            }
            russh::keys::Error::CouldNotReadKey => "it is not a private key kiln can read".to_string(),
            other => other.to_string(),
        };
        Error::Key {
            file: file.to_string(),
            reason,
        }
    })
}

/// One connection, retried until the timeout, the handshake attempts or a cancel end it.
async fn open(
    target: &Target,
    key: Option<&Arc<PrivateKey>>,
    cancel: &CancellationToken,
) -> Result<Handle<Client>, Error> {
    let config = Arc::new(client::Config {
        keepalive_interval: target.keep_alive,
        keepalive_max: 3,
        nodelay: true,
        ..client::Config::default()
    });
    let started = Instant::now();
    let deadline = started + target.timeout;
    let mut rejected = 0;
    let mut attempt_number = 0u32;
    loop {
        attempt_number += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        tracing::debug!(
            address = %target.address(),
            user = %target.user,
            attempt = attempt_number,
            "connecting over SSH"
        );
        let attempt = async {
            let (host, port) = target.dial()?;
            let address = (host.as_str(), port);
            let connect = async {
                let stream = tokio::net::TcpStream::connect(address)
                    .await
                    .map_err(|e| Failure::Transport(e.to_string()))?;
                let _ = stream.set_nodelay(true);
                let stream = super::quickack::QuickAck(stream);
                client::connect_stream(config.clone(), stream, Client)
                    .await
                    .map_err(|e| Failure::Transport(describe(&e)))
            };
            let mut handle = tokio::time::timeout(remaining, connect)
                .await
                .map_err(|_| Failure::Transport("the connection attempt timed out".into()))??;
            authenticate(&mut handle, target, key).await?;
            Ok::<_, Failure>(handle)
        };
        let failure = tokio::select! {
            r = attempt => match r {
                Ok(handle) => return Ok(handle),
                Err(f) => f,
            },
            _ = cancel.cancelled() => return Err(Error::Cancelled),
        };
        let last = match failure {
            Failure::Fatal(e) => return Err(e),
            Failure::Rejected => {
                rejected += 1;
                if rejected >= target.handshake_attempts.max(1) || Instant::now() >= deadline {
                    return Err(Error::Auth {
                        user: target.user.clone(),
                        address: target.address(),
                        method: target.auth.method(),
                    });
                }
                "authentication failed".to_string()
            }
            Failure::Transport(reason) => reason,
        };
        tracing::debug!(
            address = %target.address(),
            attempt = attempt_number,
            reason = %last,
            retry_in = ?RETRY,
            "SSH connection attempt failed"
        );
        if Instant::now() + RETRY >= deadline {
            return Err(Error::Timeout {
                address: target.address(),
                waited: crate::plugins::sdk::duration::human(target.timeout),
                last,
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY) => {}
            _ = cancel.cancelled() => return Err(Error::Cancelled),
        }
    }
}

/// Why one connection attempt failed.
enum Failure {
    /// The server could not be reached or the handshake broke: worth another try.
    Transport(String),
    /// The server rejected the credentials.
    Rejected,
    /// Trying again cannot help.
    Fatal(Error),
}

fn describe(e: &russh::Error) -> String {
    match e {
        russh::Error::IO(io) => io.to_string(),
        other => other.to_string(),
    }
}

async fn authenticate(
    handle: &mut Handle<Client>,
    target: &Target,
    key: Option<&Arc<PrivateKey>>,
) -> Result<(), Failure> {
    let user = target.user.clone();
    let transport = |e: russh::Error| Failure::Transport(describe(&e));
    let accepted = match &target.auth {
        Auth::Password(password) => handle
            .authenticate_password(user, password.clone())
            .await
            .map_err(transport)?
            .success(),
        Auth::Key { .. } => {
            let key = key.ok_or_else(|| Failure::Fatal(Error::Remote("no key".into())))?;
            let hash = handle
                .best_supported_rsa_hash()
                .await
                .map_err(transport)?
                .flatten();
            let key = PrivateKeyWithHashAlg::new(key.clone(), hash);
            handle
                .authenticate_publickey(user, key)
                .await
                .map_err(transport)?
                .success()
        }
        Auth::Agent => authenticate_agent(handle, &user).await?,
    };
    if accepted {
        Ok(())
    } else {
        Err(Failure::Rejected)
    }
}

/// Offer each key of the agent at `SSH_AUTH_SOCK` in turn.
async fn authenticate_agent(handle: &mut Handle<Client>, user: &str) -> Result<bool, Failure> {
    use russh::keys::agent::client::AgentClient;
    use russh::keys::agent::AgentIdentity;
    let fatal = |what: String| Failure::Fatal(Error::Agent(what));
    let mut agent = AgentClient::connect_env()
        .await
        .map_err(|e| fatal(format!("cannot reach the SSH agent (SSH_AUTH_SOCK): {e}")))?;
    let identities = agent
        .request_identities()
        .await
        .map_err(|e| fatal(format!("cannot list the SSH agent's keys: {e}")))?;
    if identities.is_empty() {
        return Err(fatal("the SSH agent holds no keys".into()));
    }
    let hash = handle
        .best_supported_rsa_hash()
        .await
        .map_err(|e| Failure::Transport(describe(&e)))?
        .flatten();
    for identity in identities {
        let AgentIdentity::PublicKey { key, .. } = identity else {
            continue;
        };
        let result = handle
            .authenticate_publickey_with(user, key, hash, &mut agent)
            .await;
        if matches!(result, Ok(r) if r.success()) {
            return Ok(true);
        }
    }
    Ok(false)
}

impl Machine {
    /// Where this session is connected.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The live connection, reconnecting first when it dropped.
    async fn handle(&self, cancel: &CancellationToken) -> Result<Arc<Handle<Client>>, Error> {
        let current = self
            .handle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if !current.is_closed() {
            return Ok(current);
        }
        self.reconnect(cancel).await
    }

    async fn reconnect(&self, cancel: &CancellationToken) -> Result<Arc<Handle<Client>>, Error> {
        let fresh = Arc::new(open(&self.target, self.key.as_ref(), cancel).await?);
        *self.handle.lock().unwrap_or_else(|e| e.into_inner()) = fresh.clone();
        Ok(fresh)
    }

    /// A new session channel. A connection that dropped while it looked alive (the machine
    /// rebooted a moment ago) is replaced once.
    async fn channel(
        &self,
        cancel: &CancellationToken,
    ) -> Result<russh::Channel<client::Msg>, Error> {
        let handle = self.handle(cancel).await?;
        let error = match handle.channel_open_session().await {
            Ok(channel) => return Ok(channel),
            Err(e) => e,
        };
        let reason = describe(&error);
        // The server refusing a channel is an answer; anything else means the connection broke.
        if !matches!(error, russh::Error::ChannelOpenFailure(_)) {
            let handle = self.reconnect(cancel).await?;
            if let Ok(channel) = handle.channel_open_session().await {
                return Ok(channel);
            }
        }
        Err(Error::Connection {
            address: self.target.address(),
            reason: format!("cannot open a session channel: {reason}"),
        })
    }

    /// Run `command` through the remote user's shell, calling `line` for every line it writes,
    /// until it exits or `cancel` fires.
    pub async fn exec(
        &self,
        command: &str,
        cancel: &CancellationToken,
        mut line: impl FnMut(&str, Stream),
    ) -> Result<Exit, Error> {
        let mut stdout = Lines::default();
        let mut stderr = Lines::default();
        let exit = self
            .run(command, None, cancel, |bytes, stream| match stream {
                Stream::Stdout => stdout.push(bytes, |l| line(l, stream)),
                Stream::Stderr => stderr.push(bytes, |l| line(l, stream)),
            })
            .await?;
        stdout.finish(|l| line(l, Stream::Stdout));
        stderr.finish(|l| line(l, Stream::Stderr));
        Ok(exit)
    }

    /// Run `command`, feeding it `input` on standard input, passing its output as it comes.
    async fn run(
        &self,
        command: &str,
        input: Option<&[u8]>,
        cancel: &CancellationToken,
        mut output: impl FnMut(&[u8], Stream),
    ) -> Result<Exit, Error> {
        let mut channel = self.channel(cancel).await?;
        let broken = |e: russh::Error| Error::Connection {
            address: self.target.address(),
            reason: describe(&e),
        };
        let pty = self.target.pty && input.is_none();
        if pty {
            channel
                .request_pty(false, "vt100", 80, 40, 0, 0, &[])
                .await
                .map_err(broken)?;
        }
        // Without a terminal, sshd starts the command as the leader of a new process group;
        // it reports the group first, so a cancel can stop all of it.
        let mut group = if pty {
            Group::Unwanted
        } else {
            Group::Pending(Vec::new())
        };
        let command = match group {
            Group::Unwanted => command.to_string(),
            _ => format!("printf '{GROUP_MARK}%s\\n' $$ >&2; {command}"),
        };
        channel.exec(true, command).await.map_err(broken)?;
        if let Some(input) = input {
            // A command that fails at once (a missing folder) closes its input early; what it
            // said on stderr and its exit status tell why, so a failed write is not the error.
            let send = async {
                channel.data(input).await?;
                channel.eof().await
            };
            tokio::select! {
                _ = send => {}
                _ = cancel.cancelled() => {
                    // Closing the channel ends `cat`'s input, which ends it.
                    self.stop(&mut channel, None).await;
                    return Ok(Exit::Cancelled);
                }
            }
        }
        let mut exit = None;
        loop {
            tokio::select! {
                msg = channel.wait() => match msg {
                    Some(ChannelMsg::Data { data }) => output(&data, Stream::Stdout),
                    Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                        group.stderr(&data, |bytes| output(bytes, Stream::Stderr));
                    }
                    Some(ChannelMsg::ExitStatus { exit_status }) => {
                        exit = Some(Exit::Code(exit_status));
                    }
                    Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                        exit = Some(Exit::Signal(signal_label(&signal_name)));
                    }
                    Some(ChannelMsg::Failure) if exit.is_none() => {
                        return Err(Error::Remote(format!(
                            "the SSH server at {} refused to run the command",
                            self.target.address()
                        )));
                    }
                    Some(ChannelMsg::Close) | None => break,
                    Some(_) => {}
                },
                _ = cancel.cancelled() => {
                    self.stop(&mut channel, group.id()).await;
                    return Ok(Exit::Cancelled);
                }
            }
        }
        if let Group::Pending(head) = &group {
            if !head.is_empty() {
                output(head, Stream::Stderr);
            }
        }
        Ok(exit.unwrap_or(Exit::Disconnected))
    }

    /// Stop a running command: TERM to its process group, KILL after a grace period, then
    /// close the channel. OpenSSH refuses the protocol's own `signal` request for root
    /// sessions, so the group is signalled by a `kill` over a second channel.
    async fn stop(&self, channel: &mut russh::Channel<client::Msg>, group: Option<u32>) {
        let _ = channel.signal(Sig::TERM).await;
        if let Some(group) = group {
            self.kill(group, "TERM").await;
        }
        let exited = async {
            while let Some(msg) = channel.wait().await {
                if matches!(msg, ChannelMsg::Close) {
                    break;
                }
            }
        };
        if tokio::time::timeout(STOP_GRACE, exited).await.is_err() {
            if let Some(group) = group {
                self.kill(group, "KILL").await;
            }
        }
        let _ = channel.close().await;
    }

    /// Signal the remote process group `group`, waiting a moment for `kill` to run.
    async fn kill(&self, group: u32, signal: &str) {
        let handle = self
            .handle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Ok(mut channel) = handle.channel_open_session().await else {
            return;
        };
        let command = format!("kill -{signal} -- -{group} 2>/dev/null || kill -{signal} {group}");
        if channel.exec(true, command).await.is_err() {
            return;
        }
        let done = async {
            while let Some(msg) = channel.wait().await {
                if matches!(msg, ChannelMsg::Close) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(STOP_GRACE, done).await;
    }

    /// Run `command` with `input`, collecting its output; an exit other than 0 is an error
    /// naming `what` with what the command wrote on stderr.
    async fn run_collect(
        &self,
        command: &str,
        input: Option<&[u8]>,
        what: &str,
        cancel: &CancellationToken,
    ) -> Result<Vec<u8>, Error> {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let exit = self
            .run(command, input, cancel, |bytes, stream| match stream {
                Stream::Stdout => stdout.extend_from_slice(bytes),
                Stream::Stderr => stderr.extend_from_slice(bytes),
            })
            .await?;
        let said = String::from_utf8_lossy(&stderr).trim().to_string();
        let said = if said.is_empty() {
            String::new()
        } else {
            format!(": {said}")
        };
        match exit {
            Exit::Code(0) => Ok(stdout),
            Exit::Cancelled => Err(Error::Cancelled),
            Exit::Code(code) => Err(Error::Remote(format!(
                "{what} failed (exit status {code}){said}"
            ))),
            Exit::Signal(sig) => Err(Error::Remote(format!(
                "{what} was ended by signal {sig}{said}"
            ))),
            Exit::Disconnected => Err(Error::Remote(format!(
                "{what}: the connection to {} dropped",
                self.target.address()
            ))),
        }
    }

    /// Write `data` to `remote`, then set its permissions to `mode` when given.
    pub async fn upload(
        &self,
        data: &[u8],
        remote: &str,
        mode: Option<u32>,
        cancel: &CancellationToken,
    ) -> Result<(), Error> {
        let path = quote(remote);
        let mut command = format!("cat > {path}");
        if let Some(mode) = mode {
            command.push_str(&format!(" && chmod {:04o} {path}", mode & 0o7777));
        }
        self.run_collect(&command, Some(data), &format!("writing {remote}"), cancel)
            .await
            .map(|_| ())
    }

    /// The contents of the remote file `remote`.
    pub async fn download(
        &self,
        remote: &str,
        cancel: &CancellationToken,
    ) -> Result<Vec<u8>, Error> {
        let command = format!("cat {}", quote(remote));
        self.run_collect(&command, None, &format!("reading {remote}"), cancel)
            .await
    }

    /// Create the remote directories `paths` (and their parents).
    pub async fn mkdir_all(
        &self,
        paths: &[String],
        cancel: &CancellationToken,
    ) -> Result<(), Error> {
        if paths.is_empty() {
            return Ok(());
        }
        let quoted: Vec<String> = paths.iter().map(|p| quote(p)).collect();
        let command = format!("mkdir -p {}", quoted.join(" "));
        self.run_collect(&command, None, "creating remote folders", cancel)
            .await
            .map(|_| ())
    }

    /// The folders and files under the remote folder `root`, as paths relative to it, each
    /// list sorted.
    pub async fn walk(
        &self,
        root: &str,
        cancel: &CancellationToken,
    ) -> Result<(Vec<String>, Vec<String>), Error> {
        let root_q = quote(root);
        let list =
            |kind: &'static str| format!("cd {root_q} && find . -mindepth 1 -type {kind} -print");
        let what = format!("listing {root}");
        let dirs = self.run_collect(&list("d"), None, &what, cancel).await?;
        let files = self.run_collect(&list("f"), None, &what, cancel).await?;
        let relative = |bytes: Vec<u8>| {
            let mut out: Vec<String> = String::from_utf8_lossy(&bytes)
                .lines()
                .map(|l| l.trim_start_matches("./").to_string())
                .filter(|l| !l.is_empty())
                .collect();
            out.sort();
            out
        };
        Ok((relative(dirs), relative(files)))
    }

    /// Say goodbye to the server.
    pub async fn close(&self) {
        let handle = self
            .handle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
    }
}

/// What the command's first stderr line says: `GROUP_MARK` and its process group.
const GROUP_MARK: &str = "kiln-process-group:";

/// How long a cancelled command has between TERM and KILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// The remote command's process group, as learned from its stderr.
enum Group {
    /// Not asked for (a terminal hangs up the command by itself).
    Unwanted,
    /// Not reported yet: the stderr read so far, held back until the report.
    Pending(Vec<u8>),
    Known(u32),
}

impl Group {
    fn id(&self) -> Option<u32> {
        match self {
            Group::Known(id) => Some(id),
            _ => None,
        }
        .copied()
    }

    /// Pass on stderr `data`, less the report of the process group. Lines before the report
    /// (a shell's startup files may print some) pass through.
    fn stderr(&mut self, data: &[u8], mut pass: impl FnMut(&[u8])) {
        let Group::Pending(head) = self else {
            pass(data);
            return;
        };
        head.extend_from_slice(data);
        while let Some(end) = head.iter().position(|b| *b == b'\n') {
            let line = &head[..end];
            if let Some(id) = line.strip_prefix(GROUP_MARK.as_bytes()) {
                let id = String::from_utf8_lossy(id).trim().parse().ok();
                let rest = head.split_off(end + 1);
                *self = id.map_or(Group::Unwanted, Group::Known);
                if !rest.is_empty() {
                    pass(&rest);
                }
                return;
            }
            let rest = head.split_off(end + 1);
            pass(head);
            *head = rest;
        }
    }
}

/// A signal's name as the shell spells it.
fn signal_label(sig: &Sig) -> String {
    let name = format!("{sig:?}");
    match sig {
        Sig::Custom(n) => n.clone(),
        _ => name,
    }
}

/// `text` quoted for a POSIX shell.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Bytes cut into lines; a line's `\r\n` counts as its end.
#[derive(Default)]
struct Lines(Vec<u8>);

impl Lines {
    fn push(&mut self, bytes: &[u8], mut line: impl FnMut(&str)) {
        self.0.extend_from_slice(bytes);
        while let Some(end) = self.0.iter().position(|b| *b == b'\n') {
            let rest = self.0.split_off(end + 1);
            let mut text = std::mem::replace(&mut self.0, rest);
            text.pop();
            if text.last() == Some(&b'\r') {
                text.pop();
            }
            line(&String::from_utf8_lossy(&text));
        }
    }

    fn finish(&mut self, mut line: impl FnMut(&str)) {
        if !self.0.is_empty() {
            let text = std::mem::take(&mut self.0);
            line(String::from_utf8_lossy(&text).trim_end_matches('\r'));
        }
    }
}

impl crate::plugins::sdk::Connection for Machine {
    fn close(self: Arc<Self>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move { Machine::close(&self).await })
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn endpoints_are_host_and_port() {
        assert_eq!(
            endpoint_of("127.0.0.1:2222"),
            Some(("127.0.0.1".into(), 2222))
        );
        assert_eq!(endpoint_of("[::1]:22"), Some(("::1".into(), 22)));
        assert_eq!(endpoint_of("localhost"), None);
        assert_eq!(endpoint_of(":22"), None);
    }

    use super::*;

    #[test]
    fn lines_are_cut_across_chunks() {
        let mut lines = Lines::default();
        let mut seen = Vec::new();
        lines.push(b"one\r\ntw", |l| seen.push(l.to_string()));
        lines.push(b"o\nthree", |l| seen.push(l.to_string()));
        lines.finish(|l| seen.push(l.to_string()));
        assert_eq!(seen, ["one", "two", "three"]);
    }

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(quote("/tmp/it's here"), r"'/tmp/it'\''s here'");
    }

    #[test]
    fn debug_hides_the_password() {
        let auth = Auth::Password("hunter2".into());
        assert!(!format!("{auth:?}").contains("hunter2"));
    }

    #[test]
    fn a_key_that_is_not_a_key_is_a_clear_error() {
        let e = parse_key("id_bad", "not a key").unwrap_err().to_string();
        assert!(
            e.starts_with("cannot use the SSH private key id_bad"),
            "{e}"
        );
        assert!(!e.contains("not a key"), "{e}");
    }
}
