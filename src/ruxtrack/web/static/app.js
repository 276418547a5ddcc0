// ruxtrack web: small behaviours (no inline script anywhere: the CSP forbids it).
"use strict";
(function () {
  // htmx requests carry the CSRF token in a header (forms also carry it as a field).
  document.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { evt.detail.headers["X-CSRFToken"] = meta.getAttribute("content"); }
  });
  // The lab selector proposes the lab's canonical unit and its accepted spellings.
  function syncUnits() {
    var sel = document.getElementById("lab-code");
    var unit = document.getElementById("lab-unit");
    var list = document.getElementById("lab-units");
    if (!sel || !unit || !list) { return; }
    var opt = sel.options[sel.selectedIndex];
    unit.value = opt.getAttribute("data-unit") || "";
    list.textContent = "";
    (opt.getAttribute("data-units") || "").split(" ").forEach(function (u) {
      if (!u) { return; }
      var o = document.createElement("option");
      o.value = u;
      list.appendChild(o);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var sel = document.getElementById("lab-code");
    if (sel) { sel.addEventListener("change", syncUnits); syncUnits(); }
  });
})();
