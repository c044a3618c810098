// The login flow end to end: the built package in Chromium against oidc-provider.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeJwt, newPage, s256, signIn, signInCustomScheme, startWorld } from "./harness.mjs";

let world;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world?.close();
});

// (exposeRefreshToken: the tests read getTokens().refreshToken.)
const opts = () => ({ issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage, exposeRefreshToken: true });

/** Starts a login in the page and signs in; returns { authorizeUrl, callbackUrl }. */
async function startAndSignIn(page, clientOptions = opts(), authorizeOptions = {}) {
  const authorizeUrl = await page.evaluate(
    async ([o, a]) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(a),
    [clientOptions, authorizeOptions],
  );
  const callbackUrl = await signIn(page, authorizeUrl, { appOrigin: world.app.url });
  return { authorizeUrl, callbackUrl };
}

/** handleRedirectCallback(url) in the page: the result, or the error's fields. */
function callback(page, url, clientOptions = opts()) {
  return page.evaluate(
    async ([o, u]) => {
      const auth = await window.oidc.createAuthClient(o);
      let error = null;
      let result = null;
      try {
        result = await auth.handleRedirectCallback(u ?? undefined);
      } catch (e) {
        error = { isAuthError: e instanceof window.oidc.AuthError, name: e.name, code: e.code, message: e.message,
          error: e.error, errorDescription: e.errorDescription, status: e.status };
      }
      return { result, error, tokens: auth.getTokens() };
    },
    [clientOptions, url],
  );
}

describe("createPkcePair in Chromium", () => {
  it("makes a 43-character verifier and its S256 challenge, fresh each time", async () => {
    const page = await newPage(world);
    const [a, b] = await page.evaluate(async () => [await window.oidc.createPkcePair(), await window.oidc.createPkcePair()]);
    assert.match(a.codeVerifier, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(a.codeChallenge, s256(a.codeVerifier));
    assert.equal(a.codeChallengeMethod, "S256");
    assert.notEqual(a.codeVerifier, b.codeVerifier);
    await page.context().close();
  });
});

describe("login against oidc-provider", () => {
  it("signs in through the real pages and exchanges the code for verified-shape tokens", async () => {
    const page = await newPage(world);
    const tokenRequests = [];
    page.on("request", (r) => r.url().startsWith(`${world.op.url}/token`) && tokenRequests.push(r));
    const { authorizeUrl, callbackUrl } = await startAndSignIn(page, opts(), {
      appState: { returnTo: "/inbox", n: [1, 2] },
    });
    const a = new URL(authorizeUrl);
    assert.equal(a.origin + a.pathname, `${world.op.url}/auth`);
    for (const p of ["response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge"]) {
      assert.ok(a.searchParams.get(p), p);
    }
    assert.equal(a.searchParams.get("code_challenge_method"), "S256");
    assert.equal(a.searchParams.get("scope"), "openid profile email");
    const cb = new URL(callbackUrl);
    assert.equal(cb.searchParams.get("state"), a.searchParams.get("state"));
    assert.equal(cb.searchParams.get("iss"), world.op.issuer);

    const before = Date.now();
    const { result, error, tokens } = await callback(page, null);
    assert.equal(error, null);
    assert.deepEqual(result.appState, { returnTo: "/inbox", n: [1, 2] });
    assert.ok(tokens.accessToken.length > 10);
    assert.equal(tokens.tokenType, "Bearer");
    assert.equal(tokens.refreshToken, null, "no offline_access, no refresh token");
    assert.ok(Math.abs(tokens.expiresAt - (before + 3600_000)) < 60_000, `expiresAt ${tokens.expiresAt}`);
    const { payload } = decodeJwt(tokens.idToken);
    assert.equal(payload.sub, "alice");
    assert.equal(payload.aud, "web");
    assert.equal(payload.iss, world.op.issuer);
    assert.equal(payload.nonce, a.searchParams.get("nonce"));

    // The token request: form-encoded, exactly the five parameters, and a
    // verifier whose S256 is the challenge sent to the authorization endpoint.
    assert.equal(tokenRequests.length, 1);
    const req = tokenRequests[0];
    assert.equal(req.method(), "POST");
    assert.match(req.headers()["content-type"], /^application\/x-www-form-urlencoded/);
    const body = new URLSearchParams(req.postData());
    assert.deepEqual([...body.keys()].sort(), ["client_id", "code", "code_verifier", "grant_type", "redirect_uri"]);
    assert.equal(body.get("grant_type"), "authorization_code");
    assert.equal(body.get("client_id"), "web");
    assert.equal(body.get("code"), cb.searchParams.get("code"));
    assert.equal(body.get("redirect_uri"), world.appPage);
    assert.equal(s256(body.get("code_verifier")), a.searchParams.get("code_challenge"));
    await page.context().close();
  });

  it("sends a JSON token request when asked (checked at the route, then forwarded as a form)", async () => {
    const page = await newPage(world);
    const seen = [];
    await page.route(`${world.op.url}/token`, async (route) => {
      const req = route.request();
      if (req.method() !== "POST") return route.continue();
      const json = JSON.parse(req.postData());
      seen.push({ contentType: req.headers()["content-type"], json });
      // oidc-provider only takes forms: translate, as a JSON-accepting server would read it.
      const response = await route.fetch({
        postData: new URLSearchParams(json).toString(),
        headers: { ...req.headers(), "content-type": "application/x-www-form-urlencoded" },
      });
      await route.fulfill({ response });
    });
    const o = { ...opts(), tokenRequestEncoding: "json" };
    await startAndSignIn(page, o);
    const { error, tokens } = await callback(page, null, o);
    assert.equal(error, null);
    assert.ok(tokens.accessToken);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].contentType, "application/json");
    assert.deepEqual(Object.keys(seen[0].json).sort(), ["client_id", "code", "code_verifier", "grant_type", "redirect_uri"]);
    assert.equal(seen[0].json.grant_type, "authorization_code");
    await page.context().close();
  });

  it("works by Auth0 `domain`: Auth0's paths, issuer with a trailing slash, no discovery", async () => {
    const page = await newPage(world);
    const requested = [];
    page.on("request", (r) => r.url().startsWith(world.auth0.url) && requested.push(new URL(r.url()).pathname));
    const o = { domain: world.auth0.url, clientId: "spa", redirectUri: world.appPage };
    const { authorizeUrl } = await startAndSignIn(page, o);
    assert.equal(new URL(authorizeUrl).pathname, "/authorize");
    const { error, tokens } = await callback(page, null, o);
    assert.equal(error, null);
    assert.equal(decodeJwt(tokens.idToken).payload.iss, `${world.auth0.url}/`);
    assert.ok(requested.includes("/oauth/token"), requested.join());
    assert.ok(!requested.some((p) => p.includes("openid-configuration")), requested.join());
    await page.context().close();
  });

  it("keeps two pending logins apart (two tabs) and completes each with its own state", async () => {
    const page = await newPage(world);
    const [first, second] = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      return [await auth.buildAuthorizeUrl({ appState: 1 }), await auth.buildAuthorizeUrl({ appState: 2 })];
    }, opts());
    const cb1 = await signIn(page, first, { appOrigin: world.app.url });
    // The second login: same browser session, the provider skips the login page.
    await page.goto(second);
    await page.waitForURL((u) => u.origin === world.app.url || u.pathname.startsWith("/interaction"));
    if (!page.url().startsWith(world.app.url)) {
      await Promise.all([page.waitForURL((u) => u.origin === world.app.url), page.click("button[type=submit]")]);
    }
    const cb2 = page.url();
    await page.waitForFunction(() => window.oidc);
    const r2 = await callback(page, cb2);
    const r1 = await callback(page, cb1);
    assert.equal(r2.error, null);
    assert.equal(r2.result.appState, 2);
    assert.equal(r1.error, null);
    assert.equal(r1.result.appState, 1);
    await page.context().close();
  });

  it("loginWithRedirect hands the URL to openUrl, or navigates the page", async () => {
    const page = await newPage(world);
    const opened = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      let url = null;
      await auth.loginWithRedirect({ openUrl: async (u) => { url = u; } });
      return url;
    }, opts());
    assert.ok(opened.startsWith(`${world.op.url}/auth?`), opened);
    // An openUrl that throws is the app's failure: invalid_config, saying what it threw. Its
    // promise rejecting is the user cancelling an auth session (issue 25): login_cancelled.
    const failed = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      const thrown = await window.errorOf(() => auth.loginWithRedirect({ openUrl: () => { throw new Error("no browser plugin"); } }));
      const rejected = await window.errorOf(() => auth.loginWithRedirect({ openUrl: () => Promise.reject("closed") }));
      return [thrown, rejected];
    }, opts());
    assert.deepEqual(failed.map((e) => [e.code, e.message]), [
      ["invalid_config", "`openUrl` failed: no browser plugin"],
      ["login_cancelled", "the login was cancelled: `openUrl`'s promise was rejected (closed)"],
    ]);
    await Promise.all([
      page.waitForURL((u) => u.pathname.startsWith("/interaction/")),
      page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).loginWithRedirect(), opts()),
    ]);
    assert.ok(await page.isVisible("input[name=login]"));
    await page.context().close();
  });
});

describe("every error code, provoked for real", () => {
  it("state_mismatch for a tampered state, and the real callback still works afterwards", async () => {
    const page = await newPage(world);
    const { callbackUrl } = await startAndSignIn(page);
    const tampered = new URL(callbackUrl);
    tampered.searchParams.set("state", "A".repeat(43));
    const bad = await callback(page, tampered.href);
    assert.equal(bad.error.code, "state_mismatch");
    assert.equal(bad.error.name, "AuthError");
    assert.ok(bad.error.isAuthError);
    assert.equal(bad.tokens, null);
    const good = await callback(page, callbackUrl);
    assert.equal(good.error, null);
    assert.ok(good.tokens.accessToken);
    await page.context().close();
  });

  it("missing_transaction for a replayed callback: the pending login is consumed exactly once", async () => {
    const page = await newPage(world);
    const { callbackUrl } = await startAndSignIn(page);
    const tokenCalls = [];
    page.on("request", (r) => r.url().startsWith(`${world.op.url}/token`) && tokenCalls.push(r.url()));
    const [a, b] = await page.evaluate(async ([o, u]) => {
      const auth = await window.oidc.createAuthClient(o);
      // Both at once: only one may find the transaction.
      return Promise.all([
        auth.handleRedirectCallback(u).then(() => "ok", (e) => e.code),
        auth.handleRedirectCallback(u).then(() => "ok", (e) => e.code),
      ]);
    }, [opts(), callbackUrl]);
    assert.deepEqual([a, b].sort(), ["missing_transaction", "ok"]);
    const again = await callback(page, callbackUrl);
    assert.equal(again.error.code, "missing_transaction");
    assert.equal(tokenCalls.length, 1, "the replay made no token request");
    await page.context().close();
  });

  it("access_denied from the provider's Cancel link, with its error_description", async () => {
    const page = await newPage(world);
    const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), opts());
    await page.goto(url);
    await Promise.all([page.waitForURL((u) => u.origin === world.app.url), page.click("text=[ Cancel ]")]);
    await page.waitForFunction(() => window.oidc);
    const r = await callback(page, null);
    assert.equal(r.error.code, "access_denied");
    assert.equal(r.error.error, "access_denied");
    assert.equal(r.error.errorDescription, "End-User aborted interaction");
    assert.equal(r.tokens, null);
    // The error consumed the pending login too.
    assert.equal((await callback(page, page.url())).error.code, "missing_transaction");
    await page.context().close();
  });

  it("issuer_mismatch for a wrong `iss` (RFC 9207); the pending login is burnt", async () => {
    const page = await newPage(world);
    const { callbackUrl } = await startAndSignIn(page);
    const mixed = new URL(callbackUrl);
    mixed.searchParams.set("iss", "https://attacker.example");
    const r = await callback(page, mixed.href);
    assert.equal(r.error.code, "issuer_mismatch");
    assert.equal((await callback(page, callbackUrl)).error.code, "missing_transaction");
    const missing = new URL(callbackUrl);
    missing.searchParams.delete("iss");
    // oidc-provider advertises the parameter, so a response without it is refused too.
    const page2 = await newPage(world);
    const second = await startAndSignIn(page2);
    const noIss = new URL(second.callbackUrl);
    noIss.searchParams.delete("iss");
    assert.equal((await callback(page2, noIss.href)).error.code, "issuer_mismatch");
    await page.context().close();
    await page2.context().close();
  });

  it("the server's invalid_grant (HTTP 400) for a code it did not issue", async () => {
    const page = await newPage(world);
    const { callbackUrl } = await startAndSignIn(page);
    const forged = new URL(callbackUrl);
    forged.searchParams.set("code", "not-a-real-code");
    const r = await callback(page, forged.href);
    assert.equal(r.error.code, "invalid_grant");
    assert.equal(r.error.error, "invalid_grant");
    assert.equal(r.error.status, 400);
    assert.ok(r.error.errorDescription);
    assert.equal(r.tokens, null);
    await page.context().close();
  });

  const tokenEndpointCases = [
    ["a non-JSON 200 body", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<html>hello</html>" }), "invalid_token_response"],
    ["no access_token", (route) => route.fulfill({ status: 200, contentType: "application/json", body: '{"token_type":"Bearer","id_token":"a.b.c"}' }), "invalid_token_response"],
    ["token_type MAC", (route) => route.fulfill({ status: 200, contentType: "application/json", body: '{"access_token":"x","token_type":"MAC","id_token":"a.b.c"}' }), "invalid_token_response"],
    ["a 502 HTML page", (route) => route.fulfill({ status: 502, contentType: "text/html", body: "Bad gateway" }), "invalid_token_response"],
    ["an aborted connection", (route) => route.abort("connectionreset"), "network_error"],
  ];
  for (const [what, answer, code] of tokenEndpointCases) {
    it(`${code} for ${what} from the token endpoint`, async () => {
      const page = await newPage(world);
      const { callbackUrl } = await startAndSignIn(page);
      await page.route(`${world.op.url}/token`, (route) =>
        answer({
          fulfill: (r) => route.fulfill({ ...r, headers: { "access-control-allow-origin": world.app.url } }),
          abort: (e) => route.abort(e),
        }),
      );
      const r = await callback(page, callbackUrl);
      assert.equal(r.error?.code, code, JSON.stringify(r.error));
      assert.equal(r.tokens, null);
      await page.context().close();
    });
  }

  it("timeout when the token endpoint is slower than httpTimeoutMs", async () => {
    const page = await newPage(world);
    const o = { ...opts(), httpTimeoutMs: 500 };
    const { callbackUrl } = await startAndSignIn(page, o);
    await page.route(`${world.op.url}/token`, async (route) => {
      await new Promise((r) => setTimeout(r, 2000));
      await route.continue().catch(() => {});
    });
    const started = Date.now();
    const r = await callback(page, callbackUrl, o);
    assert.equal(r.error?.code, "timeout", JSON.stringify(r.error));
    assert.ok(Date.now() - started < 1900, "gave up at the timeout, not when the answer came");
    await page.context().close();
  });

  it("invalid_callback for a URL with neither code nor error, or a duplicated parameter", async () => {
    const page = await newPage(world);
    const r = await callback(page, `${world.appPage}?foo=bar`);
    assert.equal(r.error.code, "invalid_callback");
    const dup = await callback(page, `${world.appPage}?code=a&code=b&state=x`);
    assert.equal(dup.error.code, "invalid_callback");
    const injected = await callback(page, `${world.appPage}?code=a&state=x&access_token=evil`);
    assert.equal(injected.error.code, "invalid_callback");
    await page.context().close();
  });

  it("missing_transaction on a page that has no pending login", async () => {
    const page = await newPage(world);
    const r = await callback(page, `${world.appPage}?code=abc&state=${"x".repeat(43)}`);
    assert.equal(r.error.code, "missing_transaction");
    await page.context().close();
  });

  it("invalid_config for unusable options, issuer_mismatch for a discovery document of another issuer", async () => {
    const page = await newPage(world);
    const codes = await page.evaluate(async ([issuer, redirectUri]) => {
      const code = (o) => window.oidc.createAuthClient(o).then(() => "ok", (e) => `${e.name}:${e.code}`);
      return {
        noClientId: await code({ issuer, redirectUri }),
        both: await code({ issuer, domain: "t.auth0.com", clientId: "c", redirectUri }),
        neither: await code({ clientId: "c", redirectUri }),
        insecure: await code({ issuer: "http://id.example.com", clientId: "c", redirectUri }),
        badEncoding: await code({ issuer, clientId: "c", redirectUri, tokenRequestEncoding: "xml" }),
        wrongType: await code({ issuer, clientId: 5, redirectUri }),
        notObject: await code("https://id.example.com"),
        trailingSlash: await code({ issuer: `${issuer}/`, clientId: "web", redirectUri }),
      };
    }, [world.op.issuer, world.appPage]);
    assert.deepEqual(codes, {
      noClientId: "AuthError:invalid_config",
      both: "AuthError:invalid_config",
      neither: "AuthError:invalid_config",
      insecure: "AuthError:invalid_config",
      badEncoding: "AuthError:invalid_config",
      wrongType: "AuthError:invalid_config",
      notObject: "AuthError:invalid_config",
      trailingSlash: "AuthError:issuer_mismatch",
    });
    await page.context().close();
  });

  it("network_error when the provider cannot be reached for discovery", async () => {
    const page = await newPage(world);
    const r = await page.evaluate(
      (redirectUri) => window.errorOf(() => window.oidc.createAuthClient({ issuer: "http://127.0.0.1:9", clientId: "c", redirectUri })),
      world.appPage,
    );
    assert.equal(r.code, "network_error");
    assert.ok(r.isAuthError && r.isError);
    await page.context().close();
  });
});

describe("custom-scheme callbacks", () => {
  it("accepts com.example.app://callback?code=… from a native client registration", async () => {
    const page = await newPage(world);
    const o = { issuer: world.op.issuer, clientId: "native", redirectUri: "com.example.app://callback" };
    const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), o);
    await page.goto(url);
    const location = await signInCustomScheme(page, { login: "bob" });
    assert.ok(location?.startsWith("com.example.app://callback?code="), location);
    await page.goto(world.appPage);
    await page.waitForFunction(() => window.oidc);
    const r = await callback(page, location, o);
    assert.equal(r.error, null, JSON.stringify(r.error));
    assert.equal(decodeJwt(r.tokens.idToken).payload.sub, "bob");
    await page.context().close();
  });
});
