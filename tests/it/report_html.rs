//! The HTML report without a browser: self-contained, escaped, data for the access map, size
//! bounds. The browser tests (`browser.rs`) open the same pages in Chromium.

use std::sync::Arc;
use std::time::SystemTime;

use rolecall::internals::engine::{CheckConfig, RuleEngine};
use rolecall::internals::model::{sample, Org, OrgBuilder, OrgSnapshot};
use rolecall::internals::report::{render_html, HtmlOptions, ReportContext, HTML_DATA_FORMAT};

use crate::support::rolecall;

/// The HTML report of a snapshot, rendered by the library.
pub fn html_of(snap: OrgSnapshot, map: &[&str]) -> String {
    let org = Arc::new(Org::new(snap));
    let report = RuleEngine::with_builtin().check(&org, &CheckConfig::default());
    let ctx = ReportContext {
        org: &org,
        source_kind: "snapshot".to_owned(),
        source_path: Some("prod.json".to_owned()),
        fail_on: None,
        now: SystemTime::now(),
        allow_unknown: false,
    };
    render_html(
        &report,
        &ctx,
        &HtmlOptions {
            map_permissions: map.iter().map(|s| (*s).to_owned()).collect(),
        },
    )
}

/// An org whose names are markup: every one must reach the page as text.
pub fn hostile_org() -> OrgSnapshot {
    OrgBuilder::new("<script>alert(1)</script>")
        .division("Home")
        .division("<b>EU</b>")
        .role("R&D <i>", &["wfm:agent:edit"])
        .client(
            "</script><img src=x onerror=alert(2)>",
            "CLIENT-CREDENTIALS",
            &[("R&D <i>", "<b>EU</b>")],
        )
        .client("<svg onload=alert(3)>", "PASSWORD", &[])
        .client(
            "wfm-sync",
            "CLIENT-CREDENTIALS",
            &[("R&D <i>", "<b>EU</b>")],
        )
        .catalog("wfm:agent:edit", true)
        .build()
}

/// The JSON island of a page.
pub fn island(html: &str) -> serde_json::Value {
    let start = html.find("id=\"rolecall-data\">").unwrap() + "id=\"rolecall-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[test]
fn the_page_is_self_contained() {
    let html = html_of(sample().unwrap(), &[]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none';"));
    // Rule docs cite web pages as text; nothing the browser would load refers to one.
    for remote in [
        "href=\"http",
        "src=\"",
        "src=",
        "<link",
        "url(",
        "@import",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(!html.contains(remote), "the page refers to `{remote}`");
    }
    let data = island(&html);
    assert_eq!(data["format"], HTML_DATA_FORMAT);
    assert_eq!(data["findings"].as_array().unwrap().len(), 18);
    assert_eq!(data["ruleOrder"][0], "OAU002", "worst first");
    let maps: Vec<&str> = data["maps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["permission"].as_str().unwrap())
        .collect();
    assert!(
        maps.contains(&"wfm:agent:edit"),
        "the findings' permissions are mapped: {maps:?}"
    );
}

#[test]
fn hostile_names_are_text_not_markup() {
    let html = html_of(hostile_org(), &["wfm:agent:edit"]);
    assert!(
        !html.contains("<script>alert"),
        "the org name was not escaped"
    );
    assert!(
        !html.contains("<img src=x"),
        "a client name was not escaped"
    );
    assert!(!html.contains("<b>EU"), "a division name was not escaped");
    assert!(
        !html.contains("<svg"),
        "a finding's subject was not escaped"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the header shows it as text"
    );
    // Exactly the page's own two script elements, whatever the data says.
    assert_eq!(html.matches("<script").count(), 2);
    assert_eq!(html.matches("</script>").count(), 2);
    let data = island(&html);
    let subjects = data["subjects"].to_string();
    assert!(
        subjects.contains("</script><img src=x onerror=alert(2)>"),
        "the data keeps the name as it is: {subjects}"
    );
}

#[test]
fn check_writes_an_html_file_with_map_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    let out = rolecall()
        .args([
            "check",
            "--sample",
            "--format",
            "html",
            "--map-permission",
            "routing:queue:view",
            "-o",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "findings still fail the run");
    let html = std::fs::read_to_string(&path).unwrap();
    let data = island(&html);
    assert!(data["maps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["permission"] == "routing:queue:view"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("18 findings"));
}

#[test]
fn a_map_past_its_cap_says_what_it_left_out() {
    let named = island(&html_of(sample().unwrap(), &[]))["maps"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(island(&html_of(sample().unwrap(), &[]))["mapsLeftOut"], 0);
    let perms: Vec<String> = (0..40).map(|i| format!("wfm:entity{i}:view")).collect();
    let refs: Vec<&str> = perms.iter().map(String::as_str).collect();
    let data = island(&html_of(sample().unwrap(), &refs));
    assert_eq!(data["maps"].as_array().unwrap().len(), 32);
    assert_eq!(data["mapsLeftOut"], named + 40 - 32);
}
