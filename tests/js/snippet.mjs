// Runs the click snippet served by a running Upline the way a landing page would, with a
// minimal page (location, cookie jar, the script tag) and Node's real fetch, then prints
// what the page ends up with: {"ready": <click id or null>, "cookie": <document.cookie>,
// "clickId": <window.Upline.clickId()>, "cart": <the cart attributes the snippet wrote,
// or null>}. With "shopify" as a third argument the page is a Shopify storefront: it has
// window.Shopify, and its own /cart/update.js records what it is sent.
// Usage: node tests/js/snippet.mjs <upline base URL> <page URL> [shopify]
import vm from "node:vm";

const [base, pageUrl, platform] = process.argv.slice(2);
const source = await (await fetch(`${base}/upline.js`)).text();
const page = new URL(pageUrl);
const jar = new Map();
const document = {
  currentScript: { src: `${base}/upline.js`, getAttribute: () => null },
  get cookie() {
    return [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  },
  set cookie(line) {
    const [pair] = line.split(";");
    const i = pair.indexOf("=");
    jar.set(pair.slice(0, i), pair.slice(i + 1));
    jar.set("__last_set", JSON.stringify(line));
  },
};
const window = { location: { search: page.search, protocol: page.protocol } };
let cart = null;
let cartWritten;
const cartDone = new Promise((resolve) => (cartWritten = resolve));
if (platform === "shopify") window.Shopify = { shop: "acme.myshopify.com" };
// The storefront's own paths are the page's; Upline's are fetched for real.
const pageFetch = (url, init) => {
  if (String(url).startsWith("/cart/")) {
    cart = { path: String(url), ...JSON.parse(init.body) };
    cartWritten();
    return Promise.resolve({ ok: true, json: () => Promise.resolve({}) });
  }
  return fetch(url, init);
};
const context = vm.createContext({ window, document, fetch: pageFetch, URL, URLSearchParams, Promise, JSON, Number, Math, encodeURIComponent, decodeURIComponent });
vm.runInContext(source, context);
const ready = await window.Upline.ready;
if (platform === "shopify") await Promise.race([cartDone, new Promise((r) => setTimeout(r, 2000))]);
const lastSet = jar.has("__last_set") ? JSON.parse(jar.get("__last_set")) : null;
jar.delete("__last_set");
console.log(JSON.stringify({ ready, cookie: document.cookie, clickId: window.Upline.clickId(), lastSet, cart }));
