// fetchWithAuth (issue 14, bearer part): the app's request sent with the
// access token, refreshed first when needed. In Chromium against oidc-provider.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { newPage, signInWithClient, startWorld } from "./harness.mjs";

let world;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world?.close();
});

const opts = (extra = {}) => ({ issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage, ...extra });

/** A whole login; `window.auth` is the client afterwards (harness.mjs). */
const signedIn = (page, clientOptions = opts(), authorizeOptions) =>
  signInWithClient(page, clientOptions, authorizeOptions, world.app.url);

/** Answers requests to the app's /api/ with `status`, recording what they carried. */
async function fakeApi(page, status = 200) {
  const seen = [];
  await page.route(`${world.app.url}/api/**`, (route) => {
    const r = route.request();
    seen.push({ url: r.url(), method: r.method(), headers: r.headers(), body: r.postData() });
    return route.fulfill({ status, contentType: "application/json", body: JSON.stringify({ answered: status }) });
  });
  return seen;
}

describe("fetchWithAuth", () => {
  it("sends the app's request as given, with Authorization: Bearer and the current access token; any status resolves", async () => {
    const page = await newPage(world);
    await signedIn(page);
    const seen = await fakeApi(page, 418);
    const r = await page.evaluate(async () => {
      const response = await window.auth.fetchWithAuth("/api/orders?x=1", {
        method: "POST",
        headers: { "X-App": "1", "Content-Type": "application/json" },
        body: JSON.stringify({ a: 1 }),
      });
      return { isResponse: response instanceof Response, status: response.status, json: await response.json(), token: window.auth.getTokens().accessToken };
    });
    assert.deepEqual([r.isResponse, r.status, r.json], [true, 418, { answered: 418 }]);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].url, `${world.app.url}/api/orders?x=1`);
    assert.equal(seen[0].method, "POST");
    assert.equal(seen[0].headers.authorization, `Bearer ${r.token}`);
    assert.equal(seen[0].headers["x-app"], "1");
    assert.equal(seen[0].body, '{"a":1}');
    await page.context().close();
  });

  it("against a real resource (the provider's userinfo): the token is accepted", async () => {
    const page = await newPage(world);
    await signedIn(page);
    const r = await page.evaluate(async (url) => {
      const response = await window.auth.fetchWithAuth(new URL(url));
      return { status: response.status, body: await response.json() };
    }, `${world.op.url}/me`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.sub, "alice");
    await page.context().close();
  });

  it("an access token about to expire is refreshed first, and the new one is sent", async () => {
    const page = await newPage(world);
    // leeway 3600 against a one-hour token: it is always "about to expire".
    const o = opts({ leeway: 3600 });
    await signedIn(page, o, { scope: "openid offline_access", prompt: "consent" });
    const seen = await fakeApi(page);
    const r = await page.evaluate(async () => {
      const before = window.auth.getTokens().accessToken;
      const response = await window.auth.fetchWithAuth("/api/me");
      return { before, after: window.auth.getTokens().accessToken, status: response.status };
    });
    assert.equal(r.status, 200);
    assert.notEqual(r.after, r.before, "refreshed");
    assert.equal(seen[0].headers.authorization, `Bearer ${r.after}`);
    await page.context().close();
  });

  it("not signed in: login_required and nothing is sent; a request that cannot be sent: network_error", async () => {
    const page = await newPage(world);
    const seen = await fakeApi(page);
    const e = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      return window.errorOf(() => auth.fetchWithAuth("/api/x"));
    }, opts({ tokenStorage: "memory" }));
    assert.equal(e.code, "login_required");
    assert.equal(seen.length, 0);
    await signedIn(page);
    await page.route(`${world.app.url}/down/**`, (route) => route.abort("connectionrefused"));
    const down = await page.evaluate(() => window.errorOf(() => window.auth.fetchWithAuth("/down/x")));
    assert.equal(down.name, "AuthError");
    assert.equal(down.code, "network_error");
    // A no-cors request would lose the header silently: refused, nothing sent.
    const before = seen.length;
    const noCors = await page.evaluate(() => window.errorOf(() => window.auth.fetchWithAuth("/api/x", { mode: "no-cors" })));
    assert.equal(noCors.code, "invalid_config");
    assert.match(noCors.message, /no-cors/);
    assert.equal(seen.length, before);
    await page.context().close();
  });
});
