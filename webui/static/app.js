// simgate console: live updates over /api/v1/stream and the text counter.
// Every page works without this file; it only patches pages in place.
(function () {
  "use strict";

  var labels = {};

  function $(sel, root) { return (root || document).querySelector(sel); }
  function all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function label(status) { return labels[status] || status; }
  function fmtTime(iso) {
    var d = new Date(iso);
    return d.toLocaleDateString(undefined, { day: "numeric", month: "short" }) + " " + d.toLocaleTimeString();
  }

  // ---- live updates -------------------------------------------------------

  function setStatus(el, status) {
    el.textContent = label(status);
    el.className = "status " + status;
  }

  // m is the message as GET /api/v1/messages/{id} answers it.
  function onMessage(m) {
    all('[data-msg-id="' + m.id + '"] [data-status]').forEach(function (el) { setStatus(el, m.status); });
    var detail = $('#message[data-msg-id="' + m.id + '"]');
    if (!detail) return;
    // The message's modem is its first part's: later parts follow it.
    var mod = $('[data-field="modem"]', detail);
    if (mod && m.parts.length && m.parts[0].modem) mod.textContent = m.parts[0].modem;
    var tl = $("#timeline");
    if (tl && m.history) {
      tl.textContent = "";
      m.history.forEach(function (h) {
        var li = document.createElement("li");
        var t = document.createElement("time");
        t.dateTime = h.at; t.textContent = fmtTime(h.at);
        var s = document.createElement("span");
        setStatus(s, h.status);
        li.appendChild(t); li.appendChild(document.createTextNode(" ")); li.appendChild(s);
        if (h.note) li.appendChild(document.createTextNode(" — " + h.note));
        tl.appendChild(li);
      });
    }
  }

  function onInbound(m) {
    var list = $("#conversations");
    if (list) {
      var row = $('li[data-number="' + cssEscape(m.from) + '"]', list);
      if (!row) {
        var empty = $(".empty", list);
        if (empty) empty.remove();
        row = document.createElement("li");
        row.dataset.number = m.from;
        var a = document.createElement("a");
        a.href = "/inbox/" + encodeURIComponent(m.from);
        var from = document.createElement("strong"); from.className = "from"; from.textContent = m.from;
        var badge = document.createElement("span"); badge.className = "badge unread-count";
        var last = document.createElement("span"); last.className = "last";
        var t = document.createElement("time"); t.className = "muted";
        a.appendChild(from); a.appendChild(document.createTextNode(" ")); a.appendChild(badge);
        a.appendChild(last); a.appendChild(t);
        row.appendChild(a);
      }
      var b = $(".unread-count", row);
      var n = (parseInt(b.textContent, 10) || 0) + 1;
      b.textContent = n + " new"; b.hidden = false;
      row.className = "unread";
      $(".last", row).textContent = m.text;
      $("time", row).textContent = fmtTime(m.received_at);
      list.insertBefore(row, list.firstChild);
    }
    var thread = $("#thread");
    if (thread && thread.dataset.number === m.from) {
      var li = document.createElement("li"); li.className = "in";
      var tx = document.createElement("span"); tx.className = "text"; tx.textContent = m.text;
      var meta = document.createElement("span"); meta.className = "meta"; meta.textContent = fmtTime(m.received_at);
      li.appendChild(tx); li.appendChild(meta); thread.appendChild(li);
    }
    refreshCounts();
  }

  // Today's totals are recounted by the server, at most once a second,
  // after messages change or texts arrive (only on the overview page).
  var countsTimer = null;
  function refreshCounts() {
    if (!$("[data-count]") || countsTimer) return;
    countsTimer = setTimeout(function () {
      countsTimer = null;
      fetch("/console/counts", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (c) { if (c) onCounts(c); })
        .catch(function () {});
    }, 1000);
  }

  function cssEscape(s) { return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, "\\$&"); }

  function bars(dbm) {
    if (!dbm) return 0;
    if (dbm >= -73) return 4;
    if (dbm >= -83) return 3;
    if (dbm >= -93) return 2;
    if (dbm >= -109) return 1;
    return 0;
  }
  var stateWords = { up: "Working", degraded: "Having trouble", down: "Not working", starting: "Starting" };

  function onModem(st) {
    all('[data-modem="' + cssEscape(st.name) + '"]').forEach(function (card) {
      card.className = card.className.replace(/state-\S+/, "state-" + st.state);
      var set = function (f, v) { var el = $('[data-field="' + f + '"]', card); if (el) el.textContent = v; };
      set("state", stateWords[st.state] || st.state);
      set("signal", st.health.signal_dbm ? st.health.signal_dbm + " dBm" : "no signal reading");
      set("operator", st.health.operator || "—");
      set("registration", st.health.registration || "—");
      set("error", st.last_error || "none");
      var b = $('[data-field="bars"]', card);
      if (b) b.className = "bars b" + bars(st.health.signal_dbm);
    });
  }

  function onCounts(c) {
    Object.keys(c).forEach(function (k) {
      var el = $('[data-count="' + k + '"]');
      if (el) el.textContent = c[k];
    });
  }

  function onAlert(al, cleared) {
    var list = $("#alerts");
    if (!list) return;
    var li = $('[data-alert="' + cssEscape(al.key) + '"]', list);
    if (cleared) { if (li) li.remove(); return; }
    if (!li) { li = document.createElement("li"); li.className = "alert"; li.dataset.alert = al.key; list.appendChild(li); }
    li.textContent = (al.modem ? al.modem + ": " : "") + al.message;
    var ok = $("#all-ok"); if (ok) ok.remove();
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

  var delay = 500;
  function connect() {
    var live = $("#live");
    if (!live) return; // not logged in
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(proto + "//" + location.host + "/api/v1/stream");
    ws.onopen = function () { delay = 500; };
    ws.onmessage = function (e) {
      var ev;
      try { ev = JSON.parse(e.data); } catch (x) { return; }
      switch (ev.type) {
        case "snapshot":
          labels = ev.labels || {};
          ev.modems.forEach(onModem);
          onCounts(ev.counts);
          live.hidden = false;
          document.body.dataset.live = "1";
          // A job that ended while the socket was down: show its report.
          var job = $("#import-job");
          if (job && job.dataset.state === "running") fetchImport(job.dataset.importId);
          break;
        case "message": onMessage(ev.message); refreshCounts(); break;
        case "inbound": onInbound(ev.inbound); break;
        case "modem": onModem(ev.modem); break;
        case "alert": onAlert(ev.alert, false); break;
        case "alert_cleared": onAlert(ev.alert, true); break;
        case "import": onImport(ev.import); break;
      }
    };
    ws.onclose = function () {
      live.hidden = true;
      document.body.dataset.live = "";
      // Exponential backoff with jitter, capped at 30 s, so a restarted
      // gateway is not hit by every open tab at once.
      setTimeout(connect, delay + Math.random() * delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

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
          $("#c-enc").textContent = p.encoding;
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

  document.addEventListener("DOMContentLoaded", function () { setupCompose(); connect(); });
})();
