//! Asking the platform about a [`Plan`]'s pairs over the fetcher's connection, never past its
//! request count, and comparing the answers.

use super::{compare_all, needed_permission_words, Answer, Asked, Plan, RunStats, VerifyError};
use super::{PlatformSide, VerifyReport};
use crate::fetch::client::FetchOptions;
use crate::fetch::permitted::{ask, PermittedAnswer, PermittedQuery};
use crate::model::Org;

/// Ask the platform about every pair of `plan` and compare. Sends at most `plan.requests`
/// requests: a pair whose request would go past it, or that fails after retries, is unknown.
///
/// # Errors
/// A failed sign-in, or the endpoint refusing (403/404): then no pair can be trusted, and the
/// error names what the operation catalog says the endpoint needs.
pub async fn run(org: &Org, plan: &Plan, opts: FetchOptions) -> Result<VerifyReport, VerifyError> {
    let queries: Vec<PermittedQuery> = plan
        .pairs
        .iter()
        .map(|p| PermittedQuery {
            subject: match p.asked {
                Asked::User(_) => Some(org.subject_id(p.asked.subject()).to_owned()),
                Asked::Caller(_) => None,
            },
            permission: p.permission.clone(),
            max_pages: p.pages,
        })
        .collect();
    let (answers, stats) = ask(opts, queries, plan.requests).await?;
    // A 404 speaks of one subject (gone since the snapshot); a 403 of the credentials.
    if let Some(gap) = answers.iter().find_map(|a| match a {
        PermittedAnswer::Refused(g) if g.http_status != Some(404) => Some(g),
        _ => None,
    }) {
        return Err(VerifyError::Refused {
            endpoint: gap.endpoint.clone(),
            status: gap.http_status.unwrap_or(403),
            code: gap
                .error_code
                .as_deref()
                .map(|c| {
                    let c: String = c.chars().take(200).collect();
                    format!(" `{}`", crate::text::visible(&c))
                })
                .unwrap_or_default(),
            help: match gap.message.as_deref() {
                // The server's words, bounded and made visible (they reach a terminal).
                Some(m) => format!(
                    "{}; the platform said: {}",
                    needed_permission_words(org),
                    crate::text::visible(&m.chars().take(500).collect::<String>())
                ),
                None => needed_permission_words(org),
            },
        });
    }
    let answers: Vec<Answer> = answers
        .into_iter()
        .map(|a| match a {
            PermittedAnswer::Divisions { ids, all } => Answer::Listed(PlatformSide {
                division_ids: ids,
                all_divs_permitted: all,
                complete: true,
            }),
            PermittedAnswer::CutShort { ids, .. } => Answer::Listed(PlatformSide {
                division_ids: ids,
                all_divs_permitted: false,
                complete: false,
            }),
            PermittedAnswer::Failed(why) => Answer::Missing(why),
            PermittedAnswer::Refused(_) => Answer::Missing(
                "the platform does not know this subject (404): it was probably deleted after \
                 the snapshot was read"
                    .to_owned(),
            ),
        })
        .collect();
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let mut report = compare_all(org, plan, &answers, &now);
    report.stats = RunStats {
        requests: stats.requests,
        retries: stats.retries,
        rate_limited: stats.rate_limited,
        elapsed_ms: u64::try_from(stats.elapsed.as_millis()).unwrap_or(u64::MAX),
    };
    Ok(report)
}
