// Sessions that survive (issue 12): login in a popup, silent authentication
// in a hidden iframe, silent renewal in getAccessToken. In Chromium against
// oidc-provider, whose real login, consent and cancel pages run in the popup.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { clickLoginWithPopup as clickPopup, newPage, signInInPopup, startWorld } from "./harness.mjs";

let world;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world?.close();
});

const opts = (extra = {}) => ({ issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage, ...extra });

/** loginWithPopup from a click (harness.mjs), with this file's client options by default. */
const clickLoginWithPopup = (page, clientOptions = opts(), popupOptions = {}) =>
  clickPopup(page, clientOptions, popupOptions);

const outcome = (page) => page.evaluate(() => window.outcome);

describe("loginWithPopup", () => {
  it("completes in the popup: signed in, the page never navigated, the popup closed", async () => {
    const page = await newPage(world);
    const at = page.url();
    const popup = await clickLoginWithPopup(page, opts(), { appState: { z: 1, a: "b" } });
    await signInInPopup(popup);
    const r = await outcome(page);
    assert.deepEqual(r, { ok: true, appState: { z: 1, a: "b" } });
    await popup.waitForEvent("close", { timeout: 2000 }).catch(() => {});
    assert.equal(popup.isClosed(), true, "the library closed the popup");
    assert.equal(page.url(), at, "the page did not navigate");
    const who = await page.evaluate(() => ({ signedIn: window.auth.isAuthenticated(), sub: window.auth.getUser()?.sub }));
    assert.deepEqual(who, { signedIn: true, sub: "alice" });
    await page.context().close();
  });

  it("with pushed authorization requests (RFC 9126): the popup opens at client_id + request_uri and completes", async () => {
    const page = await newPage(world);
    const authorizeRequests = [];
    page.context().on("request", (r) => {
      const u = new URL(r.url());
      if (u.origin === world.op.url && u.pathname === "/auth") authorizeRequests.push([...u.searchParams.keys()].sort());
    });
    const popup = await clickLoginWithPopup(page, opts({ pushedAuthorizationRequests: true }), { appState: 7 });
    await signInInPopup(popup);
    assert.deepEqual(authorizeRequests[0], ["client_id", "request_uri"]);
    assert.deepEqual(await outcome(page), { ok: true, appState: 7 });
    assert.equal(await page.evaluate(() => window.auth.getUser()?.sub), "alice");
    await page.context().close();
  });

  it("the user closes the popup: popup_closed", async () => {
    const page = await newPage(world);
    const popup = await clickLoginWithPopup(page);
    await popup.waitForSelector("input[name=login]");
    await popup.close();
    const r = await outcome(page);
    assert.equal(r.code, "popup_closed", JSON.stringify(r));
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), false);
    await page.context().close();
  });

  it("the browser blocks it (window.open gives null): popup_blocked", async () => {
    const page = await newPage(world);
    const code = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      window.open = () => null;
      return (await window.errorOf(() => auth.loginWithPopup())).code;
    }, opts());
    assert.equal(code, "popup_blocked");
    await page.context().close();
  });

  it("cancelled on the provider's page: access_denied with its description, the popup closed", async () => {
    const page = await newPage(world);
    const popup = await clickLoginWithPopup(page);
    await popup.waitForSelector("input[name=login]");
    await popup.click("text=[ Cancel ]").catch(() => {});
    const r = await outcome(page);
    assert.equal(r.code, "access_denied", JSON.stringify(r));
    assert.match(r.errorDescription, /aborted/);
    await popup.waitForEvent("close", { timeout: 2000 }).catch(() => {});
    assert.equal(popup.isClosed(), true);
    await page.context().close();
  });

  it("no login within timeoutMs: timeout, and the popup is closed", async () => {
    const page = await newPage(world);
    const popup = await clickLoginWithPopup(page, opts(), { timeoutMs: 1500 });
    const r = await outcome(page);
    assert.equal(r.code, "timeout", JSON.stringify(r));
    await popup.waitForEvent("close", { timeout: 2000 }).catch(() => {});
    assert.equal(popup.isClosed(), true);
    await page.context().close();
  });

  it("an app whose redirect page calls handleRedirectCallback() in the popup hands the URL over: one exchange", async () => {
    const page = await newPage(world);
    // The redirect page runs "the app": it completes the callback itself, with
    // pending logins in localStorage (which the popup shares): without the
    // hand-over it would spend the code and the pending login first. As apps
    // do, it takes the code out of the address bar first (so the waiting page
    // cannot read it there): only the hand-over brings it.
    // (An init script: routes do not see the provider's redirect to this page.)
    await page.context().addInitScript((o) => {
      if (!window.opener || !location.search.includes("code=")) return;
      window.callbackUrl = location.href;
      history.replaceState(null, "", location.pathname);
      const run = async () => {
        while (!window.oidc) await new Promise((r) => setTimeout(r, 10));
        const auth = await window.oidc.createAuthClient(o);
        try {
          window.opener.popupSaid = JSON.stringify(await auth.handleRedirectCallback(window.callbackUrl));
        } catch (e) {
          window.opener.popupSaid = e.code;
        }
      };
      run();
    }, opts({ transactionStorage: "local" }));
    const tokenRequests = [];
    page.context().on("request", (r) => r.url() === `${world.op.url}/token` && tokenRequests.push(r));
    const popup = await clickLoginWithPopup(page, opts({ transactionStorage: "local" }), { appState: { n: 1 } });
    await signInInPopup(popup);
    const r = await outcome(page);
    assert.deepEqual(r, { ok: true, appState: { n: 1 } });
    assert.equal(tokenRequests.length, 1, "the code was exchanged once, by the page that waited");
    const said = await page.evaluate(() => window.popupSaid);
    assert.equal(said, "{}", "the popup's own call handed the URL over and resolved without exchanging");
    await page.context().close();
  });
});

describe("checkSession (silent authentication, prompt=none)", () => {
  it("with a provider session: true, signed in with a verified ID token; the iframe is gone", async () => {
    const page = await newPage(world);
    const popup = await clickLoginWithPopup(page);
    await signInInPopup(popup);
    assert.equal((await outcome(page)).ok, true);
    const r = await page.evaluate(async (o) => {
      const fresh = await window.oidc.createAuthClient({ ...o, tokenStorage: "memory" }); // not signed in here
      const before = fresh.isAuthenticated();
      const result = await fresh.checkSession();
      return { before, result, after: fresh.isAuthenticated(), sub: fresh.getIdTokenClaims()?.sub, iframes: document.querySelectorAll("iframe").length };
    }, opts());
    assert.deepEqual(r, { before: false, result: true, after: true, sub: "alice", iframes: 0 });
    await page.context().close();
  });

  it("without one: false, no throw, and a session already here is left as it is", async () => {
    const page = await newPage(world);
    const popup = await clickLoginWithPopup(page);
    await signInInPopup(popup);
    assert.equal((await outcome(page)).ok, true);
    await page.context().clearCookies(); // the provider's session is gone
    const r = await page.evaluate(async () => {
      const tokens = JSON.stringify(window.auth.getTokens());
      const result = await window.auth.checkSession();
      return { result, still: window.auth.isAuthenticated(), same: JSON.stringify(window.auth.getTokens()) === tokens };
    });
    assert.deepEqual(r, { result: false, still: true, same: true });
    await page.context().close();
  });

  it("no answer within silentTimeoutMs: timeout, and the iframe is removed", async () => {
    const page = await newPage(world);
    await page.context().route((u) => u.href.startsWith(`${world.op.url}/auth`), () => {}); // never answers
    const r = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      const started = Date.now();
      const e = await window.errorOf(() => auth.checkSession());
      return { code: e?.code, took: Date.now() - started, iframes: document.querySelectorAll("iframe").length };
    }, opts({ silentTimeoutMs: 700 }));
    assert.equal(r.code, "timeout");
    assert.ok(r.took >= 650 && r.took < 5000, `${r.took} ms`);
    assert.equal(r.iframes, 0);
    await page.context().close();
  });
});

describe("getAccessToken without a refresh token", () => {
  it("renews through silent authentication, and says login_required once the provider session is gone", async () => {
    const page = await newPage(world);
    // leeway 3600: the one-hour access token counts as stale at once.
    const o = opts({ leeway: 3600, exposeRefreshToken: true });
    const popup = await clickLoginWithPopup(page, o);
    await signInInPopup(popup);
    assert.equal((await outcome(page)).ok, true);
    const r = await page.evaluate(async () => {
      const first = window.auth.getTokens();
      const renewed = await window.auth.getAccessToken();
      return { noRefresh: first.refreshToken === null, changed: renewed !== first.accessToken, signedIn: window.auth.isAuthenticated() };
    });
    assert.deepEqual(r, { noRefresh: true, changed: true, signedIn: true });
    await page.context().clearCookies();
    const code = await page.evaluate(async () => (await window.errorOf(() => window.auth.getAccessToken())).code);
    assert.equal(code, "login_required");
    await page.context().close();
  });
});

describe("ending a session ends it at the provider (RFC 7009)", () => {
  for (const how of ["logout()", "revokeTokens()"]) {
    it(`${how} revokes the refresh token: the provider refuses it afterwards`, async () => {
      const page = await newPage(world);
      const popup = await clickLoginWithPopup(page, opts({ exposeRefreshToken: true }), { scope: "openid offline_access", prompt: "consent" });
      await signInInPopup(popup);
      assert.equal((await outcome(page)).ok, true);
      const refreshToken = await page.evaluate(() => window.auth.getTokens().refreshToken);
      assert.ok(refreshToken, "offline_access gave a refresh token");
      const revocations = [];
      page.on("request", (r) => r.url() === `${world.op.url}/token/revocation` && revocations.push(new URLSearchParams(r.postData() ?? "")));
      if (how === "logout()") {
        await Promise.all([
          page.waitForURL((u) => u.origin === world.op.url),
          page.evaluate(() => { window.auth.logout({ returnTo: location.href }); }),
        ]);
      } else {
        const after = await page.evaluate(async () => {
          await window.auth.revokeTokens();
          return { signedIn: window.auth.isAuthenticated(), tokens: window.auth.getTokens() };
        });
        assert.deepEqual(after, { signedIn: false, tokens: null });
      }
      assert.equal(revocations[0]?.get("token_type_hint"), "refresh_token");
      assert.equal(revocations[0]?.get("client_id"), "web");
      const res = await fetch(`${world.op.url}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "refresh_token", client_id: "web", refresh_token: refreshToken }),
      });
      assert.equal(res.status, 400);
      assert.equal((await res.json()).error, "invalid_grant");
      await page.context().close();
    });
  }
});

describe("offline start", () => {
  const offline = (u) => u.origin === world.op.url;
  const cut = (route) => route.abort("internetdisconnected");

  it("a stored session starts without the provider; calls that need it say network_error; back online it is checked again", async () => {
    const page = await newPage(world);
    const o = opts({ tokenStorage: "local" });
    const popup = await clickLoginWithPopup(page, o);
    await signInInPopup(popup);
    assert.equal((await outcome(page)).ok, true);
    await page.context().route(offline, cut);
    await page.reload();
    await page.waitForFunction(() => window.oidc);
    const r = await page.evaluate(async (o) => {
      window.auth = await window.oidc.createAuthClient(o);
      const a = window.auth;
      const userinfo = (await window.errorOf(() => a.fetchUserInfo()))?.code;
      const login = (await window.errorOf(() => a.buildAuthorizeUrl()))?.code;
      return { signedIn: a.isAuthenticated(), sub: a.getUser()?.sub, hasTokens: a.getTokens() !== null, userinfo, login, still: a.isAuthenticated() };
    }, o);
    assert.deepEqual(r, { signedIn: true, sub: "alice", hasTokens: true, userinfo: "network_error", login: "network_error", still: true });
    // Without a stored session there is nothing to start offline with.
    const none = await page.evaluate(async (o) => (await window.errorOf(() => window.oidc.createAuthClient(o)))?.code, opts({ tokenStorage: "memory" }));
    assert.equal(none, "network_error");
    await page.context().unroute(offline, cut);
    assert.equal(await page.evaluate(async () => (await window.auth.fetchUserInfo()).sub), "alice", "online again: checked, then served");
    await page.context().close();
  });

  it("a discovery document planted beside the session is not trusted once online: other endpoints are invalid_discovery", async () => {
    const page = await newPage(world);
    const o = opts({ tokenStorage: "local" });
    const popup = await clickLoginWithPopup(page, o);
    await signInInPopup(popup);
    assert.equal((await outcome(page)).ok, true);
    await page.evaluate((issuer) => {
      const key = `oidc-pkce:discovery:${encodeURIComponent(issuer)}`;
      const doc = JSON.parse(localStorage.getItem(key));
      localStorage.setItem(key, JSON.stringify({ ...doc, token_endpoint: "http://127.0.0.1:9/steal", userinfo_endpoint: "http://127.0.0.1:9/me" }));
    }, world.op.issuer);
    await page.context().route(offline, cut);
    await page.reload();
    await page.waitForFunction(() => window.oidc);
    const offlineStart = await page.evaluate(async (o) => {
      window.auth = await window.oidc.createAuthClient(o);
      return window.auth.isAuthenticated();
    }, o);
    assert.equal(offlineStart, true);
    await page.context().unroute(offline, cut);
    const stolen = [];
    page.on("request", (r) => r.url().startsWith("http://127.0.0.1:9/") && stolen.push(r.url()));
    const codes = await page.evaluate(async () => [
      (await window.errorOf(() => window.auth.fetchUserInfo()))?.code,
      (await window.errorOf(() => window.auth.getAccessToken({ forceRefresh: true })))?.code,
    ]);
    assert.deepEqual(codes, ["invalid_discovery", "invalid_discovery"]);
    assert.deepEqual(stolen, [], "nothing was sent to the planted endpoints");
    await page.context().close();
  });
});
