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
    field.dispatchEvent(new Event("input"));
    field.focus();
  });

  // Character counter for prompt boxes.
  document.addEventListener("input", function (event) {
    const field = event.target;
    if (!field.dataset || !field.dataset.counter) return;
    const counter = document.getElementById(field.dataset.counter);
    if (!counter) return;
    const max = Number(counter.dataset.max);
    counter.textContent = field.value.length.toLocaleString() + " / " + max.toLocaleString();
    counter.classList.toggle("error", field.value.length > max);
  });

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
    clearInterval(page._heartbeat); // a reconnect opens the same wrapper again
    page._heartbeat = setInterval(function () {
      socket.send(JSON.stringify({ action: "heartbeat" }));
    }, Number(page.dataset.heartbeatMs));
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
