//! Packer's manifest and checksum files, as Packer writes them.

use super::{build, fixture, Test};
use serde_json::Value as Json;
use std::process::{Command, Stdio};

/// Packer's manifest (captured from 1.6.6) and kiln's for the same template, run twice.
#[test]
fn manifest_matches_packer_field_by_field() {
    let test = Test::new()
        .write(
            "build.pkr.hcl",
            std::fs::read(fixture("manifest/build.pkr.hcl")).unwrap(),
        )
        .write(
            "c-input.txt",
            std::fs::read(fixture("manifest/c-input.txt")).unwrap(),
        );
    build(&test, &["build", "build.pkr.hcl"], 0);
    build(&test, &["build", "build.pkr.hcl"], 0);
    for file in ["manifest.json", "stripped.json"] {
        let ours_text = std::fs::read_to_string(test.dir().join(file)).unwrap();
        let theirs_text = std::fs::read_to_string(fixture(&format!("manifest/{file}"))).unwrap();
        assert_eq!(
            ours_text.ends_with('\n'),
            theirs_text.ends_with('\n'),
            "{file}: final newline as Packer"
        );
        let ours: Json = serde_json::from_str(&ours_text).unwrap();
        let theirs: Json = serde_json::from_str(&theirs_text).unwrap();
        assert_eq!(
            keys(&ours),
            keys(&theirs),
            "{file}: top-level keys in order"
        );
        let (ours_builds, theirs_builds) = (
            ours["builds"].as_array().unwrap(),
            theirs["builds"].as_array().unwrap(),
        );
        assert_eq!(ours_builds.len(), theirs_builds.len(), "{file}: entries");
        for (o, t) in ours_builds.iter().zip(theirs_builds) {
            assert_eq!(keys(o), keys(t), "{file}: entry keys in order");
            assert!(o["build_time"].is_i64());
            assert!(o["packer_run_uuid"].as_str().unwrap().len() == 36);
        }
        // Builds finish in any order; compare entries without their run-specific fields.
        assert_eq!(stable(ours_builds), stable(theirs_builds), "{file}");
        // Two runs: three entries each, the last run's uuid on top.
        for builds in [ours_builds, theirs_builds] {
            let uuids: Vec<&str> = builds
                .iter()
                .map(|b| b["packer_run_uuid"].as_str().unwrap())
                .collect();
            assert_eq!(uuids[0], uuids[2]);
            assert_eq!(uuids[3], uuids[5]);
            assert_ne!(uuids[0], uuids[3]);
        }
        assert_eq!(
            ours["last_run_uuid"], ours_builds[5]["packer_run_uuid"],
            "{file}: last_run_uuid is the latest run"
        );
        // Packer writes two-space indented JSON; so does kiln.
        assert!(ours_text.starts_with("{\n  \"builds\": [\n    {\n      \"name\""));
    }
}

fn keys(v: &Json) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// Entries without build_time and uuid, sorted.
fn stable(builds: &[Json]) -> Vec<String> {
    let mut out: Vec<String> = builds
        .iter()
        .map(|b| {
            let mut b = b.clone();
            let o = b.as_object_mut().unwrap();
            o.remove("build_time");
            o.remove("packer_run_uuid");
            b.to_string()
        })
        .collect();
    out.sort();
    out
}

/// The checksum files kiln writes are the ones Packer wrote for the same inputs, and the
/// coreutils tools accept them.
#[test]
fn checksum_files_match_packer_and_verify() {
    let test = Test::new()
        .write(
            "build.pkr.hcl",
            std::fs::read(fixture("checksum/build.pkr.hcl")).unwrap(),
        )
        .write(
            "in/data.bin",
            std::fs::read(fixture("checksum/in/data.bin")).unwrap(),
        );
    build(&test, &["build", "-parallel-builds=1", "build.pkr.hcl"], 0);
    let produced = fixture("checksum/produced");
    for kind in ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] {
        for name in [
            format!("packer_b_file_{kind}.checksum"),
            format!("packer_c_file_{kind}.checksum"),
            format!("sums/b_{kind}.sum"),
            format!("sums/c_{kind}.sum"),
        ] {
            let ours = std::fs::read_to_string(test.dir().join(&name)).unwrap();
            let theirs = std::fs::read_to_string(produced.join(&name)).unwrap();
            assert_eq!(ours, theirs, "{name}");
        }
    }
    // Checksum lines name files by base name: verify from the files' directories.
    for (dir, file) in [(".", "packer_b_file"), ("out", "packer_c_file")] {
        for kind in ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] {
            let sums = test.dir().join(format!("{file}_{kind}.checksum"));
            let status = Command::new(format!("{kind}sum"))
                .arg("-c")
                .arg(&sums)
                .current_dir(test.dir().join(dir))
                .stdout(Stdio::null())
                .status()
                .expect("coreutils runs");
            assert!(status.success(), "{kind}sum -c {}", sums.display());
        }
    }
    let mut shared_lines: Vec<String> = std::fs::read_to_string(test.dir().join("all_sha256.sum"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    shared_lines.sort();
    let mut theirs: Vec<String> = std::fs::read_to_string(produced.join("all_sha256.sum"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    theirs.sort();
    assert_eq!(shared_lines, theirs, "both builds append to a shared file");
}
