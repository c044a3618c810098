// oidc-pkce/server: the same verified core behind the app's backend, as a
// confidential client (RFC 10017: a backend for frontend, or a
// token-mediating backend). `createAuthServer(options)` gives a handler
// `(request: Request) => Promise<Response | undefined>` for its routes under
// a prefix (`/auth` by default); `toNodeHandler` adapts it to node:http and
// Express. This driver awaits the I/O (fetch, the session store, WebCrypto)
// between the core's synchronous steps (./oidc_pkce_server.js, the module
// built from server-wasm/) and branches only on the core's answers.

import initCore, { ServerCore } from "./oidc_pkce_server.js";
import { memoryStore } from "./stores.js";

export { memoryStore, redisStore } from "./stores.js";

/** @type {Promise<unknown> | null} */
let loading = null;

/** The module, once: read from disk under Node, fetched elsewhere (Deno, Workers). */
function load() {
  loading ??= (async () => {
    const url = new URL("oidc_pkce_server_bg.wasm", import.meta.url);
    if (url.protocol === "file:") {
      // @ts-ignore: Node's module, read only there
      const { readFile } = await import("node:fs/promises");
      return initCore({ module_or_path: await readFile(url) });
    }
    return initCore({ module_or_path: fetch(url) });
  })();
  return loading;
}

const subtle = () => globalThis.crypto.subtle;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
// (btoa and atob: every runtime has them; Buffer is Node's.)
const b64u = (/** @type {Uint8Array} */ bytes) =>
  btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join("")).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const fromB64u = (/** @type {string} */ text) =>
  Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

/**
 * Sends a request the core built: its method, body, headers, timeout and
 * redirect policy, and a DPoP proof when given; the answer as facts (the
 * core judges them).
 * @param {any} req @param {typeof fetch} transport @param {string} [proof]
 */
async function http(req, transport, proof) {
  const headers = new Headers({ Accept: "application/json" });
  if (req.contentType) headers.set("Content-Type", req.contentType);
  if (req.authorization) headers.set("Authorization", req.authorization);
  if (proof) headers.set("DPoP", proof);
  try {
    const response = await transport(req.url, {
      method: req.method,
      headers,
      body: req.body,
      redirect: req.redirect,
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: text.length > req.maxBytes ? null : text,
      redirected: response.redirected,
      cacheControl: response.headers.get("cache-control"),
      dpopNonce: response.headers.get("dpop-nonce"),
      wwwAuthenticate: response.headers.get("www-authenticate"),
    };
  } catch (e) {
    const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
    return { failure: String((e instanceof Error && e.message) || e), timedOut };
  }
}

/** Checks a signature the core chose the key and algorithm for (WebCrypto). @param {any} check */
async function verify(check) {
  try {
    const key = await subtle().importKey("jwk", JSON.parse(check.jwk), check.params, false, ["verify"]);
    const [input, signature] = [encoder.encode(check.input), fromB64u(check.signature)];
    return { valid: await subtle().verify(check.params, key, signature, input) };
  } catch (e) {
    return { valid: false, why: String((e instanceof Error && e.message) || e) };
  }
}

/**
 * The sessions' encryption at rest: AES-256-GCM with a key derived from the
 * server's `secret` (HKDF-SHA-256), a fresh IV per write. A value that does
 * not decrypt (another key, tampering) is no session.
 * @param {string} secret
 */
async function sealer(secret) {
  const raw = await subtle().importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  const key = await subtle().deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode("oidc-pkce/server"), info: encoder.encode("sessions") },
    raw,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
  return {
    /** @param {string} text */
    async seal(text) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv }, key, encoder.encode(text)));
      return `${b64u(iv)}.${b64u(sealed)}`;
    },
    /** @param {string | null} value */
    async open(value) {
      if (!value) return null;
      const [iv, data] = value.split(".");
      try {
        return decoder.decode(await subtle().decrypt({ name: "AES-GCM", iv: fromB64u(iv) }, key, fromB64u(data)));
      } catch {
        return null;
      }
    },
  };
}

/**
 * A private key that signs what the core writes, with the WebCrypto
 * algorithm the core names: the client's for `private_key_jwt`, a
 * session's for DPoP (as a private JWK).
 * @param {any} jwk @param {any} params
 */
async function signer(jwk, params) {
  const key = await subtle().importKey("jwk", jwk, params, false, ["sign"]);
  return async (/** @type {string} */ input) => `${input}.${b64u(new Uint8Array(await subtle().sign(params, key, encoder.encode(input))))}`;
}

/** A login's DPoP key (RFC 9449), of the core's algorithm: made here, kept (sealed) with the login and then the session. @param {any} params */
async function newProofKey(params) {
  const pair = await subtle().generateKey(params, true, ["sign"]);
  return JSON.stringify(await subtle().exportKey("jwk", pair.privateKey));
}

/** A JSON answer with the stable error fields. @param {number} status @param {unknown} body @param {Headers} [headers] */
function json(status, body, headers = new Headers()) {
  headers.set("Content-Type", "application/json");
  headers.set("Cache-Control", "no-store");
  return new Response(JSON.stringify(body), { status, headers });
}

/** An AuthError as the route's answer. @param {any} e */
function failure(e) {
  if (!(e instanceof Error) || e.name !== "AuthError") throw e;
  const err = /** @type {any} */ (e);
  return json(err.status ?? 500, { error: err.code, reason: err.reason, error_description: err.message });
}

/**
 * @param {any} options the server's options: the provider (`issuer` or
 *   `domain`), `clientId`, `clientSecret` (or `clientAuthMethod:
 *   "private_key_jwt"` with `privateKey`, a private JWK), `redirectUri` (this
 *   backend's `{prefix}/callback`), `postLogoutRedirectUri`, `appOrigin`,
 *   `mode` ("bff" or "token-mediating"), `apis` ([{ url }]),
 *   `prefix` ("/auth"), `secret` (encrypts the sessions at rest; required with
 *   a shared store), `store` (memoryStore() by default, or redisStore(client)),
 *   `fetch`, `idleTimeout`, `absoluteTimeout` (seconds).
 */
export async function createAuthServer(options) {
  await load();
  const { store = memoryStore(), secret, privateKey, fetch: transport = fetch, ...rest } = options ?? {};
  const prefix = (options?.prefix ?? "/auth").replace(/\/$/, "");
  const core = new ServerCore(JSON.stringify({ ...rest, privateKey: privateKey && { alg: privateKey.alg, kid: privateKey.kid } }));
  const setup = core.setup();
  ServerCore.checkSecret(secret === undefined ? undefined : typeof secret === "string" ? secret.length : 0, Boolean(store.local));
  const box = await sealer(secret ?? b64u(crypto.getRandomValues(new Uint8Array(32))));
  const sign = privateKey && setup.assertionAlgorithm ? await signer(privateKey, setup.assertionAlgorithm) : null;
  /** A DPoP proof: the core's signing input signed with a key the core handed back (a private JWK). @param {string} jwk @param {string} input */
  const signProof = async (jwk, input) => (await signer(JSON.parse(jwk), setup.proofAlgorithm))(input);

  /** The signed assertion of the next request (`private_key_jwt`). */
  const assertion = async () => {
    const input = core.assertionInput();
    return input && sign ? sign(input) : undefined;
  };
  /** The store, whose failure is the route's 503. @template T @param {() => Promise<T>} op */
  const stored = async (op) => {
    try {
      return await op();
    } catch (e) {
      if (e instanceof Error && e.name === "AuthError") throw e;
      throw ServerCore.fail("store", String((e instanceof Error && e.message) || e));
    }
  };
  /**
   * A token request, with a DPoP proof by `key` when there is one, once
   * more when the core says the provider asked for its nonce (built anew:
   * a client assertion is used once).
   * @param {() => Promise<any>} build @param {string | undefined} key
   */
  const send = async (build, key) => {
    for (let attempt = 0; ; attempt++) {
      const req = await build();
      const answer = await http(req, transport, key && (await signProof(key, core.tokenProof(key, req.url))));
      if (!key || !core.nonceRetry(req.url, answer, attempt)) return answer;
    }
  };

  /**
   * A session written back after a read: only if it is still there (a
   * logout meanwhile, here or on another instance, stays a logout).
   * @param {string} key @param {string} text
   */
  const writeBack = async (key, text) => {
    const sealed = await box.seal(text);
    const ttl = core.storeTtl(text);
    return stored(async () => (store.replace ? store.replace(key, sealed, ttl) : (await store.set(key, sealed, ttl), true)));
  };

  /** The provider's endpoints and key set, fetched when the core asks. @param {boolean} [again] */
  const ready = async (again = false) => {
    const d = core.discoveryRequest();
    if (d) core.discovered(await http(d, transport));
    const k = core.keySetRequest(again);
    if (k) core.keySet(await http(k, transport));
  };

  /** The request's session: its id, key and stored text (none: signed out). @param {Request} request */
  const sessionOf = async (request) => {
    const id = ServerCore.sessionId(request.headers.get("cookie") ?? undefined);
    if (!id) return null;
    const key = ServerCore.sessionKey(id);
    const text = await box.open(await stored(() => store.get(key)));
    if (!text) return null;
    try {
      const used = core.useSession(text);
      if (used.touched && !(await writeBack(key, used.touched))) return null;
      return { id, key, text: used.touched ?? text };
    } catch (e) {
      await stored(() => store.delete(key));
      throw e;
    }
  };

  /** The promises of the refreshes the core started, by flight id (the core says who starts and who joins). @type {Map<number, Promise<string>>} */
  const flights = new Map();
  /** The session's text with a usable access token (refreshed as the core plans). @param {{ key: string; text: string }} s */
  const withToken = async (s) => {
    if (core.accessPlan(s.text) === "use") return s.text;
    const flight = core.refreshFlight(s.key);
    const joined = flights.get(flight.id);
    if (!flight.start && joined) return joined;
    const promise = (async () => {
      const lock = `lock:${s.key}`;
      for (let i = 0; !(await stored(() => store.setIfAbsent(lock, "1", 15_000))); i++) {
        if (i > 150) throw ServerCore.fail("store", "another instance holds this session's refresh");
        await new Promise((r) => setTimeout(r, 100));
      }
      try {
        // Another instance may have refreshed meanwhile, or ended the session: the session as it is now.
        const now = await box.open(await stored(() => store.get(s.key)));
        if (!now) throw ServerCore.fail("signedOut", "");
        if (core.accessPlan(now) === "use") return now;
        const answer = await send(async () => core.refreshRequest(now, await assertion()), core.sessionKeyJwk(now));
        let next;
        try {
          next = core.refreshed(now, answer);
        } catch (e) {
          // The grant is gone: so is the session. (An outage keeps it for the next call.)
          if (ServerCore.endsSession(e)) await stored(() => store.delete(s.key));
          throw e;
        }
        if (!(await writeBack(s.key, next))) {
          // Logged out while the refresh was under way: the new refresh token is revoked, nothing comes back.
          const plan = core.logout(next, await assertion());
          if (plan.revoke) await http(plan.revoke, transport);
          throw ServerCore.fail("signedOut", "");
        }
        return next;
      } finally {
        await store.delete(lock).catch(() => {});
      }
    })().finally(() => {
      core.flightLanded(flight.id);
      flights.delete(flight.id);
    });
    flights.set(flight.id, promise);
    return promise;
  };

  /** Refuses what does not come from the app's pages. @param {Request} request */
  const csrf = (request) =>
    core.checkCsrf(
      request.headers.get(setup.csrfHeader) ?? undefined,
      request.headers.get("origin") ?? undefined,
      request.headers.get("sec-fetch-site") ?? undefined,
    );

  const routes = {
    /** GET: the browser goes to the provider. @param {Request} request */
    async login(request) {
      await ready();
      const url = new URL(request.url);
      const login = core.login(
        url.searchParams.get("returnTo") ?? undefined,
        url.searchParams.get("prompt") ?? undefined,
        setup.dpop ? await newProofKey(setup.proofAlgorithm) : undefined,
      );
      const info = core.loginInfo(login);
      const to = info.url ?? core.pushed(await http(core.pushRequest(login, await assertion()), transport));
      login.free();
      // Sealed like a session: it holds the PKCE verifier (and the DPoP key).
      await stored(async () => store.set(info.key, await box.seal(info.stored), 600_000));
      const headers = new Headers({ Location: to, "Cache-Control": "no-store" });
      headers.append("Set-Cookie", info.cookie);
      return new Response(null, { status: 302, headers });
    },

    /** GET: the provider's redirect back: a session, then the app; refused, back to the app with `#auth_error=`. @param {Request} request */
    async callback(request) {
      try {
        return await routes.establish(request);
      } catch (e) {
        if (!(e instanceof Error) || e.name !== "AuthError") throw e;
        const headers = new Headers({ Location: core.callbackFailed(e), "Cache-Control": "no-store" });
        headers.append("Set-Cookie", ServerCore.expiredCookie("login"));
        return new Response(null, { status: 302, headers });
      }
    },

    /** The callback's steps: the code exchange, the ID token, the new session. @param {Request} request */
    async establish(request) {
      await ready();
      const key = core.callbackKey(request.url);
      // The pending login works once: taken out before anything else.
      const pending = await box.open(await stored(() => store.get(key)));
      await stored(() => store.delete(key));
      const x = core.callback(request.url, pending ?? undefined, request.headers.get("cookie") ?? undefined);
      try {
        core.exchanged(x, await send(async () => core.exchangeRequest(x, await assertion()), core.exchangeKey(x)));
        let check;
        try {
          check = core.idTokenCheck(x);
        } catch (e) {
          if (!core.keysAgain(e)) throw e;
          await ready(true);
          check = core.idTokenCheck(x);
        }
        const v = await verify(check);
        const s = core.established(x, v.valid, v.why);
        // A new id at every login (no session fixation); the old session ends.
        const old = ServerCore.sessionId(request.headers.get("cookie") ?? undefined);
        if (old) await stored(() => store.delete(ServerCore.sessionKey(old)));
        const id = ServerCore.newSessionId();
        const sessionKey = ServerCore.sessionKey(id);
        const sealed = await box.seal(s.stored);
        await stored(() => store.set(sessionKey, sealed, s.ttlMs));
        for (const index of s.index) await stored(() => store.addToIndex(index, sessionKey, setup.absoluteMs));
        const headers = new Headers({ Location: new URL(s.returnTo, options.appOrigin).href, "Cache-Control": "no-store" });
        headers.append("Set-Cookie", core.sessionCookie(id, s.maxAge));
        headers.append("Set-Cookie", ServerCore.expiredCookie("login"));
        return new Response(null, { status: 302, headers });
      } finally {
        x.free();
      }
    },

    /** GET (CSRF header): what the page may know. @param {Request} request */
    async session(request) {
      csrf(request);
      let s = null;
      try {
        s = await sessionOf(request);
      } catch (e) {
        // A session that ended (idle, too old, unreadable) is "signed out"; the store's failure is not.
        if (!ServerCore.endsSession(e)) throw e;
      }
      return json(200, core.info(s?.text));
    },

    /** POST (CSRF header): the session ends here, the refresh token is revoked, and the page is told where to go. @param {Request} request */
    async logout(request) {
      csrf(request);
      await ready();
      let s = null;
      try {
        s = await sessionOf(request);
      } catch (e) {
        // (The store unreachable: 503, the session could not be ended here.)
        if (!ServerCore.endsSession(e)) throw e;
      }
      if (s) await stored(() => store.delete(s.key));
      const plan = core.logout(s?.text, await assertion());
      if (plan.revoke) await http(plan.revoke, transport);
      const headers = new Headers();
      headers.append("Set-Cookie", ServerCore.expiredCookie("session"));
      return json(200, { url: plan.url }, headers);
    },

    /** POST (CSRF header, token-mediating mode): a short-lived access token. @param {Request} request */
    async token(request) {
      csrf(request);
      await ready();
      const s = await sessionOf(request);
      if (!s) throw ServerCore.fail("signedOut", "");
      return json(200, core.mediatedToken(await withToken(s)));
    },

    /** Any method (CSRF header, BFF mode): the call, with the session's token, to a configured API. @param {Request} request */
    async api(request) {
      csrf(request);
      const target = new URL(request.url).searchParams.get("url") ?? "";
      core.proxyTarget(target);
      await ready();
      const s = await sessionOf(request);
      if (!s) throw ServerCore.fail("signedOut", "");
      const text = await withToken(s);
      const headers = new Headers();
      request.headers.forEach((value, name) => ServerCore.forwardedHeader(name) && headers.set(name, value));
      const body = ["GET", "HEAD"].includes(request.method) ? undefined : await request.arrayBuffer();
      /** @type {Response} */
      let upstream;
      for (let attempt = 0; ; attempt++) {
        // The token (and with DPoP, a proof for this call, signed with the session's key).
        const auth = core.authorization(text, request.method, target);
        headers.set("Authorization", auth.authorization);
        if (auth.proof) headers.set("DPoP", await signProof(auth.key, auth.proof));
        try {
          upstream = await transport(target, {
            method: request.method,
            headers,
            body,
            redirect: "manual",
            signal: AbortSignal.timeout(setup.proxyTimeoutMs),
          });
        } catch (e) {
          const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
          throw ServerCore.fail(timedOut ? "upstreamTimeout" : "upstream", target);
        }
        const asked = {
          status: upstream.status,
          body: "",
          dpopNonce: upstream.headers.get("dpop-nonce"),
          wwwAuthenticate: upstream.headers.get("www-authenticate"),
        };
        if (!auth.proof || !core.nonceRetry(target, asked, attempt)) break;
        await upstream.body?.cancel().catch(() => {});
      }
      const answer = await readCapped(upstream, setup.proxyMaxBytes);
      if (answer === null) throw ServerCore.fail("upstream", `${target} answered more than ${setup.proxyMaxBytes} bytes`);
      const out = new Headers();
      upstream.headers.forEach((value, name) => ServerCore.returnedHeader(name) && out.set(name, value));
      return new Response(answer, { status: upstream.status, headers: out });
    },

    /** POST from the provider: OpenID Connect Back-Channel Logout. @param {Request} request */
    async "backchannel-logout"(request) {
      await ready();
      const body = await request.text();
      let checked;
      try {
        checked = core.logoutTokenCheck(body);
      } catch (e) {
        if (!core.keysAgain(e)) throw e;
        await ready(true);
        checked = core.logoutTokenCheck(body);
      }
      const v = await verify(checked.check);
      const event = core.logoutEvent(checked.token, v.valid, v.why);
      checked.token.free();
      ServerCore.checkReplay(!(await stored(() => store.setIfAbsent(event.jti, "1", event.ttlMs))));
      for (const index of event.keys) {
        for (const session of await stored(() => store.members(index))) await stored(() => store.delete(session));
        await stored(() => store.delete(index));
      }
      return new Response(null, { status: 200, headers: { "Cache-Control": "no-store" } });
    },
  };
  /** Which methods each route answers. @type {Record<string, string[] | null>} */
  const methods = { login: ["GET"], callback: ["GET"], session: ["GET"], logout: ["POST"], token: ["POST"], api: null, "backchannel-logout": ["POST"] };

  return {
    prefix,
    mode: setup.mode,
    /**
     * Answers the request if it is one of this server's routes (else undefined).
     * @param {Request} request
     * @returns {Promise<Response | undefined>}
     */
    async handler(request) {
      const path = new URL(request.url).pathname;
      if (!path.startsWith(`${prefix}/`)) return undefined;
      const name = path.slice(prefix.length + 1);
      const route = Object.hasOwn(methods, name) ? /** @type {(r: Request) => Promise<Response>} */ (/** @type {any} */ (routes)[name]) : undefined;
      if (!route) return undefined;
      const allowed = methods[name];
      if (allowed && !allowed.includes(request.method)) return json(405, { error: "method_not_allowed" }, new Headers({ Allow: allowed.join(", ") }));
      try {
        return await route(request);
      } catch (e) {
        return failure(e);
      }
    },
  };
}

/** The body, or null past `cap` bytes (read no further). @param {Response} response @param {number} cap */
async function readCapped(response, cap) {
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * The handler for node:http's `(req, res)` and Express's `(req, res, next)`:
 * a request of the server's routes is answered; any other goes to `next`
 * (or is 404 without one). `origin`: the app's origin, for the requests' URLs.
 * @param {{ handler(r: Request): Promise<Response | undefined> }} server
 * @param {string} origin
 */
export function toNodeHandler(server, origin) {
  return async (/** @type {any} */ req, /** @type {any} */ res, /** @type {any} */ next) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else if (value !== undefined) headers.set(name, String(value));
    }
    const method = req.method ?? "GET";
    const body = ["GET", "HEAD"].includes(method) ? undefined : /** @type {any} */ (req);
    // (`duplex`: a streamed body, which Node's Request wants named.)
    // (Express mounted under a path, `app.use("/auth", ...)`, strips it from `url`; `originalUrl` keeps it.)
    const request = new Request(new URL(req.originalUrl ?? req.url, origin), /** @type {RequestInit} */ (/** @type {any} */ ({ method, headers, body, duplex: "half" })));
    const response = await server.handler(request);
    if (!response) return next ? next() : (res.writeHead(404).end());
    /** @type {Record<string, string | string[]>} */
    const out = {};
    response.headers.forEach((value, name) => name !== "set-cookie" && (out[name] = value));
    const cookies = response.headers.getSetCookie();
    if (cookies.length) out["set-cookie"] = cookies;
    res.writeHead(response.status, out);
    res.end(new Uint8Array(await response.arrayBuffer()));
  };
}
