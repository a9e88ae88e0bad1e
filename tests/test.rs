//! A fluent builder that runs the real `kiln` binary in a scratch directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Path of the built `kiln` binary.
pub fn kiln_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kiln"))
}

/// The repository root (where `Cargo.toml` is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the repository.
pub fn shared_dir() -> PathBuf {
    repo_root().join("../shared")
}

/// insta settings that keep every snapshot in the top-level `snapshots/` folder.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Run `body` with the snapshot settings bound.
pub fn with_snapshots<R>(body: impl FnOnce() -> R) -> R {
    snapshot_settings().bind(body)
}

/// What a finished run printed.
#[derive(Debug)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub dir: PathBuf,
}

/// One run of `kiln`, described fluently and checked by [`Test::run`].
pub struct Test {
    tempdir: tempfile::TempDir,
    args: Vec<String>,
    stdin: Option<String>,
    env: Vec<(String, String)>,
    status: i32,
    stdout: Option<String>,
    stderr: Option<String>,
    stderr_contains: Vec<String>,
    stdout_contains: Vec<String>,
}

impl Default for Test {
    fn default() -> Self {
        Test::new()
    }
}

impl Test {
    /// A run in a fresh scratch directory expecting exit status 0.
    pub fn new() -> Test {
        Test {
            tempdir: tempfile::tempdir().expect("a scratch directory can be created"),
            args: Vec::new(),
            stdin: None,
            env: Vec::new(),
            status: 0,
            stdout: None,
            stderr: None,
            stderr_contains: Vec::new(),
            stdout_contains: Vec::new(),
        }
    }

    /// The scratch directory the command runs in.
    pub fn dir(&self) -> &Path {
        self.tempdir.path()
    }

    /// Write a file (relative to the scratch directory) before running.
    pub fn write(self, path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Test {
        let path = self.tempdir.path().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("scratch subdirectory");
        }
        std::fs::write(&path, contents).expect("scratch file");
        self
    }

    /// Add one argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Test {
        self.args.push(arg.into());
        self
    }

    /// Add several arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Test {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Feed standard input.
    pub fn stdin(mut self, stdin: impl Into<String>) -> Test {
        self.stdin = Some(stdin.into());
        self
    }

    /// Set an environment variable for the run.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Test {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Expect this exit status (default 0).
    pub fn status(mut self, status: i32) -> Test {
        self.status = status;
        self
    }

    /// Expect exactly this standard output.
    pub fn stdout(mut self, stdout: impl Into<String>) -> Test {
        self.stdout = Some(stdout.into());
        self
    }

    /// Expect exactly this standard error.
    pub fn stderr(mut self, stderr: impl Into<String>) -> Test {
        self.stderr = Some(stderr.into());
        self
    }

    /// Expect standard error to contain this text.
    pub fn stderr_contains(mut self, text: impl Into<String>) -> Test {
        self.stderr_contains.push(text.into());
        self
    }

    /// Expect standard output to contain this text.
    pub fn stdout_contains(mut self, text: impl Into<String>) -> Test {
        self.stdout_contains.push(text.into());
        self
    }

    /// Run the binary and check every expectation, returning what it printed.
    pub fn run(self) -> Output {
        let output = self.run_unchecked();
        assert_eq!(
            output.status, self.status,
            "exit status of kiln {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.args, output.stdout, output.stderr
        );
        if let Some(expected) = &self.stdout {
            assert_eq!(&output.stdout, expected, "stdout of kiln {:?}", self.args);
        }
        if let Some(expected) = &self.stderr {
            assert_eq!(&output.stderr, expected, "stderr of kiln {:?}", self.args);
        }
        for text in &self.stderr_contains {
            assert!(
                output.stderr.contains(text.as_str()),
                "stderr of kiln {:?} lacks {text:?}:\n{}",
                self.args,
                output.stderr
            );
        }
        for text in &self.stdout_contains {
            assert!(
                output.stdout.contains(text.as_str()),
                "stdout of kiln {:?} lacks {text:?}:\n{}",
                self.args,
                output.stdout
            );
        }
        // The scratch directory is removed when `self` drops here; `output.dir` is only its name.
        output
    }

    /// Run without checking the exit status or output.
    pub fn run_unchecked(&self) -> Output {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.run_unchecked_with(&args)
    }

    /// Run with `args` instead of the test's own, in the same scratch directory, without
    /// checking anything; the directory stays for inspection while the test lives.
    pub fn run_unchecked_with(&self, args: &[&str]) -> Output {
        let mut command = Command::new(kiln_bin());
        command
            .args(args)
            .current_dir(self.tempdir.path())
            .env("NO_COLOR", "1")
            // Builds that publish do so into the test's own registry, never the user's.
            .env("KILN_HOME", self.tempdir.path().join(".kiln"))
            .env_remove("HCP_PACKER_BUILD_FINGERPRINT")
            .env_remove("HCP_PACKER_BUCKET_NAME")
            .env_remove("KILN_REGISTRY_BUCKET")
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("kiln starts");
        if let Some(input) = &self.stdin {
            use std::io::Write;
            let mut pipe = child.stdin.take().expect("stdin is piped");
            // kiln may exit before reading everything (a usage error): that is for the
            // status check to report, not a reason to panic here.
            let _ = pipe.write_all(input.as_bytes());
        }
        let out = child.wait_with_output().expect("kiln finishes");
        Output {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            dir: self.tempdir.path().to_path_buf(),
        }
    }
}
