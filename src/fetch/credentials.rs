//! Credentials read the way the Genesys `gc` CLI reads them: a profile of `~/.gc/config.toml`,
//! each field overridable by its own `GENESYSCLOUD_*` variable; the environment alone when there
//! is no gc config. Secrets are wrapped so they never print.
//!
//! `gc` stores profiles through viper, which lowercases every name and key (`gc profiles new`
//! writes `[default]` although `gc` asks for `DEFAULT`), so both are matched regardless of case.

use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use miette::Diagnostic;
use thiserror::Error;

use super::regions::resolve_region;

/// The profile `gc` uses when `--profile` is not given.
pub const DEFAULT_PROFILE: &str = "DEFAULT";

// The variables `gc` reads; each overrides one field of the chosen profile.
const ENV_REGION: &str = "GENESYSCLOUD_REGION";
const ENV_CLIENT_ID: &str = "GENESYSCLOUD_OAUTHCLIENT_ID";
const ENV_CLIENT_SECRET: &str = "GENESYSCLOUD_OAUTHCLIENT_SECRET";
const ENV_TOKEN: &str = "GENESYSCLOUD_ACCESS_TOKEN";

/// A secret string: `Debug` and `Display` print `[redacted]`; only [`Secret::expose`] reveals it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret, registering it with the one redactor ([`crate::redact`]) so that no
    /// output of the process can carry it from now on.
    #[must_use]
    pub fn new(s: impl Into<String>) -> Self {
        let s = s.into();
        crate::redact::register(&s);
        Self(s)
    }
    /// Wrap a token the process received (from a login), registering it with the one
    /// redactor as a token: with thousands of renewals, the oldest may be forgotten first.
    #[must_use]
    pub fn issued(s: impl Into<String>) -> Self {
        let s = s.into();
        crate::redact::register_token(&s);
        Self(s)
    }
    /// The secret itself, for the one place that sends it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// OAuth client credentials.
    ClientCredentials {
        /// Client id (not secret).
        client_id: String,
        /// Client secret.
        secret: Secret,
    },
    /// A bearer token obtained elsewhere.
    Token(Secret),
}

/// Credentials and where they point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// How to authenticate.
    pub auth: Auth,
    /// Region key, domain or API host, when the source names one.
    pub region: Option<String>,
    /// Where they came from, for messages, e.g. ``gc profile `default` (client credentials)``
    /// or `environment`. Never holds a secret.
    pub source: String,
    /// Set when `auth` is a login token `gc` cached: it is for one host only (see
    /// [`Credentials::for_api_base`]).
    pub cached: Option<CachedLogin>,
}

/// A token is for one region: a login token `gc` cached is its profile's, a static token
/// (`access_token`, `GENESYSCLOUD_ACCESS_TOKEN`) the region named beside it. What it was issued
/// for, and what the profile offers for any other host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedLogin {
    /// The token in words: ``the login token gc cached for profile `default` `` or ``the token
    /// from `GENESYSCLOUD_ACCESS_TOKEN` ``.
    pub profile: String,
    /// The API base of the profile's own region (`https://api.usw2.pure.cloud`); `None` when
    /// the profile names no region rolecall knows, so that no host is the token's.
    pub api_base: Option<String>,
    /// The profile's client credentials and how to describe them, when it has usable ones.
    pub otherwise: Option<(Auth, String)>,
}

/// Why no credentials could be used. The text names profiles, keys and variables, never values.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(rolecall::fetch::credentials))]
pub struct CredentialsError {
    message: String,
    #[help]
    help: String,
}

impl CredentialsError {
    fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: help.into(),
        }
    }
    /// What went wrong.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
    /// What to do about it.
    #[must_use]
    pub fn help(&self) -> &str {
        &self.help
    }
}

const ENV_HELP: &str = "set GENESYSCLOUD_OAUTHCLIENT_ID, GENESYSCLOUD_OAUTHCLIENT_SECRET and \
                        GENESYSCLOUD_REGION, or GENESYSCLOUD_ACCESS_TOKEN, or pass --profile NAME \
                        for a gc CLI profile";

/// `gc` has no separate login command: any command run with the profile logs in again.
fn login_help(profile: &str) -> String {
    format!(
        "log in again with gc, e.g. `gc users me get --profile {profile}`, then retry; \
         or set GENESYSCLOUD_ACCESS_TOKEN"
    )
}

/// One field's value, and the variable it came from when the environment overrode the profile.
/// No `Debug`: the value may be a secret.
struct Field {
    value: String,
    env: Option<&'static str>,
}

/// A profile with the environment's overrides applied; `profile` is `None` for the environment
/// alone. No `Debug`: it holds secrets unwrapped.
#[derive(Default)]
struct Merged {
    profile: Option<String>,
    region: Option<Field>,
    client_id: Option<Field>,
    secret: Option<Field>,
    token: Option<Field>,
    /// `oauth_token_data`: the JSON `gc` caches after a login.
    cached: Option<String>,
    /// The profile's own client id and region, which the cached token was issued for.
    own_client_id: Option<String>,
    own_region: Option<String>,
    /// The profile logs in through a browser (implicit or PKCE grant), so its client cannot do
    /// client credentials.
    browser_login: bool,
}

/// The entry named `name` regardless of case; the exact spelling wins if several match.
fn lookup<'t>(
    table: &'t toml::Table,
    name: &str,
    what: impl Fn(&str) -> String,
) -> Result<Option<(&'t str, &'t toml::Value)>, CredentialsError> {
    if let Some((k, v)) = table.get_key_value(name) {
        return Ok(Some((k.as_str(), v)));
    }
    let lower = name.to_lowercase();
    let mut hits = table.iter().filter(|(k, _)| k.to_lowercase() == lower);
    match (hits.next(), hits.next()) {
        (None, _) => Ok(None),
        (Some((k, v)), None) => Ok(Some((k.as_str(), v))),
        (Some((a, _)), Some((b, _))) => Err(CredentialsError::new(
            format!("{} is given twice, as `{a}` and `{b}`", what(name)),
            "gc matches names regardless of case; keep one of them in the gc config",
        )),
    }
}

/// The profile `name` of a gc config's text, with the environment's overrides; `Ok(None)` when
/// the file has no such profile.
fn profile_in(
    text: &str,
    name: &str,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Merged>, CredentialsError> {
    // toml's report quotes the line, which may hold a secret: only the line number is shown.
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .and_then(|s| text.get(..s.start))
            .map(|before| format!(" (line {})", before.matches('\n').count() + 1))
            .unwrap_or_default();
        CredentialsError::new(
            format!("the gc config is not valid TOML{at}"),
            "fix the file, or recreate the profile with `gc profiles new`",
        )
    })?;
    let Some((name, profile)) = lookup(&table, name, |n| format!("profile `{n}`"))? else {
        return Ok(None);
    };
    let Some(profile) = profile.as_table() else {
        return Ok(None);
    };
    let get = |key: &str| -> Result<Option<String>, CredentialsError> {
        let value = lookup(profile, key, |k| format!("gc profile `{name}`: key `{k}`"))?;
        // `grant_type` is written as a string ('1'); a hand-written file may hold a number.
        Ok(value
            .and_then(|(_, v)| match v {
                toml::Value::String(s) => Some(s.clone()),
                toml::Value::Integer(i) => Some(i.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty()))
    };
    let field = |env: &'static str, key: &str| -> Result<Option<Field>, CredentialsError> {
        if let Some(value) = var(env).filter(|v| !v.is_empty()) {
            return Ok(Some(Field {
                value,
                env: Some(env),
            }));
        }
        Ok(get(key)?.map(|value| Field { value, env: None }))
    };
    // gc's grant types: 1 client credentials, 2 implicit, 3 PKCE; a redirect URI also means a
    // browser login to gc.
    let grant = get("grant_type")?;
    Ok(Some(Merged {
        profile: Some(name.to_owned()),
        region: field(ENV_REGION, "environment")?,
        client_id: field(ENV_CLIENT_ID, "client_credentials")?,
        secret: field(ENV_CLIENT_SECRET, "client_secret")?,
        token: field(ENV_TOKEN, "access_token")?,
        cached: get("oauth_token_data")?,
        own_client_id: get("client_credentials")?,
        own_region: get("environment")?,
        browser_login: matches!(grant.as_deref(), Some("2" | "3"))
            || get("redirect_uri")?.is_some(),
    }))
}

fn env_only(var: &impl Fn(&str) -> Option<String>) -> Merged {
    let field = |env: &'static str| {
        var(env).filter(|v| !v.is_empty()).map(|value| Field {
            value,
            env: Some(env),
        })
    };
    Merged {
        region: field(ENV_REGION),
        client_id: field(ENV_CLIENT_ID),
        secret: field(ENV_CLIENT_SECRET),
        token: field(ENV_TOKEN),
        ..Merged::default()
    }
}

/// `oauth_token_data` as `gc` writes it: the token response plus `oauth_token_expiry`.
#[derive(serde::Deserialize)]
struct CachedToken {
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    oauth_token_expiry: String,
}

/// A cached token that cannot be used, in words for a message.
enum Stale {
    Expired(SystemTime),
    Unreadable(&'static str),
    /// Issued for the profile's client and region, which this variable changes.
    Elsewhere(&'static str),
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Expired(t) => write!(f, "expired at `{}`", humantime::format_rfc3339_seconds(*t)),
            Self::Unreadable(why) => f.write_str(why),
            Self::Elsewhere(var) => write!(f, "is for another client or region than `{var}` names"),
        }
    }
}

/// Whether two region spellings (key, domain or API host) name the same region.
fn same_region(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || resolve_region(a).is_some_and(|h| resolve_region(b) == Some(h))
}

/// The variable that moves the profile to another client or region than its cached token was
/// issued for, if any. gc ignores its cache whenever any variable is set; rolecall keeps using
/// it while the variables only restate the profile, as it cannot log in through a browser.
fn moved_by(m: &Merged) -> Option<&'static str> {
    let moved = |f: &Option<Field>, own: &Option<String>, same: fn(&str, &str) -> bool| {
        f.as_ref().and_then(|f| {
            let env = f.env?;
            (!own.as_deref().is_some_and(|own| same(&f.value, own))).then_some(env)
        })
    };
    moved(&m.client_id, &m.own_client_id, |a, b| a == b)
        .or_else(|| moved(&m.region, &m.own_region, same_region))
}

/// The cached token if it is still valid at `now`.
fn read_cached(raw: &str, now: SystemTime) -> Result<(Secret, SystemTime), Stale> {
    // serde_json's messages can quote the input, so they are not passed on.
    let data: CachedToken =
        serde_json::from_str(raw).map_err(|_| Stale::Unreadable("is not the JSON gc writes"))?;
    if data.access_token.is_empty() {
        return Err(Stale::Unreadable("holds no `access_token`"));
    }
    let expiry = parse_rfc3339(&data.oauth_token_expiry)
        .ok_or(Stale::Unreadable("has no readable `oauth_token_expiry`"))?;
    if expiry > now {
        Ok((Secret::new(data.access_token), expiry))
    } else {
        Err(Stale::Expired(expiry))
    }
}

/// An RFC 3339 timestamp with any UTC offset (`Z`, `+00:00`, `+02:00`, `-05:30`) and optional
/// fractional seconds. `gc` formats its local time with Go's `time.RFC3339`, so offsets other
/// than UTC are common; humantime reads only UTC, hence the shift by hand.
#[must_use]
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if let Some(utc) = text.strip_suffix(['Z', 'z']) {
        return humantime::parse_rfc3339(&format!("{utc}Z")).ok();
    }
    let split = text.len().checked_sub(6)?;
    let (local, offset) = (text.get(..split)?, text.get(split..)?);
    let &[sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] = offset.as_bytes() else {
        return None;
    };
    let two = |a: u8, b: u8| {
        (a.is_ascii_digit() && b.is_ascii_digit())
            .then(|| u64::from(a - b'0') * 10 + u64::from(b - b'0'))
    };
    let (hours, minutes) = (two(h1, h2)?, two(m1, m2)?);
    if hours > 23 || minutes > 59 {
        return None;
    }
    let as_if_utc = humantime::parse_rfc3339(&format!("{local}Z")).ok()?;
    let shift = Duration::from_secs(hours * 3600 + minutes * 60);
    // Local time is UTC plus the offset, so UTC is local time minus it.
    if sign == b'+' {
        as_if_utc.checked_sub(shift)
    } else {
        as_if_utc.checked_add(shift)
    }
}

/// Pick the credentials from a merged profile, in `gc`'s order: an access token, then the
/// login token `gc` cached (while valid), then client credentials.
fn choose(m: Merged, now: SystemTime) -> Result<Credentials, CredentialsError> {
    let region = m.region.as_ref().map(|f| f.value.clone());
    let source = |how: String| match &m.profile {
        Some(p) => format!("gc profile `{p}` ({how})"),
        None => "environment".to_owned(),
    };
    if let Some(token) = &m.token {
        let how = match token.env {
            Some(env) => format!("token from `{env}`"),
            None => "`access_token`".to_owned(),
        };
        // A token named with a region is that region's: never sent to another host. Without a
        // region, the host is the one the person names (`--api-base`), their choice.
        let pinned = region.as_ref().map(|r| CachedLogin {
            profile: match &m.profile {
                Some(p) => format!("the {how} of gc profile `{p}` (region `{r}`)"),
                None => format!("the {how} (region `{r}`)"),
            },
            api_base: resolve_region(r).map(|h| h.api),
            otherwise: client_credentials(&m),
        });
        return Ok(Credentials {
            auth: Auth::Token(Secret::new(token.value.clone())),
            region,
            source: source(how),
            cached: pinned,
        });
    }
    // The cached token belongs to the profile's own client and region.
    let mut stale = None;
    if let (Some(profile), Some(raw)) = (&m.profile, &m.cached) {
        match moved_by(&m).map_or_else(|| read_cached(raw, now), |var| Err(Stale::Elsewhere(var))) {
            Ok((token, expiry)) => {
                return Ok(Credentials {
                    auth: Auth::Token(token),
                    region,
                    source: source(format!(
                        "login token cached by gc, valid until `{}`",
                        humantime::format_rfc3339_seconds(expiry)
                    )),
                    cached: Some(CachedLogin {
                        profile: format!("the login token gc cached for profile `{profile}`"),
                        api_base: m
                            .own_region
                            .as_deref()
                            .and_then(resolve_region)
                            .map(|h| h.api),
                        otherwise: client_credentials(&m),
                    }),
                })
            }
            Err(why) => stale = Some(why),
        }
    }
    if let Some((auth, how)) = client_credentials(&m) {
        if let (Some(profile), Some(why)) = (&m.profile, &stale) {
            // gc does the same: an expired cache is renewed with the client credentials.
            log::info!(
                "gc profile `{profile}`: the cached login token {why}; using the client credentials"
            );
        }
        return Ok(Credentials {
            auth,
            region,
            source: source(how),
            cached: None,
        });
    }
    Err(no_credentials(&m, stale))
}

/// The profile's client credentials, with how they are described, if it has usable ones.
fn client_credentials(m: &Merged) -> Option<(Auth, String)> {
    // A browser-login profile's client cannot do client credentials; a client from the
    // environment is another client, so it may.
    let client_allowed = !m.browser_login || m.client_id.as_ref().is_some_and(|f| f.env.is_some());
    let (Some(id), Some(secret), true) = (&m.client_id, &m.secret, client_allowed) else {
        return None;
    };
    let overrides: Vec<&str> = [&m.region, &m.client_id, &m.secret]
        .into_iter()
        .filter_map(|f| f.as_ref().and_then(|f| f.env))
        .collect();
    let how = if overrides.is_empty() {
        "client credentials".to_owned()
    } else {
        format!(
            "client credentials, {} from the environment",
            overrides
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Some((
        Auth::ClientCredentials {
            client_id: id.value.clone(),
            secret: Secret::new(secret.value.clone()),
        },
        how,
    ))
}

/// A base URL's scheme and authority, lowercase, without the scheme's default port: what
/// decides where a request goes. `None` for anything with user info (never a base rolecall
/// accepts).
fn origin_of(base: &str) -> Option<String> {
    let b = base.trim().to_ascii_lowercase();
    let (scheme, rest) = b.split_once("://")?;
    let authority = rest.split(['/', '\\', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = match scheme {
        "https" => authority.strip_suffix(":443").unwrap_or(authority),
        "http" => authority.strip_suffix(":80").unwrap_or(authority),
        _ => authority,
    };
    Some(format!("{scheme}://{authority}"))
}

impl Credentials {
    /// The credentials to send to the API at `api_base` (the base the connection will use,
    /// after `--region` and `--api-base`). A login token `gc` cached serves only its
    /// profile's own region: for any other host the profile's client credentials are used
    /// instead, and the source says so; without client credentials, that is an error. Other
    /// credentials are returned as they are.
    ///
    /// # Errors
    /// The cached token is for another host and the profile has no client credentials.
    pub fn for_api_base(self, api_base: &str) -> Result<Self, CredentialsError> {
        let Some(cached) = &self.cached else {
            return Ok(self);
        };
        let own = cached.api_base.as_deref().and_then(origin_of);
        if own.is_some() && own == origin_of(api_base) {
            return Ok(self);
        }
        let own = cached.api_base.as_deref().map_or_else(
            || "no region rolecall knows".to_owned(),
            |b| format!("`{b}`"),
        );
        let token = &cached.profile;
        match &cached.otherwise {
            Some((auth, how)) => {
                log::info!("{token} is for {own}, not `{api_base}`; using the client credentials");
                Ok(Self {
                    auth: auth.clone(),
                    region: self.region.clone(),
                    source: format!("{how}; {token} is for {own}, not this host"),
                    cached: None,
                })
            }
            None => Err(CredentialsError::new(
                format!("{token} is for {own}, not `{api_base}`"),
                "drop `--region` and `--api-base` to use the token's own region, or give \
                 credentials for that host: GENESYSCLOUD_ACCESS_TOKEN without \
                 GENESYSCLOUD_REGION, or GENESYSCLOUD_OAUTHCLIENT_ID and \
                 GENESYSCLOUD_OAUTHCLIENT_SECRET",
            )),
        }
    }
}

/// Why a merged profile gave no credentials, with what to do about it.
fn no_credentials(m: &Merged, stale: Option<Stale>) -> CredentialsError {
    let Some(profile) = &m.profile else {
        return CredentialsError::new("no credentials", ENV_HELP);
    };
    if let Some(why) = stale {
        let help = match why {
            Stale::Elsewhere(var) => {
                format!("unset `{var}` to use the profile's client and region, or set GENESYSCLOUD_ACCESS_TOKEN")
            }
            _ => login_help(profile),
        };
        return CredentialsError::new(
            format!("the login token gc cached for profile `{profile}` {why}"),
            help,
        );
    }
    if m.browser_login {
        return CredentialsError::new(
            format!(
                "gc profile `{profile}` logs in through a browser and holds no login token yet"
            ),
            login_help(profile),
        );
    }
    CredentialsError::new(
        format!(
            "gc profile `{profile}` has no `access_token`, cached login token, or \
             `client_credentials` with `client_secret`"
        ),
        format!("complete it with `gc profiles new`, or {ENV_HELP}"),
    )
}

/// Credentials from profile `name` ([`DEFAULT_PROFILE`] when `None`) of a gc config's text, each
/// field overridden by its `GENESYSCLOUD_*` variable read through `var`; a cached login token
/// is judged at `now`.
///
/// # Errors
/// The file is not TOML, has no such profile, or the profile (with the overrides) holds no
/// usable credentials, e.g. its cached login token expired and it has no client credentials.
pub fn from_gc_config(
    text: &str,
    name: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
    now: SystemTime,
) -> Result<Credentials, CredentialsError> {
    let name = name.unwrap_or(DEFAULT_PROFILE);
    let merged = profile_in(text, name, &var)?.ok_or_else(|| {
        CredentialsError::new(
            format!("the gc config has no profile `{name}`"),
            "list the profiles with `gc profiles list`",
        )
    })?;
    choose(merged, now)
}

/// Tell the one redactor ([`crate::redact`]) every credential this process could come to hold
/// before anything is read or printed: the `GENESYSCLOUD_*` secret and token variables read
/// through `var`, and every `client_secret`, `access_token` and cached token of every profile in
/// the gc config (read through the bounded reader; a config that cannot be read registers
/// nothing here and is reported when credentials are resolved).
pub fn register_known_secrets(var: &dyn Fn(&str) -> Option<String>, gc_config: &Path) {
    let id = var(ENV_CLIENT_ID).unwrap_or_default();
    if let Some(secret) = var(ENV_CLIENT_SECRET) {
        crate::redact::register_basic(&id, &secret);
    }
    if let Some(token) = var(ENV_TOKEN) {
        crate::redact::register(&token);
    }
    let Ok(text) = crate::io::read_text(gc_config, crate::io::Input::GcConfig) else {
        return;
    };
    let Ok(table) = toml::from_str::<toml::Table>(&text) else {
        return;
    };
    for profile in table.values().filter_map(toml::Value::as_table) {
        let get = |key: &str| {
            profile
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .and_then(|(_, v)| v.as_str())
        };
        let pid = get("client_credentials").unwrap_or_default();
        if let Some(secret) = get("client_secret") {
            crate::redact::register_basic(pid, secret);
            if !id.is_empty() {
                crate::redact::register_basic(&id, secret);
            }
        }
        if let Some(token) = get("access_token") {
            crate::redact::register(token);
        }
        if let Some(token) = get("oauth_token_data")
            .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw).ok())
            .and_then(|v| v.get("access_token").cloned())
        {
            if let Some(t) = token.as_str() {
                crate::redact::register(t);
            }
        }
    }
}

/// Credentials from the environment alone: `GENESYSCLOUD_ACCESS_TOKEN`, else
/// `GENESYSCLOUD_OAUTHCLIENT_ID` + `GENESYSCLOUD_OAUTHCLIENT_SECRET`; the region from
/// `GENESYSCLOUD_REGION`. `var` reads the environment (or a map in tests).
#[must_use]
pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<Credentials> {
    choose(env_only(&var), SystemTime::UNIX_EPOCH).ok()
}

/// The credentials to use, as `gc` would pick them: profile `profile` of the gc config (or
/// [`DEFAULT_PROFILE`], matched regardless of case) with each `GENESYSCLOUD_*` variable
/// overriding its field; then an access token, a cached login token valid at `now`, or client
/// credentials. Without a gc config or, when no profile is named, without a default profile in
/// it, the environment alone.
///
/// A gc config that exists but cannot be read (not a regular file, too large, not text) is an
/// error naming it; only a missing one means the environment alone.
///
/// # Errors
/// What was missing or unusable, with what to do about it.
pub fn resolve(
    gc_config: &Path,
    profile: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
    now: SystemTime,
) -> Result<Credentials, CredentialsError> {
    // A missing file means the environment alone; a file that is there but cannot be read
    // (a FIFO, a device, too large, not text, no permission) is an error naming it, never
    // silently passed over: the credentials it holds would be replaced by others.
    let text = match crate::io::read_text(gc_config, crate::io::Input::GcConfig) {
        Ok(text) => Some(text),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            return Err(CredentialsError::new(
                e.to_string(),
                "fix the file or its permissions, or point HOME elsewhere; the environment \
                 alone is used only when there is no gc config",
            ))
        }
    };
    let merged = match (text, profile) {
        (Some(text), Some(name)) => profile_in(&text, name, &var)?.ok_or_else(|| {
            CredentialsError::new(
                format!(
                    "the gc config `{}` has no profile `{name}`",
                    gc_config.display()
                ),
                "list the profiles with `gc profiles list`",
            )
        })?,
        (None, Some(name)) => {
            return Err(CredentialsError::new(
                format!(
                    "`--profile {name}` needs the gc config at `{}`",
                    gc_config.display()
                ),
                "create it with `gc profiles new`",
            ))
        }
        (Some(text), None) => {
            profile_in(&text, DEFAULT_PROFILE, &var)?.unwrap_or_else(|| env_only(&var))
        }
        (None, None) => env_only(&var),
    };
    choose(merged, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed "now": 2024-05-01T12:00:00Z.
    fn now() -> SystemTime {
        humantime::parse_rfc3339("2024-05-01T12:00:00Z").unwrap()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    /// As `gc profiles new` writes it: viper lowercases the profile name and sorts the keys,
    /// empty fields are written out, and `oauth_token_data` is a JSON string. `ci` holds a token
    /// cached by a client-credentials login, `pkce` one from a browser login (expiry in the
    /// user's local time, +02:00), `old` an expired one.
    const GC: &str = r#"
[default]
access_token = ''
client_credentials = 'id-default'
client_secret = 's3cr3t-default'
environment = 'mypurecloud.ie'
grant_type = '1'
redirect_uri = ''
secure_login_enabled = false

[ci]
access_token = ''
client_credentials = 'id-ci'
client_secret = 's3cr3t-ci'
environment = 'usw2.pure.cloud'
grant_type = '1'
oauth_token_data = '{"access_token":"tok-cached-ci","token_type":"bearer","expires_in":86399,"error":"","oauth_token_expiry":"2024-05-01T13:00:00Z"}'
redirect_uri = ''
secure_login_enabled = false

[pkce]
access_token = ''
client_credentials = 'id-pkce'
client_secret = ''
environment = 'mypurecloud.de'
grant_type = '3'
oauth_token_data = "{\"access_token\":\"tok-pkce\",\"token_type\":\"bearer\",\"expires_in\":86399,\"error\":\"\",\"oauth_token_expiry\":\"2024-05-01T14:30:00+02:00\"}"
redirect_uri = 'http://localhost:0'
secure_login_enabled = false

[old]
client_credentials = 'id-old'
client_secret = 'Zq9-implicit-secret'
environment = 'mypurecloud.jp'
grant_type = '2'
oauth_token_data = '{"access_token":"tok-old-Xk7","oauth_token_expiry":"2024-04-30T09:00:00.123456Z"}'
redirect_uri = 'http://localhost:7788'

[token]
access_token = 'tok-profile'
client_credentials = 'id-token'
client_secret = 's3cr3t-token'
environment = 'mypurecloud.com'
grant_type = '0'
"#;

    fn gc(name: Option<&str>) -> Result<Credentials, CredentialsError> {
        from_gc_config(GC, name, no_env, now())
    }

    #[test]
    fn profiles_and_keys_match_regardless_of_case() {
        let d = gc(None).unwrap();
        assert_eq!(d.region.as_deref(), Some("mypurecloud.ie"));
        assert_eq!(d.source, "gc profile `default` (client credentials)");
        assert!(
            matches!(&d.auth, Auth::ClientCredentials { client_id, .. } if client_id == "id-default")
        );
        assert_eq!(gc(Some("DEFAULT")).unwrap(), d);
        assert_eq!(gc(Some("Default")).unwrap(), d);
        let shouting = "[DEFAULT]\nEnvironment = 'mypurecloud.ie'\nCLIENT_CREDENTIALS = 'id-default'\nClient_Secret = 's3cr3t-default'\n";
        let loud = from_gc_config(shouting, None, no_env, now()).unwrap();
        assert_eq!((loud.auth, loud.region), (d.auth, d.region));
        let e = gc(Some("nope")).unwrap_err();
        assert!(e.message().contains("no profile `nope`"), "{e}");
        assert!(e.help().contains("gc profiles list"));
        // Two spellings of one name: gc would pick either, so neither is guessed.
        let twice = "[default]\naccess_token = 'a'\n[Default]\naccess_token = 'b'\n";
        assert_eq!(
            from_gc_config(twice, Some("DEFAULT"), no_env, now())
                .unwrap_err()
                .message(),
            "profile `DEFAULT` is given twice, as `Default` and `default`"
        );
        assert_eq!(
            from_gc_config(twice, Some("Default"), no_env, now())
                .unwrap()
                .auth,
            Auth::Token(Secret::new("b")),
            "the exact spelling wins"
        );
    }

    #[test]
    fn access_token_comes_first() {
        let t = gc(Some("token")).unwrap();
        assert_eq!(t.auth, Auth::Token(Secret::new("tok-profile")));
        assert_eq!(t.source, "gc profile `token` (`access_token`)");
        // The environment's token beats the profile's client credentials and cached token.
        let env = env(&[(ENV_TOKEN, "tok-env")]);
        for name in ["default", "ci", "pkce", "old", "token"] {
            let c = from_gc_config(GC, Some(name), &env, now()).unwrap();
            assert_eq!(c.auth, Auth::Token(Secret::new("tok-env")), "{name}");
            assert_eq!(
                c.source,
                format!("gc profile `{name}` (token from `GENESYSCLOUD_ACCESS_TOKEN`)")
            );
        }
    }

    #[test]
    fn environment_overrides_each_field_of_the_profile() {
        let region = from_gc_config(GC, None, env(&[(ENV_REGION, "eu-central-1")]), now()).unwrap();
        assert_eq!(region.region.as_deref(), Some("eu-central-1"));
        assert!(
            matches!(&region.auth, Auth::ClientCredentials { client_id, secret } if client_id == "id-default" && secret.expose() == "s3cr3t-default"),
            "the rest still comes from the profile"
        );
        assert_eq!(
            region.source,
            "gc profile `default` (client credentials, `GENESYSCLOUD_REGION` from the environment)"
        );
        let secret =
            from_gc_config(GC, None, env(&[(ENV_CLIENT_SECRET, "rotated")]), now()).unwrap();
        assert_eq!(secret.region.as_deref(), Some("mypurecloud.ie"));
        assert_eq!(
            secret.auth,
            Auth::ClientCredentials {
                client_id: "id-default".into(),
                secret: Secret::new("rotated"),
            }
        );
        // An empty variable overrides nothing, as in gc.
        assert_eq!(
            from_gc_config(GC, None, env(&[(ENV_CLIENT_ID, "")]), now()).unwrap(),
            gc(None).unwrap()
        );
    }

    #[test]
    fn a_valid_cached_token_is_used_until_it_expires() {
        let ci = gc(Some("ci")).unwrap();
        assert_eq!(ci.auth, Auth::Token(Secret::new("tok-cached-ci")));
        assert_eq!(
            ci.source,
            "gc profile `ci` (login token cached by gc, valid until `2024-05-01T13:00:00Z`)"
        );
        // 14:30+02:00 is 12:30Z: valid at noon UTC, expired at 12:31.
        let pkce = gc(Some("pkce")).unwrap();
        assert_eq!(pkce.auth, Auth::Token(Secret::new("tok-pkce")));
        assert_eq!(pkce.region.as_deref(), Some("mypurecloud.de"));
        assert!(
            pkce.source.contains("valid until `2024-05-01T12:30:00Z`"),
            "{}",
            pkce.source
        );
        let later = now() + Duration::from_secs(31 * 60);
        let e = from_gc_config(GC, Some("pkce"), no_env, later).unwrap_err();
        assert_eq!(
            e.message(),
            "the login token gc cached for profile `pkce` expired at `2024-05-01T12:30:00Z`"
        );
        assert!(
            e.help().contains("log in again with gc") && e.help().contains("--profile pkce"),
            "{e:?}"
        );
        // A client-credentials profile renews an expired cache with its credentials, as gc does.
        let renewed =
            from_gc_config(GC, Some("ci"), no_env, later + Duration::from_secs(3600)).unwrap();
        assert!(matches!(renewed.auth, Auth::ClientCredentials { .. }));
        assert_eq!(renewed.source, "gc profile `ci` (client credentials)");
    }

    #[test]
    fn an_expired_browser_login_is_an_error_not_a_fallback() {
        // `old` even holds a client secret (implicit grant allows one): it is not used.
        let e = gc(Some("old")).unwrap_err();
        assert_eq!(
            e.message(),
            "the login token gc cached for profile `old` expired at `2024-04-30T09:00:00Z`"
        );
        assert!(e.help().contains("gc users me get --profile old"), "{e:?}");
        let never = "[default]\nclient_credentials = 'id'\ngrant_type = '3'\nredirect_uri = 'http://localhost:0'\n";
        let e = from_gc_config(never, None, no_env, now()).unwrap_err();
        assert!(e.message().contains("holds no login token yet"), "{e}");
        assert!(e.help().contains("log in again with gc"), "{e:?}");
        // A client from the environment is not the profile's browser client, so it may be used.
        let env = env(&[
            (ENV_CLIENT_ID, "ci-client"),
            (ENV_CLIENT_SECRET, "ci-secret"),
        ]);
        let c = from_gc_config(GC, Some("old"), env, now()).unwrap();
        assert!(
            matches!(&c.auth, Auth::ClientCredentials { client_id, .. } if client_id == "ci-client")
        );
        assert_eq!(c.region.as_deref(), Some("mypurecloud.jp"));
    }

    #[test]
    fn the_cache_serves_only_the_profiles_own_client_and_region() {
        let cached = Auth::Token(Secret::new("tok-cached-ci"));
        // Restating the profile's region (any spelling) or client keeps the cached token.
        for same in [
            env(&[(ENV_REGION, "us-west-2")]),
            env(&[(ENV_REGION, "api.USW2.pure.cloud")]),
            env(&[(ENV_CLIENT_ID, "id-ci")]),
            env(&[(ENV_CLIENT_SECRET, "rotated")]),
        ] {
            assert_eq!(
                from_gc_config(GC, Some("ci"), same, now()).unwrap().auth,
                cached
            );
        }
        // Another region or client: not its token; the client credentials are used instead.
        for (elsewhere, var) in [
            (env(&[(ENV_REGION, "eu-west-1")]), ENV_REGION),
            (
                env(&[(ENV_CLIENT_ID, "id-other"), (ENV_CLIENT_SECRET, "s")]),
                ENV_CLIENT_ID,
            ),
        ] {
            let c = from_gc_config(GC, Some("ci"), elsewhere, now()).unwrap();
            assert!(
                matches!(c.auth, Auth::ClientCredentials { .. }),
                "{var}: {c:?}"
            );
            assert!(c.source.contains(var), "{}", c.source);
        }
        // A browser-login profile has nothing else: a clear error.
        let e =
            from_gc_config(GC, Some("pkce"), env(&[(ENV_REGION, "eu-west-1")]), now()).unwrap_err();
        assert_eq!(
            e.message(),
            "the login token gc cached for profile `pkce` is for another client or region than `GENESYSCLOUD_REGION` names"
        );
        assert!(e.help().starts_with("unset `GENESYSCLOUD_REGION`"), "{e:?}");
    }

    #[test]
    fn the_cached_token_serves_only_its_regions_api_host() {
        let ci = gc(Some("ci")).unwrap();
        let token = Auth::Token(Secret::new("tok-cached-ci"));
        // The profile's own region, however the base is spelled.
        for own in [
            "https://api.usw2.pure.cloud",
            "https://API.usw2.pure.cloud:443/",
        ] {
            assert_eq!(ci.clone().for_api_base(own).unwrap().auth, token, "{own}");
        }
        // Another region (`--region`), another host (`--api-base`), plain http or another
        // port on the right host: the profile's client credentials, and the source says so.
        for other in [
            "https://api.mypurecloud.ie",
            "http://127.0.0.1:8080",
            "http://api.usw2.pure.cloud",
            "https://api.usw2.pure.cloud:8443",
            "https://api.usw2.pure.cloud.evil.example",
        ] {
            let c = ci.clone().for_api_base(other).unwrap();
            assert!(
                matches!(&c.auth, Auth::ClientCredentials { client_id, .. } if client_id == "id-ci"),
                "{other}: {c:?}"
            );
            assert_eq!(
                c.source,
                "client credentials; the login token gc cached for profile `ci` is for \
                 `https://api.usw2.pure.cloud`, not this host"
            );
            assert!(c.cached.is_none());
        }
        // A browser-login profile has nothing else to offer: an error naming both hosts.
        let e = gc(Some("pkce"))
            .unwrap()
            .for_api_base("http://127.0.0.1:8080")
            .unwrap_err();
        assert_eq!(
            e.message(),
            "the login token gc cached for profile `pkce` is for `https://api.mypurecloud.de`, \
             not `http://127.0.0.1:8080`"
        );
        assert!(
            e.help().starts_with("drop `--region` and `--api-base`"),
            "{e:?}"
        );
        // A profile whose region rolecall does not know: its token serves no host.
        let unknown = "[default]\nenvironment = 'moon.example'\ngrant_type = '3'\n\
                       oauth_token_data = '{\"access_token\":\"tok-moon\",\"oauth_token_expiry\":\"2030-01-01T00:00:00Z\"}'\n";
        let e = from_gc_config(unknown, None, no_env, now())
            .unwrap()
            .for_api_base("https://api.moon.example")
            .unwrap_err();
        assert!(
            e.message().contains("is for no region rolecall knows"),
            "{e}"
        );
        // A static token named with a region is that region's too (issue 20, review): another
        // host gets the profile's client credentials, never the token.
        let t = gc(Some("token")).unwrap();
        assert_eq!(
            t.clone()
                .for_api_base("https://api.mypurecloud.com")
                .unwrap(),
            t
        );
        let other = t.for_api_base("http://127.0.0.1:1").unwrap();
        assert!(
            matches!(&other.auth, Auth::ClientCredentials { client_id, .. } if client_id == "id-token"),
            "{other:?}"
        );
        // Without a region, the host the person names is theirs to choose.
        let bare = from_env(env(&[(ENV_TOKEN, "tok-env-only")])).unwrap();
        assert_eq!(
            bare.clone().for_api_base("http://127.0.0.1:1").unwrap(),
            bare
        );
        let pinned = from_env(env(&[
            (ENV_TOKEN, "tok-env-region"),
            (ENV_REGION, "mypurecloud.ie"),
        ]))
        .unwrap();
        assert!(pinned.for_api_base("http://127.0.0.1:1").is_err());
    }

    #[test]
    #[cfg(unix)]
    fn a_gc_config_that_cannot_be_read_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let token = env(&[(ENV_TOKEN, "env-token")]);
        let fifo = dir.path().join("fifo.toml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let link = dir.path().join("zero.toml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        for (path, why) in [
            (link.as_path(), "a character device"),
            (fifo.as_path(), "a FIFO"),
            (dir.path(), "a directory"),
        ] {
            let started = std::time::Instant::now();
            let e = resolve(path, None, &token, now()).unwrap_err();
            assert!(
                e.message().starts_with("cannot read the gc config")
                    && e.message().contains(&path.display().to_string())
                    && e.message().contains(why),
                "{e}"
            );
            // Refused before reading: no hang on the FIFO, no 2 GB read from /dev/zero.
            assert!(started.elapsed() < std::time::Duration::from_secs(5));
        }
        // Too large: stopped at the cap while reading.
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; 2 << 20]).unwrap();
        let e = resolve(&big, None, &token, now()).unwrap_err();
        assert!(e.message().contains("larger than"), "{e}");
    }

    #[test]
    fn unreadable_caches() {
        for (data, why) in [
            ("not json tok-leak", "is not the JSON gc writes"),
            ("\"tok-leak\"", "is not the JSON gc writes"),
            (
                r#"{"access_token":"","oauth_token_expiry":"2030-01-01T00:00:00Z"}"#,
                "holds no `access_token`",
            ),
            (
                r#"{"access_token":"tok-leak","oauth_token_expiry":"2030-01-01 00:00:00"}"#,
                "has no readable `oauth_token_expiry`",
            ),
        ] {
            let text = format!("[default]\ngrant_type = '3'\noauth_token_data = '{data}'\n");
            let e = from_gc_config(&text, None, no_env, now()).unwrap_err();
            assert_eq!(
                e.message(),
                format!("the login token gc cached for profile `default` {why}")
            );
            assert!(!format!("{e:?} {e}").contains("tok-leak"), "{e:?}");
        }
    }

    #[test]
    fn rfc3339_with_offsets_and_fractions() {
        let noon = Some(now());
        for text in [
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00z",
            "2024-05-01T12:00:00+00:00",
            "2024-05-01T12:00:00-00:00",
            "2024-05-01T14:00:00+02:00",
            "2024-05-01T06:30:00-05:30",
            "2024-05-02T01:45:00+13:45",
            " 2024-05-01T12:00:00Z ",
        ] {
            assert_eq!(parse_rfc3339(text), noon, "{text}");
        }
        assert_eq!(
            parse_rfc3339("2024-05-01T14:00:00.250+02:00"),
            Some(now() + Duration::from_millis(250))
        );
        assert_eq!(
            parse_rfc3339("2024-05-01T12:00:00.5Z"),
            Some(now() + Duration::from_millis(500))
        );
        for bad in [
            "",
            "2024-05-01T12:00:00",
            "2024-05-01 12:00:00",
            "2024-05-01T12:00:00+2:00",
            "2024-05-01T12:00:00+24:00",
            "2024-05-01T12:00:00+02:60",
            "2024-05-01T12:00:00+0200",
            "2024-05-01T12:00:00é+02:00",
            "tomorrow",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn environment_alone() {
        let env = env(&[
            (ENV_CLIENT_ID, "id"),
            (ENV_CLIENT_SECRET, "sec"),
            (ENV_REGION, "eu-west-1"),
        ]);
        let c = from_env(&env).unwrap();
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.source, "environment");
        assert!(matches!(c.auth, Auth::ClientCredentials { .. }));
        let both = |k: &str| env(k).or_else(|| (k == ENV_TOKEN).then(|| "t".to_owned()));
        assert_eq!(from_env(both).unwrap().auth, Auth::Token(Secret::new("t")));
        assert!(from_env(no_env).is_none());
        assert!(from_env(|k| (k == ENV_CLIENT_ID).then(|| "id".to_owned())).is_none());
    }

    #[test]
    fn resolve_reads_the_file_else_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let token = env(&[(ENV_TOKEN, "env-token")]);
        // No file: the environment alone; a named profile needs the file.
        assert_eq!(
            resolve(&path, None, &token, now()).unwrap().source,
            "environment"
        );
        let e = resolve(&path, Some("ci"), &token, now()).unwrap_err();
        assert!(
            e.message().contains("`--profile ci` needs the gc config"),
            "{e}"
        );
        assert_eq!(
            resolve(&path, None, no_env, now()).unwrap_err(),
            CredentialsError::new("no credentials", ENV_HELP)
        );
        // A file without a default profile: the environment alone.
        std::fs::write(&path, "[ci]\naccess_token = 'x'\n").unwrap();
        assert_eq!(
            resolve(&path, None, &token, now()).unwrap().source,
            "environment"
        );
        // gc's own file: `[default]` is found, and the environment overrides its fields.
        std::fs::write(&path, GC).unwrap();
        let d = resolve(&path, None, no_env, now()).unwrap();
        assert_eq!(d.source, "gc profile `default` (client credentials)");
        assert_eq!(
            resolve(&path, None, &token, now()).unwrap().source,
            "gc profile `default` (token from `GENESYSCLOUD_ACCESS_TOKEN`)"
        );
        assert_eq!(
            resolve(&path, Some("CI"), no_env, now()).unwrap().auth,
            Auth::Token(Secret::new("tok-cached-ci"))
        );
        let e = resolve(&path, Some("nope"), &token, now()).unwrap_err();
        assert!(e.message().contains("has no profile `nope`"), "{e}");
        // Not TOML: the position, never the line (which may hold a secret).
        std::fs::write(&path, "[default]\nclient_secret = 's3cr3t-broken\n").unwrap();
        let e = resolve(&path, None, no_env, now()).unwrap_err();
        assert!(
            e.message().starts_with("the gc config is not valid TOML"),
            "{e}"
        );
        assert!(!format!("{e:?}").contains("s3cr3t"), "{e:?}");
    }

    #[test]
    fn secrets_never_print() {
        let mut shown = String::new();
        for name in ["default", "ci", "pkce", "old", "token"] {
            for when in [now(), now() + Duration::from_secs(86_400 * 365)] {
                match from_gc_config(GC, Some(name), no_env, when) {
                    Ok(c) => shown.push_str(&format!(
                        "{c:?} {} {}",
                        c.source,
                        match &c.auth {
                            Auth::Token(t) => t.to_string(),
                            Auth::ClientCredentials { secret, .. } => secret.to_string(),
                        }
                    )),
                    Err(e) => shown.push_str(&format!("{e:?} {e} {}", e.help())),
                }
            }
        }
        for leak in ["s3cr3t", "tok-", "Zq9"] {
            assert!(!shown.contains(leak), "`{leak}` in {shown}");
        }
        assert!(shown.contains("[redacted]"));
        assert_eq!(
            format!("{:?} {}", Secret::new("x"), Secret::new("x")),
            "[redacted] [redacted]"
        );
    }
}
