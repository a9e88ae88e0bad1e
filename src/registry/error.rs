//! The registry's one error type: what went wrong, in words a person can act on.

/// A registry failure. Every variant carries a message for people; `hint` says how to proceed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bucket, product, release, channel or image that does not exist.
    #[error("{what} not found")]
    NotFound { what: String, hint: Option<String> },
    /// The request contradicts what is stored (a complete release is immutable, a channel is managed...).
    #[error("{message}")]
    Conflict {
        message: String,
        hint: Option<String>,
    },
    /// What the request would make exists already (a product, a channel, a build).
    #[error("{message}")]
    Exists {
        message: String,
        hint: Option<String>,
    },
    /// The request itself is malformed: a bad name, a bad time, a missing field.
    #[error("{message}")]
    Invalid {
        message: String,
        hint: Option<String>,
    },
    /// The release asked for was revoked.
    #[error("{message}")]
    Revoked {
        message: String,
        hint: Option<String>,
    },
    /// The storage underneath failed (a locked or corrupt database, a full disk).
    #[error("registry storage: {message}")]
    Storage { message: String },
}

/// The registry's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// `what` was not found.
    pub fn not_found(what: impl Into<String>) -> Error {
        Error::NotFound {
            what: what.into(),
            hint: None,
        }
    }

    /// A conflict with what is stored.
    pub fn conflict(message: impl Into<String>) -> Error {
        Error::Conflict {
            message: message.into(),
            hint: None,
        }
    }

    /// What the request would make exists already.
    pub fn exists(message: impl Into<String>) -> Error {
        Error::Exists {
            message: message.into(),
            hint: None,
        }
    }

    /// A malformed request.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid {
            message: message.into(),
            hint: None,
        }
    }

    /// A revoked release was asked for.
    pub fn revoked(message: impl Into<String>) -> Error {
        Error::Revoked {
            message: message.into(),
            hint: None,
        }
    }

    /// The same error with a hint saying how to proceed.
    pub fn with_hint(mut self, text: impl Into<String>) -> Error {
        let text = Some(text.into());
        match &mut self {
            Error::NotFound { hint, .. }
            | Error::Conflict { hint, .. }
            | Error::Exists { hint, .. }
            | Error::Invalid { hint, .. }
            | Error::Revoked { hint, .. } => *hint = text,
            Error::Storage { .. } => {}
        }
        self
    }

    /// How to proceed, when there is something to say.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::NotFound { hint, .. }
            | Error::Conflict { hint, .. }
            | Error::Exists { hint, .. }
            | Error::Invalid { hint, .. }
            | Error::Revoked { hint, .. } => hint.as_deref(),
            Error::Storage { .. } => None,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Storage {
            message: e.to_string(),
        }
    }
}
