//! The API's one error type, and the extractors whose rejections are API errors.

use super::super::auth::Scope;
use super::super::error::Error;
use super::MAX_BODY;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, Query, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The API's one error: a status and what to tell the client.
#[derive(Debug)]
pub struct ApiError {
    pub(super) status: StatusCode,
    pub(super) code: &'static str,
    pub(super) message: String,
    pub(super) hint: Option<String>,
    /// Seconds, for a 429's `Retry-After`.
    pub(super) retry_after: Option<u64>,
}

/// An error's JSON body.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl ApiError {
    pub(super) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            hint: None,
            retry_after: None,
        }
    }

    pub(super) fn unauthorized() -> ApiError {
        ApiError {
            hint: Some(
                "send `Authorization: Bearer <token>`; `kiln registry token create` makes one"
                    .into(),
            ),
            ..ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid token is required",
            )
        }
    }

    pub(super) fn forbidden(needed: Scope, bucket: Option<&str>) -> ApiError {
        let article = if needed == Scope::Admin { "an" } else { "a" };
        let what = match bucket {
            Some(b) => format!("{article} {} token for bucket `{b}`", needed.as_str()),
            None => format!("{article} {} token for every bucket", needed.as_str()),
        };
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this needs {what}"),
        )
    }
}

impl ApiError {
    /// Too many requests: try again after `wait`.
    pub(super) fn rate_limited(wait: std::time::Duration) -> ApiError {
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        ApiError {
            retry_after: Some(seconds),
            hint: Some(format!(
                "this token is over the server's --rate-limit; retry after {seconds} s"
            )),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests for this token",
            )
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let hint = e.hint().map(str::to_string);
        let (status, code) = match &e {
            Error::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            Error::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            Error::Exists { .. } => (StatusCode::CONFLICT, "exists"),
            Error::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid"),
            Error::Revoked { .. } => (StatusCode::CONFLICT, "revoked"),
            Error::Storage { message } => {
                eprintln!("error: registry storage: {message}");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage",
                    "the registry's storage failed; the server's log says why",
                );
            }
        };
        ApiError {
            hint,
            ..ApiError::new(status, code, e.to_string())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_string(),
            message: self.message,
            hint: self.hint,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// A JSON body whose rejections (malformed, unknown field, too large) are API errors.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

fn json_rejection(e: JsonRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is larger than {MAX_BODY} bytes"),
        );
    }
    // Malformed JSON, a missing or unknown field, a wrong type: all the client's to fix.
    ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.body_text())
}

/// Query parameters whose rejections are API errors.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Params(v)),
            Err(e) => Err(query_rejection(e)),
        }
    }
}

fn query_rejection(e: QueryRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.body_text())
}

pub(super) type ApiResult<T> = Result<Json<T>, ApiError>;
