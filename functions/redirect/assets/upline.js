/* Upline click snippet. Load it on every landing page:
 *   <script async src="https://go.example.com/upline.js"></script>
 * On a direct link (?ref=CODE) it registers the click with Upline; on a tracking-link
 * landing (?click_id=…) it keeps the id it was given. Either way the click id is kept in
 * a first-party cookie (upline_click_id) for checkout to send with the postback, and
 * window.Upline.ready resolves to it (or null). */
(function (w, d) {
  "use strict";
  var COOKIE = "upline_click_id";
  var SUBS = ["sub1", "sub2", "sub3", "sub4", "sub5"];
  var script = d.currentScript;
  var attr = function (name) {
    return script && script.getAttribute ? script.getAttribute(name) : null;
  };
  var base = script && script.src ? new URL(script.src).origin : "";
  var params = new URLSearchParams(w.location.search);
  var defaultDays = Number(attr("data-days")) || 30;

  function stored() {
    var m = d.cookie.match(/(?:^|;\s*)upline_click_id=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : null;
  }
  function remember(id, days) {
    d.cookie =
      COOKIE + "=" + encodeURIComponent(id) +
      "; Max-Age=" + Math.round(days * 86400) +
      "; Path=/; SameSite=Lax" +
      (w.location.protocol === "https:" ? "; Secure" : "");
    return id;
  }

  var api = { clickId: stored, ready: null };
  w.Upline = api;

  var given = params.get("click_id");
  if (given) {
    api.ready = Promise.resolve(remember(given, defaultDays));
    return;
  }
  var body = {};
  var ref = params.get(attr("data-param") || "ref");
  if (ref) {
    body.ref = ref;
    SUBS.forEach(function (k) {
      if (params.get(k)) body[k] = params.get(k);
    });
  } else if (stored()) {
    api.ready = Promise.resolve(stored());
    return;
  }
  // text/plain keeps this a simple request: no CORS preflight before the click counts.
  api.ready = fetch(base + "/v1/clicks", {
    method: "POST",
    body: JSON.stringify(body),
    credentials: "include",
    keepalive: true
  })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (j) {
      return j && j.click_id ? remember(j.click_id, j.cookie_days || defaultDays) : stored();
    })
    .catch(function () { return stored(); });
})(window, document);
