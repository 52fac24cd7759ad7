//! Errors as RFC 9457 problem documents (`application/problem+json`): the HTTP status's
//! phrase as the title, the command line's message as the detail, its help beside it.

use serde_json::{json, Value};

use crate::ask::AskError;

/// A problem answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, in the command line's words.
    pub detail: String,
    /// What to do, when the command line says.
    pub help: Option<String>,
}

impl Problem {
    /// A problem with this status.
    #[must_use]
    pub fn new(status: u16, detail: impl Into<String>, help: Option<&str>) -> Self {
        Self {
            status,
            detail: detail.into(),
            help: help.map(str::to_owned),
        }
    }

    /// A question that cannot be answered as asked (400).
    #[must_use]
    pub fn bad(e: AskError) -> Self {
        Self {
            status: 400,
            detail: e.message,
            help: e.help,
        }
    }

    /// The HTTP status's phrase (RFC 9110), the title of an `about:blank` problem.
    #[must_use]
    pub fn title(&self) -> &'static str {
        match self.status {
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            405 => "Method Not Allowed",
            413 => "Content Too Large",
            415 => "Unsupported Media Type",
            422 => "Unprocessable Content",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Error",
        }
    }

    /// The problem document, with the answer's metadata.
    #[must_use]
    pub fn document(&self, meta: Value) -> Value {
        json!({
            "type": "about:blank",
            "title": self.title(),
            "status": self.status,
            "detail": self.detail,
            "help": self.help,
            "meta": meta,
        })
    }
}

impl From<AskError> for Problem {
    fn from(e: AskError) -> Self {
        Self::bad(e)
    }
}
