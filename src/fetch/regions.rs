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

/// Accept `https://` anywhere, `http://` only for loopback addresses (test servers).
///
/// # Errors
/// A message saying why the URL is refused.
pub fn check_base(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!("`{url}` is not an http(s) URL"));
    };
    let host = if let Some(v6) = rest.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        rest.split(['/', ':']).next().unwrap_or_default()
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "`{url}` uses plain http; only https is allowed, except for loopback test servers"
        ))
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
    fn plain_http_only_on_loopback() {
        assert!(check_base("https://api.mypurecloud.com").is_ok());
        assert!(check_base("http://127.0.0.1:3000").is_ok());
        assert!(check_base("http://127.8.9.10/x").is_ok());
        assert!(check_base("http://localhost:1").is_ok());
        assert!(check_base("http://[::1]:9").is_ok());
        assert!(check_base("http://10.0.0.5:80").is_err());
        assert!(check_base("http://api.mypurecloud.com").is_err());
        assert!(check_base("ftp://x").is_err());
    }
}
