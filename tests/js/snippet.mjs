// Runs the click snippet served by a running Upline the way a landing page would, with a
// minimal page (location, cookie jar, the script tag) and Node's real fetch, then prints
// what the page ends up with: {"ready": <click id or null>, "cookie": <document.cookie>,
// "clickId": <window.Upline.clickId()>}.
// Usage: node tests/js/snippet.mjs <upline base URL> <page URL>
import vm from "node:vm";

const [base, pageUrl] = process.argv.slice(2);
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
const context = vm.createContext({ window, document, fetch, URL, URLSearchParams, Promise, JSON, Number, Math });
vm.runInContext(source, context);
const ready = await window.Upline.ready;
const lastSet = jar.has("__last_set") ? JSON.parse(jar.get("__last_set")) : null;
jar.delete("__last_set");
console.log(JSON.stringify({ ready, cookie: document.cookie, clickId: window.Upline.clickId(), lastSet }));
