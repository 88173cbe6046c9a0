// panelwright console: small enhancements; every page works without them.
"use strict";
(function () {
  // Times: shown in the viewer's own zone; the UTC time stays in the title.
  var fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"
  });
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.local) return;
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) { el.textContent = fmt.format(d); el.dataset.local = "1"; }
    });
  }
  // A revealed secret is hidden again after its time (data-hide-after, seconds).
  function hideRevealed(root) {
    root.querySelectorAll("[data-hide-after]").forEach(function (el) {
      if (el.dataset.timer) return;
      el.dataset.timer = "1";
      var secs = parseInt(el.dataset.hideAfter, 10) || 30;
      setTimeout(function () {
        el.textContent = "••••••••";
        el.classList.add("masked");
        el.removeAttribute("data-hide-after");
      }, secs * 1000);
    });
  }
  // Forms that ask before they act (data-confirm).
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  }, true);
  function enhance(root) { localTimes(root); hideRevealed(root); }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (e) { enhance(e.target); });
  document.addEventListener("htmx:sseMessage", function (e) { enhance(e.target); });
})();
