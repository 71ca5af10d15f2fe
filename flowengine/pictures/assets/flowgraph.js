// Flowengine flow pictures: the hover card. Hovering (or focusing) a node shows its
// name, kind, role, line and options as written; on the live page also its counters.
// Everything is built with textContent, never innerHTML: option values are user text.
(function () {
  "use strict";
  var tip = document.createElement("div");
  tip.className = "tip";
  tip.id = "fg-tip";
  tip.setAttribute("role", "tooltip");
  tip.hidden = true;
  document.body.appendChild(tip);

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function shown(value) {
    return typeof value === "string" ? value : JSON.stringify(value, null, 1).replace(/\n\s*/g, " ");
  }

  function fill(node) {
    var d = node.dataset;
    tip.replaceChildren(el("div", "title", d.name), el("div", "sub", d.kind + " · " + d.role + " · line " + d.line));
    var options = JSON.parse(d.options || "{}");
    var keys = Object.keys(options);
    if (keys.length === 0) tip.appendChild(el("div", "none", "no options"));
    var list = el("dl", "options");
    keys.forEach(function (k) { list.append(el("dt", "", k), el("dd", "", shown(options[k]))); });
    if (keys.length) tip.appendChild(list);
    if (d.stats) {
      var s = JSON.parse(d.stats);
      var stats = el("dl", "stats");
      ["received", "sent", "errors", "dropped", "in_flight"].forEach(function (k) {
        if (s[k] !== null && s[k] !== undefined) stats.append(el("dt", "", k.replace("_", " ")), el("dd", "", String(s[k])));
      });
      if (s.connected === false) stats.append(el("dt", "", "connection"), el("dd", "", "down"));
      tip.appendChild(stats);
      if (s.last_error) tip.appendChild(el("div", "last-error", "last error: " + s.last_error));
    }
  }

  function place(x, y) {
    var pad = 14, r = tip.getBoundingClientRect();
    var left = x + pad + r.width > window.innerWidth ? x - pad - r.width : x + pad;
    var top = y + pad + r.height > window.innerHeight ? y - pad - r.height : y + pad;
    tip.style.left = Math.max(0, left) + "px";
    tip.style.top = Math.max(0, top) + "px";
  }

  var current = null;
  function show(node, x, y) {
    current = node;
    fill(node);
    tip.hidden = false;
    place(x, y);
  }
  function hide() { current = null; tip.hidden = true; }
  function nodeOf(target) {
    return target && target.closest ? target.closest("svg.flowgraph .node[data-options]") : null;
  }

  document.addEventListener("mouseover", function (e) {
    var node = nodeOf(e.target);
    if (node && node !== current) show(node, e.clientX, e.clientY);
    else if (!node && current) hide();
  });
  document.addEventListener("mousemove", function (e) { if (current) place(e.clientX, e.clientY); });
  document.addEventListener("focusin", function (e) {
    var node = nodeOf(e.target);
    if (node) { var r = node.getBoundingClientRect(); show(node, r.right, r.top); }
  });
  document.addEventListener("focusout", hide);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") hide(); });
  // The live page redraws a node's counters while its card is open: refresh the card.
  document.addEventListener("flowengine:stats", function () { if (current) fill(current); });
})();
