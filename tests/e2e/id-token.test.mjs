// Verified ID tokens and the signed-in session, against oidc-provider signing
// with the test keys. Each refusal is provoked by rewriting the real token
// response (or the JWKS) at the browser's network layer.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeJwt, newPage, publicJwk, signIn, signJwt, startWorld } from "./harness.mjs";

let world;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world?.close();
});

const opts = (extra = {}) => ({ issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage, ...extra });

async function login(page, clientOptions = opts(), authorizeOptions = {}) {
  const url = await page.evaluate(
    async ([o, a]) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(a),
    [clientOptions, authorizeOptions],
  );
  return signIn(page, url, { appOrigin: world.app.url });
}


/** Rewrites the id_token of the real token response with `rewrite(payload, header, raw)`. */
async function rewriteIdToken(page, rewrite) {
  await page.route(`${world.op.url}/token`, async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    const { header, payload } = decodeJwt(body.id_token);
    body.id_token = rewrite(payload, header, body.id_token);
    await route.fulfill({ response, json: body });
  });
}

/** Runs the callback and returns { code, reason, message } of its error (or null) and the session after it. */
function callback(page, clientOptions = opts()) {
  return page.evaluate(async (o) => {
    const auth = await window.oidc.createAuthClient(o);
    let error = null;
    try {
      await auth.handleRedirectCallback();
    } catch (e) {
      error = { name: e.name, code: e.code, reason: e.reason, message: e.message };
    }
    return {
      error,
      authenticated: auth.isAuthenticated(),
      tokens: auth.getTokens(),
      claims: auth.getIdTokenClaims(),
      user: auth.getUser(),
    };
  }, clientOptions);
}

const now = () => Math.floor(Date.now() / 1000);

describe("valid logins verify", () => {
  for (const [clientId, alg, kid] of [["web", "RS256", "rsa-1"], ["web-es256", "ES256", "ec-1"]]) {
    it(`${alg}: claims, user and session after the callback`, async () => {
      const page = await newPage(world);
      const o = opts({ clientId });
      await login(page, o);
      const r = await callback(page, o);
      assert.equal(r.error, null, JSON.stringify(r.error));
      assert.equal(r.authenticated, true);
      assert.equal(decodeJwt(r.tokens.idToken).header.alg, alg);
      assert.equal(decodeJwt(r.tokens.idToken).header.kid, kid);
      assert.equal(r.claims.__raw, r.tokens.idToken);
      assert.equal(r.claims.sub, "alice");
      assert.equal(r.claims.iss, world.op.issuer);
      assert.equal(r.claims.aud, clientId);
      assert.ok(r.claims.nonce);
      assert.deepEqual(Object.keys(r.user).sort(), ["email", "email_verified", "given_name", "name", "picture", "sub"]);
      assert.equal(r.user.email, "alice@example.com");
      await page.context().close();
    });
  }
});

describe("refused ID tokens leave no session", () => {
  const resign = (change) => (payload) => signJwt({ ...payload, ...change(payload) });
  const cases = [
    ["a bad signature", "signature", (_p, _h, raw) => `${raw.slice(0, -6)}${raw.slice(-6) === "AAAAAA" ? "BBBBBB" : "AAAAAA"}`],
    ["a payload changed after signing", "signature", (p, _h, raw) => {
      const [h, , s] = raw.split(".");
      return `${h}.${Buffer.from(JSON.stringify({ ...p, sub: "mallory" })).toString("base64url")}.${s}`;
    }],
    ["alg none", "alg", (p) => `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify(p)).toString("base64url")}.`],
    ["HS256 signed with the provider's public key", "alg", (p) => signJwt(p, { hmacSecret: JSON.stringify(publicJwk("rsa")) })],
    ["an unknown kid", "kid", (p) => signJwt(p, { key: "rsaRotated", header: { kid: "ghost" } })],
    ["a wrong iss", "iss", resign(() => ({ iss: "https://attacker.example" }))],
    ["a wrong aud", "aud", resign(() => ({ aud: "someone-else" }))],
    ["several audiences without azp", "azp", resign(() => ({ aud: ["web", "other"] }))],
    ["an additional audience the client does not trust (§3.1.3.7 step 3)", "aud", resign(() => ({ aud: ["web", "other"], azp: "web" }))],
    ["an expired token", "exp", resign(() => ({ exp: now() - 120, iat: now() - 600 }))],
    ["iat in the future", "iat", resign(() => ({ iat: now() + 600 }))],
    ["nbf in the future", "nbf", resign(() => ({ nbf: now() + 600 }))],
    ["a wrong nonce", "nonce", resign(() => ({ nonce: "not-the-one-sent" }))],
    ["a missing nonce", "nonce", (p) => {
      const { nonce, ...rest } = p;
      void nonce;
      return signJwt(rest);
    }],
    ["no sub", "sub", (p) => {
      const { sub, ...rest } = p;
      void sub;
      return signJwt(rest);
    }],
  ];
  for (const [what, reason, rewrite] of cases) {
    it(`${reason}: ${what}`, async () => {
      const page = await newPage(world);
      await login(page);
      await rewriteIdToken(page, rewrite);
      const r = await callback(page);
      assert.equal(r.error?.code, "invalid_id_token", JSON.stringify(r.error));
      assert.equal(r.error.reason, reason, r.error.message);
      assert.equal(r.error.name, "AuthError");
      assert.equal(r.authenticated, false);
      assert.equal(r.tokens, null);
      assert.equal(r.claims, null);
      await page.context().close();
    });
  }

  it("additional audiences listed in trustedAudiences are accepted; one more is not", async () => {
    const page = await newPage(world);
    const o = opts({ trustedAudiences: ["https://api.example"] });
    await login(page, o);
    await rewriteIdToken(page, resign(() => ({ aud: ["web", "https://api.example"], azp: "web" })));
    const ok = await callback(page, o);
    assert.equal(ok.error, null, JSON.stringify(ok.error));
    assert.deepEqual(ok.claims.aud, ["web", "https://api.example"]);
    await page.unroute(`${world.op.url}/token`);
    await page.context().clearCookies(); // the provider's login form again
    await login(page, o);
    await rewriteIdToken(page, resign(() => ({ aud: ["web", "https://api.example", "other"], azp: "web" })));
    const refused = await callback(page, o);
    assert.deepEqual([refused.error?.code, refused.error?.reason], ["invalid_id_token", "aud"]);
    const bad = await page.evaluate(async (o) => (await window.errorOf(() => window.oidc.createAuthClient({ ...o, trustedAudiences: "api" })))?.code, opts());
    assert.equal(bad, "invalid_config");
    await page.context().close();
  });

  it("auth_time: a stale authentication with maxAge", async () => {
    const page = await newPage(world);
    await login(page, opts(), { maxAge: 300 });
    await rewriteIdToken(page, (p) => signJwt({ ...p, auth_time: now() - 3600 }));
    const r = await callback(page);
    assert.equal(r.error?.code, "invalid_id_token");
    assert.equal(r.error.reason, "auth_time");
    assert.equal(r.authenticated, false);
    await page.context().close();
  });

  it("auth_time: accepted when recent enough (the real token of a maxAge login)", async () => {
    const page = await newPage(world);
    const cb = await login(page, opts(), { maxAge: 300 });
    assert.ok(cb.includes("code="));
    const r = await callback(page);
    assert.equal(r.error, null, JSON.stringify(r.error));
    assert.ok(r.claims.auth_time <= now());
    await page.context().close();
  });
});

describe("verifyIdToken", () => {
  it("an additional audience is refused unless trustedAudiences lists it", async () => {
    const page = await newPage(world);
    const token = signJwt({ iss: world.op.issuer, sub: "alice", aud: ["web", "api"], azp: "web", exp: now() + 600, iat: now() });
    const r = await page.evaluate(
      async ([token, issuer, jwks]) => {
        const o = { issuer, clientId: "web", jwks };
        const refused = await window.oidc.verifyIdToken(token, o).then(() => null, (e) => e);
        const claims = await window.oidc.verifyIdToken(token, { ...o, trustedAudiences: ["api"] });
        return { refused: [refused?.code, refused?.reason], sub: claims.sub };
      },
      [token, world.op.issuer, { keys: [publicJwk("rsa")] }],
    );
    assert.deepEqual(r, { refused: ["invalid_id_token", "aud"], sub: "alice" });
    await page.context().close();
  });
});

describe("key rotation", () => {
  it("an unknown kid fetches the JWKS once more, and a rotated key then verifies", async () => {
    const page = await newPage(world);
    await login(page);
    let jwksRequests = 0;
    await page.route(`${world.op.url}/jwks`, async (route) => {
      jwksRequests += 1;
      const response = await route.fetch();
      const set = await response.json();
      // From the second fetch on, the provider has published its new key.
      if (jwksRequests > 1) set.keys.push(publicJwk("rsaRotated"));
      await route.fulfill({ response, json: set });
    });
    await rewriteIdToken(page, (p) => signJwt(p, { key: "rsaRotated" }));
    const r = await callback(page);
    assert.equal(r.error, null, JSON.stringify(r.error));
    assert.equal(jwksRequests, 2);
    assert.equal(decodeJwt(r.tokens.idToken).header.kid, "rsaRotated-1");
    await page.context().close();
  });

  it("a kid still unknown after the one refetch is refused, with exactly one refetch", async () => {
    const page = await newPage(world);
    await login(page);
    let jwksRequests = 0;
    page.on("request", (r) => r.url() === `${world.op.url}/jwks` && jwksRequests++);
    await rewriteIdToken(page, (p) => signJwt(p, { key: "rsaRotated" }));
    const r = await callback(page);
    assert.equal(r.error?.reason, "kid");
    assert.equal(jwksRequests, 2);
    await page.context().close();
  });
});

describe("userinfo and logout", () => {
  it("fetchUserInfo returns the profile; another sub is refused", async () => {
    const page = await newPage(world);
    await login(page);
    const out = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      await auth.handleRedirectCallback();
      return auth.fetchUserInfo();
    }, opts());
    assert.equal(out.sub, "alice");
    assert.equal(out.email, "alice@example.com");

    await page.route(`${world.op.url}/me`, (route) =>
      route.fulfill({ json: { sub: "mallory", email: "m@example.com" }, headers: { "access-control-allow-origin": world.app.url } }),
    );
    const page2 = await newPage(world);
    await page2.route(`${world.op.url}/me`, (route) =>
      route.fulfill({ json: { sub: "mallory" }, headers: { "access-control-allow-origin": world.app.url } }),
    );
    await login(page2);
    const err = await page2.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      await auth.handleRedirectCallback();
      return window.errorOf(() => auth.fetchUserInfo());
    }, opts());
    assert.equal(err.code, "userinfo_sub_mismatch");
    const signedOut = await page2.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      return window.errorOf(() => auth.fetchUserInfo());
    }, opts({ tokenStorage: "memory" }));
    assert.equal(signedOut.code, "login_required");
    await page.context().close();
    await page2.context().close();
  });

  it("logout forgets the session first, then ends it at the provider and comes back", async () => {
    const page = await newPage(world);
    await login(page);
    const logoutUrl = await page.evaluate(
      async ([o, back]) => {
        window.auth = await window.oidc.createAuthClient(o);
        await window.auth.handleRedirectCallback();
        return window.auth.buildLogoutUrl({ returnTo: back });
      },
      [opts({ tokenStorage: "session" }), world.appPage],
    );
    const u = new URL(logoutUrl);
    assert.equal(u.origin + u.pathname, `${world.op.url}/session/end`);
    assert.equal(u.searchParams.get("client_id"), "web");
    assert.equal(u.searchParams.get("post_logout_redirect_uri"), world.appPage);
    assert.equal(decodeJwt(u.searchParams.get("id_token_hint")).payload.sub, "alice");

    let openedWith = null;
    const state = await page.evaluate(async (back) => {
      let url = null;
      await window.auth.logout({ returnTo: back, openUrl: (u) => { url = u; } });
      return { url, authenticated: window.auth.isAuthenticated(), stored: Object.keys(sessionStorage).filter((k) => k.includes("session")) };
    }, world.appPage);
    openedWith = state.url;
    assert.equal(state.authenticated, false);
    assert.deepEqual(state.stored, []);
    assert.ok(openedWith.startsWith(`${world.op.url}/session/end?`));
    // The provider's own logout confirmation, then back to the app.
    await page.goto(openedWith);
    await Promise.all([page.waitForURL((x) => x.origin === world.app.url), page.click("button[autofocus], button[type=submit]")]);
    assert.ok(page.url().startsWith(world.appPage));
    await page.context().close();
  });

  it("Auth0 domain: /v2/logout with client_id and returnTo", async () => {
    const page = await newPage(world);
    const url = await page.evaluate(
      async ([o, back]) => (await window.oidc.createAuthClient(o)).buildLogoutUrl({ returnTo: back }),
      [{ domain: world.auth0.url, clientId: "spa", redirectUri: world.appPage }, world.appPage],
    );
    const u = new URL(url);
    assert.equal(u.pathname, "/v2/logout");
    assert.deepEqual([...u.searchParams.keys()], ["client_id", "returnTo"]);
    assert.equal(u.searchParams.get("returnTo"), world.appPage);
    await page.context().close();
  });
});

describe("tokenStorage", () => {
  for (const storage of ["session", "local"]) {
    it(`"${storage}": a reload restores the session from storage, checked against the provider's key set`, async () => {
      const page = await newPage(world);
      const o = opts({ tokenStorage: storage });
      await login(page, o);
      const first = await callback(page, o);
      assert.equal(first.error, null);
      let jwksRequests = 0;
      page.on("request", (r) => r.url() === `${world.op.url}/jwks` && jwksRequests++);
      await page.goto(world.appPage);
      await page.waitForFunction(() => window.oidc);
      const after = await page.evaluate(async (o) => {
        const auth = await window.oidc.createAuthClient(o);
        return { authenticated: auth.isAuthenticated(), user: auth.getUser(), tokens: auth.getTokens() };
      }, o);
      assert.equal(after.authenticated, true);
      assert.equal(after.user.sub, "alice");
      assert.equal(after.tokens.accessToken, first.tokens.accessToken);
      // A stored session is verified with the key set the provider serves now
      // (the browser's HTTP cache may answer), never with one read from the
      // same storage while the provider can be reached (issue 10).
      assert.equal(jwksRequests, 1);
      await page.context().close();
    });
  }

  it('"memory": a reload signs out', async () => {
    const page = await newPage(world);
    const o = opts({ tokenStorage: "memory" });
    await login(page, o);
    assert.equal((await callback(page, o)).authenticated, true);
    await page.goto(world.appPage);
    await page.waitForFunction(() => window.oidc);
    const authenticated = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).isAuthenticated(), o);
    assert.equal(authenticated, false);
    await page.context().close();
  });

  it("the default options: a reload of the tab keeps the user signed in (sessionStorage); a new tab does not", async () => {
    const page = await newPage(world);
    await login(page);
    const first = await callback(page);
    assert.equal(first.authenticated, true);
    await page.reload();
    await page.waitForFunction(() => window.oidc);
    const after = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      return { authenticated: auth.isAuthenticated(), sub: auth.getUser()?.sub, token: auth.getTokens()?.accessToken };
    }, opts());
    assert.deepEqual(after, { authenticated: true, sub: "alice", token: first.tokens.accessToken });
    const other = await page.context().newPage();
    await other.goto(world.appPage);
    await other.waitForFunction(() => window.oidc);
    assert.equal(await other.evaluate(async (o) => (await window.oidc.createAuthClient(o)).isAuthenticated(), opts()), false);
    await page.context().close();
  });

  it("a tampered stored session is verified again, refused and removed", async () => {
    const page = await newPage(world);
    const o = opts({ tokenStorage: "local" });
    await login(page, o);
    await callback(page, o);
    const forged = signJwt({ iss: world.op.issuer, aud: "web", sub: "mallory", exp: now() + 600, iat: now() }, { key: "rsaRotated", header: { kid: "rsa-1" } });
    const r = await page.evaluate(async ([o, forged]) => {
      const key = Object.keys(localStorage).find((k) => k.startsWith("oidc-pkce:session:"));
      const s = JSON.parse(localStorage.getItem(key));
      localStorage.setItem(key, JSON.stringify({ ...s, id_token: forged }));
      const auth = await window.oidc.createAuthClient(o);
      return { authenticated: auth.isAuthenticated(), user: auth.getUser(), left: localStorage.getItem(key) };
    }, [o, forged]);
    assert.deepEqual(r, { authenticated: false, user: null, left: null });
    // Garbage under the session's key, or under the key of versions before 0.1.1 (client id only).
    for (const key of [`oidc-pkce:session:${encodeURIComponent(world.op.issuer)}:web`, "oidc-pkce:session:web"]) {
      const garbage = await page.evaluate(async ([o, key]) => {
        localStorage.setItem(key, "{not json");
        const auth = await window.oidc.createAuthClient(o);
        return { authenticated: auth.isAuthenticated(), left: localStorage.getItem(key) };
      }, [o, key]);
      assert.deepEqual(garbage, { authenticated: false, left: null }, key);
    }
    await page.context().close();
  });

  it("an async adapter (as over Capacitor Preferences) keeps the session across a reload", async () => {
    const page = await newPage(world);
    const setup = () => {
      // An adapter whose methods return promises, over localStorage under its own prefix.
      window.adapter = {
        get: async (k) => localStorage.getItem(`prefs:${k}`),
        set: async (k, v) => localStorage.setItem(`prefs:${k}`, v),
        remove: async (k) => localStorage.removeItem(`prefs:${k}`),
      };
    };
    await login(page);
    await page.evaluate(setup);
    const first = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient({ ...o, tokenStorage: window.adapter });
      await auth.handleRedirectCallback();
      return Object.keys(localStorage).filter((k) => k.startsWith("prefs:")).sort();
    }, opts());
    // The session, the key set and the discovery document (kept for an offline start).
    assert.equal(first.length, 3, first.join());
    assert.ok(first.some((k) => k.startsWith("prefs:oidc-pkce:session:")));
    assert.ok(first.some((k) => k.startsWith("prefs:oidc-pkce:jwks:")));
    assert.ok(first.some((k) => k.startsWith("prefs:oidc-pkce:discovery:")));
    await page.goto(world.appPage);
    await page.waitForFunction(() => window.oidc);
    await page.evaluate(setup);
    const user = await page.evaluate(async (o) => (await window.oidc.createAuthClient({ ...o, tokenStorage: window.adapter })).getUser(), opts());
    assert.equal(user.sub, "alice");
    const bad = await page.evaluate((o) => window.errorOf(() => window.oidc.createAuthClient({ ...o, tokenStorage: { get() {} } })), opts());
    assert.equal(bad.code, "invalid_config");
    await page.context().close();
  });
});
