// Code editor for the "Edit and re-run" forms: every textarea.code-input becomes a
// CodeMirror editor (static/vendor/codemirror/arena-editor.min.js, global ArenaEditor).
// Progressive enhancement: without the bundle the plain textarea is the editor. The
// textarea stays in its form, hidden and in sync, so POST and hx-post send the edits.
//
// Load after the bundle, both deferred and with the page's nonce: CodeMirror injects
// its layout styles as a <style> that needs the nonce (style-src must allow it).
(function () {
  "use strict";

  // Browsers hide the nonce attribute once the page is parsed; the property stays.
  const script = document.currentScript;
  const nonce = (script && script.nonce) || "";

  const editors = new Map(); // textarea -> handle from ArenaEditor.attach

  function languageSelectFor(textarea) {
    const form = textarea.form || textarea.closest("form");
    return form ? form.querySelector('select[name="language"]') : null;
  }

  function enhance() {
    const api = window.ArenaEditor;
    if (!api || typeof api.attach !== "function") return; // bundle missing: plain textareas

    // Editors whose form was swapped away: free them (they listen on window).
    editors.forEach(function (handle, textarea) {
      if (!textarea.isConnected) {
        editors.delete(textarea);
        try { handle.destroy(); } catch (error) { /* already gone */ }
      }
    });

    document.querySelectorAll("textarea.code-input:not([data-editor])").forEach(function (textarea) {
      textarea.dataset.editor = "pending";
      try {
        const handle = api.attach(textarea, languageSelectFor(textarea), { nonce: nonce });
        // CodeMirror's layout rules make the editor a flexbox; if the CSP refused its
        // <style> (style-src without the nonce) it would be unusable: keep the textarea.
        if (window.getComputedStyle(handle.view.dom).display !== "flex") {
          handle.destroy();
          textarea.dataset.editor = "unstyled";
          if (window.console) console.warn("Code editor styles were blocked (CSP style-src needs the nonce); using the plain textarea.");
          return;
        }
        // The editor's scroll box is reachable by keyboard, as axe requires of scroll regions.
        handle.view.scrollDOM.tabIndex = 0;
        editors.set(textarea, handle);
        textarea.dataset.editor = "on";
      } catch (error) {
        textarea.dataset.editor = "failed"; // the textarea stays usable
        textarea.hidden = false;
        if (window.console) console.error("Code editor unavailable:", error);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enhance);
  } else {
    enhance();
  }
  // New fragments: htmx responses, and out-of-band swaps pushed over the websocket.
  ["htmx:afterSwap", "htmx:oobAfterSwap", "htmx:load"].forEach(function (name) {
    document.addEventListener(name, enhance);
  });
})();
