// Pushed authorization requests (RFC 9126, issue 14): the parameters are
// POSTed to the provider's PAR endpoint from the page, and the browser goes to
// the authorization endpoint with client_id and request_uri alone. In
// Chromium against oidc-provider, whose PAR endpoint is on.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { publicClient, startProvider } from "../../scripts/provider.mjs";
import { newPage, signIn, startWorld } from "./harness.mjs";

let world;
let requiring; // a provider whose discovery says require_pushed_authorization_requests
before(async () => {
  world = await startWorld();
  requiring = await startProvider({
    clients: [publicClient("web", [world.appPage])],
    corsOrigins: [world.app.url],
    features: { pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true } },
  });
});
after(async () => {
  await requiring?.close();
  await world?.close();
});

const opts = (extra = {}) => ({ issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage, ...extra });

/** Records the POSTs the page makes to a PAR endpoint (path /request on oidc-provider). */
function recordPushes(page) {
  const pushes = [];
  page.on("request", (r) => {
    if (r.method() === "POST" && new URL(r.url()).pathname === "/request") pushes.push(new URLSearchParams(r.postData() ?? ""));
  });
  return pushes;
}

/** A full login: buildAuthorizeUrl, the provider's pages, handleRedirectCallback. */
async function loginThrough(page, clientOptions) {
  const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), clientOptions);
  const callback = await signIn(page, url, { appOrigin: world.app.url });
  const user = await page.evaluate(async ([o, u]) => {
    const auth = await window.oidc.createAuthClient(o);
    await auth.handleRedirectCallback(u);
    return { sub: auth.getUser()?.sub, signedIn: auth.isAuthenticated() };
  }, [clientOptions, callback]);
  return { url: new URL(url), user };
}

describe("pushed authorization requests", () => {
  it("with the option: the URL carries client_id and request_uri alone, the parameters went in the POST, the login completes", async () => {
    const page = await newPage(world);
    const pushes = recordPushes(page);
    const { url, user } = await loginThrough(page, opts({ pushedAuthorizationRequests: true }));
    assert.deepEqual([...url.searchParams.keys()].sort(), ["client_id", "request_uri"]);
    assert.equal(url.searchParams.get("client_id"), "web");
    assert.match(url.searchParams.get("request_uri"), /^urn:ietf:params:oauth:request_uri:/);
    assert.equal(pushes.length, 1);
    const pushed = pushes[0];
    for (const k of ["response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method"]) {
      assert.ok(pushed.get(k), `${k} pushed`);
    }
    assert.equal(pushed.get("code_challenge_method"), "S256");
    assert.deepEqual(user, { sub: "alice", signedIn: true });
    await page.context().close();
  });

  it("without the option, the URL carries the parameters and nothing is pushed", async () => {
    const page = await newPage(world);
    const pushes = recordPushes(page);
    const url = new URL(await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), opts()));
    assert.ok(url.searchParams.get("code_challenge"));
    assert.equal(url.searchParams.get("request_uri"), null);
    assert.equal(pushes.length, 0);
    await page.context().close();
  });

  it("required by discovery (require_pushed_authorization_requests): pushed without the option, and the login completes", async () => {
    const page = await newPage(world);
    const pushes = recordPushes(page);
    const o = { issuer: requiring.issuer, clientId: "web", redirectUri: world.appPage };
    const { url, user } = await loginThrough(page, o);
    assert.deepEqual([...url.searchParams.keys()].sort(), ["client_id", "request_uri"]);
    assert.equal(pushes.length, 1);
    assert.deepEqual(user, { sub: "alice", signedIn: true });
    await page.context().close();
  });

  it("a PAR error: the server's error as the code, its description and status, and nothing navigates", async () => {
    const page = await newPage(world);
    const before = page.url();
    // A redirect URI the client did not register: oidc-provider refuses the push.
    const e = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      return window.errorOf(() => auth.loginWithRedirect({ scope: "openid" }));
    }, opts({ pushedAuthorizationRequests: true, redirectUri: `${world.appPage}?not-registered` }));
    assert.equal(e.name, "AuthError");
    assert.equal(e.code, "invalid_request", JSON.stringify(e));
    assert.equal(e.error, "invalid_request");
    assert.equal(e.status, 400);
    assert.match(e.errorDescription, /redirect_uri/, "the provider's error_description");
    assert.equal(page.url(), before);
    const stored = await page.evaluate(() => [...Object.keys(sessionStorage), ...Object.keys(localStorage)].filter((k) => k.startsWith("oidc-pkce:tx:")));
    assert.deepEqual(stored, [], "no pending login kept for a request that was refused");
    await page.context().close();
  });

  it("a PAR answer without request_uri (or a short-lived one missing expires_in) is invalid_par_response", async () => {
    const page = await newPage(world);
    const parUrl = `${world.op.url}/request`;
    for (const body of [{ expires_in: 60 }, { request_uri: "urn:ietf:params:oauth:request_uri:x" }]) {
      await page.route(parUrl, (r) =>
        r.fulfill({ status: 201, contentType: "application/json", headers: { "access-control-allow-origin": "*" }, body: JSON.stringify(body) }),
      );
      const e = await page.evaluate(async (o) => {
        const auth = await window.oidc.createAuthClient(o);
        return window.errorOf(() => auth.buildAuthorizeUrl());
      }, opts({ pushedAuthorizationRequests: true }));
      assert.equal(e.code, "invalid_par_response", JSON.stringify(body));
      await page.unroute(parUrl);
    }
    await page.context().close();
  });

  it("an option asking for PAR where the provider has no PAR endpoint is invalid_config, not a silent fallback", async () => {
    const page = await newPage(world);
    const e = await page.evaluate(
      (o) => window.errorOf(async () => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl()),
      // Both login endpoints given: no discovery, so no PAR endpoint either.
      opts({
        pushedAuthorizationRequests: true,
        endpoints: { authorization: `${world.op.url}/auth`, token: `${world.op.url}/token` },
      }),
    );
    assert.equal(e.code, "invalid_config");
    assert.match(e.message, /pushedAuthorizationRequest/);
    await page.context().close();
  });
});
