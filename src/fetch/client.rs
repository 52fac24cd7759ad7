//! The live fetch: OAuth client credentials, the request plan executed concurrently under one
//! rate budget, retries, paging, and coverage gaps for endpoints the credentials may not read.
//!
//! Tokens and the client secret live in [`Secret`]s and are sent only in headers; errors name
//! endpoints and attempts, never credentials.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use miette::Diagnostic;
use serde::de::DeserializeOwned;
use thiserror::Error;
use tokio::sync::Semaphore;

use super::budget::Budget;
use super::credentials::{Auth, Secret};
use super::plan::page_size;
use super::retry::{backoff, classify, parse_retry_after, Verdict};
use super::wire;
use crate::model::{Coverage, OrgSnapshot, SnapshotSource, FORMAT};

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
}

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
}

/// A fetch that could not complete. No snapshot is produced; an existing file stays as it was.
#[derive(Debug, Error, Diagnostic)]
#[non_exhaustive]
pub enum FetchError {
    /// The token request was refused.
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

enum Got {
    Body(Vec<u8>),
    Denied(Coverage),
}

struct Conn {
    http: reqwest::Client,
    opts: FetchOptions,
    token: tokio::sync::Mutex<Option<Secret>>,
    budget: Mutex<Budget>,
    permits: Semaphore,
    requests: AtomicUsize,
    retries: AtomicUsize,
    rate_limited: AtomicUsize,
    busy_micros: std::sync::atomic::AtomicU64,
    planned: AtomicUsize,
    done: AtomicUsize,
    objects: Mutex<Vec<(&'static str, usize)>>,
}

fn endpoint_of(path: &str) -> String {
    format!("GET {}", path.split('?').next().unwrap_or(path))
}

impl Conn {
    /// The current token; `stale` names a token the API rejected, to be replaced unless another
    /// request already replaced it.
    async fn token(&self, stale: Option<&Secret>) -> Result<Secret, FetchError> {
        let renew = stale.is_some();
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref() {
            if stale.is_none_or(|s| s != t) {
                return Ok(t.clone());
            }
        }
        let Auth::ClientCredentials { client_id, secret } = &self.opts.auth else {
            return match (&self.opts.auth, renew) {
                (Auth::Token(t), false) => Ok(t.clone()),
                _ => Err(FetchError::Auth {
                    endpoint: "access token".to_owned(),
                    detail: "the access token was rejected or expired; get a new one".to_owned(),
                }),
            };
        };
        let url = format!("{}/oauth/token", self.opts.login_base.trim_end_matches('/'));
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = self
            .http
            .post(&url)
            .basic_auth(client_id, Some(secret.expose()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .map_err(|e| FetchError::Auth {
                endpoint: url.clone(),
                detail: redact(&e.to_string(), secret),
            })?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| FetchError::Auth {
            endpoint: url.clone(),
            detail: e.to_string(),
        })?;
        if status != 200 {
            let err: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let code = err
                .get("error")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown error");
            return Err(FetchError::Auth {
                endpoint: url,
                detail: format!("HTTP {status} `{code}`"),
            });
        }
        let t: wire::Token = serde_json::from_slice(&body).map_err(|_| FetchError::Auth {
            endpoint: url.clone(),
            detail: "the token response has no `access_token`".to_owned(),
        })?;
        let t = Secret::new(t.access_token);
        *slot = Some(t.clone());
        Ok(t)
    }

    async fn take_budget(&self) {
        loop {
            let wait = {
                let mut b = self.budget.lock().unwrap_or_else(PoisonError::into_inner);
                match b.try_take(Instant::now()) {
                    Ok(()) => return,
                    Err(w) => w,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn plan(&self, requests: usize) {
        self.planned.fetch_add(requests, Ordering::Relaxed);
    }

    fn report(&self, resource: &'static str, objects: usize) {
        let snapshot = {
            let mut o = self.objects.lock().unwrap_or_else(PoisonError::into_inner);
            match o.iter_mut().find(|(r, _)| *r == resource) {
                Some(e) => e.1 += objects,
                None => o.push((resource, objects)),
            }
            o.clone()
        };
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(f) = &self.opts.progress {
            f(&Progress {
                done,
                planned: self.planned.load(Ordering::Relaxed).max(done),
                objects: snapshot,
            });
        }
    }

    /// GET, then report progress.
    async fn get(&self, path: &str, dataset: &str) -> Result<Got, FetchError> {
        let got = self.get_once(path, dataset).await?;
        self.report(resource_name(dataset), 0);
        Ok(got)
    }

    /// GET with budget, retries and one token renewal; a 403/404 becomes a coverage gap.
    async fn get_once(&self, path: &str, dataset: &str) -> Result<Got, FetchError> {
        let endpoint = endpoint_of(path);
        let url = format!("{}{path}", self.opts.api_base.trim_end_matches('/'));
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.token(None).await?;
            self.take_budget().await;
            let permit = self
                .permits
                .acquire()
                .await
                .map_err(|e| FetchError::Client(e.to_string()))?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let sent_at = Instant::now();
            let sent = self.http.get(&url).bearer_auth(token.expose()).send().await;
            let (status, retry_after, detail) = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let h = |n: &str| {
                        resp.headers()
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    };
                    if let (Some(c), Some(a), Some(r)) = (
                        h("inin-ratelimit-count"),
                        h("inin-ratelimit-allowed"),
                        h("inin-ratelimit-reset"),
                    ) {
                        if let (Ok(c), Ok(a), Ok(r)) = (c.parse(), a.parse(), r.parse()) {
                            self.budget
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .observe(Instant::now(), c, a, r);
                        }
                    }
                    let retry_after = h("retry-after").and_then(|v| parse_retry_after(&v));
                    let body = resp.bytes().await;
                    self.busy_micros.fetch_add(
                        u64::try_from(sent_at.elapsed().as_micros()).unwrap_or(u64::MAX),
                        Ordering::Relaxed,
                    );
                    match body {
                        Ok(body) if status == 200 => return Ok(Got::Body(body.to_vec())),
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
                        Ok(_) => (Some(status), retry_after, format!("HTTP {status}")),
                        Err(e) => (None, None, format!("truncated response: {e}")),
                    }
                }
                Err(e) => (
                    None,
                    None,
                    format!("connection error: {}", redact(&e.to_string(), &token)),
                ),
            };
            drop(permit);
            if status == Some(401) && !renewed {
                // A token that expired mid-fetch is renewed once, and the request repeated.
                renewed = true;
                self.token(Some(&token)).await?;
                continue;
            }
            if status == Some(429) {
                self.rate_limited.fetch_add(1, Ordering::Relaxed);
            }
            match classify(status, retry_after) {
                Verdict::Transient(after) if attempt < self.opts.max_attempts => {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    let wait = backoff(
                        attempt,
                        after,
                        Duration::from_millis(100),
                        Duration::from_secs(10),
                        jitter(),
                    );
                    if status == Some(429) {
                        self.budget
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .pause(Instant::now(), wait);
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

    async fn json<T: DeserializeOwned>(
        &self,
        path: &str,
        dataset: &str,
    ) -> Result<Result<T, Coverage>, FetchError> {
        match self.get(path, dataset).await? {
            Got::Denied(c) => Ok(Err(c)),
            Got::Body(b) => serde_json::from_slice(&b)
                .map(Ok)
                .map_err(|e| FetchError::Shape {
                    endpoint: endpoint_of(path),
                    detail: e.to_string(),
                }),
        }
    }

    /// Every page of a page-number listing: page 1 first (it tells the page count), then the
    /// rest concurrently.
    async fn pages<T: DeserializeOwned + Send + 'static>(
        self: &Arc<Self>,
        base: &str,
        size: usize,
        dataset: &str,
        max_pages: Option<usize>,
    ) -> Result<Result<Vec<T>, Coverage>, FetchError> {
        let sep = if base.contains('?') { '&' } else { '?' };
        let first: wire::Page<T> = match self
            .json(&format!("{base}{sep}pageSize={size}&pageNumber=1"), dataset)
            .await?
        {
            Ok(p) => p,
            Err(gap) => return Ok(Err(gap)),
        };
        let count = first
            .page_count
            .unwrap_or(1)
            .min(max_pages.unwrap_or(usize::MAX));
        let mut items = first.entities;
        let mut set = tokio::task::JoinSet::new();
        for n in 2..=count {
            let conn = Arc::clone(self);
            let (path, dataset) = (
                format!("{base}{sep}pageSize={size}&pageNumber={n}"),
                dataset.to_owned(),
            );
            set.spawn(async move { (n, conn.json::<wire::Page<T>>(&path, &dataset).await) });
        }
        let mut rest = Vec::new();
        while let Some(done) = set.join_next().await {
            let (n, page) = done.map_err(|e| FetchError::Client(e.to_string()))?;
            match page? {
                Ok(p) => {
                    self.count(dataset, p.entities.len());
                    rest.push((n, p.entities));
                }
                Err(gap) => return Ok(Err(gap)),
            }
        }
        rest.sort_by_key(|(n, _)| *n);
        items.extend(rest.into_iter().flat_map(|(_, e)| e));
        Ok(Ok(items))
    }
}

impl Conn {
    /// Count objects read without counting a request (the request was counted by `json`).
    fn count(&self, dataset: &str, n: usize) {
        let mut o = self.objects.lock().unwrap_or_else(PoisonError::into_inner);
        let r = resource_name(dataset);
        match o.iter_mut().find(|(x, _)| *x == r) {
            Some(e) => e.1 += n,
            None => o.push((r, n)),
        }
    }
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

fn jitter() -> f64 {
    // Enough randomness to spread retries; not for security.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1000) / 1000.0
}

/// Never let a secret through in a library's error text.
fn redact(text: &str, secret: &Secret) -> String {
    if secret.expose().is_empty() {
        text.to_owned()
    } else {
        text.replace(secret.expose(), "[redacted]")
    }
}

/// Fetch an org into a snapshot.
///
/// # Errors
/// [`FetchError`] when authentication fails or a request fails for good; endpoints answering
/// 403 become coverage gaps instead.
#[expect(
    clippy::too_many_lines,
    reason = "the plan reads best as one list of requests"
)]
pub async fn fetch(opts: FetchOptions) -> Result<(OrgSnapshot, FetchStats), FetchError> {
    let started = Instant::now();
    // rustls needs a process-wide crypto provider; a second install is a harmless no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| FetchError::Client(e.to_string()))?;
    let conn = Arc::new(Conn {
        http,
        // No burst, and 2% headroom: the server counts in fixed windows whose phase we do not
        // know, and one 429 costs a whole `Retry-After` pause for every request.
        budget: Mutex::new(Budget::new(
            opts.per_minute.saturating_mul(49) / 50,
            1,
            Instant::now(),
        )),
        permits: Semaphore::new(opts.concurrency.max(1)),
        opts,
        token: tokio::sync::Mutex::new(None),
        requests: AtomicUsize::new(0),
        retries: AtomicUsize::new(0),
        rate_limited: AtomicUsize::new(0),
        busy_micros: std::sync::atomic::AtomicU64::new(0),
        // The fixed part of the plan; pages and per-role requests are added as they become known.
        planned: AtomicUsize::new(16),
        done: AtomicUsize::new(0),
        objects: Mutex::new(Vec::new()),
    });
    conn.token(None).await?;
    let mut snap = OrgSnapshot {
        format: FORMAT.to_owned(),
        fetched_at: Some(
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        ),
        source: SnapshotSource {
            kind: "api".to_owned(),
            region: conn
                .opts
                .region
                .clone()
                .or_else(|| Some(conn.opts.api_base.clone())),
            client_id: match &conn.opts.auth {
                Auth::ClientCredentials { client_id, .. } => Some(client_id.clone()),
                Auth::Token(_) => None,
            },
            description: None,
        },
        ..OrgSnapshot::default()
    };
    let mut coverage: Vec<Coverage> = Vec::new();
    let ok = |endpoint: &str, dataset: &str| Coverage {
        endpoint: endpoint.to_owned(),
        dataset: dataset.to_owned(),
        status: "ok".to_owned(),
        ..Coverage::default()
    };
    let c = &conn;
    let (
        roles,
        active,
        inactive,
        groups,
        clients,
        divisions,
        perms,
        settings,
        org,
        bus,
        mus,
        swagger,
    ) = tokio::join!(
        c.pages::<wire::Role>(
            "/api/v2/authorization/roles",
            page_size::DEFAULT,
            "roles",
            None
        ),
        c.pages::<wire::User>(
            "/api/v2/users?state=active",
            page_size::USERS,
            "users",
            None
        ),
        // Inactive users cannot be listed past 10,000 (API-FACTS §2.1).
        c.pages::<wire::User>(
            "/api/v2/users?state=inactive",
            page_size::USERS,
            "users",
            Some(page_size::INACTIVE_USER_LIMIT / page_size::USERS)
        ),
        c.pages::<wire::Group>("/api/v2/groups", page_size::DEFAULT, "groups", None),
        c.json::<wire::Page<wire::Client>>("/api/v2/oauth/clients", "oauthClients"),
        c.pages::<wire::Division>(
            "/api/v2/authorization/divisions",
            page_size::DEFAULT,
            "divisions",
            None
        ),
        c.pages::<wire::PermissionCollection>(
            "/api/v2/authorization/permissions",
            page_size::DEFAULT,
            "permissionCatalog",
            None
        ),
        c.json::<wire::AuthSettings>(
            "/api/v2/organizations/authentication/settings",
            "authSettings"
        ),
        c.json::<wire::Organization>("/api/v2/organizations/me", "organization"),
        c.json::<wire::Page<wire::BusinessUnit>>(
            "/api/v2/workforcemanagement/businessunits",
            "businessUnits"
        ),
        c.json::<wire::Page<wire::ManagementUnit>>(
            "/api/v2/workforcemanagement/managementunits",
            "managementUnits"
        ),
        c.get("/api/v2/docs/swagger", "operations"),
    );
    macro_rules! take {
        ($r:expr, $endpoint:literal, $dataset:literal, |$v:ident| $apply:expr) => {
            match $r? {
                Ok($v) => {
                    $apply;
                    coverage.push(ok($endpoint, $dataset));
                }
                Err(gap) => coverage.push(gap),
            }
        };
    }
    let roles = roles?;
    take!(active, "GET /api/v2/users", "users", |v| snap
        .users
        .extend(v.into_iter().map(Into::into)));
    take!(inactive, "GET /api/v2/users?state=inactive", "users", |v| {
        snap.users.extend(v.into_iter().map(Into::into))
    });
    take!(clients, "GET /api/v2/oauth/clients", "oauthClients", |v| {
        snap.oauth_clients = v.entities.into_iter().map(Into::into).collect()
    });
    take!(
        divisions,
        "GET /api/v2/authorization/divisions",
        "divisions",
        |v| snap.divisions = v.into_iter().map(Into::into).collect()
    );
    take!(
        perms,
        "GET /api/v2/authorization/permissions",
        "permissionCatalog",
        |v| snap.permission_catalog = v
            .into_iter()
            .flat_map(wire::PermissionCollection::into_catalog)
            .collect()
    );
    take!(
        settings,
        "GET /api/v2/organizations/authentication/settings",
        "authSettings",
        |v| snap.auth_settings = v.into()
    );
    take!(org, "GET /api/v2/organizations/me", "organization", |v| {
        snap.organization = v.into()
    });
    take!(
        bus,
        "GET /api/v2/workforcemanagement/businessunits",
        "businessUnits",
        |v| snap.business_units = v.entities.into_iter().map(Into::into).collect()
    );
    take!(
        mus,
        "GET /api/v2/workforcemanagement/managementunits",
        "managementUnits",
        |v| snap.management_units = v.entities.into_iter().map(Into::into).collect()
    );
    match swagger? {
        Got::Body(b) => match crate::catalog::parse_swagger(&b) {
            Ok(ops) => {
                snap.operations = ops;
                coverage.push(ok("GET /api/v2/docs/swagger", "operations"));
            }
            Err(e) => {
                return Err(FetchError::Shape {
                    endpoint: "GET /api/v2/docs/swagger".to_owned(),
                    detail: e.to_string(),
                })
            }
        },
        Got::Denied(gap) => coverage.push(gap),
    }
    // Policies use cursor paging: follow `nextUri` until it is absent.
    let mut path = format!(
        "/api/v2/authorization/policies?pageSize={}",
        page_size::POLICIES
    );
    let mut seen = HashSet::new();
    loop {
        match conn
            .json::<wire::Page<wire::AccessPolicy>>(&path, "accessPolicies")
            .await?
        {
            Err(gap) => {
                coverage.push(gap);
                break;
            }
            Ok(page) => {
                snap.access_policies
                    .extend(page.entities.into_iter().map(Into::into));
                match page
                    .next_uri
                    .filter(|n| !n.is_empty() && seen.insert(n.clone()))
                {
                    Some(next) => {
                        path = next
                            .find("/api/")
                            .map_or(next.clone(), |i| next[i..].to_owned())
                    }
                    None => {
                        coverage.push(ok("GET /api/v2/authorization/policies", "accessPolicies"));
                        break;
                    }
                }
            }
        }
    }
    // Grants: each role's subject grants, all roles concurrently.
    let mut group_holders: BTreeSet<String> = BTreeSet::new();
    match roles {
        Err(gap) => coverage.push(gap),
        Ok(roles) => {
            coverage.push(ok("GET /api/v2/authorization/roles", "roles"));
            conn.plan(roles.len());
            let mut set = tokio::task::JoinSet::new();
            for r in &roles {
                let (conn, id) = (Arc::clone(&conn), r.id().to_owned());
                set.spawn(async move {
                    let path = format!("/api/v2/authorization/roles/{id}/subjectgrants");
                    let got = conn
                        .pages::<wire::SubjectGrants>(&path, page_size::DEFAULT, "grants", None)
                        .await;
                    (id, got)
                });
            }
            let mut grant_gap = None;
            while let Some(done) = set.join_next().await {
                let (role_id, got) = done.map_err(|e| FetchError::Client(e.to_string()))?;
                match got? {
                    Ok(subjects) => snap.grants.extend(
                        subjects
                            .into_iter()
                            .flat_map(|s| s.into_grants(&role_id).collect::<Vec<_>>()),
                    ),
                    Err(gap) => grant_gap = Some(gap),
                }
            }
            snap.grants.sort_by(|a, b| {
                (&a.role_id, &a.subject_id, &a.division_id).cmp(&(
                    &b.role_id,
                    &b.subject_id,
                    &b.division_id,
                ))
            });
            coverage.push(grant_gap.unwrap_or_else(|| {
                ok(
                    "GET /api/v2/authorization/roles/{roleId}/subjectgrants",
                    "grants",
                )
            }));
            snap.roles = roles.into_iter().map(Into::into).collect();
            group_holders.extend(
                snap.grants
                    .iter()
                    .filter(|g| g.subject_type == "PC_GROUP")
                    .map(|g| g.subject_id.clone()),
            );
        }
    }
    // Members, only of groups that hold roles.
    match groups? {
        Err(gap) => coverage.push(gap),
        Ok(groups) => {
            coverage.push(ok("GET /api/v2/groups", "groups"));
            conn.plan(
                groups
                    .iter()
                    .filter(|g| group_holders.contains(g.id()))
                    .count(),
            );
            let mut set = tokio::task::JoinSet::new();
            for g in groups.iter().filter(|g| group_holders.contains(g.id())) {
                let (conn, id) = (Arc::clone(&conn), g.id().to_owned());
                set.spawn(async move {
                    let path = format!("/api/v2/groups/{id}/members");
                    (
                        id,
                        conn.pages::<wire::User>(&path, page_size::DEFAULT, "groups", None)
                            .await,
                    )
                });
            }
            let mut members: std::collections::HashMap<String, Vec<String>> =
                std::collections::HashMap::new();
            while let Some(done) = set.join_next().await {
                let (id, got) = done.map_err(|e| FetchError::Client(e.to_string()))?;
                match got? {
                    Ok(users) => {
                        members.insert(id, users.iter().map(|u| u.id().to_owned()).collect());
                    }
                    Err(gap) => coverage.push(gap),
                }
            }
            snap.groups = groups
                .into_iter()
                .map(|g| {
                    let m = members.remove(g.id()).unwrap_or_default();
                    g.into_model(m)
                })
                .collect();
        }
    }
    // Name the permission each gap's endpoint needs, from the operation catalog.
    let catalog = crate::catalog::Catalog::new(&snap.operations);
    for c in coverage.iter_mut().filter(|c| c.status != "ok") {
        c.permission = catalog
            .find(&c.endpoint)
            .and_then(|m| m.operation.permissions.as_ref())
            .map(|r| r.list.join(" or "));
    }
    snap.coverage = coverage;
    let stats = FetchStats {
        requests: conn.requests.load(Ordering::Relaxed),
        retries: conn.retries.load(Ordering::Relaxed),
        rate_limited: conn.rate_limited.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        gaps: snap.coverage.iter().filter(|c| c.status != "ok").count(),
        busy: Duration::from_micros(conn.busy_micros.load(Ordering::Relaxed)),
    };
    Ok((snap, stats))
}
