//! `rolecall serve`: the audit as a local JSON-over-HTTP service (the `serve` feature).
//!
//! - [`api`]: the `/v1` endpoints, one table the router and the OpenAPI document are built
//!   from; each answers with the document the command line writes with `--format json`
//!   (through [`crate::ask`] and [`crate::report`]), errors as RFC 9457 problems
//!   ([`problem`]) in the command line's words.
//! - [`state`]: the immutable state answers read ([`State`]), swapped whole on reload, and
//!   whether it is stale. Whoever owns the [`crate::watch::Session`] (the command line's reload
//!   thread) publishes a new state after each reload; nothing here reloads on its own.
//! - [`http`]: the server: loopback unless told otherwise, a bearer token (compared in constant
//!   time) required anywhere else, bounded bodies, time per answer and answers at once; graceful
//!   shutdown. Plain HTTP only: TLS is left to a reverse proxy.
//! - [`decision`]: the decision log, one JSON line per answer, rotated by size.
//! - [`mod@openapi`]: the OpenAPI 3.1 document.

pub mod api;
pub mod decision;
pub mod http;
pub mod openapi;
pub mod problem;
pub mod state;

pub use decision::DecisionLog;
pub use http::{is_loopback, run, tokens_match, Options};
pub use openapi::{openapi, openapi_text, OPENAPI_PATH};
pub use problem::Problem;
pub use state::{Current, Shared, Source, State};

/// Why the server could not start.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ServeError {
    /// A non-loopback address without a token.
    #[error("`{0}` is not a loopback address, and no token was given")]
    #[diagnostic(help(
        "give `--token-file FILE` or `--token-env VAR`: anyone who can reach a non-loopback address could ask; or listen on 127.0.0.1"
    ))]
    TokenRequired(String),
    /// The token is empty or unreadable.
    #[error("the token {0}")]
    #[diagnostic(help(
        "put a long random token in the file or variable (e.g. `openssl rand -hex 32`)"
    ))]
    Token(String),
    /// The address cannot be listened on.
    #[error("cannot listen on `{addr}`: {reason}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The decision log cannot be opened.
    #[error("cannot append to the decision log `{path}`: {reason}")]
    #[diagnostic(help(
        "give a regular file (it is created when missing), not a link, device or FIFO"
    ))]
    DecisionLog {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The async runtime did not start.
    #[error("cannot start the server's runtime: {0}")]
    Runtime(String),
}
