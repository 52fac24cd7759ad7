//! A small hostile HTTP/1.1 server for the network-edge tests: it answers every request with
//! whatever the test's handler says (any status line and headers, redirects, bodies sent a byte
//! at a time or headers never finished) and records every request it receives, headers and
//! body included, so a test can prove what reached it, and what did not.
//!
//! Plain threads and blocking sockets on 127.0.0.1: no framework between the test and the
//! bytes, so nothing tidies a hostile answer up. Each connection answers one request and is
//! closed (`Connection: close`).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a slow answer trickles before the server gives up on its own (the client is
/// expected to hang up long before).
const TRICKLE_LIMIT: Duration = Duration::from_secs(30);

/// One request as received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When its headers were read.
    pub at: Instant,
}

impl Seen {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The bearer token sent, if any.
    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }
    /// Everything received, as text, for leak checks.
    pub fn raw(&self) -> String {
        let mut s = format!("{} {}\n", self.method, self.target);
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\n"));
        }
        s.push_str(&String::from_utf8_lossy(&self.body));
        s
    }
}

/// What the server sends back.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A whole answer; `Content-Length` is added unless the headers carry one.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// The status line and headers one byte every `every`, never finished.
    SlowHead { every: Duration },
    /// Headers at once (`Content-Length: len`), then the body one byte every `every`.
    SlowBody { every: Duration, len: usize },
}

impl Reply {
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::Full {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }
    /// A redirect to `location`, with a body as a server would send.
    pub fn redirect(status: u16, location: &str) -> Self {
        Self::Full {
            status,
            headers: vec![("Location".into(), location.into())],
            body: b"moved".to_vec(),
        }
    }
    /// The same answer with one more header.
    pub fn with(mut self, name: &str, value: &str) -> Self {
        if let Self::Full { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

type Handler = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

/// A running server; stopped when dropped.
pub struct Hostile {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Hostile {
    /// Start a server answering with `handler(request, n)`, `n` counting requests from 0.
    pub fn start(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (log, halt) = (Arc::clone(&seen), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if halt.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (log, handler, halt) =
                    (Arc::clone(&log), Arc::clone(&handler), Arc::clone(&halt));
                std::thread::spawn(move || serve(conn, &log, &*handler, &halt));
            }
        });
        Self { base, seen, stop }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.host());
    }
}

/// Read one request (headers at most 64 KiB, body at most 1 MiB), record it, answer it.
fn serve(conn: TcpStream, log: &Mutex<Vec<Seen>>, handler: &Handler, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = conn.set_nodelay(true);
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half.take(64 << 10));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
    );
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let at = Instant::now();
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        body.clear();
    }
    let seen = Seen {
        method,
        target,
        headers,
        body,
        at,
    };
    let n = {
        let mut log = log.lock().unwrap();
        log.push(seen.clone());
        log.len() - 1
    };
    let reply = handler(&seen, n);
    let mut out = conn;
    match reply {
        Reply::Full {
            status,
            mut headers,
            body,
        } => {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            {
                headers.push(("Content-Length".into(), body.len().to_string()));
            }
            headers.push(("Connection".into(), "close".into()));
            let mut bytes = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
            for (k, v) in headers {
                bytes.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
            }
            bytes.extend_from_slice(b"\r\n");
            bytes.extend_from_slice(&body);
            let _ = out.write_all(&bytes);
            let _ = out.flush();
        }
        Reply::SlowHead { every } => {
            let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: ";
            let started = Instant::now();
            let mut bytes = head.iter().copied().chain(std::iter::repeat(b'a'));
            while started.elapsed() < TRICKLE_LIMIT && !stop.load(Ordering::Relaxed) {
                let b = bytes.next().unwrap_or(b'a');
                if out.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(every);
            }
        }
        Reply::SlowBody { every, len } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
            );
            if out.write_all(head.as_bytes()).is_err() {
                return;
            }
            let started = Instant::now();
            for _ in 0..len {
                if started.elapsed() > TRICKLE_LIMIT
                    || stop.load(Ordering::Relaxed)
                    || out.write_all(b" ").is_err()
                {
                    return;
                }
                std::thread::sleep(every);
            }
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Whatever",
    }
}
