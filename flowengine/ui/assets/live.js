// The live pages of `flowengine serve`. The token lives in this tab's sessionStorage and
// goes out only in the Authorization header (never in a URL). The flow page draws the
// flow once per revision (GET /ui/flows/{name}/drawing) and refreshes each node's
// counters from GET /api/flows/{name} every `data-poll` seconds, without reloading.
(function () {
  "use strict";
  var KEY = "flowengine.token";
  var body = document.body;
  var every = Number(body.dataset.poll || "1") * 1000;
  var $ = function (id) { return document.getElementById(id); };
  var form = $("token-form"), input = $("token"), note = $("token-note"), problem = $("problem"), forget = $("forget");
  var timer = null, shownVersion = null;

  function Halt() {}  // a refusal that waits for the user (a new token), not a retry

  function ask(message) {
    sessionStorage.removeItem(KEY);
    clearTimeout(timer);
    form.hidden = false;
    forget.hidden = true;
    note.textContent = message || "";
    input.focus();
  }

  function say(message) {
    problem.textContent = message;
    problem.hidden = !message;
  }

  function call(path) {
    var token = sessionStorage.getItem(KEY);
    return fetch(path, { headers: { authorization: "Bearer " + token }, cache: "no-store", credentials: "omit" })
      .then(function (r) {
        if (r.status === 401) { ask("That token was not accepted; enter a viewer token."); throw new Halt(); }
        if (r.ok) return r;
        return r.json().then(
          function (b) { throw new Error(b.error ? b.error.message : r.status + " " + r.statusText); },
          function () { throw new Error(r.status + " " + r.statusText); });
      });
  }

  function count(n) {
    if (n === null || n === undefined) return "–";
    if (n < 10000) return String(n);
    if (n < 1e6) return (n / 1000).toFixed(n < 1e5 ? 1 : 0) + "k";
    return (n / 1e6).toFixed(n < 1e7 ? 1 : 0) + "M";
  }

  function meta(detail) {
    var el = $("meta"), status = document.createElement("span");
    status.className = "status " + detail.status;
    status.textContent = detail.status;
    el.replaceChildren(status, " version " + detail.version + " · " + detail.in_flight + " in flight · updated " +
      new Date().toLocaleTimeString());
    $("description").textContent = detail.description || "";
  }

  function counters(detail) {
    detail.nodes.forEach(function (n) {
      var g = document.querySelector('svg.flowgraph .node[data-name="' + CSS.escape(n.name) + '"]');
      if (!g) return;
      var c = n.counters || {};
      var text = { "in": "in " + count(c.received), out: "out " + count(c.sent), err: "err " + count(c.errors) };
      var changed = false;
      Object.keys(text).forEach(function (k) {
        var span = g.querySelector(".counts ." + k);
        if (span.textContent !== text[k]) { span.textContent = text[k]; changed = true; }
      });
      g.classList.toggle("changed", changed);
      g.classList.toggle("has-errors", (c.errors || 0) > 0);
      g.classList.toggle("disconnected", c.connected === false);
      if (n.counters) g.dataset.stats = JSON.stringify(n.counters); else delete g.dataset.stats;
    });
    document.dispatchEvent(new CustomEvent("flowengine:stats"));
  }

  function flowPage() {
    var name = encodeURIComponent(body.dataset.flow);
    return call("/api/flows/" + name).then(function (r) { return r.json(); }).then(function (detail) {
      if (detail.version === shownVersion) return detail;
      return call("/ui/flows/" + name + "/drawing").then(function (r) { return r.text(); }).then(function (svg) {
        $("canvas").innerHTML = svg;  // our own server's SVG, escaped where it was drawn
        shownVersion = detail.version;
        return detail;
      });
    }).then(function (detail) { meta(detail); counters(detail); });
  }

  function cell(row, text, href) {
    var td = row.insertCell(), a;
    if (href) { a = document.createElement("a"); a.href = href; a.textContent = text; td.appendChild(a); }
    else td.textContent = text;
  }

  function indexPage() {
    return call("/api/flows").then(function (r) { return r.json(); }).then(function (list) {
      var table = document.createElement("table"), head = table.createTHead().insertRow();
      ["flow", "status", "version", "in flight", "description"].forEach(function (h) { cell(head, h); });
      var rows = table.createTBody();
      list.flows.forEach(function (f) {
        var row = rows.insertRow();
        cell(row, f.name, "/ui/flows/" + encodeURIComponent(f.name));
        [f.status, String(f.version), String(f.in_flight), f.description || ""].forEach(function (t) { cell(row, t); });
      });
      $("flows").replaceChildren(list.flows.length ? table : "No flow is deployed.");
      $("meta").textContent = list.flows.length + " flow(s) · updated " + new Date().toLocaleTimeString();
    });
  }

  function tick() {
    clearTimeout(timer);
    if (!sessionStorage.getItem(KEY)) { ask(""); return; }
    form.hidden = true;
    forget.hidden = false;
    var refresh = body.dataset.page === "flow" ? flowPage : indexPage;
    (document.hidden ? Promise.resolve() : refresh()).then(
      function () { say(""); timer = setTimeout(tick, every); },
      function (err) {
        if (err instanceof Halt) return;
        say(err.message || String(err));
        timer = setTimeout(tick, every);
      });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    sessionStorage.setItem(KEY, input.value.trim());
    input.value = "";
    tick();
  });
  forget.addEventListener("click", function () { ask("Token forgotten."); });
  tick();
})();
