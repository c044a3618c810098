// Hostile input and misuse, provoked in Chromium against oidc-provider: the
// rules of RFC 9700 / RFC 6749 / RFC 8252 that the library enforces.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { newPage, signIn, startWorld } from "./harness.mjs";

let world;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world?.close();
});

const opts = (extra = {}) => ({ issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage, ...extra });

async function loginToCallback(page, o = opts(), a = {}) {
  const url = await page.evaluate(async ([o, a]) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(a), [o, a]);
  return { authorizeUrl: url, callbackUrl: await signIn(page, url, { appOrigin: world.app.url }) };
}

const callbackError = (page, o = opts()) =>
  page.evaluate(async (o) => {
    const auth = await window.oidc.createAuthClient(o);
    const e = await window.errorOf(() => auth.handleRedirectCallback());
    return { ...e, tokens: auth.getTokens() };
  }, o);

describe("transport", () => {
  it("plain http to a non-loopback provider is refused, unless allowInsecureRequests, which warns once", async () => {
    const page = await newPage(world);
    const warnings = [];
    page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
    const lan = {
      issuer: "http://id.lan",
      clientId: "c",
      redirectUri: world.appPage,
      endpoints: { authorization: "http://id.lan/authorize", token: "http://id.lan/token" },
    };
    const refused = await page.evaluate((o) => window.errorOf(() => window.oidc.createAuthClient(o)), lan);
    assert.equal(refused.code, "invalid_config");
    assert.match(refused.message, /https/);
    const ok = await page.evaluate(async (o) => {
      await window.oidc.createAuthClient({ ...o, allowInsecureRequests: true });
      await window.oidc.createAuthClient({ ...o, allowInsecureRequests: true });
      return true;
    }, lan);
    assert.equal(ok, true);
    await page.waitForTimeout(100);
    assert.equal(warnings.filter((w) => w.includes("allowInsecureRequests")).length, 1, warnings.join("\n"));
    await page.context().close();
  });
});

describe("oversized and deeply nested responses", () => {
  const big = JSON.stringify({ access_token: "x".repeat(2 * 1024 * 1024), token_type: "Bearer", id_token: "a.b.c" });
  const deep = `${"[".repeat(100000)}${"]".repeat(100000)}`;
  for (const [what, body, code] of [
    ["a 2 MiB token response", big, "invalid_token_response"],
    ["a token response nested 100000 deep", deep, "invalid_token_response"],
  ]) {
    it(`${code} for ${what}`, async () => {
      const page = await newPage(world);
      await loginToCallback(page);
      await page.route(`${world.op.url}/token`, (route) =>
        route.fulfill({ status: 200, contentType: "application/json", body, headers: { "access-control-allow-origin": world.app.url } }),
      );
      const r = await callbackError(page);
      assert.equal(r.code, code, r.message);
      assert.equal(r.tokens, null);
      await page.context().close();
    });
  }

  it("invalid_jwks for a 2 MiB key set", async () => {
    const page = await newPage(world);
    await loginToCallback(page);
    await page.route(`${world.op.url}/jwks`, (route) =>
      route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ keys: [], pad: "x".repeat(2 * 1024 * 1024) }) }),
    );
    const r = await callbackError(page);
    assert.equal(r.code, "invalid_jwks", r.message);
    assert.equal(r.tokens, null);
    await page.context().close();
  });
});

describe("stored state is input too", () => {
  it("a tampered pending login is discarded with a clear error, never used", async () => {
    const page = await newPage(world);
    await loginToCallback(page);
    const r = await page.evaluate(async (o) => {
      const key = Object.keys(sessionStorage).find((k) => k.startsWith("oidc-pkce:tx:"));
      const tx = JSON.parse(sessionStorage.getItem(key));
      sessionStorage.setItem(key, JSON.stringify({ ...tx, code_verifier: "short" }));
      const auth = await window.oidc.createAuthClient(o);
      const e = await window.errorOf(() => auth.handleRedirectCallback());
      return { code: e.code, message: e.message, left: sessionStorage.getItem(key) };
    }, opts());
    assert.equal(r.code, "missing_transaction");
    assert.match(r.message, /unreadable/);
    assert.equal(r.left, null);
    await page.context().close();
  });
});

describe("callbacks and the current session", () => {
  it("a crafted or replayed callback cannot sign the user out; a failed real login leaves no session", async () => {
    const page = await newPage(world);
    const o = opts({ tokenStorage: "local" });
    const { callbackUrl } = await loginToCallback(page, o);
    const r = await page.evaluate(async ([o, url, page]) => {
      const auth = await window.oidc.createAuthClient(o);
      await auth.handleRedirectCallback(url);
      const codes = [];
      for (const u of [url, `${page}?code=x&state=${"Z".repeat(43)}`, `${page}?error=access_denied`]) {
        codes.push((await window.errorOf(() => auth.handleRedirectCallback(u))).code);
      }
      return { codes, still: auth.isAuthenticated() };
    }, [o, callbackUrl, world.appPage]);
    assert.deepEqual(r, { codes: ["missing_transaction", "missing_transaction", "missing_transaction"], still: true });

    // A real login that fails (its ID token is refused) ends the session.
    const second = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), o);
    await page.goto(second);
    await page.waitForURL((u) => u.origin === world.app.url || u.pathname.startsWith("/interaction"));
    if (!page.url().startsWith(world.app.url)) {
      await Promise.all([page.waitForURL((u) => u.origin === world.app.url), page.click("button[type=submit]")]);
    }
    await page.waitForFunction(() => window.oidc);
    await page.route(`${world.op.url}/token`, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      await route.fulfill({ response, json: { ...body, id_token: `${body.id_token.slice(0, -4)}AAAA` } });
    });
    const after = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      const before = auth.isAuthenticated();
      const e = await window.errorOf(() => auth.handleRedirectCallback());
      const reloaded = await window.oidc.createAuthClient(o);
      return { before, code: e.code, authenticated: auth.isAuthenticated(), tokens: auth.getTokens(), stored: reloaded.isAuthenticated() };
    }, o);
    assert.deepEqual(after, { before: true, code: "invalid_id_token", authenticated: false, tokens: null, stored: false });
    await page.context().close();
  });
});

describe("secrets stay secret", () => {
  it("no code, verifier or token appears in the console or in an error message", async () => {
    const page = await newPage(world);
    const consoleText = [];
    page.on("console", (m) => consoleText.push(m.text()));
    const requests = [];
    page.on("request", (r) => r.url().startsWith(`${world.op.url}/token`) && requests.push(r.postData() ?? ""));
    const { callbackUrl } = await loginToCallback(page, opts(), { scope: "openid offline_access", prompt: "consent" });
    const code = new URL(callbackUrl).searchParams.get("code");
    const out = await page.evaluate(async ([o, url]) => {
      const auth = await window.oidc.createAuthClient(o);
      await auth.handleRedirectCallback(url);
      const tokens = auth.getTokens();
      const messages = [];
      // A replay, a forged code and a bad refresh: every message they make.
      for (const fn of [
        () => auth.handleRedirectCallback(url),
        () => auth.handleRedirectCallback(url.replace(/code=[^&]+/, "code=forged")),
        () => auth.getAccessToken({ forceRefresh: true, scope: "not-granted" }),
      ]) {
        const e = await window.errorOf(fn);
        if (e) messages.push(`${e.code} ${e.message} ${e.errorDescription ?? ""}`);
      }
      return { tokens, messages, debug: String(auth) };
    }, [opts({ exposeRefreshToken: true }), callbackUrl]);
    const verifier = new URLSearchParams(requests[0]).get("code_verifier");
    const secrets = [code, verifier, out.tokens.accessToken, out.tokens.idToken, out.tokens.refreshToken];
    assert.ok(secrets.every((s) => typeof s === "string" && s.length > 10));
    const everything = [...consoleText, ...out.messages, out.debug].join("\n");
    for (const s of secrets) assert.ok(!everything.includes(s), `a secret leaked: ${s.slice(0, 6)}…`);
    assert.ok(out.messages.length >= 2, out.messages.join("\n"));
    await page.context().close();
  });
});
