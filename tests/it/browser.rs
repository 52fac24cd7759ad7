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
        .args(["check", "--sample", "--format", "html", "-o"])
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
            "client wfm-sync: cannot use wfm:agent:edit on management unit EU Agents in division Support EU"
        ),
        "{text}"
    );
    assert!(
        text.contains("Fix: grant role WFM Integration to client wfm-sync in division Support EU"),
        "{text}"
    );

    // Backticked text is code: the permission in WFM001's message is a <code> element.
    let codes = b
        .script("return Array.from(document.querySelectorAll(\"article.finding[data-rule='WFM001'] .msg code\")).map(e => e.textContent);")
        .unwrap();
    assert_eq!(
        codes,
        serde_json::json!(["wfm:agent:edit", "EU Agents", "Support EU", "Home"])
    );
    assert!(!text.contains('`'), "no raw backticks: {text}");

    // Severity buttons are filters: pressed = shown. Each says how many it holds; releasing
    // one hides exactly its findings and the count says so; pressing it shows them again.
    let count = b.find("#finding-count").unwrap();
    assert_eq!(b.text(&count).unwrap(), "(18 of 18 shown)");
    let critical = b.find("button[data-severity='critical']").unwrap();
    assert_eq!(
        b.attr(&critical, "aria-pressed").unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(b.text(&critical).unwrap(), "critical 1");
    let tick = "return getComputedStyle(document.querySelector(\"button[data-severity='high']\"), '::before').content;";
    assert_eq!(
        b.script(tick).unwrap(),
        "\"✓\u{a0}\"",
        "a pressed filter shows a tick"
    );
    assert_eq!(
        b.find_all("article.finding[data-severity='critical']")
            .unwrap()
            .len(),
        1,
        "a pressed severity's findings are shown"
    );
    let high = b.find("button[data-severity='high']").unwrap();
    b.click(&high).unwrap();
    assert_eq!(
        b.attr(&high, "aria-pressed").unwrap().as_deref(),
        Some("false")
    );
    assert_eq!(b.script(tick).unwrap(), "none", "a released one does not");
    assert_eq!(b.text(&count).unwrap(), "(12 of 18 shown; hidden: high)");
    assert!(b
        .find_all("article.finding[data-rule='WFM001']")
        .unwrap()
        .is_empty());
    assert_eq!(
        b.find_all("article.finding[data-severity='critical']")
            .unwrap()
            .len(),
        1,
        "other severities stay shown"
    );
    b.click(&high).unwrap();
    assert_eq!(b.text(&count).unwrap(), "(18 of 18 shown)");

    // The summary chart: one bar per severity and per rule, with the counts.
    let bars = b
        .script("return Array.from(document.querySelectorAll('#summary-chart [data-chart=severity] li')).map(e => e.querySelector('.bar-n').textContent);")
        .unwrap();
    assert_eq!(bars, serde_json::json!(["1", "6", "10", "1", "0"]));
    let top = b
        .script("return document.querySelector('#summary-chart [data-chart=rule] li').textContent;")
        .unwrap();
    assert_eq!(
        top, "ADM001 can-grant-roles-everywhere4",
        "most findings first"
    );

    // The access map opens on the permission of the worst finding (OAU002, critical).
    let first = b
        .script("const s = document.getElementById('map-permission'); return s.options[s.selectedIndex].textContent;")
        .unwrap();
    assert_eq!(first, "authorization:*:*");
    let status = b.text(&b.find("#map-status").unwrap()).unwrap();
    assert!(status.ends_with("named by OAU002"), "{status}");
    // The legend gives each mark one meaning.
    let legend = b.text(&b.find("p.legend").unwrap()).unwrap();
    assert_eq!(
        legend,
        "D held directly G held through a group * held through a grant in all divisions (directly or through a group)"
    );
    // Rules that did not run are listed with the reason, never left out as if clean.
    let not_run = b.text(&b.find("#not-run").unwrap()).unwrap();
    assert!(
        not_run.contains(
            "NET002 required-cidr-not-allowlisted: required parameter required_cidrs not given"
        ),
        "{not_run}"
    );
    if let Ok(keep) = std::env::var("ROLECALL_KEEP_SCREENSHOTS") {
        std::fs::write(
            std::path::Path::new(&keep).join("report-top.png"),
            b.screenshot().unwrap(),
        )
        .unwrap();
    }

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
    // `ROLECALL_KEEP_SCREENSHOTS=DIR` keeps the screenshots for a person to look at.
    if let Ok(keep) = std::env::var("ROLECALL_KEEP_SCREENSHOTS") {
        std::fs::write(std::path::Path::new(&keep).join("report.png"), &shot).unwrap();
    }
    assert_quiet(&b, &url);

    // A denied ACC001 expectation is explained step by step, open.
    let acc = dir.path().join("acc.html");
    let out = rolecall()
        .args(["check", "--sample", "--format", "html", "--select", "ACC001", "--param"])
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
        first.contains("wfm:agent:edit is needed in division Support EU"),
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

/// An org with 20 divisions: the grid is wider than the window, scrolls sideways inside its
/// box with the subject column pinned, and each row says where the holding reaches, so a row
/// whose only mark is off screen does not look empty.
#[test]
fn a_wide_access_map_scrolls_with_the_subject_pinned() {
    if skipped("a_wide_access_map_scrolls_with_the_subject_pinned") {
        return;
    }
    let mut org = rolecall::internals::model::OrgBuilder::new("Wide").division("Home");
    let names: Vec<String> = (1..20)
        .map(|i| format!("Region {i:02} Contact Centre"))
        .collect();
    for n in &names {
        org = org.division(n);
    }
    let snap = org
        .role("WFM Integration", &["wfm:agent:edit"])
        .client(
            "wfm-sync",
            "CLIENT-CREDENTIALS",
            &[("WFM Integration", "Region 19 Contact Centre")],
        )
        .catalog("wfm:agent:edit", true)
        .build();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("wide.html");
    std::fs::write(&page, html_of(snap, &["wfm:agent:edit"])).unwrap();
    let b = Browser::start(&dir.path().join("profile")).unwrap();
    let url = file_url(&page);
    b.open(&url).unwrap();
    let geometry = "const box = document.querySelector('#access-map .scroll');
        const th = document.querySelector(\"#map-table tr[data-subject='wfm-sync'] th\");
        const td = document.querySelector(\"#map-table tr[data-subject='wfm-sync'] td[data-division='Region 19 Contact Centre']\");
        const b = box.getBoundingClientRect(), h = th.getBoundingClientRect(), d = td.getBoundingClientRect();
        return { scrollable: box.scrollWidth > box.clientWidth, page: document.documentElement.scrollWidth <= window.innerWidth,
                 thLeft: Math.round(h.left - b.left), tdVisible: d.left >= b.left && d.right <= b.right + 1 };";
    let before = b.script(geometry).unwrap();
    assert_eq!(
        before["scrollable"], true,
        "the grid scrolls in its box: {before}"
    );
    assert_eq!(
        before["page"], true,
        "the page itself does not overflow: {before}"
    );
    assert_eq!(
        before["tdVisible"], false,
        "the last division starts off screen: {before}"
    );
    let held_in = b
        .text(
            &b.find("#map-table tr[data-subject='wfm-sync'] td.held-in")
                .unwrap(),
        )
        .unwrap();
    assert_eq!(held_in, "1 of 20", "the row says where its mark is");
    b.script("document.querySelector('#access-map .scroll').scrollLeft = 100000; return 0;")
        .unwrap();
    let after = b.script(geometry).unwrap();
    assert_eq!(
        after["tdVisible"], true,
        "scrolled to the last division: {after}"
    );
    // Pinned: at the box's left edge after scrolling 100000 px, as before (a collapsed
    // border may move it by a pixel).
    let moved = after["thLeft"].as_i64().unwrap() - before["thLeft"].as_i64().unwrap();
    assert!(
        moved.abs() <= 1,
        "the subject column stays pinned: {before} → {after}"
    );
    b.script("document.getElementById('access-map').scrollIntoView(); return 0;")
        .unwrap();
    let shot = b.screenshot().unwrap();
    std::fs::write(dir.path().join("wide.png"), &shot).unwrap();
    if let Ok(keep) = std::env::var("ROLECALL_KEEP_SCREENSHOTS") {
        std::fs::write(std::path::Path::new(&keep).join("wide.png"), &shot).unwrap();
    }
    assert_quiet(&b, &url);
}
