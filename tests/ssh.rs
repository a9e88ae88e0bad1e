//! The SSH communicator against a real OpenSSH server on 127.0.0.1: the null builder connects,
//! the `shell` and `file` provisioners work over the connection, and failures read clearly.
//! Each test starts its own `sshd` with fresh keys in a scratch directory.

use crate::test::{Output, Test};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// An OpenSSH server for one test, stopped when dropped.
struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Sshd {
    fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists() && which("ssh-keygen"),
            "the SSH tests need OpenSSH's {SSHD} and ssh-keygen: run scripts/test.sh, which installs openssh-server and openssh-client"
        );
        // sshd refuses to start without its privilege-separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let dir = tempfile::tempdir().expect("a scratch directory for sshd");
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("client_key"));
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys"))
            .expect("authorized_keys");
        let port = free_port();
        let config = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {host}\nAuthorizedKeysFile {keys}\n\
             PermitRootLogin yes\nStrictModes no\nUsePAM no\nPidFile {pid}\n\
             PasswordAuthentication yes\nKbdInteractiveAuthentication no\nLogLevel ERROR\n",
            host = d.join("host_key").display(),
            keys = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        );
        std::fs::write(d.join("sshd_config"), config).expect("sshd_config");
        let log = std::fs::File::create(d.join("sshd.log")).expect("sshd log");
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("sshd starts");
        let mut sshd = Sshd { dir, port, child };
        sshd.wait_ready();
        sshd
    }

    /// Wait until the server answers with its SSH banner.
    fn wait_ready(&mut self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sshd exited with {status}: {}", self.log());
            }
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::Read;
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut banner = [0u8; 7];
                if (&stream).read_exact(&mut banner).is_ok() && &banner == b"SSH-2.0" {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "sshd did not listen on {} in time: {}",
            self.port,
            self.log()
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    fn key_text(&self) -> String {
        std::fs::read_to_string(self.key()).expect("the client key")
    }

    /// A `source "null" "a"` that connects to this server with the client key.
    fn source(&self) -> String {
        format!(
            "source \"null\" \"a\" {{\n  ssh_host             = \"127.0.0.1\"\n  ssh_port             = {}\n  ssh_username         = \"{}\"\n  ssh_private_key_file = \"{}\"\n  ssh_timeout          = \"20s\"\n}}\n",
            self.port,
            user(),
            self.key().display()
        )
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "kiln-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen made {}", path.display());
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// The user the tests run as, whom sshd lets in with the client key.
fn user() -> String {
    let out = Command::new("id").arg("-un").output().expect("id runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn build(test: &Test, status: i32) -> Output {
    let out = test.run_unchecked_with(&["build", "t.pkr.hcl"]);
    assert_eq!(
        out.status, status,
        "exit status of kiln build\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout, out.stderr
    );
    out
}

fn template(sshd: &Sshd, provisioners: &str) -> String {
    format!(
        "{}\nbuild {{\n  sources = [\"source.null.a\"]\n{provisioners}}}\n",
        sshd.source()
    )
}

#[test]
fn shell_runs_inline_commands_on_the_machine_with_packers_variables() {
    let sshd = Sshd::start();
    let test = Test::new();
    let side = test.dir().join("side-effect");
    let provisioner = format!(
        r#"  provisioner "shell" {{
    environment_vars = ["GREETING=it's me"]
    env              = {{ COLOR = "blue" }}
    inline = [
      "echo hello $GREETING in $COLOR",
      "echo $PACKER_BUILD_NAME $PACKER_BUILDER_TYPE > {side}",
      "echo to stderr >&2",
    ]
  }}
"#,
        side = side.display()
    );
    let test = test.write("t.pkr.hcl", template(&sshd, &provisioner));
    let out = build(&test, 0);
    for line in [
        "==> null.a: Using SSH communicator to connect: 127.0.0.1\n",
        "==> null.a: Waiting for SSH to become available...\n",
        "==> null.a: Connected to SSH!\n",
        "==> null.a: Provisioning with shell script: ",
        "    null.a: hello it's me in blue\n",
        "==> null.a: to stderr\n",
        "Build 'null.a' finished after",
    ] {
        assert!(out.stdout.contains(line), "{line:?} in:\n{}", out.stdout);
    }
    assert_eq!(
        std::fs::read_to_string(&side).expect("the remote command wrote its file"),
        "a null\n"
    );
    // The uploaded script is removed afterwards.
    let left: Vec<_> = std::fs::read_dir("/tmp")
        .expect("/tmp")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("script_"))
        .filter(|e| {
            std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(&side.display().to_string()))
        })
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "scripts left behind: {left:?}");
}

#[test]
fn shell_uploads_and_runs_a_script_file_at_remote_path() {
    let sshd = Sshd::start();
    let test = Test::new();
    let remote = test.dir().join("remote-script.sh");
    let provisioner = format!(
        r#"  provisioner "shell" {{
    script      = "setup.sh"
    remote_path = "{remote}"
    skip_clean  = true
  }}
"#,
        remote = remote.display()
    );
    let test = test
        .write(
            "setup.sh",
            "#!/bin/sh\r\necho \"script ran as $(id -un)\"\r\n",
        )
        .write("t.pkr.hcl", template(&sshd, &provisioner));
    let out = build(&test, 0);
    assert!(
        out.stdout
            .contains("==> null.a: Provisioning with shell script: setup.sh\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("    null.a: script ran as {}\n", user())),
        "{}",
        out.stdout
    );
    // `skip_clean` keeps it, with Packer's line-ending conversion applied.
    assert_eq!(
        std::fs::read_to_string(&remote).expect("the script stays"),
        "#!/bin/sh\necho \"script ran as $(id -un)\"\n"
    );
}

#[test]
fn a_failing_script_fails_the_build_with_packers_error() {
    let sshd = Sshd::start();
    let test = Test::new();
    // A failed script stays on the machine, as in Packer: keep it in the scratch directory.
    let provisioner = format!(
        r#"  provisioner "shell" {{
    inline        = ["echo about to fail", "exit 3"]
    remote_folder = "{}"
  }}
"#,
        test.dir().display()
    );
    let test = test.write("t.pkr.hcl", template(&sshd, &provisioner));
    let out = build(&test, 1);
    assert!(
        out.stdout.contains("    null.a: about to fail\n"),
        "{}",
        out.stdout
    );
    let error = "Script exited with non-zero exit status: 3. Allowed exit codes are: [0]";
    assert!(
        out.stdout.contains(error) || out.stderr.contains(error),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(out.stdout.contains("Build 'null.a' errored after"));

    // The same exit code is fine once it is listed.
    let allowed = r#"  provisioner "shell" {
    inline           = ["exit 3"]
    valid_exit_codes = [0, 3]
  }
"#;
    let test = Test::new().write("t.pkr.hcl", template(&sshd, allowed));
    build(&test, 0);
}

#[test]
fn file_uploads_files_and_folders_and_downloads_them_back() {
    let sshd = Sshd::start();
    let test = Test::new();
    let remote = test.dir().join("remote");
    let back = test.dir().join("back");
    let provisioners = format!(
        r#"  provisioner "shell" {{
    inline = ["mkdir -p {remote}"]
  }}
  provisioner "file" {{
    source      = "hello.txt"
    destination = "{remote}/"
  }}
  provisioner "file" {{
    content     = "from content\n"
    destination = "{remote}/content.txt"
  }}
  provisioner "file" {{
    source      = "tree"
    destination = "{remote}/copy"
  }}
  provisioner "file" {{
    source      = "tree/"
    destination = "{remote}/contents"
  }}
  provisioner "file" {{
    direction   = "download"
    source      = "{remote}/hello.txt"
    destination = "{back}/"
  }}
  provisioner "file" {{
    direction   = "download"
    source      = "{remote}/copy/tree/"
    destination = "{back}/tree"
  }}
"#,
        remote = remote.display(),
        back = back.display()
    );
    let test = test
        .write("hello.txt", "hello\n")
        .write("tree/a.txt", "a\n")
        .write("tree/sub/b.txt", "b\n")
        .write("t.pkr.hcl", template(&sshd, &provisioners));
    let out = build(&test, 0);
    let read = |p: PathBuf| {
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", p.display(), out.stdout))
    };
    assert_eq!(read(remote.join("hello.txt")), "hello\n");
    assert_eq!(read(remote.join("content.txt")), "from content\n");
    // Without a trailing slash the folder itself is copied, with one only its contents.
    assert_eq!(read(remote.join("copy/tree/a.txt")), "a\n");
    assert_eq!(read(remote.join("copy/tree/sub/b.txt")), "b\n");
    assert_eq!(read(remote.join("contents/a.txt")), "a\n");
    assert_eq!(read(remote.join("contents/sub/b.txt")), "b\n");
    assert_eq!(read(back.join("hello.txt")), "hello\n");
    assert_eq!(read(back.join("tree/sub/b.txt")), "b\n");
    for line in [
        format!("==> null.a: Uploading hello.txt => {}/\n", remote.display()),
        format!("==> null.a: Uploading tree => {}/copy\n", remote.display()),
        format!(
            "==> null.a: Downloading {}/hello.txt => {}/hello.txt\n",
            remote.display(),
            back.display()
        ),
    ] {
        assert!(out.stdout.contains(&line), "{line:?} in:\n{}", out.stdout);
    }
}

#[test]
fn ssh_timeout_ends_the_wait_for_a_port_nobody_listens_on() {
    let port = free_port();
    let template = format!(
        r#"source "null" "a" {{
  ssh_host     = "127.0.0.1"
  ssh_port     = {port}
  ssh_username = "root"
  ssh_password = "unused"
  ssh_timeout  = "2s"
}}
build {{
  sources = ["source.null.a"]
  provisioner "shell" {{
    inline = ["true"]
  }}
}}
"#
    );
    let test = Test::new().write("t.pkr.hcl", template);
    let started = Instant::now();
    let out = build(&test, 1);
    assert!(started.elapsed() < Duration::from_secs(15));
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains(&format!(
            "Timeout waiting for SSH: 127.0.0.1:{port} did not accept an SSH connection within 2 seconds"
        )),
        "{text}"
    );
    assert!(text.contains("Waiting for SSH to become available..."));
    assert!(!text.contains("Connected to SSH!"));
}

#[test]
fn a_key_the_server_does_not_know_is_a_clear_authentication_error() {
    let sshd = Sshd::start();
    let test = Test::new();
    let stranger = test.dir().join("stranger");
    keygen(&stranger);
    let stranger_text = std::fs::read_to_string(&stranger).expect("the stranger key");
    let template = template(
        &sshd,
        "  provisioner \"shell\" {\n    inline = [\"true\"]\n  }\n",
    )
    .replace(
        &sshd.key().display().to_string(),
        &stranger.display().to_string(),
    )
    .replace("ssh_timeout", "ssh_handshake_attempts = 1\n  ssh_timeout");
    let test = test.write("t.pkr.hcl", template);
    let out = build(&test, 1);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains(&format!(
            "authentication error when trying to connect via SSH as {} to 127.0.0.1:{}: the server rejected the private key {}",
            user(),
            sshd.port,
            stranger.display()
        )),
        "{text}"
    );
    for line in stranger_text.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!text.contains(line), "key material in output:\n{text}");
    }

    // A file that is no key at all says so at once.
    let test = Test::new().write("not-a-key", "hello\n");
    let template = sshd
        .source()
        .replace(&sshd.key().display().to_string(), "not-a-key")
        + "build {\n  sources = [\"source.null.a\"]\n}\n";
    let test = test.write("t.pkr.hcl", template);
    let out = build(&test, 1);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains("cannot use the SSH private key not-a-key"),
        "{text}"
    );
}

#[test]
fn a_wrong_password_is_an_authentication_error_that_never_shows_the_password() {
    let sshd = Sshd::start();
    let password = "correct-horse-battery-staple-7";
    let template = format!(
        r#"source "null" "a" {{
  ssh_host               = "127.0.0.1"
  ssh_port               = {port}
  ssh_username           = "{user}"
  ssh_password           = "{password}"
  ssh_timeout            = "10s"
  ssh_handshake_attempts = 1
}}
build {{
  sources = ["source.null.a"]
}}
"#,
        port = sshd.port,
        user = user()
    );
    let test = Test::new().write("t.pkr.hcl", template);
    let out = test.run_unchecked_with(&["build", "-events=ev.json", "t.pkr.hcl"]);
    assert_eq!(out.status, 1, "{}", out.stdout);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(text.contains("the server rejected the password"), "{text}");
    let events = std::fs::read_to_string(test.dir().join("ev.json")).expect("events");
    assert!(!text.contains(password), "{text}");
    assert!(!events.contains(password), "{events}");
}

#[test]
fn the_key_and_generated_data_never_appear_in_output() {
    let sshd = Sshd::start();
    let key = sshd.key_text();
    let provisioners = format!(
        r#"  provisioner "shell" {{
    inline = [
      "echo 'conn ${{build.ConnType}} ${{build.User}}@${{build.Host}}:${{build.Port}} id ${{build.ID}}'",
      "cat {key}",
      "echo 'generated ${{build.SSHPrivateKey}}'",
    ]
  }}
"#,
        key = sshd.key().display()
    );
    let test = Test::new().write("t.pkr.hcl", template(&sshd, &provisioners));
    let out = test.run_unchecked_with(&["build", "-events=ev.json", "t.pkr.hcl"]);
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "    null.a: conn ssh {}@127.0.0.1:{} id Null\n",
            user(),
            sshd.port
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("<sensitive>"), "{}", out.stdout);
    let events = std::fs::read_to_string(test.dir().join("ev.json")).expect("events");
    for line in key.lines().filter(|l| !l.starts_with("-----")) {
        assert!(
            !out.stdout.contains(line),
            "key material in output:\n{}",
            out.stdout
        );
        assert!(!events.contains(line), "key material in events");
    }
}

#[test]
fn agent_auth_signs_with_the_agents_key() {
    let sshd = Sshd::start();
    let test = Test::new();
    let socket = test.dir().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ssh-agent starts");
    let started = Instant::now();
    while !socket.exists() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let added = Command::new("ssh-add")
        .arg(sshd.key())
        .env("SSH_AUTH_SOCK", &socket)
        .stderr(Stdio::null())
        .status()
        .expect("ssh-add runs");
    assert!(added.success());
    let template = template(
        &sshd,
        "  provisioner \"shell\" {\n    inline = [\"echo via agent\"]\n  }\n",
    )
    .replace(
        &format!("ssh_private_key_file = \"{}\"", sshd.key().display()),
        "ssh_agent_auth       = true",
    );
    let test = test
        .write("t.pkr.hcl", template)
        .env("SSH_AUTH_SOCK", socket.display().to_string());
    let out = build(&test, 0);
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(
        out.stdout.contains("    null.a: via agent\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn shell_and_file_need_a_communicator() {
    let template = r#"source "null" "a" {
  communicator = "none"
}
build {
  sources = ["source.null.a"]
  provisioner "shell" {
    inline = ["true"]
  }
}
"#;
    let test = Test::new().write("t.pkr.hcl", template);
    let out = build(&test, 1);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains(
            "kiln cannot run the shell provisioner yet: it needs a communicator, and the build's communicator is `none`"
        ),
        "{text}"
    );
    assert!(text.contains("shell-local"), "{text}");
}

/// Whether a process still runs (a zombie waiting for whoever adopted it does not).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
            != Some("Z")
    })
}

#[test]
fn an_interrupt_stops_the_remote_command_and_the_cleanup_still_connects() {
    let sshd = Sshd::start();
    let test = Test::new();
    let dir = test.dir().to_path_buf();
    let provisioners = format!(
        r#"  provisioner "shell" {{
    inline        = ["echo $$ > {dir}/pid.tmp && mv {dir}/pid.tmp {dir}/pid", "exec sleep 60"]
    remote_folder = "{dir}"
  }}
  error-cleanup-provisioner "shell" {{
    inline = ["touch {dir}/cleaned"]
  }}
"#,
        dir = dir.display()
    );
    let test = test.write("t.pkr.hcl", template(&sshd, &provisioners));
    let mut child = Command::new(crate::test::kiln_bin())
        .args(["build", "t.pkr.hcl"])
        .current_dir(test.dir())
        .env("NO_COLOR", "1")
        .env("KILN_HOME", test.dir().join(".kiln"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kiln starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid: i32 = loop {
        if let Ok(text) = std::fs::read_to_string(dir.join("pid")) {
            break text.trim().parse().expect("a pid");
        }
        assert!(Instant::now() < deadline, "the remote script never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(alive(pid));
    // SAFETY: kill(2) sends a signal to the child we started; it touches no memory.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().expect("kiln can be waited on") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kiln did not exit after the interrupt");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    use std::io::Read;
    let _ = child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout);
    assert_ne!(status.code(), Some(0), "{stdout}");
    assert!(!alive(pid), "the remote command was stopped:\n{stdout}");
    assert!(
        dir.join("cleaned").exists(),
        "the cleanup ran remotely:\n{stdout}"
    );
    assert!(stdout.contains("Cleanly cancelled builds after being interrupted."));
}

/// A command that drops its own SSH connection, as a reboot does: it kills the sshd process
/// serving the connection, its nearest ancestor named sshd (the listener is further up).
const DROP_CONNECTION: &str = "p=$PPID; while [ \\\"$(cat /proc/$p/comm)\\\" != sshd ]; do p=$(cut -d')' -f2 /proc/$p/stat | cut -d' ' -f3); done; kill -9 $p";

#[test]
fn expect_disconnect_lets_a_script_drop_the_connection_and_the_next_step_reconnects() {
    let sshd = Sshd::start();
    let provisioners = format!(
        r#"  provisioner "shell" {{
    inline            = ["echo before", "{DROP_CONNECTION}", "sleep 5"]
    expect_disconnect = true
  }}
  provisioner "shell" {{
    inline = ["echo after the drop"]
  }}
"#
    );
    let test = Test::new().write("t.pkr.hcl", template(&sshd, &provisioners));
    let started = Instant::now();
    let out = build(&test, 0);
    // The build went on when the connection dropped, not when the script ended.
    assert!(started.elapsed() < Duration::from_secs(5), "{}", out.stdout);
    assert!(
        out.stdout.contains("    null.a: before\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("    null.a: after the drop\n"),
        "{}",
        out.stdout
    );

    let test = Test::new();
    let unexpected = format!(
        "  provisioner \"shell\" {{\n    inline = [\"{DROP_CONNECTION}\", \"sleep 5\"]\n    remote_folder = \"{}\"\n  }}\n",
        test.dir().display()
    );
    let test = test.write("t.pkr.hcl", template(&sshd, &unexpected));
    let out = build(&test, 1);
    assert!(
        out.stdout.contains("Script disconnected unexpectedly."),
        "{}",
        out.stdout
    );
}

#[test]
fn ssh_settings_kiln_cannot_honour_yet_are_refused() {
    let sshd = Sshd::start();
    let template = template(&sshd, "").replace(
        "ssh_timeout",
        "ssh_bastion_host = \"127.0.0.1\"\n  ssh_bastion_password = \"x\"\n  ssh_timeout",
    );
    let test = Test::new().write("t.pkr.hcl", template);
    let out = build(&test, 1);
    assert!(
        out.stdout
            .contains("kiln cannot use `ssh_bastion_host` with the SSH communicator yet"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("Waiting for SSH"), "{}", out.stdout);
}
