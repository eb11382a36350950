// racecheck's Tally tab in Locust's web UI: rows, a chart and the verdict, drawn from
// ./racecheck/tally, polled every second whatever Locust's own state (Locust stops
// polling its stats at Stop; racecheck's verdict comes seconds later). No library, no
// network beyond this server: the chart is inline SVG in the style of Locust's Charts tab.
(function () {
  "use strict";
  var TAB_TITLE = "Tally";
  var POLL_MS = 1000;
  var SVG = "http://www.w3.org/2000/svg";
  // Locust's chart colours: blue, its RPS green, its failures red.
  var LINES = [
    { key: "tally", name: "Server tally", color: "#00ca5a" },
    { key: "acked", name: "Acknowledged before the read", color: "#0099ff", dash: "6 4" },
    { key: "lost", name: "Proven lost", color: "#ff6d6d" },
  ];
  var last = null;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function tallyTab() {
    var tabs = document.querySelectorAll('[role="tab"]');
    for (var i = 0; i < tabs.length; i++) {
      if (tabs[i].textContent.trim() === TAB_TITLE) return tabs[i];
    }
    return null;
  }

  // Our panel sits right after Locust's tab bar; it shows only while the Tally tab is selected.
  function panel() {
    var tab = tallyTab();
    if (!tab) return null;
    var box = tab.closest(".MuiTabs-root");
    box = box ? box.parentElement : null;
    if (!box) return null;
    var node = document.getElementById("racecheck-tally");
    if (!node) {
      node = el("section", { id: "racecheck-tally", "data-state": "idle" });
      box.insertAdjacentElement("afterend", node);
    } else if (node.previousElementSibling !== box) {
      box.insertAdjacentElement("afterend", node);
    }
    node.hidden = tab.getAttribute("aria-selected") !== "true";
    return node;
  }

  function provenLost(body) {
    return (body.rows || []).reduce(function (n, r) {
      return r.tone === "bad" && typeof r.lost === "number" ? n + r.lost : n;
    }, 0);
  }

  function header(body) {
    var head = el("div", { class: "rc-head" });
    var state = body.verdict ? body.verdict : body.state === "checking" ? "checking…" : body.state;
    var badge = el("span", { class: "rc-badge rc-" + String(state).replace(/[^a-z]/gi, "") }, state);
    badge.setAttribute("data-testid", "racecheck-verdict");
    head.appendChild(badge);
    var what = body.run_id
      ? "run " + body.run_id + (body.build ? " · the server reports build " + body.build : "")
      : "no run yet: start a swarm";
    head.appendChild(el("span", { class: "rc-what" }, what));
    if (body.run_dir && body.verdict) head.appendChild(el("span", { class: "rc-dir" }, body.run_dir));
    return head;
  }

  function table(body) {
    var t = el("table", { class: "rc-table" });
    var tr = el("tr");
    body.columns.forEach(function (c) { tr.appendChild(el("th", {}, c.title)); });
    t.appendChild(el("thead")).appendChild(tr);
    var tbody = t.appendChild(el("tbody"));
    body.rows.forEach(function (row) {
      var r = el("tr", { "data-row": row.row, "data-tone": row.tone || "" });
      if (row.tone) r.className = "rc-" + row.tone;
      body.columns.forEach(function (c) {
        var v = row[c.key];
        var td = el("td", { "data-key": c.key }, v === undefined ? "" : v);
        if (c.key === "difference" && typeof v === "number" && v !== 0) {
          td.className = row.tone === "bad" ? "rc-neg" : "rc-note";
        }
        if ((c.key === "lost" || c.key === "collisions") && typeof v === "number" && v > 0) {
          td.className = "rc-neg";
        }
        r.appendChild(td);
      });
      tbody.appendChild(r);
    });
    return t;
  }

  function chart(points) {
    var W = 1000, H = 300, L = 60, R = 20, T = 60, B = 40;
    var box = el("div", { class: "rc-chart" });
    var s = svg("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", height: H, role: "img" });
    s.appendChild(svg("text", { x: 10, y: 22, class: "rc-title" }, "Acknowledged votes vs the server's tally"));
    LINES.forEach(function (line, i) {
      var x = 10 + i * 230;
      s.appendChild(svg("rect", { x: x, y: 34, width: 22, height: 10, rx: 3, fill: line.color }));
      s.appendChild(svg("text", { x: x + 28, y: 44, class: "rc-legend" }, line.name));
    });
    var tMax = Math.max(1, points.length ? points[points.length - 1].t : 1);
    var vMax = 1;
    points.forEach(function (p) { vMax = Math.max(vMax, p.acked, p.tally, p.lost); });
    var X = function (t) { return L + (t / tMax) * (W - L - R); };
    var Y = function (v) { return H - B - (v / vMax) * (H - T - B); };
    for (var g = 0; g <= 4; g++) {
      var v = Math.round((vMax * g) / 4);
      s.appendChild(svg("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), class: "rc-grid" }));
      s.appendChild(svg("text", { x: L - 8, y: Y(v) + 4, class: "rc-axis", "text-anchor": "end" }, v));
    }
    for (var k = 0; k <= 5; k++) {
      var t = (tMax * k) / 5;
      s.appendChild(svg("text", { x: X(t), y: H - B + 18, class: "rc-axis", "text-anchor": "middle" }, t.toFixed(tMax < 10 ? 1 : 0) + " s"));
    }
    LINES.forEach(function (line) {
      if (!points.length) return;
      var d = points.map(function (p, i) {
        return (i ? "L" : "M") + X(p.t).toFixed(1) + " " + Y(p[line.key]).toFixed(1);
      }).join(" ");
      s.appendChild(svg("path", { d: d, fill: "none", stroke: line.color, "stroke-width": 2, "stroke-dasharray": line.dash || "none", "data-line": line.key }));
    });
    box.appendChild(s);
    return box;
  }

  function collisions(found) {
    var box = el("div", { class: "rc-collisions" });
    if (!found || !found.total) return box;
    box.appendChild(el("h4", {}, found.total + " acknowledged votes were told a count another vote had already been told: both read the same value and wrote value + 1, so one overwrote the other"));
    var ul = box.appendChild(el("ul"));
    var shown = (found.witnesses || []).slice(0, 5);
    shown.forEach(function (w) {
      ul.appendChild(el("li", {}, w.choice + " count " + w.count + ": votes " + w.votes.join(" and ")));
    });
    if (found.total > shown.length) ul.appendChild(el("li", {}, "and " + (found.total - shown.length) + " more"));
    return box;
  }

  function draw(body) {
    var node = panel();
    if (!node || !body) return;
    var lost = provenLost(body) + (body.collisions && !body.verdict ? body.collisions.total : 0);
    node.setAttribute("data-state", body.state);
    node.setAttribute("data-verdict", body.verdict || "");
    node.setAttribute("data-lost", String(lost));
    // "loss" as soon as any row proves one (live or final): what a glance must catch.
    var proof = (body.rows || []).some(function (r) {
      return r.status === "LOST" || r.status === "PHANTOM" || (r.status === "final" && r.lost > 0);
    });
    node.setAttribute("data-proof", proof ? "loss" : "");
    node.replaceChildren(header(body), table(body), chart(body.points || []), collisions(body.collisions));
  }

  function poll() {
    fetch("./racecheck/tally", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) { last = body; draw(body); } })
      .catch(function () { /* Locust is stopping: keep the last picture */ })
      .finally(function () { setTimeout(poll, POLL_MS); });
  }

  // React re-renders the tab bar: keep the panel in place and its visibility right.
  new MutationObserver(function () { if (last) { var n = panel(); if (n && !n.firstChild) draw(last); } })
    .observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["aria-selected"] });
  poll();
})();
