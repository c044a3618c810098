// One timeline (issue 30): what is in flight is the core's, and a result
// lands only on the session it started from. Each test reproduces a defect a
// review found in the release before, in Chromium against oidc-provider.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { publicClient, resourceIndicators, startProvider } from "../../scripts/provider.mjs";
import { KEYS, newPage, signIn, signInWithClient, startWorld } from "./harness.mjs";

let world;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world?.close();
});

const opts = (extra = {}) => ({ issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage, ...extra });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Counts the provider's grants by type (successes and errors alike). */
function countGrants(op) {
  const seen = { authorization_code: 0, refresh_token: 0, errors: [] };
  const count = (ctx, err) => {
    const type = ctx.oidc?.params?.grant_type;
    if (type in seen) seen[type]++;
    if (err) seen.errors.push(`${type}: ${err.error ?? err.message}`);
  };
  op.provider.on("grant.success", (ctx) => count(ctx));
  op.provider.on("grant.error", (ctx, err) => count(ctx, err));
  return seen;
}

describe("refreshes in a page without Web Locks", () => {
  const ORDERS = "https://orders.example.com/";
  const BILLING = "https://billing.example.com/";
  let rs;
  let grants;
  before(async () => {
    rs = await startProvider({
      clients: [publicClient("web", [world.appPage])],
      corsOrigins: [world.app.url],
      jwks: { keys: [KEYS.rsa] },
      features: { resourceIndicators: resourceIndicators([ORDERS, BILLING]) },
    });
    grants = countGrants(rs);
  });
  after(() => rs?.close());

  it("two APIs' tokens asked for at once: one refresh at a time, the rotated refresh token never sent twice", async () => {
    const page = await newPage(world);
    // An older WebView, or an http LAN dev server: no navigator.locks.
    await page.addInitScript(() => Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined }));
    await page.reload();
    await page.waitForFunction(() => window.oidc);
    const o = {
      issuer: rs.issuer,
      clientId: "web",
      redirectUri: world.appPage,
      scope: "openid profile offline_access",
      apiParameter: "resource",
      apis: [ORDERS, BILLING],
    };
    await signInWithClient(page, o, { prompt: "consent" }, world.app.url);
    grants.errors.length = 0;
    const r = await page.evaluate(async ([o, ORDERS, BILLING]) => {
      const sent = [];
      const auth = await window.oidc.createAuthClient({
        ...o,
        fetch: (input, init) => {
          if (typeof init?.body === "string" && init.body.includes("refresh_token=")) {
            sent.push(new URLSearchParams(init.body).get("refresh_token"));
          }
          return fetch(input, init);
        },
      });
      const locks = navigator.locks === undefined;
      const tokens = await Promise.all([
        auth.getAccessToken({ audience: ORDERS }).catch((e) => e.code),
        auth.getAccessToken({ audience: BILLING }).catch((e) => e.code),
        auth.getAccessToken({ audience: ORDERS }).catch((e) => e.code),
      ]);
      const after = await auth.refresh().then(() => "refreshed", (e) => e.code);
      return { locks, tokens, sent, after, signedIn: auth.isAuthenticated() };
    }, [o, ORDERS, BILLING]);
    assert.equal(r.locks, true, "the page has no Web Locks");
    const aud = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString()).aud;
    assert.deepEqual(r.tokens.map((t) => (t.includes(".") ? aud(t) : t)), [ORDERS, BILLING, ORDERS]);
    assert.equal(r.tokens[0], r.tokens[2], "the two calls for ORDERS shared one refresh");
    assert.equal(r.sent.length, 3, "ORDERS, BILLING, then the session's own");
    assert.equal(new Set(r.sent).size, 3, "every refresh used the refresh token the previous one returned");
    assert.deepEqual(grants.errors, [], "the provider saw no reuse");
    assert.deepEqual([r.after, r.signedIn], ["refreshed", true]);
    await page.context().close();
  });
});

describe("logout is final", () => {
  it("a tab that signs out while it is still taking up another tab's refresh stays signed out", async () => {
    const a = await newPage(world);
    const b = await a.context().newPage();
    await b.goto(world.appPage);
    await b.waitForFunction(() => window.oidc);
    // jwksMaxAge 0: every verification fetches the key set, which tab A's network holds back.
    const o = opts({ tokenStorage: "local", jwksMaxAge: 0, scope: "openid profile offline_access" });
    await signInWithClient(a, o, { prompt: "consent" }, world.app.url);
    await a.evaluate(async (o) => {
      window.auth = await window.oidc.createAuthClient(o);
      window.events = [];
      window.auth.onSessionChange((e) => window.events.push(e.type));
    }, o);
    let held = 0;
    await a.route(
      (u) => u.origin === world.op.url && u.pathname === "/jwks",
      async (route) => {
        held++;
        await sleep(1500);
        await route.continue().catch(() => {});
      },
    );
    // Tab B refreshes; tab A is told, and starts verifying the new session.
    await b.evaluate(async (o) => (await window.oidc.createAuthClient(o)).refresh(), o);
    await a.waitForFunction(() => true);
    for (let i = 0; i < 100 && held === 0; i++) await sleep(20);
    assert.ok(held > 0, "tab A is verifying tab B's session");
    // Meanwhile the user signs out in tab A.
    await a.evaluate(() => window.auth.logout({ openUrl: () => {} }));
    await sleep(2500);
    const r = await a.evaluate(() => ({
      signedIn: window.auth.isAuthenticated(),
      tokens: window.auth.getTokens(),
      events: window.events,
      stored: Object.keys(localStorage).filter((k) => k.startsWith("oidc-pkce:session:")),
    }));
    assert.deepEqual(r, { signedIn: false, tokens: null, events: ["signed_out"], stored: [] });
    await a.context().close();
  });

  it("a refresh answered after another tab signed out and in again does not land on the new session", async () => {
    const a = await newPage(world);
    const b = await a.context().newPage();
    await b.goto(world.appPage);
    await b.waitForFunction(() => window.oidc);
    const o = opts({ tokenStorage: "local", scope: "openid profile offline_access" });
    await signInWithClient(a, o, { prompt: "consent" }, world.app.url);
    // Tab A's refresh reaches the provider; its answer is held back.
    let release;
    const gate = new Promise((r) => (release = r));
    let answered = false;
    await a.route(
      (u) => u.origin === world.op.url && u.pathname === "/token",
      async (route) => {
        const response = await route.fetch();
        answered = true;
        await gate;
        await route.fulfill({ response }).catch(() => {});
      },
    );
    await a.evaluate(() => {
      window.events = [];
      window.auth.onSessionChange((e) => window.events.push(e.type));
      window.refreshing = window.auth.refresh().then((t) => t.accessToken, (e) => e.code);
    });
    for (let i = 0; i < 200 && !answered; i++) await sleep(20);
    assert.ok(answered, "the provider answered tab A's refresh");
    // Meanwhile, in tab B, the user signs out (the grant is revoked) and in again: a new grant.
    await b.evaluate(async (o) => (await window.oidc.createAuthClient(o)).logout({ openUrl: () => {} }), o);
    const url = await b.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl({ prompt: "login consent" }), o);
    const callbackUrl = await signIn(b, url, { appOrigin: world.app.url });
    const fresh = await b.evaluate(async ([o, u]) => {
      const auth = await window.oidc.createAuthClient(o);
      await auth.handleRedirectCallback(u);
      return auth.getTokens().accessToken;
    }, [o, callbackUrl]);
    await a.waitForFunction((t) => window.auth.getTokens()?.accessToken === t, fresh);
    release();
    const r = await a.evaluate(async () => ({
      refresh: await window.refreshing,
      accessToken: window.auth.getTokens()?.accessToken,
      events: window.events.slice(),
    }));
    assert.deepEqual(r.events, ["signed_out", "signed_in"], "tab A followed tab B, and nothing else happened");
    assert.equal(r.accessToken, fresh, "the new session's token, not the old grant's");
    assert.equal(r.refresh, fresh, "refresh() resolved to the session there is");
    // The new session works: its refresh token was not replaced by the revoked grant's.
    const after = await a.evaluate(() => window.auth.refresh().then(() => "refreshed", (e) => e.code));
    assert.equal(after, "refreshed");
    await a.context().close();
  });
});

describe("one callback, however many clients", () => {
  let grants;
  before(() => {
    grants = countGrants(world.op);
  });

  it("two clients of the same provider and client id in one page: one code exchange, and the grant stays good", async () => {
    const page = await newPage(world);
    const o = opts({ scope: "openid profile offline_access" });
    const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl({ prompt: "consent" }), o);
    const callbackUrl = await signIn(page, url, { appOrigin: world.app.url });
    const before = grants.authorization_code;
    const r = await page.evaluate(
      async ([o, u]) => {
        // Two mounts of the same options (a provider component and a plain call, say).
        const [first, second] = await Promise.all([window.oidc.createAuthClient(o), window.oidc.createAuthClient({ ...o })]);
        const outcomes = await Promise.all(
          [first, second].map((c) => c.handleRedirectCallback(u).then(() => "ok", (e) => e.code)),
        );
        const winner = outcomes[0] === "ok" ? first : second;
        const refreshed = await winner.refresh().then(() => "refreshed", (e) => e.code);
        return { outcomes, refreshed, sub: winner.getUser()?.sub };
      },
      [o, callbackUrl],
    );
    assert.deepEqual(r.outcomes.slice().sort(), ["missing_transaction", "ok"]);
    assert.equal(grants.authorization_code - before, 1, "one code exchange at the provider");
    assert.deepEqual([r.refreshed, r.sub], ["refreshed", "alice"], "the grant was not revoked");
    await page.context().close();
  });

  it("the same client, asked twice at once: one exchange; the second is missing_transaction", async () => {
    const page = await newPage(world);
    const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), opts());
    const callbackUrl = await signIn(page, url, { appOrigin: world.app.url });
    const before = grants.authorization_code;
    const outcomes = await page.evaluate(
      async ([o, u]) => {
        const auth = await window.oidc.createAuthClient(o);
        return Promise.all([auth.handleRedirectCallback(u), auth.handleRedirectCallback(u)].map((p) => p.then(() => "ok", (e) => e.code)));
      },
      [opts(), callbackUrl],
    );
    assert.deepEqual(outcomes.sort(), ["missing_transaction", "ok"]);
    assert.equal(grants.authorization_code - before, 1);
    await page.context().close();
  });
});

describe("redirects where they are normal", () => {
  it("a discovery document and a key set served through a 302 (a CDN, a moved path): the login works", async () => {
    const page = await newPage(world);
    const moved = [];
    const cors = { "access-control-allow-origin": "*" };
    for (const path of ["/.well-known/openid-configuration", "/jwks"]) {
      await page.route(
        (u) => u.origin === world.op.url && u.pathname === path && !u.searchParams.has("moved"),
        (route) => {
          moved.push(path);
          route.fulfill({ status: 302, headers: { ...cors, location: `${world.op.url}${path}?moved=1` } });
        },
      );
    }
    await signInWithClient(page, opts(), {}, world.app.url);
    const r = await page.evaluate(() => ({ sub: window.auth.getUser()?.sub, signedIn: window.auth.isAuthenticated() }));
    assert.deepEqual(r, { sub: "alice", signedIn: true });
    assert.deepEqual([...new Set(moved)].sort(), ["/.well-known/openid-configuration", "/jwks"]);
    await page.context().close();
  });

  it("a token request answered by a redirect is still refused, and nothing is sent on", async () => {
    const page = await newPage(world);
    const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), opts());
    const callbackUrl = await signIn(page, url, { appOrigin: world.app.url });
    const followed = [];
    await page.route(
      (u) => u.origin === world.op.url && u.pathname === "/token",
      (route) => route.fulfill({ status: 302, headers: { "access-control-allow-origin": "*", location: `${world.op.url}/elsewhere` } }),
    );
    await page.route((u) => u.pathname === "/elsewhere", (route) => {
      followed.push(route.request().method());
      route.fulfill({ status: 404, body: "" });
    });
    const e = await page.evaluate(
      async ([o, u]) => window.errorOf(async () => (await window.oidc.createAuthClient(o)).handleRedirectCallback(u)),
      [opts(), callbackUrl],
    );
    assert.equal(e.code, "invalid_token_response");
    assert.deepEqual(followed, []);
    await page.context().close();
  });
});

describe("what a callback is", () => {
  it("at a root redirectUri, ?state= or ?code= alone is the app's own address, not an authorization response", async () => {
    const page = await newPage(world);
    const root = `${world.app.url}/`;
    const r = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      const at = (q) => auth.isRedirectCallback(`${o.redirectUri}${q}`);
      return {
        state: at("?state=x"),
        code: at("?code=x"),
        codeAndState: at("?code=x&state=y"),
        errorAndState: at("?error=access_denied&state=y"),
        errorAlone: at("?error=access_denied"),
        other: at("?page=2"),
      };
    }, opts({ redirectUri: root }));
    assert.deepEqual(r, { state: false, code: false, codeAndState: true, errorAndState: true, errorAlone: false, other: false });
    await page.context().close();
  });
});

describe("what a storage writer can do", () => {
  it("a stored session that pairs alice's genuine ID token with bob's tokens signs nobody in", async () => {
    const o = opts({ tokenStorage: "local", scope: "openid profile offline_access" });
    const sessionOf = async (login) => {
      const page = await newPage(world);
      const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl({ prompt: "consent" }), o);
      const callbackUrl = await signIn(page, url, { appOrigin: world.app.url, login });
      await page.evaluate(async ([o, u]) => (await window.oidc.createAuthClient(o)).handleRedirectCallback(u), [o, callbackUrl]);
      return page;
    };
    const bob = await sessionOf("bob");
    const bobs = await bob.evaluate(() => {
      const key = Object.keys(localStorage).find((k) => k.startsWith("oidc-pkce:session:"));
      return JSON.parse(localStorage.getItem(key));
    });
    await bob.context().close();
    const alice = await sessionOf("alice");
    const r = await alice.evaluate(
      async ([o, bobs]) => {
        const key = Object.keys(localStorage).find((k) => k.startsWith("oidc-pkce:session:"));
        const s = JSON.parse(localStorage.getItem(key));
        // Same-origin storage written by someone else: alice's ID token, bob's tokens.
        const planted = { ...s, access_token: bobs.access_token, refresh_token: bobs.refresh_token, expires_at_ms: bobs.expires_at_ms };
        localStorage.setItem(key, JSON.stringify(planted));
        const auth = await window.oidc.createAuthClient(o);
        return {
          signedIn: auth.isAuthenticated(),
          sub: auth.getUser()?.sub ?? null,
          usesBobs: auth.getTokens()?.accessToken === bobs.access_token,
          left: localStorage.getItem(key) !== null,
        };
      },
      [o, bobs],
    );
    assert.deepEqual(r, { signedIn: false, sub: null, usesBobs: false, left: false });
    await alice.context().close();
  });
});
