// simgate console: live updates over /api/v1/stream and the text counter.
// Every page works without this file; it only patches pages in place.
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function cssEscape(s) { return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, "\\$&"); }

  // ---- live updates -------------------------------------------------------

  // Live parts of a page are elements with data-region and an id. After an
  // event the page asks the server for itself again and swaps those
  // elements for the fresh ones: what the page shows live is by
  // construction what a reload shows (the same template, the same words,
  // the same date format), instead of a second rendering in JavaScript
  // that drifts from the first.
  var refreshing = false, pending = false, timer = null, lastRefresh = 0;
  function scheduleRefresh() {
    if (!$("[data-region]")) return;
    if (refreshing) { pending = true; return; }
    if (timer) return;
    // Bursts of events (a text's parts, a report per part) cost one fetch:
    // at most one a second, and 250 ms after the first event of a burst.
    var wait = Math.max(250, 1000 - (Date.now() - lastRefresh));
    timer = setTimeout(refresh, wait);
  }

  function refresh() {
    timer = null; refreshing = true; lastRefresh = Date.now();
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
      .then(function (html) { if (html) swapRegions(html); })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (pending) { pending = false; scheduleRefresh(); }
      });
  }

  function swapRegions(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    all("[data-region]").forEach(function (el) {
      var next = el.id && fresh.getElementById(el.id);
      if (!next || next.outerHTML === el.outerHTML) return;
      // Never take away what a person is typing.
      var f = document.activeElement;
      if (f && el.contains(f) && /^(INPUT|TEXTAREA|SELECT)$/.test(f.tagName) && f.value) return;
      var node = document.importNode(next, true);
      // A details toggle a person opened stays open.
      var open = all("details", el).map(function (d) { return d.open; });
      all("details", node).forEach(function (d, i) { if (open[i]) d.open = true; });
      el.replaceWith(node);
    });
    if (fresh.title && fresh.title !== document.title) document.title = fresh.title;
    document.body.dataset.refreshes = String((parseInt(document.body.dataset.refreshes, 10) || 0) + 1);
  }

  // The connection banner says when live updates stop and start again;
  // while they are stopped the live figures are marked out of date.
  var liveAgainTimer = null;
  function connectionLost() {
    var c = $("#conn");
    document.body.dataset.live = "";
    document.body.dataset.stale = "1";
    $("#live").hidden = true;
    if (!c) return;
    clearTimeout(liveAgainTimer);
    c.textContent = "Connection lost, reconnecting\u2026 Figures on this page may be out of date.";
    c.className = "conn lost";
    c.hidden = false;
  }
  function connectionBack() {
    var c = $("#conn");
    delete document.body.dataset.stale;
    if (!c || c.hidden) return;
    c.textContent = "Live again.";
    c.className = "conn back";
    liveAgainTimer = setTimeout(function () { c.hidden = true; }, 4000);
  }

  // Contact import job page: progress bar and counters follow the job's
  // "import" events; when it ends the state says how (cancelled, ...) and
  // the page reloads to show the report.
  var importStates = { done: "Finished", cancelled: "Cancelled", interrupted: "Interrupted", failed: "Stopped" };
  function onImport(j) {
    var card = $('#import-job[data-import-id="' + cssEscape(j.id) + '"]');
    if (!card) return;
    if (j.state !== "running") {
      var st = $('[data-field="state"]', card);
      if (st) st.textContent = importStates[j.state] || j.state;
      if (card.dataset.state === "running") location.reload();
      return;
    }
    var bar = $("#import-progress");
    if (bar && j.total_bytes > 0) bar.value = Math.min(100, Math.floor(j.bytes_read * 100 / j.total_bytes));
    var set = function (f, v) { var el = $('[data-field="' + f + '"]', card); if (el) el.textContent = v; };
    set("rows_read", j.rows_read);
    ["imported", "updated", "invalid", "suppressed", "consent_kept"].forEach(function (k) { set(k, j.report[k]); });
  }

  function fetchImport(id) {
    fetch("/contacts/import/status?job=" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) { if (j) onImport(j); })
      .catch(function () {});
  }

  var delay = 500, everConnected = false, leaving = false;
  function connect() {
    var live = $("#live");
    if (!live) return; // not logged in
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(proto + "//" + location.host + "/api/v1/stream");
    var opened = false;
    ws.onopen = function () { delay = 500; opened = true; };
    ws.onmessage = function (e) {
      var ev;
      try { ev = JSON.parse(e.data); } catch (x) { return; }
      switch (ev.type) {
        case "snapshot":
          live.hidden = false;
          document.body.dataset.live = "1";
          // Events may have been missed while the socket was down.
          if (everConnected) scheduleRefresh();
          everConnected = true;
          connectionBack();
          // A job that ended while the socket was down: show its report.
          var job = $("#import-job");
          if (job && job.dataset.state === "running") fetchImport(job.dataset.importId);
          break;
        case "import": onImport(ev.import); break;
        default: scheduleRefresh();
      }
    };
    ws.onclose = function () {
      if (leaving) return;
      if (opened || everConnected) connectionLost();
      // Exponential backoff with jitter, capped at 30 s, so a restarted
      // gateway is not hit by every open tab at once.
      setTimeout(connect, delay + Math.random() * delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  window.addEventListener("pagehide", function () { leaving = true; });

  // ---- compose counter ----------------------------------------------------

  // Same table as gsmEquivalents in webui/pages.go.
  var gsm = { "\u2018": "'", "\u2019": "'", "\u201A": "'", "\u201B": "'", "\u2032": "'",
    "\u201C": '"', "\u201D": '"', "\u201E": '"', "\u201F": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u00A0": " ", "\u2009": " ", "\u202F": " ", "\u200B": "" };
  function toGSM(s) { return s.replace(/[\u2018\u2019\u201A\u201B\u2032\u201C\u201D\u201E\u201F\u2033\u2013\u2014\u2012\u2212\u2010\u2011\u2026\u00A0\u2009\u202F\u200B]/g, function (c) { return gsm[c]; }); }

  function setupCompose() {
    var form = $("#compose");
    if (!form) return;
    var text = $("#text", form), timer = null, seq = 0;
    function update() {
      var mine = ++seq;
      fetch("/console/plan", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text: text.value }), credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p || mine !== seq) return;
          $("#c-chars").textContent = p.units;
          $("#c-parts").textContent = p.parts;
          var enc = $("#c-enc");
          enc.textContent = p.words;
          enc.dataset.encoding = p.encoding;
          var warn = $("#ucs2"), chars = $("#ucs2-chars");
          chars.textContent = "";
          (p.ucs2_chars || []).forEach(function (c) {
            var m = document.createElement("mark"); m.textContent = c;
            chars.appendChild(m); chars.appendChild(document.createTextNode(" "));
          });
          warn.hidden = !(p.ucs2_chars && p.ucs2_chars.length);
          $("#use-gsm").hidden = !p.fixable;
        })
        .catch(function () {});
    }
    text.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 120); });
    $("#use-gsm").addEventListener("click", function (e) {
      e.preventDefault();
      text.value = toGSM(text.value);
      update();
      text.focus();
    });
  }

  // ---- small screens -----------------------------------------------------

  // The menu folds behind a button on a phone, and the messages filters
  // behind their summary unless one is in use. Without this script both
  // simply stay open.
  function setupSmallScreens() {
    var btn = $("#menu-toggle"), menu = $("#menu");
    if (btn && menu) {
      document.body.classList.add("js-menu");
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var open = btn.getAttribute("aria-expanded") !== "true";
        btn.setAttribute("aria-expanded", open ? "true" : "false");
        document.body.classList.toggle("menu-open", open);
      });
    }
    var fold = $("details.fold");
    if (fold && !fold.hasAttribute("data-active") && window.matchMedia("(max-width: 600px)").matches) fold.open = false;
  }

  document.addEventListener("DOMContentLoaded", function () { setupSmallScreens(); setupCompose(); connect(); });
})();
