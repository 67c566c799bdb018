// Segments: the rule builder of the segment editor, with its live count,
// and the counts of the segments list. Without this script the editor
// still works through the rules as text (JSON), and the list links to each
// segment's page, which shows its count.
(function () {
  "use strict";
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  var cmp = [["ge", "at least"], ["gt", "more than"], ["eq", "exactly"], ["ne", "not"], ["le", "at most"], ["lt", "less than"]];
  var windowOps = [["within_days", "in the last … days"], ["not_within_days", "not in the last … days"]];
  var lists = [["is", "is one of"], ["is_not", "is none of"]];
  var attrOps = {
    text: [["equals", "is"], ["not_equals", "is not"], ["contains", "contains"], ["set", "is filled in"], ["unset", "is empty"]],
    number: [["eq", "="], ["ne", "≠"], ["lt", "<"], ["le", "≤"], ["gt", ">"], ["ge", "≥"], ["set", "is filled in"], ["unset", "is empty"]],
    date: [["before", "is before"], ["after", "is after"], ["on", "is on"], ["within_days", "is in the last … days"], ["set", "is filled in"], ["unset", "is empty"]]
  };
  // Each field: its words, its ops, and which inputs an op needs.
  var fields = {
    tag: { label: "Tag", ops: [["has", "is tagged"], ["has_not", "is not tagged"]], needs: function () { return ["value"]; } },
    ordered: { label: "Placed an order", ops: windowOps.concat([["ever", "at least once"], ["never", "never"]]),
      needs: function (op) { return op.indexOf("within") >= 0 ? ["days"] : []; } },
    order_count: { label: "Number of orders", ops: cmp, needs: function () { return ["count", "days?"]; } },
    total_spent: { label: "Total spent", ops: cmp, needs: function () { return ["amount", "currency", "days?"]; } },
    viewed_product: { label: "Viewed the same product without ordering", ops: [["at_least", "at least"]], needs: function () { return ["count", "days"]; } },
    abandoned_checkout: { label: "Left a checkout unfinished", ops: [["within_days", "in the last … days"]], needs: function () { return ["days"]; } },
    clicked: { label: "Clicked a link in a text", ops: windowOps, needs: function () { return ["days"]; } },
    got_marketing: { label: "Got a marketing text", ops: windowOps, needs: function () { return ["days"]; } },
    consent: { label: "Marketing consent", ops: lists, needs: function () { return ["consent"]; } },
    attribute: { label: "Custom field", ops: null, needs: function (op, type) {
      if (op === "set" || op === "unset") return ["key", "type"];
      if (type === "number") return ["key", "type", "number"];
      if (type === "date") return ["key", "type", op === "within_days" ? "days" : "date"];
      return ["key", "type", "value"];
    } },
    country: { label: "Country", ops: lists, needs: function () { return ["values"]; } },
    area_code: { label: "Area code", ops: lists, needs: function () { return ["values"]; } },
    time_zone: { label: "Time zone", ops: lists, needs: function () { return ["values"]; } },
    language: { label: "Language", ops: lists, needs: function () { return ["values"]; } },
    created: { label: "Became a customer", ops: [["within_days", "in the last … days"], ["before", "before"], ["after", "after"]],
      needs: function (op) { return op === "within_days" ? ["days"] : ["date"]; } }
  };
  var inputs = {
    key: { tag: "input", attrs: { placeholder: "field name, such as city", "aria-label": "Custom field name" } },
    type: { tag: "select", options: [["text", "as text"], ["number", "as a number"], ["date", "as a date"]], attrs: { "aria-label": "Read the field" } },
    value: { tag: "input", attrs: { placeholder: "vip", "aria-label": "Value" } },
    values: { tag: "input", attrs: { placeholder: "US, CA", "aria-label": "Values, separated by commas" } },
    number: { tag: "input", attrs: { type: "number", step: "any", "aria-label": "Number" } },
    date: { tag: "input", attrs: { type: "date", "aria-label": "Date" } },
    days: { tag: "input", attrs: { type: "number", min: "1", placeholder: "days", "aria-label": "Days" }, after: "days" },
    count: { tag: "input", attrs: { type: "number", min: "0", "aria-label": "How many" }, after: "times" },
    amount: { tag: "input", attrs: { type: "number", min: "0", step: "0.01", placeholder: "50.00", "aria-label": "Amount" } },
    currency: { tag: "input", attrs: { placeholder: "USD", maxlength: "3", size: "4", "aria-label": "Currency" } },
    consent: { tag: "select", options: [["confirmed", "confirmed"], ["pending", "asked, not confirmed yet"], ["opted_out", "opted out"], ["none", "never asked"]], attrs: { "aria-label": "Consent" } }
  };

  function options(select, list) {
    select.textContent = "";
    list.forEach(function (o) { select.appendChild(el("option", { value: o[0] }, o[1])); });
  }

  function opsOf(field, type) { return fields[field].ops || attrOps[type || "text"]; }

  // makeRow builds one rule's row, filled from rule.
  function makeRow(rule, changed) {
    var li = el("li", { "class": "rule" });
    var field = el("select", { "class": "r-field", "aria-label": "Rule" });
    options(field, Object.keys(fields).map(function (k) { return [k, fields[k].label]; }));
    li.appendChild(field);
    var parts = {};
    var op = el("select", { "class": "r-op", "aria-label": "Condition" });
    ["key", "type"].forEach(function (k) { parts[k] = build(k); li.appendChild(parts[k].wrap); });
    li.appendChild(op);
    Object.keys(inputs).forEach(function (k) { if (!parts[k]) { parts[k] = build(k); li.appendChild(parts[k].wrap); } });
    var remove = el("button", { type: "button", "class": "secondary r-remove", "aria-label": "Remove this rule" }, "Remove");
    li.appendChild(remove);

    function build(k) {
      var spec = inputs[k], wrap = el("span", { "class": "r-part r-" + k + "-wrap" });
      var input = el(spec.tag, spec.attrs);
      input.className = "r-" + k;
      if (spec.options) options(input, spec.options);
      wrap.appendChild(input);
      if (spec.after) wrap.appendChild(document.createTextNode(" " + spec.after));
      return { wrap: wrap, input: input };
    }
    function refresh() {
      var keep = op.value;
      options(op, opsOf(field.value, parts.type.input.value));
      if ($$("option", op).some(function (o) { return o.value === keep; })) op.value = keep;
      var need = fields[field.value].needs(op.value, parts.type.input.value);
      Object.keys(parts).forEach(function (k) {
        parts[k].wrap.hidden = need.indexOf(k) < 0 && need.indexOf(k + "?") < 0;
      });
    }
    li.read = function () {
      var r = { field: field.value, op: op.value };
      var need = fields[field.value].needs(op.value, parts.type.input.value);
      need.forEach(function (n) {
        var optional = n.slice(-1) === "?", k = optional ? n.slice(0, -1) : n, v = parts[k].input.value.trim();
        if (optional && v === "") return;
        if (k === "days" || k === "count") r[k] = v === "" ? 0 : Number(v);
        else if (k === "number") r.number = v === "" ? null : Number(v);
        else if (k === "amount") r.amount = v === "" ? null : Math.round(Number(v) * 100);
        else if (k === "values") r.values = v.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
        else if (k === "consent") r.values = [v];
        else r[k] = v;
      });
      return r;
    };
    field.value = rule.field in fields ? rule.field : "tag";
    parts.type.input.value = rule.type || "text";
    refresh();
    if (rule.op) op.value = rule.op;
    refresh();
    ["key", "value", "number", "date", "days", "count", "currency"].forEach(function (k) {
      if (rule[k] !== undefined && rule[k] !== null) parts[k].input.value = rule[k];
    });
    if (rule.amount !== undefined && rule.amount !== null) parts.amount.input.value = (rule.amount / 100).toFixed(2);
    if (rule.values) {
      parts.values.input.value = rule.values.join(", ");
      parts.consent.input.value = rule.values[0];
    }
    li.addEventListener("change", function (e) {
      if (e.target === field || e.target === op || e.target === parts.type.input) refresh();
      changed();
    });
    li.addEventListener("input", changed);
    remove.addEventListener("click", function () { li.remove(); changed(); });
    return li;
  }

  function setupEditor() {
    var form = $("#segment-form");
    if (!form) return;
    var text = $("#s-definition"), list = $("#rules"), match = $("#s-match"), timer = null, seq = 0;
    var def;
    try { def = JSON.parse(text.value || "{}"); } catch (e) { def = null; }
    var grouped = !def || (def.rules || []).some(function (r) { return r.rules || r.match; });
    $("#builder").hidden = false;
    if (grouped) {
      $("#builder-groups").hidden = false;
      $$("select, button", $("#builder")).forEach(function (b) { b.disabled = true; });
      $("#as-text").open = true;
    } else {
      match.value = def.match || "all";
      (def.rules || []).forEach(function (r) { list.appendChild(makeRow(r, changed)); });
    }
    function write() {
      if (grouped) return;
      text.value = JSON.stringify({ match: match.value, rules: $$("li.rule", list).map(function (li) { return li.read(); }) });
    }
    function changed() {
      write();
      clearTimeout(timer);
      timer = setTimeout(preview, 300);
    }
    match.addEventListener("change", changed);
    text.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(preview, 300); });
    $("#add-rule").addEventListener("click", function () {
      list.appendChild(makeRow({ field: "tag", op: "has" }, changed));
      changed();
      $$("li.rule .r-field", list).pop().focus();
    });
    function preview() {
      var mine = ++seq, body;
      try { body = JSON.stringify({ definition: JSON.parse(text.value) }); } catch (e) { return show({ error: "The rules as text are not valid JSON." }, mine); }
      fetch("/segments/preview", { method: "POST", headers: { "Content-Type": "application/json" }, body: body, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (p) { show(p, mine); })
        .catch(function () {});
    }
    function show(p, mine) {
      if (mine !== seq) return;
      var err = $("#live-error");
      err.hidden = !p.error;
      err.textContent = p.error || "";
      if (p.error) return;
      $("#live-count").textContent = p.count;
      $("#live-matched").textContent = p.matched;
      var out = $("#live-left-out");
      out.textContent = "";
      p.reasons.forEach(function (r) { out.appendChild(el("li", {}, r.count + " left out: " + r.words)); });
      var body = $("#live-members tbody");
      body.textContent = "";
      p.members.forEach(function (m) {
        var tr = el("tr");
        [["Name", m.name || ""], ["Number", m.number], ["Time zone", m.time_zone], ["Language", m.language || ""]].forEach(function (c) {
          tr.appendChild(el("td", { "data-label": c[0] }, c[1]));
        });
        body.appendChild(tr);
      });
    }
    form.addEventListener("submit", write);
    write();
    preview();
  }

  function setupList() {
    $$("#segments tr[data-segment]").forEach(function (tr) {
      fetch("/segments/" + tr.getAttribute("data-segment") + "/count", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) return;
          $(".seg-matched", tr).textContent = p.matched;
          $(".seg-count", tr).textContent = p.count;
        })
        .catch(function () {});
    });
  }

  document.addEventListener("DOMContentLoaded", function () { setupEditor(); setupList(); });
})();
