// oidc-pkce/server (issue 33): the backend as a confidential client, in BFF
// and token-mediating modes, in Chromium against oidc-provider (a client
// with a secret, back-channel logout) and an API of another origin; two
// instances sharing a real redis-server. What a user does, and what an
// attacker tries: CSRF, forged cookies and Logout Tokens, a mixed-up
// callback, an API nobody configured, an API that answers too much or too late.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { build } from "vite";
import { startProvider } from "../../scripts/provider.mjs";
import { createAuthServer, memoryStore, redisStore } from "../../pkg/server/index.js";
import { KEYS, keepLocal, launchChromium, signJwt } from "./harness.mjs";
import { SECRET, backendOptions, connectRedis, freePort, startApp, startRedis, startWorldOfBackends } from "./server-harness.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const { d: _d, ...ecPublic } = KEYS.ec;
const { d: _rd, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rsaPublic } = KEYS.rsaRotated;
/** The other client authentications (RFC 6749 §2.3.1, OIDC Core §9 / RFC 7523), and PAR the provider requires (RFC 9126). */
const AUTH_METHODS = {
  post: { client: { token_endpoint_auth_method: "client_secret_post" }, server: { clientAuthMethod: "client_secret_post" } },
  "jwt-es256": {
    client: { token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [ecPublic] } },
    server: { clientAuthMethod: "private_key_jwt", clientSecret: undefined, privateKey: KEYS.ec },
  },
  "jwt-rs256-par": {
    client: { token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [rsaPublic] }, require_pushed_authorization_requests: true },
    server: { clientAuthMethod: "private_key_jwt", clientSecret: undefined, privateKey: KEYS.rsaRotated, pushedAuthorizationRequests: true },
  },
};
const EVENT = "http://schemas.openid.net/event/backchannel-logout";
let browser;
let world;
const ports = {};

before(async () => {
  for (const name of ["bff", "tm", "shared", "dpop", "react", "vue", ...Object.keys(AUTH_METHODS)]) ports[name] = await freePort();
  const clientMetadata = Object.fromEntries(Object.entries(AUTH_METHODS).map(([name, m]) => [ports[name], m.client]));
  world = await startWorldOfBackends({ appPorts: Object.values(ports), dpopPorts: [ports.dpop], clientMetadata, ttl: { AccessToken: 4 } });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await world?.close();
});

/** createAuthServer's options for the app on `port`. */
const serverOptions = (port, extra = {}) => backendOptions(world, port, extra);

async function newPage(origin) {
  const context = await browser.newContext();
  await keepLocal(context);
  const page = await context.newPage();
  await page.goto(`${origin}/app.html`);
  await page.waitForFunction(() => window.oidc);
  return { page, context };
}

/** The login as a user does it: the backend's route, the provider's pages, back to the app. */
async function logIn(page, origin, login = "alice") {
  await page.goto(`${origin}/auth/login?returnTo=${encodeURIComponent("/app.html?back=1")}`);
  // The provider's pages as they come: login, consent, or (a provider session) none.
  for (let step = 0; step < 4; step++) {
    await page.waitForFunction(() => window.oidc || document.querySelector("button[type=submit]"));
    if (new URL(page.url()).origin === origin) return page.waitForFunction(() => window.oidc);
    if (await page.$("input[name=login]")) {
      await page.fill("input[name=login]", login);
      await page.fill("input[name=password]", "any password");
    }
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  }
  throw new Error(`no way back to the app from ${page.url()}`);
}

const client = (page) => page.evaluate(async () => (window.auth = await window.oidc.createAuthClient({ backend: "/auth" })) && null);

describe("BFF mode (memory store)", () => {
  let server;
  let app;
  let origin;
  before(async () => {
    server = await createAuthServer(serverOptions(ports.bff, { apiTimeoutMs: 1000 }));
    app = await startApp(ports.bff, () => server);
    origin = app.origin;
  });
  after(() => app?.close());

  it("logs in: the browser holds one __Host- cookie (HttpOnly, Secure, SameSite=Lax) and no token; the user and the API through the proxy", async () => {
    const { page, context } = await newPage(origin);
    await client(page);
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), false);
    await logIn(page, origin);
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, "/app.html?back=1", "back where the login began");
    await client(page);
    const r = await page.evaluate(async (api) => {
      const response = await window.auth.fetchWithAuth(`${api}/orders?page=2`, { method: "POST", body: "hello", headers: { "Content-Type": "text/plain" } });
      return {
        user: window.auth.getUser()?.sub,
        mode: window.auth.mode,
        tokens: window.auth.getTokens() ?? null,
        status: response.status,
        body: await response.json(),
        setCookie: response.headers.get("set-cookie"),
        storage: [...Object.keys(localStorage), ...Object.keys(sessionStorage)],
        token: await window.errorOf(() => window.auth.getAccessToken()),
      };
    }, world.api);
    assert.deepEqual([r.user, r.mode, r.tokens, r.status], ["alice", "bff", null, 200]);
    assert.deepEqual(r.body, { sub: "alice", method: "POST", path: "/orders", body: "hello", cookie: null, csrf: null, scheme: "Bearer", jkt: null }, "no cookie or CSRF header reaches the API");
    assert.equal(r.setCookie, null, "the API's cookies stay with the backend");
    assert.deepEqual(r.storage, [], "nothing kept in the page");
    assert.equal(r.token.code, "invalid_config", "no token in BFF mode");
    const cookies = (await context.cookies(origin)).filter((c) => c.name.startsWith("__Host-"));
    assert.deepEqual(cookies.map((c) => [c.name, c.httpOnly, c.secure, c.sameSite, c.path, c.domain]), [["__Host-oidc-pkce", true, true, "Lax", "/", "localhost"]]);
    await context.close();
  });

  it("refreshes an expired access token once for concurrent calls (the provider's refresh token rotates)", async () => {
    const { page, context } = await newPage(origin);
    await logIn(page, origin);
    await client(page);
    const before = world.counts.refresh;
    await new Promise((r) => setTimeout(r, 4500)); // the access token's 4 s
    const statuses = await page.evaluate(
      (api) => Promise.all([1, 2, 3].map(async () => (await window.auth.fetchWithAuth(`${api}/x`)).status)),
      world.api,
    );
    assert.deepEqual(statuses, [200, 200, 200]);
    assert.equal(world.counts.refresh - before, 1, "one refresh for three calls");
    await context.close();
  });

  it("logout: the session ends here and at the provider, the refresh token is revoked, the old cookie gives nothing", async () => {
    const { page, context } = await newPage(origin);
    await logIn(page, origin);
    await client(page);
    const cookie = (await context.cookies(origin)).find((c) => c.name === "__Host-oidc-pkce");
    const revoked = world.counts.revoked;
    await Promise.all([page.waitForURL((u) => u.origin !== origin), page.evaluate(() => window.auth.logout())]);
    // Revoked by the backend before the browser left for the provider.
    assert.equal(world.counts.revoked - revoked, 1, "the refresh token was revoked");
    // oidc-provider asks to confirm, then returns to the app.
    await Promise.all([page.waitForURL((u) => u.origin === origin), page.click("button[autofocus], button[type=submit]")]);
    await page.waitForFunction(() => window.oidc);
    await client(page);
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), false);
    // The old cookie, replayed.
    const replay = await fetch(`${origin}/auth/session`, { headers: { cookie: `__Host-oidc-pkce=${cookie.value}`, "x-csrf": "1" } });
    assert.equal((await replay.json()).isAuthenticated, false);
    await context.close();
  });

  it("a new session id at every login: a cookie planted before the login is not the session after it", async () => {
    const { page, context } = await newPage(origin);
    const planted = "A".repeat(43);
    // (A script of the page could set it; a sibling site cannot set a __Host- cookie at all.)
    await page.evaluate((v) => (document.cookie = `__Host-oidc-pkce=${v}; Path=/; Secure; SameSite=Lax`), planted);
    assert.equal((await context.cookies(origin)).find((c) => c.name === "__Host-oidc-pkce")?.value, planted, "planted");
    await logIn(page, origin);
    const now = (await context.cookies(origin)).find((c) => c.name === "__Host-oidc-pkce");
    assert.notEqual(now.value, planted);
    const withPlanted = await fetch(`${origin}/auth/session`, { headers: { cookie: `__Host-oidc-pkce=${planted}`, "x-csrf": "1" } });
    assert.equal((await withPlanted.json()).isAuthenticated, false);
    await context.close();
  });

  it("CSRF: no header, another origin, a cross-site form: refused, nothing changes", async () => {
    const { page, context } = await newPage(origin);
    await logIn(page, origin);
    const cookie = (await context.cookies(origin)).find((c) => c.name === "__Host-oidc-pkce");
    const headers = { cookie: `__Host-oidc-pkce=${cookie.value}` };
    const target = `${origin}/auth/api?url=${encodeURIComponent(`${world.api}/x`)}`;
    for (const [what, h] of [
      ["no header", {}],
      ["another origin", { "x-csrf": "1", origin: "https://evil.example" }],
      ["a cross-site fetch", { "x-csrf": "1", "sec-fetch-site": "cross-site" }],
    ]) {
      const r = await fetch(target, { headers: { ...headers, ...h } });
      assert.equal(r.status, 403, what);
      assert.equal((await r.json()).error, "csrf_refused", what);
      const out = await fetch(`${origin}/auth/logout`, { method: "POST", headers: { ...headers, ...h } });
      assert.equal(out.status, 403, `logout: ${what}`);
    }
    // A form on another site posting to the logout route: no header, and SameSite=Lax keeps the cookie home.
    const evil = await page.context().newPage();
    await evil.route("http://evil.localhost/", (r) => r.fulfill({ contentType: "text/html", body: `<form method=post action="${origin}/auth/logout"><button>go</button></form>` }));
    await evil.goto("http://evil.localhost/");
    const [response] = await Promise.all([evil.waitForResponse(`${origin}/auth/logout`), evil.click("button")]);
    assert.equal(response.status(), 403);
    const still = await fetch(`${origin}/auth/session`, { headers: { ...headers, "x-csrf": "1" } });
    assert.equal((await still.json()).isAuthenticated, true, "still signed in");
    await context.close();
  });

  it("bad input gets a clear refusal: a forged or oversized cookie, a callback of another browser or issuer, an API nobody configured, a huge or slow API", async () => {
    const { page, context } = await newPage(origin);
    await logIn(page, origin);
    const cookie = (await context.cookies(origin)).find((c) => c.name === "__Host-oidc-pkce");
    const get = (path, cookieValue = cookie.value, extra = {}) =>
      fetch(`${origin}${path}`, { headers: { cookie: `__Host-oidc-pkce=${cookieValue}`, "x-csrf": "1", ...extra } });
    const forged = await get("/auth/session", "not-a-cookie-this-backend-made");
    assert.deepEqual([forged.status, (await forged.json()).error], [400, "invalid_session_cookie"]);
    const unknown = await get("/auth/session", "A".repeat(43));
    assert.equal((await unknown.json()).isAuthenticated, false);
    const big = await get("/auth/session", cookie.value, { cookie: `__Host-oidc-pkce=${cookie.value}; pad=${"x".repeat(9000)}` });
    assert.equal(big.status, 400);
    // An API nobody configured, or a trick to leave the configured one.
    // (The configured API is the whole origin of world.api; the core's host tests cover paths.)
    for (const url of ["https://evil.example/steal", `${world.api.replace("127.0.0.1", "localhost")}/x`, `${world.api}@evil.example/`, "http://127.0.0.1:1/"]) {
      const r = await get(`/auth/api?url=${encodeURIComponent(url)}`);
      assert.deepEqual([r.status, (await r.json()).error], [404, "api_not_configured"], url);
    }
    const huge = await get(`/auth/api?url=${encodeURIComponent(`${world.api}/huge`)}`);
    assert.deepEqual([huge.status, (await huge.json()).error], [502, "upstream_failed"]);
    const slow = await get(`/auth/api?url=${encodeURIComponent(`${world.api}/slow`)}`);
    assert.deepEqual([slow.status, (await slow.json()).error], [504, "timeout"]);
    // A callback this browser did not start; one with another issuer (RFC 9207).
    const start = await fetch(`${origin}/auth/login`, { redirect: "manual" });
    const state = new URL(start.headers.get("location")).searchParams.get("state");
    const callback = (iss) => `${origin}/auth/callback?code=x&state=${state}&iss=${encodeURIComponent(iss)}`;
    // Refused: back to the app, the code in the fragment (the page's client throws it).
    const refused = (r) => [r.status, new URLSearchParams(new URL(r.headers.get("location")).hash.slice(1)).get("auth_error")];
    const other = await fetch(callback(world.op.issuer), { redirect: "manual" });
    assert.deepEqual(refused(other), [302, "state_mismatch"], "no login cookie: another browser");
    assert.equal(new URL(other.headers.get("location")).origin, origin);
    const loginCookie = start.headers.getSetCookie().find((c) => c.startsWith("__Host-oidc-pkce-login=")).split(";")[0];
    const start2 = await fetch(`${origin}/auth/login`, { redirect: "manual" });
    const state2 = new URL(start2.headers.get("location")).searchParams.get("state");
    const cookie2 = start2.headers.getSetCookie()[0].split(";")[0];
    const mixUp = await fetch(`${origin}/auth/callback?code=x&state=${state2}&iss=${encodeURIComponent("http://evil.example")}`, { redirect: "manual", headers: { cookie: cookie2 } });
    assert.deepEqual(refused(mixUp), [302, "issuer_mismatch"]);
    const spent = await fetch(`${origin}/auth/callback?code=x&state=${state2}&iss=${encodeURIComponent(world.op.issuer)}`, { redirect: "manual", headers: { cookie: cookie2 } });
    assert.deepEqual(refused(spent), [302, "missing_transaction"], "a pending login works once");
    assert.ok(loginCookie);
    // The session is as it was.
    const after = await get("/auth/session");
    assert.equal((await after.json()).isAuthenticated, true);
    await context.close();
  });

  it("back-channel logout: the provider's Logout Token ends the session; forged, misaddressed or replayed ones are refused and end nothing", async () => {
    const { page, context } = await newPage(origin);
    await logIn(page, origin);
    const cookie = (await context.cookies(origin)).find((c) => c.name === "__Host-oidc-pkce");
    const session = async () => (await (await fetch(`${origin}/auth/session`, { headers: { cookie: `__Host-oidc-pkce=${cookie.value}`, "x-csrf": "1" } })).json()).isAuthenticated;
    const sid = await page.evaluate(async () => (await (await fetch("/auth/session", { headers: { "x-csrf": "1" } })).json()).user.sid);
    assert.ok(sid, "the ID token carries the provider's sid");
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: world.op.issuer, aud: `backend-${ports.bff}`, iat: now, jti: `j-${now}`, sid, events: { [EVENT]: {} } };
    const post = (token) =>
      fetch(`${origin}/auth/backchannel-logout`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ logout_token: token }) });
    for (const [what, token, reason] of [
      ["signed by a key the provider does not have", signJwt(claims, { key: "rsaRotated" }), "kid"],
      ["signed by that key under the provider's kid", signJwt(claims, { key: "rsaRotated", header: { kid: KEYS.rsa.kid } }), "signature"],
      ["with an algorithm the provider does not use", signJwt(claims, { key: "ec" }), "alg"],
      ["for another client", signJwt({ ...claims, aud: "someone-else" }), "aud"],
      ["without the event", signJwt({ ...claims, events: undefined }), "events"],
      ["with a nonce (an ID token)", signJwt({ ...claims, nonce: "n" }), "nonce"],
      ["an access token's type", signJwt(claims, { header: { typ: "at+jwt" } }), "typ"],
    ]) {
      const r = await post(token);
      const body = await r.json();
      assert.deepEqual([r.status, body.error, body.reason], [400, "invalid_logout_token", reason], what);
    }
    assert.equal(await session(), true, "no bad token ended anything");
    const good = signJwt({ ...claims, jti: `ok-${now}` }, { header: { typ: "logout+jwt" } });
    assert.equal((await post(good)).status, 200);
    assert.equal(await session(), false, "ended by the provider");
    const replay = await post(good);
    assert.deepEqual([replay.status, (await replay.json()).reason], [400, "replayed"]);
    await context.close();
  });

  it("the provider's own logout reaches the backend by the back channel", async () => {
    const { page, context } = await newPage(origin);
    await logIn(page, origin);
    const cookie = (await context.cookies(origin)).find((c) => c.name === "__Host-oidc-pkce");
    // The user signs out at the provider (another app's logout, say).
    await page.goto(`${world.op.issuer}/session/end`);
    await page.click("button[autofocus], button[type=submit]");
    await page.waitForLoadState();
    for (let i = 0; i < 50; i++) {
      const r = await fetch(`${origin}/auth/session`, { headers: { cookie: `__Host-oidc-pkce=${cookie.value}`, "x-csrf": "1" } });
      if (!(await r.json()).isAuthenticated) return context.close();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail("the session outlived the provider's logout");
  });
});

describe("client_secret_post, private_key_jwt (ES256, RS256) and PAR against oidc-provider", () => {
  const apps = {};
  before(async () => {
    for (const [name, m] of Object.entries(AUTH_METHODS)) {
      const server = await createAuthServer(serverOptions(ports[name], m.server));
      apps[name] = await startApp(ports[name], () => server);
    }
  });
  after(() => Promise.all(Object.values(apps).map((a) => a.close())));

  it("each logs in, calls the API, refreshes and revokes at logout, authenticated its way (a fresh assertion each time)", async () => {
    const call = (page) => page.evaluate(async (api) => (await fetch(`/auth/api?url=${encodeURIComponent(`${api}/x`)}`, { headers: { "x-csrf": "1" } })).status, world.api);
    const pages = {};
    for (const name of Object.keys(AUTH_METHODS)) {
      pages[name] = await newPage(apps[name].origin);
      await logIn(pages[name].page, apps[name].origin);
      assert.equal(await call(pages[name].page), 200, name);
    }
    await new Promise((r) => setTimeout(r, 4500)); // the access tokens' 4 s
    const [refreshes, revoked] = [world.counts.refresh, world.counts.revoked];
    for (const name of Object.keys(AUTH_METHODS)) assert.equal(await call(pages[name].page), 200, `${name}, refreshed`);
    assert.equal(world.counts.refresh - refreshes, 3);
    for (const name of Object.keys(AUTH_METHODS)) {
      const { page } = pages[name];
      const status = await page.evaluate(async () => (await fetch("/auth/logout", { method: "POST", headers: { "x-csrf": "1" } })).status);
      assert.equal(status, 200, name);
    }
    assert.equal(world.counts.revoked - revoked, 3, "each refresh token revoked, the client authenticated");
    await Promise.all(Object.values(pages).map((p) => p.context.close()));
  });
});

describe("a refresh meets a logout or an outage (the session as the store has it now)", () => {
  let app;
  let down = false;
  /** Runs once, right after the next refresh lock is taken / before the next write-back. */
  const hooks = { onLock: null, beforeReplace: null };
  const base = memoryStore();
  const store = {
    ...base,
    async setIfAbsent(key, value, ttl) {
      const taken = await base.setIfAbsent(key, value, ttl);
      const hook = hooks.onLock;
      if (taken && key.startsWith("lock:") && hook) {
        hooks.onLock = null;
        await hook(key.slice("lock:".length));
      }
      return taken;
    },
    async replace(key, value, ttl) {
      const hook = hooks.beforeReplace;
      hooks.beforeReplace = null;
      if (hook) await hook(key);
      return base.replace(key, value, ttl);
    },
  };
  before(async () => {
    const transport = (url, init) => (down && String(url).includes("/token") ? Promise.reject(new TypeError("connection refused")) : fetch(url, init));
    const server = await createAuthServer(serverOptions(ports.bff, { store, fetch: transport }));
    app = await startApp(ports.bff, () => server);
  });
  after(() => app?.close());

  const call = (page) => page.evaluate(async (api) => {
    const r = await fetch(`/auth/api?url=${encodeURIComponent(`${api}/x`)}`, { headers: { "x-csrf": "1" } });
    return [r.status, (await r.json()).error ?? "ok"];
  }, world.api);
  const signedIn = (page) => page.evaluate(async () => (await (await fetch("/auth/session", { headers: { "x-csrf": "1" } })).json()).isAuthenticated);

  it("a logout (another instance's) between the lock and the refresh: no refresh is sent, the session stays ended", async () => {
    const { page, context } = await newPage(app.origin);
    await logIn(page, app.origin);
    await new Promise((r) => setTimeout(r, 4500)); // the access token's 4 s
    const refreshes = world.counts.refresh;
    hooks.onLock = (key) => base.delete(key);
    assert.deepEqual(await call(page), [401, "not_signed_in"]);
    assert.equal(world.counts.refresh - refreshes, 0, "no refresh for an ended session");
    assert.equal(await signedIn(page), false);
    await context.close();
  });

  it("a logout while the refresh is under way: the new refresh token is revoked, the session does not come back", async () => {
    const { page, context } = await newPage(app.origin);
    await logIn(page, app.origin);
    await new Promise((r) => setTimeout(r, 4500));
    const [refreshes, revoked] = [world.counts.refresh, world.counts.revoked];
    hooks.beforeReplace = (key) => base.delete(key);
    assert.deepEqual(await call(page), [401, "not_signed_in"]);
    assert.equal(world.counts.refresh - refreshes, 1);
    assert.equal(world.counts.revoked - revoked, 1, "the refresh token the late answer brought is revoked");
    assert.equal(await signedIn(page), false, "not revived by the write-back");
    await context.close();
  });

  it("the provider unreachable at refresh time: an error for this call, the session kept; the next call refreshes", async () => {
    const { page, context } = await newPage(app.origin);
    await logIn(page, app.origin);
    await new Promise((r) => setTimeout(r, 4500));
    down = true;
    const failed = await call(page);
    down = false;
    assert.deepEqual(failed, [502, "network_error"]);
    assert.equal(await signedIn(page), true, "an outage signs nobody out");
    assert.deepEqual(await call(page), [200, "ok"]);
    await context.close();
  });
});

describe("DPoP (RFC 9449) in BFF mode: a client whose tokens the provider binds", () => {
  let server;
  let app;
  before(async () => {
    server = await createAuthServer(serverOptions(ports.dpop, { dpop: true }));
    app = await startApp(ports.dpop, () => server);
  });
  after(() => app?.close());

  it("binds each session's tokens to its own key; proofs at the token endpoint and at the API, with their nonces; refreshed still bound", async () => {
    const call = (page) =>
      page.evaluate(async (api) => {
        const r = await window.auth.fetchWithAuth(`${api}/bound?x=1`, { method: "POST", body: "b" });
        return { status: r.status, body: r.status === 200 ? await r.json() : await r.text() };
      }, world.api);
    const { page, context } = await newPage(app.origin);
    // The provider requires a nonce on every proof: the code exchange was sent twice, and worked.
    await logIn(page, app.origin);
    await client(page);
    const asked = world.counts.apiNonceAsked;
    const first = await call(page);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.scheme, "DPoP");
    assert.match(first.body.jkt, /^[\w-]{43}$/, "the token is bound to a key (cnf.jkt)");
    assert.equal(world.counts.apiNonceAsked - asked, 1, "the API asked for its nonce once");
    // Past the access token's 4 s: refreshed with a proof by the same key; the API's nonce is known now.
    const refreshes = world.counts.refresh;
    await new Promise((r) => setTimeout(r, 4500));
    const second = await call(page);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(world.counts.refresh - refreshes, 1);
    assert.equal(second.body.jkt, first.body.jkt, "the same session, the same key");
    assert.equal(world.counts.apiNonceAsked - asked, 1, "no second nonce round trip");
    // Another user's session: another key.
    const other = await newPage(app.origin);
    await logIn(other.page, app.origin, "bob");
    await client(other.page);
    const third = await call(other.page);
    assert.equal(third.status, 200, JSON.stringify(third.body));
    assert.notEqual(third.body.jkt, first.body.jkt, "a key per session");
    await Promise.all([context.close(), other.context.close()]);
  });

  it("without `dpop`, a client the provider binds cannot log in: the exchange is refused, no session is made", async () => {
    const plain = await createAuthServer(serverOptions(ports.dpop));
    // (The same port: the provider knows this client by it.)
    await app.close();
    app = await startApp(ports.dpop, () => plain);
    const { page, context } = await newPage(app.origin);
    await page.goto(`${app.origin}/auth/login?returnTo=/app.html`);
    for (let step = 0; step < 4 && new URL(page.url()).origin !== app.origin; step++) {
      await page.waitForSelector("button[type=submit]");
      if (await page.$("input[name=login]")) {
        await page.fill("input[name=login]", "carol");
        await page.fill("input[name=password]", "pw");
      }
      await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    }
    await page.waitForURL((u) => u.origin === app.origin && u.pathname !== "/auth/callback");
    // (oidc-provider answers invalid_grant to an exchange without a proof for such a client.)
    assert.match(new URL(page.url()).hash, /^#auth_error=(invalid_grant|invalid_dpop_proof|invalid_request)$/, page.url());
    // The page's client throws it, with the provider's code.
    const refusedWith = new URLSearchParams(new URL(page.url()).hash.slice(1)).get("auth_error");
    await page.goto(`${app.origin}/app.html${new URL(page.url()).hash}`);
    await page.waitForFunction(() => window.oidc);
    await client(page);
    const thrown = await page.evaluate(() => window.auth.handleRedirectCallback().then(() => null, (e) => ({ name: e.name, code: e.code })));
    assert.deepEqual(thrown, { name: "AuthError", code: refusedWith });
    assert.equal(new URL(page.url()).hash, "", "taken out of the address");
    assert.ok(!(await context.cookies(app.origin)).some((c) => c.name === "__Host-oidc-pkce"), "no session");
    await context.close();
  });
});

for (const binding of ["react", "vue"]) {
  describe(`the ${binding === "react" ? "React" : "Vue"} binding over the backend (oidc-pkce/${binding}, unchanged)`, () => {
    let app;
    before(async () => {
      // The bindings' test app (tests/e2e/apps/<binding>), built against the package, its options `{ backend: "/auth" }`.
      const appsDir = join(root, "tests", "e2e", "apps");
      const link = join(appsDir, "node_modules", "oidc-pkce");
      if (!existsSync(link)) {
        mkdirSync(join(appsDir, "node_modules"), { recursive: true });
        symlinkSync(join(root, "pkg"), link, "dir");
      }
      const outDir = join(root, "test-results", "apps", `${binding}-backend`);
      rmSync(outDir, { recursive: true, force: true });
      await build({ root: join(appsDir, binding), mode: "production", logLevel: "warn", configFile: false, build: { outDir, emptyOutDir: true } });
      const server = await createAuthServer(serverOptions(ports[binding]));
      app = await startApp(ports[binding], () => server, { site: { dir: outDir, config: { backend: "/auth" } } });
    });
    after(() => app?.close());

    it("useAuth(): signed out, loginWithRedirect through the backend, signed in as the user, logout; no .wasm loaded", async () => {
      const context = await browser.newContext();
      await keepLocal(context);
      const page = await context.newPage();
      const wasm = [];
      page.on("request", (r) => r.url().endsWith(".wasm") && wasm.push(r.url()));
      await page.goto(`${app.origin}/`);
      await page.waitForSelector("#main .status:text('signed out')");
      await page.click("#main .login");
      await page.waitForSelector("input[name=login]");
      await page.fill("input[name=login]", "erin");
      await page.fill("input[name=password]", "pw");
      await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
      if (new URL(page.url()).origin !== app.origin) {
        await Promise.all([page.waitForURL((u) => u.origin === app.origin), page.click("button[type=submit]")]);
      }
      await page.waitForSelector("#main .status:text('signed in as erin')");
      assert.deepEqual(wasm, [], "no WebAssembly in the page");
      // Logout (the app's openUrl keeps the page here): the binding follows the client.
      await page.click("#main .logout");
      await page.waitForSelector("#main .status:text('signed out')");
      const session = await page.evaluate(async () => (await fetch("/auth/session", { headers: { "x-csrf": "1" } })).json());
      assert.equal(session.isAuthenticated, false, "the backend's session ended");
      await context.close();
    });
  });
}

describe("token-mediating mode", () => {
  let app;
  before(async () => {
    const server = await createAuthServer(serverOptions(ports.tm, { mode: "token-mediating" }));
    app = await startApp(ports.tm, () => server);
  });
  after(() => app?.close());

  it("the page gets short-lived access tokens (with the CSRF header), never the refresh token, and calls the API itself", async () => {
    const { page, context } = await newPage(app.origin);
    await logIn(page, app.origin);
    await client(page);
    const r = await page.evaluate(async (api) => {
      const token = await window.auth.getAccessToken();
      const raw = await (await fetch("/auth/token", { method: "POST", headers: { "x-csrf": "1" } })).json();
      const response = await window.auth.fetchWithAuth(`${api}/direct`);
      const noHeader = await fetch("/auth/token", { method: "POST" });
      return { token: typeof token, keys: Object.keys(raw).sort(), status: response.status, body: await response.json(), noHeader: noHeader.status };
    }, world.api);
    assert.equal(r.token, "string");
    assert.deepEqual(r.keys, ["access_token", "expires_in", "token_type"]);
    assert.deepEqual([r.status, r.body.sub, r.body.path], [200, "alice", "/direct"]);
    assert.equal(r.noHeader, 403);
    // The proxy is BFF mode's only.
    const proxied = await page.evaluate(async () => (await fetch(`/auth/api?url=${encodeURIComponent("http://x/")}`, { headers: { "x-csrf": "1" } })).status);
    assert.equal(proxied, 404);
    await context.close();
  });
});

describe("two instances sharing Redis", () => {
  let redis;
  let clients;
  let servers;
  let serving = 0;
  let app;
  before(async () => {
    const started = await startRedis();
    redis = started.process;
    clients = [];
    for (let i = 0; i < 2; i++) {
      clients.push(await connectRedis(started.url, { socket: { reconnectStrategy: false, connectTimeout: 1000 } }));
    }
    servers = await Promise.all(clients.map((c) => createAuthServer(serverOptions(ports.shared, { store: redisStore(c) }))));
    app = await startApp(ports.shared, () => servers[serving]);
  });
  after(async () => {
    await app?.close();
    for (const c of clients ?? []) {
      try {
        c.destroy();
      } catch {}
    }
    redis?.kill();
  });

  it("log in on one, call the API on the other; log out on one ends it on both; Redis gone: 503, and no session from elsewhere", async () => {
    const { page, context } = await newPage(app.origin);
    serving = 0;
    await logIn(page, app.origin);
    serving = 1;
    await client(page);
    const r = await page.evaluate(async (api) => [window.auth.isAuthenticated(), (await window.auth.fetchWithAuth(`${api}/shared`)).status], world.api);
    assert.deepEqual(r, [true, 200], "the second instance serves the first one's session");
    // Sessions are encrypted at rest: no token in Redis.
    const keys = await clients[0].keys("oidc-pkce:session:*");
    const value = await clients[0].get(keys[0]);
    assert.equal(keys.length, 1, keys.join());
    assert.ok(!/access_token|refresh_token|alice/.test(value) && /^[\w-]+\.[\w-]+$/.test(value), value.slice(0, 80));
    serving = 0;
    await Promise.all([page.waitForURL((u) => u.origin !== app.origin), page.evaluate(() => window.auth.logout())]);
    await page.goto(`${app.origin}/app.html`);
    serving = 1;
    await page.waitForFunction(() => window.oidc);
    await client(page);
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), false, "ended on both");
    // Log in again, then Redis stops.
    await logIn(page, app.origin);
    redis.kill();
    await new Promise((r) => setTimeout(r, 300));
    const down = await page.evaluate(async () => {
      const r = await fetch("/auth/session", { headers: { "x-csrf": "1" } });
      return [r.status, (await r.json()).error];
    });
    assert.deepEqual(down, [503, "store_unavailable"]);
    await context.close();
  });
});

describe("Auth0 by `domain` (Auth0's paths, no discovery)", () => {
  let auth0;
  let app;
  before(async () => {
    const port = await freePort();
    const origin = `http://localhost:${port}`;
    auth0 = await startProvider({
      auth0: true,
      jwks: { keys: [KEYS.rsa] },
      clients: [
        {
          client_id: "auth0-backend",
          client_secret: SECRET,
          token_endpoint_auth_method: "client_secret_post",
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
          redirect_uris: [`${origin}/auth/callback`],
          post_logout_redirect_uris: [`${origin}/`],
        },
      ],
    });
    const server = await createAuthServer({
      ...backendOptions(world, port, { domain: auth0.url, issuer: undefined, clientId: "auth0-backend", clientAuthMethod: "client_secret_post" }),
    });
    app = await startApp(port, () => server);
  });
  after(async () => {
    await app?.close();
    await auth0?.close();
  });

  it("logs in through /authorize and /oauth/token, verifies the ID token (issuer with its slash), and logs out through /v2/logout", async () => {
    const { page, context } = await newPage(app.origin);
    await logIn(page, app.origin, "grace");
    await client(page);
    assert.equal(await page.evaluate(() => window.auth.getUser()?.sub), "grace");
    assert.equal(await page.evaluate(() => window.auth.getUser()?.iss), `${auth0.url}/`);
    const url = await page.evaluate(async () => (await (await fetch("/auth/logout", { method: "POST", headers: { "x-csrf": "1" } })).json()).url);
    const out = new URL(url);
    assert.equal(out.origin + out.pathname, `${auth0.url}/v2/logout`);
    assert.equal(out.searchParams.get("client_id"), "auth0-backend");
    assert.equal(out.searchParams.get("returnTo"), `${app.origin}/`);
    await context.close();
  });
});

describe("the backend's options are checked", () => {
  it("typos, a missing appOrigin, a shared store without a secret, a short secret, an API with its own audience, private_key_jwt without its key", async () => {
    const o = serverOptions(ports.bff);
    const code = async (options) => {
      try {
        await createAuthServer(options);
        return null;
      } catch (e) {
        return [e.code, e.message];
      }
    };
    assert.match((await code({ ...o, client_secret: "x" }))[1], /did you mean `clientSecret`/);
    assert.match((await code({ ...o, appOrigin: undefined }))[1], /`appOrigin` is required/);
    const { secret: _s, ...noSecret } = o;
    assert.equal((await code({ ...noSecret, store: redisStore({ get() {}, sAdd() {} }) }))[0], "invalid_config");
    assert.equal(await code({ ...noSecret, store: memoryStore() }), null, "the memory store makes its own key");
    assert.equal((await code({ ...o, secret: "too short" }))[0], "invalid_config", "a weak secret is refused, even in memory");
    assert.match((await code({ ...o, apis: [{ url: `${world.api}/`, audience: "x" }] }))[1], /not an option there/);
    assert.match((await code({ ...o, clientSecret: undefined, clientAuthMethod: "private_key_jwt" }))[1], /privateKey/);
    assert.ok(KEYS.rsa);
  });
});
