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
    /// The most pages one listing may have ([`DEFAULT_MAX_PAGES`] unless set): a page count
    /// (or a cursor chain) past it fails the fetch naming the listing, before the pages are
    /// asked for. Each page is a request against the org's rate limit, so a server's claim is
    /// not believed without limit.
    pub max_pages: usize,
    /// The deadline of one attempt, from sending the request to the last byte of the body
    /// ([`DEFAULT_ATTEMPT_TIMEOUT`] unless set): a server that trickles its headers or body is
    /// cut off at it, and the failure is reported as a timeout.
    pub attempt_timeout: Duration,
    /// The longest wait a server's header can impose (`Retry-After`, `inin-ratelimit-reset`;
    /// [`MAX_RETRY_AFTER`] unless set). A longer `Retry-After` fails the request; a longer
    /// window reset is waited only this long (and logged).
    pub max_wait: Duration,
}

/// The default most pages per listing: 5,000,000 users at 500 a page.
pub const DEFAULT_MAX_PAGES: usize = 10_000;

/// The default deadline of one attempt (headers and body).
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

pub use super::retry::MAX_RETRY_AFTER;

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
            .field("max_pages", &self.max_pages)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("max_wait", &self.max_wait)
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
    /// A request would have gone past the most requests allowed (`verify --max-requests`).
    #[error("not sending `{endpoint}`: the limit of {cap} request(s) is reached")]
    #[diagnostic(
        code(rolecall::fetch::cap),
        help("raise `--max-requests`, or ask about fewer pairs")
    )]
    Cap {
        /// Method and path (or the token URL).
        endpoint: String,
        /// The limit.
        cap: usize,
    },
    /// An answer was a redirect. None is followed: the credentials sent with a request are for
    /// the host it was sent to, and a redirect would carry them (or the next hop's) elsewhere.
    #[error(
        "`{endpoint}` answered HTTP {status}, a redirect to `{to}`; redirects are not followed"
    )]
    #[diagnostic(
        code(rolecall::fetch::redirect),
        help("credentials are sent only to the host they are for; if the org's API or login host is another, give it with `--region`, `--api-base` or `--login-base`")
    )]
    Redirect {
        /// Method and URL (or path) of the request.
        endpoint: String,
        /// The 3xx status.
        status: u16,
        /// Where it pointed: the host and port (`(none)` without a `Location`).
        to: String,
    },
    /// A URI the server gave (`nextUri`) is not a path of the API base's origin.
    #[error("refused the `{field}` of `{endpoint}`: {why}")]
    #[diagnostic(
        code(rolecall::fetch::foreign_uri),
        help("a listing's next page must be on the API's own host and under `/api/`; the token is never sent elsewhere")
    )]
    ForeignUri {
        /// Method and path of the listing.
        endpoint: String,
        /// The envelope field (`nextUri`).
        field: &'static str,
        /// Why, naming the host it pointed to.
        why: String,
    },
    /// A listing has more pages than allowed.
    #[error("`{endpoint}` has more than {cap} page(s) ({claim}); not reading it")]
    #[diagnostic(
        code(rolecall::fetch::pages),
        help("if the org really is this large, raise `--max-pages`; otherwise the server's page counts are wrong")
    )]
    TooManyPages {
        /// Method and path of the listing.
        endpoint: String,
        /// The limit (`--max-pages`).
        cap: usize,
        /// What the server claimed, or that its cursors did not end.
        claim: String,
    },
    /// The HTTP client could not be set up.
    #[error("cannot start the HTTP client: {0}")]
    #[diagnostic(code(rolecall::fetch::client))]
    Client(String),
}
