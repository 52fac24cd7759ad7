//! Reading API usage (`fetch --usage DAYS`): one aggregate query job per stretch of at most 90
//! days (`POST /api/v2/usage/aggregates/query/jobs`, grouped by client, user, method and
//! template), each polled with backoff until it succeeds (`GET …/jobs/{jobId}`), then its
//! result pages read through `nextUri`. Every request goes through the connection (budget,
//! retries, origin pinning); polls and pages are bounded.
//!
//! A 403 on a job is a coverage gap naming `usage:organization:view`; a failed or cancelled job,
//! or one that never finishes within the bounds, is a gap too: usage is read whole or not at all,
//! since a partial window would make "made no calls" look true.

use std::time::{Duration, SystemTime};

use super::conn::{Conn, Got};
use super::options::FetchError;
use super::wire;
use crate::model::{Coverage, Usage, UsageBuilder};

/// The job endpoint.
pub const JOBS: &str = "/api/v2/usage/aggregates/query/jobs";
/// The permission it needs.
pub const PERMISSION: &str = "usage:organization:view";
/// The longest interval one job may span (API-FACTS §10).
pub const MAX_JOB_DAYS: u32 = 90;
/// The furthest back usage can be asked for.
pub const MAX_DAYS: u32 = 365;
/// Results asked per page.
pub const PAGE_SIZE: usize = 1000;

/// How usage is read.
#[derive(Debug, Clone)]
pub struct UsageOptions {
    /// Days back from `end` (1 to [`MAX_DAYS`]).
    pub days: u32,
    /// The end of the window (now, for a fetch).
    pub end: SystemTime,
    /// The first wait between polls; each next wait doubles, up to `max_poll_interval`.
    pub first_poll: Duration,
    /// The longest wait between two polls.
    pub max_poll_interval: Duration,
    /// The most polls of one job.
    pub max_polls: u32,
    /// The most time spent waiting on one job.
    pub max_poll_wait: Duration,
    /// The most rows read in all.
    pub max_rows: usize,
}

impl UsageOptions {
    /// Usage over the last `days` days, with the default bounds.
    #[must_use]
    pub fn days(days: u32) -> Self {
        Self {
            days,
            end: SystemTime::now(),
            first_poll: Duration::from_secs(2),
            max_poll_interval: Duration::from_secs(30),
            max_polls: 60,
            max_poll_wait: Duration::from_secs(15 * 60),
            max_rows: 20_000_000,
        }
    }
}

/// `start/end` of each job, oldest first: `days` split into stretches of at most 90 days.
#[must_use]
pub fn job_intervals(days: u32, end: SystemTime) -> Vec<String> {
    let day = Duration::from_secs(86_400);
    // Whole days, ending at the start of the day `end` falls in.
    let end_secs = end
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400 * 86_400);
    let end = SystemTime::UNIX_EPOCH + Duration::from_secs(end_secs);
    let days = days.clamp(1, MAX_DAYS);
    let mut out = Vec::new();
    let mut left = days;
    while left > 0 {
        let span = left.min(MAX_JOB_DAYS);
        let stop = end - day * (left - span);
        let start = stop - day * span;
        out.push(format!(
            "{}/{}",
            humantime::format_rfc3339_seconds(start),
            humantime::format_rfc3339_seconds(stop)
        ));
        left -= span;
    }
    out
}

fn gap(endpoint: &str, http_status: Option<u16>, message: String) -> Coverage {
    Coverage {
        endpoint: endpoint.to_owned(),
        dataset: "usage".to_owned(),
        status: "gap".to_owned(),
        http_status,
        message: Some(message),
        permission: Some(PERMISSION.to_owned()),
        ..Coverage::default()
    }
}

/// Read usage over the window: the dataset, or the gap that stopped it.
///
/// # Errors
/// When a request fails for good (after retries) or an answer is not the documented shape.
pub(super) async fn read_usage(
    conn: &Conn,
    opts: &UsageOptions,
) -> Result<Result<Usage, Coverage>, FetchError> {
    let intervals = job_intervals(opts.days, opts.end);
    let mut rows = UsageBuilder::new(
        String::new(),
        "Day".to_owned(),
        opts.days.clamp(1, MAX_DAYS),
    );
    for interval in &intervals {
        match run_job(conn, opts, interval, &mut rows).await? {
            Ok(()) => {}
            Err(g) => return Ok(Err(g)),
        }
    }
    let whole = match (intervals.first(), intervals.last()) {
        (Some(a), Some(b)) => format!(
            "{}/{}",
            a.split('/').next().unwrap_or_default(),
            b.split('/').nth(1).unwrap_or_default()
        ),
        _ => String::new(),
    };
    let mut usage = rows.finish();
    usage.interval = whole;
    Ok(Ok(usage))
}

fn job_body(interval: &str) -> Vec<u8> {
    serde_json::json!({
        "interval": interval,
        "granularity": "Day",
        "groupBy": ["OauthClientId", "OauthClientName", "UserId", "HttpMethod", "TemplateUri"],
        "metrics": ["Requests", "Status200", "Status300", "Status400", "Status429", "Status500"],
    })
    .to_string()
    .into_bytes()
}

fn shape(endpoint: &str, e: &serde_json::Error) -> FetchError {
    FetchError::Shape {
        endpoint: endpoint.to_owned(),
        detail: e.to_string(),
    }
}

/// One job: start it, poll it until it succeeds, read its pages into `rows`.
async fn run_job(
    conn: &Conn,
    opts: &UsageOptions,
    interval: &str,
    rows: &mut UsageBuilder,
) -> Result<Result<(), Coverage>, FetchError> {
    let post = format!("POST {JOBS}");
    let job: wire::UsageJob = match conn.post(JOBS, &job_body(interval), "usage").await? {
        Got::Body(b) => serde_json::from_slice(&b).map_err(|e| shape(&post, &e))?,
        Got::Denied(g) => {
            let mut g = g;
            g.permission = Some(PERMISSION.to_owned());
            return Ok(Err(g));
        }
        Got::TooLarge => {
            return Ok(Err(gap(
                &post,
                Some(400),
                "the job was refused as a bad request".to_owned(),
            )))
        }
    };
    let first = format!(
        "{JOBS}/{}?pageSize={PAGE_SIZE}",
        crate::text::visible(&job.id).replace(['/', '?', '#', '&'], "")
    );
    let page = match poll(conn, opts, &first).await? {
        Ok(p) => p,
        Err(g) => return Ok(Err(g)),
    };
    read_pages(conn, opts, page, rows).await
}

/// Poll until the job is no longer queued or running, waiting longer each time, within the
/// poll count and total wait.
async fn poll(
    conn: &Conn,
    opts: &UsageOptions,
    path: &str,
) -> Result<Result<wire::UsageResults, Coverage>, FetchError> {
    let endpoint = format!("GET {JOBS}/{{jobId}}");
    let (mut wait, mut waited) = (opts.first_poll, Duration::ZERO);
    for _ in 0..opts.max_polls.max(1) {
        let res: wire::UsageResults = match conn.get(path, "usage").await? {
            Got::Body(b) => serde_json::from_slice(&b).map_err(|e| shape(&endpoint, &e))?,
            Got::Denied(g) => return Ok(Err(g)),
            Got::TooLarge => {
                return Ok(Err(gap(
                    &endpoint,
                    Some(400),
                    "the results page was refused as too large".to_owned(),
                )))
            }
        };
        match res.query_status.as_str() {
            "Succeeded" => return Ok(Ok(res)),
            "Queued" | "Running" => {}
            other => {
                let why = res
                    .error_body
                    .and_then(|e| e.message)
                    .unwrap_or_else(|| "no reason given".to_owned());
                return Ok(Err(gap(
                    &endpoint,
                    None,
                    format!(
                        "the usage job ended `{}`: {}",
                        crate::text::visible(other),
                        crate::text::visible(&why)
                    ),
                )));
            }
        }
        if waited + wait > opts.max_poll_wait {
            break;
        }
        tokio::time::sleep(wait).await;
        waited += wait;
        wait = (wait * 2).min(opts.max_poll_interval);
    }
    Ok(Err(gap(
        &endpoint,
        None,
        format!(
            "the usage job did not finish within {} poll(s) and {}",
            opts.max_polls,
            humantime::format_duration(opts.max_poll_wait)
        ),
    )))
}

/// The first page's rows, then each `nextUri` (on the API's origin only), within `max_pages`
/// and `max_rows`.
async fn read_pages(
    conn: &Conn,
    opts: &UsageOptions,
    first: wire::UsageResults,
    rows: &mut UsageBuilder,
) -> Result<Result<(), Coverage>, FetchError> {
    let endpoint = format!("GET {JOBS}/{{jobId}}");
    let mut page = first;
    for _ in 0..conn.options().max_pages {
        conn.count("usage", page.entities.len());
        for e in page.entities {
            e.add_to(rows);
        }
        if rows.len() > opts.max_rows {
            return Ok(Err(gap(
                &endpoint,
                None,
                format!("more than {} usage rows: not read", opts.max_rows),
            )));
        }
        let Some(next) = page.next_uri.filter(|n| !n.is_empty()) else {
            return Ok(Ok(()));
        };
        let path = conn.api_path(&next).map_err(|why| FetchError::ForeignUri {
            endpoint: endpoint.clone(),
            field: "nextUri",
            why,
        })?;
        page = match conn.get(&path, "usage").await? {
            Got::Body(b) => serde_json::from_slice(&b).map_err(|e| shape(&endpoint, &e))?,
            Got::Denied(g) => return Ok(Err(g)),
            Got::TooLarge => {
                return Ok(Err(gap(
                    &endpoint,
                    Some(400),
                    "a results page was refused as too large".to_owned(),
                )))
            }
        };
    }
    Err(FetchError::TooManyPages {
        endpoint,
        cap: conn.options().max_pages,
        claim: "its `nextUri` chain did not end".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_is_split_into_jobs_of_at_most_90_days_ending_today() {
        let end = SystemTime::UNIX_EPOCH + Duration::from_secs(20_000 * 86_400 + 3_600);
        let jobs = job_intervals(365, end);
        assert_eq!(jobs.len(), 5);
        assert!(jobs[0].starts_with("2023-10-05T00:00:00Z/"), "{jobs:?}");
        assert!(jobs[4].ends_with("/2024-10-04T00:00:00Z"), "{jobs:?}");
        assert_eq!(job_intervals(90, end).len(), 1);
        assert_eq!(job_intervals(91, end).len(), 2);
        assert_eq!(job_intervals(10_000, end).len(), 5, "clamped to a year");
    }
}
