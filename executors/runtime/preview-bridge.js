// Loaded first by every preview page (executors/pages.py). It records what the rater does
// in the page (load, click, key, scroll, resize, errors), timestamped, and sends it to the
// preview origin's own endpoint for this page (/p/<token>/events; a server app at /a/<token>/
// reports there too, the app proxy adds this script to its pages). Keys 1-4 are handed to
// the battle page, so they still vote after a click inside the preview, except where the
// page takes every key itself (a PyGame game's canvas: data-arena-captures-keys).
(function () {
  "use strict";
  var parts = location.pathname.split("/");
  if ((parts[1] !== "p" && parts[1] !== "a") || !parts[2]) return;
  var endpoint = "/p/" + parts[2] + "/events";
  var queue = [];
  var lastScroll = 0;
  window.__arenaEvents = [];  // also read by the headless preview (executors.preview)

  function record(kind, data) {
    var event = { kind: kind, at: new Date().toISOString(), data: data || {} };
    queue.push(event);
    window.__arenaEvents.push(event);
    if (queue.length >= 50) flush();
  }
  function flush() {
    if (!queue.length) return;
    var body = JSON.stringify(queue.splice(0, queue.length));
    try {
      fetch(endpoint, { method: "POST", body: body, keepalive: true,
        headers: { "Content-Type": "application/json" } }).catch(function () {});
    } catch (error) { /* the page may have replaced fetch; telemetry is best effort */ }
  }
  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
  }
  function capturesKeys(target) {
    return Boolean(target && target.closest && target.closest("[data-arena-captures-keys]"));
  }

  window.addEventListener("load", function () {
    record("load", { width: innerWidth, height: innerHeight });
    flush();
  });
  document.addEventListener("click", function (e) {
    var t = e.target || {};
    record("click", { x: e.clientX, y: e.clientY, target: (t.tagName || "").toLowerCase(), text: (t.textContent || "").trim().slice(0, 40) });
  }, true);
  document.addEventListener("keydown", function (e) {
    // What the rater types into a field stays private: only that a character was typed.
    var named = /^(Arrow|Enter|Escape|Backspace|Tab|Shift|Control|Alt|Meta|F\d)/.test(e.key);
    record("key", { key: named || e.key === " " ? e.key : typing(e.target) ? "char" : e.key.slice(0, 1), typing: typing(e.target) });
    if (/^[1-4]$/.test(e.key) && !typing(e.target) && !capturesKeys(e.target) && !e.ctrlKey && !e.metaKey && !e.altKey && parent !== window) {
      parent.postMessage({ arena: "preview", type: "key", key: e.key }, "*");
    }
  }, true);
  window.addEventListener("scroll", function () {
    var now = Date.now();
    if (now - lastScroll < 250) return;  // one sample per quarter second
    lastScroll = now;
    record("scroll", { x: scrollX, y: scrollY });
  }, true);
  window.addEventListener("resize", function () { record("resize", { width: innerWidth, height: innerHeight }); });
  window.addEventListener("error", function (e) {
    record("error", { message: String(e.message || (e.target && e.target.src) || "error").slice(0, 500), line: e.lineno || null });
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    record("error", { message: String(e.reason && e.reason.message || e.reason).slice(0, 500) });
  });
  document.addEventListener("securitypolicyviolation", function (e) {
    record("blocked", { directive: e.violatedDirective, uri: String(e.blockedURI).slice(0, 200) });
  });
  setInterval(flush, 1000);
  window.addEventListener("pagehide", flush);
})();
