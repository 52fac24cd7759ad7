//! A small W3C WebDriver client over reqwest, for driving headless Chromium through Debian's
//! `chromedriver` in the browser tests and the first-render benchmark.
//!
//! Only the commands the tests need: sessions, navigation, elements (find, click, type, text,
//! attributes), scripts, screenshots and Chrome's logs. Chromium runs headless with a fresh
//! profile and the flags that stop its background connections (this network refuses them).

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// The environment variable that, set to `1`, skips the browser tests (loudly).
pub const SKIP_VAR: &str = "ROLECALL_SKIP_BROWSER";

/// Where Debian puts the driver.
const DRIVER: &str = "/usr/bin/chromedriver";

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The environment variable that, set to `1`, makes a missing browser a failure instead of a
/// skip: `.ci/run` sets it, so CI always runs the browser tests for real.
pub const REQUIRE_VAR: &str = "ROLECALL_REQUIRE_BROWSER";

/// Whether the browser tests should be skipped: when asked for explicitly, or when Chromium's
/// driver is not installed and [`REQUIRE_VAR`] is not set (a fresh clone on a machine with only
/// the Rust toolchain passes `cargo test`, and says loudly what it did not check).
#[expect(clippy::print_stderr, reason = "a skipped browser test says so loudly")]
pub fn skipped(test: &str) -> bool {
    if std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") {
        eprintln!("!!! SKIPPED browser test `{test}`: {SKIP_VAR}=1 is set; the HTML report was NOT checked in a browser !!!");
        return true;
    }
    let required = std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1");
    if !required && !driver_path().exists() {
        eprintln!(
            "!!! SKIPPED browser test `{test}`: `{}` is not installed, so the HTML report was NOT checked in a browser; install Debian's `chromium` and `chromium-driver` (or run `bash .ci/run`, which does and requires them) !!!",
            driver_path().display()
        );
        return true;
    }
    false
}

/// The driver to run: `CHROMEDRIVER`, else Debian's.
fn driver_path() -> PathBuf {
    std::env::var_os("CHROMEDRIVER").map_or_else(|| PathBuf::from(DRIVER), PathBuf::from)
}

/// A running `chromedriver` and one browser session.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

impl Browser {
    /// Start `chromedriver` on a free loopback port and open a headless Chromium session with
    /// a fresh profile under `profile`.
    pub fn start(profile: &Path) -> Result<Self, String> {
        let driver = driver_path();
        if !driver.exists() {
            return Err(format!(
                "`{}` is missing: install Debian's `chromium` and `chromium-driver` (`.ci/run` does), or set {SKIP_VAR}=1 to skip the browser tests",
                driver.display()
            ));
        }
        let port = free_port()?;
        let mut child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", driver.display()))?;
        // The driver says when it listens; read that line instead of polling with sleeps.
        let out = child.stdout.take().ok_or("no driver stdout")?;
        let mut ready = false;
        for line in BufReader::new(out).lines().take(50) {
            let line = line.map_err(|e| e.to_string())?;
            if line.contains("started successfully") {
                ready = true;
                break;
            }
        }
        if !ready {
            let _ = child.kill();
            return Err("chromedriver did not report that it started".to_owned());
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        // reqwest is built without a default TLS provider; a second install is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| e.to_string())?;
        let mut b = Self {
            driver: child,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            rt,
            http,
        };
        let mut options = json!({
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        });
        // Debian's `/usr/bin/chromium` is a wrapper script; the driver wants the binary.
        if Path::new("/usr/lib/chromium/chromium").exists() {
            options["binary"] = json!("/usr/lib/chromium/chromium");
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": { "browser": "ALL", "performance": "ALL" },
        }}});
        let v = b.call(reqwest::Method::POST, "/session", Some(caps))?;
        b.session = v["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session id in {v}"))?
            .to_owned();
        Ok(b)
    }

    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let req = self.http.request(method, &url);
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(b.to_string()),
            None => req,
        };
        let (status, bytes) = self.rt.block_on(async {
            let r = req.send().await.map_err(|e| format!("{path}: {e}"))?;
            let status = r.status();
            let bytes = r.bytes().await.map_err(|e| format!("{path}: {e}"))?;
            Ok::<_, String>((status, bytes))
        })?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{path}: {status}: {}", v["value"]));
        }
        Ok(v.get("value").cloned().unwrap_or(Value::Null))
    }

    fn session_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Open a page on a clean slate: `about:blank` first, then Chrome's logs drained (so the
    /// new-tab page's own loads are not counted), then the page; returns once it has loaded.
    pub fn open(&self, url: &str) -> Result<(), String> {
        self.goto("about:blank")?;
        self.log("performance")?;
        self.log("browser")?;
        self.goto(url)
    }

    /// Open a URL; returns once the page has loaded.
    pub fn goto(&self, url: &str) -> Result<(), String> {
        self.session_call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .map(|_| ())
    }

    /// Run a script (a function body) in the page and return its value.
    pub fn script(&self, body: &str) -> Result<Value, String> {
        self.session_call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": body, "args": [] })),
        )
    }

    /// The first element matching a CSS selector.
    pub fn find(&self, css: &str) -> Result<Element, String> {
        let v = self.session_call(
            reqwest::Method::POST,
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        v[ELEMENT]
            .as_str()
            .map(|s| Element(s.to_owned()))
            .ok_or_else(|| format!("no element `{css}`: {v}"))
    }

    /// Every element matching a CSS selector.
    pub fn find_all(&self, css: &str) -> Result<Vec<Element>, String> {
        let v = self.session_call(
            reqwest::Method::POST,
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(|s| Element(s.to_owned())))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Click an element, as a person would.
    pub fn click(&self, e: &Element) -> Result<(), String> {
        self.session_call(
            reqwest::Method::POST,
            &format!("/element/{}/click", e.0),
            Some(json!({})),
        )
        .map(|_| ())
    }

    /// Type into an element.
    pub fn type_text(&self, e: &Element, text: &str) -> Result<(), String> {
        self.session_call(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({ "text": text })),
        )
        .map(|_| ())
    }

    /// An element's rendered (visible) text.
    pub fn text(&self, e: &Element) -> Result<String, String> {
        let v = self.session_call(
            reqwest::Method::GET,
            &format!("/element/{}/text", e.0),
            None,
        )?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// An element's attribute.
    pub fn attr(&self, e: &Element, name: &str) -> Result<Option<String>, String> {
        let v = self.session_call(
            reqwest::Method::GET,
            &format!("/element/{}/attribute/{name}", e.0),
            None,
        )?;
        Ok(v.as_str().map(str::to_owned))
    }

    /// Whether an element is displayed.
    pub fn displayed(&self, e: &Element) -> Result<bool, String> {
        let v = self.session_call(
            reqwest::Method::GET,
            &format!("/element/{}/displayed", e.0),
            None,
        )?;
        Ok(v.as_bool().unwrap_or(false))
    }

    /// A screenshot of the viewport, as PNG bytes.
    pub fn screenshot(&self) -> Result<Vec<u8>, String> {
        let v = self.session_call(reqwest::Method::GET, "/screenshot", None)?;
        decode_base64(v.as_str().ok_or("no screenshot data")?)
    }

    /// Chrome's log of one type (`browser` for the console, `performance` for DevTools
    /// events), drained.
    pub fn log(&self, kind: &str) -> Result<Vec<Value>, String> {
        let v = self.session_call(
            reqwest::Method::POST,
            "/se/log",
            Some(json!({ "type": kind })),
        )?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.session_call(reqwest::Method::DELETE, "", None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64 (the screenshot encoding), without a dependency for it.
fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => return Err(format!("bad base64 byte {c}")),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).map_err(|e| e.to_string())?);
        }
    }
    Ok(out)
}
