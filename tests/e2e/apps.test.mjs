// Real hybrid apps and apps that call several APIs (issue 25): the app's own
// transport (`fetch` option), an auth session that hands the callback URL
// back (`openUrl` resolving to it), tabs that agree, tokens per API. In
// Chromium against oidc-provider.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { publicClient, resourceIndicators, startProvider } from "../../scripts/provider.mjs";
import { KEYS, newPage, signIn, signInCustomScheme, signInWithClient, startWorld } from "./harness.mjs";

let world;
let native; // a provider that refuses the page's origin: its only client has a custom-scheme redirect URI
let proxy; // forwards /p?u=<url> to <url> from Node, where CORS does not apply; records what it forwarded
before(async () => {
  world = await startWorld();
  native = await startProvider({
    clients: [publicClient("native", ["com.example.app://callback"], { application_type: "native" })],
    jwks: { keys: [KEYS.rsa] },
  });
  proxy = await startProxy(world.app.url);
});
after(async () => {
  await Promise.all([native?.close(), proxy?.close()]);
  await world?.close();
});

const NATIVE = { clientId: "native", redirectUri: "com.example.app://callback" };

/** A server-side relay standing in for native HTTP: no CORS between it and the provider. */
async function startProxy(appOrigin) {
  const seen = [];
  const server = http.createServer((req, res) => {
    const cors = {
      "Access-Control-Allow-Origin": appOrigin,
      "Access-Control-Allow-Headers": "content-type, authorization, dpop, accept",
      "Access-Control-Allow-Methods": "GET, POST",
      "Access-Control-Expose-Headers": "dpop-nonce, www-authenticate, cache-control",
    };
    if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const target = new URL(req.url, "http://proxy").searchParams.get("u");
      seen.push({ method: req.method, url: target });
      const headers = {};
      for (const name of ["content-type", "authorization", "dpop", "accept"]) {
        if (req.headers[name]) headers[name] = req.headers[name];
      }
      try {
        const answer = await fetch(target, {
          method: req.method,
          headers,
          body: req.method === "GET" ? undefined : Buffer.concat(chunks),
          redirect: "manual",
        });
        const out = { ...cors };
        for (const name of ["content-type", "cache-control", "dpop-nonce", "www-authenticate", "location"]) {
          const v = answer.headers.get(name);
          if (v) out[name] = v;
        }
        res.writeHead(answer.status, out).end(Buffer.from(await answer.arrayBuffer()));
      } catch (e) {
        res.writeHead(502, cors).end(String(e));
      }
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Defines window.through(proxyUrl): a fetch-signature function that sends each request through the proxy, recording it in window.routed. */
async function defineTransport(page) {
  await page.evaluate(() => {
    window.routed = [];
    window.through = (proxyUrl) => (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      window.routed.push(url);
      const via = `${proxyUrl}/p?u=${encodeURIComponent(url)}`;
      return input instanceof Request ? fetch(new Request(via, input)) : fetch(via, init);
    };
  });
}

describe("2. your own transport: the fetch option", () => {
  it("the provider refuses the page's origin; through the app's fetch, a whole session works and nothing goes past it", async () => {
    const page = await newPage(world);
    await defineTransport(page);
    const direct = [];
    page.on("request", (r) => {
      if (["fetch", "xhr"].includes(r.resourceType()) && r.url().startsWith(native.url)) direct.push(r.url());
    });
    // The premise: this page may not call the provider's token endpoint itself (CORS).
    const refused = await page.evaluate(
      (u) =>
        fetch(`${u}/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "grant_type=authorization_code&client_id=native&code=x&code_verifier=y&redirect_uri=com.example.app%3A%2F%2Fcallback",
        }).then(() => "answered", (e) => e.name),
      native.url,
    );
    assert.equal(refused, "TypeError");
    direct.length = 0;

    const o = { issuer: native.issuer, ...NATIVE };
    const url = await page.evaluate(async ([o, p]) => {
      window.auth = await window.oidc.createAuthClient({ ...o, fetch: window.through(p) });
      return window.auth.buildAuthorizeUrl({ scope: "openid profile offline_access", prompt: "consent" });
    }, [o, proxy.url]);
    const tab = await page.context().newPage();
    await tab.goto(url);
    const location = await signInCustomScheme(tab);
    await tab.close();
    assert.ok(location?.startsWith("com.example.app://callback?code="), location);

    const r = await page.evaluate(async (location) => {
      const auth = window.auth;
      await auth.handleRedirectCallback(location);
      const user = await auth.fetchUserInfo();
      const before = auth.getTokens().accessToken;
      await auth.refresh();
      const after = auth.getTokens().accessToken;
      await auth.revokeTokens();
      return { sub: user.sub, refreshed: before !== after, signedOut: !auth.isAuthenticated(), routed: window.routed };
    }, location);
    assert.deepEqual([r.sub, r.refreshed, r.signedOut], ["alice", true, true]);
    const paths = proxy.seen.map((s) => `${s.method} ${new URL(s.url).pathname}`);
    for (const p of [
      "GET /.well-known/openid-configuration",
      "GET /jwks",
      "POST /token",
      "GET /me",
      "POST /token/revocation",
    ]) {
      assert.ok(paths.includes(p), `${p} went through the app's fetch: ${paths.join(", ")}`);
    }
    assert.equal(paths.filter((p) => p === "POST /token").length, 2, "the code exchange and the refresh");
    assert.deepEqual(r.routed.length, proxy.seen.length, "every request the library made went through the function");
    assert.deepEqual(direct, [], "the page made no request to the provider itself");
    await page.context().close();
  });

  it("fetchWithAuth goes through it too, with the access token", async () => {
    const api = await startApi(world.app.url);
    try {
      const page = await newPage(world);
      await defineTransport(page);
      const o = { issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage };
      const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), o);
      await signIn(page, url, { appOrigin: world.app.url });
      await defineTransport(page);
      const r = await page.evaluate(async ([o, p, apiUrl]) => {
        const auth = await window.oidc.createAuthClient({ ...o, fetch: window.through(p) });
        await auth.handleRedirectCallback();
        window.routed.length = 0;
        const response = await auth.fetchWithAuth(`${apiUrl}/orders`);
        return { status: response.status, routed: window.routed, token: auth.getTokens().accessToken };
      }, [o, proxy.url, api.url]);
      assert.equal(r.status, 200);
      assert.deepEqual(r.routed, [`${api.url}/orders`]);
      assert.equal(api.seen.at(-1).authorization, `Bearer ${r.token}`);
      await page.context().close();
    } finally {
      await api.close();
    }
  });

  it("a function that is not one, throws, answers something else, never answers, or follows a redirect: a clear error, never a crash", async () => {
    const page = await newPage(world);
    const r = await page.evaluate(async (issuer) => {
      const o = { issuer, clientId: "web", redirectUri: location.href.split("?")[0] };
      const tryWith = (fetch, extra = {}) => window.errorOf(() => window.oidc.createAuthClient({ ...o, ...extra, fetch }));
      const followed = new Response("{}", { headers: { "content-type": "application/json" } });
      Object.defineProperty(followed, "redirected", { value: true });
      const started = performance.now();
      const never = await tryWith(() => new Promise(() => {}), { httpTimeoutMs: 300 });
      const waited = performance.now() - started;
      return {
        notAFunction: await tryWith("yes"),
        throws: await tryWith(() => {
          throw new Error("no network plugin");
        }),
        rejects: await tryWith(() => Promise.reject(new TypeError("offline"))),
        notAResponse: await tryWith(async () => ({ ok: true })),
        statusZero: await tryWith(async () => ({ status: 0, headers: new Headers() })),
        notJson: await tryWith(async () => new Response("<html>", { status: 200 })),
        followed: await tryWith(async () => followed),
        never,
        waited,
      };
    }, world.op.issuer);
    assert.equal(r.notAFunction.code, "invalid_config");
    assert.match(r.notAFunction.message, /`fetch` must be a function/);
    assert.equal(r.throws.code, "network_error");
    assert.match(r.throws.message, /no network plugin/);
    assert.equal(r.rejects.code, "network_error");
    assert.equal(r.notAResponse.code, "network_error");
    assert.match(r.notAResponse.message, /not a Response/);
    assert.equal(r.statusZero.code, "network_error");
    assert.equal(r.notJson.code, "invalid_discovery");
    // A public document that came through a redirect the function followed is
    // judged by its content (issue 30: a CDN, a moved path); requests that
    // carry a secret never are (timeline.test.mjs).
    assert.equal(r.followed.code, "invalid_discovery");
    assert.match(r.followed.message, /issuer/);
    assert.equal(r.never.code, "timeout", "the library's timeout holds although the function ignores the signal");
    assert.ok(r.waited < 5000, `${r.waited} ms`);
    for (const e of Object.values(r).filter((v) => v && typeof v === "object")) assert.equal(e.name, "AuthError");
    await page.context().close();
  });
});

/** A resource server that records each request's Authorization header. */
async function startApi(appOrigin) {
  const seen = [];
  const server = http.createServer((req, res) => {
    const cors = {
      "Access-Control-Allow-Origin": appOrigin,
      "Access-Control-Allow-Headers": "authorization, dpop",
    };
    if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
    seen.push({ path: req.url, authorization: req.headers.authorization });
    res.writeHead(200, { ...cors, "Content-Type": "application/json" }).end("[]");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => new Promise((r) => server.close(r)) };
}

describe("3. the auth session's answer: openUrl resolving to the callback URL", () => {
  const o = () => ({ issuer: world.op.issuer, ...NATIVE, transactionStorage: "local" });

  it("loginWithRedirect completes the login itself and resolves { appState }", async () => {
    const page = await newPage(world);
    await page.evaluate(async (o) => {
      window.auth = await window.oidc.createAuthClient(o);
      window.result = window.auth
        .loginWithRedirect({
          appState: { returnTo: "/orders" },
          openUrl: (url) =>
            new Promise((resolve, reject) => {
              window.sheet = { url, resolve, reject };
            }),
        })
        .then((r) => ({ ok: r }), (e) => ({ code: e.code, message: e.message }));
    }, o());
    await page.waitForFunction(() => window.sheet);
    // The auth session: the provider's pages in another tab; the OS hands the URL back to the plugin.
    const tab = await page.context().newPage();
    await tab.goto(await page.evaluate(() => window.sheet.url));
    const location = await signInCustomScheme(tab, { login: "carol" });
    await tab.close();
    const r = await page.evaluate(async (location) => {
      window.sheet.resolve(location);
      const result = await window.result;
      return { result, user: window.auth.getUser()?.sub, pending: Object.keys(localStorage).filter((k) => k.includes(":tx:")) };
    }, location);
    assert.deepEqual(r.result, { ok: { appState: { returnTo: "/orders" } } });
    assert.equal(r.user, "carol");
    assert.deepEqual(r.pending, []);
    await page.context().close();
  });

  it("the user cancels: login_cancelled, no pending login left; an openUrl that throws at once stays invalid_config", async () => {
    const page = await newPage(world);
    const r = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      const pending = () => Object.keys(localStorage).filter((k) => k.includes(":tx:"));
      const cancelled = await window.errorOf(() =>
        auth.loginWithRedirect({ openUrl: async () => Promise.reject(new Error("The user canceled the login")) }),
      );
      const afterCancel = pending();
      const thrown = await window.errorOf(() =>
        auth.loginWithRedirect({
          openUrl: () => {
            throw new Error("Browser plugin missing");
          },
        }),
      );
      // An openUrl that resolves to nothing (Browser.open) leaves the pending login for the callback.
      await auth.loginWithRedirect({ openUrl: async () => {} });
      return { cancelled, afterCancel, thrown, afterThrow: pending().length, signedIn: auth.isAuthenticated() };
    }, o());
    assert.equal(r.cancelled.code, "login_cancelled");
    assert.equal(r.cancelled.name, "AuthError");
    assert.match(r.cancelled.message, /The user canceled the login/);
    assert.deepEqual(r.afterCancel, []);
    assert.equal(r.thrown.code, "invalid_config");
    assert.equal(r.afterThrow, 1, "only the last login (opened by Browser.open) waits for its callback");
    assert.equal(r.signedIn, false);
    await page.context().close();
  });

  it("a URL that is not this login's callback is refused like any callback, and consumes nothing else", async () => {
    const page = await newPage(world);
    const r = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      return window.errorOf(() =>
        auth.loginWithRedirect({ openUrl: async () => "com.example.app://callback?code=stolen&state=not-this-one" }),
      );
    }, o());
    assert.equal(r.code, "state_mismatch");
    await page.context().close();
  });
});

describe("4. tabs that agree", () => {
  it("a sign-in, a refresh and a sign-out in one tab reach the other within a second; it then sends nothing with the old tokens", async () => {
    const api = await startApi(world.app.url);
    const a = await newPage(world);
    const b = await a.context().newPage();
    await b.goto(world.appPage);
    await b.waitForFunction(() => window.oidc);
    const o = { issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage, tokenStorage: "local" };
    await b.evaluate(async (o) => {
      window.auth = await window.oidc.createAuthClient(o);
      window.events = [];
      window.auth.onSessionChange((e) =>
        window.events.push({
          type: e.type,
          at: Date.now(),
          authenticated: window.auth.isAuthenticated(),
          sub: window.auth.getUser()?.sub ?? null,
          accessToken: window.auth.getTokens()?.accessToken ?? null,
        }),
      );
    }, o);
    const nextEvent = async (n) => {
      await b.waitForFunction((n) => window.events.length >= n, n, { timeout: 1000 });
      return b.evaluate((n) => window.events[n - 1], n);
    };

    await signInWithClient(a, o, { scope: "openid profile offline_access", prompt: "consent" }, world.app.url);
    const signedInAt = Date.now();
    const first = await nextEvent(1);
    assert.deepEqual([first.type, first.authenticated, first.sub], ["signed_in", true, "alice"]);
    assert.ok(first.at - signedInAt < 1000);

    const refreshed = await a.evaluate(async () => (await window.auth.refresh()).accessToken);
    const second = await nextEvent(2);
    assert.deepEqual([second.type, second.accessToken], ["refreshed", refreshed]);
    assert.equal(await b.evaluate(() => window.auth.getTokens().accessToken), refreshed);

    await a.evaluate(() => window.auth.logout({ openUrl: () => {} }));
    const third = await nextEvent(3);
    assert.deepEqual([third.type, third.authenticated, third.accessToken], ["signed_out", false, null]);
    const after = await b.evaluate(async (apiUrl) => ({
      token: await window.errorOf(() => window.auth.getAccessToken()),
      fetched: await window.errorOf(() => window.auth.fetchWithAuth(`${apiUrl}/orders`)),
    }), api.url);
    assert.equal(after.token.code, "login_required");
    assert.equal(after.fetched.code, "login_required");
    assert.deepEqual(api.seen, [], "no request with the old tokens");
    await a.context().close();
    await api.close();
  });

  it("an adapter with onChange is followed the same way", async () => {
    const page = await newPage(world);
    const o = { issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage, tokenStorage: "local" };
    await signInWithClient(page, o, {}, world.app.url); // a real session, stored in localStorage
    const r = await page.evaluate(async (o) => {
      const listeners = [];
      const store = {
        get: (k) => localStorage.getItem(k),
        set: (k, v) => localStorage.setItem(k, v),
        remove: (k) => localStorage.removeItem(k),
        onChange: (l) => listeners.push(l),
      };
      const follower = await window.oidc.createAuthClient({ ...o, tokenStorage: store });
      const events = [];
      follower.onSessionChange((e) => events.push(e.type));
      const key = Object.keys(localStorage).find((k) => k.startsWith("oidc-pkce:session:"));
      const session = localStorage.getItem(key);
      const changed = async (k) => {
        for (const l of listeners) l(k);
        await new Promise((r) => setTimeout(r, 200));
        return follower.isAuthenticated();
      };
      const states = [follower.isAuthenticated()];
      // The adapter's other writer (native code, say) ends the session, then puts it back.
      localStorage.removeItem(key);
      states.push(await changed(key));
      localStorage.setItem(key, session);
      states.push(await changed(key));
      // A change to another key, and a value that is not a session: nothing changes here.
      states.push(await changed("unrelated"));
      localStorage.setItem(key, "{not a session");
      states.push(await changed(key));
      return { events, states, listeners: listeners.length, sub: follower.getUser()?.sub };
    }, o);
    assert.equal(r.listeners, 1, "the client subscribed once");
    assert.deepEqual(r.states, [true, false, true, true, true]);
    assert.deepEqual(r.events, ["signed_out", "signed_in"]);
    assert.equal(r.sub, "alice");
    await page.context().close();
  });
});

describe("1. an access token per API", () => {
  const ORDERS = "https://orders.example.com/";
  const BILLING = "https://billing.example.com/";
  let rs; // oidc-provider with RFC 8707 resource indicators: JWT access tokens for two resource servers
  before(async () => {
    rs = await startProvider({
      clients: [publicClient("web", [world.appPage], { post_logout_redirect_uris: [world.appPage] })],
      corsOrigins: [world.app.url],
      jwks: { keys: [KEYS.rsa] },
      features: { resourceIndicators: resourceIndicators([ORDERS, BILLING]) },
    });
  });
  after(() => rs?.close());

  const clientOptions = () => ({
    issuer: rs.issuer,
    clientId: "web",
    redirectUri: world.appPage,
    scope: "openid profile offline_access",
    apiParameter: "resource",
    apis: [ORDERS, BILLING],
  });

  /** A client over the stored session whose every request goes through a recorder (window.sent). */
  const recordingClient = (page, o) =>
    page.evaluate(async (o) => {
      window.sent = [];
      window.events = [];
      const recorder = (input, init) => {
        const r = new Request(input, init);
        window.sent.push({ url: r.url, method: r.method, body: typeof init?.body === "string" ? init.body : "" });
        return fetch(input, init);
      };
      window.auth = await window.oidc.createAuthClient({ ...o, fetch: recorder });
      window.auth.onSessionChange((e) => window.events.push(e.type));
    }, o);

  it("each API gets its own token (the audience checked in the JWT), cached, beside the session's own; one refresh token for all", async () => {
    const api = await startApi(world.app.url);
    const page = await newPage(world);
    const authorizeUrl = await signInWithClient(page, clientOptions(), { prompt: "consent" }, world.app.url);
    assert.deepEqual(authorizeUrl.searchParams.getAll("resource"), [ORDERS, BILLING], "RFC 8707 §2.1: both APIs at login");
    await recordingClient(page, clientOptions());
    const r = await page.evaluate(async ([ORDERS, BILLING, apiUrl]) => {
      const auth = window.auth;
      const own = auth.getTokens().accessToken;
      const orders = await auth.getAccessToken({ audience: ORDERS });
      const billing = await auth.getAccessToken({ audience: BILLING });
      const tokenRequests = window.sent.filter((s) => s.url.endsWith("/token")).length;
      const ordersAgain = await auth.getAccessToken({ audience: ORDERS });
      const cachedRequests = window.sent.filter((s) => s.url.endsWith("/token")).length;
      const response = await auth.fetchWithAuth(`${apiUrl}/orders`, { audience: ORDERS });
      const ownAfter = await auth.getAccessToken();
      // The refresh token was rotated by each API refresh: the session's own refresh still works.
      const refreshed = (await auth.refresh()).accessToken;
      const bodies = window.sent.filter((s) => s.url.endsWith("/token")).map((s) => s.body);
      const stored = Object.entries(sessionStorage).find(([k]) => k.startsWith("oidc-pkce:session:"))?.[1] ?? "";
      return {
        own, orders, billing, ordersAgain, tokenRequests, cachedRequests, status: response.status, ownAfter,
        refreshed, bodies, events: window.events, storedHasApis: stored.includes(orders) && stored.includes(billing),
      };
    }, [ORDERS, BILLING, api.url]);
    const claims = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
    assert.equal(claims(r.orders).aud, ORDERS);
    assert.equal(claims(r.billing).aud, BILLING);
    assert.equal(claims(r.orders).sub, "alice");
    assert.notEqual(r.orders, r.own);
    assert.equal(r.ownAfter, r.own, "the session's own token was not replaced");
    assert.equal(r.tokenRequests, 2);
    assert.equal(r.cachedRequests, 2, "the second call for ORDERS came from the cache");
    assert.equal(r.ordersAgain, r.orders);
    assert.equal(r.status, 200);
    assert.equal(api.seen.at(-1).authorization, `Bearer ${r.orders}`);
    assert.notEqual(r.refreshed, r.own);
    const forms = r.bodies.map((b) => new URLSearchParams(b));
    assert.deepEqual(forms.map((f) => f.get("resource")), [ORDERS, BILLING, null]);
    assert.notEqual(forms[0].get("refresh_token"), forms[1].get("refresh_token"), "the rotated refresh token was used next");
    assert.deepEqual(r.events, ["refreshed", "refreshed", "refreshed"]);
    assert.ok(r.storedHasApis, "kept with the session in tokenStorage");

    // A new page: the cache comes back with the session; logout forgets it all.
    await page.reload();
    await page.waitForFunction(() => window.oidc);
    await recordingClient(page, clientOptions());
    const back = await page.evaluate(async (ORDERS) => {
      const orders = await window.auth.getAccessToken({ audience: ORDERS });
      const requests = window.sent.filter((s) => s.url.endsWith("/token")).length;
      await window.auth.revokeTokens();
      return {
        orders,
        requests,
        after: await window.errorOf(() => window.auth.getAccessToken({ audience: ORDERS })),
        stored: Object.keys(sessionStorage).filter((k) => k.startsWith("oidc-pkce:session:")),
      };
    }, ORDERS);
    assert.equal(back.orders, r.orders);
    assert.equal(back.requests, 0);
    assert.equal(back.after.code, "login_required");
    assert.deepEqual(back.stored, []);
    await page.context().close();
    await api.close();
  });

  it("an API the grant does not cover: the provider's invalid_target, and the session stays", async () => {
    const page = await newPage(world);
    await signInWithClient(page, clientOptions(), { prompt: "consent" }, world.app.url);
    const r = await page.evaluate(async () => ({
      e: await window.errorOf(() => window.auth.getAccessToken({ audience: "https://elsewhere.example.com/" })),
      notAUri: await window.errorOf(() => window.auth.getAccessToken({ audience: "orders" })),
      signedIn: window.auth.isAuthenticated(),
      own: !!(await window.auth.getAccessToken()),
    }));
    assert.equal(r.e.code, "invalid_target");
    assert.equal(r.notAUri.code, "invalid_config");
    assert.deepEqual([r.signedIn, r.own], [true, true]);
    await page.context().close();
  });

  it("without a refresh token, silent authentication for that API, the session's own token kept", async () => {
    const page = await newPage(world);
    const o = { ...clientOptions(), scope: "openid profile" };
    await signInWithClient(page, o, {}, world.app.url);
    const r = await page.evaluate(async (ORDERS) => {
      const own = window.auth.getTokens().accessToken;
      const orders = await window.auth.getAccessToken({ audience: ORDERS });
      return { own, orders, ownAfter: window.auth.getTokens().accessToken, frames: document.querySelectorAll("iframe").length };
    }, ORDERS);
    const claims = JSON.parse(Buffer.from(r.orders.split(".")[1], "base64url").toString());
    assert.equal(claims.aud, ORDERS);
    assert.equal(r.ownAfter, r.own);
    assert.equal(r.frames, 0, "the iframe was removed");
    await page.context().close();
  });

  it("Auth0's way: the refresh grant carries audience (multi-resource refresh tokens)", async () => {
    const page = await newPage(world);
    const o = {
      domain: world.auth0.url,
      clientId: "spa",
      redirectUri: world.appPage,
      scope: "openid profile offline_access",
    };
    await signInWithClient(page, o, { prompt: "consent" }, world.app.url);
    await recordingClient(page, o);
    const r = await page.evaluate(async () => {
      // (oidc-provider refuses a scope the refresh token does not hold, so a narrower one is asked.)
      const token = await window.auth.getAccessToken({ audience: "https://orders.example.com", scope: "profile" });
      const own = window.auth.getTokens().accessToken;
      return { token, own, body: window.sent.find((s) => s.url.endsWith("/oauth/token"))?.body ?? "" };
    });
    const form = new URLSearchParams(r.body);
    assert.equal(form.get("grant_type"), "refresh_token");
    assert.equal(form.get("audience"), "https://orders.example.com");
    assert.equal(form.get("scope"), "openid profile");
    assert.equal(form.get("resource"), null);
    assert.ok(r.token && r.token !== r.own);
    await page.context().close();
  });
});
