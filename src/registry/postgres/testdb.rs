//! Test support: a throwaway PostgreSQL cluster on 127.0.0.1, started by the test that needs it
//! and stopped and removed when dropped. Each test asks it for a database of its own.
//!
//! Needs PostgreSQL's server programs (`apt-get install -y postgresql`): `initdb` and `pg_ctl`
//! from `KILN_TEST_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`, else `PATH`. When the
//! tests run as root, the cluster is made and run as the `postgres` user (initdb refuses root).

use std::path::PathBuf;
use std::process::Command;

/// A running cluster.
pub(crate) struct TestCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl TestCluster {
    /// Make a cluster in a new temporary directory and start it on a free port.
    pub(crate) fn start() -> TestCluster {
        let bin = server_bin();
        let dir = std::env::temp_dir().join(format!(
            "kiln-pg-{}-{}",
            std::process::id(),
            ulid::Ulid::generate().to_string().to_lowercase()
        ));
        std::fs::create_dir_all(&dir).expect("a scratch directory for the cluster");
        // SAFETY: geteuid has no preconditions and cannot fail.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        let mut cluster = TestCluster {
            dir,
            bin,
            port: 0,
            as_postgres,
        };
        if as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(&cluster.dir));
        }
        let data = cluster.dir.join("data");
        run(cluster.command("initdb").arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ]));
        // A port found free may be taken before the server binds it: try a few.
        for _ in 0..5 {
            cluster.port = free_port();
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                cluster.port,
                cluster.dir.display()
            );
            let started = cluster
                .command("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(cluster.dir.join("log"))
                .args(["-o", &options, "-w", "start"])
                .output()
                .expect("pg_ctl runs");
            if started.status.success() {
                return cluster;
            }
        }
        let log = std::fs::read_to_string(cluster.dir.join("log")).unwrap_or_default();
        panic!("the test PostgreSQL did not start:\n{log}");
    }

    /// A URL for a new, empty database of this cluster.
    pub(crate) fn database(&self) -> String {
        let name = format!("kiln_{}", ulid::Ulid::generate().to_string().to_lowercase());
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("the test cluster accepts connections");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("a test database");
        self.url(&name)
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// One of PostgreSQL's programs, run as the cluster's owner.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where `initdb` and `pg_ctl` are.
fn server_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("KILN_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => which("initdb").unwrap_or_else(|| {
            panic!("PostgreSQL's server programs are not installed: `apt-get install -y postgresql`, or set KILN_TEST_PG_BIN")
        }),
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).find(|d| d.join(program).exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn run(command: &mut Command) {
    let out = command.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
