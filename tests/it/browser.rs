//! The HTML report in a real browser: headless Chromium driven over WebDriver (Debian's
//! `chromedriver`). Skipped only with `ROLECALL_SKIP_BROWSER=1`, loudly; a missing browser
//! otherwise fails.

use std::path::Path;

use crate::report_html::{hostile_org, html_of};
use crate::support::rolecall;
use crate::support::webdriver::{skipped, Browser};

fn file_url(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// No console message at error level, and no resource fetched: the page is the only request.
fn assert_quiet(b: &Browser, page: &str) {
    let console = b.log("browser").unwrap();
    let errors: Vec<_> = console
        .iter()
        .filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    let resources = b
        .script("return performance.getEntriesByType('resource').length;")
        .unwrap();
    assert_eq!(resources, 0, "the page fetched resources");
    let requests: Vec<String> = b
        .log("performance")
        .unwrap()
        .iter()
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(e["message"].as_str()?).ok())
        .filter(|m| m["message"]["method"] == "Network.requestWillBeSent")
        .filter_map(|m| {
            m["message"]["params"]["request"]["url"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    // `chrome://` pages are the browser's own (never the network); everything else but the
    // page itself is a request the report made.
    let requests: Vec<&String> = requests
        .iter()
        .filter(|u| !u.starts_with("chrome://"))
        .collect();
    assert!(
        requests.iter().all(|u| *u == page),
        "requests besides the page itself: {requests:?}"
    );
}

#[test]
fn the_sample_report_in_chromium() {
    if skipped("the_sample_report_in_chromium") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let out = rolecall()
        .args(["check", "--format", "html", "-o"])
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = Browser::start(&dir.path().join("profile")).unwrap();
    let url = file_url(&page);
    b.open(&url).unwrap();
    assert_eq!(
        b.script("return document.documentElement.getAttribute('data-ready');")
            .unwrap(),
        "true"
    );

    // The WFM001 finding and its fix, as rendered (WebDriver's text is the visible text).
    let wfm = b.find("article.finding[data-rule='WFM001']").unwrap();
    assert!(b.displayed(&wfm).unwrap());
    let text = b.text(&wfm).unwrap();
    assert!(
        text.contains(
            "client wfm-sync: cannot use `wfm:agent:edit` on management unit `EU Agents`"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "Fix: grant role `WFM Integration` to client `wfm-sync` in division `Support EU`"
        ),
        "{text}"
    );

    // Filtering by severity changes the count.
    let count = b.find("#finding-count").unwrap();
    assert_eq!(b.text(&count).unwrap(), "(14 of 14 shown)");
    b.click(&b.find("button[data-severity='high']").unwrap())
        .unwrap();
    assert_eq!(b.text(&count).unwrap(), "(9 of 14 shown)");
    assert!(b
        .find_all("article.finding[data-rule='WFM001']")
        .unwrap()
        .is_empty());
    b.click(&b.find("button[data-severity='high']").unwrap())
        .unwrap();
    assert_eq!(b.text(&count).unwrap(), "(14 of 14 shown)");

    // The access map: who can edit WFM agents; `wfm-sync` holds it in Home only, directly.
    let option = b
        .find_all("#map-permission option")
        .unwrap()
        .into_iter()
        .find(|o| b.text(o).unwrap() == "wfm:agent:edit")
        .expect("wfm:agent:edit is mapped");
    b.click(&b.find("#map-permission").unwrap()).unwrap();
    b.click(&option).unwrap();
    b.type_text(&b.find("#map-search").unwrap(), "wfm-sync")
        .unwrap();
    let rows = b.find_all("#map-table tbody tr").unwrap();
    assert_eq!(rows.len(), 1, "the search leaves one subject");
    let home = b
        .find("#map-table tr[data-subject='wfm-sync'] td[data-division='Home']")
        .unwrap();
    assert_eq!(
        b.attr(&home, "data-held").unwrap().as_deref(),
        Some("direct")
    );
    assert_eq!(b.text(&home).unwrap(), "D");
    let label = b.attr(&home, "aria-label").unwrap().unwrap();
    assert!(
        label.contains("role WFM Integration in division Home"),
        "{label}"
    );
    let eu = b
        .find("#map-table tr[data-subject='wfm-sync'] td[data-division='Support EU']")
        .unwrap();
    assert_eq!(b.attr(&eu, "data-held").unwrap().as_deref(), Some("none"));

    // Who can edit WFM agents in `Support EU`: the division filter.
    b.click(&b.find("#map-division").unwrap()).unwrap();
    let eu_option = b
        .find_all("#map-division option")
        .unwrap()
        .into_iter()
        .find(|o| b.text(o).unwrap() == "Support EU")
        .unwrap();
    b.click(&eu_option).unwrap();
    assert!(
        b.find_all("#map-table tbody tr").unwrap().is_empty(),
        "wfm-sync cannot in Support EU"
    );
    let status = b.text(&b.find("#map-status").unwrap()).unwrap();
    assert!(
        status.starts_with("0 of 3 holders of wfm:agent:edit in Support EU"),
        "{status}"
    );

    let shot = b.screenshot().unwrap();
    assert!(shot.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    std::fs::write(dir.path().join("report.png"), &shot).unwrap();
    assert_quiet(&b, &url);

    // A denied ACC001 expectation is explained step by step, open.
    let acc = dir.path().join("acc.html");
    let out = rolecall()
        .args(["check", "--format", "html", "--select", "ACC001", "--param"])
        .arg(r#"ACC001.expectations=[{"subject":"client:wfm-sync","op":"POST /api/v2/workforcemanagement/agents","target":"management-unit:EU Agents"}]"#)
        .arg("-o")
        .arg(&acc)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let acc_url = file_url(&acc);
    b.open(&acc_url).unwrap();
    let steps = b
        .find_all("article.finding[data-rule='ACC001'] ol li")
        .unwrap();
    assert!(!steps.is_empty(), "the explanation's steps are listed");
    assert!(b.displayed(&steps[0]).unwrap(), "and shown without a click");
    let first = b.text(&steps[0]).unwrap();
    assert!(
        first.contains("`wfm:agent:edit` is needed in division `Support EU`"),
        "{first}"
    );
    assert_quiet(&b, &acc_url);
}

#[test]
fn hostile_names_stay_text_in_chromium() {
    if skipped("hostile_names_stay_text_in_chromium") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("hostile.html");
    std::fs::write(&page, html_of(hostile_org(), &["wfm:agent:edit"])).unwrap();
    let b = Browser::start(&dir.path().join("profile")).unwrap();
    let url = file_url(&page);
    // An alert would leave a dialog open and fail every command below.
    b.open(&url).unwrap();
    assert_eq!(
        b.script("return document.getElementById('org-name').textContent;")
            .unwrap(),
        "<script>alert(1)</script>"
    );
    assert_eq!(
        b.script("return document.querySelectorAll('img, b, i, svg').length;")
            .unwrap(),
        0,
        "no element came from the data"
    );
    let names = b
        .script("return Array.from(document.querySelectorAll('#map-table tbody th')).map(e => e.textContent);")
        .unwrap();
    assert!(
        names
            .to_string()
            .contains("</script><img src=x onerror=alert(2)>"),
        "{names}"
    );
    assert_quiet(&b, &url);
}
