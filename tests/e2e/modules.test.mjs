// Two modules, one core (issue 31): a page nobody is signed in to loads the
// anonymous module; a callback page and a signed-in page load the full one;
// a call that needs more loads the full one then; a page that guessed wrong
// still works. Which files each page fetched is read from the network.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { clickLoginWithPopup, keepLocal, signIn, signInInPopup, startWorld } from "./harness.mjs";

let world;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world?.close();
});

const opts = (extra = {}) => ({
  issuer: world.op.issuer,
  clientId: "web",
  redirectUri: world.appPage,
  scope: "openid profile offline_access",
  ...extra,
});

/** A page (in `context`, or a new one) whose module files fetched are listed in `loaded`. */
async function pageAt(context, { init } = {}) {
  context ??= await world.browser.newContext();
  await keepLocal(context);
  const page = await context.newPage();
  const loaded = [];
  page.on("request", (r) => {
    const m = /\/pkg\/(oidc_pkce\w*\.(?:wasm|js))$/.exec(new URL(r.url()).pathname);
    if (m) loaded.push(m[1]);
  });
  if (init) await page.addInitScript(init);
  await page.goto(world.appPage);
  await page.waitForFunction(() => window.oidc);
  return { page, loaded, context };
}

const ANONYMOUS = ["oidc_pkce_anonymous_bg.wasm"];
const FULL = ["oidc_pkce_bg.wasm"];
/** The full module after the anonymous one: with its copy of the glue. */
const THEN_FULL = [...ANONYMOUS, "oidc_pkce_full.js", ...FULL];
const sorted = (list) => [...new Set(list)].sort();

describe("which module a page loads", () => {
  it("a page nobody is signed in to loads the anonymous module only; the callback page loads the full one and signs in; a reload stays on the full one", async () => {
    const { page, loaded, context } = await pageAt();
    const o = opts();
    const anonymous = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      return {
        url: await auth.buildAuthorizeUrl({ appState: { from: "anonymous" } }),
        authenticated: auth.isAuthenticated(),
        user: auth.getUser() ?? null,
        callback: auth.isRedirectCallback(location.href),
      };
    }, o);
    assert.deepEqual(sorted(loaded), sorted(ANONYMOUS), "only the anonymous module");
    assert.equal(anonymous.authenticated, false);
    assert.equal(anonymous.user, null);
    assert.equal(anonymous.callback, false);
    const url = new URL(anonymous.url);
    assert.equal(url.searchParams.get("code_challenge_method"), "S256");

    loaded.length = 0;
    const callback = await signIn(page, anonymous.url, { appOrigin: world.app.url });
    const signedIn = await page.evaluate(
      async ([o, callback]) => {
        window.auth = await window.oidc.createAuthClient(o);
        const { appState } = await window.auth.handleRedirectCallback(callback);
        return { appState, authenticated: window.auth.isAuthenticated(), sub: window.auth.getUser()?.sub };
      },
      [o, callback],
    );
    assert.deepEqual(sorted(loaded), sorted(FULL), "the callback page: the full module only");
    assert.deepEqual(signedIn, { appState: { from: "anonymous" }, authenticated: true, sub: "alice" });

    loaded.length = 0;
    await page.goto(world.appPage);
    await page.waitForFunction(() => window.oidc);
    const restored = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).isAuthenticated(), o);
    assert.equal(restored, true);
    assert.deepEqual(sorted(loaded), sorted(FULL), "a signed-in page: the full module only");
    await context.close();
  });

  it("loginWithRedirect from the anonymous module: the pending login it stored completes on the callback page", async () => {
    const { page, loaded, context } = await pageAt();
    const o = opts();
    await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      await auth.loginWithRedirect({ appState: { n: 1 } });
    }, o);
    await page.waitForSelector("input[name=login]");
    assert.deepEqual(sorted(loaded), sorted(ANONYMOUS));
    await page.fill("input[name=login]", "alice");
    await page.fill("input[name=password]", "any password");
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    await Promise.all([page.waitForURL((u) => u.origin === world.app.url && u.searchParams.has("code")), page.click("button[type=submit]")]);
    await page.waitForFunction(() => window.oidc);
    const r = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      return { ...(await auth.handleRedirectCallback()), sub: auth.getUser()?.sub };
    }, o);
    assert.deepEqual(r, { appState: { n: 1 }, sub: "alice" });
    await context.close();
  });

  it("a page that guessed wrong (the session's key hidden from the guess) loads the full module after the anonymous one and restores the session", async () => {
    const context = await world.browser.newContext();
    // Sign in once in this context (sessionStorage is per tab: one page throughout).
    const { page, loaded } = await pageAt(context, {
      // Storage.key() lies about the session's key: the guess sees no session.
      init: () => {
        const key = Storage.prototype.key;
        Storage.prototype.key = function (i) {
          const k = key.call(this, i);
          return k?.startsWith("oidc-pkce:session:") ? "something-else" : k;
        };
      },
    });
    const o = opts();
    const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), o);
    const callback = await signIn(page, url, { appOrigin: world.app.url });
    await page.evaluate(async ([o, u]) => (await window.oidc.createAuthClient(o)).handleRedirectCallback(u), [o, callback]);
    loaded.length = 0;
    await page.goto(world.appPage);
    await page.waitForFunction(() => window.oidc);
    const r = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      return { authenticated: auth.isAuthenticated(), sub: auth.getUser()?.sub, token: typeof (await auth.getAccessToken()) };
    }, o);
    assert.deepEqual(r, { authenticated: true, sub: "alice", token: "string" });
    assert.deepEqual(sorted(loaded), sorted(THEN_FULL), "the anonymous module, then the full one");
    await context.close();
  });

  it("loginWithPopup from the anonymous module: the full module loads while the popup opens, and the login completes", async () => {
    const { page, loaded, context } = await pageAt();
    const popup = await clickLoginWithPopup(page, opts());
    await signInInPopup(popup);
    const outcome = await page.evaluate(() => window.outcome);
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
    assert.equal(await page.evaluate(() => window.auth.getUser()?.sub), "alice");
    assert.deepEqual(sorted(loaded), sorted(THEN_FULL));
    await context.close();
  });

  it("calls that need a session from the anonymous module: getAccessToken says login_required, checkSession answers, both through the full module", async () => {
    const { page, loaded, context } = await pageAt();
    const r = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      const token = await window.errorOf(() => auth.getAccessToken());
      return { token: token?.code, session: await auth.checkSession(), authenticated: auth.isAuthenticated() };
    }, opts());
    assert.deepEqual(r, { token: "login_required", session: false, authenticated: false });
    assert.deepEqual(sorted(loaded), sorted(THEN_FULL));
    await context.close();
  });

  it("another tab signs in (localStorage): the anonymous tab follows it through the full module: signed_in, the user, a token", async () => {
    const context = await world.browser.newContext();
    const o = opts({ tokenStorage: "local" });
    const a = await pageAt(context);
    await a.page.evaluate(async (o) => {
      window.auth = await window.oidc.createAuthClient(o);
      window.events = [];
      window.auth.onSessionChange((e) => window.events.push(e.type));
    }, o);
    assert.deepEqual(sorted(a.loaded), sorted(ANONYMOUS));
    const b = await pageAt(context);
    const url = await b.page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), o);
    const callback = await signIn(b.page, url, { appOrigin: world.app.url });
    await b.page.evaluate(async ([o, u]) => (await window.oidc.createAuthClient(o)).handleRedirectCallback(u), [o, callback]);
    await a.page.waitForFunction(() => window.auth.isAuthenticated(), null, { timeout: 10_000 });
    const r = await a.page.evaluate(async () => ({
      events: window.events,
      sub: window.auth.getUser()?.sub,
      token: typeof (await window.auth.getAccessToken()),
    }));
    assert.deepEqual(r, { events: ["signed_in"], sub: "alice", token: "string" });
    assert.deepEqual(sorted(a.loaded), sorted(THEN_FULL));
    await context.close();
  });

  it("tokenStorage an adapter: the full module from the start (its keys cannot be listed at once)", async () => {
    const { page, loaded, context } = await pageAt();
    await page.evaluate(async (o) => {
      const m = new Map();
      await window.oidc.createAuthClient({
        ...o,
        tokenStorage: { get: async (k) => m.get(k) ?? null, set: async (k, v) => void m.set(k, v), remove: async (k) => void m.delete(k) },
      });
    }, opts());
    assert.deepEqual(sorted(loaded), sorted(FULL));
    await context.close();
  });
});
