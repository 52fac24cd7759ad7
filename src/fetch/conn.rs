//! One connection to the API: the token (renewed whenever the API rejects it), the shared rate
//! budget and concurrency permits, GET with retries, page-number paging, and progress counting.
//!
//! Tokens and the client secret live in [`Secret`]s and are sent only in headers, and only to
//! the host they are for: no redirect is followed, and every request URL is checked to be on
//! the API base's origin. Error text passes through the one redactor ([`crate::redact`]) so a
//! library error can never echo a secret in any form rolecall produces. Every number a server
//! sends is bounded: page counts (`max_pages`), waits from headers (`max_wait`), the time an
//! answer may take (`attempt_timeout`, headers and body), the size of a body.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use super::budget::Budget;
use super::credentials::{Auth, Secret};
use super::options::PageSizeUse;
use super::options::{FetchError, FetchOptions, FetchStats, Progress};
use super::plan::{Family, LADDER};
use super::retry::{backoff, classify_capped, jitter, parse_retry_after, Verdict};
use super::wire;
use crate::model::Coverage;
use crate::redact::redact;

/// Attempts at a request whose deadline passed: one more try (the network may have hiccuped),
/// not `max_attempts`: a server that trickles once will trickle again, and each try costs a
/// whole deadline.
const TIMEOUT_ATTEMPTS: u32 = 2;

pub(super) enum Got {
    Body(Vec<u8>),
    Denied(Coverage),
    /// 400 for an oversized page: `response.entity.too.large`, or a bad request that names
    /// `pageSize` (API-FACTS §2.1).
    TooLarge,
}

/// What one paged family learned: the size it settled on, and the requests spent learning it.
#[derive(Debug, Clone, Copy, Default)]
struct Learned {
    size: Option<usize>,
    learning: usize,
    /// The ladder position the next probe starts at (past every size already refused), so a
    /// probe cut short by a 403 does not pay for the refused sizes again.
    next: usize,
}

pub(super) struct Conn {
    http: reqwest::Client,
    opts: FetchOptions,
    /// The API base, parsed: every request URL must be on its origin.
    base: reqwest::Url,
    /// Whether an `inin-ratelimit-reset` past the cap was logged at warning level already.
    said_reset: AtomicBool,
    token: tokio::sync::Mutex<Option<Secret>>,
    budget: Mutex<Budget>,
    permits: Semaphore,
    requests: AtomicUsize,
    /// The most requests this connection may send, token requests and retries included
    /// (`verify --max-requests`); `usize::MAX` for a fetch, whose plan bounds it.
    cap: AtomicUsize,
    retries: AtomicUsize,
    rate_limited: AtomicUsize,
    busy_micros: AtomicU64,
    planned: AtomicUsize,
    done: AtomicUsize,
    objects: Mutex<Vec<(&'static str, usize)>>,
    /// Per learning family: a gate the first request holds while it probes, so concurrent
    /// requests of the family wait and then fan out at the learned size.
    families: Mutex<HashMap<&'static str, Arc<tokio::sync::Mutex<Learned>>>>,
}

/// How many pages a listing has, going by its first page: its `pageCount`, but never more than
/// its `total` needs at the page size the server used, and only page 1 when that page is short
/// (empty, or fewer items than a page holds: the last page). Each page is a request against the
/// org's rate limit, so a broken or hostile server's count is not believed beyond what its
/// own page shows.
pub(super) fn pages_in<T>(first: &wire::Page<T>, asked: usize) -> usize {
    let per = first.page_size.filter(|&s| s > 0).unwrap_or(asked).max(1);
    if first.entities.len() < per {
        return 1;
    }
    let mut n = first.page_count.unwrap_or(1).max(1);
    if let Some(total) = first.total {
        n = n.min(total.div_ceil(per).max(1));
    }
    n
}

/// Why a response body was not read.
enum BodyError {
    /// Larger than the cap (bytes).
    TooLarge(u64),
    /// Cut off or unreadable.
    Read(String),
}

/// Read a response body of at most `max` bytes, chunk by chunk: a server that sends without end
/// is stopped at the cap, not read until memory runs out.
async fn read_body(mut resp: reqwest::Response, max: u64) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(BodyError::TooLarge(max));
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if (body.len() + chunk.len()) as u64 > max {
                    return Err(BodyError::TooLarge(max));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(BodyError::Read(e.to_string())),
        }
    }
}

/// What a request that got no answer ran into, in words: refused or unreachable, a TLS
/// failure, a timeout; with the underlying causes, which name the host and the OS error.
fn send_failure(e: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    let chain = causes.join(": ");
    let lower = chain.to_ascii_lowercase();
    let what = if e.is_timeout() {
        "no answer in time"
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        "the TLS handshake failed"
    } else if e.is_connect() {
        "could not connect (refused or unreachable)"
    } else {
        "the request failed"
    };
    if chain.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {chain}")
    }
}

fn too_large_body(max: u64) -> String {
    format!(
        "the response is larger than {} MiB, the most one response may be (`--max-response-mib`)",
        max >> 20
    )
}

/// What one attempt came to, within the per-attempt deadline.
enum Attempt {
    /// An answer: its status, headers, and its body read whole (or why not).
    Answered {
        status: u16,
        headers: reqwest::header::HeaderMap,
        body: Result<Vec<u8>, BodyError>,
    },
    /// No answer: the connection failed, or the request could not be built.
    Failed(reqwest::Error),
    /// The deadline passed before the body's last byte.
    TimedOut,
}

fn timed_out(deadline: Duration) -> String {
    format!(
        "timed out: no complete answer (headers and body) within {} (`--request-timeout`)",
        humantime::format_duration(deadline)
    )
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A URL's host and port, for messages (never its user info, path or query).
fn authority(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("(no host)");
    let shown = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    crate::text::visible(&shown).into_owned()
}

/// Where a redirect pointed, for the message: the host of its `Location`, resolved against the
/// request's URL.
fn redirect_target(from: &reqwest::Url, headers: &reqwest::header::HeaderMap) -> String {
    match header(headers, "location") {
        None => "(no `Location`)".to_owned(),
        Some(loc) => from.join(&loc).map_or_else(
            |_| "(an unreadable `Location`)".to_owned(),
            |u| authority(&u),
        ),
    }
}

/// Server-supplied text for a message: redacted, bounded, made visible.
fn shown(text: &str) -> String {
    let t: String = redact(text).chars().take(200).collect();
    crate::text::visible(&t).into_owned()
}

/// What a listing's first page claims, for [`FetchError::TooManyPages`].
fn claim_of<T>(first: &wire::Page<T>, asked: usize) -> String {
    let n = |v: Option<usize>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
    format!(
        "its first page claims `pageCount` {} and `total` {} with {} item(s) at page size {}",
        n(first.page_count),
        n(first.total),
        first.entities.len(),
        first.page_size.unwrap_or(asked)
    )
}

/// `base` with the page-number parameters.
fn page_path(base: &str, size: usize, number: usize) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}pageSize={size}&pageNumber={number}")
}

fn parse_page<T: DeserializeOwned>(base: &str, body: &[u8]) -> Result<wire::Page<T>, FetchError> {
    serde_json::from_slice(body).map_err(|e| FetchError::Shape {
        endpoint: endpoint_of(base),
        detail: e.to_string(),
    })
}

/// No page size down to the ladder's smallest was accepted.
fn too_large(base: &str, learning: usize) -> FetchError {
    FetchError::Http {
        endpoint: endpoint_of(base),
        attempts: u32::try_from(learning + 1).unwrap_or(u32::MAX),
        detail: format!(
            "HTTP 400: no page size down to {} was accepted",
            LADDER[LADDER.len() - 1]
        ),
    }
}

fn endpoint_of(path: &str) -> String {
    format!("GET {}", path.split('?').next().unwrap_or(path))
}

impl Conn {
    /// A connection with its HTTP client, budget and permits; no request is sent yet.
    pub(super) fn new(opts: FetchOptions) -> Result<Arc<Self>, FetchError> {
        // rustls needs a process-wide crypto provider; a second install is a harmless no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = reqwest::Url::parse(opts.api_base.trim_end_matches('/')).map_err(|e| {
            FetchError::Client(format!(
                "the API base `{}` is not a URL: {e}",
                shown(&opts.api_base)
            ))
        })?;
        let http = reqwest::Client::builder()
            // Credentials are for the host they are sent to; a redirect is an error naming
            // where it pointed. (reqwest drops `Authorization` only on a hop that changes
            // host, judged hop by hop: a second hop within another host carried it there.)
            .redirect(reqwest::redirect::Policy::none())
            // A host that never accepts the connection is said to be unreachable soon. The
            // attempt's whole deadline (headers and body) is `attempt`'s.
            .connect_timeout(opts.attempt_timeout.min(Duration::from_secs(15)))
            .build()
            .map_err(|e| FetchError::Client(e.to_string()))?;
        Ok(Arc::new(Self {
            http,
            base,
            said_reset: AtomicBool::new(false),
            // No burst, and 2% headroom: the server counts in fixed windows whose phase we do
            // not know, and one 429 costs a whole `Retry-After` pause for every request.
            budget: Mutex::new(
                Budget::new(opts.per_minute.saturating_mul(49) / 50, 1, Instant::now())
                    .with_concurrency(u32::try_from(opts.concurrency).unwrap_or(u32::MAX))
                    .with_max_wait(opts.max_wait),
            ),
            permits: Semaphore::new(opts.concurrency.max(1)),
            opts,
            token: tokio::sync::Mutex::new(None),
            requests: AtomicUsize::new(0),
            cap: AtomicUsize::new(usize::MAX),
            retries: AtomicUsize::new(0),
            rate_limited: AtomicUsize::new(0),
            busy_micros: AtomicU64::new(0),
            // The fixed part of the plan; pages and per-role requests are added as they become
            // known.
            planned: AtomicUsize::new(16),
            done: AtomicUsize::new(0),
            objects: Mutex::new(Vec::new()),
            families: Mutex::new(HashMap::new()),
        }))
    }

    /// Never send more than `cap` requests in all: a request past it fails with
    /// [`FetchError::Cap`] instead of being sent.
    pub(super) fn set_cap(&self, cap: usize) {
        self.cap.store(cap, Ordering::Relaxed);
    }

    /// Count one request about to be sent, unless the cap is reached.
    fn spend(&self, endpoint: &str) -> Result<(), FetchError> {
        let cap = self.cap.load(Ordering::Relaxed);
        self.requests
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < cap).then_some(n + 1)
            })
            .map(|_| ())
            .map_err(|_| FetchError::Cap {
                endpoint: endpoint.to_owned(),
                cap,
            })
    }

    pub(super) fn options(&self) -> &FetchOptions {
        &self.opts
    }

    /// Counters so far.
    pub(super) fn stats(&self, started: Instant, gaps: usize) -> FetchStats {
        FetchStats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            elapsed: started.elapsed(),
            gaps,
            busy: Duration::from_micros(self.busy_micros.load(Ordering::Relaxed)),
            page_sizes: self.page_sizes(),
        }
    }

    /// The page size each paged family used and the requests spent learning it, by name.
    fn page_sizes(&self) -> Vec<PageSizeUse> {
        let families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<PageSizeUse> = families
            .iter()
            .filter_map(|(name, gate)| {
                // Every probe has finished when the fetch reports: the lock is free.
                let l = gate.try_lock().ok()?;
                Some(PageSizeUse {
                    family: (*name).to_owned(),
                    size: l.size?,
                    learning_requests: l.learning,
                })
            })
            .collect();
        out.sort_by(|a, b| a.family.cmp(&b.family));
        out
    }

    fn gate(&self, family: &'static str) -> Arc<tokio::sync::Mutex<Learned>> {
        let mut families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(families.entry(family).or_default())
    }

    /// The current token; `stale` names a token the API rejected, to be replaced unless another
    /// request already replaced it. There is no limit on renewals: a fetch may outlive any
    /// number of token lifetimes (a request rejected with one token is sent again with the
    /// next, see `get_once`).
    pub(super) async fn token(&self, stale: Option<&Secret>) -> Result<Secret, FetchError> {
        let renew = stale.is_some();
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref() {
            if stale.is_none_or(|s| s != t) {
                return Ok(t.clone());
            }
        }
        let Auth::ClientCredentials { client_id, secret } = &self.opts.auth else {
            return match (&self.opts.auth, renew) {
                // A token with CR, LF or NUL cannot be sent (the HTTP client refuses the
                // header), and retrying it cannot help.
                (Auth::Token(t), false) if wire::is_token(t.expose()) => Ok(t.clone()),
                (Auth::Token(_), false) => Err(FetchError::Auth {
                    endpoint: "access token".to_owned(),
                    detail: "the access token is empty or holds characters other than visible \
                             ASCII, so it cannot be sent in a header"
                        .to_owned(),
                }),
                _ => Err(FetchError::Auth {
                    endpoint: "access token".to_owned(),
                    detail: "the access token was rejected or expired; get a new one".to_owned(),
                }),
            };
        };
        let url = format!("{}/oauth/token", self.opts.login_base.trim_end_matches('/'));
        log::debug!(
            "POST {url} (client credentials{})",
            if renew {
                ", renewing a rejected token"
            } else {
                ""
            }
        );
        let (status, body) = self.login(&url, client_id, secret).await?;
        if status != 200 {
            let err: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            // The server's words: bounded, with every registered secret taken out (a proxy
            // may echo the request: the raw secret, or the Basic credential, base64 of
            // `id:secret`) and made visible (they reach a terminal).
            let field = |k: &str| err.get(k).and_then(|v| v.as_str()).map(shown);
            let code = field("error").unwrap_or_else(|| "unknown error".to_owned());
            let said = field("error_description")
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            return Err(FetchError::Auth {
                endpoint: url,
                detail: format!("HTTP {status} `{code}`{said}"),
            });
        }
        let t = wire::Token::parse(&body).map_err(|detail| FetchError::Shape {
            endpoint: url.clone(),
            detail,
        })?;
        log::debug!("token issued, valid for {} s", t.expires_in.unwrap_or(0));
        let t = Secret::issued(t.access_token);
        *slot = Some(t.clone());
        Ok(t)
    }

    /// Count a retry and say how long to wait before it: the one backoff of every request, the
    /// login's included (100 ms doubling to 10 s, jittered; a server's `Retry-After` first).
    fn retry_wait(&self, attempt: u32, after: Option<Duration>) -> Duration {
        self.retries.fetch_add(1, Ordering::Relaxed);
        backoff(
            attempt,
            after,
            Duration::from_millis(100),
            Duration::from_secs(10),
            jitter(),
        )
    }

    /// Send a request and read its answer whole within the per-attempt deadline, which covers
    /// the headers and the body: a server that trickles either is cut off at it.
    async fn attempt(&self, req: reqwest::RequestBuilder) -> Attempt {
        let max = self.opts.max_body_bytes;
        let run = async {
            match req.send().await {
                Err(e) => Attempt::Failed(e),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    let body = read_body(resp, max).await;
                    Attempt::Answered {
                        status,
                        headers,
                        body,
                    }
                }
            }
        };
        tokio::time::timeout(self.opts.attempt_timeout, run)
            .await
            .unwrap_or(Attempt::TimedOut)
    }

    /// Send the client-credentials login, retried like any request on connection errors,
    /// timeouts, 429 (after its `Retry-After`) and 5xx answers. Returns the status and body of
    /// another answer below 500; a redirect is an error naming where it pointed; otherwise a
    /// [`FetchError::Login`] that says what happened (refused, TLS, timeout, the last status).
    async fn login(
        &self,
        url: &str,
        client_id: &str,
        secret: &Secret,
    ) -> Result<(u16, Vec<u8>), FetchError> {
        // The Basic credential is the secret in another encoding: a server that echoes the
        // header must not get it printed.
        crate::redact::register_basic(client_id, secret.expose());
        let target = reqwest::Url::parse(url).map_err(|e| {
            FetchError::Client(format!("the login URL `{}` is not a URL: {e}", shown(url)))
        })?;
        let fail = |attempts, detail| FetchError::Login {
            endpoint: url.to_owned(),
            attempts,
            detail,
        };
        let (mut attempt, mut timeouts) = (0, 0);
        loop {
            attempt += 1;
            // The login counts against a request cap like any request (`verify`'s).
            self.spend(url)?;
            let req = self
                .http
                .post(target.clone())
                .basic_auth(client_id, Some(secret.expose()))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials");
            let mut retry_after = None;
            let failure = match self.attempt(req).await {
                Attempt::Answered {
                    status,
                    headers,
                    body,
                } => {
                    if (300..400).contains(&status) {
                        return Err(FetchError::Redirect {
                            endpoint: format!("POST {url}"),
                            status,
                            to: redirect_target(&target, &headers),
                        });
                    }
                    retry_after =
                        header(&headers, "retry-after").and_then(|v| parse_retry_after(&v));
                    match body {
                        // 429 and 5xx are the service's state, not a verdict on the credentials.
                        Ok(body) if status < 500 && status != 429 => return Ok((status, body)),
                        Ok(_) if status == 429 => match retry_after {
                            Some(after) if after > self.opts.max_wait => {
                                return Err(fail(
                                    attempt,
                                    format!(
                                        "the login service answered HTTP 429 and asked to wait \
                                         {}, longer than the {} rolecall waits",
                                        humantime::format_duration(after),
                                        humantime::format_duration(self.opts.max_wait)
                                    ),
                                ))
                            }
                            _ => {
                                "the login service answered HTTP 429 (too many requests)".to_owned()
                            }
                        },
                        Ok(_) => format!("the login service answered HTTP {status}"),
                        Err(BodyError::TooLarge(max)) => too_large_body(max),
                        Err(BodyError::Read(e)) => {
                            format!("the answer was cut off: {}", redact(&e))
                        }
                    }
                }
                Attempt::Failed(e) => redact(&send_failure(&e)).into_owned(),
                Attempt::TimedOut => {
                    timeouts += 1;
                    timed_out(self.opts.attempt_timeout)
                }
            };
            if attempt >= self.opts.max_attempts || timeouts >= TIMEOUT_ATTEMPTS {
                return Err(fail(attempt, failure));
            }
            // A 5xx's `Retry-After` past the cap is left to the backoff.
            let after = retry_after.filter(|a| *a <= self.opts.max_wait);
            let wait = self.retry_wait(attempt, after);
            log::debug!("POST {url}: {failure}; attempt {attempt} again in {wait:?}");
            tokio::time::sleep(wait).await;
        }
    }

    /// Wait for a slot in the shared budget and for admission: a pause (a 429 elsewhere) or
    /// a used-up server window sends the waiter back for a later slot.
    async fn take_budget(&self) {
        loop {
            let wait = self.budget().reserve(Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let admitted = self.budget().admit(Instant::now());
            match admitted {
                Ok(()) => return,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    fn budget(&self) -> std::sync::MutexGuard<'_, Budget> {
        self.budget.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replace the planned request count (a fetch starts from its fixed part instead).
    pub(super) fn set_planned(&self, requests: usize) {
        self.planned.store(requests, Ordering::Relaxed);
    }

    pub(super) fn plan(&self, requests: usize) {
        self.planned.fetch_add(requests, Ordering::Relaxed);
    }

    /// One more response: tell the progress callback, if there is one.
    fn progress(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(f) = &self.opts.progress {
            let objects = self
                .objects
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            f(&Progress {
                done,
                planned: self.planned.load(Ordering::Relaxed).max(done),
                objects,
            });
        }
    }

    /// GET, then report progress.
    pub(super) async fn get(&self, path: &str, dataset: &str) -> Result<Got, FetchError> {
        let got = self.send_once(path, dataset, None).await?;
        self.progress();
        Ok(got)
    }

    /// POST a JSON body (a usage query job), then report progress: the same budget, retries,
    /// token renewal, origin pinning and gaps as a GET. A retried POST may start a second job;
    /// jobs only read, so the cost is one more job on the platform.
    pub(super) async fn post(
        &self,
        path: &str,
        body: &[u8],
        dataset: &str,
    ) -> Result<Got, FetchError> {
        let got = self.send_once(path, dataset, Some(body)).await?;
        self.progress();
        Ok(got)
    }

    /// The URL of a request path: the API base and the path, refused unless it is on the
    /// base's origin. Appended to `https://api.example`, a path such as `@evil.example/x` would
    /// be a request to `evil.example` carrying the token.
    fn url_of(&self, path: &str) -> Result<reqwest::Url, String> {
        let base = self.base.as_str().trim_end_matches('/');
        let url = reqwest::Url::parse(&format!("{base}{path}")).map_err(|e| {
            format!(
                "`{}` does not make a URL with the API base: {e}",
                shown(path)
            )
        })?;
        if !path.starts_with('/') || url.origin() != self.base.origin() {
            return Err(format!(
                "`{}` would be sent to `{}`, not to the API at `{}`",
                shown(path),
                authority(&url),
                authority(&self.base)
            ));
        }
        Ok(url)
    }

    /// The request path a URI from a response (`nextUri`) names, if it is a path of the API:
    /// an absolute path under `/api/`, or an absolute URL on the API base's origin and under
    /// its path. Anything else is refused, naming where it points.
    pub(super) fn api_path(&self, uri: &str) -> Result<String, String> {
        let base = self.base.as_str().trim_end_matches('/');
        let path = if uri.starts_with('/') && !uri.starts_with("//") {
            uri.to_owned()
        } else {
            let url = reqwest::Url::parse(uri).map_err(|_| {
                format!(
                    "`{}` is neither an absolute path nor a URL (it is not appended to the API \
                     base)",
                    shown(uri)
                )
            })?;
            if url.origin() != self.base.origin() {
                return Err(format!(
                    "`{}` points to `{}`, not to the API at `{}`",
                    shown(uri),
                    authority(&url),
                    authority(&self.base)
                ));
            }
            match url.as_str().strip_prefix(base) {
                Some(rest) if rest.starts_with('/') => rest.to_owned(),
                _ => return Err(format!("`{}` is outside the API base `{base}`", shown(uri))),
            }
        };
        if !path.starts_with("/api/") {
            return Err(format!("`{}` is not a path of the API", shown(&path)));
        }
        self.url_of(&path)?;
        Ok(path)
    }

    /// GET with budget and retries; a 401 is sent again with a renewed token; a 403/404
    /// becomes a coverage gap; a redirect is an error.
    #[expect(
        clippy::too_many_lines,
        reason = "one attempt loop: every answer's handling reads best beside the others"
    )]
    async fn send_once(
        &self,
        path: &str,
        dataset: &str,
        body: Option<&[u8]>,
    ) -> Result<Got, FetchError> {
        let endpoint = match body {
            Some(_) => endpoint_of(path).replacen("GET ", "POST ", 1),
            None => endpoint_of(path),
        };
        let url = self.url_of(path).map_err(|why| FetchError::ForeignUri {
            endpoint: endpoint.clone(),
            field: "request path",
            why,
        })?;
        let (mut attempt, mut timeouts) = (0, 0);
        loop {
            attempt += 1;
            // The permit first, then the slot: admission must come right before sending, or
            // admitted requests queue for permits while the server's window runs out.
            let permit = self
                .permits
                .acquire()
                .await
                .map_err(|e| FetchError::Client(e.to_string()))?;
            self.spend(&endpoint)?;
            self.take_budget().await;
            // The token last, right before sending: a request that waited in the queue while
            // the token was renewed sends the new one, not the one current when it was queued.
            let token = match self.token(None).await {
                Ok(t) => t,
                Err(e) => {
                    self.budget().answered(Instant::now(), None);
                    return Err(e);
                }
            };
            let sent_at = Instant::now();
            let req = match body {
                Some(b) => self
                    .http
                    .post(url.clone())
                    .header("content-type", "application/json")
                    .body(b.to_vec()),
                None => self.http.get(url.clone()),
            }
            .bearer_auth(token.expose());
            let (status, retry_after, detail) = match self.attempt(req).await {
                Attempt::Answered {
                    status,
                    headers,
                    body,
                } => {
                    let h = |n: &str| header(&headers, n);
                    let reset = h("inin-ratelimit-reset").map(|v| v.parse::<u32>());
                    if let Some(Ok(r)) = reset {
                        self.say_capped_reset(&endpoint, r);
                    }
                    let limits = match (
                        h("inin-ratelimit-count").map(|v| v.parse()),
                        h("inin-ratelimit-allowed").map(|v| v.parse()),
                        reset,
                    ) {
                        (Some(Ok(c)), Some(Ok(a)), Some(Ok(r))) => Some((c, a, r)),
                        _ => None,
                    };
                    self.budget().answered(Instant::now(), limits);
                    if (300..400).contains(&status) {
                        return Err(FetchError::Redirect {
                            endpoint,
                            status,
                            to: redirect_target(&url, &headers),
                        });
                    }
                    let retry_after = h("retry-after").and_then(|v| parse_retry_after(&v));
                    log::trace!(
                        "{endpoint}: inin-ratelimit-count={:?} allowed={:?} reset={:?} retry-after={:?}",
                        h("inin-ratelimit-count"),
                        h("inin-ratelimit-allowed"),
                        h("inin-ratelimit-reset"),
                        h("retry-after"),
                    );
                    let body = match body {
                        Err(BodyError::TooLarge(max)) => {
                            // Not transient: the same request would send the same body.
                            return Err(FetchError::Http {
                                endpoint,
                                attempts: attempt,
                                detail: too_large_body(max),
                            });
                        }
                        Err(BodyError::Read(e)) => Err(e),
                        Ok(b) => Ok(b),
                    };
                    log::debug!(
                        "GET {path} -> {status} in {} ms (attempt {attempt})",
                        sent_at.elapsed().as_millis()
                    );
                    self.busy_micros.fetch_add(
                        u64::try_from(sent_at.elapsed().as_micros()).unwrap_or(u64::MAX),
                        Ordering::Relaxed,
                    );
                    match body {
                        // 202: a usage job accepted, or its results not final yet.
                        Ok(body) if status == 200 || status == 202 => return Ok(Got::Body(body)),
                        Ok(body) if status == 400 => {
                            let err: wire::ErrorBody =
                                serde_json::from_slice(&body).unwrap_or_default();
                            let code = err.code.as_deref().unwrap_or_default();
                            let names_size = err
                                .message
                                .as_deref()
                                .is_some_and(|m| m.contains("pageSize"));
                            if code == "response.entity.too.large" || names_size {
                                return Ok(Got::TooLarge);
                            }
                            (Some(status), retry_after, format!("HTTP 400 `{}`", shown(code)))
                        }
                        Ok(body) if status == 403 || status == 404 => {
                            let err: wire::ErrorBody =
                                serde_json::from_slice(&body).unwrap_or_default();
                            return Ok(Got::Denied(Coverage {
                                endpoint,
                                dataset: dataset.to_owned(),
                                status: "gap".to_owned(),
                                http_status: Some(status),
                                error_code: err.code,
                                message: err.message,
                                permission: None,
                            }));
                        }
                        Ok(_) => match retry_after {
                            Some(after) if status == 429 && after > self.opts.max_wait => (
                                Some(status),
                                retry_after,
                                format!(
                                    "HTTP 429, asking to wait {}, longer than the {} rolecall waits",
                                    humantime::format_duration(after),
                                    humantime::format_duration(self.opts.max_wait)
                                ),
                            ),
                            _ => (Some(status), retry_after, format!("HTTP {status}")),
                        },
                        Err(e) => (None, None, format!("truncated response: {}", redact(&e))),
                    }
                }
                Attempt::Failed(e) => {
                    self.budget().answered(Instant::now(), None);
                    if e.is_builder() {
                        // Not transient: the same request cannot be built the next time either.
                        return Err(FetchError::Http {
                            endpoint,
                            attempts: attempt,
                            detail: "the request could not be built".to_owned(),
                        });
                    }
                    (
                        None,
                        None,
                        format!("connection error: {}", redact(&send_failure(&e))),
                    )
                }
                Attempt::TimedOut => {
                    self.budget().answered(Instant::now(), None);
                    timeouts += 1;
                    (None, None, timed_out(self.opts.attempt_timeout))
                }
            };
            drop(permit);
            if status == Some(401) && attempt < self.opts.max_attempts {
                // The token expired or was revoked, or another request renewed it while this
                // one was on its way: send it again with the newest token (a new login unless
                // another request already made one). Each rejected token costs the request an
                // attempt, so a server that rejects every token ends the fetch after
                // `max_attempts`; a fetch that outlives any number of token lifetimes does not.
                log::debug!("{endpoint}: 401; sending it again with a renewed token");
                // The request is sent again: that is a retry, and the summary counts it.
                self.retries.fetch_add(1, Ordering::Relaxed);
                self.token(Some(&token)).await?;
                continue;
            }
            if status == Some(429) {
                self.rate_limited.fetch_add(1, Ordering::Relaxed);
            }
            match classify_capped(status, retry_after, self.opts.max_wait) {
                Verdict::Transient(after)
                    if attempt < self.opts.max_attempts && timeouts < TIMEOUT_ATTEMPTS =>
                {
                    let wait = self.retry_wait(attempt, after);
                    log::debug!("{endpoint}: {detail}; attempt {attempt} again in {wait:?}");
                    if status == Some(429) {
                        self.budget().pause(Instant::now(), wait);
                    }
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    return Err(FetchError::Http {
                        endpoint,
                        attempts: attempt,
                        detail,
                    })
                }
            }
        }
    }

    /// Log an `inin-ratelimit-reset` past the cap on waits from headers: at warning level the
    /// first time (once per connection, not per response), at debug level after.
    fn say_capped_reset(&self, endpoint: &str, reset_secs: u32) {
        let asked = Duration::from_secs(u64::from(reset_secs));
        if asked <= self.opts.max_wait {
            return;
        }
        let cap = humantime::format_duration(self.opts.max_wait);
        if self.said_reset.swap(true, Ordering::Relaxed) {
            log::debug!("{endpoint}: `inin-ratelimit-reset: {reset_secs}` capped at {cap}");
        } else {
            log::warn!(
                "{endpoint}: the server says its rate window resets in {reset_secs} s \
                 (`inin-ratelimit-reset`); waiting at most {cap}, the cap on waits from headers"
            );
        }
    }

    pub(super) async fn json<T: DeserializeOwned>(
        &self,
        path: &str,
        dataset: &str,
    ) -> Result<Result<T, Coverage>, FetchError> {
        match self.get(path, dataset).await? {
            Got::Denied(c) => Ok(Err(c)),
            Got::TooLarge => Err(FetchError::Http {
                endpoint: endpoint_of(path),
                attempts: 1,
                detail: "HTTP 400: the page is over the size limit".to_owned(),
            }),
            Got::Body(b) => serde_json::from_slice(&b)
                .map(Ok)
                .map_err(|e| FetchError::Shape {
                    endpoint: endpoint_of(path),
                    detail: e.to_string(),
                }),
        }
    }

    /// Every page of a page-number listing: page 1 first (it tells the page count), then the
    /// rest concurrently, at the family's page size.
    pub(super) async fn pages<T: DeserializeOwned + Send + 'static>(
        self: &Arc<Self>,
        base: &str,
        family: Family,
        dataset: &str,
    ) -> Result<Result<Vec<T>, Coverage>, FetchError> {
        Ok(self
            .pages_capped(base, family, dataset, usize::MAX)
            .await?
            .map(|(items, _)| items))
    }

    /// Page 1 of a listing, at the family's size: a size known from the facts, the size learned
    /// by an earlier request, or (for the first request of a learning family, holding its gate
    /// so the others wait) the largest size on the ladder the server accepts.
    async fn first_page<T: DeserializeOwned>(
        &self,
        base: &str,
        family: Family,
        dataset: &str,
    ) -> Result<Result<(wire::Page<T>, usize), Coverage>, FetchError> {
        let gate = self.gate(family.name);
        if let Some(size) = family.fixed {
            // Known from the facts: recorded, never probed.
            gate.lock().await.size = Some(size);
            return Ok(self
                .json(&page_path(base, size, 1), dataset)
                .await?
                .map(|p| (p, size)));
        }
        let mut learned = gate.lock().await;
        // Learned: release the gate before asking, so the family's requests run at once. A
        // refusal after all steps the family down (each time to a smaller size: bounded).
        while let Some(size) = learned.size {
            drop(learned);
            match self.get(&page_path(base, size, 1), dataset).await? {
                Got::Body(b) => return Ok(Ok((parse_page(base, &b)?, size))),
                Got::Denied(gap) => return Ok(Err(gap)),
                Got::TooLarge => {
                    if self.step_down(family, size).await.is_none() {
                        return Err(too_large(base, 0));
                    }
                }
            }
            learned = gate.lock().await;
        }
        // The first request probes, holding the gate: the others wait for its answer.
        while let Some(&size) = LADDER.get(learned.next) {
            match self.get(&page_path(base, size, 1), dataset).await? {
                Got::Body(b) => {
                    learned.size = Some(size);
                    return Ok(Ok((parse_page(base, &b)?, size)));
                }
                Got::Denied(gap) => return Ok(Err(gap)),
                Got::TooLarge => {
                    log::debug!(
                        "{}: page size {size} refused; trying a smaller one",
                        family.name
                    );
                    learned.learning += 1;
                    learned.next += 1;
                    // One more request than the plan knew of.
                    self.plan(1);
                }
            }
        }
        Err(too_large(base, learned.learning))
    }

    /// A page at the learned size was refused as too large after all (the limit is on the
    /// response's size, and this listing's items are bigger): step the family down one size,
    /// unless another request already did. `None` when no smaller size is left.
    async fn step_down(&self, family: Family, refused: usize) -> Option<usize> {
        if family.fixed.is_some() {
            return None;
        }
        let gate = self.gate(family.name);
        let mut learned = gate.lock().await;
        match learned.size {
            Some(size) if size < refused => return Some(size),
            _ => {}
        }
        let smaller = LADDER.iter().copied().find(|&s| s < refused)?;
        learned.size = Some(smaller);
        learned.learning += 1;
        learned.next = LADDER
            .iter()
            .position(|&s| s == smaller)
            .unwrap_or(LADDER.len());
        self.plan(1);
        Some(smaller)
    }

    /// At most `max_pages` pages of a listing, and whether there were more. A page refused as
    /// too large steps the family down and reads the listing again from page 1 at the new size.
    pub(super) async fn pages_capped<T: DeserializeOwned + Send + 'static>(
        self: &Arc<Self>,
        base: &str,
        family: Family,
        dataset: &str,
        max_pages: usize,
    ) -> Result<Result<(Vec<T>, bool), Coverage>, FetchError> {
        // Bounded: each retry is at a smaller ladder size.
        for _ in 0..=LADDER.len() {
            let (first, size) = match self.first_page::<T>(base, family, dataset).await? {
                Ok(p) => p,
                Err(gap) => return Ok(Err(gap)),
            };
            // Never past the page count the first page reported, or what its own items show;
            // and never past the cap on pages per listing: an error before page 2 is asked.
            let available = pages_in(&first, size);
            let count = available.min(max_pages);
            if count > self.opts.max_pages {
                return Err(FetchError::TooManyPages {
                    endpoint: endpoint_of(base),
                    cap: self.opts.max_pages,
                    claim: claim_of(&first, size),
                });
            }
            let pages = join_all((2..=count).map(|n| {
                let conn = Arc::clone(self);
                let (path, dataset) = (page_path(base, size, n), dataset.to_owned());
                (n, async move { conn.get(&path, &dataset).await })
            }))
            .await?;
            let mut rest = Vec::new();
            let mut refused = false;
            for (n, got) in pages {
                match got {
                    Got::Body(b) => rest.push((n, parse_page::<T>(base, &b)?.entities)),
                    Got::Denied(gap) => return Ok(Err(gap)),
                    Got::TooLarge => refused = true,
                }
            }
            if refused {
                if self.step_down(family, size).await.is_none() {
                    return Err(too_large(base, 0));
                }
                continue;
            }
            self.count(dataset, first.entities.len());
            let total = first.total;
            let mut items = first.entities;
            rest.sort_by_key(|(n, _)| *n);
            for (_, e) in rest {
                self.count(dataset, e.len());
                items.extend(e);
            }
            // Read to the end, yet fewer items than the listing said it has: what is missing is
            // unknown, never an empty "ok" (rules that read it say unknown, not clean).
            if let Some(t) = total.filter(|&t| available <= count && items.len() < t) {
                return Ok(Err(Coverage {
                    endpoint: endpoint_of(base),
                    dataset: dataset.to_owned(),
                    status: "gap".to_owned(),
                    http_status: None,
                    error_code: Some("incomplete".to_owned()),
                    message: Some(format!(
                        "the listing returned {} of the {t} item(s) its first page reported",
                        items.len()
                    )),
                    permission: None,
                }));
            }
            return Ok(Ok((items, available > count)));
        }
        Err(too_large(base, LADDER.len()))
    }

    /// Every page of one listing per id (`path_of(id)`), all ids concurrently, in completion
    /// order; each id costs at least one request more in the plan.
    pub(super) async fn pages_each<T: DeserializeOwned + Send + 'static>(
        self: &Arc<Self>,
        ids: Vec<String>,
        path_of: fn(&str) -> String,
        family: Family,
        dataset: &'static str,
    ) -> Result<Vec<(String, Result<Vec<T>, Coverage>)>, FetchError> {
        self.plan(ids.len());
        join_all(ids.into_iter().map(|id| {
            let conn = Arc::clone(self);
            let path = path_of(&id);
            (
                id,
                async move { conn.pages::<T>(&path, family, dataset).await },
            )
        }))
        .await
    }

    /// Count objects read without counting a request (the request was counted by `json`).
    pub(super) fn count(&self, dataset: &str, n: usize) {
        let mut o = self.objects.lock().unwrap_or_else(PoisonError::into_inner);
        let r = resource_name(dataset);
        match o.iter_mut().find(|(x, _)| *x == r) {
            Some(e) => e.1 += n,
            None => o.push((r, n)),
        }
    }
}

/// Run every task concurrently and collect `(key, output)` in completion order; the first
/// failure drops (and so cancels) the rest.
pub(super) async fn join_all<K, T, F>(
    tasks: impl IntoIterator<Item = (K, F)>,
) -> Result<Vec<(K, T)>, FetchError>
where
    K: Send + 'static,
    T: Send + 'static,
    F: std::future::Future<Output = Result<T, FetchError>> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for (key, task) in tasks {
        set.spawn(async move { (key, task.await) });
    }
    let mut done = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (key, out) = joined.map_err(|e| FetchError::Client(e.to_string()))?;
        done.push((key, out?));
    }
    Ok(done)
}

fn resource_name(dataset: &str) -> &'static str {
    match dataset {
        "roles" => "roles",
        "grants" => "grants",
        "users" => "users",
        "groups" => "groups",
        "oauthClients" => "clients",
        "divisions" => "divisions",
        "permissionCatalog" => "permissions",
        "accessPolicies" => "policies",
        "businessUnits" | "managementUnits" => "wfm units",
        "operations" => "operations",
        _ => "settings",
    }
}
