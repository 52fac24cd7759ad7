//! `rolecall fetch`: read a live org into a snapshot file (written atomically).

use std::path::PathBuf;

use clap::Args;

use rolecall::internals::text::visible;

use super::{note, Exit};
use rolecall::internals::fetch::client::{fetch_with_usage, FetchOptions, FetchStats};
use rolecall::internals::fetch::credentials;
use rolecall::internals::fetch::regions::{check_base, login_for, resolve_region};
use rolecall::internals::model::{save_snapshot, OrgSnapshot};

/// Where and how to connect; shared by `fetch` and `check --live`.
#[derive(Debug, Args, Clone)]
pub struct ConnectArgs {
    /// A profile of the Genesys `gc` CLI (`~/.gc/config.toml`, names matched regardless of case);
    /// without it, its `default` profile when present, else the environment.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Region key or domain (e.g. `eu-west-1`, `mypurecloud.ie`); overrides the credentials' region.
    #[arg(long)]
    region: Option<String>,
    /// API base URL (https, or http on loopback for test servers).
    #[arg(long, value_name = "URL")]
    api_base: Option<String>,
    /// Login base URL (default: derived from the API base).
    #[arg(long, value_name = "URL")]
    login_base: Option<String>,
    /// Requests per minute (the client-credentials default is 300; the server's
    /// `inin-ratelimit-*` headers are followed as well).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    rate: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// Largest response body read, in MiB: a larger one fails the fetch naming the endpoint.
    #[arg(long, value_name = "MIB", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    max_response_mib: u64,
    /// The most pages one listing may have: a server claiming more (or whose cursors do not
    /// end) fails the fetch, naming the listing, before they are asked for.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    max_pages: u32,
    /// The deadline of one attempt in seconds, from sending the request to the last byte of
    /// the answer (a server that trickles its headers or body is cut off; tried twice at most).
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    request_timeout: u64,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Output file.
    #[arg(short, long, default_value = "org.json")]
    output: PathBuf,
    /// Also read API usage over the last DAYS days (1-365, in jobs of at most 90 days; needs
    /// `usage:organization:view`) and when each user last got a token: for `rightsize`,
    /// `impact` and the USG rules.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=365))]
    usage: Option<u32>,
}

pub(super) fn gc_config() -> PathBuf {
    std::env::var_os("HOME").map_or_else(
        || PathBuf::from(".gc/config.toml"),
        |h| PathBuf::from(h).join(".gc/config.toml"),
    )
}

/// A progress bar on stderr: requests done of those known so far, an ETA, objects per kind.
/// indicatif hides it when stderr is not a terminal.
fn progress_bar(quiet: bool) -> Option<rolecall::internals::fetch::client::ProgressFn> {
    if quiet {
        return None;
    }
    let bar = indicatif::ProgressBar::new(1);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} requests · ETA {eta} · {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(std::sync::Arc::new(
        move |p: &rolecall::internals::fetch::client::Progress| {
            bar.set_length(p.planned as u64);
            bar.set_position(p.done as u64);
            let msg: Vec<String> = p
                .objects
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            bar.set_message(msg.join(" · "));
        },
    ))
}

/// A `--api-base` or `--login-base` value, parsed and checked before anything else happens.
fn base_flag(flag: &str, value: Option<&str>) -> miette::Result<Option<String>> {
    value
        .map(|v| {
            check_base(v).map_err(|m| {
                miette::miette!(
                    help = "give `https://HOST[:PORT][/PATH]`, or plain http to a loopback \
                            address such as `http://127.0.0.1:8080`",
                    "refused `{flag}`: {m}"
                )
            })
        })
        .transpose()
}

/// Resolve credentials and hosts into the options of a connection (`fetch`, `verify`).
pub fn connect_options(c: &ConnectArgs) -> miette::Result<FetchOptions> {
    let api_flag = base_flag("--api-base", c.api_base.as_deref())?;
    let login_flag = base_flag("--login-base", c.login_base.as_deref())?;
    let creds = credentials::resolve(
        &gc_config(),
        c.profile.as_deref(),
        |k| std::env::var(k).ok(),
        std::time::SystemTime::now(),
    )
    .map_err(miette::Report::new)?;
    let region = c.region.clone().or(creds.region.clone());
    let (api, login) = match (api_flag, &region) {
        (Some(api), _) => {
            let login = login_flag.unwrap_or_else(|| login_for(&api));
            (api, login)
        }
        (None, Some(r)) => {
            let hosts = resolve_region(r).ok_or_else(|| {
                miette::miette!(
                    help = "use a key such as `eu-west-1` or a domain such as `mypurecloud.ie`",
                    "unknown region `{r}`"
                )
            })?;
            (hosts.api, login_flag.unwrap_or(hosts.login))
        }
        (None, None) => {
            return Err(miette::miette!(
                help = "set GENESYSCLOUD_REGION, or pass --region or --api-base",
                "no region: cannot tell which Genesys Cloud to call"
            ))
        }
    };
    // Derived hosts are checked too: the same rule holds whatever the source.
    let (api, login) = (
        check_base(&api).map_err(|m| miette::miette!("{m}"))?,
        check_base(&login).map_err(|m| miette::miette!("{m}"))?,
    );
    // A token gc cached is for its profile's own region's API host only.
    let creds = creds.for_api_base(&api).map_err(miette::Report::new)?;
    if !c.quiet {
        note(&format!(
            "connecting to {api} with credentials from {}",
            creds.source
        ));
    }
    Ok(FetchOptions {
        api_base: api,
        login_base: login,
        auth: creds.auth,
        region,
        per_minute: c.rate,
        concurrency: usize::from(c.concurrency),
        max_attempts: 6,
        progress: progress_bar(c.quiet),
        max_body_bytes: c.max_response_mib << 20,
        max_pages: usize::try_from(c.max_pages).unwrap_or(usize::MAX),
        attempt_timeout: std::time::Duration::from_secs(c.request_timeout),
        max_wait: rolecall::internals::fetch::client::MAX_RETRY_AFTER,
    })
}

/// The async runtime HTTP work runs on.
pub fn runtime() -> miette::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| miette::miette!("cannot start the async runtime: {e}"))
}

/// Resolve credentials and hosts, then fetch.
pub fn fetch_org(c: &ConnectArgs) -> miette::Result<(OrgSnapshot, FetchStats)> {
    fetch_org_with(c, None)
}

/// [`fetch_org`], with API usage over the last `usage` days when given.
pub fn fetch_org_with(
    c: &ConnectArgs,
    usage: Option<u32>,
) -> miette::Result<(OrgSnapshot, FetchStats)> {
    let opts = connect_options(c)?;
    let usage = usage.map(rolecall::internals::fetch::usage::UsageOptions::days);
    let (snap, stats) = runtime()?.block_on(fetch_with_usage(opts, usage))?;
    if !c.quiet {
        // A dataset that could not be read is said to be so, never counted as 0.
        let count = |dataset: &str, label: &str, n: usize| {
            snap.coverage
                .iter()
                .find(|c| c.dataset == dataset && c.status != "ok")
                .map_or_else(
                    || format!("{n} {label}"),
                    |c| {
                        let status = c
                            .http_status
                            .map_or_else(String::new, |s| format!(" ({s})"));
                        format!("{label}: not readable{status}")
                    },
                )
        };
        let counts = [
            count("users", "users", snap.users.len()),
            count("groups", "groups", snap.groups.len()),
            count("roles", "roles", snap.roles.len()),
            count("grants", "grants", snap.grants.len()),
            count("oauthClients", "clients", snap.oauth_clients.len()),
            count("divisions", "divisions", snap.divisions.len()),
            count("accessPolicies", "policies", snap.access_policies.len()),
            count("operations", "operations", snap.operations.len()),
            count(
                "usage",
                "usage rows",
                snap.usage.as_ref().map_or(0, |u| u.rows.len()),
            ),
        ];
        note(&format!(
            "fetched org `{}`: {}; {} requests, {} retries, {} rate-limited, {} gap(s) in {:.1} s",
            visible(&snap.organization.name),
            counts.join(", "),
            stats.requests,
            stats.retries,
            stats.rate_limited,
            stats.gaps,
            stats.elapsed.as_secs_f64()
        ));
        let sizes: Vec<String> = stats
            .page_sizes
            .iter()
            .map(|p| match p.learning_requests {
                0 => format!("{} {}", p.family, p.size),
                n => format!("{} {} ({n} request(s) to learn it)", p.family, p.size),
            })
            .collect();
        if !sizes.is_empty() {
            note(&format!("page sizes: {}", sizes.join(", ")));
        }
        for n in snap.coverage.iter().filter(|c| c.status == "ok") {
            if let Some(m) = &n.message {
                note(&format!("note: {}: {}", visible(&n.endpoint), visible(m)));
            }
        }
        for g in snap.coverage.iter().filter(|g| g.status != "ok") {
            note(&format!(
                "gap: {} answered {}{}{}",
                visible(&g.endpoint),
                g.http_status.unwrap_or(0),
                g.error_code
                    .as_deref()
                    .map(|c| format!(" `{}`", visible(c)))
                    .unwrap_or_default(),
                g.permission
                    .as_deref()
                    .map(|p| format!(" (needs `{}`)", visible(p)))
                    .unwrap_or_default()
            ));
            if let (None, Some(m)) = (g.http_status, &g.message) {
                note(&format!("gap: {}: {}", visible(&g.endpoint), visible(m)));
            }
        }
    }
    Ok((snap, stats))
}

pub fn run(args: &FetchArgs) -> miette::Result<Exit> {
    // An output that cannot be replaced is refused before the fetch, not after it.
    rolecall::internals::io::check_target(&args.output)?;
    let (snap, _) = fetch_org_with(&args.connect, args.usage)?;
    save_snapshot(&snap, &args.output)?;
    note(&format!("wrote `{}`", args.output.display()));
    Ok(Exit::Clean)
}
