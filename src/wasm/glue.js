// The browser side of src/wasm/: small functions that cost fewer bytes here
// than through Rust bindings (fetch with a cap and a timeout, windows and
// iframes, IndexedDB, crypto.subtle). Every protocol decision stays in Rust;
// these only carry values. One file, so that a page fetches one snippet
// module rather than one per Rust module (fewer requests before the client
// is ready). Each section names the Rust module that imports it.

// ---- src/wasm/http.rs ----
async function readCapped(response, cap) {
  const length = response.headers.get("content-length");
  if (length !== null && Number(length) > cap) {
    try { response.body && response.body.cancel().catch(() => {}); } catch {}
    return null;
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) { reader.cancel().catch(() => {}); return null; }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { all.set(c, at); at += c.byteLength; }
  return new TextDecoder().decode(all);
}
export async function httpSend(method, url, contentType, body, authorization, dpop, timeoutMs, cache, cap, request, redirect) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = request ? 0 : setTimeout(() => { timedOut = true; controller.abort(); }, timeoutMs);
  try {
    let response;
    if (request) {
      // The app's request, as it made it (its own signal, credentials, body),
      // from a clone: a retry has the body again. Its answer is not read here.
      const r = request.clone();
      r.headers.set("Authorization", authorization);
      if (dpop) r.headers.set("DPoP", dpop);
      response = await fetch(r);
    } else {
      const headers = { Accept: "application/json" };
      if (contentType) headers["Content-Type"] = contentType;
      if (authorization) headers.Authorization = authorization;
      if (dpop) headers.DPoP = dpop;
      response = await fetch(url, {
        method, headers, body: body === undefined ? undefined : body,
        credentials: "omit", cache, redirect, signal: controller.signal,
      });
      // redirect "manual": a redirect is answered, never followed (status 0
      // where the browser hides it: an opaque redirect).
      if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)) {
        try { response.body && response.body.cancel().catch(() => {}); } catch {}
        return { redirected: true, status: response.status };
      }
    }
    const text = request ? "" : await readCapped(response, cap);
    const h = (name) => response.headers.get(name);
    return { status: response.status, body: text, cacheControl: h("cache-control"),
      dpopNonce: h("dpop-nonce"), wwwAuthenticate: h("www-authenticate"), response };
  } catch (e) {
    return { failure: String((e && e.message) || e), timedOut };
  } finally {
    clearTimeout(timer);
  }
}
export function newRequest(input, init) { return new Request(input, init); }

// ---- src/wasm/frames.rs ----
const WAITING = "__oidcPkceWaiting";
// The popup of this page's login under way: one at a time, each with its own
// window name (a second window.open with the same name would take it over).
let popupOpen = null;
// A popup window; null when the browser blocked it; undefined when this
// page's popup login is still open (it is brought to the front instead).
export function openPopup() {
  if (popupOpen && !popupOpen.closed) {
    try { popupOpen.focus(); } catch {}
    return undefined;
  }
  const w = 500, h = 650;
  const left = Math.max(0, (screen.width - w) / 2), top = Math.max(0, (screen.height - h) / 2);
  const name = "oidc-pkce-" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  try {
    popupOpen = window.open("about:blank", name, `popup,width=${w},height=${h},left=${left},top=${top}`) || null;
  } catch {
    popupOpen = null;
  }
  return popupOpen;
}
export function openFrame() {
  if (typeof document === "undefined" || !document.body) return null;
  const f = document.createElement("iframe");
  f.setAttribute("aria-hidden", "true");
  f.setAttribute("tabindex", "-1");
  f.title = "oidc-pkce silent authentication";
  f.style.cssText = "position:absolute;width:0;height:0;border:0;visibility:hidden";
  document.body.appendChild(f);
  return f;
}
export function go(target, url) {
  if (target instanceof HTMLIFrameElement) target.src = url; else target.location.replace(url);
}
export function dispose(target) {
  if (target === popupOpen) popupOpen = null;
  try { if (target instanceof HTMLIFrameElement) target.remove(); else target.close(); } catch {}
}
// Resolves { url } once the window shows a URL that `arrived(url)` (the
// core's judgement) takes for the callback, or the redirect page hands one
// over; { closed: true } if the user closed it; { timeout: true } after timeoutMs.
export function waitForRedirect(target, arrived, timeoutMs) {
  const win = () => (target instanceof HTMLIFrameElement ? target.contentWindow : target);
  globalThis[WAITING] = (globalThis[WAITING] || 0) + 1;
  return new Promise((resolve) => {
    const started = Date.now();
    let timer, finished = false;
    const onMessage = (e) => {
      const d = e.data;
      if (e.origin === location.origin && e.source === win() && d && d.type === "oidc-pkce:callback" && typeof d.url === "string") done({ url: d.url });
    };
    const done = (r) => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      removeEventListener("message", onMessage);
      globalThis[WAITING] -= 1;
      resolve(r);
    };
    addEventListener("message", onMessage);
    timer = setInterval(() => {
      const w = win();
      if (!w || w.closed) return done({ closed: true });
      let href = null;
      try { href = w.location.href; } catch {}
      if (href && arrived(href)) return done({ url: href });
      if (Date.now() - started > timeoutMs) done({ timeout: true });
    }, 50);
  });
}
// In a popup or iframe that this library is waiting on (same origin), hand
// the callback URL to the waiting page and report true.
export function handToOpener(url) {
  try {
    const target = window.opener && window.opener !== window ? window.opener : window.parent !== window ? window.parent : null;
    if (!target || !target[WAITING] || target.location.origin !== location.origin) return false;
    target.postMessage({ type: "oidc-pkce:callback", url }, location.origin);
    return true;
  } catch {
    return false;
  }
}

// ---- src/wasm/handoff.rs ----
const HANDOFF_DB = "oidc-pkce", HANDOFF_STORE = "handoff";
function openHandoff() {
  return new Promise((resolve) => {
    if (typeof indexedDB === "undefined") return resolve(null);
    let req;
    try { req = indexedDB.open(HANDOFF_DB, 1); } catch { return resolve(null); }
    req.onupgradeneeded = () => req.result.createObjectStore(HANDOFF_STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => resolve(null);
    req.onblocked = () => resolve(null);
  });
}
export async function handoffGet(key) {
  const db = await openHandoff();
  if (!db) return undefined;
  return new Promise((resolve) => {
    const r = db.transaction(HANDOFF_STORE, "readonly").objectStore(HANDOFF_STORE).get(key);
    r.onsuccess = () => { db.close(); resolve(typeof r.result === "string" ? r.result : undefined); };
    r.onerror = () => { db.close(); resolve(undefined); };
  });
}
export async function handoffSet(key, value) {
  const db = await openHandoff();
  if (!db) return;
  return new Promise((resolve) => {
    const tx = db.transaction(HANDOFF_STORE, "readwrite");
    const store = tx.objectStore(HANDOFF_STORE);
    if (value === undefined) store.delete(key); else store.put(value, key);
    tx.oncomplete = () => { db.close(); resolve(); };
    tx.onerror = tx.onabort = () => { db.close(); resolve(); };
  });
}

// ---- src/wasm/signature.rs ----
const verifyKeys = new Map();
let fallback = null;
function loadFallback() {
  if (!fallback) {
    fallback = import("../../../../verifier/oidc_pkce_verifier.js")
      .then(async (m) => { await m.default(); return m; })
      .catch((cause) => {
        fallback = null;
        const e = new Error(`the signature verifier module could not be loaded: ${cause && cause.message}`);
        e.name = "VerifierLoadError";
        throw e;
      });
  }
  return fallback;
}
// Not an async function: with a key already imported, the answer is
// crypto.subtle's own promise, without the extra promise and hops of an
// async function (~3 µs less per RS256 verification, measured 2026-11-23).
export function verifySignature(alg, jwk, input, signature) {
  // The byte arguments are views of the module's memory, which a later
  // allocation may move: read before anything is awaited (crypto.subtle
  // copies them when called).
  const subtle = globalThis.isSecureContext !== false && globalThis.crypto && crypto.subtle;
  if (!subtle) {
    const text = new TextDecoder().decode(input), sig = base64url(signature);
    return loadFallback().then((m) => m.verify(alg, jwk, text, sig));
  }
  const hash = "SHA-" + alg.slice(2);
  // RFC 7518 §3.5: the PSS salt is as long as the hash; §3.4: ECDSA signatures are R || S.
  const how = alg[0] === "E" ? { name: "ECDSA", hash }
    : alg[0] === "P" ? { name: "RSA-PSS", saltLength: Number(alg.slice(2)) / 8 }
    : { name: "RSASSA-PKCS1-v1_5" };
  const id = alg + jwk;
  const key = verifyKeys.get(id);
  if (key) return subtle.verify(how, key, signature, input);
  const data = [signature.slice(), input.slice()];
  const params = alg[0] === "E" ? { name: "ECDSA", namedCurve: "P-256" }
    : { name: alg[0] === "P" ? "RSA-PSS" : "RSASSA-PKCS1-v1_5", hash };
  return subtle.importKey("jwk", JSON.parse(jwk), params, false, ["verify"]).then((made) => {
    if (verifyKeys.size >= 32) verifyKeys.clear();
    verifyKeys.set(id, made);
    return subtle.verify(how, made, ...data);
  });
}

// ---- src/wasm/dpop.rs ----
const DPOP_DB = "oidc-pkce-dpop", DPOP_STORE = "keys";
const cryptoSubtle = () => globalThis.crypto.subtle;
const dpopKeys = new Map();
function done(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = r.oncomplete = () => resolve(r.result);
    r.onerror = r.onabort = r.onblocked = () => reject(r.error || new Error("IndexedDB refused"));
  });
}
async function withStore(mode, work) {
  const r = indexedDB.open(DPOP_DB, 1);
  r.onupgradeneeded = () => r.result.createObjectStore(DPOP_STORE);
  const db = await done(r);
  try {
    const tx = db.transaction(DPOP_STORE, mode);
    const out = await work(tx.objectStore(DPOP_STORE));
    await done(tx);
    return out;
  } finally {
    db.close();
  }
}
export function dpopSupported() {
  return globalThis.isSecureContext !== false && !!(globalThis.crypto && crypto.subtle)
    && typeof indexedDB !== "undefined";
}
export async function dpopKey(id, create) {
  let pair = await withStore("readonly", (s) => done(s.get(id)));
  if (!pair && create) {
    const made = await cryptoSubtle().generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    // Another tab may have stored one meanwhile: the first one stored is the key.
    pair = await withStore("readwrite", async (s) => {
      const found = await done(s.get(id));
      if (!found) s.put(made, id);
      return found || made;
    });
  }
  if (!pair) { dpopKeys.delete(id); return null; }
  dpopKeys.set(id, pair.privateKey);
  const { x, y } = await cryptoSubtle().exportKey("jwk", pair.publicKey);
  return { x, y };
}
export async function dpopForget(id) {
  dpopKeys.delete(id);
  await withStore("readwrite", (s) => { s.delete(id); });
}
export async function dpopSign(id, input) {
  return base64url(await cryptoSubtle().sign({ name: "ECDSA", hash: "SHA-256" }, dpopKeys.get(id), new TextEncoder().encode(input)));
}
/** RFC 7515 §2: base64url without padding, of an ArrayBuffer or a byte array. */
function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// ---- src/wasm/storage.rs ----
// One operation on a key-value store: `null` (nothing kept), "page" (this
// page's memory, shared by its clients), a Web Storage object, or the app's
// adapter `{ get, set, remove, keys? }`. Web Storage and the page answer at
// once; an adapter's answer may be a promise. A refusal is thrown (or
// rejected) as the words after "the storage refused to".
const pageStore = new Map();
const webRefusals = { get: "read", set: "write (is it full?)", remove: "remove an entry", keys: "list its keys" };
function keyList(out) {
  const list = Array.isArray(out) ? out : out && out.keys;
  if (!Array.isArray(list)) throw "list its keys (keys() gave no array)";
  return list.filter((k) => typeof k === "string");
}
export function storeOp(target, op, key, value) {
  if (target === null) return op === "keys" ? [] : undefined;
  if (target === "page") {
    if (op === "keys") return [...pageStore.keys()];
    if (op === "get") return pageStore.get(key);
    op === "set" ? pageStore.set(key, value) : pageStore.delete(key);
    return undefined;
  }
  if (typeof Storage !== "undefined" && target instanceof Storage) {
    try {
      if (op === "keys") return Array.from({ length: target.length }, (_, i) => target.key(i)).filter((k) => k !== null);
      if (op === "get") return target.getItem(key);
      op === "set" ? target.setItem(key, value) : target.removeItem(key);
      return undefined;
    } catch {
      throw webRefusals[op];
    }
  }
  // An adapter without keys() cannot list: null, and the caller reads by key.
  if (op === "keys" && typeof target.keys !== "function") return null;
  const method = target[op];
  if (typeof method !== "function") throw `${op}: the adapter has no such method`;
  let out;
  try {
    out = method.apply(target, op === "keys" ? [] : op === "set" ? [key, value] : [key]);
  } catch {
    throw `${op} (the storage adapter threw)`;
  }
  const done = (v) => (op === "keys" ? keyList(v) : v);
  return out instanceof Promise
    ? out.then(done, () => { throw `${op} (the storage adapter's promise rejected)`; })
    : done(out);
}
