// Live regions: an element with data-live="<ms>" and an id is re-read from
// the same URL every <ms> and replaced, until the server renders it without
// data-live (the job finished). Stops on a redirect (logged out) or an
// error page. No framework, nothing fetched from elsewhere.
(function () {
  "use strict";
  function schedule(el) {
    var ms = Number(el.getAttribute("data-live")) || 2000;
    window.setTimeout(function () { refresh(el); }, ms);
  }
  function refresh(el) {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (res.redirected || !res.ok) { return null; }
        return res.text();
      })
      .then(function (text) {
        if (text === null) { return; }
        var doc = new DOMParser().parseFromString(text, "text/html");
        var fresh = doc.getElementById(el.id);
        if (!fresh) { return; }
        fresh = document.importNode(fresh, true);
        el.replaceWith(fresh);
        if (fresh.hasAttribute("data-live")) { schedule(fresh); }
      })
      .catch(function () { schedule(el); });
  }
  document.querySelectorAll("[data-live][id]").forEach(schedule);
})();
