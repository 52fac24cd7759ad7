// rolecall HTML report: renders the findings and the access map from the JSON island.
// Every piece of org or rule text is inserted with textContent, never as markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("rolecall-data").textContent);
  var PAGE = 50, GROUP_PAGE = 200;
  var SEV = data.severities;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } } }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function option(select, value, label) { select.appendChild(el("option", { value: value }, label)); }
  // Text with `backticks` (rules write code that way): each quoted part becomes a <code>
  // element holding it as text, the rest text nodes. Nothing is ever parsed as markup.
  function rich(parent, text) {
    String(text).split("`").forEach(function (part, i) {
      if (part === "") { return; }
      parent.appendChild(i % 2 === 1 ? el("code", null, part) : document.createTextNode(part));
    });
    return parent;
  }

  // ---- findings ----
  var F = data.findings.map(function (f) {
    return { rule: f[0], sev: f[1], kind: f[2], name: f[3], msg: f[4], fix: f[5], ev: f[6] || [], flags: f[7] || "",
             text: (f[3] + " " + f[4] + " " + (f[5] || "") + " " + (f[6] || []).join(" ")).toLowerCase() };
  });
  // Severity filters are switches: pressed = shown (with a tick), released = hidden (struck
  // through); each names how many findings it holds.
  var sevOn = {}, sevCount = {};
  F.forEach(function (f) { sevCount[f.sev] = (sevCount[f.sev] || 0) + 1; });
  var sevBox = document.getElementById("severity-filters");
  SEV.forEach(function (s) {
    sevOn[s] = true;
    var b = el("button", { type: "button", "aria-pressed": "true", "data-severity": s, "class": "sev-toggle sev-" + s,
                           title: "shown: press to hide " + s + " findings" }, s + " " + (sevCount[s] || 0));
    b.addEventListener("click", function () {
      sevOn[s] = !sevOn[s];
      b.setAttribute("aria-pressed", sevOn[s] ? "true" : "false");
      b.setAttribute("title", (sevOn[s] ? "shown: press to hide " : "hidden: press to show ") + s + " findings");
      renderFindings();
    });
    sevBox.appendChild(b);
  });
  var ruleSel = document.getElementById("filter-rule"), kindSel = document.getElementById("filter-kind");
  var textIn = document.getElementById("filter-text");
  data.ruleOrder.forEach(function (id) { option(ruleSel, id, id + " " + data.rules[id].name); });
  var kinds = {};
  F.forEach(function (f) { kinds[f.kind] = true; });
  Object.keys(kinds).sort().forEach(function (k) { option(kindSel, k, k); });
  [ruleSel, kindSel].forEach(function (s) { s.addEventListener("change", renderFindings); });
  textIn.addEventListener("input", renderFindings);
  var shown = {};

  function findingNode(f) {
    var a = el("article", { "class": "finding", "data-rule": f.rule, "data-severity": f.sev });
    var p = el("p", { "class": "msg" });
    p.appendChild(el("span", { "class": "badge " + f.sev }, f.sev));
    if (f.flags.indexOf("u") >= 0) { p.appendChild(el("span", { "class": "badge mark", title: "the rule could not decide" }, "unknown")); }
    if (f.flags.indexOf("n") >= 0) { p.appendChild(el("span", { "class": "badge mark", title: "not in the findings baseline" }, "new")); }
    if (f.flags.indexOf("w") >= 0) { p.appendChild(el("span", { "class": "badge mark", title: "accepted by a waiver" }, "waived")); }
    p.appendChild(document.createTextNode(" "));
    p.appendChild(el("strong", null, f.kind + " " + f.name));
    p.appendChild(document.createTextNode(": "));
    rich(p, f.msg);
    a.appendChild(p);
    if (f.fix) {
      var fix = el("p", { "class": "fix" });
      fix.appendChild(el("strong", null, "Fix:"));
      fix.appendChild(document.createTextNode(" "));
      rich(fix, f.fix);
      a.appendChild(fix);
    }
    if (f.ev.length) {
      var d = el("details");
      var explained = f.rule === "ACC001";
      d.appendChild(el("summary", null, explained ? "Explanation, step by step" : "Evidence (" + f.ev.length + ")"));
      var list = el(explained ? "ol" : "ul");
      f.ev.forEach(function (e) { list.appendChild(rich(el("li"), e)); });
      d.appendChild(list);
      if (explained) { d.open = true; }
      a.appendChild(d);
    }
    return a;
  }

  function renderFindings() {
    var rule = ruleSel.value, kind = kindSel.value, q = textIn.value.trim().toLowerCase();
    var groups = {}, total = 0;
    F.forEach(function (f) {
      if (!sevOn[f.sev] || (rule && f.rule !== rule) || (kind && f.kind !== kind) || (q && f.text.indexOf(q) < 0)) { return; }
      (groups[f.rule] = groups[f.rule] || []).push(f);
      total++;
    });
    var box = document.getElementById("finding-groups");
    box.textContent = "";
    data.ruleOrder.forEach(function (id) {
      var list = groups[id];
      var r = data.rules[id];
      if (!list && !r.error) { return; }
      list = list || [];
      var d = el("details", { "class": "rule", "data-rule": id, open: "" });
      var s = el("summary");
      s.appendChild(el("span", { "class": "badge " + r.severity }, r.severity));
      s.appendChild(document.createTextNode(id + " " + r.name + " · " + list.length + " finding" + (list.length === 1 ? "" : "s")));
      d.appendChild(s);
      if (r.error) { d.appendChild(rich(el("p", { "class": "note" }, "rule error: "), r.error)); }
      var limit = shown[id] || GROUP_PAGE;
      list.slice(0, limit).forEach(function (f) { d.appendChild(findingNode(f)); });
      if (list.length > limit) {
        var more = el("button", { type: "button" }, "Show " + Math.min(GROUP_PAGE, list.length - limit) + " more of " + (list.length - limit));
        more.addEventListener("click", function () { shown[id] = limit + GROUP_PAGE; renderFindings(); });
        d.appendChild(more);
      }
      var docs = el("details");
      docs.appendChild(el("summary", null, "Rule documentation"));
      docs.appendChild(el("div", { "class": "docs" }, r.docs));
      d.appendChild(docs);
      box.appendChild(d);
    });
    var hidden = SEV.filter(function (s) { return !sevOn[s]; });
    document.getElementById("finding-count").textContent = "(" + total + " of " + F.length + " shown" +
      (hidden.length ? "; hidden: " + hidden.join(", ") : "") + ")";
  }

  // ---- access map ----
  var permSel = document.getElementById("map-permission"), divSel = document.getElementById("map-division");
  var search = document.getElementById("map-search");
  var page = 0;
  data.maps.forEach(function (m, i) { option(permSel, String(i), m.permission); });
  data.divisions.forEach(function (d, i) { option(divSel, String(i), d); });
  [permSel, divSel].forEach(function (s) { s.addEventListener("change", function () { page = 0; renderMap(); }); });
  search.addEventListener("input", function () { page = 0; renderMap(); });
  document.getElementById("map-prev").addEventListener("click", function () { if (page > 0) { page--; renderMap(); } });
  document.getElementById("map-next").addEventListener("click", function () { page++; renderMap(); });

  function covering(row, div, notAware) {
    return row[1].filter(function (g) { return notAware || g[0] === -1 || g[0] === div; });
  }
  function grantText(g) {
    var where = g[0] === -1 ? "in all divisions" : "in division " + data.divisions[g[0]];
    return "role " + g[2] + " " + where + (g[1] === -1 ? "" : " through group " + data.subjects[g[1]][1]);
  }

  function renderMap() {
    var thead = document.querySelector("#map-table thead"), tbody = document.querySelector("#map-table tbody");
    thead.textContent = ""; tbody.textContent = "";
    var notes = document.getElementById("map-notes");
    notes.textContent = "";
    var m = data.maps[Number(permSel.value)];
    var status = document.getElementById("map-status");
    if (!m) { status.textContent = "No permissions to map: name one with --map-permission."; return; }
    m.notes.forEach(function (n) { notes.appendChild(el("li", null, n)); });
    if (data.mapsLeftOut > 0) {
      notes.appendChild(el("li", null, data.mapsLeftOut + " more permission(s) were not mapped: at most " + data.maps.length + " are; name fewer with --map-permission"));
    }
    var notAware = m.aware === "not-aware";
    var div = divSel.value === "" ? null : Number(divSel.value);
    // A permission that is not division-aware is held or not, wherever the grant is: one
    // column, not the same mark repeated in every division.
    var ANY = -2;
    var cols = notAware ? [ANY] : div === null ? data.divisions.map(function (_, i) { return i; }) : [div];
    var colName = function (c) { return c === ANY ? "any division (not division-aware)" : data.divisions[c]; };
    var q = search.value.trim().toLowerCase();
    var rows = m.rows.filter(function (r) {
      var s = data.subjects[r[0]];
      // Matched as the CLI resolves names: id, name or email, regardless of case.
      if (q && !(s[2] || [s[1]]).some(function (k) { return k.toLowerCase().indexOf(q) >= 0; })) { return false; }
      return div === null || covering(r, div, notAware).length > 0;
    });
    var pages = Math.max(1, Math.ceil(rows.length / PAGE));
    if (page >= pages) { page = pages - 1; }
    var hr = el("tr");
    hr.appendChild(el("th", { scope: "col" }, "Subject"));
    hr.appendChild(el("th", { scope: "col" }, "Kind"));
    hr.appendChild(el("th", { scope: "col", title: "in how many divisions the subject holds it" }, "Held in"));
    cols.forEach(function (c) { hr.appendChild(el("th", { scope: "col" }, colName(c))); });
    thead.appendChild(hr);
    rows.slice(page * PAGE, page * PAGE + PAGE).forEach(function (r) {
      var s = data.subjects[r[0]];
      var tr = el("tr", { "data-subject": s[1] });
      var name = s[1] + (r[2].indexOf("s") >= 0 ? " (cannot sign in)" : "") + (r[2].indexOf("p") >= 0 ? " (DENY policy applies)" : "");
      tr.appendChild(el("th", { scope: "row" }, name));
      tr.appendChild(el("td", null, s[0]));
      // How far the holding reaches, so a row is never blank where its marks are off screen.
      var everywhere = notAware || r[1].some(function (g) { return g[0] === -1; });
      var reach = {};
      r[1].forEach(function (g) { if (g[0] >= 0) { reach[g[0]] = true; } });
      tr.appendChild(el("td", { "class": "held-in" }, notAware ? "anywhere" : everywhere ? "all divisions" :
        Object.keys(reach).length + " of " + data.divisions.length));
      cols.forEach(function (c) {
        var gs = c === ANY ? r[1] : covering(r, c, notAware);
        var td = el("td", { "data-division": colName(c) });
        if (gs.length) {
          var all = gs.some(function (g) { return g[0] === -1; });
          var direct = gs.some(function (g) { return g[1] === -1; });
          var held = all ? "all" : direct ? "direct" : "group";
          td.setAttribute("data-held", held);
          var label = s[1] + " holds " + m.permission + (c === ANY ? "" : " in " + data.divisions[c]) + ": " + gs.map(grantText).join("; ");
          td.setAttribute("aria-label", label);
          td.setAttribute("title", label);
          td.appendChild(el("span", { "class": "cell held-" + held, "aria-hidden": "true" }, held === "all" ? "*" : held === "direct" ? "D" : "G"));
        } else {
          td.setAttribute("data-held", "none");
        }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    status.textContent = rows.length + " of " + m.rows.length + " holders of " + m.permission +
      (div === null ? "" : " in " + data.divisions[div]) + (m.aware === "unknown" ? " (not in the catalog: treated as division-aware)" : "") +
      (notAware ? " (not division-aware: a grant in any division gives it)" : "") +
      (m.rule ? " · named by " + m.rule : "");
    document.getElementById("map-page").textContent = "page " + (page + 1) + " of " + pages;
    document.getElementById("map-prev").disabled = page === 0;
    document.getElementById("map-next").disabled = page + 1 >= pages;
  }

  renderFindings();
  renderMap();
  document.documentElement.setAttribute("data-ready", "true");
  document.documentElement.setAttribute("data-ready-ms", String(Math.round(performance.now())));
})();
