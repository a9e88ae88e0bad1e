//! The local rig for amazon-ebs: moto's EC2 server and an OpenSSH server on 127.0.0.1, both
//! started per test, and an EC2 client to look at what a build left in moto. Machines moto
//! launches have fake addresses, so every SSH connection of a build goes to the test's sshd
//! (`KILN_SSH_ENDPOINT`); that sshd accepts whatever key the temporary key pair has, logs in the
//! local user `ubuntu`, and puts fake `sudo`, `apt-get` and `systemctl` first on the PATH that
//! only record their arguments.

use crate::test::{repo_root, Test};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";
const HINT: &str = "run scripts/test.sh, which installs moto in target/moto-venv and OpenSSH";

/// An Ubuntu focal image owned by Canonical, so the seed's `source_ami_filter` finds one.
const AMIS: &str = r#"[
  {
    "ami_id": "ami-0fd0e2c8e4a1f2b3c",
    "name": "ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20240101",
    "description": "Canonical, Ubuntu, 20.04 LTS, amd64 focal image",
    "owner_id": "099720109477",
    "public": true,
    "virtualization_type": "hvm",
    "architecture": "x86_64",
    "state": "available",
    "platform": null,
    "image_type": "machine",
    "hypervisor": "xen",
    "root_device_name": "/dev/sda1",
    "root_device_type": "ebs",
    "sriov": "simple",
    "creation_date": "2024-01-01T00:00:00.000Z"
  },
  {
    "ami_id": "ami-0aa1b2c3d4e5f6a7b",
    "name": "ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20230101",
    "description": "Canonical, Ubuntu, 20.04 LTS, amd64 focal image (older)",
    "owner_id": "099720109477",
    "public": true,
    "virtualization_type": "hvm",
    "architecture": "x86_64",
    "state": "available",
    "platform": null,
    "image_type": "machine",
    "hypervisor": "xen",
    "root_device_name": "/dev/sda1",
    "root_device_type": "ebs",
    "sriov": "simple",
    "creation_date": "2023-01-01T00:00:00.000Z"
  }
]"#;

/// The newest focal image above: the one `most_recent = true` picks.
pub const FOCAL: &str = "ami-0fd0e2c8e4a1f2b3c";

/// moto's EC2 server for one test, stopped when dropped.
pub struct Moto {
    _dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
    /// Over TLS: the certificate authority that signed the server's certificate (PEM).
    ca: Option<PathBuf>,
}

/// Make a certificate authority and a server certificate for 127.0.0.1 it signs, with the
/// Python moto runs on (its `cryptography`): `ca.pem`, `cert.pem` and `key.pem` in `dir`, and
/// `other-ca.pem`, a CA that signed nothing here.
const MAKE_CERTS: &str = r#"
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
out = sys.argv[1]
now = datetime.datetime.now(datetime.timezone.utc)
def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
def base(subject, issuer, key):
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1)))
ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (base(name("kiln test CA"), name("kiln test CA"), ca_key)
      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
      .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
          key_encipherment=False, data_encipherment=False, key_agreement=False,
          key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
      .sign(ca_key, hashes.SHA256()))
key = ec.generate_private_key(ec.SECP256R1())
cert = (base(name("127.0.0.1"), ca.subject, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256()))
pem = serialization.Encoding.PEM
other_key = ec.generate_private_key(ec.SECP256R1())
other = (base(name("another CA"), name("another CA"), other_key)
      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
      .sign(other_key, hashes.SHA256()))
open(out + "/other-ca.pem", "wb").write(other.public_bytes(pem))
open(out + "/ca.pem", "wb").write(ca.public_bytes(pem))
open(out + "/cert.pem", "wb").write(cert.public_bytes(pem))
open(out + "/key.pem", "wb").write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption()))
"#;

/// moto's server: `KILN_MOTO_SERVER`, the venv scripts/test.sh makes, or one on the PATH.
fn moto_server() -> PathBuf {
    if let Ok(path) = std::env::var("KILN_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = repo_root().join("target/moto-venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    let found = Command::new("sh")
        .args(["-c", "command -v moto_server"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match found {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!("the amazon tests need moto's server (moto_server): {HINT}"),
    }
}

impl Moto {
    pub fn start() -> Moto {
        Moto::launch(false)
    }

    /// moto serving HTTPS only, with a certificate signed by a CA of the test's own.
    pub fn start_tls() -> Moto {
        Moto::launch(true)
    }

    fn launch(tls: bool) -> Moto {
        let dir = tempfile::tempdir().expect("a scratch directory for moto");
        let amis = dir.path().join("amis.json");
        std::fs::write(&amis, AMIS).expect("the AMI list");
        let port = free_port();
        let server = moto_server();
        let mut args = vec![
            "-H".to_string(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ];
        let ca = tls.then(|| {
            // The interpreter moto is installed for has `cryptography`.
            let python = server.with_file_name("python3");
            let python = if python.exists() {
                python
            } else {
                PathBuf::from("python3")
            };
            let status = Command::new(python)
                .args(["-c", MAKE_CERTS])
                .arg(dir.path())
                .status()
                .expect("python3 runs");
            assert!(status.success(), "the test certificates could not be made");
            for (flag, file) in [("-c", "cert.pem"), ("-k", "key.pem")] {
                args.push(flag.into());
                args.push(dir.path().join(file).display().to_string());
            }
            dir.path().join("ca.pem")
        });
        let log = std::fs::File::create(dir.path().join("moto.log")).expect("moto's log");
        let child = Command::new(server)
            .args(&args)
            .env("MOTO_AMIS_PATH", &amis)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("moto's log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("moto_server does not start ({e}): {HINT}"));
        let mut moto = Moto {
            _dir: dir,
            port,
            child,
            ca,
        };
        moto.wait_ready();
        moto
    }

    fn wait_ready(&mut self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto_server exited with {status}: {}", self.log());
            }
            let answers = match self.ca {
                Some(_) => TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
                None => http_get(self.port, "/moto-api/").is_some(),
            };
            if answers {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not answer in time: {}", self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("moto.log")).unwrap_or_default()
    }

    pub fn endpoint(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The CA file that makes a client trust this moto over TLS.
    pub fn ca_file(&self) -> &Path {
        self.ca.as_deref().expect("moto started with start_tls")
    }

    /// A CA file that does not make a client trust this moto.
    pub fn other_ca_file(&self) -> PathBuf {
        self.ca_file().with_file_name("other-ca.pem")
    }

    /// An EC2 client on moto in `region`, and a runtime to drive it.
    pub fn ec2(&self, region: &str) -> Ec2 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let http = match &self.ca {
            None => aws_smithy_http_client::Builder::new().build_http(),
            Some(ca) => {
                use aws_smithy_http_client::tls;
                let pem = std::fs::read(ca).expect("the CA file");
                let context = tls::TlsContext::builder()
                    .with_trust_store(tls::TrustStore::empty().with_pem_certificate(pem))
                    .build()
                    .expect("a TLS context");
                aws_smithy_http_client::Builder::new()
                    .tls_provider(tls::Provider::rustls(
                        tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .tls_context(context)
                    .build_https()
            }
        };
        let config = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(http)
                .region(aws_config::Region::new(region.to_string()))
                .endpoint_url(self.endpoint())
                .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                    "testing", "testing", None, None, "test",
                ))
                .load(),
        );
        Ec2 {
            runtime,
            client: aws_sdk_ec2::Client::new(&config),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking view of moto's EC2 state in one region.
pub struct Ec2 {
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_ec2::Client,
}

impl Ec2 {
    /// AMIs kiln's account owns: (name, id, state).
    pub fn own_images(&self) -> Vec<(String, String, String)> {
        let out = self
            .runtime
            .block_on(self.client.describe_images().owners("self").send())
            .expect("DescribeImages");
        let mut images: Vec<_> = out
            .images()
            .iter()
            .map(|i| {
                (
                    i.name().unwrap_or_default().to_string(),
                    i.image_id().unwrap_or_default().to_string(),
                    i.state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        images.sort();
        images
    }

    /// Instances not terminated: (id, state).
    pub fn live_instances(&self) -> Vec<(String, String)> {
        let out = self
            .runtime
            .block_on(self.client.describe_instances().send())
            .expect("DescribeInstances");
        out.reservations()
            .iter()
            .flat_map(|r| r.instances())
            .map(|i| {
                (
                    i.instance_id().unwrap_or_default().to_string(),
                    i.state()
                        .and_then(|s| s.name())
                        .map(|n| n.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .filter(|(_, state)| state != "terminated")
            .collect()
    }

    /// Every instance ever launched.
    pub fn instance_count(&self) -> usize {
        let out = self
            .runtime
            .block_on(self.client.describe_instances().send())
            .expect("DescribeInstances");
        out.reservations().iter().map(|r| r.instances().len()).sum()
    }

    /// Key pair names.
    pub fn key_pairs(&self) -> Vec<String> {
        let out = self
            .runtime
            .block_on(self.client.describe_key_pairs().send())
            .expect("DescribeKeyPairs");
        out.key_pairs()
            .iter()
            .map(|k| k.key_name().unwrap_or_default().to_string())
            .collect()
    }

    /// Security group names other than the VPCs' `default`.
    pub fn security_groups(&self) -> Vec<String> {
        let out = self
            .runtime
            .block_on(self.client.describe_security_groups().send())
            .expect("DescribeSecurityGroups");
        out.security_groups()
            .iter()
            .map(|g| g.group_name().unwrap_or_default().to_string())
            .filter(|n| n != "default")
            .collect()
    }

    /// Assert moto holds nothing temporary of a build: no live instance, key pair or security
    /// group.
    pub fn assert_clean(&self) {
        assert_eq!(
            self.live_instances(),
            Vec::<(String, String)>::new(),
            "live instances"
        );
        assert_eq!(self.key_pairs(), Vec::<String>::new(), "key pairs");
        assert_eq!(
            self.security_groups(),
            Vec::<String>::new(),
            "security groups"
        );
    }
}

/// One GET on 127.0.0.1, its body when the server answered 200.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.")
        .then_some(())
        .filter(|_| head.lines().next().is_some_and(|l| l.contains(" 200")))?;
    Some(body.to_string())
}

/// An OpenSSH server standing in for every machine moto launches, stopped when dropped.
pub struct Sshd {
    dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

/// The user the seed template connects as.
pub const USER: &str = "ubuntu";

/// Make the local `ubuntu` account if it is missing, unlocked for key logins.
fn ensure_user() {
    static ONCE: Mutex<bool> = Mutex::new(false);
    let mut done = ONCE.lock().unwrap_or_else(|p| p.into_inner());
    if *done {
        return;
    }
    let exists = Command::new("id")
        .arg(USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        let status = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", USER])
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "the amazon tests need a local user {USER} (useradd needs root): {HINT}"
        );
    }
    // A locked account ('!') cannot log in even with a key; '*' has no password but is open.
    let status = Command::new("usermod").args(["-p", "*", USER]).status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "cannot unlock the local user {USER}: {HINT}"
    );
    *done = true;
}

impl Sshd {
    pub fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists() && which("ssh-keygen"),
            "the amazon tests need OpenSSH's {SSHD} and ssh-keygen: {HINT}"
        );
        ensure_user();
        let _ = std::fs::create_dir_all("/run/sshd");
        let dir = tempfile::tempdir().expect("a scratch directory for sshd");
        let d = dir.path();
        // The test user must reach the fake commands and write their record.
        set_mode(d, 0o755);
        let bin = d.join("bin");
        std::fs::create_dir(&bin).expect("the fake commands' folder");
        set_mode(&bin, 0o755);
        let record = d.join("commands.log");
        std::fs::write(&record, "").expect("the command record");
        set_mode(&record, 0o666);
        for name in ["sudo", "apt-get", "systemctl"] {
            let body = if name == "sudo" {
                format!(
                    "#!/bin/sh\necho \"sudo $*\" >> {r}\nexec \"$@\"\n",
                    r = record.display()
                )
            } else {
                format!(
                    "#!/bin/sh\necho \"{name} $*\" >> {r}\necho \"fake {name} $*\"\n",
                    r = record.display()
                )
            };
            let path = bin.join(name);
            std::fs::write(&path, body).expect("a fake command");
            set_mode(&path, 0o755);
        }
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(d.join("host_key"))
            .stdin(Stdio::null())
            .status()
            .expect("ssh-keygen runs");
        assert!(status.success(), "ssh-keygen made the host key");
        let port = free_port();
        // Any key the client offers is accepted: the temporary key pair moto made.
        let config = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {host}\n\
             AuthorizedKeysFile none\nAuthorizedKeysCommand /bin/echo %t %k\n\
             AuthorizedKeysCommandUser nobody\nStrictModes no\nUsePAM no\nPidFile {pid}\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nLogLevel ERROR\n\
             PermitUserEnvironment yes\nSetEnv PATH={bin}:/usr/local/bin:/usr/bin:/bin\n",
            host = d.join("host_key").display(),
            pid = d.join("sshd.pid").display(),
            bin = bin.display(),
        );
        std::fs::write(d.join("sshd_config"), config).expect("sshd_config");
        let log = std::fs::File::create(d.join("sshd.log")).expect("sshd log");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
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

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// The commands the fake `sudo`, `apt-get` and `systemctl` recorded, in order.
    pub fn commands(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("commands.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// A folder the test user can write to (for markers a provisioner leaves).
    pub fn shared_dir(&self) -> PathBuf {
        let dir = self.dir.path().join("shared");
        if !dir.exists() {
            std::fs::create_dir(&dir).expect("the shared folder");
            set_mode(&dir, 0o777);
        }
        dir
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto and sshd for one test, and the environment kiln builds with against them.
pub struct Rig {
    pub moto: Moto,
    pub sshd: Sshd,
}

impl Rig {
    pub fn start() -> Rig {
        Rig {
            moto: Moto::start(),
            sshd: Sshd::start(),
        }
    }

    /// The rig with moto over HTTPS.
    pub fn start_tls() -> Rig {
        Rig {
            moto: Moto::start_tls(),
            sshd: Sshd::start(),
        }
    }

    /// `test` with every call local: credentials and endpoints from the environment.
    pub fn env(&self, test: Test) -> Test {
        test.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", self.moto.endpoint())
            .env("KILN_SSH_ENDPOINT", format!("127.0.0.1:{}", self.sshd.port))
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}
