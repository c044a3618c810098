// Trust that expires (issue 10): key-set lifetimes, stored sessions checked
// against the provider's keys, logout targets, refreshed ID tokens (OIDC Core
// §12.2), storage keys per issuer, capped response bodies, default token
// lifetimes, the discovery cache, appState round trips. In Chromium against
// oidc-provider; each test failed on the code before these fixes.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { publicClient, startProvider } from "../../scripts/provider.mjs";
import { decodeJwt, KEYS, newPage, publicJwk, signJwt, startWorld } from "./harness.mjs";

let world;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world?.close();
});

const opts = (extra = {}) => ({ issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage, ...extra });
const OFFLINE = { scope: "openid profile email offline_access", prompt: "consent" };
// max_age makes oidc-provider put auth_time in its ID tokens.
const OFFLINE_AUTH_TIME = { ...OFFLINE, maxAge: 3600 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Math.floor(Date.now() / 1000);
const jwksUri = () => `${world.op.url}/jwks`;
const sessionKey = (issuer, clientId = "web") => `oidc-pkce:session:${encodeURIComponent(issuer)}:${encodeURIComponent(clientId)}`;

/**
 * Starts a login with `clientOptions` in `page` and goes through the provider's
 * pages, whichever it shows (a second login in a context may skip the login
 * form, or consent); resolves to the callback URL.
 */
async function login(page, clientOptions = opts(), authorizeOptions = {}, { as = "alice" } = {}) {
  const url = await page.evaluate(
    async ([o, a]) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(a),
    [clientOptions, authorizeOptions],
  );
  await page.goto(url);
  for (let step = 0; step < 3 && !page.url().startsWith(world.app.url); step++) {
    if (await page.$("input[name=login]")) {
      await page.fill("input[name=login]", as);
      await page.fill("input[name=password]", "any password");
    }
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  }
  assert.ok(page.url().startsWith(world.app.url), `back at the app: ${page.url()}`);
  await page.waitForFunction(() => window.oidc);
  return page.url();
}

/** Completes the callback in a new client kept as `window.auth`; resolves to the error (with reason) or null. */
function completeLogin(page, clientOptions = opts()) {
  return page.evaluate(async (o) => {
    window.auth = await window.oidc.createAuthClient(o);
    try {
      window.result = await window.auth.handleRedirectCallback();
      return null;
    } catch (e) {
      return { code: e.code, reason: e.reason, message: e.message };
    }
  }, clientOptions);
}

/** A fresh client made from storage (as on a reload): is it signed in, and as whom? */
function restored(page, clientOptions) {
  return page.evaluate(async (o) => {
    const auth = await window.oidc.createAuthClient(o);
    return { authenticated: auth.isAuthenticated(), sub: auth.getUser()?.sub ?? null, iss: auth.getIdTokenClaims()?.iss ?? null };
  }, clientOptions);
}

/** Serves the JWKS through `serve(realBody, request)` → { keys, cacheControl } or null (pass through); counts requests. */
async function routeJwks(page, serve) {
  const seen = [];
  await page.route(jwksUri(), async (route) => {
    seen.push(route.request().headers()["cache-control"] ?? "");
    const response = await route.fetch();
    const real = await response.json();
    const out = serve(real, seen.length);
    if (!out) return route.fulfill({ response });
    await route.fulfill({
      status: 200,
      contentType: "application/json",
      headers: { "cache-control": out.cacheControl ?? "max-age=600", "access-control-allow-origin": "*" },
      body: JSON.stringify({ keys: out.keys }),
    });
  });
  return seen;
}

describe("1. key sets expire", () => {
  it("a withdrawn key stops verifying once the key set's lifetime (Cache-Control max-age) is over", async () => {
    const page = await newPage(world);
    let withdrawn = false;
    const LIFETIME_S = 6;
    const fetchedAt = [];
    const fetches = await routeJwks(page, (real) => {
      fetchedAt.push(Date.now());
      return { keys: withdrawn ? [publicJwk("ec")] : real.keys, cacheControl: `max-age=${LIFETIME_S}` };
    });
    // (A login navigates: the key set outlives the page in tokenStorage.)
    const o = opts({ tokenStorage: "local" });
    await login(page, o);
    assert.equal(await completeLogin(page, o), null);
    withdrawn = true; // the provider stops publishing rsa-1, which signs this client's ID tokens
    // (No stored session: restoring one would fetch the provider's set at once.)
    const forget = () => page.evaluate((k) => localStorage.removeItem(k), sessionKey(world.op.issuer));
    await forget();
    // Within the lifetime the kept copy of the set still serves (no fetch)...
    await login(page, o);
    assert.equal(await completeLogin(page, o), null);
    assert.ok(Date.now() - fetchedAt[0] < LIFETIME_S * 1000, "the second login ran within the lifetime");
    assert.equal(fetches.length, 1);
    // ...after it, the set is fetched again and the withdrawn key verifies nothing.
    await forget();
    await sleep(LIFETIME_S * 1000 - (Date.now() - fetchedAt[0]) + 300);
    await login(page, o);
    const r = await completeLogin(page, o);
    assert.deepEqual([r?.code, r?.reason], ["invalid_id_token", "kid"], JSON.stringify(r));
    assert.ok(fetches.length >= 2, `the key set was fetched again (${fetches.length})`);
    await page.context().close();
  });

  it("a stored session is verified against the provider's key set, not a stored one, on reload", async () => {
    const page = await newPage(world);
    const o = opts({ tokenStorage: "local" });
    let withdrawn = false;
    await routeJwks(page, (real) => ({ keys: withdrawn ? [publicJwk("ec")] : real.keys, cacheControl: "max-age=86400" }));
    await login(page, o);
    assert.equal(await completeLogin(page, o), null);
    assert.deepEqual(await restored(page, o), { authenticated: true, sub: "alice", iss: world.op.issuer });
    withdrawn = true;
    await page.reload();
    await page.waitForFunction(() => window.oidc);
    // The stored key set is within its 24 h, but the provider can be reached: its set decides.
    assert.deepEqual(await restored(page, o), { authenticated: false, sub: null, iss: null });
    const left = await page.evaluate((key) => localStorage.getItem(key), sessionKey(world.op.issuer));
    assert.equal(left, null, "the session that no longer verifies was removed");
    await page.context().close();
  });

  for (const format of ["a bare key set (before 0.1.1)", "a key set with a fresh lifetime"]) {
    it(`a forged session with a planted key set (${format}) signs nobody in while the provider is reachable`, async () => {
      const page = await newPage(world);
      const attacker = { ...publicJwk("rsaRotated"), kid: "attacker-1" };
      const forged = signJwt(
        { iss: world.op.issuer, aud: "web", sub: "mallory", exp: now() + 3600, iat: now(), name: "Mallory" },
        { key: "rsaRotated", header: { kid: "attacker-1" } },
      );
      const set = JSON.stringify({ keys: [attacker] });
      const jwksEntry = format.startsWith("a bare")
        ? set
        : JSON.stringify({ v: 1, fetched_at_ms: Date.now(), lifetime_s: 86400, jwks: set });
      const session = JSON.stringify({
        v: 1, client_id: "web", issuer: world.op.issuer, access_token: "planted", id_token: forged,
        token_type: "Bearer", expires_at_ms: Date.now() + 3600_000,
      });
      const o = opts({ tokenStorage: "local" });
      const r = await page.evaluate(
        async ([o, keys, session, jwksEntry]) => {
          for (const k of keys.sessions) localStorage.setItem(k, session);
          localStorage.setItem(keys.jwks, jwksEntry);
          const auth = await window.oidc.createAuthClient(o);
          return { authenticated: auth.isAuthenticated(), user: auth.getUser(), left: keys.sessions.map((k) => localStorage.getItem(k)) };
        },
        [o, { sessions: [sessionKey(world.op.issuer), "oidc-pkce:session:web"], jwks: `oidc-pkce:jwks:${jwksUri()}` }, session, jwksEntry],
      );
      assert.deepEqual(r, { authenticated: false, user: null, left: [null, null] });
      await page.context().close();
    });
  }

  it("a signature failure against a key set from a cache fetches the set once more before refusing", async () => {
    const page = await newPage(world);
    // The first answer (as from a stale or tampered cache) has rsa-1 with another modulus.
    const doctored = { ...publicJwk("rsaRotated"), kid: "rsa-1" };
    const fetches = await routeJwks(page, (_real, n) => (n === 1 ? { keys: [doctored, publicJwk("ec")] } : null));
    await login(page);
    assert.equal(await completeLogin(page), null, "the login succeeded after one more fetch");
    assert.equal(fetches.length, 2);
    await page.context().close();
  });

  for (const format of ["bare", "with a lifetime"]) {
    it(`a key set planted in storage (${format}) does not make later logins fail`, async () => {
      const page = await newPage(world);
      const o = opts({ tokenStorage: "local" });
      const set = JSON.stringify({ keys: [{ ...publicJwk("rsaRotated"), kid: "rsa-1" }] });
      const entry = format === "bare" ? set : JSON.stringify({ v: 1, fetched_at_ms: Date.now(), lifetime_s: 3600, jwks: set });
      await page.evaluate(([k, v]) => localStorage.setItem(k, v), [`oidc-pkce:jwks:${jwksUri()}`, entry]);
      await login(page, o);
      assert.equal(await completeLogin(page, o), null);
      const stored = await page.evaluate((k) => JSON.parse(localStorage.getItem(k)), `oidc-pkce:jwks:${jwksUri()}`);
      assert.equal(JSON.parse(stored.jwks).keys.find((k) => k.kid === "rsa-1").n, KEYS.rsa.n, "the real set replaced the planted one");
      await page.context().close();
    });
  }

  for (const [header, extra, want] of [
    ["public, max-age=999999", {}, 86400],
    ["max-age=120", {}, 120],
    ["max-age=120", { jwksMaxAge: 30 }, 30],
    ["public", {}, 600],
    ["public", { jwksMaxAge: 45 }, 45],
    ["no-store", {}, null],
  ]) {
    it(`Cache-Control "${header}" with ${JSON.stringify(extra)}: the key set is kept ${want === null ? "not at all" : `${want} s`}`, async () => {
      const page = await newPage(world);
      await routeJwks(page, (real) => ({ keys: real.keys, cacheControl: header }));
      const o = opts({ tokenStorage: "local", ...extra });
      await login(page, o);
      assert.equal(await completeLogin(page, o), null);
      const stored = await page.evaluate((k) => JSON.parse(localStorage.getItem(k)), `oidc-pkce:jwks:${jwksUri()}`);
      if (want === null) assert.equal(stored, null);
      else assert.equal(stored?.lifetime_s, want);
      await page.context().close();
    });
  }
});

describe("2. logout goes only where it may", () => {
  it("a javascript: returnTo is invalid_config and runs nothing, with or without an end-session endpoint", async () => {
    const page = await newPage(world);
    const noEndSession = opts({
      endpoints: { authorization: `${world.op.url}/auth`, token: `${world.op.url}/token`, jwks: jwksUri() },
    });
    const r = await page.evaluate(
      async ([a, b, page]) => {
        window.ran = 0;
        const out = [];
        for (const o of [a, b]) {
          const auth = await window.oidc.createAuthClient(o);
          for (const returnTo of ["javascript:window.ran++", "JAVASCRIPT:window.ran++//", "data:text/html,<script>parent.ran++</script>", "http://evil.example/", "//evil.example/"]) {
            out.push((await window.errorOf(() => auth.logout({ returnTo })))?.code ?? "navigated");
            out.push((await window.errorOf(async () => auth.buildLogoutUrl({ returnTo })))?.code ?? "built");
          }
        }
        await new Promise((r) => setTimeout(r, 300));
        return { out: [...new Set(out)], ran: window.ran, href: location.href, page };
      },
      [noEndSession, opts(), world.appPage],
    );
    assert.deepEqual(r.out, ["invalid_config"]);
    assert.equal(r.ran, 0);
    assert.equal(r.href, r.page);
    // The page's own origin is a fine place to go.
    const built = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildLogoutUrl({ returnTo: location.href }), opts());
    assert.match(built, /post_logout_redirect_uri=/);
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get("bye") === "1"),
      page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).logout({ returnTo: `${location.origin}${location.pathname}?bye=1` }), noEndSession),
    ]);
    await page.context().close();
  });
});

describe("3. refreshed ID tokens keep the original authentication (OIDC Core §12.2)", () => {
  for (const [what, change, reason] of [
    ["an earlier auth_time", (p) => ({ ...p, auth_time: p.auth_time - 3600 }), "auth_time"],
    ["an azp the original did not have", (p) => ({ ...p, azp: "web" }), "azp"],
  ]) {
    it(`a refreshed ID token with ${what} is refused (reason ${reason}) and the session is left as it was`, async () => {
      const page = await newPage(world);
      const o = opts({ tokenStorage: "local" });
      await login(page, o, OFFLINE_AUTH_TIME);
      assert.equal(await completeLogin(page, o), null);
      const original = decodeJwt(await page.evaluate(() => window.auth.getTokens().idToken)).payload;
      assert.equal(typeof original.auth_time, "number");
      assert.equal(original.azp, undefined);
      await page.route(`${world.op.url}/token`, async (route) => {
        if (!route.request().postData()?.includes("grant_type=refresh_token")) return route.fallback();
        const response = await route.fetch();
        const body = await response.json();
        body.id_token = signJwt(change(decodeJwt(body.id_token).payload), { key: "rsa" });
        await route.fulfill({ response, json: body });
      });
      const r = await page.evaluate(async () => {
        const before = window.auth.getTokens();
        let error = null;
        try {
          await window.auth.getAccessToken({ forceRefresh: true });
        } catch (e) {
          error = { code: e.code, reason: e.reason };
        }
        return { error, same: JSON.stringify(before) === JSON.stringify(window.auth.getTokens()), authenticated: window.auth.isAuthenticated() };
      });
      assert.deepEqual(r, { error: { code: "invalid_id_token", reason }, same: true, authenticated: true });
      await page.context().close();
    });
  }
});

describe("4. no arithmetic on input that can underflow", () => {
  it("a JWKS key with an all-zero modulus is unfit: reason kid", async () => {
    const page = await newPage(world);
    await routeJwks(page, () => ({ keys: [{ kty: "RSA", kid: "rsa-1", alg: "RS256", use: "sig", n: "AAAA", e: "AQAB" }] }));
    await login(page);
    const r = await completeLogin(page);
    assert.deepEqual([r?.code, r?.reason], ["invalid_id_token", "kid"], JSON.stringify(r));
    await page.context().close();
  });
});

describe("5. storage keys name the issuer", () => {
  it("two providers with one client id keep separate sessions on one origin; an old-key session is moved", async () => {
    const op2 = await startProvider({
      clients: [publicClient("web", [world.appPage], { post_logout_redirect_uris: [world.appPage] })],
      corsOrigins: [world.app.url],
      jwks: { keys: [KEYS.rsaRotated] },
    });
    try {
      const page = await newPage(world);
      const a = opts({ tokenStorage: "local" });
      const b = opts({ tokenStorage: "local", issuer: op2.issuer });
      await login(page, a);
      assert.equal(await completeLogin(page, a), null);
      await login(page, b, {}, { as: "bob" });
      assert.equal(await completeLogin(page, b), null);
      await page.reload();
      await page.waitForFunction(() => window.oidc);
      assert.deepEqual(await restored(page, a), { authenticated: true, sub: "alice", iss: world.op.issuer });
      assert.deepEqual(await restored(page, b), { authenticated: true, sub: "bob", iss: op2.issuer });

      // A session stored by an earlier version (key: client id only) survives the upgrade, once.
      const moved = await page.evaluate(
        async ([o, key]) => {
          localStorage.setItem("oidc-pkce:session:web", localStorage.getItem(key));
          localStorage.removeItem(key);
          const auth = await window.oidc.createAuthClient(o);
          return { authenticated: auth.isAuthenticated(), old: localStorage.getItem("oidc-pkce:session:web"), now: localStorage.getItem(key) !== null };
        },
        [a, sessionKey(world.op.issuer)],
      );
      assert.deepEqual(moved, { authenticated: true, old: null, now: true });
      await page.context().close();
    } finally {
      await op2.close();
    }
  });
});

describe("6. smaller leaks of robustness", () => {
  /** A server that answers like a broken or hostile endpoint: an endless body, or a huge Content-Length. */
  async function hostileServer() {
    const closed = [];
    const server = http.createServer((req, res) => {
      const headers = { "access-control-allow-origin": world.app.url, "content-type": "application/json" };
      const started = Date.now();
      req.on("close", () => closed.push(Date.now() - started));
      if (req.url.startsWith("/endless")) {
        res.writeHead(200, headers);
        res.write('{"keys":[],"access_token":"');
        const chunk = "x".repeat(64 * 1024);
        let sent = 0;
        const timer = setInterval(() => {
          // Bounded: at most 20 s or 256 MiB, whatever happens on the other side.
          if (res.destroyed || Date.now() - started > 20_000 || sent > 256 * 1024 * 1024) {
            clearInterval(timer);
            res.destroy();
            return;
          }
          res.write(chunk);
          sent += chunk.length;
        }, 5);
      } else {
        res.writeHead(200, { ...headers, "content-length": String(5 * 1024 * 1024) });
        res.write('{"keys":[');
        setTimeout(() => res.destroy(), 20_000);
      }
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    return {
      url: `http://127.0.0.1:${server.address().port}`,
      closed,
      close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
    };
  }

  it("an endless or over-long body is refused at the cap with the endpoint's code, without waiting for it", async () => {
    const srv = await hostileServer();
    try {
      const page = await newPage(world);
      const cases = [
        ["token", { token: `${srv.url}/endless` }, "invalid_token_response"],
        ["token", { token: `${srv.url}/length` }, "invalid_token_response"],
        ["jwks", { jwks: `${srv.url}/endless` }, "invalid_jwks"],
        ["jwks", { jwks: `${srv.url}/length` }, "invalid_jwks"],
      ];
      for (const [what, endpoints, code] of cases) {
        const o = opts({ endpoints, httpTimeoutMs: 15_000 });
        await login(page, opts());
        const started = Date.now();
        const r = await completeLogin(page, o);
        const took = Date.now() - started;
        assert.equal(r?.code, code, `${what} ${JSON.stringify(endpoints)}: ${JSON.stringify(r)}`);
        assert.ok(took < 10_000, `refused after ${took} ms, not at the timeout`);
      }
      await sleep(300);
      assert.ok(srv.closed.length >= 4, `${srv.closed.length} connections closed`);
      assert.ok(srv.closed.every((ms) => ms < 10_000), `each hostile response was cancelled early: ${srv.closed}`);
      await page.context().close();
    } finally {
      await srv.close();
    }
  });

  it("an access token without expires_in gets defaultExpiresIn, then getAccessToken refreshes", async () => {
    const page = await newPage(world);
    await page.route(`${world.op.url}/token`, async (route) => {
      const response = await route.fetch();
      const { expires_in: _dropped, ...body } = await response.json();
      await route.fulfill({ response, json: body });
    });
    const o = opts({ defaultExpiresIn: 3, leeway: 1 });
    await login(page, o, OFFLINE);
    assert.equal(await completeLogin(page, o), null);
    const first = await page.evaluate(() => window.auth.getTokens());
    assert.equal(typeof first.expiresAt, "number");
    assert.ok(Math.abs(first.expiresAt - (Date.now() + 3000)) < 2000, `${first.expiresAt - Date.now()} ms left`);
    assert.equal(await page.evaluate(() => window.auth.getAccessToken()), first.accessToken, "fresh at first");
    await sleep(2300);
    const second = await page.evaluate(() => window.auth.getAccessToken());
    assert.notEqual(second, first.accessToken, "refreshed once the default lifetime (less the leeway) ran out");
    await page.context().close();
  });

  it("a discovery document accepted with allowInsecureRequests does not serve a client without it", async () => {
    const page = await newPage(world);
    await page.route(`${world.op.url}/.well-known/openid-configuration`, async (route) => {
      const response = await route.fetch();
      const doc = await response.json();
      await route.fulfill({ response, json: { ...doc, token_endpoint: "http://id.lan:1/token" } });
    });
    const r = await page.evaluate(async (o) => {
      const lenient = await window.errorOf(() => window.oidc.createAuthClient({ ...o, allowInsecureRequests: true }));
      const strict = await window.errorOf(() => window.oidc.createAuthClient(o));
      return { lenient, strict: strict?.code };
    }, opts());
    assert.deepEqual(r, { lenient: null, strict: "invalid_discovery" });
    await page.context().close();
  });

  it("appState comes back exactly as given, keys in the app's order", async () => {
    const page = await newPage(world);
    const appState = { returnTo: "/inbox?x=1", n: 5, nested: { z: 1, a: [3, { y: true, b: null }] }, "é": "ü" };
    await login(page, opts(), { appState });
    assert.equal(await completeLogin(page), null);
    const back = await page.evaluate(() => JSON.stringify(window.result.appState));
    assert.equal(back, JSON.stringify(appState));
    await page.context().close();
  });
});
