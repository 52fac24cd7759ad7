//! The HTTP side: the router built from [`ENDPOINTS`], the guards every answer passes (bearer
//! token, JSON bodies of bounded size, answers at once, time per answer), the answer's
//! metadata, the decision log, and graceful shutdown. Answers are computed on blocking threads
//! (they are CPU work) from the state taken once per request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::State as Axum;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use super::api::{Answer, Ctx, Endpoint, Method, Request, ENDPOINTS};
use super::decision::DecisionLog;
use super::problem::Problem;
use super::state::Shared;
use super::ServeError;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The bearer token every request but readiness and the OpenAPI document must carry; required
    /// off loopback.
    pub token: Option<String>,
    /// The largest body of `POST /v1/diff` (a snapshot), in bytes.
    pub max_body: usize,
    /// The largest body of the other requests, in bytes.
    pub max_small_body: usize,
    /// The longest an answer may take, waiting for its turn included.
    pub timeout: Duration,
    /// Answers computed at once; more wait their turn (within `timeout`).
    pub concurrency: usize,
    /// Threads serving connections.
    pub threads: usize,
    /// Connections open at once; more wait in the system's backlog until one closes.
    pub max_connections: usize,
}

impl Options {
    /// Loopback, no token, 64 MiB for a snapshot, 1 MiB + 64 KiB otherwise (a 403 body may
    /// be 1 MiB), 30 s, 8 answers at once, 2 threads, 256 connections.
    #[must_use]
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            token: None,
            max_body: 64 << 20,
            max_small_body: (1 << 20) + (64 << 10),
            timeout: Duration::from_secs(30),
            concurrency: 8,
            threads: 2,
            max_connections: 256,
        }
    }
}

/// Whether an address only this machine can reach.
#[must_use]
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Whether `given` is `expected`, in time that depends only on `expected`'s length.
#[must_use]
pub fn tokens_match(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        diff |= given.get(i).copied().unwrap_or(0) ^ e;
    }
    std::hint::black_box(diff) == 0
}

struct App {
    shared: Arc<Shared>,
    opts: Options,
    permits: Arc<Semaphore>,
    log: Option<DecisionLog>,
}

/// Serve until `stop` is raised, then finish the answers in flight and flush the decision log.
/// `on_listen` is told the address bound (a port of 0 picks a free one).
///
/// # Errors
/// A [`ServeError`] when the address, the token or the runtime are wrong.
pub fn run(
    opts: Options,
    shared: Arc<Shared>,
    log: Option<DecisionLog>,
    stop: Arc<AtomicBool>,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    if !is_loopback(&opts.listen) && opts.token.is_none() {
        return Err(ServeError::TokenRequired(opts.listen.to_string()));
    }
    if opts.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(ServeError::Token("is empty".to_owned()));
    }
    let addr = opts.listen.to_string();
    let bind = |e: std::io::Error| ServeError::Bind {
        addr: addr.clone(),
        reason: e.to_string(),
    };
    let std_listener = std::net::TcpListener::bind(opts.listen).map_err(bind)?;
    std_listener.set_nonblocking(true).map_err(bind)?;
    let bound = std_listener.local_addr().map_err(bind)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads.max(1))
        .max_blocking_threads(opts.concurrency.max(1) + 2)
        .enable_all()
        .build()
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    let app = Arc::new(App {
        permits: Arc::new(Semaphore::new(opts.concurrency.max(1))),
        shared: Arc::clone(&shared),
        opts,
        log,
    });
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(std_listener).map_err(bind)?;
        on_listen(bound);
        let stopped = async move {
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            shared.stop();
        };
        accept(listener, router(Arc::clone(&app)), &app.opts, stopped).await;
        Ok(())
    });
    // Every answer has finished: write what the decision log still holds.
    if let Some(mut app) = Arc::into_inner(app) {
        if let Some(log) = app.log.as_mut() {
            log.close();
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    served
}

/// Accept connections until `stopped`, at most `max_connections` open at once, each bounded
/// in time: a client that has not sent a whole request head within `timeout` of the connection
/// opening (or of its previous answer) is disconnected, so a slow or silent client cannot hold
/// a connection. Then every connection finishes its answer in flight and closes.
async fn accept(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    opts: &Options,
    stopped: impl std::future::Future<Output = ()>,
) {
    let max = opts.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let open = Arc::new(Semaphore::new(max));
    let (closing, closed) = tokio::sync::watch::channel(false);
    let mut stopped = std::pin::pin!(stopped);
    loop {
        let next = async {
            let permit = Arc::clone(&open).acquire_owned().await.ok()?;
            Some((listener.accept().await, permit))
        };
        let (accepted, permit) = tokio::select! {
            () = &mut stopped => break,
            got = next => match got {
                Some(got) => got,
                None => break,
            },
        };
        // A failed accept (a reset before it was taken, no descriptors left) ends that
        // connection only; a short pause keeps a persistent failure from spinning.
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let timeout = opts.timeout;
        let mut closed = closed.clone();
        tokio::spawn(async move {
            let closing = async move {
                let _ = closed.wait_for(|c| *c).await;
            };
            // The connection (and the app it holds) is gone before its place is given back,
            // so that once every place is back, nothing but the server holds the app.
            {
                let mut http = hyper::server::conn::http1::Builder::new();
                http.timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(timeout);
                let io = hyper_util::rt::TokioIo::new(WriteBound::new(stream, timeout));
                let conn = http.serve_connection(io, service);
                let mut conn = std::pin::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    () = closing => {
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                    }
                }
            }
            drop(permit);
        });
    }
    let _ = closing.send(true);
    // Every connection gives its place back once its answer in flight is written; the bound
    // covers a client that stops reading the answer.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(
        opts.timeout + Duration::from_secs(1),
        open.acquire_many(all),
    )
    .await;
}

/// A connection whose writes fail once they have waited `limit` for the client to read: a
/// client that asks and never reads its answers cannot hold its place (the request head's
/// own bound, `header_read_timeout`, does not run while an answer is written).
struct WriteBound {
    inner: tokio::net::TcpStream,
    limit: Duration,
    stalled: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl WriteBound {
    fn new(inner: tokio::net::TcpStream, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            stalled: None,
        }
    }

    /// A write's outcome: progress resets the clock; waiting past the limit is an error.
    fn bound<T>(
        &mut self,
        cx: &mut std::task::Context<'_>,
        polled: std::task::Poll<std::io::Result<T>>,
    ) -> std::task::Poll<std::io::Result<T>> {
        use std::future::Future as _;
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let limit = self.limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            std::task::Poll::Ready(()) => std::task::Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client read nothing of its answer in time",
            ))),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

impl tokio::io::AsyncRead for WriteBound {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for WriteBound {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        self.bound(cx, polled)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.bound(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_flush(cx);
        self.bound(cx, polled)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn router(app: Arc<App>) -> axum::Router {
    let mut r = axum::Router::new();
    for (i, e) in ENDPOINTS.iter().enumerate() {
        let handler =
            move |Axum(app): Axum<Arc<App>>, req: axum::extract::Request| answer(app, i, req);
        r = r.route(
            e.path,
            match e.method {
                Method::Get => axum::routing::get(handler),
                Method::Post => axum::routing::post(handler),
            },
        );
    }
    r.route(
        super::openapi::OPENAPI_PATH,
        axum::routing::get(|| async {
            document(200, &super::openapi::openapi(), "application/json")
        }),
    )
    .fallback(|req: axum::extract::Request| async move {
        let p = Problem::new(
            404,
            format!("no endpoint `{} {}`", req.method(), req.uri().path()),
            Some("`GET /v1/openapi.json` lists the endpoints"),
        );
        document(404, &p.document(Value::Null), "application/problem+json")
    })
    .method_not_allowed_fallback(|req: axum::extract::Request| async move {
        let p = Problem::new(
            405,
            format!(
                "`{}` is not answered at `{}`",
                req.method(),
                req.uri().path()
            ),
            Some("`GET /v1/openapi.json` lists the endpoints and their methods"),
        );
        document(405, &p.document(Value::Null), "application/problem+json")
    })
    .with_state(app)
}

/// A document as the answer's body: pretty JSON made safe, every registered secret redacted.
fn document(status: u16, doc: &Value, content_type: &'static str) -> Response {
    let text = crate::report::json_document(doc).unwrap_or_else(|_| "{}\n".to_owned());
    let text = crate::redact::redact(&text).into_owned();
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Whether the request may be answered: the token, when there is one (readiness is open).
fn authorize(app: &App, e: &Endpoint, headers: &HeaderMap) -> Result<(), Problem> {
    let Some(token) = app.opts.token.as_deref() else {
        return Ok(());
    };
    if e.id == "ready" {
        return Ok(());
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .unwrap_or_default();
    if tokens_match(given, token.as_bytes()) {
        Ok(())
    } else {
        Err(Problem::new(
            401,
            "this server needs a bearer token, and the request has none or another",
            Some("send `Authorization: Bearer TOKEN` with the server's token"),
        ))
    }
}

/// The body as JSON (`null` when empty), within the endpoint's size bound.
async fn read_body(app: &App, e: &Endpoint, req: axum::extract::Request) -> Result<Value, Problem> {
    if e.method == Method::Get {
        return Ok(Value::Null);
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return Err(Problem::new(
            415,
            "the request body must be JSON (`Content-Type: application/json`)",
            Some("with curl: `--json '{…}'`, or `-H 'Content-Type: application/json' -d '{…}'`"),
        ));
    }
    let max = if e.large_body {
        app.opts.max_body
    } else {
        app.opts.max_small_body
    };
    let read = tokio::time::timeout(app.opts.timeout, axum::body::to_bytes(req.into_body(), max));
    let bytes = match read.await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            return Err(Problem::new(
                413,
                format!(
                    "the request body is larger than {} KiB, or was cut off",
                    max >> 10
                ),
                Some(if e.large_body {
                    "raise `--max-body-mib`"
                } else {
                    "send the question only"
                }),
            ))
        }
        Err(_) => return Err(busy(app, "the request body took")),
    };
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|err| {
        Problem::new(
            400,
            format!("the request body is not JSON: {err}"),
            Some("`GET /v1/openapi.json` describes every request"),
        )
    })
}

fn busy(app: &App, what: &str) -> Problem {
    Problem::new(
        503,
        format!("{what} longer than {} s", app.opts.timeout.as_secs_f64()),
        Some("ask again; a server answering slowly may be given `--timeout` or `--max-concurrent`"),
    )
}

/// Compute the answer on a blocking thread, within the bound on answers at once and on time.
async fn compute(
    app: &Arc<App>,
    e: &'static Endpoint,
    request: Request,
) -> Result<Answer, Problem> {
    let wait = tokio::time::timeout(app.opts.timeout, Arc::clone(&app.permits).acquire_owned());
    let permit = match wait.await {
        Ok(Ok(p)) => p,
        _ => return Err(busy(app, "waiting for a turn took")),
    };
    let ctx = Ctx {
        cur: app.shared.now(),
        now: SystemTime::now(),
        stopping: app.shared.stopping(),
        decision_log: app.log.as_ref().map(|l| (l.dropped(), l.failed())),
    };
    let task = tokio::task::spawn_blocking(move || {
        // The permit is held until the work ends, even when its answer came too late.
        let _permit = permit;
        (e.handler)(&ctx, &request).map(|a| (a, ctx))
    });
    match tokio::time::timeout(app.opts.timeout, task).await {
        Ok(Ok(Ok((mut a, ctx)))) => {
            a.doc["meta"] = ctx.cur.meta(ctx.now);
            Ok(a)
        }
        Ok(Ok(Err(p))) => Err(p),
        Ok(Err(_)) => Err(Problem::new(500, "the answer failed", None)),
        Err(_) => Err(busy(app, "the answer took")),
    }
}

/// What the decision log keeps of a question: its fields, but never a whole 403 body or
/// snapshot (only that one was given).
fn question(request: &Request) -> Value {
    let mut q = request.body.clone();
    if let Some(o) = q.as_object_mut() {
        for big in ["errorBody", "snapshot"] {
            if o.contains_key(big) {
                o.insert(big.to_owned(), json!({ "given": true }));
            }
        }
    }
    if let Some(id) = &request.id {
        q = json!({ "id": id });
    }
    q
}

async fn answer(app: Arc<App>, i: usize, req: axum::extract::Request) -> Response {
    let started = Instant::now();
    let Some(e) = ENDPOINTS.get(i) else {
        return document(500, &Value::Null, "application/json");
    };
    let id = e
        .path
        .split_once("{id}")
        .and_then(|(prefix, _)| req.uri().path().strip_prefix(prefix))
        .map(str::to_owned);
    let mut request = Request {
        body: Value::Null,
        id,
    };
    let result = async {
        authorize(&app, e, req.headers())?;
        request.body = read_body(&app, e, req).await?;
        compute(&app, e, request.clone()).await
    }
    .await;
    let (status, doc, outcome, content_type) = match result {
        Ok(a) => (a.status, a.doc, a.outcome, "application/json"),
        Err(p) => {
            let meta = app.shared.now().meta(SystemTime::now());
            let outcome = json!({ "problem": p.detail });
            (
                p.status,
                p.document(meta),
                outcome,
                "application/problem+json",
            )
        }
    };
    let mut response = document(status, &doc, content_type);
    if status == 401 {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"rolecall\""),
        );
    }
    if let Some(log) = &app.log {
        log.record(&json!({
            "time": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            "endpoint": e.id,
            "question": question(&request),
            "status": status,
            "outcome": outcome,
            "snapshotId": doc["meta"]["snapshotId"],
            "snapshotAge": doc["meta"]["snapshotAge"],
            "stale": doc["meta"]["stale"],
            "durationMs": started.elapsed().as_secs_f64() * 1000.0,
        }));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(tokens_match(b"abc123", b"abc123"));
        assert!(!tokens_match(b"abc124", b"abc123"));
        assert!(
            !tokens_match(b"abc12", b"abc123"),
            "a prefix is not the token"
        );
        assert!(!tokens_match(b"abc1234", b"abc123"), "nor is a longer one");
        assert!(!tokens_match(b"", b"abc123"));
    }

    #[test]
    fn only_loopback_is_loopback() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(is_loopback(&a("127.0.0.1:1")) && is_loopback(&a("[::1]:1")));
        assert!(!is_loopback(&a("0.0.0.0:1")) && !is_loopback(&a("10.0.0.1:1")));
    }
}
