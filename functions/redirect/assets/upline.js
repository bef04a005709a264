/* Upline click snippet. Load it on every landing page:
 *   <script async src="https://go.example.com/upline.js"></script>
 * On a direct link (?ref=CODE) it registers the click with Upline; on a tracking-link
 * landing (?click_id=…) it keeps the id it was given. Either way the click id is kept in
 * a first-party cookie (upline_click_id) for checkout to send with the postback, and
 * window.Upline.ready resolves to it (or null). On a Shopify storefront it also writes
 * the id into the cart's attributes (upline_click_id), where the order webhook carries
 * it to Upline; data-shopify-cart="off" turns that off. */
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

  // Shopify copies cart attributes into the order (note_attributes): once per id.
  var CART = "upline_cart";
  function toCart(id) {
    if (!id || !w.Shopify || attr("data-shopify-cart") === "off") return id;
    if (d.cookie.indexOf(CART + "=" + encodeURIComponent(id)) >= 0) return id;
    fetch("/cart/update.js", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ attributes: { upline_click_id: id } }),
      credentials: "same-origin"
    })
      .then(function (r) {
        if (r.ok) d.cookie = CART + "=" + encodeURIComponent(id) + "; Path=/; SameSite=Lax";
      })
      .catch(function () {});
    return id;
  }
  function settle(p) {
    api.ready = p.then(toCart);
  }

  var given = params.get("click_id");
  if (given) {
    settle(Promise.resolve(remember(given, defaultDays)));
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
    settle(Promise.resolve(stored()));
    return;
  }
  // text/plain keeps this a simple request: no CORS preflight before the click counts.
  settle(fetch(base + "/v1/clicks", {
    method: "POST",
    body: JSON.stringify(body),
    credentials: "include",
    keepalive: true
  })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (j) {
      return j && j.click_id ? remember(j.click_id, j.cookie_days || defaultDays) : stored();
    })
    .catch(function () { return stored(); }));
})(window, document);
