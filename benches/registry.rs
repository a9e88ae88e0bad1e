//! `cargo bench --bench registry`: the embedded registry's speed on the SQLite store.
//!
//! - in-process image lookups per second (by release and through `latest`), target ≥ 200,000/s;
//! - the wall time of a `kiln registry image` process (`target/release/kiln`), target ≤ 5 ms;
//! - publishes per second of a release with 3 builds × 3 regions, target ≥ 2,000/s.

use kiln::registry::model::{ImageQuery, NewImage, Publish, PublishBuild, ReleaseRef};
use kiln::registry::{SqliteStore, Store};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const PROVIDERS: [&str; 3] = ["aws", "azure", "gcp"];
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-south-1"];

fn release(n: usize) -> Publish {
    Publish {
        bucket: "bench".into(),
        product: "web-server".into(),
        release: format!("v{n}"),
        builds: PROVIDERS
            .iter()
            .map(|p| PublishBuild {
                component: format!("{p}.web"),
                provider: p.to_string(),
                images: REGIONS
                    .iter()
                    .map(|r| NewImage {
                        region: r.to_string(),
                        external_id: format!("{p}-{r}-{n}"),
                    })
                    .collect(),
                ..PublishBuild::default()
            })
            .collect(),
        ..Publish::default()
    }
}

fn main() {
    let dir = std::env::temp_dir().join(format!("kiln-bench-registry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let store = SqliteStore::open(&dir.join("registry.db")).expect("store");

    println!("| what | result | target |");
    println!("| --- | --- | --- |");

    // Publishes: each one transaction holding a release of 3 builds × 3 regions.
    let releases = 3000;
    let start = Instant::now();
    for n in 0..releases {
        store.publish(&release(n)).expect("publish");
    }
    let took = start.elapsed();
    println!(
        "| publish a release of 3 builds × 3 regions (one transaction each, {releases} releases) | {:.0}/s ({:.0} µs each) | ≥ 2,000/s |",
        releases as f64 / took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / releases as f64
    );

    // The same releases published the way separate processes would: one build per transaction.
    let start = Instant::now();
    let split = 1000;
    for n in releases..releases + split {
        let whole = release(n);
        let expect: Vec<String> = whole.builds.iter().map(|b| b.component.clone()).collect();
        for b in whole.builds {
            store
                .publish(&Publish {
                    builds: vec![b],
                    expect: expect.clone(),
                    ..release(n)
                })
                .expect("publish one build");
        }
    }
    let took = start.elapsed();
    println!(
        "| the same release as 3 publishes of one build each ({split} releases) | {:.0} releases/s | |",
        split as f64 / took.as_secs_f64()
    );

    // Lookups.
    let total = releases + split;
    let queries: Vec<ImageQuery> = (0..4096)
        .map(|i| ImageQuery {
            bucket: "bench".into(),
            product: "web-server".into(),
            at: if i % 4 == 0 {
                ReleaseRef::Channel("latest".into())
            } else {
                ReleaseRef::Release(format!("v{}", (i * 7919) % total))
            },
            provider: PROVIDERS[i % 3].into(),
            region: REGIONS[(i / 3) % 3].into(),
            component: None,
        })
        .collect();
    for threads in [1, 2] {
        let per_thread = Duration::from_secs(2);
        let counts: Vec<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let queries = &queries;
                    let db = dir.join("registry.db");
                    s.spawn(move || {
                        // One store (connection) per thread, as a server would pool them.
                        let store = SqliteStore::open(&db).expect("store");
                        let start = Instant::now();
                        let mut n = 0u64;
                        let mut i = t * 1000;
                        while start.elapsed() < per_thread {
                            for _ in 0..256 {
                                let q = &queries[i % queries.len()];
                                let found = store.image(q).expect("lookup");
                                std::hint::black_box(found);
                                i += 1;
                                n += 1;
                            }
                        }
                        n
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        let rate = counts.iter().sum::<u64>() as f64 / per_thread.as_secs_f64();
        println!(
            "| in-process image lookups, {threads} thread(s), 3/4 by release, 1/4 through `latest` | {:.0}/s ({:.2} µs each per thread) | ≥ 200,000/s |",
            rate,
            threads as f64 * 1e6 / rate
        );
    }
    drop(store);

    // A whole `kiln registry image` process.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let kiln = target.join("release/kiln");
    if kiln.exists() {
        let args = [
            "registry",
            "image",
            "-bucket",
            "bench",
            "-product",
            "web-server",
            "-channel",
            "latest",
            "-provider",
            "aws",
            "-region",
            "us-east-1",
        ];
        let time = |args: &[&str]| {
            let mut times: Vec<f64> = (0..100)
                .map(|_| {
                    let start = Instant::now();
                    let out = Command::new(&kiln)
                        .args(args)
                        .env("KILN_HOME", &dir)
                        .output()
                        .expect("kiln runs");
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    start.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            times.sort_by(f64::total_cmp);
            (times[50], times[0])
        };
        let (median, min) = time(&args);
        println!(
            "| `kiln registry image -channel latest` process wall, median of 100 (min) | {median:.2} ms ({min:.2} ms) | ≤ 5 ms |"
        );
        // The floor: starting the same binary to do nothing.
        let (median, min) = time(&["--version"]);
        println!("| peer: `kiln --version` process wall, median of 100 (min) | {median:.2} ms ({min:.2} ms) | |");
    } else {
        println!(
            "| `kiln registry image` process | build {} first | ≤ 5 ms |",
            kiln.display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
