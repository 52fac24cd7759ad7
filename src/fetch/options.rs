//! What a fetch is given and what it gives back: [`FetchOptions`], progress reports,
//! [`FetchStats`] and [`FetchError`]. Shared by the connection (`conn`) and the plan run over
//! it (`client`), so neither imports the other's types.

use std::sync::Arc;
use std::time::Duration;

use miette::Diagnostic;
use thiserror::Error;

use super::credentials::Auth;

/// A progress report: requests done and planned so far, and objects read per resource.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Requests answered.
    pub done: usize,
    /// Requests known to be needed (grows as page counts become known).
    pub planned: usize,
    /// Objects read so far per resource (`users`, `grants`, …).
    pub objects: Vec<(&'static str, usize)>,
}

/// Called with progress after every response.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// How to fetch.
#[derive(Clone)]
pub struct FetchOptions {
    /// API base URL, e.g. `https://api.mypurecloud.ie`.
    pub api_base: String,
    /// Login base URL, e.g. `https://login.mypurecloud.ie`.
    pub login_base: String,
    /// Credentials.
    pub auth: Auth,
    /// Region text recorded in the snapshot's source.
    pub region: Option<String>,
    /// Requests per minute (the client-credentials default is 300).
    pub per_minute: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Attempts per request before giving up.
    pub max_attempts: u32,
    /// Progress callback (the CLI draws a bar from it).
    pub progress: Option<ProgressFn>,
    /// Largest response body read, in bytes ([`DEFAULT_MAX_BODY`] unless set): a larger one
    /// fails the fetch with an error naming the endpoint.
    pub max_body_bytes: u64,
}

/// The default largest response body: 256 MiB, far above any documented page (a page of 500
/// users with their authorization is a few MiB).
pub const DEFAULT_MAX_BODY: u64 = 256 << 20;

impl std::fmt::Debug for FetchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchOptions")
            .field("api_base", &self.api_base)
            .field("login_base", &self.login_base)
            .field("auth", &self.auth)
            .field("per_minute", &self.per_minute)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// What the fetch did.
#[derive(Debug, Clone, Default)]
pub struct FetchStats {
    /// HTTP requests sent (token requests included).
    pub requests: usize,
    /// Requests repeated after a transient failure.
    pub retries: usize,
    /// 429 responses.
    pub rate_limited: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Endpoints that could not be read (403).
    pub gaps: usize,
    /// Time requests spent in flight, summed (busy share = busy / (elapsed × concurrency)).
    pub busy: Duration,
    /// The page size each paged family used, and the requests spent learning it.
    pub page_sizes: Vec<PageSizeUse>,
}

pub use crate::model::PageSizeUse;

/// A fetch that could not complete. No snapshot is produced; an existing file stays as it was.
#[derive(Debug, Error, Diagnostic)]
#[non_exhaustive]
pub enum FetchError {
    /// The login service refused the credentials (or the access token was rejected).
    #[error("authentication failed at `{endpoint}`: {detail}")]
    #[diagnostic(
        code(rolecall::fetch::auth),
        help("check the client id and secret, and that the region matches the org")
    )]
    Auth {
        /// The token URL (no credentials).
        endpoint: String,
        /// The status and error code.
        detail: String,
    },
    /// The login host could not be used: no connection, a TLS failure, a timeout, or 5xx
    /// answers, after retries. The credentials were not judged.
    #[error("cannot log in at `{endpoint}` after {attempts} attempt(s): {detail}")]
    #[diagnostic(
        code(rolecall::fetch::login),
        help("check the network and any proxy, and that the region (or `--login-base`) is the org's; if the login service answered 5xx, try again later")
    )]
    Login {
        /// The token URL (no credentials).
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// What happened.
        detail: String,
    },
    /// A request failed for good.
    #[error("failed to fetch `{endpoint}` after {attempts} attempt(s): {detail}")]
    #[diagnostic(code(rolecall::fetch::http))]
    Http {
        /// Method and path.
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// The last status or connection error.
        detail: String,
    },
    /// The response was not the documented shape.
    #[error("unexpected response from `{endpoint}`: {detail}")]
    #[diagnostic(code(rolecall::fetch::shape))]
    Shape {
        /// Method and path.
        endpoint: String,
        /// The parse error.
        detail: String,
    },
    /// The HTTP client could not be set up.
    #[error("cannot start the HTTP client: {0}")]
    #[diagnostic(code(rolecall::fetch::client))]
    Client(String),
}
