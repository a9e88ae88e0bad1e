//! The provisioners that work on the machine over the SSH communicator: Packer's `shell`
//! (upload each script, run it through `execute_command`, remove it) and `file` (upload or
//! download files and folders).

use super::ssh::{self, Exit};
use super::{file as file_provisioner, shell};
use crate::body::legacy;
use crate::functions::gotime::wait_duration;
use crate::plugins::local::process::{Stream, TempFile};
use crate::plugins::local::shell_local::{check_exit_code, flattened_vars};
use crate::plugins::sdk::{StepContext, StepError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Write `text` to a new local temporary file.
fn temp_file(prefix: &str, text: &[u8]) -> Result<TempFile, StepError> {
    TempFile::create(prefix, "", text, false)
        .map_err(|e| StepError::new(format!("cannot write a temporary file: {e}")))
}

/// The session's SSH connection.
fn connection(cx: &StepContext<'_>) -> Result<Arc<ssh::Machine>, StepError> {
    cx.session()?;
    cx.connection::<ssh::Machine>().ok_or_else(|| {
        StepError::new("the provisioner needs a communicator, and this build has no SSH connection")
    })
}

fn failed(e: ssh::Error) -> StepError {
    match e {
        ssh::Error::Cancelled => StepError::cancelled(),
        other => StepError::new(other.to_string()),
    }
}

/// A number for a remote file's name, as Packer's `rand.Intn(9999)`.
fn random_suffix() -> u128 {
    uuid::Uuid::new_v4().as_u128() % 9999
}

fn duration(field: &str, text: &str, default: Duration) -> Result<Duration, StepError> {
    if text.is_empty() {
        return Ok(default);
    }
    wait_duration(text).map_err(|e| StepError::new(format!("{field}: {e}")))
}

/// Packer's `shell` provisioner.
pub async fn shell(cx: &StepContext<'_>, c: &shell::Config) -> Result<(), StepError> {
    let session = connection(cx)?;
    let folder = non_empty(&c.remote_folder, "/tmp");
    let file = if c.remote_file.is_empty() {
        format!("script_{}.sh", random_suffix())
    } else {
        c.remote_file.clone()
    };
    let remote_path = if c.remote_path.is_empty() {
        format!("{folder}/{file}")
    } else {
        c.remote_path.clone()
    };
    let start_retry = duration(
        "start_retry_timeout",
        &c.start_retry_timeout,
        Duration::from_secs(300),
    )?;
    let pause_after = duration("pause_after", &c.pause_after, Duration::ZERO)?;
    let format = if !c.env_var_format.is_empty() {
        c.env_var_format.clone()
    } else if c.use_env_var_file {
        "export %s='%s'\n".to_string()
    } else {
        "%s='%s' ".to_string()
    };
    let vars = flattened_vars(cx, &c.environment_vars, &c.env, &format);
    let execute = if !c.execute_command.is_empty() {
        c.execute_command.clone()
    } else if c.use_env_var_file {
        "chmod +x {{.Path}}; . {{.EnvVarFile}} && {{.Path}}".to_string()
    } else {
        "chmod +x {{.Path}}; {{.Vars}} {{.Path}}".to_string()
    };
    let legacy = cx.legacy();

    let mut scripts: Vec<String> = Vec::new();
    if !c.script.is_empty() {
        scripts.push(c.script.clone());
    }
    scripts.extend(c.scripts.iter().cloned());
    let _inline = if c.inline.is_empty() {
        None
    } else {
        let shebang = non_empty(&c.inline_shebang, "/bin/sh -e");
        let mut text = format!("#!{shebang}\n");
        for command in &c.inline {
            let command = legacy::expand(command, &legacy)
                .map_err(|e| StepError::new(format!("inline command `{command}`: {e}")))?;
            text.push_str(&command);
            text.push('\n');
        }
        let temp = temp_file("kiln-shell-", text.as_bytes())?;
        scripts.push(temp.path().display().to_string());
        Some(temp)
    };

    let env_var_file = if c.use_env_var_file {
        let path = format!("{folder}/varfile_{}.sh", random_suffix());
        session
            .upload(vars.as_bytes(), &path, Some(0o600), cx.cancel)
            .await
            .map_err(|e| match e {
                ssh::Error::Cancelled => StepError::cancelled(),
                e => StepError::new(format!("Error uploading envVarFile: {e}")),
            })?;
        Some(path)
    } else {
        None
    };

    for script in &scripts {
        cx.say(&format!("Provisioning with shell script: {script}"));
        let mut data = tokio::fs::read(script)
            .await
            .map_err(|e| StepError::new(format!("Error opening shell script: {script}: {e}")))?;
        if !c.binary {
            data = unix_line_endings(&data);
        }
        let mut values = legacy.clone();
        values.build.insert("Vars".into(), vars.clone());
        values.build.insert("Path".into(), remote_path.clone());
        values.build.insert(
            "EnvVarFile".into(),
            env_var_file.clone().unwrap_or_default(),
        );
        let command = legacy::expand(&execute, &values)
            .map_err(|e| StepError::new(format!("Error processing command: {e}")))?;
        cx.activity(&format!(
            "running {script} on {}",
            session.target().address()
        ));
        let exit = run_script(cx, &session, &data, &remote_path, &command, start_retry).await?;
        match exit {
            Exit::Cancelled => return Err(StepError::cancelled()),
            Exit::Disconnected if c.expect_disconnect => {}
            Exit::Disconnected => return Err(StepError::new(
                "Script disconnected unexpectedly. If you expected your script to disconnect, i.e. from a restart, you can try adding `\"expect_disconnect\": true` or `\"skip_clean\": true` to the shell provisioner parameters.",
            )),
            Exit::Signal(sig) => {
                return Err(StepError::new(format!(
                    "Script {script} was ended by signal {sig}"
                )))
            }
            Exit::Code(code) => check_exit_code(code, &c.valid_exit_codes)?,
        }
        if !c.skip_clean {
            remove(cx, &session, &remote_path, "temporary script").await?;
        }
    }
    if let Some(path) = &env_var_file {
        if !c.skip_clean {
            remove(cx, &session, path, "env var file").await?;
        }
    }
    if !pause_after.is_zero() {
        cx.pause(pause_after, "after this provisioner").await?;
    }
    Ok(())
}

/// Upload a script and start it, trying again while the connection is down (a reboot) for
/// up to `start_retry_timeout`.
async fn run_script(
    cx: &StepContext<'_>,
    session: &ssh::Machine,
    data: &[u8],
    remote_path: &str,
    command: &str,
    start_retry: Duration,
) -> Result<Exit, StepError> {
    let started = Instant::now();
    loop {
        let attempt = async {
            session
                .upload(data, remote_path, Some(0o755), cx.cancel)
                .await
                .map_err(|e| match e {
                    e @ (ssh::Error::Cancelled
                    | ssh::Error::Connection { .. }
                    | ssh::Error::Timeout { .. }) => e,
                    e => ssh::Error::Remote(format!("Error uploading script: {e}")),
                })?;
            session
                .exec(command, cx.cancel, |line, stream| match stream {
                    Stream::Stdout => cx.message(line),
                    Stream::Stderr => cx.error(line),
                })
                .await
        };
        match attempt.await {
            Ok(exit) => return Ok(exit),
            Err(ssh::Error::Connection { .. } | ssh::Error::Timeout { .. })
                if started.elapsed() < start_retry =>
            {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = cx.cancel.cancelled() => return Err(StepError::cancelled()),
                }
            }
            Err(e) => return Err(failed(e)),
        }
    }
}

/// `rm -f` a remote file the provisioner made.
async fn remove(
    cx: &StepContext<'_>,
    session: &ssh::Machine,
    path: &str,
    what: &str,
) -> Result<(), StepError> {
    let exit = session
        .exec(&format!("rm -f {path}"), cx.cancel, |line, stream| {
            if stream == Stream::Stderr {
                cx.error(line)
            }
        })
        .await
        .map_err(|e| match e {
            ssh::Error::Cancelled => StepError::cancelled(),
            e => StepError::new(format!("Error removing {what} at {path}: {e}")),
        })?;
    match exit {
        Exit::Code(0) => Ok(()),
        Exit::Cancelled => Err(StepError::cancelled()),
        other => Err(StepError::new(format!(
            "Error removing {what} at {path}: rm ended with {other:?}"
        ))),
    }
}

/// Packer's `UnixReader`: every line ends in `\n`, `\r\n` included.
fn unix_line_endings(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 1);
    for line in data.split_inclusive(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

fn non_empty<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.is_empty() {
        default
    } else {
        value
    }
}

/// Packer's `file` provisioner.
pub async fn file(cx: &StepContext<'_>, c: &file_provisioner::Config) -> Result<(), StepError> {
    let session = connection(cx)?;
    if c.direction == "download" {
        return download(cx, &session, c).await;
    }
    let mut sources = c.sources.clone();
    if !c.source.is_empty() {
        sources.push(c.source.clone());
    }
    let _content = if c.content.is_empty() {
        None
    } else {
        let temp = temp_file("pkr-file-content", c.content.as_bytes())?;
        sources.push(temp.path().display().to_string());
        Some(temp)
    };
    for src in &sources {
        let dst = &c.destination;
        cx.say(&format!("Uploading {src} => {dst}"));
        cx.activity(&format!("uploading {src}"));
        let meta = tokio::fs::metadata(src)
            .await
            .map_err(|e| StepError::new(format!("Upload failed: cannot read {src}: {e}")))?;
        let result = if meta.is_dir() {
            upload_dir(cx, &session, src, dst).await
        } else {
            let target = if dst.ends_with('/') {
                format!("{dst}{}", base_name(src))
            } else {
                dst.clone()
            };
            upload_file(cx, &session, Path::new(src), &target).await
        };
        if let Err(e) = result {
            if !e.is_cancelled() {
                cx.error(&format!("Upload failed: {e}"));
            }
            return Err(e);
        }
    }
    Ok(())
}

async fn upload_file(
    cx: &StepContext<'_>,
    session: &ssh::Machine,
    local: &Path,
    remote: &str,
) -> Result<(), StepError> {
    let data = tokio::fs::read(local)
        .await
        .map_err(|e| StepError::new(format!("cannot read {}: {e}", local.display())))?;
    let mode = permissions(local).await;
    session
        .upload(&data, remote, Some(mode), cx.cancel)
        .await
        .map_err(failed)
}

async fn permissions(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    tokio::fs::metadata(path)
        .await
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0o644)
}

/// Upload a folder: with a trailing slash its contents go into `dst`, without one the folder
/// itself goes into `dst` (Packer's rule, from rsync).
async fn upload_dir(
    cx: &StepContext<'_>,
    session: &ssh::Machine,
    src: &str,
    dst: &str,
) -> Result<(), StepError> {
    let root = if src.ends_with('/') {
        dst.trim_end_matches('/').to_string()
    } else {
        format!("{}/{}", dst.trim_end_matches('/'), base_name(src))
    };
    let root = if root.is_empty() { "/".into() } else { root };
    let (dirs, files) = walk_local(Path::new(src))
        .map_err(|e| StepError::new(format!("cannot read the folder {src}: {e}")))?;
    let mut remote_dirs = vec![root.clone()];
    remote_dirs.extend(dirs.iter().map(|d| format!("{root}/{d}")));
    session
        .mkdir_all(&remote_dirs, cx.cancel)
        .await
        .map_err(failed)?;
    for f in &files {
        upload_file(cx, session, &Path::new(src).join(f), &format!("{root}/{f}")).await?;
    }
    Ok(())
}

/// The folders and files under `root`, relative to it, sorted; symbolic links are followed.
fn walk_local(root: &Path) -> std::io::Result<(Vec<String>, Vec<String>)> {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        for entry in std::fs::read_dir(root.join(&rel))? {
            let entry = entry?;
            let path = rel.join(entry.file_name());
            if std::fs::metadata(entry.path())?.is_dir() {
                dirs.push(path.display().to_string());
                pending.push(path);
            } else {
                files.push(path.display().to_string());
            }
        }
    }
    dirs.sort();
    files.sort();
    Ok((dirs, files))
}

/// `direction = "download"`: Packer's `ProvisionDownload`. A source ending in `/` is a folder
/// whose contents go into `destination`.
async fn download(
    cx: &StepContext<'_>,
    session: &ssh::Machine,
    c: &file_provisioner::Config,
) -> Result<(), StepError> {
    let src = c
        .sources
        .first()
        .cloned()
        .filter(|_| c.source.is_empty())
        .unwrap_or_else(|| c.source.clone());
    if src.contains(['*', '?', '[']) {
        return Err(StepError::new(format!(
            "kiln cannot download wildcard sources yet: {src}"
        )));
    }
    let mut dst = c.destination.clone();
    let dir = if !dst.ends_with('/') {
        Path::new(&dst)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    } else {
        let dir = PathBuf::from(&dst);
        if !src.ends_with('/') {
            dst = Path::new(&dst).join(base_name(&src)).display().to_string();
        }
        dir
    };
    cx.say(&format!("Downloading {src} => {dst}"));
    cx.activity(&format!("downloading {src}"));
    if !dir.as_os_str().is_empty() {
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| StepError::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    if src.ends_with('/') {
        let (dirs, files) = session.walk(&src, cx.cancel).await.map_err(failed)?;
        let root = PathBuf::from(&dst);
        for d in std::iter::once(String::new()).chain(dirs) {
            let path = root.join(&d);
            tokio::fs::create_dir_all(&path)
                .await
                .map_err(|e| StepError::new(format!("cannot create {}: {e}", path.display())))?;
        }
        for f in files {
            let remote = format!("{}/{f}", src.trim_end_matches('/'));
            let data = session.download(&remote, cx.cancel).await.map_err(failed)?;
            write_local(&root.join(&f), &data).await?;
        }
        return Ok(());
    }
    let data = session.download(&src, cx.cancel).await.map_err(failed)?;
    write_local(Path::new(&dst), &data).await
}

async fn write_local(path: &Path, data: &[u8]) -> Result<(), StepError> {
    tokio::fs::write(path, data)
        .await
        .map_err(|e| StepError::new(format!("cannot write {}: {e}", path.display())))
}

/// The last element of a path, ignoring a trailing slash.
fn base_name(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    trimmed
        .rsplit('/')
        .next()
        .filter(|b| !b.is_empty())
        .unwrap_or(trimmed)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_become_unix_ones() {
        assert_eq!(unix_line_endings(b"a\r\nb\nc"), b"a\nb\nc\n");
    }

    #[test]
    fn exit_codes_outside_the_list_fail_with_packers_text() {
        assert!(check_exit_code(0, &[]).is_ok());
        assert!(check_exit_code(2, &[0, 2]).is_ok());
        assert_eq!(
            check_exit_code(1, &[0, 2]).unwrap_err().message(),
            "Script exited with non-zero exit status: 1. Allowed exit codes are: [0 2]"
        );
    }

    #[test]
    fn base_names_ignore_trailing_slashes() {
        assert_eq!(base_name("a/b/"), "b");
        assert_eq!(base_name("b"), "b");
        assert_eq!(base_name("/x/y.txt"), "y.txt");
    }
}
