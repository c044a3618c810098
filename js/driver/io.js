// The platform side of the driver: fetch with a cap and a timeout, storage,
// IndexedDB, windows and iframes, Web Locks, crypto.subtle. These only carry
// values: what to send, read or open comes from the core, and what came back
// goes to it (client.js). No protocol decision is made here.

/** @typedef {import("../oidc_pkce.js").HttpRequest} HttpRequest */
/** @typedef {import("../oidc_pkce.js").HttpAnswer} HttpAnswer */

/**
 * The body as text, or null past `cap` bytes: by its Content-Length before
 * anything is read, else while streaming, so an endless or huge answer is
 * never held whole (the stream is cancelled, which closes the connection).
 * An answer of the app's `fetch` without a stream is read by its `text()`.
 * @param {Response} response @param {(name: string) => string | null} header @param {number} cap
 */
async function readCapped(response, header, cap) {
  const length = header("content-length");
  if (length !== null && Number(length) > cap) {
    cancel(response);
    return null;
  }
  if (!response.body || typeof response.body.getReader !== "function") {
    const text = typeof response.text === "function" ? await response.text() : "";
    if (typeof text !== "string") throw new Error("the body is not text");
    return new TextEncoder().encode(text).byteLength > cap ? null : text;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return new Blob(chunks).text();
}

/** @param {Response} response */
const cancel = (response) => Promise.resolve().then(() => response.body?.cancel()).catch(() => {});

/**
 * @typedef {(input: RequestInfo | URL, init?: RequestInit) => Promise<Response>} Transport
 * fetch, or the app's function of fetch's signature (the `fetch` option).
 */

/**
 * Sends a request the core built, within its timeout (which covers the whole
 * body, and holds even when `transport` ignores the abort signal), reading
 * at most `maxBytes`; never rejects. Cookies are never sent. What came back
 * is reported as it is (a redirect followed, or one that was not): the core
 * judges it by the request.
 * @param {HttpRequest} req @param {string} [dpop] the signed proof for the DPoP header @param {Transport} [transport]
 * @returns {Promise<HttpAnswer>}
 */
export async function http(req, dpop, transport) {
  const controller = new AbortController();
  let timedOut = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {Promise<never>} */
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
      reject(new Error(`no answer within ${req.timeoutMs} ms`));
    }, req.timeoutMs);
  });
  expired.catch(() => {});
  try {
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json" };
    if (req.contentType) headers["Content-Type"] = req.contentType;
    if (req.authorization) headers.Authorization = req.authorization;
    if (dpop) headers.DPoP = dpop;
    const send = transport ?? fetch;
    const response = await Promise.race([
      send(req.url, {
        method: req.method,
        headers,
        body: req.body,
        credentials: "omit",
        cache: req.cache,
        redirect: req.redirect,
        signal: controller.signal,
      }),
      expired,
    ]);
    // redirect "manual": a redirect is answered, never followed (status 0
    // where the browser hides it: an opaque redirect).
    if (response?.type === "opaqueredirect") {
      cancel(response);
      return { status: 0, redirected: true, body: null };
    }
    const status = response?.status;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      return { failure: "the fetch option gave something that is not a Response", timedOut: false };
    }
    const get = response.headers?.get;
    /** @param {string} name */
    const h = (name) => (typeof get === "function" ? (get.call(response.headers, name) ?? null) : null);
    return {
      status,
      redirected: response.redirected === true,
      body: await Promise.race([readCapped(response, h, req.maxBytes), expired]),
      cacheControl: h("cache-control"),
      dpopNonce: h("dpop-nonce"),
      wwwAuthenticate: h("www-authenticate"),
    };
  } catch (e) {
    return { failure: String((e instanceof Error && e.message) || e), timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- storage ----

/**
 * A key-value store: Web Storage, this page's memory, the app's adapter
 * `{ get, set, remove, keys? }` (whose methods may return promises), or
 * nothing. A refusal is thrown as the words after "the storage refused to".
 * @typedef {{ get(key: string): Promise<string | null>; set(key: string, value: string): Promise<void>; remove(key: string): Promise<void>; keys(): Promise<string[] | null> }} Store
 * @typedef {{ get: Function; set: Function; remove: Function; keys?: Function }} Adapter
 */

/** @type {Map<string, string>} */
const pageStore = new Map();

/** @type {Store} */
const nothing = { get: async () => null, set: async () => {}, remove: async () => {}, keys: async () => [] };

/** @type {Store} */
const page = {
  get: async (k) => pageStore.get(k) ?? null,
  set: async (k, v) => void pageStore.set(k, v),
  remove: async (k) => void pageStore.delete(k),
  keys: async () => [...pageStore.keys()],
};

/** @param {Storage} s @returns {Store} */
function web(s) {
  /** @template T @param {() => T} f @param {string} words */
  const refused = (f, words) => {
    try {
      return Promise.resolve(f());
    } catch {
      return Promise.reject(words);
    }
  };
  return {
    get: (k) => refused(() => s.getItem(k), "read"),
    set: (k, v) => refused(() => s.setItem(k, v), "write (is it full?)"),
    remove: (k) => refused(() => s.removeItem(k), "remove an entry"),
    keys: () => refused(() => Array.from({ length: s.length }, (_, i) => s.key(i)).filter((k) => k !== null), "list its keys"),
  };
}

/** @param {Adapter} a @returns {Store} */
function adapter(a) {
  /** @param {"get" | "set" | "remove" | "keys"} op @param {unknown[]} args */
  const call = async (op, args) => {
    let out;
    try {
      out = /** @type {Function} */ (a[op]).apply(a, args);
    } catch {
      throw `${op} (the storage adapter threw)`;
    }
    try {
      return await out;
    } catch {
      throw `${op} (the storage adapter's promise rejected)`;
    }
  };
  return {
    get: async (k) => {
      const v = await call("get", [k]);
      return typeof v === "string" ? v : null;
    },
    set: (k, v) => call("set", [k, v]),
    remove: (k) => call("remove", [k]),
    // An adapter without keys() cannot list: null, and the caller reads by key.
    // Capacitor Preferences' keys() gives { keys: [...] }.
    keys: async () => {
      if (typeof a.keys !== "function") return null;
      const out = await call("keys", []);
      const list = Array.isArray(out) ? out : out && out.keys;
      if (!Array.isArray(list)) throw "list its keys (keys() gave no array)";
      return list.filter((k) => typeof k === "string");
    },
  };
}

/**
 * Opens the store the core named: "session" | "local" | "page" | "none" | "app"
 * (`app`: the app's adapter). Throws when Web Storage cannot be opened here.
 * @param {string} name @param {unknown} app @returns {Store}
 */
export function openStore(name, app) {
  if (name === "page") return page;
  if (name === "none") return nothing;
  if (name === "app") return adapter(/** @type {Adapter} */ (app));
  const s = name === "local" ? globalThis.localStorage : globalThis.sessionStorage;
  if (!s) throw new Error("no Web Storage");
  return web(s);
}

/**
 * Calls `changed(key)` when another tab (or the adapter's other writer)
 * changes the store: `storage` events of localStorage (fired in the other
 * tabs only, after their copy was updated), or the adapter's `onChange`.
 * `key` null: the whole store may have changed (localStorage.clear()).
 * Other stores cannot change under this tab. Returns what stops it.
 * @param {string} name @param {unknown} app the app's adapter
 * @param {(key: string | null) => void} changed
 * @returns {() => void}
 */
export function watchStore(name, app, changed) {
  let on = true;
  /** @param {StorageEvent} e */
  const listener = (e) => {
    if (on && e.storageArea === globalThis.localStorage) changed(e.key);
  };
  const events = name === "local" && typeof addEventListener === "function";
  if (events) addEventListener("storage", listener);
  const onChange = /** @type {any} */ (app)?.onChange;
  if (name === "app" && typeof onChange === "function") {
    try {
      // (An adapter's listener cannot be taken back: it is silenced instead.)
      onChange.call(app, (/** @type {unknown} */ key) => on && changed(typeof key === "string" ? key : null));
    } catch {}
  }
  return () => {
    on = false;
    if (events) removeEventListener("storage", listener);
  };
}

// ---- the hand-off between tabs sharing localStorage (IndexedDB) ----
// Chromium keeps a per-tab cache of localStorage that other tabs' writes
// reach asynchronously, with no ordering against the Web Lock being handed
// over: a tab that gets the lock right after another refreshed could read
// the old session there and spend a rotated-out refresh token. IndexedDB is
// served by the browser process, transactionally: a read made after the lock
// is acquired sees what the previous holder committed.

/** @param {IDBRequest | IDBTransaction | IDBOpenDBRequest} r @returns {Promise<any>} */
function done(r) {
  return new Promise((resolve, reject) => {
    /** @type {any} */ (r).onsuccess = /** @type {any} */ (r).oncomplete = () => resolve("result" in r ? r.result : undefined);
    /** @type {any} */ (r).onerror = /** @type {any} */ (r).onabort = /** @type {any} */ (r).onblocked = () =>
      reject(r.error || new Error("IndexedDB refused"));
  });
}

/**
 * One transaction on a store of an IndexedDB database (made when missing).
 * @template T @param {string} database @param {string} name @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => Promise<T> | T} work @returns {Promise<T>}
 */
async function withStore(database, name, mode, work) {
  const r = indexedDB.open(database, 1);
  r.onupgradeneeded = () => r.result.createObjectStore(name);
  /** @type {IDBDatabase} */
  const db = await done(r);
  try {
    const tx = db.transaction(name, mode);
    const out = await work(tx.objectStore(name));
    await done(tx);
    return out;
  } finally {
    db.close();
  }
}

/** The session the last lock holder committed, if IndexedDB has one. @param {string} key */
export function handoffGet(key) {
  return withStore("oidc-pkce", "handoff", "readonly", (s) => done(s.get(key))).then(
    (v) => (typeof v === "string" ? v : undefined),
    () => undefined,
  );
}

/** Records the session stored ("" when it ended); best effort. @param {string} key @param {string} value */
export function handoffSet(key, value) {
  return withStore("oidc-pkce", "handoff", "readwrite", (s) => void s.put(value, key)).catch(() => {});
}

/**
 * This origin's secret the stored session is sealed with (base64url), kept
 * where only the library writes: IndexedDB (made when missing, the first
 * one stored by any tab is the secret). Undefined where there is no IndexedDB.
 */
export function sealSecret() {
  const made = base64url(globalThis.crypto.getRandomValues(new Uint8Array(32)));
  return withStore("oidc-pkce", "handoff", "readwrite", async (s) => {
    const found = await done(s.get("oidc-pkce:seal"));
    if (typeof found === "string") return found;
    s.put(made, "oidc-pkce:seal");
    return made;
  }).catch(() => undefined);
}

// ---- DPoP keys (RFC 9449): ES256, the private key non-extractable ----

/** @type {Map<string, CryptoKey>} */
const dpopKeys = new Map();
const subtle = () => globalThis.crypto.subtle;

export function dpopSupported() {
  return globalThis.isSecureContext !== false && !!globalThis.crypto?.subtle && typeof indexedDB !== "undefined";
}

/**
 * The key pair kept under `id` (with `create`, made when there is none:
 * the first one stored by any tab is the key); its public coordinates.
 * @param {string} id @param {boolean} create @returns {Promise<{ x: string; y: string } | null>}
 */
export async function dpopKey(id, create) {
  /** @type {CryptoKeyPair | undefined} */
  let pair = await withStore("oidc-pkce-dpop", "keys", "readonly", (s) => done(s.get(id)));
  if (!pair && create) {
    const made = /** @type {CryptoKeyPair} */ (
      await subtle().generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"])
    );
    pair = await withStore("oidc-pkce-dpop", "keys", "readwrite", async (s) => {
      const found = await done(s.get(id));
      if (!found) s.put(made, id);
      return found || made;
    });
  }
  if (!pair) return (dpopKeys.delete(id), null);
  dpopKeys.set(id, pair.privateKey);
  const { x, y } = await subtle().exportKey("jwk", pair.publicKey);
  return x && y ? { x, y } : null;
}

/** @param {string} id */
export async function dpopForget(id) {
  dpopKeys.delete(id);
  await withStore("oidc-pkce-dpop", "keys", "readwrite", (s) => void s.delete(id));
}

/** A DPoP proof: the core's signing input, signed with the key read last. @param {string} id @param {string} input */
export async function dpopProof(id, input) {
  const key = dpopKeys.get(id);
  if (!key) throw new Error("no DPoP key");
  const signature = await subtle().sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(input));
  return `${input}.${base64url(signature)}`;
}

// ---- signatures: crypto.subtle, else the fallback module ----

/** @type {Map<string, CryptoKey>} */
const verifyKeys = new Map();
/** @type {Promise<any> | null} */
let fallback = null;

function loadFallback() {
  if (!fallback) {
    fallback = import("../verifier/oidc_pkce_verifier.js")
      .then(async (m) => {
        await m.default();
        return m;
      })
      .catch((cause) => {
        fallback = null;
        const e = new Error(`the signature verifier module could not be loaded: ${cause && cause.message}`);
        e.name = "VerifierLoadError";
        throw e;
      });
  }
  return fallback;
}

/**
 * Checks a JWS signature the core chose the key and algorithm for, with the
 * WebCrypto algorithm it gave: true or false; throws when the platform
 * cannot check it (a key it cannot import), or a VerifierLoadError when no
 * verifier could be loaded at all.
 * @param {import("../oidc_pkce.js").Check} check @returns {Promise<boolean>}
 */
export function verifySignature({ alg, jwk, input, signature, params }) {
  const s = globalThis.isSecureContext !== false && globalThis.crypto?.subtle;
  if (!s || !params) return loadFallback().then((m) => m.verify(alg, jwk, input, signature));
  const bytes = base64urlDecode(signature);
  const data = new TextEncoder().encode(input);
  const id = alg + jwk;
  const key = verifyKeys.get(id);
  if (key) return s.verify(params, key, bytes, data);
  return s.importKey("jwk", JSON.parse(jwk), params, false, ["verify"]).then((made) => {
    if (verifyKeys.size >= 32) verifyKeys.clear();
    verifyKeys.set(id, made);
    return s.verify(params, made, bytes, data);
  });
}

/** RFC 7515 §2: base64url without padding. @param {ArrayBuffer | Uint8Array} bytes */
function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** @param {string} text */
function base64urlDecode(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  // (A plain loop: Uint8Array.from with a mapping function took a sixth of a
  // verification's time on the main thread.)
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

// ---- popups and hidden iframes ----

const WAITING = "__oidcPkceWaiting";
/** The popup of this page's login under way: one at a time, each with a window name of its own. @type {Window | null} */
let popupOpen = null;

/**
 * A popup window; null when the browser blocked it; undefined when this
 * page's popup login is still open (it is brought to the front instead).
 * @returns {Window | null | undefined}
 */
export function openPopup() {
  if (popupOpen && !popupOpen.closed) {
    try {
      popupOpen.focus();
    } catch {}
    return undefined;
  }
  const w = 500;
  const h = 650;
  const left = Math.max(0, (screen.width - w) / 2);
  const top = Math.max(0, (screen.height - h) / 2);
  const name = "oidc-pkce-" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  try {
    popupOpen = window.open("about:blank", name, `popup,width=${w},height=${h},left=${left},top=${top}`) || null;
  } catch {
    popupOpen = null;
  }
  return popupOpen;
}

/** A hidden iframe, or null where there is no document (a worker). */
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

/** @param {Window | HTMLIFrameElement} target @param {string} url */
export function go(target, url) {
  if (target instanceof HTMLIFrameElement) target.src = url;
  else target.location.replace(url);
}

/** @param {Window | HTMLIFrameElement} target */
export function dispose(target) {
  if (target === popupOpen) popupOpen = null;
  try {
    if (target instanceof HTMLIFrameElement) target.remove();
    else target.close();
  } catch {}
}

/**
 * Resolves { url } once the window shows a URL that `arrived(url)` (the
 * core's judgement) takes for the callback, or the redirect page hands one
 * over; { closed: true } if the user closed it; { timeout: true } after timeoutMs.
 * @param {Window | HTMLIFrameElement} target
 * @param {(url: string) => boolean} arrived
 * @param {number} timeoutMs
 * @returns {Promise<{ url?: string; closed?: true; timeout?: true }>}
 */
export function waitForRedirect(target, arrived, timeoutMs) {
  const win = () => (target instanceof HTMLIFrameElement ? target.contentWindow : target);
  /** @type {any} */
  const g = globalThis;
  g[WAITING] = (g[WAITING] || 0) + 1;
  return new Promise((resolve) => {
    const started = Date.now();
    /** @type {ReturnType<typeof setInterval>} */
    let timer;
    let finished = false;
    /** @param {MessageEvent} e */
    const onMessage = (e) => {
      const d = e.data;
      if (e.origin === location.origin && e.source === win() && d && d.type === "oidc-pkce:callback" && typeof d.url === "string") {
        finish({ url: d.url });
      }
    };
    /** @param {{ url?: string; closed?: true; timeout?: true }} r */
    const finish = (r) => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      removeEventListener("message", onMessage);
      g[WAITING] -= 1;
      resolve(r);
    };
    addEventListener("message", onMessage);
    timer = setInterval(() => {
      const w = win();
      if (!w || w.closed) return finish({ closed: true });
      let href = null;
      try {
        href = w.location.href;
      } catch {}
      if (href && arrived(href)) return finish({ url: href });
      if (Date.now() - started > timeoutMs) finish({ timeout: true });
    }, 50);
  });
}

/**
 * In a popup or iframe that this library is waiting on (same origin), hands
 * the callback URL to the waiting page and reports true.
 * @param {string} url
 */
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

/**
 * Takes the Web Lock `name` (shared by the origin's tabs): resolves, once
 * held, to what releases it. Where the Web Locks API is missing or refuses,
 * at once (the page's own operations are ordered by the core).
 * @param {string} name @returns {Promise<() => void>}
 */
export function lock(name) {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve(() => {});
  return new Promise((resolve) => {
    locks.request(name, () => new Promise((release) => resolve(() => release(undefined)))).catch(() => resolve(() => {}));
  });
}

/**
 * Sends the browser to `url`: the app's openUrl (awaited: what it resolves
 * to), or location.assign. What happened, as the core reads it: opened
 * (and what openUrl resolved to), or refused (openUrl threw, its promise was
 * rejected, no window, the browser refused).
 * @param {string} url @param {unknown} openUrl
 * @returns {Promise<{ opened: unknown } | { refused: "threw" | "rejected" | "noWindow" | "navigate"; why?: string }>}
 */
export async function navigate(url, openUrl) {
  /** @param {unknown} e */
  const words = (e) => (typeof e === "string" ? e : String((e instanceof Error && e.message) || "unknown error"));
  if (typeof openUrl === "function") {
    let opened;
    try {
      opened = openUrl(url);
    } catch (e) {
      return { refused: "threw", why: words(e) };
    }
    return Promise.resolve(opened).then((v) => ({ opened: v }), (e) => ({ refused: "rejected", why: words(e) }));
  }
  if (typeof location === "undefined") return { refused: "noWindow" };
  try {
    location.assign(url);
    return { opened: undefined };
  } catch {
    return { refused: "navigate" };
  }
}
