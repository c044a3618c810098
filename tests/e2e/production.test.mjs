// The production build (pkg/production/: the same module without the errors'
// messages) end to end against oidc-provider: the same login, the same
// verification, the same stable error fields; only `message` is shorter.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeJwt, launchLanChromium, newPage, publicJwk, s256, signIn, signJwt, startWorld } from "./harness.mjs";

let world;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world?.close();
});

const opts = () => ({ issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage });
const productionAt = () => `${world.appPage}?build=production`;
const productionPage = () => newPage(world, { at: productionAt() });

/** handleRedirectCallback(url) with the production build: the result, or the error's fields. */
async function callback(page, url) {
  // The provider redirected to the test page without ?build=production: back to the production build.
  await page.goto(productionAt());
  await page.waitForFunction(() => window.oidc);
  return page.evaluate(
    async ([o, u]) => {
      const auth = await window.oidc.createAuthClient(o);
      try {
        const result = await auth.handleRedirectCallback(u);
        return { result, tokens: auth.getTokens(), user: auth.getUser(), error: null };
      } catch (e) {
        return { error: { isAuthError: e instanceof window.oidc.AuthError, name: e.name, code: e.code, reason: e.reason,
          message: e.message, error: e.error, errorDescription: e.errorDescription } };
      }
    },
    [opts(), url],
  );
}

async function startLogin(page) {
  const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), opts());
  return new URL(url);
}

describe("the production build", () => {
  it("is the production build (its errors carry the code and reason, not the message)", async () => {
    const page = await productionPage();
    const e = await page.evaluate(() =>
      window.errorOf(() => window.oidc.createAuthClient({ issuer: "https://id.example.com", clientId: "x", redirectUri: "https://app.example/cb", bogus: 1 })),
    );
    assert.equal(e.name, "AuthError");
    assert.ok(e.isAuthError);
    assert.equal(e.code, "invalid_config");
    assert.equal(e.message, "invalid_config; the development build has the message");
    await page.context().close();
  });

  it("signs in through the real pages: PKCE, state, iss, code exchange, verified ID token", async () => {
    const page = await productionPage();
    const tokenRequests = [];
    page.on("request", (r) => r.url().startsWith(`${world.op.url}/token`) && tokenRequests.push(r));
    const a = await startLogin(page);
    assert.equal(a.searchParams.get("code_challenge_method"), "S256");
    const callbackUrl = await signIn(page, a.href, { appOrigin: world.app.url });
    const { result, tokens, user, error } = await callback(page, callbackUrl);
    assert.equal(error, null);
    assert.ok(result);
    assert.equal(user.sub, "alice");
    assert.equal(decodeJwt(tokens.idToken).payload.nonce, a.searchParams.get("nonce"));
    assert.equal(tokenRequests.length, 1);
    const body = new URLSearchParams(tokenRequests[0].postData());
    assert.equal(s256(body.get("code_verifier")), a.searchParams.get("code_challenge"));
    await page.context().close();
  });

  it("refuses a tampered state and a wrong iss with the same codes, and keeps the server's error fields", async () => {
    const page = await productionPage();
    const a = await startLogin(page);
    const callbackUrl = await signIn(page, a.href, { appOrigin: world.app.url });
    const tampered = new URL(callbackUrl);
    tampered.searchParams.set("state", "A".repeat(43));
    const bad = await callback(page, tampered.href);
    assert.equal(bad.error.code, "state_mismatch");
    assert.equal(bad.error.message, "state_mismatch; the development build has the message");
    const mixed = new URL(callbackUrl);
    mixed.searchParams.set("iss", "https://attacker.example");
    assert.equal((await callback(page, mixed.href)).error.code, "issuer_mismatch");
    // The server's own error: its fields are kept whole.
    const denied = new URL(world.appPage);
    denied.searchParams.set("error", "access_denied");
    denied.searchParams.set("error_description", "End-User aborted interaction");
    denied.searchParams.set("state", (await startLogin(page)).searchParams.get("state"));
    denied.searchParams.set("iss", world.op.issuer);
    const r = await callback(page, denied.href);
    assert.equal(r.error.code, "access_denied");
    assert.equal(r.error.error, "access_denied");
    assert.equal(r.error.errorDescription, "End-User aborted interaction");
    await page.context().close();
  });

  it("verifyIdToken: a good token passes; a tampered or foreign one fails with its reason", async () => {
    const page = await productionPage();
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: world.op.issuer, aud: "web", sub: "alice", iat: now, exp: now + 600 };
    const good = signJwt(claims, { key: "rsa" });
    const tampered = signJwt({ ...claims, sub: "mallory" }, { key: "rsa" }).split(".").slice(0, 2).concat(good.split(".")[2]).join(".");
    const expired = signJwt({ ...claims, exp: now - 3600 }, { key: "rsa" });
    const out = await page.evaluate(
      async ([tokens, jwks, issuer]) => {
        const check = (t) => window.oidc.verifyIdToken(t, { issuer, clientId: "web", jwks }).then(
          (c) => ({ sub: c.sub }),
          (e) => ({ code: e.code, reason: e.reason, message: e.message }),
        );
        return Promise.all(tokens.map(check));
      },
      [[good, tampered, expired], { keys: [publicJwk("rsa"), publicJwk("ec")] }, world.op.issuer],
    );
    assert.deepEqual(out[0], { sub: "alice" });
    assert.deepEqual(out[1], {
      code: "invalid_id_token",
      reason: "signature",
      message: "invalid_id_token (signature); the development build has the message",
    });
    assert.equal(out[2].code, "invalid_id_token");
    assert.equal(out[2].reason, "exp");
    await page.context().close();
  });

  it("without crypto.subtle (plain http on a LAN address) verifies with the shared fallback module", async () => {
    const browser = await launchLanChromium();
    try {
      const page = await newPage(world, { browser, at: `http://app.lan:${world.app.port}/test/app.html?build=production` });
      const requests = [];
      page.on("request", (r) => requests.push(new URL(r.url()).pathname));
      const now = Math.floor(Date.now() / 1000);
      const good = signJwt({ iss: world.op.issuer, aud: "lan", sub: "alice", iat: now, exp: now + 600 }, { key: "rsa" });
      const [h, p, sig] = good.split(".");
      const forged = `${h}.${p}.${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}`;
      const out = await page.evaluate(
        async ([tokens, jwks, issuer]) => ({
          secure: window.isSecureContext,
          results: await Promise.all(tokens.map((t) => window.oidc.verifyIdToken(t, { issuer, clientId: "lan", jwks })
            .then((c) => c.sub, (e) => `${e.code}/${e.reason}`))),
        }),
        [[good, forged], { keys: [publicJwk("rsa")] }, world.op.issuer],
      );
      assert.equal(out.secure, false);
      assert.deepEqual(out.results, ["alice", "invalid_id_token/signature"]);
      assert.ok(requests.includes("/pkg/verifier/oidc_pkce_verifier_bg.wasm"), requests.join());
      await page.context().close();
    } finally {
      await browser.close();
    }
  });
});
