//! `POST /oauth2/token` on the HTTPS server: client credentials as HCP's SDK sends them, in a
//! Basic header or form fields, answered and refused the way OAuth clients parse.

use super::server::{token, Server};
use super::Registry;
use serde_json::Value as Json;

/// A client trusting the server's self-signed certificate.
fn client(r: &Registry) -> reqwest::blocking::Client {
    let pem = std::fs::read(r.home().join("tls/cert.pem")).expect("the certificate");
    reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"))
        .build()
        .expect("a client")
}

fn answer(resp: reqwest::blocking::Response) -> (u16, Option<String>, Json) {
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp.text().unwrap();
    (
        status,
        challenge,
        serde_json::from_str(&body).unwrap_or(Json::Null),
    )
}

#[test]
fn oauth2_token_grants_client_credentials_as_hcp_clients_ask() {
    let r = Registry::new();
    let secret = token(&r, &["--scope", "write"]);
    let other = token(&r, &["--scope", "read"]);
    let short = token(&r, &["--scope", "read", "--expires", "10m"]);
    let list = r.json(&["token", "list"]);
    let id = |i: usize| list[i]["id"].as_str().expect("an ID").to_string();
    let (client_id, other_id, short_id) = (id(0), id(1), id(2));
    let server = Server::start(&r, &["--tls-self-signed"]);
    let url = server.url("/oauth2/token");
    let c = client(&r);
    let form = [
        ("grant_type", "client_credentials"),
        ("audience", "https://api.hashicorp.cloud"),
    ];

    // In a Basic header, as the SDK tries first.
    let (status, _, body) = answer(
        c.post(&url)
            .basic_auth(&client_id, Some(&secret))
            .form(&form)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let access = body["access_token"].as_str().unwrap().to_string();
    let listed = c
        .get(server.url("/v1/buckets"))
        .bearer_auth(&access)
        .send()
        .unwrap();
    assert_eq!(
        listed.status().as_u16(),
        200,
        "the access token is a bearer"
    );

    // As form fields, as it tries next.
    let mut fields = form.to_vec();
    fields.extend([
        ("client_id", short_id.as_str()),
        ("client_secret", short.as_str()),
    ]);
    let (status, _, body) = answer(c.post(&url).form(&fields).send().unwrap());
    assert_eq!(status, 200, "{body}");
    let left = body["expires_in"].as_i64().unwrap();
    assert!(
        (540..=600).contains(&left),
        "a 10-minute token has {left} s left"
    );

    // Refusals in RFC 6749's words, never echoing a secret.
    let refusals = [
        (
            c.post(&url)
                .basic_auth(&client_id, Some("kiln_wrong"))
                .form(&form),
            401,
            "invalid_client",
        ),
        (
            c.post(&url)
                .basic_auth(&client_id, Some(&other))
                .form(&form),
            401,
            "invalid_client",
        ),
        (c.post(&url).form(&form), 401, "invalid_client"),
        (
            c.post(&url)
                .basic_auth(&client_id, Some(&secret))
                .form(&[("grant_type", "password")]),
            400,
            "unsupported_grant_type",
        ),
        (
            c.post(&url)
                .basic_auth(&client_id, Some(&secret))
                .json(&serde_json::json!({"grant_type": "client_credentials"})),
            400,
            "invalid_request",
        ),
    ];
    for (request, want, error) in refusals {
        let (status, challenge, body) = answer(request.send().unwrap());
        assert_eq!(
            (status, body["error"].as_str()),
            (want, Some(error)),
            "{body}"
        );
        assert_eq!(challenge.is_some(), status == 401, "{body}");
        let text = body.to_string();
        assert!(!text.contains(&secret) && !text.contains(&other), "{text}");
    }

    // A revoked token gets no more access tokens.
    r.kiln(&["token", "revoke", &other_id]).run();
    let (status, _, _) = answer(
        c.post(&url)
            .basic_auth(&other_id, Some(&other))
            .form(&form)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 401);

    let audit = r.stdout(&["audit"]);
    assert!(audit.contains("oauth2.token"), "{audit}");
    assert!(audit.contains("invalid_client"), "{audit}");
}
