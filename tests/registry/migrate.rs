//! `kiln registry migrate`: a registry copied whole answers every query as the original did.

use super::Registry;

/// Everything a registry answers, as JSON: releases (builds, images, parents, children,
/// revocations), channels and their history, images through channels, tokens, the audit log.
fn answers(r: &Registry) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for product in ["base", "app"] {
        out.push(r.json(&["release", "list", "-bucket", "team", "-product", product]));
        out.push(r.json(&["channel", "list", "-bucket", "team", "-product", product]));
        out.push(r.json(&["product", "show", "-bucket", "team", "-product", product]));
    }
    out.push(r.json(&[
        "channel",
        "history",
        "-bucket",
        "team",
        "-product",
        "base",
        "-channel",
        "production",
    ]));
    out.push(r.json(&[
        "image",
        "-bucket",
        "team",
        "-product",
        "base",
        "-channel",
        "production",
        "-provider",
        "aws",
        "-region",
        "us-east-1",
    ]));
    out.push(r.json(&["search", "ami-app-1"]));
    out.push(r.json(&["token", "list"]));
    out.push(r.json(&["audit", "--limit", "1000"]));
    out.push(r.json(&["bucket", "list"]));
    out
}

#[test]
fn registry_migrate_copies_everything_and_the_copy_answers_the_same() {
    let r = Registry::new();
    for (release, id) in [("r1", "ami-base-1"), ("r2", "ami-base-2")] {
        r.publish(
            "base",
            release,
            "a",
            &[("us-east-1", id)],
            &["-channel", "production"],
        );
    }
    r.publish(
        "app",
        "c1",
        "a",
        &[("us-east-1", "ami-app-1"), ("eu-west-1", "ami-app-2")],
        &["-parent-product", "base", "-parent-channel", "production"],
    );
    // A revocation its child inherits, a scheduled one, tokens (one revoked).
    r.kiln(&[
        "release", "revoke", "-bucket", "team", "-product", "base", "-release", "r2", "-message",
        "CVE-1",
    ])
    .run();
    r.kiln(&[
        "release", "revoke", "-bucket", "team", "-product", "base", "-release", "r1", "-in", "30d",
    ])
    .run();
    let admin = super::server::token(&r, &["--scope", "admin"]);
    super::server::token(&r, &["--scope", "read", "--bucket", "team"]);
    // The audit log is the server's: one write through it.
    {
        let server = super::server::Server::start(&r, &[]);
        let (status, _) = super::server::call(
            "POST",
            &server.url("/v1/publish"),
            Some(&admin),
            Some(&super::server::publish_body(
                "team",
                "app",
                "c2",
                "ami-app-3",
            )),
        );
        assert_eq!(status, 200);
    }
    assert_eq!(r.json(&["audit"]).as_array().map(Vec::len), Some(1));
    let tokens = r.json(&["token", "list"]);
    r.kiln(&["token", "revoke", tokens[1]["id"].as_str().unwrap()])
        .run();
    let before = answers(&r);

    let copy = Registry::new();
    let out = r
        .kiln(&[
            "migrate",
            "--from",
            &format!("sqlite:{}", r.home().join("registry.db").display()),
            "--to",
            &format!("sqlite:{}", copy.home().join("registry.db").display()),
        ])
        .stderr_contains("read back and identical")
        .run();
    assert!(out.stdout.contains("releases"), "{}", out.stdout);
    assert_eq!(answers(&copy), before, "the copy answers differently");

    // Into a registry that holds something: refused, and nothing written there.
    let busy = Registry::new();
    busy.publish("other", "x1", "a", &[("us-east-1", "ami-x")], &[]);
    let held = answers_of_other(&busy);
    r.kiln(&[
        "migrate",
        "--from",
        &r.home().join("registry.db").display().to_string(),
        "--to",
        &busy.home().join("registry.db").display().to_string(),
    ])
    .status(1)
    .stderr_contains("not empty")
    .run();
    assert_eq!(answers_of_other(&busy), held);
    // A PostgreSQL nobody serves: said plainly, without the URL (it may hold a password).
    let out = r
        .kiln(&[
            "migrate",
            "--from",
            &r.home().join("registry.db").display().to_string(),
            "--to",
            "postgres://kiln:hunter2@127.0.0.1:1/kiln",
        ])
        .status(1)
        .run();
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
}

fn answers_of_other(r: &Registry) -> serde_json::Value {
    r.json(&["release", "list", "-bucket", "team", "-product", "other"])
}
