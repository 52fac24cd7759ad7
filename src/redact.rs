//! The one redactor: every secret the process holds, in every encoding rolecall itself produces,
//! replaced by `[redacted]` before text leaves the process.
//!
//! A client secret or a token can reach text by routes no single call site sees: a server that
//! echoes the `Authorization` header in an error description (base64 of `id:secret`), a config
//! file that is a link to a `.env` file and is quoted in a syntax error, a name in org data set
//! by someone who saw the token. So secrets are not redacted where they are used but at the
//! process's edges: [`register`] is called wherever a secret enters the process ([`Secret`]
//! registers itself; the login registers the `Basic` credential it builds; the binary registers
//! the credential variables of its environment at start), and [`redact`] is applied to every
//! byte written to stdout, stderr, the log and files.
//!
//! The registry only grows (a renewed token is one more entry) and is bounded by
//! [`MAX_SECRETS`]; past it the oldest token is forgotten first, never a registered client
//! secret.
//!
//! ```
//! use rolecall::internals::redact;
//!
//! redact::register("canary-0123456789");
//! let said = "invalid_client: canary-0123456789";
//! assert_eq!(redact::redact(said), "invalid_client: [redacted]");
//! ```
//!
//! [`Secret`]: crate::fetch::Secret

use std::borrow::Cow;
use std::sync::{PoisonError, RwLock};

/// What a secret is replaced by.
pub const MARK: &str = "[redacted]";

/// Shorter strings are not registered: redacting every `abc` would garble output while
/// protecting nothing (no real Genesys secret or token is that short).
pub const MIN_LEN: usize = 6;

/// The most strings the registry holds.
pub const MAX_SECRETS: usize = 4096;

struct Registry {
    /// Every registered form, with whether it may be forgotten (a token) or not (a secret).
    forms: Vec<(String, bool)>,
}

static REGISTRY: RwLock<Registry> = RwLock::new(Registry { forms: Vec::new() });

/// Register a secret (a client secret, a password): its raw form, its URL-encoded form and its
/// JSON-escaped form are redacted from now on.
pub fn register(secret: &str) {
    add_forms(secret, false);
}

/// Register a token the process received: like [`register`], but a token may be forgotten
/// when the registry is full (long past its lifetime).
pub fn register_token(token: &str) {
    add_forms(token, true);
}

/// Register the HTTP Basic credential built from `id` and `secret` (`base64(id:secret)`), the
/// encoding of the secret that the login sends, and the secret itself.
pub fn register_basic(id: &str, secret: &str) {
    register(secret);
    if secret.len() < MIN_LEN {
        return;
    }
    // The header as sent, and the shapes a server may echo it in: without padding, URL-safe,
    // and the secret encoded alone.
    for plain in [format!("{id}:{secret}"), secret.to_owned()] {
        let standard = base64(plain.as_bytes());
        let url: String = standard
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                c => c,
            })
            .collect();
        for form in [standard.clone(), url] {
            let bare = form.trim_end_matches('=').to_owned();
            if bare.len() >= MIN_LEN {
                add(bare, false);
            }
            add(form, false);
        }
    }
}

fn add_forms(secret: &str, forgettable: bool) {
    if secret.len() < MIN_LEN {
        return;
    }
    add(secret.to_owned(), forgettable);
    let url = url_encoded(secret);
    if url != secret {
        // Servers and proxies write percent-escapes in either case.
        let lower = lower_escapes(&url);
        if lower != url {
            add(lower, forgettable);
        }
        add(url, forgettable);
    }
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"');
    if json != secret {
        add(json.to_owned(), forgettable);
    }
}

fn add(form: String, forgettable: bool) {
    let mut reg = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    if reg.forms.iter().any(|(f, _)| *f == form) {
        return;
    }
    if reg.forms.len() >= MAX_SECRETS {
        // Forget the oldest token; with none left, the newest form is not kept (the registry
        // would only fill this far by registering thousands of secrets).
        match reg.forms.iter().position(|(_, t)| *t) {
            Some(i) => {
                reg.forms.remove(i);
            }
            None => return,
        }
    }
    // Longest first, so a form that contains another is replaced whole.
    let at = reg
        .forms
        .iter()
        .position(|(f, _)| f.len() < form.len())
        .unwrap_or(reg.forms.len());
    reg.forms.insert(at, (form, forgettable));
}

/// `text` with every registered secret replaced by [`MARK`]. Borrowed when nothing matched.
#[must_use]
pub fn redact(text: &str) -> Cow<'_, str> {
    let reg = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    let mut out = Cow::Borrowed(text);
    for (form, _) in &reg.forms {
        if out.contains(form.as_str()) {
            out = Cow::Owned(out.replace(form.as_str(), MARK));
        }
    }
    out
}

/// [`redact`] for bytes that may not be UTF-8 (a file written as it is): the secret forms are
/// ASCII or UTF-8, so they are found and replaced byte-wise.
#[must_use]
pub fn redact_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let reg = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    let mut out = Cow::Borrowed(bytes);
    for (form, _) in &reg.forms {
        let needle = form.as_bytes();
        if find(&out, needle).is_none() {
            continue;
        }
        let mut next = Vec::with_capacity(out.len());
        let mut rest: &[u8] = &out;
        while let Some(i) = find(rest, needle) {
            next.extend_from_slice(&rest[..i]);
            next.extend_from_slice(MARK.as_bytes());
            rest = &rest[i + needle.len()..];
        }
        next.extend_from_slice(rest);
        out = Cow::Owned(next);
    }
    out
}

/// Whether `text` holds a registered secret (for tests and for refusing to store one).
#[must_use]
pub fn holds_secret(text: &str) -> bool {
    let reg = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    reg.forms.iter().any(|(f, _)| text.contains(f.as_str()))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Standard base64 with padding, as HTTP Basic credentials are written (RFC 7617).
#[must_use]
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `%2F` → `%2f`: the same percent-encoding with lowercase hex digits.
fn lower_escapes(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut after = 0;
    for c in url.chars() {
        if c == '%' {
            after = 2;
            out.push(c);
        } else if after > 0 {
            after -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Percent-encoding as `application/x-www-form-urlencoded` writes a value (space as `+`).
fn url_encoded(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
                out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), enc);
        }
    }

    #[test]
    fn every_form_of_a_secret_is_redacted() {
        let secret = "r3dact/me+now \"quoted\"";
        register_basic("client-id-1", secret);
        let basic = base64(format!("client-id-1:{secret}").as_bytes());
        let said = format!(
            "raw {secret} basic {basic} url {} json {}",
            url_encoded(secret),
            serde_json::to_string(secret).unwrap()
        );
        let out = redact(&said);
        assert!(!out.contains("r3dact"), "{out}");
        // The shapes a server may echo: unpadded, URL-safe, the secret alone, lowercase escapes.
        let alone = base64(secret.as_bytes());
        for echoed in [
            basic.trim_end_matches('=').to_owned(),
            basic.replace('+', "-").replace('/', "_"),
            alone.clone(),
            lower_escapes(&url_encoded(secret)),
        ] {
            assert!(holds_secret(&echoed), "{echoed}");
        }
        assert!(!out.contains(&basic), "{out}");
        assert_eq!(out.matches(MARK).count(), 4, "{out}");
        let bytes = redact_bytes(said.as_bytes());
        assert_eq!(String::from_utf8_lossy(&bytes), out);
    }

    #[test]
    fn short_strings_are_not_registered_and_clean_text_is_borrowed() {
        register("abc");
        assert!(matches!(redact("abc abc"), Cow::Borrowed(_)));
        assert!(!holds_secret("abc"));
    }

    #[test]
    fn a_full_registry_forgets_tokens_not_secrets() {
        register("never-forgotten-secret");
        for i in 0..MAX_SECRETS + 10 {
            register_token(&format!("token-number-{i:06}"));
        }
        assert!(holds_secret("x never-forgotten-secret y"));
        assert!(holds_secret(&format!(
            "token-number-{:06}",
            MAX_SECRETS + 9
        )));
    }
}
