//! A fake Genesys Cloud Platform API on 127.0.0.1 for fetch tests: the token endpoint and every
//! endpoint the fetcher reads, with the documented paging envelopes, serving an org given as a
//! snapshot. Its wire types are its own, written from API-FACTS, never the fetcher's.
//!
//! Faults are injected by probability from a seed: 429 with `Retry-After`, 500/502/503/504,
//! connections reset before any response, bodies cut off mid-stream, and slow responses. With
//! a rate limit, every answer carries the `inin-ratelimit-*` headers of its fixed window and
//! requests past the limit get 429 with `Retry-After`. Every request is logged.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rolecall::internals::model::OrgSnapshot;
use serde::Serialize;
use serde_json::{json, Value};

/// The injected faults, in the order of the fault draw.
pub const FAULT_KINDS: [&str; 8] = [
    "429 burst",
    "500",
    "502",
    "503",
    "504",
    "truncated body",
    "slow",
    "connection reset",
];

/// The platform answers 400 past this many inactive users (API-FACTS §2.1).
const INACTIVE_LIMIT: usize = 10_000;

/// How the fake behaves.
#[derive(Clone)]
pub struct FakeConfig {
    pub client_id: String,
    pub client_secret: String,
    /// The first token stops working after this many API requests (401 until renewed); later
    /// tokens last, as real 24-hour tokens do within one fetch.
    pub token_lifetime: Option<usize>,
    /// Path prefixes that answer 403 `missing.permissions`.
    pub denied: Vec<String>,
    /// Probability of an injected fault per API request.
    pub fault_rate: f64,
    pub seed: u64,
    /// Requests allowed per window before 429s.
    pub rate_limit: Option<(usize, Duration)>,
    /// Whether answers carry `inin-ratelimit-*` headers (with a rate limit).
    pub rate_headers: bool,
    /// Added to every API response.
    pub latency: Duration,
    /// Paths that always fail with 500.
    pub broken: Vec<String>,
    /// The largest page each family accepts; larger ones answer 400.
    pub page_limits: PageLimits,
    /// Pages after the first larger than this answer 400 `response.entity.too.large`, as a
    /// limit on the response's size does when later items are bigger.
    pub later_page_limit: Option<usize>,
    /// The first this many token requests answer 500 (a login service having a bad moment).
    pub login_failures: usize,
    /// Path prefixes whose 200 answer is a body that never ends (a broken or hostile server).
    pub endless: Vec<String>,
    /// Every page-number listing claims this many pages and leaves out `total`; pages past
    /// the real ones are empty (a server whose counts cannot be believed).
    pub claimed_page_count: Option<usize>,
    /// `…/divisionspermitted/paged/…` answers that differ from the fake's own data, for chosen
    /// (subject, permission) pairs: the disagreement path of `verify`.
    pub permitted_overrides: Vec<PermittedOverride>,
    /// Polls of a usage job answered `Queued` then `Running` before it succeeds.
    pub usage_polls: usize,
    /// Usage jobs end `Failed` instead of succeeding.
    pub usage_fail: bool,
    /// The most usage rows on one results page (the page size asked is honoured below it).
    pub usage_page: usize,
}

/// A planted answer of `…/divisionspermitted/paged/{subject}` for one permission.
#[derive(Clone, Debug)]
pub struct PermittedOverride {
    /// A user or group id, or `me`.
    pub subject: String,
    pub permission: String,
    /// Division ids to list.
    pub divisions: Vec<String>,
    pub all: bool,
}

/// The largest `pageSize` each paged family accepts. The defaults differ between families, as
/// a real org's may: an oversized page answers 400 `response.entity.too.large`, except for
/// divisions, which answer a bad request naming `pageSize` (both documented forms).
#[derive(Clone, Debug)]
pub struct PageLimits {
    pub users: usize,
    pub roles: usize,
    pub subject_grants: usize,
    pub groups: usize,
    pub members: usize,
    pub divisions: usize,
    pub permissions: usize,
    pub divs_permitted: usize,
}

impl Default for PageLimits {
    fn default() -> Self {
        Self {
            users: 500,
            roles: 100,
            subject_grants: 500,
            groups: 500,
            members: 100,
            divisions: 100,
            permissions: 250,
            divs_permitted: 100,
        }
    }
}

impl PageLimits {
    /// Every family at `n`.
    pub fn uniform(n: usize) -> Self {
        Self {
            users: n,
            roles: n,
            subject_grants: n,
            groups: n,
            members: n,
            divisions: n,
            permissions: n,
            divs_permitted: n,
        }
    }
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            client_id: "fake-client".into(),
            client_secret: "fake-secret".into(),
            token_lifetime: None,
            denied: Vec::new(),
            fault_rate: 0.0,
            seed: 1,
            rate_limit: None,
            rate_headers: true,
            latency: Duration::ZERO,
            broken: Vec::new(),
            page_limits: PageLimits::default(),
            later_page_limit: None,
            login_failures: 0,
            endless: Vec::new(),
            claimed_page_count: None,
            permitted_overrides: Vec::new(),
            usage_polls: 2,
            usage_fail: false,
            usage_page: 1000,
        }
    }
}

struct Inner {
    org: OrgSnapshot,
    /// Listings computed once, so the fake answers in constant time per page.
    role_grants: HashMap<String, Vec<Value>>,
    members: HashMap<String, Vec<Value>>,
    users_by_state: HashMap<String, Vec<Value>>,
    cfg: FakeConfig,
    log: Mutex<Vec<String>>,
    tokens: Mutex<HashMap<String, usize>>,
    issued: AtomicUsize,
    login_attempts: AtomicUsize,
    /// Faults and 429s sent, by kind.
    faults: Mutex<std::collections::BTreeMap<&'static str, usize>>,
    rng: AtomicU64,
    window: Mutex<(std::time::Instant, usize)>,
    /// Usage jobs: id → (the interval's first and last day, polls so far).
    jobs: Mutex<HashMap<String, (String, String, usize)>>,
}

/// A running fake; the server stops when the runtime it was started on ends.
pub struct FakeGenesys {
    pub base: String,
    inner: Arc<Inner>,
    _rt: tokio::runtime::Runtime,
}

impl FakeGenesys {
    pub fn start(org: OrgSnapshot, cfg: FakeConfig) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let users: HashMap<&str, &rolecall::internals::model::User> =
            org.users.iter().map(|u| (u.id.as_str(), u)).collect();
        let role_grants = org
            .roles
            .iter()
            .map(|r| (r.id.clone(), subject_grants(&org, &r.id)))
            .collect();
        let members = org
            .groups
            .iter()
            .map(|g| {
                (
                    g.id.clone(),
                    g.member_ids
                        .iter()
                        .filter_map(|m| users.get(m.as_str()))
                        .map(|u| user_json(u))
                        .collect(),
                )
            })
            .collect();
        let mut users_by_state: HashMap<String, Vec<Value>> = HashMap::new();
        for u in &org.users {
            users_by_state
                .entry(u.state.clone())
                .or_default()
                .push(user_json(u));
            users_by_state
                .entry("any".into())
                .or_default()
                .push(user_json(u));
        }
        let inner = Arc::new(Inner {
            role_grants,
            members,
            users_by_state,
            org,
            rng: AtomicU64::new(cfg.seed ^ 0x9E37_79B9),
            cfg,
            log: Mutex::new(Vec::new()),
            tokens: Mutex::new(HashMap::new()),
            issued: AtomicUsize::new(0),
            login_attempts: AtomicUsize::new(0),
            faults: Mutex::new(std::collections::BTreeMap::new()),
            window: Mutex::new((std::time::Instant::now(), 0)),
            jobs: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/oauth/token", post(token))
            .route("/api/v2/usage/aggregates/query/jobs", post(usage_job))
            .fallback(get(api))
            .with_state(Arc::clone(&inner));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        rt.spawn(serve(listener, app));
        Self {
            base,
            inner,
            _rt: rt,
        }
    }

    /// Faults injected and 429s sent so far, by kind (`429 burst`, `429 rate limit`, `500`,
    /// `502`, `503`, `504`, `truncated body`, `connection reset`, `slow`).
    pub fn faults(&self) -> std::collections::BTreeMap<&'static str, usize> {
        self.inner.faults.lock().unwrap().clone()
    }

    /// `METHOD path?query` of every request, in order.
    pub fn log(&self) -> Vec<String> {
        self.inner.log.lock().unwrap().clone()
    }
}

/// Marks a response the connection loop must not send: it drops the connection instead.
#[derive(Clone, Copy)]
struct Reset;

/// HTTP/1 connections served by hand rather than by `axum::serve`, so that a request can end in
/// a dropped connection with no response at all (hyper closes a connection whose service fails).
async fn serve(listener: tokio::net::TcpListener, app: Router) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut app = app.clone();
                    async move {
                        let resp = tower_service::Service::call(&mut app, req.map(Body::new))
                            .await
                            .unwrap_or_else(|never| match never {});
                        if resp.extensions().get::<Reset>().is_some() {
                            Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset))
                        } else {
                            Ok(resp)
                        }
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({"message": message, "code": code, "status": status.as_u16(), "contextId": "fake-context"}))).into_response()
}

async fn token(State(s): State<Arc<Inner>>, headers: HeaderMap, body: String) -> Response {
    s.log.lock().unwrap().push("POST /oauth/token".into());
    let expected = format!(
        "Basic {}",
        base64(&format!("{}:{}", s.cfg.client_id, s.cfg.client_secret))
    );
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if s.login_attempts.fetch_add(1, Ordering::SeqCst) < s.cfg.login_failures {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal.server.error",
            "login service unavailable",
        );
    }
    if auth != expected || body.trim() != "grant_type=client_credentials" {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                json!({"error": "invalid_client", "description": "client authentication failed"}),
            ),
        )
            .into_response();
    }
    let n = s.issued.fetch_add(1, Ordering::SeqCst);
    let t = format!("fake-token-{n}-{}", s.cfg.seed);
    s.tokens.lock().unwrap().insert(t.clone(), 0);
    axum::Json(json!({"access_token": t, "token_type": "bearer", "expires_in": 86400}))
        .into_response()
}

fn base64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Inner {
    fn fault(&self, kind: &'static str) {
        *self.faults.lock().unwrap().entry(kind).or_default() += 1;
    }

    fn next_random(&self) -> f64 {
        let mut x = self
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::SeqCst)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((x ^ (x >> 31)) % 1_000_000) as f64 / 1_000_000.0
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listing {
    entities: Vec<Value>,
    page_size: usize,
    page_number: usize,
    total: usize,
    page_count: usize,
}

/// `pageSize` (default 25) and `pageNumber` (default 1) of a page-number listing.
fn paging(q: &HashMap<String, String>) -> (usize, usize) {
    let get = |k: &str, default: usize| q.get(k).and_then(|v| v.parse().ok()).unwrap_or(default);
    (get("pageSize", 25), get("pageNumber", 1).max(1))
}

#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP response itself, built once per request"
)]
fn page(items: &[Value], q: &HashMap<String, String>, max: usize) -> Result<Value, Response> {
    let (size, number) = paging(q);
    if size > max {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "response.entity.too.large",
            "The response is over the size limit. Reduce pageSize or expand list to reduce response size if applicable",
        ));
    }
    let total = items.len();
    let page_count = total.div_ceil(size).max(1);
    let entities = items
        .iter()
        .skip((number - 1) * size)
        .take(size)
        .cloned()
        .collect();
    Ok(serde_json::to_value(Listing {
        entities,
        page_size: size,
        page_number: number,
        total,
        page_count,
    })
    .unwrap())
}

fn div_ref(org: &OrgSnapshot, id: &str) -> Value {
    let name = org
        .divisions
        .iter()
        .find(|d| d.id == id)
        .map_or("All divisions", |d| d.name.as_str());
    json!({"id": id, "name": name, "selfUri": format!("/api/v2/authorization/divisions/{id}")})
}

fn user_json(u: &rolecall::internals::model::User) -> Value {
    json!({"id": u.id, "name": u.name, "email": u.email, "username": u.username, "state": u.state, "version": 1,
           "division": u.division.as_ref().map(|d| json!({"id": d.id, "name": d.name})), "selfUri": format!("/api/v2/users/{}", u.id)})
}

/// Subject grants of a role: users and groups from the grant rows, clients from `roleDivisions`.
fn subject_grants(org: &OrgSnapshot, role: &str) -> Vec<Value> {
    let mut by_subject: Vec<(String, String, String, Vec<Value>)> = Vec::new();
    let mut add = |id: &str, name: &str, kind: &str, div: &str| {
        let d = div_ref(org, div);
        match by_subject.iter_mut().find(|(i, ..)| i == id) {
            Some(e) => e.3.push(d),
            None => by_subject.push((id.into(), name.into(), kind.into(), vec![d])),
        }
    };
    for g in org.grants.iter().filter(|g| g.role_id == role) {
        let name = match g.subject_type.as_str() {
            "PC_USER" => org
                .users
                .iter()
                .find(|u| u.id == g.subject_id)
                .map(|u| u.name.clone()),
            _ => org
                .groups
                .iter()
                .find(|x| x.id == g.subject_id)
                .map(|x| x.name.clone()),
        };
        add(
            &g.subject_id,
            &name.unwrap_or_default(),
            &g.subject_type,
            &g.division_id,
        );
    }
    for c in &org.oauth_clients {
        for rd in c.role_divisions.iter().filter(|rd| rd.role_id == role) {
            add(&c.id, &c.name, "PC_OAUTH_CLIENT", &rd.division_id);
        }
    }
    by_subject.into_iter().map(|(id, name, kind, divisions)| json!({"id": id, "name": name, "type": kind, "divisions": divisions})).collect()
}

fn mini_swagger(org: &OrgSnapshot) -> Value {
    let mut paths = serde_json::Map::new();
    for op in &org.operations {
        let entry = paths.entry(op.path.clone()).or_insert_with(|| json!({}));
        let mut def = json!({
            "operationId": op.operation_id,
            "security": [{"PureCloud OAuth": op.scopes}],
            "responses": {"200": {"description": "ok"}, "403": {"description": "forbidden",
                "x-inin-error-codes": op.error_codes_403.iter().map(|c| (c.clone(), json!("template"))).collect::<serde_json::Map<_, _>>()}},
        });
        if let Some(r) = &op.permissions {
            def["x-inin-requires-permissions"] = json!({"type": r.kind, "permissions": r.list});
        }
        entry[op.method.to_ascii_lowercase()] = def;
    }
    json!({"swagger": "2.0", "info": {"title": "PureCloud Platform API"}, "paths": paths})
}

async fn api(
    State(s): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let path = uri.path().to_owned();
    s.log.lock().unwrap().push(format!(
        "GET {}",
        uri.path_and_query().map_or(path.clone(), |p| p.to_string())
    ));
    if !s.cfg.latency.is_zero() {
        tokio::time::sleep(s.cfg.latency).await;
    }
    // Authentication.
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    {
        let mut tokens = s.tokens.lock().unwrap();
        match tokens.get_mut(&token) {
            None => {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "bad.credentials",
                    "Invalid login credentials.",
                )
            }
            Some(used) => {
                *used += 1;
                if token.starts_with("fake-token-0-")
                    && s.cfg.token_lifetime.is_some_and(|l| *used > l)
                {
                    return error(
                        StatusCode::UNAUTHORIZED,
                        "credentials.expired",
                        "The token has expired.",
                    );
                }
            }
        }
    }
    let mut response = answer(&s, &uri, q).await;
    // Rate limit: a fixed window; every answer says where the window stands.
    if let Some((allowed, window)) = s.cfg.rate_limit {
        let (count, reset) = {
            let mut w = s.window.lock().unwrap();
            if w.0.elapsed() >= window {
                *w = (std::time::Instant::now(), 0);
            }
            w.1 += 1;
            let reset = window.saturating_sub(w.0.elapsed()).as_secs_f64().ceil() as u64;
            (w.1, reset.max(1))
        };
        if count > allowed {
            s.fault("429 rate limit");
            response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "too.many.requests.retry.after",
                "Rate limit exceeded",
            );
            response
                .headers_mut()
                .insert("retry-after", reset.to_string().parse().unwrap());
        }
        if s.cfg.rate_headers {
            let h = response.headers_mut();
            h.insert("inin-ratelimit-count", count.min(allowed).into());
            h.insert("inin-ratelimit-allowed", allowed.into());
            h.insert("inin-ratelimit-reset", reset.into());
        }
    }
    response
}

/// The answer to an authenticated API request, before rate limiting.
async fn answer(s: &Inner, uri: &Uri, q: HashMap<String, String>) -> Response {
    let path = uri.path().to_owned();
    if s.cfg.broken.iter().any(|b| path.starts_with(b.as_str())) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal.server.error",
            "broken on purpose",
        );
    }
    // Injected faults.
    if s.cfg.fault_rate > 0.0 && s.next_random() < s.cfg.fault_rate {
        let pick = (s.next_random() * FAULT_KINDS.len() as f64) as usize;
        s.fault(FAULT_KINDS[pick]);
        match pick {
            7 => {
                let mut r = Response::default();
                r.extensions_mut().insert(Reset);
                return r;
            }
            0 => {
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too.many.requests.retry.after",
                    "burst",
                );
                r.headers_mut().insert("retry-after", "0".parse().unwrap());
                return r;
            }
            1 => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal.server.error",
                    "fault",
                )
            }
            2 => return error(StatusCode::BAD_GATEWAY, "bad.gateway", "fault"),
            3 => {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service.unavailable",
                    "fault",
                )
            }
            4 => return error(StatusCode::GATEWAY_TIMEOUT, "request.timeout", "fault"),
            5 => {
                // A body cut off mid-stream: the connection is dropped before the response ends.
                let chunks: Vec<Result<&'static [u8], std::io::Error>> = vec![
                    Ok(b"{\"entities\": [".as_slice()),
                    Err(std::io::Error::other("reset")),
                ];
                return Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(Body::from_stream(futures_lite(chunks)))
                    .unwrap();
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    if s.cfg.denied.iter().any(|d| path.starts_with(d.as_str())) {
        return error(StatusCode::FORBIDDEN, "missing.permissions", "Unable to perform the requested action. You are missing the following permission(s): authorization:policy:view");
    }
    let org = &s.org;
    let lim = &s.cfg.page_limits;
    if let Some(max) = s.cfg.later_page_limit {
        let (size, number) = paging(&q);
        if q.contains_key("pageSize") && number > 1 && size > max {
            return error(
                StatusCode::BAD_REQUEST,
                "response.entity.too.large",
                "The response is over the size limit. Reduce pageSize or expand list to reduce response size if applicable",
            );
        }
    }
    let result: Result<Value, Response> = match path.as_str() {
        "/api/v2/authorization/roles" => page(
            &org.roles.iter().map(|r| json!({"id": r.id, "name": r.name, "description": r.description, "permissions": [],
                "permissionPolicies": r.permission_policies.iter().map(|p| json!({"domain": p.domain, "entityName": p.entity_name,
                    "actionSet": p.action_set, "allowConditions": p.allow_conditions})).collect::<Vec<_>>(),
                "default": r.default, "base": false, "userCount": 0})).collect::<Vec<_>>(),
            &q,
            lim.roles,
        ),
        "/api/v2/users" => {
            let state = q.get("state").map_or("active", String::as_str);
            let listed = s.users_by_state.get(state).map_or(&[][..], Vec::as_slice);
            // `id` is a multi-valued parameter (`id=a&id=b`), which `Query` keeps only once.
            let ids: HashSet<&str> = uri
                .query()
                .unwrap_or_default()
                .split('&')
                .filter_map(|kv| kv.strip_prefix("id="))
                .collect();
            let (size, number) = paging(&q);
            if !ids.is_empty() {
                let found: Vec<Value> = listed
                    .iter()
                    .filter(|u| u["id"].as_str().is_some_and(|id| ids.contains(id)))
                    .cloned()
                    .collect();
                page(&found, &q, lim.users)
            } else if state == "inactive" && number.saturating_sub(1) * size >= INACTIVE_LIMIT {
                Err(error(
                    StatusCode::BAD_REQUEST,
                    "bad.request",
                    "Inactive users cannot be paged past 10000 results.",
                ))
            } else {
                page(listed, &q, lim.users)
            }
        }
        "/api/v2/groups" => page(
            &org.groups.iter().map(|g| json!({"id": g.id, "name": g.name, "state": g.state, "rolesEnabled": g.roles_enabled,
                "memberCount": g.member_ids.len(), "type": "official", "visibility": "public", "version": 1})).collect::<Vec<_>>(),
            &q,
            lim.groups,
        ),
        "/api/v2/oauth/clients" => Ok(json!({"entities": org.oauth_clients.iter().map(|c| json!({"id": c.id, "name": c.name,
            "description": c.description, "authorizedGrantType": c.authorized_grant_type,
            "roleDivisions": c.role_divisions.iter().map(|r| json!({"roleId": r.role_id, "divisionId": r.division_id})).collect::<Vec<_>>(),
            "scope": c.scope, "state": c.state, "dateToDelete": c.date_to_delete, "accessTokenValiditySeconds": 86400})).collect::<Vec<_>>(),
            "pageSize": 25, "pageNumber": 1, "total": org.oauth_clients.len(), "pageCount": 1})),
        "/api/v2/authorization/divisions" => {
            // The other documented form of the answer: a bad request naming the parameter.
            let (size, _) = paging(&q);
            if size > lim.divisions {
                Err(error(
                    StatusCode::BAD_REQUEST,
                    "invalid.query.param.value",
                    &format!("Value [{size}] is not valid for parameter [pageSize]. Allowable values are: 1-{}", lim.divisions),
                ))
            } else {
                page(
                    &org.divisions.iter().map(|d| json!({"id": d.id, "name": d.name, "description": d.description, "homeDivision": d.home_division})).collect::<Vec<_>>(),
                    &q,
                    lim.divisions,
                )
            }
        }
        "/api/v2/authorization/permissions" => {
            let mut domains: Vec<String> = org.permission_catalog.iter().map(|p| p.domain.clone()).collect();
            domains.sort();
            domains.dedup();
            page(
                &domains
                    .iter()
                    .map(|d| {
                        let mut map = serde_json::Map::new();
                        for p in org.permission_catalog.iter().filter(|p| &p.domain == d) {
                            let e = map.entry(p.entity_type.clone()).or_insert_with(|| json!([]));
                            e.as_array_mut().unwrap().push(json!({"domain": p.domain, "entityType": p.entity_type, "action": p.action,
                                "label": p.action, "allowsConditions": false, "divisionAware": p.division_aware}));
                        }
                        json!({"id": d, "name": d, "domain": d, "permissionMap": map})
                    })
                    .collect::<Vec<_>>(),
                &q,
                lim.permissions,
            )
        }
        "/api/v2/authorization/policies" => {
            let size: usize = q.get("pageSize").and_then(|v| v.parse().ok()).unwrap_or(25).min(200);
            let after: usize = q.get("after").and_then(|v| v.parse().ok()).unwrap_or(0);
            let items: Vec<Value> = org.access_policies.iter().skip(after).take(size).map(|p| json!({"id": p.id, "name": p.name,
                "targetResource": p.target_resource, "subject": {"type": p.subject.kind, "id": p.subject.id}, "effect": p.effect,
                "condition": p.condition, "active": p.active, "applyToClients": p.apply_to_clients})).collect();
            let next = (after + size < org.access_policies.len()).then(|| format!("/api/v2/authorization/policies?pageSize={size}&after={}", after + size));
            Ok(json!({"entities": items, "nextUri": next, "selfUri": "/api/v2/authorization/policies"}))
        }
        "/api/v2/organizations/authentication/settings" => Ok(json!({
            "multifactorAuthenticationRequired": org.auth_settings.multifactor_authentication_required,
            "domainAllowlistEnabled": org.auth_settings.domain_allowlist_enabled, "domainAllowlist": org.auth_settings.domain_allowlist,
            "ipAddressAllowlist": org.auth_settings.ip_address_allowlist, "inactivityTimeoutExclusions": [], "universalLogout": false})),
        "/api/v2/organizations/me" => Ok(json!({"id": org.organization.id, "name": org.organization.name, "domain": org.organization.domain,
            "state": "active", "productPlatform": "GenesysCloud", "features": {}})),
        "/api/v2/workforcemanagement/businessunits" => Ok(json!({"entities": org.business_units.iter().map(|b| json!({"id": b.id,
            "name": b.name, "authorized": true, "division": b.division.as_ref().map(|d| json!({"id": d.id}))})).collect::<Vec<_>>()})),
        "/api/v2/workforcemanagement/managementunits" => Ok(json!({"entities": org.management_units.iter().map(|m| json!({"id": m.id,
            "name": m.name, "businessUnit": m.business_unit.as_ref().map(|b| json!({"id": b.id})),
            "division": m.division.as_ref().map(|d| json!({"id": d.id}))})).collect::<Vec<_>>()})),
        "/api/v2/docs/swagger" => Ok(mini_swagger(org)),
        p => {
            if let Some(role) = p.strip_prefix("/api/v2/authorization/roles/").and_then(|r| r.strip_suffix("/subjectgrants")) {
                page(s.role_grants.get(role).map_or(&[][..], Vec::as_slice), &q, lim.subject_grants)
            } else if let Some(unit) = p
                .strip_prefix("/api/v2/workforcemanagement/managementunits/")
                .and_then(|r| r.strip_suffix("/users"))
            {
                // `WfmUserEntityListing`: `{entities: [UserReference {id, selfUri}]}`, no paging.
                match org.management_units.iter().find(|m| m.id == unit) {
                    Some(m) => Ok(json!({"entities": m.user_ids.iter().map(|u| json!({"id": u,
                        "selfUri": format!("/api/v2/users/{u}")})).collect::<Vec<_>>()})),
                    None => Err(error(StatusCode::NOT_FOUND, "not.found", "no such management unit")),
                }
            } else if let Some(job) = p.strip_prefix("/api/v2/usage/aggregates/query/jobs/") {
                usage_results(s, job, &q)
            } else if let Some(subject) = p.strip_prefix("/api/v2/authorization/divisionspermitted/paged/") {
                divisions_permitted(s, subject, &q)
            } else if let Some(group) = p.strip_prefix("/api/v2/groups/").and_then(|r| r.strip_suffix("/members")) {
                match s.members.get(group) {
                    Some(m) => page(m, &q, lim.members),
                    None => Err(error(StatusCode::NOT_FOUND, "not.found", "no such group")),
                }
            } else {
                Err(error(StatusCode::NOT_FOUND, "not.found", "no such resource"))
            }
        }
    };
    if s.cfg.endless.iter().any(|e| path.starts_with(e.as_str())) && result.is_ok() {
        // 64 KiB of spaces at a time, for ever: valid JSON whitespace, never a value.
        static SPACES: [u8; 65_536] = [b' '; 65_536];
        let chunks = tokio_stream_like::forever(|| Ok::<_, std::io::Error>(&SPACES[..]));
        return Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from_stream(chunks))
            .unwrap();
    }
    match result {
        Ok(mut v) => {
            if let (Some(claimed), Some(m)) = (s.cfg.claimed_page_count, v.as_object_mut()) {
                if m.contains_key("pageCount") {
                    m.insert("pageCount".into(), claimed.into());
                    m.remove("total");
                }
            }
            axum::Json(v).into_response()
        }
        Err(r) => r,
    }
}

/// `DivsPermittedEntityListing` for a user or group id, or `me` (the fake's one OAuth client):
/// the divisions of the subject's grants whose role grants the permission, its own reading of
/// the facts (direct grants, grants of `rolesEnabled` groups the user is in, `*` entity or action
/// in a role policy matching anything, a `*` grant meaning every division), written here, not
/// taken from rolecall. Planted answers win.
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP response itself, built once per request"
)]
fn divisions_permitted(
    s: &Inner,
    subject: &str,
    q: &HashMap<String, String>,
) -> Result<Value, Response> {
    let org = &s.org;
    let Some(permission) = q.get("permission") else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "missing.permission.param",
            "Missing required permission parameter",
        ));
    };
    let parts: Vec<&str> = permission.split(':').collect();
    if parts.len() != 3 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "The request could not be understood by the server due to malformed syntax.",
        ));
    }
    let planted = s
        .cfg
        .permitted_overrides
        .iter()
        .find(|o| o.subject == subject && &o.permission == permission);
    let (ids, all) = match planted {
        Some(o) => (o.divisions.clone(), o.all),
        None => {
            let mut held: Vec<(String, String)> = Vec::new();
            if subject == "me" {
                for c in org.oauth_clients.iter().filter(|c| c.id == s.cfg.client_id) {
                    held.extend(
                        c.role_divisions
                            .iter()
                            .map(|r| (r.role_id.clone(), r.division_id.clone())),
                    );
                }
            } else {
                let known = org.users.iter().any(|u| u.id == subject)
                    || org.groups.iter().any(|g| g.id == subject);
                if !known {
                    return Err(error(StatusCode::NOT_FOUND, "not.found", "no such subject"));
                }
                let mut holders = vec![subject.to_owned()];
                holders.extend(
                    org.groups
                        .iter()
                        .filter(|g| g.roles_enabled && g.member_ids.iter().any(|m| m == subject))
                        .map(|g| g.id.clone()),
                );
                held.extend(
                    org.grants
                        .iter()
                        .filter(|g| holders.contains(&g.subject_id))
                        .map(|g| (g.role_id.clone(), g.division_id.clone())),
                );
            }
            let grants_it = |role: &str| {
                org.roles.iter().filter(|r| r.id == role).any(|r| {
                    r.permission_policies.iter().any(|p| {
                        p.domain == parts[0]
                            && (p.entity_name == "*" || p.entity_name == parts[1])
                            && p.action_set.iter().any(|a| a == "*" || a == parts[2])
                    })
                })
            };
            let mut ids: Vec<String> = Vec::new();
            let mut all = false;
            for (_, div) in held.iter().filter(|(r, _)| grants_it(r)) {
                if div == "*" {
                    all = true;
                } else if !ids.contains(div) {
                    ids.push(div.clone());
                }
            }
            if all {
                ids = org.divisions.iter().map(|d| d.id.clone()).collect();
            }
            (ids, all)
        }
    };
    let items: Vec<Value> = ids
        .iter()
        .map(|id| {
            let d = org.divisions.iter().find(|d| &d.id == id);
            json!({"id": id, "name": d.map_or(id.as_str(), |d| d.name.as_str()), "homeDivision": d.is_some_and(|d| d.home_division),
                   "selfUri": format!("/api/v2/authorization/divisions/{id}")})
        })
        .collect();
    let mut listing = page(&items, q, s.cfg.page_limits.divs_permitted)?;
    listing["allDivsPermitted"] = json!(all);
    Ok(listing)
}

/// A stream over the given items, without pulling in a futures crate.
fn futures_lite(
    items: Vec<Result<&'static [u8], std::io::Error>>,
) -> impl tokio_stream_like::Stream<Item = Result<&'static [u8], std::io::Error>> {
    tokio_stream_like::iter(items)
}

mod tokio_stream_like {
    pub use futures_core::Stream;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub struct Iter<I>(I);

    impl<I: Iterator + Unpin> Stream for Iter<I> {
        type Item = I::Item;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<I::Item>> {
            Poll::Ready(self.0.next())
        }
    }

    pub fn iter<T>(v: Vec<T>) -> Iter<std::vec::IntoIter<T>> {
        Iter(v.into_iter())
    }

    /// Items made by `f`, without end.
    pub fn forever<T, F: FnMut() -> T + Unpin>(f: F) -> Iter<std::iter::RepeatWith<F>> {
        Iter(std::iter::repeat_with(f))
    }
}

/// The request plan's inputs for `org` as this server lists it (used to check the fetcher's
/// request count against [`rolecall::internals::fetch::plan::planned_requests`]).
pub fn plan_shape(org: &OrgSnapshot) -> rolecall::internals::fetch::plan::Shape {
    plan_shape_with(org, &PageLimits::default())
}

/// The plan's shape of `org` served with these page limits: the sizes the fetch learns from
/// them, and the requests it spends learning (one 400 per refused size, per family it reads).
pub fn plan_shape_with(
    org: &OrgSnapshot,
    limits: &PageLimits,
) -> rolecall::internals::fetch::plan::Shape {
    use rolecall::internals::fetch::plan::{learned, Sizes};
    let mut shape = plan_shape_fixed(org);
    let (roles, l_roles) = learned(limits.roles);
    let (grants, l_grants) = learned(limits.subject_grants);
    let (groups, l_groups) = learned(limits.groups);
    let (members, l_members) = learned(limits.members);
    let (divisions, l_divisions) = learned(limits.divisions);
    let (permissions, l_permissions) = learned(limits.permissions);
    shape.sizes = Sizes {
        roles,
        subject_grants: grants,
        groups,
        group_members: members,
        divisions,
        permissions,
    };
    // A family that sends no request learns nothing.
    shape.learning = l_roles
        + if shape.role_subjects.is_empty() {
            0
        } else {
            l_grants
        }
        + l_groups
        + if shape.role_group_members.is_empty() {
            0
        } else {
            l_members
        }
        + l_divisions
        + l_permissions;
    shape
}

fn plan_shape_fixed(org: &OrgSnapshot) -> rolecall::internals::fetch::plan::Shape {
    let index = rolecall::internals::model::Org::new(org.clone());
    let holders: HashSet<&str> = org
        .grants
        .iter()
        .filter(|g| g.subject_type == "PC_GROUP")
        .map(|g| g.subject_id.as_str())
        .collect();
    let role_groups: Vec<&rolecall::internals::model::Group> = org
        .groups
        .iter()
        .filter(|g| holders.contains(g.id.as_str()))
        .collect();
    let referenced: HashSet<&str> = org
        .grants
        .iter()
        .filter(|g| g.subject_type == "PC_USER")
        .map(|g| g.subject_id.as_str())
        .chain(
            role_groups
                .iter()
                .flat_map(|g| g.member_ids.iter().map(String::as_str)),
        )
        .collect();
    let unlisted_users = org
        .users
        .iter()
        .filter(|u| u.state == "inactive")
        .skip(INACTIVE_LIMIT)
        .filter(|u| referenced.contains(u.id.as_str()))
        .count();
    rolecall::internals::fetch::plan::Shape {
        active_users: org.users.iter().filter(|u| u.state == "active").count(),
        inactive_users: org.users.iter().filter(|u| u.state == "inactive").count(),
        role_subjects: (0..u32::try_from(org.roles.len()).unwrap_or(u32::MAX))
            .map(|r| {
                index
                    .role_holders(r)
                    .iter()
                    .map(|(s, _)| *s)
                    .collect::<HashSet<_>>()
                    .len()
            })
            .collect(),
        groups: org.groups.len(),
        role_group_members: role_groups.iter().map(|g| g.member_ids.len()).collect(),
        divisions: org.divisions.len(),
        permission_domains: org
            .permission_catalog
            .iter()
            .map(|p| &p.domain)
            .collect::<HashSet<_>>()
            .len(),
        policies: org.access_policies.len(),
        management_units: org.management_units.len(),
        subjects: org.users.len() + org.groups.len() + org.oauth_clients.len(),
        unlisted_users,
        ..rolecall::internals::fetch::plan::Shape::default()
    }
}

/// `POST /api/v2/usage/aggregates/query/jobs`: checks the token and the body's interval (at
/// most 90 days, `start/end`), answers `OrganizationUsageQueryResponse`.
async fn usage_job(State(s): State<Arc<Inner>>, headers: HeaderMap, body: String) -> Response {
    let path = "/api/v2/usage/aggregates/query/jobs";
    s.log.lock().unwrap().push(format!("POST {path}"));
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    if !s.tokens.lock().unwrap().contains_key(&token) {
        return error(
            StatusCode::UNAUTHORIZED,
            "bad.credentials",
            "Invalid login credentials.",
        );
    }
    if s.cfg.denied.iter().any(|d| path.starts_with(d.as_str())) {
        return error(StatusCode::FORBIDDEN, "missing.permissions", "Unable to perform the requested action. You are missing the following permission(s): usage:organization:view");
    }
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "bad.request", "body is not JSON");
    };
    let interval = req["interval"].as_str().unwrap_or_default();
    let Some((start, end)) = interval.split_once('/') else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "interval must be start/end",
        );
    };
    let (start, end) = (
        start.get(..10).unwrap_or(start),
        end.get(..10).unwrap_or(end),
    );
    let groups: Vec<&str> = req["groupBy"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !groups.contains(&"OauthClientId") || !groups.contains(&"TemplateUri") {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "the fake expects groupBy with OauthClientId and TemplateUri",
        );
    }
    let id = format!("job-{}", s.jobs.lock().unwrap().len() + 1);
    s.jobs
        .lock()
        .unwrap()
        .insert(id.clone(), (start.to_owned(), end.to_owned(), 0));
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"id": id, "resultsUri": format!("{path}/{id}")})),
    )
        .into_response()
}

/// `GET …/jobs/{jobId}?pageSize&after`: `Queued`, then `Running`, then the rows of the served
/// org's usage in the job's interval, a page at a time with `nextUri` (or `Failed`).
#[expect(
    clippy::result_large_err,
    reason = "the error is the HTTP response itself, built once per request"
)]
fn usage_results(s: &Inner, job: &str, q: &HashMap<String, String>) -> Result<Value, Response> {
    let (start, end, polls) = {
        let mut jobs = s.jobs.lock().unwrap();
        let Some(j) = jobs.get_mut(job) else {
            return Err(error(StatusCode::NOT_FOUND, "not.found", "no such job"));
        };
        j.2 += 1;
        j.clone()
    };
    if polls <= s.cfg.usage_polls {
        let state = if polls == 1 { "Queued" } else { "Running" };
        return Ok(json!({"queryStatus": state}));
    }
    if s.cfg.usage_fail {
        return Ok(
            json!({"queryStatus": "Failed", "errorBody": {"message": "the query timed out", "code": "internal.error", "status": 500}}),
        );
    }
    let empty = rolecall::internals::model::Usage::default();
    let usage = s.org.usage.as_deref().unwrap_or(&empty);
    let rows: Vec<&rolecall::internals::model::UsageRow> = usage
        .rows
        .iter()
        .filter(|r| usage.date(r) >= start.as_str() && usage.date(r) < end.as_str())
        .collect();
    let size: usize = q
        .get("pageSize")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
        .min(s.cfg.usage_page)
        .max(1);
    let after: usize = q.get("after").and_then(|v| v.parse().ok()).unwrap_or(0);
    let names: HashMap<&str, &str> = s
        .org
        .oauth_clients
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    let page: Vec<Value> = rows.iter().skip(after).take(size).map(|r| {
        let (caller, template, c) = (usage.caller(r).cloned().unwrap_or_default(), usage.template(r).cloned().unwrap_or_default(), r.counts);
        json!({
            "date": usage.date(r), "platform": "PublicApi", "httpMethod": template.http_method, "templateUri": template.template_uri,
            "requestCount": c.requests, "status200": c.status200, "status300": c.status300, "status400": c.status400,
            "status429": c.status429, "status500": c.status500,
            "oauthClient": caller.client_id.as_ref().map(|id| json!({"id": id, "name": names.get(id.as_str()).copied().unwrap_or("")})),
            "user": caller.user_id.as_ref().map(|u| json!({"id": u})),
        })
    }).collect();
    let next = (after + size < rows.len()).then(|| {
        format!(
            "/api/v2/usage/aggregates/query/jobs/{job}?pageSize={size}&after={}",
            after + size
        )
    });
    Ok(json!({"queryStatus": "Succeeded", "entities": page, "nextUri": next}))
}
