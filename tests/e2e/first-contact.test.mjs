// First contact (issue 13): what a new user meets when something is off. A
// typo in an option, a module that does not load: each must say what is
// wrong and what to do, in Chromium.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { keepLocal, newPage, signIn, startWorld } from "./harness.mjs";

let world;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world?.close();
});

const opts = (extra = {}) => ({ issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage, ...extra });

describe("typos are refused, naming the option meant", () => {
  it("unknown keys of createAuthClient, endpoints and login options are invalid_config", async () => {
    const page = await newPage(world);
    const r = await page.evaluate(async ([base, appPage]) => {
      const { redirectUri: _r, clientId: _c, ...rest } = base;
      const tries = {
        redirect_uri: { ...rest, clientId: "web", redirect_uri: appPage },
        clientID: { ...rest, clientID: "web", redirectUri: appPage },
        endpoints: { ...base, endpoints: { authorize: `${base.issuer}/auth` } },
        emptyDomain: { domain: "", clientId: "web", redirectUri: appPage },
      };
      const out = {};
      for (const [name, o] of Object.entries(tries)) {
        const e = await window.errorOf(() => window.oidc.createAuthClient(o));
        out[name] = e && `${e.code}: ${e.message}`;
      }
      const auth = await window.oidc.createAuthClient(base);
      const e = await window.errorOf(() => auth.buildAuthorizeUrl({ login_hint: "alice" }));
      out.login_hint = e && `${e.code}: ${e.message}`;
      out.fine = (await auth.buildAuthorizeUrl({ loginHint: "alice", appState: { a: 1 } })).includes("login_hint=alice");
      return out;
    }, [opts(), world.appPage]);
    assert.match(r.redirect_uri, /^invalid_config: `redirect_uri` is not an option of createAuthClient; did you mean `redirectUri`\?/);
    assert.match(r.clientID, /^invalid_config: `clientID` .* did you mean `clientId`\?/);
    assert.match(r.endpoints, /^invalid_config: `authorize` is not an option of `endpoints`; did you mean `authorization`\?/);
    assert.match(r.emptyDomain, /^invalid_config: `domain` must be a host name such as tenant\.auth0\.com/);
    assert.match(r.login_hint, /^invalid_config: `login_hint` .* did you mean `loginHint`\?/);
    assert.equal(r.fine, true);
    await page.context().close();
  });

  it("an option of the wrong type is invalid_config naming it, and a right one still works", async () => {
    const page = await newPage(world);
    const r = await page.evaluate(async (base) => {
      const out = {};
      const tries = {
        httpTimeoutMs: { ...base, httpTimeoutMs: "10000" },
        dpop: { ...base, dpop: "yes" },
        scope: { ...base, scope: ["openid"] },
        endpoints: { ...base, endpoints: "https://id.example.com/token" },
        idTokenSigningAlgs: { ...base, idTokenSigningAlgs: "RS256" },
      };
      for (const [name, o] of Object.entries(tries)) {
        const e = await window.errorOf(() => window.oidc.createAuthClient(o));
        out[name] = e && `${e.code}: ${e.message}`;
      }
      const auth = await window.oidc.createAuthClient({ ...base, httpTimeoutMs: 5000, idTokenSigningAlgs: ["RS256"], scope: undefined });
      for (const [name, o] of Object.entries({ maxAge: { maxAge: "300" }, extraParams: { extraParams: "ui_locales=fr" }, prompt: { prompt: true } })) {
        const e = await window.errorOf(() => auth.buildAuthorizeUrl(o));
        out[name] = e && `${e.code}: ${e.message}`;
      }
      out.fine = new URL(await auth.buildAuthorizeUrl({ maxAge: 300, extraParams: { ui_locales: "fr", n: 2, skip: undefined } })).search;
      const v = await window.errorOf(() => window.oidc.verifyIdToken("a.b.c", { clientId: "web", jwks: { keys: [] } }));
      out.verifyIssuer = v && `${v.code}: ${v.message}`;
      const l = await window.errorOf(() => window.oidc.verifyIdToken("a.b.c", { issuer: base.issuer, clientId: "web", jwks: { keys: [] }, leeway: -5 }));
      out.verifyLeeway = l && `${l.code}: ${l.message}`;
      return out;
    }, opts());
    assert.equal(r.httpTimeoutMs, "invalid_config: `httpTimeoutMs` must be a number");
    assert.equal(r.dpop, "invalid_config: `dpop` must be true or false");
    assert.equal(r.scope, "invalid_config: `scope` must be a string");
    assert.equal(r.endpoints, "invalid_config: `endpoints` must be an object");
    assert.equal(r.idTokenSigningAlgs, "invalid_config: `idTokenSigningAlgs` must be an array of strings");
    assert.equal(r.maxAge, "invalid_config: `maxAge` must be a number");
    assert.equal(r.extraParams, "invalid_config: `extraParams` must be an object");
    assert.equal(r.prompt, "invalid_config: `prompt` must be a string");
    const fine = new URLSearchParams(r.fine);
    assert.equal(fine.get("max_age"), "300");
    assert.equal(fine.get("ui_locales"), "fr");
    assert.equal(fine.get("n"), "2");
    assert.equal(fine.has("skip"), false);
    assert.equal(r.verifyIssuer, "invalid_config: `issuer` is required");
    assert.equal(r.verifyLeeway, "invalid_config: `leeway` must be a whole number of seconds");
    await page.context().close();
  });
});

describe("a call that needs a session says what was forgotten", () => {
  for (const build of ["default", "production"]) {
    it(`${build} build: login_required names loginWithRedirect() before a login, handleRedirectCallback() on a callback nothing handled`, async () => {
      const page = await newPage(world, { at: `${world.appPage}${build === "production" ? "?build=production" : ""}` });
      const warnings = [];
      page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
      const o = opts();
      const before = await page.evaluate(async (o) => window.errorOf(async () => (await window.oidc.createAuthClient(o)).getAccessToken()), o);
      assert.equal(before.code, "login_required");
      assert.equal(before.reason, "not_signed_in");
      if (build === "default") assert.match(before.message, /loginWithRedirect\(\)/);
      const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), o);
      let callback = await signIn(page, url, { appOrigin: world.app.url });
      if (build === "production") {
        // (The provider redirects to the registered page; the same callback, in the production build.)
        callback += "&build=production";
        await page.goto(callback);
        await page.waitForFunction(() => window.oidc);
      }
      // The app forgot handleRedirectCallback(): two calls, one warning (default build only).
      const forgot = await page.evaluate(async (o) => {
        const auth = await window.oidc.createAuthClient(o);
        return [await window.errorOf(() => auth.getAccessToken()), await window.errorOf(() => auth.fetchWithAuth("/api"))];
      }, o);
      for (const e of forgot) {
        assert.equal(e.code, "login_required");
        assert.equal(e.reason, "callback_not_handled");
        if (build === "default") assert.match(e.message, /handleRedirectCallback\(\)/);
      }
      const said = warnings.filter((w) => w.includes("handleRedirectCallback()"));
      assert.equal(said.length, build === "default" ? 1 : 0, JSON.stringify(warnings));
      // Handled, the same page has its session.
      const token = await page.evaluate(async ([o, u]) => {
        const auth = await window.oidc.createAuthClient(o);
        await auth.handleRedirectCallback(u);
        return typeof (await auth.getAccessToken());
      }, [o, callback]);
      assert.equal(token, "string");
      await page.context().close();
    });
  }
});

describe("a module that does not load says why", () => {
  /** A fresh page whose requests for `path` get `answer` (a route handler). */
  async function pageWith(path, answer, { csp } = {}) {
    const context = await world.browser.newContext();
    await keepLocal(context);
    if (path) await context.route(`${world.app.url}${path}`, answer);
    if (csp) {
      await context.route(world.appPage, async (route) => {
        const response = await route.fetch();
        await route.fulfill({ response, headers: { ...response.headers(), "content-security-policy": csp } });
      });
    }
    const page = await context.newPage();
    const problems = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(world.appPage);
    await page.waitForFunction(() => window.errorOf);
    return { page, problems };
  }

  const attempt = (page, o) =>
    page.evaluate(async (o) => {
      const e = await window.errorOf(() => window.oidc.createAuthClient(o));
      // Give a stray rejection the time to surface.
      await new Promise((r) => setTimeout(r, 200));
      return e;
    }, o);

  for (const [what, answer, expect] of [
    [
      "a page served instead of the .wasm (a dev server's index.html)",
      (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>app</title>" }),
      [/text\/html/, /optimizeDeps/],
    ],
    ["a .wasm that is not there", (route) => route.fulfill({ status: 404, contentType: "text/plain", body: "not found" }), [/HTTP 404/, /serve the whole package folder/]],
    ["a request that fails", (route) => route.abort("connectionrefused"), [/could not be fetched/]],
    [
      "a dev server that refuses it (Vite, a linked package outside server.fs.allow)",
      (route) => route.fulfill({ status: 403, contentType: "text/plain", body: "outside of Vite serving allow list" }),
      [/HTTP 403/, /server\.fs\.allow/],
    ],
  ]) {
    it(`module_load_failed for ${what}: the URL, what came back, the likely fix; no unhandled rejection`, async () => {
      // (A page nobody is signed in to loads the anonymous module first.)
      const { page, problems } = await pageWith("/pkg/oidc_pkce_anonymous_bg.wasm", answer);
      const e = await attempt(page, opts());
      assert.equal(e?.code, "module_load_failed", JSON.stringify(e));
      assert.equal(e.isAuthError, true);
      assert.ok(e.message.includes(`${world.app.url}/pkg/oidc_pkce_anonymous_bg.wasm`), e.message);
      for (const re of expect) assert.match(e.message, re);
      assert.deepEqual(problems, [], "no unhandled rejection beside the AuthError");
      await page.context().close();
    });
  }

  it("module_load_failed names 'wasm-unsafe-eval' when the page's CSP forbids compiling WebAssembly", async () => {
    const { page } = await pageWith(null, null, { csp: "script-src 'self' 'unsafe-inline'" });
    const e = await attempt(page, opts());
    assert.equal(e?.code, "module_load_failed", JSON.stringify(e));
    assert.match(e.message, /'wasm-unsafe-eval'/);
    await page.context().close();
  });
});
