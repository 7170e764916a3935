// Porchlight desk: the only script. It refreshes pages marked data-refresh by fetching the
// same URL and swapping <main>'s content, keeping the scroll position; it never refreshes
// while a form field is in use. Every action works without it.
(function () {
  "use strict";
  var main = document.querySelector("main[data-refresh]");
  if (!main || !window.fetch || !window.DOMParser) { return; }
  var seconds = parseInt(main.getAttribute("data-refresh"), 10) || 30;
  function busy() {
    var a = document.activeElement;
    if (a && main.contains(a) && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) { return true; }
    var fields = main.querySelectorAll("input:not([type=hidden]), textarea");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value && fields[i].type !== "submit" && fields[i].type !== "date") { return true; }
    }
    return false;
  }
  function refresh() {
    if (document.hidden || busy()) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || !r.ok) { return null; }
        return r.text();
      })
      .then(function (html) {
        if (!html || busy()) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("main");
        if (!fresh) { return; }
        // A confirmation is shown once by the server: keep it until the coordinator moves on.
        var flash = main.querySelector(".flash");
        if (flash && !fresh.querySelector(".flash")) { fresh.insertBefore(flash, fresh.firstChild); }
        var x = window.scrollX, y = window.scrollY;
        main.innerHTML = fresh.innerHTML;
        window.scrollTo(x, y);
        main.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }
  window.setInterval(refresh, seconds * 1000);
  window.porchlightRefresh = refresh;
})();
