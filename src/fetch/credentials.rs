//! Credentials: the Genesys `gc` CLI's profiles (`~/.gc/config.toml`), then the environment
//! variables Genesys's own tools use. Secrets are wrapped so they never print.

use std::fmt;
use std::path::Path;

/// A secret string: `Debug` and `Display` print `[redacted]`; only [`Secret::expose`] reveals it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    #[must_use]
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
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
    /// Where they came from, for messages: `gc profile `x``, `environment`.
    pub source: String,
}

/// Read profile `name` (`DEFAULT` when `None`) from a `gc` config file's text.
///
/// # Errors
/// A message when the file is not TOML, the profile is missing, or it holds no credentials.
pub fn from_gc_config(text: &str, name: Option<&str>) -> Result<Credentials, String> {
    let table: toml::Table = toml::from_str(text)
        .map_err(|e| format!("the gc config is not valid TOML: {}", e.message()))?;
    let name = name.unwrap_or("DEFAULT");
    let profile = table
        .get(name)
        .and_then(toml::Value::as_table)
        .ok_or_else(|| format!("the gc config has no profile `[{name}]`"))?;
    let get = |k: &str| {
        profile
            .get(k)
            .and_then(toml::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let region = get("environment");
    let source = format!("gc profile `{name}`");
    if let (Some(id), Some(secret)) = (get("client_credentials"), get("client_secret")) {
        return Ok(Credentials {
            auth: Auth::ClientCredentials {
                client_id: id,
                secret: Secret::new(secret),
            },
            region,
            source,
        });
    }
    if let Some(token) = get("access_token") {
        return Ok(Credentials {
            auth: Auth::Token(Secret::new(token)),
            region,
            source,
        });
    }
    Err(format!(
        "gc profile `{name}` has neither `client_credentials` + `client_secret` nor `access_token`"
    ))
}

/// Credentials from `GENESYSCLOUD_OAUTHCLIENT_ID`/`_SECRET`/`GENESYSCLOUD_REGION`, or
/// `GENESYSCLOUD_ACCESS_TOKEN`, read through `var` (the environment, or a map in tests).
#[must_use]
pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<Credentials> {
    let get = |k: &str| var(k).filter(|v| !v.is_empty());
    let region = get("GENESYSCLOUD_REGION");
    let source = "environment".to_owned();
    if let (Some(id), Some(secret)) = (
        get("GENESYSCLOUD_OAUTHCLIENT_ID"),
        get("GENESYSCLOUD_OAUTHCLIENT_SECRET"),
    ) {
        return Some(Credentials {
            auth: Auth::ClientCredentials {
                client_id: id,
                secret: Secret::new(secret),
            },
            region,
            source,
        });
    }
    get("GENESYSCLOUD_ACCESS_TOKEN").map(|t| Credentials {
        auth: Auth::Token(Secret::new(t)),
        region,
        source,
    })
}

/// The credentials to use: the named `gc` profile (an error if it cannot be used), else the
/// `DEFAULT` profile if the file has one, else the environment.
///
/// # Errors
/// A message saying what was tried.
pub fn resolve(
    gc_config: &Path,
    profile: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Credentials, String> {
    let text = std::fs::read_to_string(gc_config).ok();
    if let Some(name) = profile {
        let text = text.ok_or_else(|| {
            format!(
                "`--profile {name}` needs the gc config at `{}`",
                gc_config.display()
            )
        })?;
        return from_gc_config(&text, Some(name));
    }
    if let Some(c) = text.as_deref().and_then(|t| from_gc_config(t, None).ok()) {
        return Ok(c);
    }
    from_env(var).ok_or_else(|| {
        "no credentials: set GENESYSCLOUD_OAUTHCLIENT_ID, GENESYSCLOUD_OAUTHCLIENT_SECRET and GENESYSCLOUD_REGION, \
         or GENESYSCLOUD_ACCESS_TOKEN, or pass --profile NAME for a gc CLI profile"
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GC: &str = r#"
[DEFAULT]
environment = "mypurecloud.ie"
client_credentials = "id-default"
client_secret = "s3cr3t-default"

[ci]
environment = "usw2.pure.cloud"
access_token = "tok-ci"
"#;

    #[test]
    fn gc_profiles() {
        let d = from_gc_config(GC, None).unwrap();
        assert_eq!(d.region.as_deref(), Some("mypurecloud.ie"));
        assert!(
            matches!(&d.auth, Auth::ClientCredentials { client_id, .. } if client_id == "id-default")
        );
        let ci = from_gc_config(GC, Some("ci")).unwrap();
        assert_eq!(ci.auth, Auth::Token(Secret::new("tok-ci")));
        assert!(from_gc_config(GC, Some("nope"))
            .unwrap_err()
            .contains("no profile `[nope]`"));
    }

    #[test]
    fn environment_variables() {
        let env = |k: &str| match k {
            "GENESYSCLOUD_OAUTHCLIENT_ID" => Some("id".to_owned()),
            "GENESYSCLOUD_OAUTHCLIENT_SECRET" => Some("sec".to_owned()),
            "GENESYSCLOUD_REGION" => Some("eu-west-1".to_owned()),
            _ => None,
        };
        let c = from_env(env).unwrap();
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        let token =
            from_env(|k| (k == "GENESYSCLOUD_ACCESS_TOKEN").then(|| "t".to_owned())).unwrap();
        assert_eq!(token.auth, Auth::Token(Secret::new("t")));
        assert!(from_env(|_| None).is_none());
    }

    #[test]
    fn profile_first_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let gc = dir.path().join("config.toml");
        let env = |k: &str| (k == "GENESYSCLOUD_ACCESS_TOKEN").then(|| "env-token".to_owned());
        assert_eq!(resolve(&gc, None, env).unwrap().source, "environment");
        assert!(
            resolve(&gc, Some("ci"), env).is_err(),
            "a named profile needs the file"
        );
        std::fs::write(&gc, GC).unwrap();
        assert_eq!(
            resolve(&gc, None, env).unwrap().source,
            "gc profile `DEFAULT`"
        );
        assert_eq!(
            resolve(&gc, Some("ci"), env).unwrap().source,
            "gc profile `ci`"
        );
    }

    #[test]
    fn secrets_never_print() {
        let c = from_gc_config(GC, None).unwrap();
        let shown = format!("{c:?} {}", Secret::new("s3cr3t-default"));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
