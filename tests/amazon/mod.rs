//! amazon-ebs end to end against moto's EC2 server and a real OpenSSH server on 127.0.0.1:
//! the seed template unchanged, copies to other regions, and the cleanup guarantee after a
//! failing provisioner and after an interrupt.

mod proxy;
mod rig;

use crate::test::{kiln_bin, shared_dir, Output, Test};
use rig::{Rig, FOCAL};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn seed() -> String {
    std::fs::read_to_string(shared_dir().join("seed-template.pkr.hcl"))
        .expect("../shared/seed-template.pkr.hcl")
}

/// The seed with `old` replaced by `new` (which must be there).
fn seed_with(old: &str, new: &str) -> String {
    let seed = seed();
    assert!(seed.contains(old), "the seed template holds {old:?}");
    seed.replace(old, new)
}

fn build(test: &Test, status: i32) -> Output {
    let out = test.run_unchecked_with(&["build", "-color=false", "t.pkr.hcl"]);
    assert_eq!(
        out.status, status,
        "exit status of kiln build\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout, out.stderr
    );
    out
}

/// `kiln registry image` for the seed's release in `region`.
fn registry_image(test: &Test, region: &str) -> String {
    let out = test.run_unchecked_with(&[
        "registry",
        "image",
        "-bucket",
        "my-hcp-packer-bucket",
        "-product",
        "my-product",
        "-release",
        "my-release",
        "-provider",
        "aws",
        "-region",
        region,
    ]);
    assert_eq!(out.status, 0, "kiln registry image: {}", out.stderr);
    out.stdout.trim().to_string()
}

/// The status of each build in the seed's release.
fn registry_builds(test: &Test) -> Vec<(String, String)> {
    let out = test.run_unchecked_with(&[
        "registry",
        "release",
        "show",
        "-bucket",
        "my-hcp-packer-bucket",
        "-product",
        "my-product",
        "-release",
        "my-release",
        "-format=json",
    ]);
    assert_eq!(out.status, 0, "kiln registry release show: {}", out.stderr);
    let release: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    release["builds"]
        .as_array()
        .expect("builds")
        .iter()
        .map(|b| {
            (
                b["component"].as_str().unwrap_or_default().to_string(),
                b["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn is_seed_ami_name(name: &str) -> bool {
    name.strip_prefix("my-custom-ami-")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()))
}

#[test]
fn amazon_the_seed_template_builds_provisions_over_ssh_and_publishes() {
    let rig = Rig::start();
    let test = rig.env(Test::new()).write("t.pkr.hcl", seed());
    let out = build(&test, 0);
    assert_eq!(
        rig.sshd.commands(),
        [
            "sudo apt-get update",
            "apt-get update",
            "sudo apt-get install -y nginx",
            "apt-get install -y nginx",
            "sudo systemctl enable nginx",
            "systemctl enable nginx",
        ]
    );
    for line in [
        &format!("    amazon-ebs.my-ami: Found Image ID: {FOCAL}\n"),
        "==> amazon-ebs.my-ami: Connected to SSH!\n",
        "    amazon-ebs.my-ami: fake apt-get install -y nginx\n",
        "==> amazon-ebs.my-ami: Terminating the source AWS instance...\n",
        "==> amazon-ebs.my-ami: Deleting temporary keypair...\n",
    ] {
        assert!(out.stdout.contains(line), "{line:?} in:\n{}", out.stdout);
    }
    let ec2 = rig.moto.ec2("us-east-1");
    let images = ec2.own_images();
    assert_eq!(images.len(), 1, "{images:?}");
    let (name, ami, state) = &images[0];
    assert!(is_seed_ami_name(name), "{name}");
    assert_eq!(state, "available");
    assert!(
        out.stdout.contains(&format!("us-east-1: {ami}")),
        "the artifact names the AMI:\n{}",
        out.stdout
    );
    ec2.assert_clean();
    assert_eq!(ec2.instance_count(), 1);
    assert_eq!(registry_image(&test, "us-east-1"), *ami);
    assert_eq!(
        registry_builds(&test),
        [("amazon-ebs.my-ami".to_string(), "DONE".to_string())]
    );
    // The temporary key never shows.
    assert!(!out.stdout.contains("PRIVATE KEY"), "{}", out.stdout);
}

#[test]
fn amazon_ami_regions_copies_the_ami_to_each_region_and_publishes_each() {
    let rig = Rig::start();
    let template = seed_with(
        "  region        = \"us-east-1\"\n",
        "  region        = \"us-east-1\"\n  ami_regions   = [\"us-west-2\", \"eu-west-1\"]\n",
    );
    let test = rig.env(Test::new()).write("t.pkr.hcl", template);
    let out = test.run_unchecked_with(&[
        "build",
        "-color=false",
        "-events",
        "events.ndjson",
        "t.pkr.hcl",
    ]);
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    // The copies overlap: each starts before the other finishes.
    let events = std::fs::read_to_string(test.dir().join("events.ndjson")).expect("events");
    let west = "amazon-ebs.my-ami/copy[us-west-2]";
    let eu = "amazon-ebs.my-ami/copy[eu-west-1]";
    assert!(
        at(&events, "step_start", west) < at(&events, "step_finish", eu)
            && at(&events, "step_start", eu) < at(&events, "step_finish", west),
        "the copies ran one after the other:\n{events}"
    );
    let source = rig.moto.ec2("us-east-1").own_images();
    assert_eq!(source.len(), 1, "{source:?}");
    for region in ["us-east-1", "us-west-2", "eu-west-1"] {
        let images = rig.moto.ec2(region).own_images();
        assert_eq!(images.len(), 1, "{region}: {images:?}");
        let (name, ami, state) = &images[0];
        assert!(is_seed_ami_name(name), "{name}");
        assert_eq!(state, "available", "{region}");
        assert!(
            out.stdout.contains(&format!("{region}: {ami}")),
            "the artifact names {ami} in {region}:\n{}",
            out.stdout
        );
        assert_eq!(registry_image(&test, region), *ami, "{region}");
    }
    rig.moto.ec2("us-east-1").assert_clean();
}

const TWO_SOURCES: &str = r#"
source "amazon-ebs" "web" {
  ami_name      = "web-{{timestamp}}"
  instance_type = "t3.micro"
  region        = "us-east-1"
  ami_regions   = ["us-west-2", "eu-west-1"]
  source_ami    = "ami-0fd0e2c8e4a1f2b3c"
  ssh_username  = "ubuntu"
}

source "amazon-ebs" "db" {
  ami_name      = "db-{{timestamp}}"
  instance_type = "t3.micro"
  region        = "us-east-1"
  ami_regions   = ["us-west-2", "eu-west-1"]
  source_ami    = "ami-0fd0e2c8e4a1f2b3c"
  ssh_username  = "ubuntu"
}

build {
  sources = ["source.amazon-ebs.web", "source.amazon-ebs.db"]

  provisioner "shell" {
    inline = ["sudo systemctl enable ${source.name}"]
  }
}
"#;

#[test]
fn amazon_two_sources_by_two_regions_run_as_parallel_branches() {
    let rig = Rig::start();
    let test = rig.env(Test::new()).write("t.pkr.hcl", TWO_SOURCES);
    let out = test.run_unchecked_with(&[
        "build",
        "-color=false",
        "-events",
        "events.ndjson",
        "t.pkr.hcl",
    ]);
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    let mut commands = rig.sshd.commands();
    commands.sort();
    assert_eq!(
        commands,
        [
            "sudo systemctl enable db",
            "sudo systemctl enable web",
            "systemctl enable db",
            "systemctl enable web",
        ]
    );
    for region in ["us-east-1", "us-west-2", "eu-west-1"] {
        let names: Vec<String> = rig
            .moto
            .ec2(region)
            .own_images()
            .into_iter()
            .map(|(name, _, _)| name.split('-').next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(names, ["db", "web"], "{region}");
    }
    // The two sources' sessions overlap: each launches before the other's copies finish.
    let events = std::fs::read_to_string(test.dir().join("events.ndjson")).expect("events");
    for (a, b) in [("web", "db"), ("db", "web")] {
        assert!(
            at(&events, "step_start", &format!("amazon-ebs.{a}/launch"))
                < at(
                    &events,
                    "step_finish",
                    &format!("amazon-ebs.{b}/copy[eu-west-1]")
                ),
            "amazon-ebs.{a} waited for amazon-ebs.{b}:\n{events}"
        );
    }
    rig.moto.ec2("us-east-1").assert_clean();
}

#[test]
fn amazon_a_failing_provisioner_leaves_nothing_running_and_fails_the_build() {
    let rig = Rig::start();
    let template = seed_with(
        "      \"sudo apt-get update\",\n",
        "      \"sudo apt-get update\",\n      \"exit 7\",\n",
    );
    let test = rig.env(Test::new()).write("t.pkr.hcl", template);
    let out = build(&test, 1);
    assert_eq!(
        rig.sshd.commands(),
        ["sudo apt-get update", "apt-get update"]
    );
    assert!(
        out.stdout
            .contains("--> amazon-ebs.my-ami: Script exited with non-zero exit status: 7"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let ec2 = rig.moto.ec2("us-east-1");
    assert_eq!(ec2.instance_count(), 1, "the build launched its instance");
    ec2.assert_clean();
    assert_eq!(ec2.own_images(), Vec::new(), "no AMI was made");
    assert_eq!(
        registry_builds(&test),
        [("amazon-ebs.my-ami".to_string(), "FAILED".to_string())]
    );
}

#[test]
fn amazon_an_interrupt_during_provisioning_still_cleans_up() {
    let rig = Rig::start();
    let (template, marker) = seed_that_holds(&rig);
    let test = rig.env(Test::new()).write("t.pkr.hcl", template);
    let mut child = start_build(&rig, &test, "t.pkr.hcl");
    wait_for(&marker, &mut child);
    // SAFETY: kill(2) on the child's own pid.
    let pid = i32::try_from(child.id()).expect("a pid");
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = child.wait_with_output().expect("kiln finishes");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("Terminating the source AWS instance..."),
        "{stdout}"
    );
    let ec2 = rig.moto.ec2("us-east-1");
    assert_eq!(ec2.instance_count(), 1, "the build launched its instance");
    ec2.assert_clean();
    assert_eq!(ec2.own_images(), Vec::new(), "no AMI was made");
    // The registry tells an interrupted build from a failed one, as HCP Packer does.
    assert_eq!(
        registry_builds(&test),
        [("amazon-ebs.my-ami".to_string(), "CANCELLED".to_string())]
    );
}

#[test]
fn amazon_an_ssh_server_that_never_answers_fails_the_build_and_cleans_up() {
    let rig = Rig::start();
    // Accepts connections and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a silent port");
    let port = silent.local_addr().expect("its address").port();
    let template = seed_with(
        "  ssh_username = \"ubuntu\"\n",
        "  ssh_username = \"ubuntu\"\n  ssh_timeout  = \"3s\"\n",
    );
    let test = rig
        .env(Test::new())
        .env("KILN_SSH_ENDPOINT", format!("127.0.0.1:{port}"))
        .write("t.pkr.hcl", template);
    let out = build(&test, 1);
    assert!(
        out.stdout
            .contains("Terminating the source AWS instance..."),
        "{}",
        out.stdout
    );
    assert_eq!(rig.sshd.commands(), Vec::<String>::new());
    let ec2 = rig.moto.ec2("us-east-1");
    assert_eq!(ec2.instance_count(), 1, "the build launched its instance");
    ec2.assert_clean();
    assert_eq!(ec2.own_images(), Vec::new(), "no AMI was made");
    assert_eq!(
        registry_builds(&test),
        [("amazon-ebs.my-ami".to_string(), "FAILED".to_string())]
    );
    drop(silent);
}

#[test]
fn amazon_a_failing_region_copy_deletes_the_builds_amis_and_fails_the_build() {
    let rig = Rig::start();
    let refuse = proxy::Throttle::with(
        rig.moto.port,
        proxy::Rule {
            action: "CopyImage",
            region: Some("us-west-2"),
            times: usize::MAX,
            status: 400,
            code: "InvalidParameterValue",
        },
    );
    let template = seed_with(
        "  region        = \"us-east-1\"\n",
        "  region        = \"us-east-1\"\n  ami_regions   = [\"us-west-2\", \"eu-west-1\"]\n",
    );
    let test = rig
        .env(Test::new())
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", refuse.port),
        )
        .write("t.pkr.hcl", template);
    let out = build(&test, 1);
    assert!(
        out.stdout.contains("InvalidParameterValue"),
        "{}",
        out.stdout
    );
    for region in ["us-east-1", "us-west-2", "eu-west-1"] {
        let images: Vec<_> = rig
            .moto
            .ec2(region)
            .own_images()
            .into_iter()
            .filter(|(_, _, state)| state == "available")
            .collect();
        assert_eq!(images, Vec::new(), "{region}: {}", out.stdout);
    }
    rig.moto.ec2("us-east-1").assert_clean();
    assert_eq!(
        registry_builds(&test),
        [("amazon-ebs.my-ami".to_string(), "FAILED".to_string())]
    );
}

#[test]
fn amazon_throttled_calls_are_retried_and_the_build_succeeds() {
    let rig = Rig::start();
    let throttle = proxy::Throttle::start(rig.moto.port, "RunInstances", 2);
    let test = rig
        .env(Test::new())
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", throttle.port),
        )
        .write("t.pkr.hcl", seed());
    build(&test, 0);
    assert_eq!(throttle.throttled(), 2);
    let calls = throttle.calls();
    assert_eq!(calls.get("RunInstances"), Some(&3), "{calls:?}");
    let ec2 = rig.moto.ec2("us-east-1");
    assert_eq!(ec2.instance_count(), 1, "one instance despite the retries");
    assert_eq!(ec2.own_images().len(), 1);
    ec2.assert_clean();
    eprintln!("EC2 calls of the seed build: {calls:?}");
}

#[test]
fn amazon_publishing_checks_that_each_ami_exists_before_registering_it() {
    let rig = Rig::start();
    // Between the build and the publish step, the AMI goes: moto's query API, called directly.
    let template = seed_with(
        "  post-processor \"hcp-packer-publish\" {\n",
        r#"  post-processor "shell-local" {
    inline = [
      "auth='Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0'",
      "for id in $(curl -s -H \"$auth\" -d 'Action=DescribeImages&Owner.1=self&Version=2016-11-15' $AWS_ENDPOINT_URL/ | grep -o '<imageId>ami-[0-9a-f]*' | cut -d'>' -f2); do curl -s -H \"$auth\" -d \"Action=DeregisterImage&ImageId=$id&Version=2016-11-15\" $AWS_ENDPOINT_URL/ >/dev/null; echo deregistered $id; done"
    ]
  }

  post-processor "hcp-packer-publish" {
"#,
    );
    let test = rig.env(Test::new()).write("t.pkr.hcl", template);
    let out = build(&test, 1);
    assert!(out.stdout.contains("deregistered ami-"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("not publishing: EC2 has no available AMI ami-"),
        "{}",
        out.stdout
    );
    assert_eq!(rig.moto.ec2("us-east-1").own_images(), Vec::new());
    assert_eq!(
        registry_builds(&test),
        [("amazon-ebs.my-ami".to_string(), "FAILED".to_string())]
    );
}

#[test]
fn amazon_encrypt_boot_replaces_the_ami_with_an_encrypted_copy() {
    let rig = Rig::start();
    let template = seed_with(
        "  region        = \"us-east-1\"\n",
        "  region        = \"us-east-1\"\n  encrypt_boot  = true\n",
    );
    let test = rig.env(Test::new()).write("t.pkr.hcl", template);
    let out = build(&test, 0);
    let plain = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("    amazon-ebs.my-ami: AMI: "))
        .unwrap_or_else(|| panic!("the plain AMI's ID in:\n{}", out.stdout))
        .to_string();
    let images = rig.moto.ec2("us-east-1").own_images();
    assert_eq!(
        images.len(),
        1,
        "only the encrypted AMI is left: {images:?}"
    );
    let (_, encrypted, state) = &images[0];
    assert_ne!(*encrypted, plain);
    assert_eq!(state, "available");
    assert!(
        out.stdout.contains(&format!("us-east-1: {encrypted}")),
        "the artifact is the encrypted AMI:\n{}",
        out.stdout
    );
    assert_eq!(registry_image(&test, "us-east-1"), *encrypted);
}

/// What a kiln run against the rig needs: local credentials, moto's endpoint, sshd for SSH.
fn rig_env(rig: &Rig, test: &Test) -> Vec<(&'static str, String)> {
    vec![
        ("NO_COLOR", "1".into()),
        ("KILN_HOME", test.dir().join(".kiln").display().to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_ENDPOINT_URL", rig.moto.endpoint().to_string()),
        ("KILN_SSH_ENDPOINT", format!("127.0.0.1:{}", rig.sshd.port)),
    ]
}

/// `kiln build -color=false FILE` started in the test's folder against the rig, not waited for.
fn start_build(rig: &Rig, test: &Test, file: &str) -> std::process::Child {
    Command::new(kiln_bin())
        .args(["build", "-color=false", file])
        .current_dir(test.dir())
        .envs(rig_env(rig, test))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kiln starts")
}

/// The seed, holding in its provisioner (after leaving a marker) until killed.
fn seed_that_holds(rig: &Rig) -> (String, std::path::PathBuf) {
    let marker = rig.sshd.shared_dir().join("provisioning");
    let template = seed_with(
        "      \"sudo apt-get update\",\n",
        &format!(
            "      \"sudo apt-get update\",\n      \"touch {}\",\n      \"sleep 30\",\n",
            marker.display()
        ),
    );
    (template, marker)
}

/// Start the holding seed and SIGKILL kiln once it provisions: nothing of kiln runs after.
fn kill_during_provisioning(rig: &Rig, test: &Test, file: &str) {
    let (template, marker) = seed_that_holds(rig);
    std::fs::write(test.dir().join(file), template).expect("the template");
    let mut child = start_build(rig, test, file);
    wait_for(&marker, &mut child);
    child.kill().expect("SIGKILL kiln");
    let out = child.wait_with_output().expect("kiln ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("Terminating the source AWS instance"),
        "a killed kiln cleans nothing up itself:\n{stdout}"
    );
}

/// `kiln cleanup ARGS` in the test's folder, credentials from the environment; the endpoint
/// from the environment only when `endpoint` (else the journal must say it).
fn cleanup(rig: &Rig, test: &Test, args: &[&str], endpoint: bool) -> Output {
    let mut command = Command::new(kiln_bin());
    command
        .arg("cleanup")
        .args(args)
        .current_dir(test.dir())
        .env("NO_COLOR", "1")
        .env("KILN_HOME", test.dir().join(".kiln"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_EC2")
        .stdin(Stdio::null());
    if endpoint {
        command.env("AWS_ENDPOINT_URL", rig.moto.endpoint());
    }
    let out = command.output().expect("kiln cleanup runs");
    Output {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: test.dir().to_path_buf(),
    }
}

/// The journal records of every run in the test's KILN_HOME.
fn journal_records(test: &Test) -> Vec<serde_json::Value> {
    let dir = test.dir().join(".kiln/runs");
    let mut records = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the journal folder") {
        let text = std::fs::read_to_string(entry.expect("an entry").path()).expect("a journal");
        records.extend(text.lines().map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l}"))
        }));
    }
    records
}

#[test]
fn amazon_the_seed_builds_over_https_with_the_ca_named_in_ssl_cert_file() {
    let rig = Rig::start_tls();
    // Not trusted: the first call fails, saying why.
    let untrusted = rig
        .env(Test::new())
        .env(
            "SSL_CERT_FILE",
            rig.moto.other_ca_file().display().to_string(),
        )
        .write("t.pkr.hcl", seed());
    let out = build(&untrusted, 1);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("invalid peer certificate"), "{said}");
    assert!(said.contains("SSL_CERT_FILE"), "the hint: {said}");
    assert!(!said.contains("panicked"), "{said}");
    let ec2 = rig.moto.ec2("us-east-1");
    assert_eq!(ec2.instance_count(), 0, "nothing was launched");

    let test = rig
        .env(Test::new())
        .env("SSL_CERT_FILE", rig.moto.ca_file().display().to_string())
        .write("t.pkr.hcl", seed());
    let out = build(&test, 0);
    let images = ec2.own_images();
    assert_eq!(images.len(), 1, "{images:?}");
    assert!(out.stdout.contains(&images[0].1), "{}", out.stdout);
    ec2.assert_clean();
    assert_eq!(registry_image(&test, "us-east-1"), images[0].1);
}

#[test]
fn amazon_cleanup_deletes_what_a_killed_run_left_and_keeps_finished_amis() {
    let rig = Rig::start();
    // Another release: the killed run's build must not be skipped as done already.
    let kept = seed_with("my-custom-ami-{{timestamp}}", "kept-{{timestamp}}")
        .replace("\"my-release\"", "\"kept-release\"");
    let test = rig.env(Test::new()).write("kept.pkr.hcl", kept);
    let out = test.run_unchecked_with(&["build", "-color=false", "kept.pkr.hcl"]);
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    let ec2 = rig.moto.ec2("us-east-1");
    let finished = ec2.own_images();
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(
        journal_records(&test),
        Vec::<serde_json::Value>::new(),
        "a run that cleaned up after itself leaves no journal"
    );

    kill_during_provisioning(&rig, &test, "t.pkr.hcl");
    let live = ec2.live_instances();
    assert_eq!(live.len(), 1, "the killed run left its instance: {live:?}");
    let keys = ec2.key_pairs();
    let groups = ec2.security_groups();
    assert_eq!((keys.len(), groups.len()), (1, 1), "{keys:?} {groups:?}");
    // Every one of them is in the journal, with where it lives and never a credential.
    let records = journal_records(&test);
    for id in [&live[0].0, &keys[0]] {
        let record = records
            .iter()
            .find(|r| r["op"] == "created" && r["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} in the journal: {records:?}"));
        assert_eq!(record["region"], "us-east-1");
        assert_eq!(record["endpoint"], rig.moto.endpoint().as_str());
    }
    let text = serde_json::to_string(&records).expect("records");
    assert!(
        !text.contains("testing"),
        "no credential in the journal: {text}"
    );

    // No endpoint in the environment: the journal says where the resources are.
    let out = cleanup(&rig, &test, &[], false);
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    for line in [
        format!("Deleted instance {} in us-east-1", live[0].0),
        format!("Deleted key pair {} in us-east-1", keys[0]),
        "Deleted security group sg-".to_string(),
    ] {
        assert!(out.stdout.contains(&line), "{line:?} in:\n{}", out.stdout);
    }
    ec2.assert_clean();
    assert_eq!(ec2.own_images(), finished, "the finished AMI is kept");
    let records = journal_records(&test);
    assert_eq!(
        records.iter().filter(|r| r["op"] == "done").count(),
        1,
        "the killed run's journal is marked done: {records:?}"
    );
    let again = cleanup(&rig, &test, &[], false);
    assert_eq!(again.status, 0, "{}", again.stderr);
    assert_eq!(again.stdout, "Nothing to clean up.\n");
}

#[test]
fn amazon_cleanup_by_region_finds_a_killed_runs_resources_by_tag_alone() {
    let rig = Rig::start();
    let test = rig.env(Test::new());
    kill_during_provisioning(&rig, &test, "t.pkr.hcl");
    let ec2 = rig.moto.ec2("us-east-1");
    assert_eq!(ec2.live_instances().len(), 1);
    std::fs::remove_dir_all(test.dir().join(".kiln/runs")).expect("the journals deleted");
    // Without a journal and without a region there is nothing to go on.
    let out = cleanup(&rig, &test, &[], true);
    assert_eq!(out.stdout, "Nothing to clean up.\n");
    assert_eq!(ec2.live_instances().len(), 1);
    let out = cleanup(&rig, &test, &["-region", "us-east-1"], true);
    assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout
            .lines()
            .filter(|l| l.starts_with("Deleted "))
            .count(),
        3,
        "instance, key pair and security group:\n{}",
        out.stdout
    );
    ec2.assert_clean();
    // A run named that has neither journal nor a region to search is a clear error.
    let out = cleanup(&rig, &test, &["0b6c1f0e-8c1d-4f7e-9a53-1c2d3e4f5a6b"], true);
    assert_eq!(out.status, 1);
    assert!(
        out.stderr
            .contains("there is no journal of run 0b6c1f0e-8c1d-4f7e-9a53-1c2d3e4f5a6b"),
        "{}",
        out.stderr
    );
}

#[test]
fn amazon_a_seed_build_opens_no_socket_beyond_loopback() {
    let rig = Rig::start();
    let test = rig.env(Test::new()).write("t.pkr.hcl", seed());
    let trace = test.dir().join("connect.trace");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=connect", "-o"])
        .arg(&trace)
        .arg(kiln_bin())
        .args(["build", "-color=false", "t.pkr.hcl"])
        .current_dir(test.dir())
        .envs(rig_env(&rig, &test))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("strace runs (scripts/test.sh installs it)");
    assert!(status.success(), "the traced build failed");
    let trace = std::fs::read_to_string(&trace).expect("the trace");
    let connects: Vec<&str> = trace.lines().filter(|l| l.contains("connect(")).collect();
    let outside: Vec<&&str> = connects.iter().filter(|l| !is_local_connect(l)).collect();
    assert!(
        outside.is_empty(),
        "connections beyond loopback: {outside:#?}"
    );
    // The trace saw the build's connections: to moto and to sshd.
    for port in [rig.moto.port, rig.sshd.port] {
        let seen = format!("sin_port=htons({port})");
        assert!(
            connects.iter().any(|l| l.contains(&seen)),
            "no connect to port {port} in:\n{trace}"
        );
    }
}

/// A `connect` strace line to a Unix socket, to 127.0.0.0/8 or ::1, or a UDP disconnect.
fn is_local_connect(line: &str) -> bool {
    if line.contains("sa_family=AF_UNIX") || line.contains("sa_family=AF_UNSPEC") {
        return true;
    }
    if line.contains("sa_family=AF_INET,") {
        return line.contains("sin_addr=inet_addr(\"127.");
    }
    if line.contains("sa_family=AF_INET6,") {
        return line.contains("inet_pton(AF_INET6, \"::1\"")
            || line.contains("inet_pton(AF_INET6, \"::ffff:127.");
    }
    false
}

/// When the run's `event` of `node` happened (`at_ms` in the NDJSON events).
fn at(events: &str, event: &str, node: &str) -> f64 {
    events
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == event && e["node"] == node)
        .and_then(|e| e["at_ms"].as_f64())
        .unwrap_or_else(|| panic!("no {event} of {node} in:\n{events}"))
}

/// Wait until the provisioner has left `marker`, or fail if kiln ends first.
fn wait_for(marker: &Path, child: &mut std::process::Child) {
    let started = Instant::now();
    while !marker.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("kiln ended ({status}) before provisioning began");
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the provisioner never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
