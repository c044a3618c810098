// Tokens that stay fresh: getAccessToken, rotation, single flight across calls
// and tabs, failures. oidc-provider issues 4-second access tokens here and
// rotates refresh tokens (its default for public clients).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { newPage, signIn, startWorld } from "./harness.mjs";

const ACCESS_TTL_S = 4;
let world;
before(async () => {
  world = await startWorld({ providerOptions: { ttl: { AccessToken: ACCESS_TTL_S } } });
});
after(async () => {
  await world?.close();
});

// leeway 2: an access token counts as stale 2 s before it expires.
const opts = (extra = {}) => ({ issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage, leeway: 2, exposeRefreshToken: true, ...extra });
const OFFLINE = { scope: "openid profile email offline_access", prompt: "consent" };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const STALE_MS = (ACCESS_TTL_S - 2) * 1000 + 300;

/** Signs in (with a refresh token unless told otherwise) and completes the callback in `page`. */
async function signedIn(page, clientOptions = opts(), authorizeOptions = OFFLINE) {
  const url = await page.evaluate(
    async ([o, a]) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(a),
    [clientOptions, authorizeOptions],
  );
  await signIn(page, url, { appOrigin: world.app.url });
  return page.evaluate(async (o) => {
    window.events = [];
    window.auth = await window.oidc.createAuthClient(o);
    window.auth.onSessionChange((e) => window.events.push(e.type));
    await window.auth.handleRedirectCallback();
    return window.auth.getTokens();
  }, clientOptions);
}

/** Records the refresh requests a page (or a whole context) sends to the token endpoint. */
function refreshRequests(target) {
  const seen = [];
  target.on("request", (r) => {
    if (r.url() === `${world.op.url}/token` && r.method() === "POST") {
      const body = new URLSearchParams(r.postData() ?? "");
      if (body.get("grant_type") === "refresh_token") seen.push(body.get("refresh_token"));
    }
  });
  return seen;
}

const accessToken = (page, o = {}) => page.evaluate((o) => window.auth.getAccessToken(o), o);
const failure = (page, o = {}) => page.evaluate((o) => window.errorOf(() => window.auth.getAccessToken(o)), o);

describe("getAccessToken and rotation", () => {
  it("refreshes when stale and not before, never reuses a rotated refresh token, and a reused one ends the session", async () => {
    const page = await newPage(world);
    const refreshes = refreshRequests(page);
    const first = await signedIn(page);
    assert.ok(first.refreshToken, "offline_access gives a refresh token");

    assert.equal(await accessToken(page), first.accessToken);
    assert.equal(refreshes.length, 0, "no refresh while the token is fresh");

    await sleep(STALE_MS);
    const second = await accessToken(page);
    assert.notEqual(second, first.accessToken);
    assert.deepEqual(refreshes, [first.refreshToken]);
    assert.equal(await accessToken(page), second, "the refreshed token is cached");

    const rotated = (await page.evaluate(() => window.auth.getTokens())).refreshToken;
    assert.notEqual(rotated, first.refreshToken, "oidc-provider rotated the refresh token");
    const third = await accessToken(page, { forceRefresh: true });
    assert.notEqual(third, second);
    assert.deepEqual(refreshes, [first.refreshToken, rotated], "each refresh used the newest refresh token");
    const claims = await page.evaluate(() => window.auth.getIdTokenClaims());
    assert.equal(claims.sub, "alice", "the refreshed ID token was verified and kept the subject");

    // The provider refuses the first, rotated-out refresh token (and, seeing
    // it reused, revokes the whole grant).
    const res = await fetch(`${world.op.url}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: "web", refresh_token: first.refreshToken }),
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, "invalid_grant");

    // So the client's next refresh gets invalid_grant: login_required, signed out.
    const err = await failure(page, { forceRefresh: true });
    assert.equal(err.code, "login_required");
    assert.equal(err.error, "invalid_grant");
    assert.ok(err.errorDescription);
    const after = await page.evaluate(() => ({ a: window.auth.isAuthenticated(), t: window.auth.getTokens(), e: window.events }));
    assert.deepEqual(after, { a: false, t: null, e: ["signed_in", "refreshed", "refreshed", "signed_out"] });
    await page.context().close();
  });

  for (const webLocks of [true, false]) {
    it(`20 concurrent getAccessToken calls after expiry make exactly one refresh request (Web Locks ${webLocks ? "on" : "off"})`, async () => {
      const page = await newPage(world);
      if (!webLocks) {
        // As in a browser without the Web Locks API: the page's own single flight must do it.
        await page.addInitScript(() => Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined }));
        await page.reload();
        await page.waitForFunction(() => window.oidc && navigator.locks === undefined);
      }
      const refreshes = refreshRequests(page);
      const first = await signedIn(page);
      await sleep(STALE_MS);
      const tokens = await page.evaluate(() => Promise.all(Array.from({ length: 20 }, () => window.auth.getAccessToken())));
      assert.equal(refreshes.length, 1, `token requests: ${refreshes.length}`);
      assert.equal(new Set(tokens).size, 1);
      assert.notEqual(tokens[0], first.accessToken);
      console.log(`# concurrency (Web Locks ${webLocks ? "on" : "off"}): 20 getAccessToken calls -> ${refreshes.length} refresh request(s)`);
      await page.context().close();
    });
  }

  it("without offline_access: refresh() is missing_refresh_token; getAccessToken renews silently, then login_required", async () => {
    const page = await newPage(world);
    const t = await signedIn(page, opts(), {});
    assert.equal(t.refreshToken, null);
    const err = await page.evaluate(() => window.errorOf(() => window.auth.refresh()));
    assert.equal(err.code, "missing_refresh_token");
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), true, "the session itself is kept");
    // getAccessToken has another way: silent authentication (issue 12).
    const renewed = await accessToken(page, { forceRefresh: true });
    assert.notEqual(renewed, t.accessToken);
    await page.context().clearCookies(); // no provider session any more
    assert.equal((await failure(page, { forceRefresh: true })).code, "login_required");
    await page.context().close();
  });
});

describe("two tabs sharing localStorage", () => {
  it("refresh once between them (Web Locks); both get a valid token and neither gets invalid_grant", async () => {
    const tabA = await newPage(world);
    const context = tabA.context();
    const refreshes = refreshRequests(context);
    const o = opts({ tokenStorage: "local" });
    const first = await signedIn(tabA, o);
    const tabB = await context.newPage();
    await tabB.goto(world.appPage);
    await tabB.waitForFunction(() => window.oidc);
    const restored = await tabB.evaluate(async (o) => {
      window.auth = await window.oidc.createAuthClient(o);
      return window.auth.getTokens();
    }, o);
    assert.equal(restored.refreshToken, first.refreshToken, "tab B restored the session from localStorage");

    await sleep(STALE_MS);
    const both = await Promise.all(
      [tabA, tabB].map((p) =>
        p.evaluate(async () => {
          try {
            return { token: await window.auth.getAccessToken() };
          } catch (e) {
            return { error: `${e.code}: ${e.message}` };
          }
        }),
      ),
    );
    assert.deepEqual(both.map((r) => r.error), [undefined, undefined], JSON.stringify(both));
    assert.equal(both[0].token, both[1].token);
    const results = await Promise.all([tabA, tabB].map((p) => p.evaluate(() => window.auth.getTokens())));
    assert.equal(refreshes.length, 1, `refresh requests from both tabs: ${refreshes.length}`);
    assert.equal(results[0].accessToken, results[1].accessToken);
    assert.notEqual(results[0].accessToken, first.accessToken);
    assert.equal(results[0].refreshToken, results[1].refreshToken, "tab B took up the rotated refresh token");
    console.log(`# concurrency: 2 tabs -> ${refreshes.length} refresh request(s)`);

    // And the token works at the provider.
    const info = await tabB.evaluate(() => window.auth.fetchUserInfo());
    assert.equal(info.sub, "alice");
    await context.close();
  });
});

describe("reload and failures", () => {
  for (const storage of ["session", "local"]) {
    it(`"${storage}": still signed in after a reload, and refresh still works`, async () => {
      const page = await newPage(world);
      const o = opts({ tokenStorage: storage });
      const first = await signedIn(page, o);
      await page.reload();
      await page.waitForFunction(() => window.oidc);
      const out = await page.evaluate(async (o) => {
        window.auth = await window.oidc.createAuthClient(o);
        const before = window.auth.isAuthenticated();
        const token = await window.auth.getAccessToken({ forceRefresh: true });
        return { before, token };
      }, o);
      assert.equal(out.before, true);
      assert.notEqual(out.token, first.accessToken);
      await page.context().close();
    });
  }

  it("network failures are retried twice, then reported without ending the session; the next call succeeds", async () => {
    const page = await newPage(world);
    await signedIn(page);
    let attempts = 0;
    await page.route(`${world.op.url}/token`, (route) => {
      attempts += 1;
      return route.abort("connectionreset");
    });
    const err = await failure(page, { forceRefresh: true });
    assert.equal(err.code, "network_error");
    assert.equal(attempts, 3, "one request and two retries");
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), true);

    // One failure, then the provider: the retry succeeds.
    await page.unroute(`${world.op.url}/token`);
    let aborted = 0;
    await page.route(`${world.op.url}/token`, (route) => (aborted++ === 0 ? route.abort("connectionreset") : route.continue()));
    const token = await accessToken(page, { forceRefresh: true });
    assert.ok(token);
    assert.equal(aborted, 2);
    await page.context().close();
  });

  it("an HTTP error is never retried, and only invalid_grant ends the session", async () => {
    const page = await newPage(world);
    await signedIn(page);
    let attempts = 0;
    await page.route(`${world.op.url}/token`, (route) => {
      attempts += 1;
      return route.fulfill({
        status: 400,
        json: { error: "invalid_request", error_description: "try later" },
        headers: { "access-control-allow-origin": world.app.url },
      });
    });
    const err = await failure(page, { forceRefresh: true });
    assert.equal(err.code, "invalid_request");
    assert.equal(err.status, 400);
    assert.equal(attempts, 1);
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), true);
    await page.context().close();
  });

  it("a revoked refresh token: the provider's invalid_grant becomes login_required and signs out", async () => {
    const page = await newPage(world);
    const t = await signedIn(page);
    const revoked = await fetch(`${world.op.url}/token/revocation`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: t.refreshToken, token_type_hint: "refresh_token", client_id: "web" }),
    });
    assert.equal(revoked.status, 200);
    const err = await failure(page, { forceRefresh: true });
    assert.equal(err.code, "login_required");
    assert.equal(err.error, "invalid_grant");
    const state = await page.evaluate(() => ({ a: window.auth.isAuthenticated(), e: window.events }));
    assert.deepEqual(state, { a: false, e: ["signed_in", "signed_out"] });
    await page.context().close();
  });
});
