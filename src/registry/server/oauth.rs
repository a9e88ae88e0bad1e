//! `POST /oauth2/token`: OAuth 2.0 client credentials (RFC 6749 §4.4), as HCP's SDK (and so
//! stock Packer and Terraform's `hcp` provider) asks for a bearer token.
//!
//! A kiln token is the client: its ID is the client ID and its secret the client secret, given
//! in a Basic `Authorization` header or as the form fields `client_id` and `client_secret` (the
//! SDK tries the header first, then the fields). The access token answered is that same secret,
//! so what it may do is checked, limited, revoked and audited as for any kiln token;
//! `expires_in` is what the token has left, at most an hour, so clients come back for another.

use super::{blocking, Registry};
use crate::registry::auth::AuditEntry;
use crate::registry::model::Timestamp;
use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The longest `expires_in` answered, in seconds.
const MOST_SECONDS: i64 = 3600;

pub(super) fn router() -> Router<Registry> {
    Router::new().route("/oauth2/token", post(token))
}

/// The form of a token request; other fields (`audience`, `scope`) are read and ignored.
#[derive(Debug, Default, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

#[derive(Serialize)]
struct Granted {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
}

/// An error as RFC 6749 §5.2 words it, which OAuth clients parse.
fn refuse(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": error, "error_description": description});
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"kiln registry\""),
        );
    }
    response
}

async fn token(
    State(r): State<Registry>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a form (application/x-www-form-urlencoded)",
        );
    };
    if form.grant_type.as_deref() != Some("client_credentials") {
        return refuse(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only grant_type=client_credentials is granted",
        );
    }
    let credentials = match basic(&headers) {
        Some(pair) => Some(pair),
        None => form.client_id.zip(form.client_secret),
    };
    let Some((client_id, secret)) = credentials else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "no client credentials: give them in a Basic Authorization header or as client_id and client_secret",
        );
    };
    let tokens = r.tokens.clone();
    let found = blocking(move || tokens.authenticate(&secret).map(|t| (t, secret))).await;
    let now = Timestamp::now();
    let (granted, outcome) = match found {
        Ok((Some(t), secret)) if t.id == client_id && t.is_live(now) => {
            let left = t
                .expires_at
                .map_or(MOST_SECONDS, |e| (e.0 - now.0) / 1000)
                .clamp(1, MOST_SECONDS);
            let granted = Granted {
                access_token: secret,
                token_type: "Bearer",
                expires_in: left,
            };
            (Some(granted), "ok")
        }
        Ok(_) => (None, "invalid_client"),
        Err(e) => return e.into_response(),
    };
    let entry = AuditEntry {
        at: now,
        token_id: granted.as_ref().map(|_| client_id.clone()),
        operation: "oauth2.token".into(),
        target: client_id,
        outcome: outcome.into(),
    };
    let tokens = r.tokens.clone();
    if let Err(e) = blocking(move || tokens.audit(&entry)).await {
        return e.into_response();
    }
    match granted {
        Some(granted) => Json(granted).into_response(),
        None => refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the client ID and secret are not those of one live kiln token",
        ),
    }
}

/// The client ID and secret of a Basic `Authorization` header (each form-urlencoded, as RFC 6749
/// §2.3.1 has clients send them).
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decoded(id)?, form_decoded(secret)?))
}

/// `text` with `+` as a space and `%XX` escapes decoded.
fn form_decoded(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.bytes();
    while let Some(b) = rest.next() {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = [rest.next()?, rest.next()?];
                let hex = std::str::from_utf8(&hex).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("an+id:s%3Acret%2B");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {encoded}").parse().unwrap(),
        );
        assert_eq!(
            basic(&headers),
            Some(("an id".to_string(), "s:cret+".to_string()))
        );
        headers.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert_eq!(basic(&headers), None);
        assert_eq!(form_decoded("%4"), None);
    }
}
