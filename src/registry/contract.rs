//! The store contract: what every [`Store`] implementation must do, as one suite of checks that
//! the SQLite store runs now and the HTTP and PostgreSQL stores will run later.
//!
//! [`run`] panics (with what differed) on the first broken promise. Each check works in a bucket
//! of its own, so the suite can run against a store that already holds data.

use super::model::*;
use super::{Error, Store};
use std::time::Duration;

/// Check every promise of the store contract against `store`.
pub fn run(store: &dyn Store) {
    publish_then_look_up(store);
    expected_builds_keep_a_release_running(store);
    a_complete_release_is_immutable(store);
    build_lifecycle_resumes(store);
    stale_builds_fail(store);
    channels_and_history(store);
    revocation_inherits_rolls_back_and_restores(store);
    scheduled_revocation_waits(store);
    bad_names_write_nothing(store);
    search_and_delete(store);
}

fn fresh_bucket() -> String {
    format!("ct-{}", ulid::Ulid::generate().to_string().to_lowercase())
}

fn image(region: &str, id: &str) -> NewImage {
    NewImage {
        region: region.into(),
        external_id: id.into(),
    }
}

fn build(component: &str, provider: &str, images: &[(&str, &str)]) -> PublishBuild {
    PublishBuild {
        component: component.into(),
        provider: provider.into(),
        images: images.iter().map(|(r, i)| image(r, i)).collect(),
        ..PublishBuild::default()
    }
}

fn publish(bucket: &str, product: &str, release: &str, builds: Vec<PublishBuild>) -> Publish {
    Publish {
        bucket: bucket.into(),
        product: product.into(),
        release: release.into(),
        builds,
        ..Publish::default()
    }
}

fn query(bucket: &str, product: &str, at: ReleaseRef, provider: &str, region: &str) -> ImageQuery {
    ImageQuery {
        bucket: bucket.into(),
        product: product.into(),
        at,
        provider: provider.into(),
        region: region.into(),
        component: None,
    }
}

fn rel(name: &str) -> ReleaseRef {
    ReleaseRef::Release(name.into())
}

fn chan(name: &str) -> ReleaseRef {
    ReleaseRef::Channel(name.into())
}

fn lookup(
    store: &dyn Store,
    b: &str,
    p: &str,
    at: ReleaseRef,
    provider: &str,
    region: &str,
) -> String {
    store
        .image(&query(b, p, at, provider, region))
        .unwrap_or_else(|e| panic!("lookup of {provider}/{region} in {b}/{p}: {e}"))
        .external_id
}

fn version(c: Completion) -> u64 {
    match c {
        Completion::Completed { version, .. } => version,
        other => panic!("expected the release to complete, got {other:?}"),
    }
}

fn publish_then_look_up(store: &dyn Store) {
    let b = fresh_bucket();
    let done = store
        .publish(&publish(
            &b,
            "web",
            "v1",
            vec![
                build(
                    "amazon-ebs.web",
                    "aws",
                    &[("us-east-1", "ami-1"), ("eu-west-1", "ami-2")],
                ),
                build("googlecompute.web", "gcp", &[("us-central1", "img-1")]),
            ],
        ))
        .expect("publish");
    assert_eq!(version(done), 1);
    assert_eq!(
        lookup(store, &b, "web", rel("v1"), "aws", "us-east-1"),
        "ami-1"
    );
    assert_eq!(
        lookup(store, &b, "web", rel("v1"), "aws", "eu-west-1"),
        "ami-2"
    );
    assert_eq!(
        lookup(store, &b, "web", chan(LATEST), "gcp", "us-central1"),
        "img-1"
    );
    let record = store
        .image(&query(&b, "web", chan(LATEST), "aws", "us-east-1"))
        .expect("lookup");
    assert_eq!(record.channel.as_deref(), Some(LATEST));
    assert_eq!(record.component, "amazon-ebs.web");
    assert_eq!(record.release_status, ReleaseStatus::Active);
    let missing = store
        .image(&query(&b, "web", rel("v1"), "aws", "ap-south-1"))
        .expect_err("no image there");
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
    assert_eq!(
        missing.hint(),
        Some("it has images for: aws eu-west-1, aws us-east-1, gcp us-central1")
    );
    let r = store.release(&b, "web", "v1").expect("release");
    assert_eq!(r.status, ReleaseStatus::Active);
    assert_eq!(r.version, Some(1));
    assert!(r.completed_at.is_some());
    assert_eq!(r.builds.len(), 2);
    assert_eq!(r.builds[0].images.len(), 2);
    assert_eq!(
        r.builds[0].images[0].region, "eu-west-1",
        "images sorted by region"
    );
    let p = store.product(&b, "web").expect("product");
    assert_eq!(p.latest.as_deref(), Some("v1"));
    assert_eq!(p.providers, ["aws", "gcp"]);
    assert_eq!(store.bucket(&b).expect("bucket").products, ["web"]);
}

fn expected_builds_keep_a_release_running(store: &dyn Store) {
    let b = fresh_bucket();
    let mut first = publish(
        &b,
        "app",
        "r1",
        vec![build("a", "aws", &[("us-east-1", "ami-a")])],
    );
    first.expect = vec!["a".into(), "b".into()];
    first.channels = vec!["prod".into()];
    match store.publish(&first).expect("publish a") {
        Completion::Pending { waiting_for, .. } => assert_eq!(waiting_for, ["b"]),
        other => panic!("expected pending, got {other:?}"),
    }
    let running = store
        .image(&query(&b, "app", rel("r1"), "aws", "us-east-1"))
        .expect_err("a running release serves nothing");
    assert!(running.to_string().contains("waiting for b"), "{running}");
    assert_eq!(
        store.release(&b, "app", "r1").expect("release").status,
        ReleaseStatus::Running
    );
    let second = publish(
        &b,
        "app",
        "r1",
        vec![build("b", "aws", &[("us-west-2", "ami-b")])],
    );
    assert_eq!(version(store.publish(&second).expect("publish b")), 1);
    assert_eq!(
        lookup(store, &b, "app", chan("prod"), "aws", "us-west-2"),
        "ami-b"
    );
    assert_eq!(
        lookup(store, &b, "app", chan(LATEST), "aws", "us-east-1"),
        "ami-a"
    );
}

fn a_complete_release_is_immutable(store: &dyn Store) {
    let b = fresh_bucket();
    let p = publish(
        &b,
        "app",
        "r1",
        vec![build("a", "aws", &[("us-east-1", "ami-1")])],
    );
    store.publish(&p).expect("publish");
    assert!(matches!(
        store.publish(&p),
        Ok(Completion::Unchanged { .. })
    ));
    let other = publish(
        &b,
        "app",
        "r1",
        vec![build("a", "aws", &[("us-east-1", "ami-2")])],
    );
    let err = store.publish(&other).expect_err("a different ID");
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert!(
        err.to_string().contains("is complete and cannot change"),
        "{err}"
    );
    assert!(err.hint().is_some_and(|h| h.contains("new release name")));
    let added = publish(
        &b,
        "app",
        "r1",
        vec![build("z", "aws", &[("us-east-1", "ami-3")])],
    );
    assert!(matches!(store.publish(&added), Err(Error::Conflict { .. })));
    assert_eq!(
        lookup(store, &b, "app", rel("r1"), "aws", "us-east-1"),
        "ami-1"
    );
    let r = store.release(&b, "app", "r1").expect("release");
    assert_eq!(r.builds.len(), 1, "nothing was added");
    assert_eq!(
        store
            .channel_history(&b, "app", LATEST)
            .expect("history")
            .len(),
        1
    );
}

fn build_lifecycle_resumes(store: &dyn Store) {
    let b = fresh_bucket();
    let begin = BeginRelease {
        bucket: b.clone(),
        product: "app".into(),
        release: "r1".into(),
        components: vec!["x".into(), "y".into()],
        channels: vec!["stable".into()],
        template_type: Some("JSON".into()),
    };
    let start = store.begin_release(&begin).expect("begin");
    assert!(start.done.is_empty());
    assert_eq!(start.release.template_type.as_deref(), Some("JSON"));
    assert_eq!(start.release.status, ReleaseStatus::Running);
    let statuses: Vec<BuildStatus> = start.release.builds.iter().map(|b| b.status).collect();
    assert_eq!(statuses, [BuildStatus::Unset, BuildStatus::Unset]);
    let release_id = start.release.id.clone();
    let starting = |component: &str| BuildStart {
        release_id: release_id.clone(),
        component: component.into(),
        provider: Some("null".into()),
        ..BuildStart::default()
    };
    let x = store.start_build(&starting("x")).expect("start x");
    assert_eq!(x.status, BuildStatus::Running);
    assert!(x.heartbeat_at.is_some());
    // A client that knows no provider yet (HCP's RUNNING update) keeps the stored one, and a
    // run UUID and metadata stay with the build.
    let run = "0b9b7a1e-3c5d-4f6e-8a7b-9c0d1e2f3a4b";
    let x = store
        .start_build(&BuildStart {
            provider: None,
            run_uuid: Some(run.into()),
            metadata: Some(serde_json::json!({"vcs": {"type": "git"}})),
            ..starting("x")
        })
        .expect("start x again");
    assert_eq!(x.provider.as_deref(), Some("null"));
    assert_eq!(x.run_uuid.as_deref(), Some(run));
    assert_eq!(
        x.metadata,
        Some(serde_json::json!({"vcs": {"type": "git"}}))
    );
    assert!(matches!(
        store.start_build(&BuildStart {
            run_uuid: Some("not-a-uuid".into()),
            ..starting("x")
        }),
        Err(Error::Invalid { .. })
    ));
    store.heartbeat(&x.id).expect("heartbeat");
    let pending = store
        .finish_build(&x.id, &[image("null", "x-1")])
        .expect("finish x");
    assert!(matches!(pending, Completion::Pending { .. }), "{pending:?}");
    let y = store.start_build(&starting("y")).expect("start y");
    store
        .fail_build(&y.id, BuildEnd::Failed, "boom")
        .expect("fail y");
    let r = store.release(&b, "app", "r1").expect("release");
    assert_eq!(r.status, ReleaseStatus::Incomplete);
    assert_eq!(r.builds[1].message.as_deref(), Some("boom"));
    // Rerun: x is DONE and skipped, y runs again.
    let again = store.begin_release(&begin).expect("resume");
    assert_eq!(again.done, ["x"]);
    assert_eq!(again.release.id, release_id);
    assert!(matches!(
        store.start_build(&starting("x")),
        Err(Error::Conflict { .. })
    ));
    let y = store.start_build(&starting("y")).expect("restart y");
    assert_eq!(
        version(
            store
                .finish_build(&y.id, &[image("null", "y-1")])
                .expect("finish y")
        ),
        1
    );
    let ambiguous = store
        .image(&query(&b, "app", chan("stable"), "null", "null"))
        .expect_err("two components have null images in null");
    assert!(matches!(ambiguous, Error::Conflict { .. }), "{ambiguous:?}");
    assert_eq!(ambiguous.hint(), Some("pass -component to choose one"));
    let x_image = store
        .image(&ImageQuery {
            component: Some("x".into()),
            ..query(&b, "app", chan("stable"), "null", "null")
        })
        .expect("narrowed by component");
    assert_eq!(x_image.external_id, "x-1");
    assert!(matches!(
        store.finish_build(&y.id, &[image("null", "y-1")]),
        Ok(Completion::Unchanged { .. })
    ));
    assert!(matches!(
        store.finish_build(&y.id, &[image("null", "y-2")]),
        Err(Error::Conflict { .. })
    ));
    let more = BeginRelease {
        components: vec!["x".into(), "w".into()],
        ..begin
    };
    assert!(matches!(
        store.begin_release(&more),
        Err(Error::Conflict { .. })
    ));
}

fn stale_builds_fail(store: &dyn Store) {
    let b = fresh_bucket();
    let start = store
        .begin_release(&BeginRelease {
            bucket: b.clone(),
            product: "app".into(),
            release: "r1".into(),
            components: vec!["x".into()],
            channels: vec![],
            template_type: None,
        })
        .expect("begin");
    let x = store
        .start_build(&BuildStart {
            release_id: start.release.id.clone(),
            component: "x".into(),
            provider: Some("null".into()),
            ..BuildStart::default()
        })
        .expect("start");
    assert!(store
        .expire_stale_builds(Duration::from_secs(3600))
        .expect("expire")
        .is_empty());
    std::thread::sleep(Duration::from_millis(5));
    let expired = store.expire_stale_builds(Duration::ZERO).expect("expire");
    assert!(expired.contains(&x.id), "{expired:?}");
    let r = store.release(&b, "app", "r1").expect("release");
    assert_eq!(r.builds[0].status, BuildStatus::Failed);
    assert_eq!(r.status, ReleaseStatus::Failed);
    assert!(matches!(
        store.heartbeat(&x.id),
        Err(Error::Conflict { .. })
    ));
}

fn channels_and_history(store: &dyn Store) {
    let b = fresh_bucket();
    for (r, id) in [("r1", "ami-1"), ("r2", "ami-2")] {
        store
            .publish(&publish(
                &b,
                "app",
                r,
                vec![build("a", "aws", &[("us-east-1", id)])],
            ))
            .expect("publish");
    }
    let assign = |channel: &str, release: &str| {
        store.assign_channel(&AssignChannel {
            bucket: b.clone(),
            product: "app".into(),
            channel: channel.into(),
            release: release.into(),
            author: "tester".into(),
        })
    };
    assign("prod", "r1").expect("assign r1");
    assert_eq!(
        lookup(store, &b, "app", chan("prod"), "aws", "us-east-1"),
        "ami-1"
    );
    assert_eq!(
        lookup(store, &b, "app", chan(LATEST), "aws", "us-east-1"),
        "ami-2"
    );
    assign("prod", "r2").expect("assign r2");
    assert_eq!(
        lookup(store, &b, "app", chan("prod"), "aws", "us-east-1"),
        "ami-2"
    );
    let history = store.channel_history(&b, "app", "prod").expect("history");
    let releases: Vec<&str> = history.iter().map(|a| a.release.as_str()).collect();
    assert_eq!(releases, ["r1", "r2"]);
    assert_eq!(history[0].author, "tester");
    let latest = assign(LATEST, "r1").expect_err("latest is managed");
    assert!(matches!(latest, Error::Conflict { .. }), "{latest:?}");
    assert!(matches!(assign("prod", "r9"), Err(Error::NotFound { .. })));
    let names: Vec<String> = store
        .channels(&b, "app")
        .expect("channels")
        .into_iter()
        .map(|c| format!("{}={}", c.name, c.release.unwrap_or_default()))
        .collect();
    assert_eq!(names, ["latest=r2", "prod=r2"]);
    let unknown = store
        .image(&query(&b, "app", chan("nope"), "aws", "us-east-1"))
        .expect_err("unknown channel");
    assert!(matches!(unknown, Error::NotFound { .. }), "{unknown:?}");
}

fn revocation_inherits_rolls_back_and_restores(store: &dyn Store) {
    let b = fresh_bucket();
    for (r, id) in [("r1", "ami-1"), ("r2", "ami-2")] {
        store
            .publish(&publish(
                &b,
                "base",
                r,
                vec![build("a", "aws", &[("us-east-1", id)])],
            ))
            .expect("publish base");
        store
            .assign_channel(&AssignChannel {
                bucket: b.clone(),
                product: "base".into(),
                channel: "prod".into(),
                release: r.into(),
                author: "tester".into(),
            })
            .expect("assign");
    }
    let mut child = publish(
        &b,
        "app",
        "c1",
        vec![build("a", "aws", &[("us-east-1", "ami-c")])],
    );
    child.parents = vec![ParentRef {
        bucket: b.clone(),
        product: "base".into(),
        at: chan("prod"),
    }];
    store.publish(&child).expect("publish child");
    let c = store.release(&b, "app", "c1").expect("child");
    assert_eq!(c.parents.len(), 1);
    assert_eq!(c.parents[0].parent, format!("{b}/base/r2"));
    assert_eq!(c.parents[0].status, AncestryStatus::UpToDate);
    assert_eq!(
        store
            .release(&b, "base", "r2")
            .expect("parent")
            .children
            .len(),
        1
    );

    // A time RFC 3339 cannot write (a five-digit year) is refused, not stored.
    let far = store.revoke(&Revoke {
        bucket: b.clone(),
        product: "base".into(),
        release: "r2".into(),
        at: Some(Timestamp(Timestamp::LAST.0 + 1)),
        message: "far".into(),
        author: "tester".into(),
        skip_descendants: false,
    });
    assert!(matches!(far, Err(Error::Invalid { .. })), "{far:?}");
    let revoked = store
        .revoke(&Revoke {
            bucket: b.clone(),
            product: "base".into(),
            release: "r2".into(),
            at: None,
            message: "CVE-1".into(),
            author: "tester".into(),
            skip_descendants: false,
        })
        .expect("revoke");
    assert_eq!(revoked, [format!("{b}/base/r2"), format!("{b}/app/c1")]);
    let err = store
        .image(&query(&b, "base", rel("r2"), "aws", "us-east-1"))
        .expect_err("revoked");
    assert!(matches!(err, Error::Revoked { .. }), "{err:?}");
    assert!(err.to_string().contains("CVE-1"), "{err}");
    assert_eq!(
        lookup(store, &b, "base", chan("prod"), "aws", "us-east-1"),
        "ami-1",
        "rolled back"
    );
    assert_eq!(
        lookup(store, &b, "base", chan(LATEST), "aws", "us-east-1"),
        "ami-1"
    );
    let prod = store.channels(&b, "base").expect("channels");
    assert_eq!(prod[1].rolled_back_from.as_deref(), Some("r2"));
    let c = store.release(&b, "app", "c1").expect("child");
    assert_eq!(c.status, ReleaseStatus::Revoked);
    let rev = c.revocation.expect("inherited revocation");
    assert_eq!(rev.kind, RevocationType::Inherited);
    assert_eq!(rev.inherited_from, Some(format!("{b}/base/r2")));
    assert!(matches!(
        store.restore(&b, "app", "c1"),
        Err(Error::Conflict { .. })
    ));

    let restored = store.restore(&b, "base", "r2").expect("restore");
    assert_eq!(restored, [format!("{b}/base/r2"), format!("{b}/app/c1")]);
    assert_eq!(
        lookup(store, &b, "base", chan("prod"), "aws", "us-east-1"),
        "ami-2"
    );
    assert_eq!(
        store.release(&b, "app", "c1").expect("child").status,
        ReleaseStatus::Active
    );

    // Moving the parent's channel leaves the child out of date.
    store
        .assign_channel(&AssignChannel {
            bucket: b.clone(),
            product: "base".into(),
            channel: "prod".into(),
            release: "r1".into(),
            author: "tester".into(),
        })
        .expect("assign back");
    let c = store.release(&b, "app", "c1").expect("child");
    assert_eq!(c.parents[0].status, AncestryStatus::OutOfDate);
}

fn scheduled_revocation_waits(store: &dyn Store) {
    let b = fresh_bucket();
    store
        .publish(&publish(
            &b,
            "app",
            "r1",
            vec![build("a", "aws", &[("us-east-1", "ami-1")])],
        ))
        .expect("publish");
    let revoke = Revoke {
        bucket: b.clone(),
        product: "app".into(),
        release: "r1".into(),
        at: Some(Timestamp::now().plus(Duration::from_secs(86_400))),
        message: "end of life".into(),
        author: "tester".into(),
        skip_descendants: true,
    };
    store.revoke(&revoke).expect("schedule");
    let r = store.release(&b, "app", "r1").expect("release");
    assert_eq!(r.status, ReleaseStatus::RevocationScheduled);
    assert_eq!(
        lookup(store, &b, "app", chan(LATEST), "aws", "us-east-1"),
        "ami-1"
    );
    assert!(matches!(store.revoke(&revoke), Err(Error::Conflict { .. })));
    let past = Revoke {
        at: Some(Timestamp(0)),
        ..revoke
    };
    store.restore(&b, "app", "r1").expect("restore");
    store.revoke(&past).expect("revoke in the past");
    assert_eq!(
        store.release(&b, "app", "r1").expect("release").status,
        ReleaseStatus::Revoked
    );
}

fn bad_names_write_nothing(store: &dyn Store) {
    let before = store.buckets().expect("buckets").len();
    let b = fresh_bucket();
    for (product, release, region) in [
        ("a/b", "r1", "us-east-1"),
        ("app", "..", "us-east-1"),
        ("app", "r1", "us\0east"),
        ("ap", "r1", "us-east-1"),
    ] {
        let err = store
            .publish(&publish(
                &b,
                product,
                release,
                vec![build("a", "aws", &[(region, "ami-1")])],
            ))
            .expect_err("a bad name");
        assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    }
    assert_eq!(store.buckets().expect("buckets").len(), before);
    assert!(matches!(store.bucket(&b), Err(Error::NotFound { .. })));
}

fn search_and_delete(store: &dyn Store) {
    let b = fresh_bucket();
    for (p, r) in [("one", "r1"), ("two", "r1"), ("two", "r2")] {
        store
            .publish(&publish(
                &b,
                p,
                r,
                vec![build("a", "aws", &[("us-east-1", "ami-shared")])],
            ))
            .expect("publish");
    }
    let found: Vec<String> = store
        .search("ami-shared")
        .expect("search")
        .into_iter()
        .filter(|f| f.bucket == b)
        .map(|f| format!("{}/{}", f.product, f.release))
        .collect();
    assert_eq!(found, ["one/r1", "two/r1", "two/r2"]);
    assert!(matches!(
        store.delete_bucket(&b),
        Err(Error::Conflict { .. })
    ));
    store.delete_product(&b, "one").expect("delete one");
    store.delete_product(&b, "two").expect("delete two");
    assert!(store
        .search("ami-shared")
        .expect("search")
        .iter()
        .all(|f| f.bucket != b));
    store.delete_bucket(&b).expect("delete bucket");
    assert!(matches!(store.bucket(&b), Err(Error::NotFound { .. })));
}
