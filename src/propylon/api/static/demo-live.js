// The demo host's entitlements, kept current: every 2 seconds the page asks /demo/live.json
// (what the SDK sees now) and rewrites the table's cells. Without this script the page shows
// the same thing at each load ("Check again").
(function () {
  "use strict";
  var box = document.getElementById("entitlements");
  if (!box || !window.fetch) { return; }
  function set(id, text) {
    var cell = document.getElementById(id);
    if (cell && cell.textContent !== text) { cell.textContent = text; }
  }
  function list(values) { return values && values.length ? values.join(", ") : "none"; }
  function tick() {
    fetch(box.getAttribute("data-live"), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body || !body.signed_in || body.refused) { return; }
        set("ent-roles", list(body.roles));
        set("ent-tier", body.tier || "none");
        set("ent-programs", list(body.programs));
        set("ent-version", body.version === null ? "none" : String(body.version));
        set("ent-source", body.source);
      })
      .catch(function () {})
      .then(function () { window.setTimeout(tick, 2000); });
  }
  window.setTimeout(tick, 2000);
})();
