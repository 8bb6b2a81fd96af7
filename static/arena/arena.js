// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  function typingInField(event) {
    const el = event.target;
    return el && (el.tagName === "TEXTAREA" || el.tagName === "INPUT" || el.isContentEditable);
  }

  // Suggested requests fill the prompt box.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-fill]");
    if (!button) return;
    const field = document.getElementById(button.dataset.fill);
    if (!field) return;
    field.value = button.dataset.text;
    // Bubbling, so the document-level listeners (the character counter) hear it.
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.focus();
  });

  // Character counter for prompt boxes. The box takes any length (no maxlength: a long
  // paste is never cut silently); past the limit the counter says so and the server refuses.
  function count(field) {
    const counter = document.getElementById(field.dataset.counter);
    if (!counter) return;
    const max = Number(counter.dataset.max);
    const length = field.value.length;
    const over = length > max;
    counter.textContent = length.toLocaleString("en") + " / " + max.toLocaleString("en") +
      (over ? " characters: too long by " + (length - max).toLocaleString("en") + ", please shorten it" : "");
    counter.classList.toggle("error", over);
    counter.classList.toggle("muted", !over);
    field.setAttribute("aria-invalid", over ? "true" : "false");
  }
  document.addEventListener("input", function (event) {
    const field = event.target;
    if (field.dataset && field.dataset.counter) count(field);
  });
  function countAll() { document.querySelectorAll("[data-counter]").forEach(count); }

  // Phone width: the A | B tabs pick the side shown (on .battle, outside the live region,
  // so re-rendered panes keep the choice). Arrow keys move between the two tabs.
  function pickSide(button) {
    const battle = button.closest(".battle");
    battle.dataset.tab = button.dataset.sideTab;
    battle.querySelectorAll("[data-side-tab]").forEach(function (tab) {
      tab.setAttribute("aria-selected", tab === button ? "true" : "false");
      tab.tabIndex = tab === button ? 0 : -1;
    });
  }
  document.addEventListener("click", function (event) {
    const tab = event.target.closest("[data-side-tab]");
    if (tab) pickSide(tab);
  });
  document.addEventListener("keydown", function (event) {
    const tab = event.target.closest && event.target.closest("[data-side-tab]");
    if (!tab || (event.key !== "ArrowLeft" && event.key !== "ArrowRight")) return;
    const other = tab.parentElement.querySelector('[data-side-tab]:not([data-side-tab="' + tab.dataset.sideTab + '"])');
    pickSide(other);
    other.focus();
    event.preventDefault();
  });

  // A Copy button on every code block of an answer (added again after live re-renders).
  function addCopyButtons() {
    document.querySelectorAll(".answer pre:not([data-copy])").forEach(function (pre) {
      pre.dataset.copy = "on";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "copy-code";
      button.textContent = "Copy";
      button.setAttribute("aria-label", "Copy this code");
      pre.appendChild(button);
    });
  }
  document.addEventListener("click", function (event) {
    const button = event.target.closest(".copy-code");
    if (!button) return;
    const code = button.parentElement.querySelector("code") || button.parentElement;
    const text = code.innerText.replace(/Copy$/, "");
    const done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () { button.textContent = "Copy failed"; });
  });
  function enhance() { countAll(); addCopyButtons(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", enhance);
  else enhance();
  ["htmx:afterSwap", "htmx:oobAfterSwap"].forEach(function (name) { document.addEventListener(name, addCopyButtons); });

  // A failed request must never fail silently: say so in the status region.
  function toast(message) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.classList.add("visible");
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.classList.remove("visible"); }, 8000);
  }
  document.addEventListener("htmx:responseError", function () {
    toast("Something went wrong on our side. Nothing you sent was lost; please try again.");
  });
  // A refusal for going too fast (429) says why and how long to wait, wherever it swapped.
  document.addEventListener("arena:limited", function (event) {
    toast(event.detail.message);
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Could not reach the arena. Check your connection and try again.");
  });

  // The live battle page says it is there while its socket is open, so the server can
  // tell a rater who left (the socket just goes quiet) from one who is reading.
  document.addEventListener("htmx:wsOpen", function (event) {
    const page = event.target.closest("[data-heartbeat-ms]");
    const socket = event.detail && event.detail.socketWrapper;
    if (!page || !socket) return;
    page._socket = socket;
    clearInterval(page._heartbeat); // a reconnect opens the same wrapper again
    page._heartbeat = setInterval(function () {
      socket.send(JSON.stringify({ action: "heartbeat" }));
    }, Number(page.dataset.heartbeatMs));
  });
  // A follow-up's or a vote's answer swaps in parts the socket sends too, as they were
  // when the request was made; the socket sends only what changed since its own last
  // message, so a newer state it already sent would not come again. The server marks
  // such answers (views._with_resync) and the page then asks for everything anew.
  // (The form that asked has been swapped out by then, so the page is looked up anew.)
  function resync() {
    const page = document.querySelector("[data-heartbeat-ms]");
    if (page && page._socket) page._socket.send(JSON.stringify({ action: "refresh" }));
  }
  document.addEventListener("arena:resync", resync);
  // Nor may the socket replace a part while a request sent from inside it is in flight:
  // htmx looks up the answer's out-of-band targets from the element that asked, and once
  // that element is detached it finds none and the answer is dropped. Such a socket swap
  // is skipped, and when the request is over the page asks for everything anew.
  let socketSwapping = false;
  let skippedForRequest = false;
  document.addEventListener("htmx:wsBeforeMessage", function () {
    socketSwapping = true; // a message is swapped in one go; over by the next microtask
    queueMicrotask(function () { socketSwapping = false; });
  });
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    const part = event.detail.target;
    if (!socketSwapping || !(part.matches(".htmx-request") || part.querySelector(".htmx-request"))) return;
    event.detail.shouldSwap = false;
    skippedForRequest = true;
  });
  document.addEventListener("htmx:afterRequest", function () {
    if (!skippedForRequest) return;
    skippedForRequest = false;
    resync();
  });

  // Keys 1-4 vote, when the buttons are enabled and the rater is not typing.
  function voteKey(key) {
    const button = document.querySelector('#vote-panel button[data-key="' + key + '"]');
    if (button && !button.disabled) {
      button.click();
      return true;
    }
    return false;
  }
  document.addEventListener("keydown", function (event) {
    if (typingInField(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (voteKey(event.key)) event.preventDefault();
  });
  // A preview has the keyboard after a click inside it; its bridge script hands keys 1-4
  // here. Only messages from one of this page's preview frames count.
  window.addEventListener("message", function (event) {
    const data = event.data || {};
    if (data.arena !== "preview" || data.type !== "key" || !/^[1-4]$/.test(data.key)) return;
    const frames = Array.from(document.querySelectorAll("iframe.preview"));
    if (frames.some(function (frame) { return frame.contentWindow === event.source; })) voteKey(data.key);
  });

  // Preview controls: reload, full screen, width.
  document.addEventListener("click", function (event) {
    const box = event.target.closest("[data-preview]");
    if (!box) return;
    const frame = box.querySelector("iframe.preview");
    if (event.target.closest("[data-preview-reload]")) frame.src = frame.src;
    if (event.target.closest("[data-preview-fullscreen]") && frame.requestFullscreen) frame.requestFullscreen();
  });
  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-preview-width]")) return;
    const frame = event.target.closest("[data-preview]").querySelector("iframe.preview");
    frame.style.width = event.target.value ? event.target.value + "px" : "";
  });
})();
