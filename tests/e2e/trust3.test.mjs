// Trust, third round (issue 23): silent renewal that never switches the user,
// a kept discovery document that is storage until the provider confirms it,
// URLs read the way the browser reads them, requests that carry secrets never
// following redirects, popups, appState and extraParams, the refresh token kept
// inside the library. In Chromium against oidc-provider; each test failed on
// the code before its fix.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { publicClient, startProvider } from "../../scripts/provider.mjs";
import { clickLoginWithPopup, newPage, s256, signInInPopup, startWorld } from "./harness.mjs";

let world;
let op; // a provider with the redirect URIs these tests need beside the app page
let redirector; // answers 307 to /stolen, and records what reaches it
before(async () => {
  world = await startWorld();
  const logout = { post_logout_redirect_uris: [world.appPage] };
  op = await startProvider({
    clients: [
      publicClient("web", [world.appPage], logout),
      publicClient("query", [`${world.appPage}?from=popup`]),
      publicClient("root", [`${world.app.url}/`]),
    ],
    corsOrigins: [world.app.url],
  });
  redirector = await startRedirector();
});
after(async () => {
  await Promise.all([op?.close(), redirector?.close()]);
  await world?.close();
});

const opts = (extra = {}) => ({ issuer: op.issuer, clientId: "web", redirectUri: world.appPage, ...extra });
const OFFLINE = { scope: "openid offline_access", prompt: "consent" };
const outcome = (page) => page.evaluate(() => window.outcome);

/** A server whose every path but /stolen answers 307 to /stolen; `seen` records each request (method, path, body). */
async function startRedirector() {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const cors = {
        "Access-Control-Allow-Origin": world.app.url,
        "Access-Control-Allow-Headers": "content-type, dpop, authorization",
        "Access-Control-Allow-Methods": "GET, POST",
      };
      if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
      seen.push({ method: req.method, path: req.url, body });
      if (req.url === "/stolen") {
        return res.writeHead(200, { ...cors, "Content-Type": "application/json" }).end("{}");
      }
      res.writeHead(307, { ...cors, Location: "/stolen" }).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    stolen: () => seen.filter((r) => r.path === "/stolen"),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Signs the browser context in at the provider as `login` (prompt=login), without completing any callback. */
async function providerSessionAs(page, login) {
  const other = await page.context().newPage();
  const params = new URLSearchParams({
    client_id: "web",
    response_type: "code",
    redirect_uri: world.appPage,
    scope: "openid profile email", // what the client asks for: consent covers its renewals
    prompt: "login",
    state: "provider-session-switch",
    code_challenge: s256("x".repeat(43)),
    code_challenge_method: "S256",
  });
  await other.goto(`${op.url}/auth?${params}`);
  await other.fill("input[name=login]", login);
  await other.fill("input[name=password]", "any password");
  await Promise.all([other.waitForNavigation(), other.click("button[type=submit]")]);
  for (let step = 0; step < 2 && !other.url().startsWith(world.app.url); step++) {
    await Promise.all([other.waitForNavigation(), other.click("button[type=submit]")]);
  }
  assert.ok(other.url().startsWith(world.appPage), `back at the app: ${other.url()}`);
  await other.close();
}

/** Signs `page` in through a popup as `login` (window.auth is the client). */
async function popupLogin(page, clientOptions, popupOptions = {}, login = "alice") {
  const popup = await clickLoginWithPopup(page, clientOptions, popupOptions);
  await signInInPopup(popup, login);
  const r = await outcome(page);
  assert.equal(r.ok, true, JSON.stringify(r));
}

describe("1. silent renewal never switches the user", () => {
  it("the provider's session is another user's: login_required (reason sub), nothing stored, the old session stays", async () => {
    const page = await newPage(world);
    // leeway 3600: the one-hour access token is stale at once; no refresh token: silent renewal.
    const o = opts({ leeway: 3600 });
    await popupLogin(page, o);
    const before = await page.evaluate(() => ({ tokens: window.auth.getTokens(), stored: JSON.stringify(sessionStorage) }));
    await providerSessionAs(page, "bob");
    const r = await page.evaluate(async () => {
      const events = [];
      window.auth.onSessionChange((e) => events.push(e.type));
      const failure = (fn) => fn().then(() => null, (e) => e);
      const token = await failure(() => window.auth.getAccessToken());
      const fetched = await failure(() => window.auth.fetchWithAuth(location.href));
      return {
        token: [token?.code, token?.reason],
        message: token?.message,
        fetched: [fetched?.code, fetched?.reason],
        sub: window.auth.getUser()?.sub,
        tokens: window.auth.getTokens(),
        stored: JSON.stringify(sessionStorage),
        events,
        iframes: document.querySelectorAll("iframe").length,
      };
    });
    assert.deepEqual(r.token, ["login_required", "sub"], r.message);
    assert.deepEqual(r.fetched, ["login_required", "sub"]);
    assert.equal(r.sub, "alice", "still alice's session");
    assert.deepEqual(r.tokens, before.tokens, "alice's tokens, not bob's");
    const storedSession = (s) => Object.entries(JSON.parse(s)).filter(([k]) => k.startsWith("oidc-pkce:session:"));
    assert.deepEqual(storedSession(r.stored), storedSession(before.stored), "nothing of bob's was stored");
    assert.deepEqual(r.events, [], "no session event");
    assert.equal(r.iframes, 0);
    // A fresh client restored from storage is alice's too.
    const restored = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).getUser()?.sub, o);
    assert.equal(restored, "alice");
    await page.context().close();
  });

  it("five parallel getAccessToken() calls share one renewal: one prompt=none request, one code exchange, no iframe left", async () => {
    const page = await newPage(world);
    const o = opts({ leeway: 3600 });
    await popupLogin(page, o);
    const silent = [];
    const exchanges = [];
    page.context().on("request", (r) => {
      const u = new URL(r.url());
      if (u.origin === op.url && u.pathname === "/auth" && u.searchParams.get("prompt") === "none") silent.push(r.url());
      if (r.method() === "POST" && r.url() === `${op.url}/token`) exchanges.push(r.url());
    });
    const r = await page.evaluate(async () => {
      const first = window.auth.getTokens().accessToken;
      const tokens = await Promise.all([1, 2, 3, 4, 5].map(() => window.auth.getAccessToken()));
      return {
        same: tokens.every((t) => t === tokens[0]),
        renewed: tokens[0] !== first,
        current: window.auth.getTokens().accessToken === tokens[0],
        iframes: document.querySelectorAll("iframe").length,
      };
    });
    assert.deepEqual(r, { same: true, renewed: true, current: true, iframes: 0 });
    assert.equal(silent.length, 1, "one prompt=none request");
    assert.equal(exchanges.length, 1, "one code exchange");
    await page.context().close();
  });
});

describe("2. a kept discovery document is storage until the provider confirms it", () => {
  const toProvider = (u) => u.origin === op.url;
  const cut = (route) => route.abort("internetdisconnected");
  const discoveryKey = () => `oidc-pkce:discovery:${encodeURIComponent(op.issuer)}`;

  /** Signs in with tokenStorage "local", then changes the kept discovery document with `plant(doc)`. */
  async function signedInWithPlantedDocument(plant) {
    const page = await newPage(world);
    const o = opts({ tokenStorage: "local" });
    await popupLogin(page, o);
    await page.evaluate(
      ([key, planted]) => localStorage.setItem(key, JSON.stringify({ ...JSON.parse(localStorage.getItem(key)), ...planted })),
      [discoveryKey(), plant],
    );
    const elsewhere = [];
    page.context().on("request", (r) => r.url().startsWith("http://127.0.0.1:9/") && elsewhere.push(r.url()));
    return { page, o, elsewhere };
  }

  async function offlineStart(page, o) {
    await page.context().route(toProvider, cut);
    await page.reload();
    await page.waitForFunction(() => window.oidc);
    return page.evaluate(async (o) => {
      window.auth = await window.oidc.createAuthClient(o);
      return window.auth.isAuthenticated();
    }, o);
  }

  it("offline: no logout to the kept end_session_endpoint (buildLogoutUrl and logout refuse), the session ends here", async () => {
    const { page, o, elsewhere } = await signedInWithPlantedDocument({ end_session_endpoint: "http://127.0.0.1:9/logout" });
    assert.equal(await offlineStart(page, o), true, "the session started offline");
    const at = page.url();
    const r = await page.evaluate(async () => {
      const built = await window.errorOf(() => window.auth.buildLogoutUrl());
      const loggedOut = await window.errorOf(() => window.auth.logout({ openUrl: (u) => (window.opened = u) }));
      return { built: built?.code, loggedOut: loggedOut?.code, opened: window.opened ?? null, signedIn: window.auth.isAuthenticated() };
    });
    assert.deepEqual(r, { built: "network_error", loggedOut: "network_error", opened: null, signedIn: false });
    assert.equal(page.url(), at, "the page did not navigate");
    assert.deepEqual(elsewhere, []);
    await page.context().close();
  });

  it("offline: the kept document's jwks_uri is not fetched; the session is checked only against a stored key set", async () => {
    const { page, o, elsewhere } = await signedInWithPlantedDocument({ jwks_uri: "http://127.0.0.1:9/jwks" });
    // No key set is stored under the planted URI: nothing may vouch for the session.
    assert.equal(await offlineStart(page, o), false);
    assert.deepEqual(elsewhere, [], "nothing was fetched from the planted jwks_uri");
    await page.context().close();
  });

  it("back online, a planted document is not confirmed: invalid_discovery, the session and the kept document are dropped", async () => {
    const { page, o, elsewhere } = await signedInWithPlantedDocument({ end_session_endpoint: "http://127.0.0.1:9/logout" });
    assert.equal(await offlineStart(page, o), true);
    await page.context().unroute(toProvider, cut);
    const r = await page.evaluate(async (key) => {
      const code = (await window.errorOf(() => window.auth.fetchUserInfo()))?.code;
      const logout = (await window.errorOf(() => window.auth.buildLogoutUrl()))?.code;
      const stored = Object.keys(localStorage).filter((k) => k.startsWith("oidc-pkce:session:") || k === key);
      return { code, logout, signedIn: window.auth.isAuthenticated(), tokens: window.auth.getTokens(), stored };
    }, discoveryKey());
    assert.deepEqual(r, { code: "invalid_discovery", logout: "invalid_discovery", signedIn: false, tokens: null, stored: [] });
    assert.deepEqual(elsewhere, []);
    // The next client discovers afresh and is not signed in.
    const next = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).isAuthenticated(), o);
    assert.equal(next, false);
    await page.context().close();
  });
});

describe("3. URLs are read the way the browser reads them", () => {
  it("returnTo with a backslash before @ or .localhost is refused: the browser reads host evil.test", async () => {
    const page = await newPage(world);
    await popupLogin(page, opts());
    const at = page.url();
    const r = await page.evaluate(async () => {
      const out = [];
      for (const returnTo of ["http://evil.test\\@localhost/", "http://evil.test\\.localhost/", "http://evil.test\\@127.0.0.1:8080/x"]) {
        const built = await window.errorOf(() => window.auth.buildLogoutUrl({ returnTo }));
        const loggedOut = await window.errorOf(() => window.auth.logout({ returnTo, openUrl: (u) => (window.opened = u) }));
        out.push([new URL(returnTo).hostname, built?.code, loggedOut?.code]);
      }
      return { out, opened: window.opened ?? null, signedIn: window.auth.isAuthenticated() };
    });
    assert.deepEqual(r.out, [
      ["evil.test", "invalid_config", "invalid_config"],
      ["evil.test", "invalid_config", "invalid_config"],
      ["evil.test", "invalid_config", "invalid_config"],
    ]);
    assert.equal(r.opened, null);
    assert.equal(r.signedIn, true, "a refused logout changes nothing");
    assert.equal(page.url(), at);
    await page.context().close();
  });

  it("endpoints, issuer and redirectUri the two parsers read differently are invalid_config", async () => {
    const page = await newPage(world);
    const codes = await page.evaluate(async (o) => {
      const tries = [
        { ...o, endpoints: { token: "http://evil.test\\@127.0.0.1/token" } },
        { ...o, endpoints: { userinfo: "http://evil.test\\.localhost/me" } },
        { ...o, endpoints: { jwks: "https://user@127.0.0.1/jwks" } },
        { ...o, endpoints: { token: "http://127.0.0.1:99999/token" } },
        { ...o, endpoints: { token: "http://local%68ost/token" } },
        { ...o, issuer: "http://evil.test\\@127.0.0.1:3000" },
        { ...o, redirectUri: "http://evil.test\\@localhost/callback" },
        { ...o, redirectUri: "https://app.example\\@evil.test/callback" },
      ];
      const out = [];
      for (const t of tries) out.push((await window.errorOf(() => window.oidc.createAuthClient(t)))?.code);
      return out;
    }, opts());
    assert.deepEqual(codes, Array(8).fill("invalid_config"));
    await page.context().close();
  });

  it("a discovery document whose endpoint has a backslash is invalid_discovery", async () => {
    const page = await newPage(world);
    await page.route(`${op.url}/.well-known/openid-configuration`, async (route) => {
      const response = await route.fetch();
      const doc = await response.json();
      // The text reads as a loopback host (plain http allowed); the browser reads host evil.test.
      await route.fulfill({ response, json: { ...doc, token_endpoint: "http://evil.test\\.localhost/token" } });
    });
    const code = await page.evaluate(async (o) => (await window.errorOf(() => window.oidc.createAuthClient(o)))?.code, opts());
    assert.equal(code, "invalid_discovery");
    await page.context().close();
  });
});

describe("4. requests that carry a secret never follow a redirect", () => {
  it("a 307 from the token endpoint: invalid_token_response, and the code and code_verifier go nowhere else", async () => {
    const page = await newPage(world);
    const o = opts({ endpoints: { token: `${redirector.url}/token` } });
    const popup = await clickLoginWithPopup(page, o);
    await signInInPopup(popup).catch(() => {});
    const r = await outcome(page);
    assert.equal(r.code, "invalid_token_response", JSON.stringify(r));
    assert.ok(redirector.seen.some((s) => s.path === "/token" && s.body.includes("code_verifier=")), "the exchange reached the endpoint");
    assert.deepEqual(redirector.stolen(), [], "nothing was re-sent to the redirect's target");
    await page.context().close();
  });

  it("a 307 from the PAR endpoint: invalid_par_response, nothing re-sent", async () => {
    const page = await newPage(world);
    const code = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      return (await window.errorOf(() => auth.buildAuthorizeUrl()))?.code;
    }, opts({ pushedAuthorizationRequests: true, endpoints: { pushedAuthorizationRequest: `${redirector.url}/par` } }));
    assert.equal(code, "invalid_par_response");
    assert.ok(redirector.seen.some((s) => s.path === "/par"));
    assert.deepEqual(redirector.stolen(), []);
    await page.context().close();
  });

  it("a 307 from the revocation endpoint: revocation_failed, the refresh token re-sent nowhere", async () => {
    const page = await newPage(world);
    await popupLogin(page, opts({ endpoints: { revocation: `${redirector.url}/revoke` } }), OFFLINE);
    const code = await page.evaluate(async () => (await window.errorOf(() => window.auth.revokeTokens()))?.code);
    assert.equal(code, "revocation_failed");
    assert.ok(redirector.seen.some((s) => s.path === "/revoke" && s.body.includes("token=")));
    assert.deepEqual(redirector.stolen(), []);
    await page.context().close();
  });
});

describe("5. popups", () => {
  it("a redirectUri with a query is recognised by its parsed URL: the login completes", async () => {
    const page = await newPage(world);
    const popup = await clickLoginWithPopup(page, opts({ clientId: "query", redirectUri: `${world.appPage}?from=popup` }), { appState: 1 });
    await signInInPopup(popup);
    assert.deepEqual(await outcome(page), { ok: true, appState: 1 });
    assert.equal(await page.evaluate(() => window.auth.getUser()?.sub), "alice");
    await page.context().close();
  });

  it("a root redirectUri does not match another page of the origin", async () => {
    const page = await newPage(world);
    const popup = await clickLoginWithPopup(page, opts({ clientId: "root", redirectUri: `${world.app.url}/` }), { timeoutMs: 4000 });
    await popup.waitForSelector("input[name=login]"); // at the provider: the library is done navigating it
    await popup.goto(`${world.appPage}?code=planted&state=planted`);
    await popup.waitForTimeout(400);
    await popup.close();
    const r = await outcome(page);
    assert.equal(r.code, "popup_closed", JSON.stringify(r));
    await page.context().close();
  });

  it("a second loginWithPopup while one is open: popup_in_progress; the first completes with its own result", async () => {
    const page = await newPage(world);
    const popup = await clickLoginWithPopup(page, opts(), { appState: "first" });
    const popups = [];
    page.context().on("page", (p) => popups.push(p));
    const second = await page.evaluate(async () => {
      const r = await window.errorOf(() => window.auth.loginWithPopup({ appState: "second" }));
      return r?.code;
    });
    assert.equal(second, "popup_in_progress");
    assert.equal(popups.length, 0, "no second popup");
    await signInInPopup(popup);
    assert.deepEqual(await outcome(page), { ok: true, appState: "first" });
    await page.context().close();
  });

  it("a popup login that ends in access_denied leaves an existing session as it was", async () => {
    const page = await newPage(world);
    await popupLogin(page, opts({ tokenStorage: "local" }));
    const before = await page.evaluate(() => ({ tokens: window.auth.getTokens(), stored: JSON.stringify(localStorage) }));
    await page.context().clearCookies(); // the provider asks again
    const popup = await page.evaluate(() => {
      document.querySelector("#popup-login").onclick = () => {
        window.outcome = window.auth.loginWithPopup().then(
          () => ({ ok: true }),
          (e) => ({ ok: false, code: e.code }),
        );
      };
    }).then(() => Promise.all([page.waitForEvent("popup"), page.click("#popup-login")])).then(([p]) => p);
    await popup.waitForSelector("input[name=login]");
    await popup.click("text=[ Cancel ]").catch(() => {});
    assert.deepEqual(await outcome(page), { ok: false, code: "access_denied" });
    const after = await page.evaluate(() => ({
      tokens: window.auth.getTokens(),
      signedIn: window.auth.isAuthenticated(),
      stored: Object.keys(localStorage).filter((k) => k.startsWith("oidc-pkce:session:")).map((k) => localStorage.getItem(k)),
    }));
    assert.deepEqual(after.tokens, before.tokens);
    assert.equal(after.signedIn, true);
    const storedBefore = Object.entries(JSON.parse(before.stored)).filter(([k]) => k.startsWith("oidc-pkce:session:")).map(([, v]) => v);
    assert.deepEqual(after.stored, storedBefore);
    await page.context().close();
  });
});

describe("6. appState and extraParams", () => {
  it("appState with lone surrogates comes back as JSON.stringify wrote it", async () => {
    const page = await newPage(world);
    const url = await page.evaluate(async (o) => {
      window.appState = { s: "\ud800", "\udfff": ["a\ud83d", "\ude00b"], ok: "\ud83d\ude00" };
      return (await window.oidc.createAuthClient(o)).buildAuthorizeUrl({ appState: window.appState });
    }, opts({ transactionStorage: "local" }));
    await page.goto(url);
    await page.fill("input[name=login]", "alice");
    await page.fill("input[name=password]", "any password");
    await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
    await Promise.all([page.waitForURL((u) => u.origin === world.app.url), page.click("button[type=submit]")]);
    await page.waitForFunction(() => window.oidc);
    const r = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      const e = await window.errorOf(async () => (window.result = await auth.handleRedirectCallback()));
      const expected = JSON.stringify({ s: "\ud800", "\udfff": ["a\ud83d", "\ude00b"], ok: "\ud83d\ude00" });
      return { error: e?.code ?? null, same: e ? false : JSON.stringify(window.result.appState) === expected };
    }, opts({ transactionStorage: "local" }));
    assert.deepEqual(r, { error: null, same: true });
    await page.context().close();
  });

  it("extraParams values that are not well-formed strings, numbers or booleans: invalid_config naming the parameter", async () => {
    const page = await newPage(world);
    const r = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      const out = [];
      for (const extraParams of [{ ui_locales: "\ud800" }, { ui_locales: { nested: 1 } }, { ui_locales: [1] }]) {
        const e = await window.errorOf(() => auth.buildAuthorizeUrl({ extraParams }));
        out.push([e?.code, /ui_locales/.test(e?.message ?? ""), /must be an object/.test(e?.message ?? "")]);
      }
      const fine = await auth.buildAuthorizeUrl({ extraParams: { ui_locales: "fr \ud83d\ude00", n: 1, b: false } });
      return { out, fine: new URL(fine).searchParams.get("ui_locales") };
    }, opts());
    assert.deepEqual(r.out, Array(3).fill(["invalid_config", true, false]));
    assert.equal(r.fine, "fr \ud83d\ude00");
    await page.context().close();
  });
});

describe("9. the refresh token stays inside the library", () => {
  it("getTokens() has no refreshToken, but refresh works; exposeRefreshToken: true gives it", async () => {
    const page = await newPage(world);
    await popupLogin(page, opts(), OFFLINE);
    const r = await page.evaluate(async (o) => {
      const tokens = window.auth.getTokens();
      const refreshed = await window.auth.refresh();
      const exposed = await window.oidc.createAuthClient({ ...o, exposeRefreshToken: true });
      return {
        has: "refreshToken" in tokens,
        refreshedHas: "refreshToken" in refreshed,
        exposed: typeof exposed.getTokens()?.refreshToken,
      };
    }, opts());
    assert.deepEqual(r, { has: false, refreshedHas: false, exposed: "string" });
    await page.context().close();
  });
});
