//! Genesys Cloud regions: region keys and domains to API and login hosts (API-FACTS §3), and
//! the rule that only https is used, except for loopback test servers.

/// `(region key, domain)`, from the SDKs' region tables.
const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "mypurecloud.com"),
    ("us-east-2", "use2.us-gov-pure.cloud"),
    ("us-west-2", "usw2.pure.cloud"),
    ("ca-central-1", "cac1.pure.cloud"),
    ("sa-east-1", "sae1.pure.cloud"),
    ("mx-central-1", "mxc1.pure.cloud"),
    ("eu-west-1", "mypurecloud.ie"),
    ("eu-west-2", "euw2.pure.cloud"),
    ("eu-central-1", "mypurecloud.de"),
    ("eu-central-2", "euc2.pure.cloud"),
    ("me-central-1", "mec1.pure.cloud"),
    ("ap-southeast-2", "mypurecloud.com.au"),
    ("ap-northeast-1", "mypurecloud.jp"),
    ("ap-northeast-2", "apne2.pure.cloud"),
    ("ap-northeast-3", "apne3.pure.cloud"),
    ("ap-south-1", "aps1.pure.cloud"),
    ("ap-southeast-1", "apse1.pure.cloud"),
    ("eusc-de-east-1", "edee1.eusc-pure.cloud"),
    // Internal regions the Terraform provider knows.
    ("dca", "inindca.com"),
    ("tca", "inintca.com"),
];

/// The API and login base URLs of an org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosts {
    /// e.g. `https://api.mypurecloud.ie`.
    pub api: String,
    /// e.g. `https://login.mypurecloud.ie`.
    pub login: String,
}

/// Resolve a region key (`eu-west-1`, or the CLI's `me_central_1`), a domain
/// (`mypurecloud.ie`) or an API host (`api.mypurecloud.ie`).
#[must_use]
pub fn resolve_region(text: &str) -> Option<Hosts> {
    let t = text.trim().trim_end_matches('/').to_ascii_lowercase();
    let t = t.strip_prefix("https://").unwrap_or(&t);
    let t = t.strip_prefix("api.").unwrap_or(t).replace('_', "-");
    let domain = REGIONS
        .iter()
        .find(|(key, domain)| *key == t || *domain == t)
        .map(|(_, d)| *d)?;
    Some(Hosts {
        api: format!("https://api.{domain}"),
        login: format!("https://login.{domain}"),
    })
}

/// The login base for an API base: the `api.` host label becomes `login.` (as the SDKs do);
/// other hosts (a test server) keep their address.
#[must_use]
pub fn login_for(api_base: &str) -> String {
    let base = api_base.trim_end_matches('/');
    for scheme in ["https://", "http://"] {
        if let Some(rest) = base.strip_prefix(scheme) {
            if rest.len() > 4 && rest[..4].eq_ignore_ascii_case("api.") {
                return format!("{scheme}login.{}", &rest[4..]);
            }
        }
    }
    base.to_owned()
}

/// Parse a base URL and accept it only if a token may be sent to it: `https://`, or `http://`
/// to a loopback address (`127.0.0.0/8`, `::1`, `localhost`: a test server); never with a user
/// name or password, a query or a fragment. Returns the URL as parsed, without a trailing `/`,
/// so that the host checked is the host called (`http://127.0.0.1:80@evil.example/` is a
/// request to `evil.example`).
///
/// # Errors
/// A message saying why the URL is refused; it never repeats a user name or password.
#[cfg(feature = "fetch")]
pub fn check_base(text: &str) -> Result<String, String> {
    let shown = without_userinfo(text.trim());
    let url = reqwest::Url::parse(text.trim())
        .map_err(|e| format!("`{shown}` is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!("`{shown}` is not an http(s) URL"));
    }
    let Some(host) = url.host_str() else {
        return Err(format!("`{shown}` has no host"));
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{shown}` has a user name or password before its host `{host}`; a base URL may not"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{shown}` has a query or fragment; a base URL may not"
        ));
    }
    // The parser has normalised the host (`127.1` is `127.0.0.1`, names are lowercase), and
    // brackets an IPv6 address.
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if url.scheme() == "http" && !loopback {
        return Err(format!(
            "`{shown}` uses plain http to `{host}`; only https is allowed, except for loopback test servers"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `text` with anything before an `@` in its authority replaced by `…`, for messages: it may be
/// a password.
#[cfg(feature = "fetch")]
fn without_userinfo(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    // The authority ends where the path, query or fragment starts (`\` counts as `/` in
    // http URLs); its last `@` ends the userinfo, as the URL parser reads it.
    let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    match rest.get(..end).and_then(|a| a.rfind('@')) {
        Some(at) => format!("{scheme}://…@{}", rest.get(at + 1..).unwrap_or_default()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_domains_and_hosts_resolve() {
        let ie = resolve_region("eu-west-1").unwrap();
        assert_eq!(ie.api, "https://api.mypurecloud.ie");
        assert_eq!(ie.login, "https://login.mypurecloud.ie");
        assert_eq!(resolve_region("mypurecloud.ie"), Some(ie.clone()));
        assert_eq!(resolve_region("api.mypurecloud.ie"), Some(ie.clone()));
        assert_eq!(resolve_region("https://api.mypurecloud.ie/"), Some(ie));
        assert_eq!(
            resolve_region("me_central_1").unwrap().api,
            "https://api.mec1.pure.cloud"
        );
        assert_eq!(
            resolve_region("us-east-2").unwrap().login,
            "https://login.use2.us-gov-pure.cloud"
        );
        assert!(resolve_region("mars-north-1").is_none());
    }

    #[test]
    fn login_host_follows_the_api_host() {
        assert_eq!(
            login_for("https://api.usw2.pure.cloud"),
            "https://login.usw2.pure.cloud"
        );
        assert_eq!(
            login_for("https://API.mypurecloud.de/"),
            "https://login.mypurecloud.de"
        );
        assert_eq!(login_for("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }

    #[test]
    #[cfg(feature = "fetch")]
    fn plain_http_only_on_loopback() {
        for ok in [
            "https://api.mypurecloud.com",
            "https://api.mypurecloud.ie",
            "http://127.0.0.1:3000",
            "http://127.0.0.1:8080",
            "http://127.8.9.10/x",
            "http://localhost:1",
            "http://LocalHost:1/",
            "http://[::1]:9",
            "http://[::1]:9000/",
        ] {
            assert!(check_base(ok).is_ok(), "{ok}: {:?}", check_base(ok));
        }
        for (bad, why) in [
            ("http://10.0.0.5:80", "uses plain http to `10.0.0.5`"),
            (
                "http://api.mypurecloud.ie",
                "uses plain http to `api.mypurecloud.ie`",
            ),
            (
                "http://127.0.0.1.evil.example/",
                "uses plain http to `127.0.0.1.evil.example`",
            ),
            (
                "http://localhost.evil.example/",
                "uses plain http to `localhost.evil.example`",
            ),
            (
                "http://[::ffff:127.0.0.1]/",
                "uses plain http to `[::ffff:7f00:1]`",
            ),
            ("ftp://x", "is not an http(s) URL"),
            (
                "api.mypurecloud.ie",
                "is not a valid URL: relative URL without a base",
            ),
            ("https://", "is not a valid URL: empty host"),
            ("https://api.mypurecloud.ie/?x=1", "has a query or fragment"),
            ("https://api.mypurecloud.ie/#top", "has a query or fragment"),
        ] {
            let e = check_base(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    #[cfg(feature = "fetch")]
    fn the_host_is_what_the_url_parser_says() {
        // Before the `@` is a user name and password, however much it looks like a host.
        assert_eq!(
            check_base("http://127.0.0.1:80@evil.example/").unwrap_err(),
            "`http://…@evil.example/` has a user name or password before its host `evil.example`; a base URL may not"
        );
        for bad in [
            "http://user:pw@127.0.0.1/",
            "https://user@api.mypurecloud.ie",
            "https://:pw@api.mypurecloud.ie",
            "http://a@b@127.0.0.1/",
        ] {
            let e = check_base(bad).unwrap_err();
            assert!(e.contains("has a user name or password"), "{bad}: {e}");
            assert!(
                !e.contains("pw") && !e.contains("user@") && !e.contains("a@b"),
                "{e}"
            );
        }
        // A password in a URL that does not parse is not repeated either.
        let e = check_base("http://user:pw@:80/").unwrap_err();
        assert!(e.contains("is not a valid URL") && !e.contains("pw"), "{e}");
        // What is checked is what is called: normalised, without a trailing slash.
        assert_eq!(
            check_base("https://API.mypurecloud.ie/").unwrap(),
            "https://api.mypurecloud.ie"
        );
        assert_eq!(
            check_base("http://127.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            check_base("http://127.0.0.1\\@evil.example").unwrap(),
            "http://127.0.0.1/@evil.example"
        );
        assert_eq!(
            check_base(" http://[::1]:9000/api/ ").unwrap(),
            "http://[::1]:9000/api"
        );
    }
}
