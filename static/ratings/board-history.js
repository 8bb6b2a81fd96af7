// The leaderboard's filters and history. Every filter change pushes the URL of exactly
// the board it asks for; Back and Forward load that URL's filters and board together,
// so the heading, the selectors and the table always agree. Without JS the form is a
// plain GET form.
(function () {
  "use strict";

  function live() { return document.querySelector("[data-board-live]"); }

  function urlOf(form) {
    const params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) { if (value) params.append(name, value); });
    const query = params.toString();
    return form.action.split("?")[0] + (query ? "?" + query : "");
  }

  function load(url) {
    return fetch(url, { headers: { "HX-Request": "true", "HX-Target": "board-live" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        const current = live();
        if (!current) return;
        const next = new DOMParser().parseFromString(html, "text/html").querySelector("[data-board-live]");
        if (next) current.replaceWith(next);
      })
      .catch(function () { window.location.assign(url); });  // unreachable: a full load says why
  }

  function apply(event) {
    const form = event.target.closest && event.target.closest("[data-board-live] form");
    if (!form) return;
    event.preventDefault();
    const url = urlOf(form);
    if (url !== window.location.href) history.pushState({ board: true }, "", url);
    load(url);
  }
  document.addEventListener("change", apply);
  document.addEventListener("submit", apply);
  window.addEventListener("popstate", function () { if (live()) load(window.location.href); });
})();
