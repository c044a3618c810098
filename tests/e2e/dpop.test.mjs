// DPoP (RFC 9449, issue 14): tokens bound to a non-extractable key of the
// browser. In Chromium against oidc-provider with its DPoP feature on; the
// binding is read back by token introspection (a confidential "rs" client),
// and a resource server here verifies proofs with jose.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from "jose";
import { publicClient, startProvider } from "../../scripts/provider.mjs";
import { decodeJwt, launchLanChromium, newPage, signIn, signInWithClient, startWorld } from "./harness.mjs";

const RS = { client_id: "rs", client_secret: "rs secret", grant_types: [], response_types: [], redirect_uris: [] };

let world;
let op; // DPoP on (oidc-provider's default), introspection on
let opNonce; // requires a DPoP nonce on every proof
let opNoDpop; // DPoP off: answers Bearer whatever the client sends
let opEdDsa; // takes EdDSA proofs only
before(async () => {
  world = await startWorld();
  const clients = (extra = {}) => [
    publicClient("web", [world.appPage], { post_logout_redirect_uris: [world.appPage], ...extra }),
    RS,
  ];
  const common = { corsOrigins: [world.app.url] };
  op = await startProvider({ ...common, clients: clients(), features: { introspection: { enabled: true } } });
  opNonce = await startProvider({
    ...common,
    clients: clients(),
    features: {
      introspection: { enabled: true },
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    },
  });
  opNoDpop = await startProvider({ ...common, clients: clients(), features: { dPoP: { enabled: false } } });
  opEdDsa = await startProvider({ ...common, clients: clients() });
});
after(async () => {
  await Promise.all([op, opNonce, opNoDpop, opEdDsa].map((p) => p?.close()));
  await world?.close();
});

const opts = (provider = op, extra = {}) => ({
  issuer: provider.issuer,
  clientId: "web",
  redirectUri: world.appPage,
  dpop: true,
  ...extra,
});

/** RFC 7662 introspection of `token` by the resource server's client. */
async function introspect(provider, token) {
  const r = await fetch(`${provider.url}/token/introspection`, {
    method: "POST",
    headers: {
      Authorization: `Basic ${Buffer.from(`${RS.client_id}:${RS.client_secret}`).toString("base64")}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ token }),
  });
  assert.equal(r.status, 200);
  return r.json();
}

/** The DPoP keys the page's IndexedDB holds: extractable flags and public thumbprints. */
function storedKeys(page) {
  return page.evaluate(async () => {
    const names = (await indexedDB.databases()).map((d) => d.name);
    if (!names.includes("oidc-pkce-dpop")) return [];
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open("oidc-pkce-dpop");
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const pairs = await new Promise((resolve) => {
      const r = db.transaction("keys").objectStore("keys").getAll();
      r.onsuccess = () => resolve(r.result);
    });
    db.close();
    return Promise.all(
      pairs.map(async (p) => ({
        type: p.privateKey.type,
        extractable: p.privateKey.extractable,
        usages: p.privateKey.usages,
        exportPrivate: await crypto.subtle.exportKey("jwk", p.privateKey).then(() => "exported", (e) => e.name),
        publicJwk: await crypto.subtle.exportKey("jwk", p.publicKey),
      })),
    );
  }).then((keys) => Promise.all(keys.map(async (k) => ({ ...k, jkt: await calculateJwkThumbprint(k.publicJwk) }))));
}

/** Records the page's POSTs to the token endpoint and their answers (`answer`: a promise of the JSON). */
function recordTokenRequests(page, provider) {
  const seen = [];
  page.on("response", (response) => {
    const r = response.request();
    if (r.method() !== "POST" || r.url() !== `${provider.url}/token`) return;
    const proof = r.headers()["dpop"];
    seen.push({
      body: new URLSearchParams(r.postData() ?? ""),
      proof: proof ? decodeJwt(proof) : null,
      status: response.status(),
      nonce: response.headers()["dpop-nonce"],
      // (DevTools may no longer hold a body the page has read: best effort.)
      answer: response.json().catch(() => null),
    });
  });
  return seen;
}

/** A whole login; `window.auth` is the client afterwards (harness.mjs). */
const signedIn = (page, clientOptions, authorizeOptions) =>
  signInWithClient(page, clientOptions, authorizeOptions, world.app.url);

const OFFLINE = { scope: "openid offline_access", prompt: "consent" };

/**
 * A resource server that takes DPoP-bound tokens of `provider`: it verifies
 * the proof (signature by its embedded key, typ, htm, htu, ath, a fresh jti)
 * and that the key is the one the token is bound to (cnf.jkt, by
 * introspection). With `nonce`, it first answers 401 use_dpop_nonce.
 */
async function startResource(provider, { nonce = false, alwaysNewNonce = false } = {}) {
  const seen = [];
  const jtis = new Set();
  let current = null;
  const server = http.createServer(async (req, res) => {
    const cors = {
      "Access-Control-Allow-Origin": world.app.url,
      "Access-Control-Allow-Headers": "authorization, dpop, content-type",
      "Access-Control-Allow-Methods": "GET, POST",
      "Access-Control-Expose-Headers": "DPoP-Nonce, WWW-Authenticate",
    };
    if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
    const url = `${resource.url}${req.url}`;
    const [scheme, token] = (req.headers.authorization ?? "").split(" ");
    const entry = { method: req.method, url, scheme, proof: req.headers.dpop ? decodeJwt(req.headers.dpop) : null };
    seen.push(entry);
    const refuse = (error, extra = {}) => {
      entry.refused = error;
      res.writeHead(401, { ...cors, "WWW-Authenticate": `DPoP error="${error}", algs="ES256"`, ...extra }).end();
    };
    try {
      if (scheme !== "DPoP" || !req.headers.dpop) return refuse("invalid_token");
      const { payload, protectedHeader } = await jwtVerify(req.headers.dpop, EmbeddedJWK, {
        typ: "dpop+jwt",
        algorithms: ["ES256"],
      });
      const target = new URL(url);
      target.search = "";
      assert.equal(payload.htm, req.method);
      assert.equal(payload.htu, target.href);
      assert.equal(payload.ath, createHash("sha256").update(token).digest("base64url"));
      assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 60);
      assert.ok(!jtis.has(payload.jti), "jti replayed");
      jtis.add(payload.jti);
      const jkt = await calculateJwkThumbprint(protectedHeader.jwk);
      const info = await introspect(provider, token);
      if (!info.active || info.cnf?.jkt !== jkt) return refuse("invalid_token");
      if (alwaysNewNonce || (nonce && (!current || payload.nonce !== current))) {
        current = randomBytes(16).toString("base64url");
        return refuse("use_dpop_nonce", { "DPoP-Nonce": current });
      }
      entry.accepted = true;
      res.writeHead(200, { ...cors, "Content-Type": "application/json" }).end(JSON.stringify({ sub: info.sub, jkt }));
    } catch (e) {
      entry.error = String(e);
      refuse("invalid_dpop_proof");
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const resource = {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
  return resource;
}

describe("DPoP", () => {
  it("binds the tokens to a non-extractable key: dpop_jkt, proofs, token_type DPoP, cnf.jkt; the token is refused as Bearer", async () => {
    const page = await newPage(world);
    const tokenRequests = recordTokenRequests(page, op);
    const url = await signedIn(page, opts());
    const keys = await storedKeys(page);
    assert.equal(keys.length, 1, "one key, in IndexedDB");
    const [key] = keys;
    assert.equal(key.type, "private");
    assert.equal(key.extractable, false);
    assert.equal(key.exportPrivate, "InvalidAccessError", "the private key cannot be exported");
    assert.deepEqual(key.usages, ["sign"]);
    assert.equal(key.publicJwk.crv, "P-256");
    assert.equal(url.searchParams.get("dpop_jkt"), key.jkt, "RFC 9449 §10: dpop_jkt names the key");

    assert.equal(tokenRequests.length, 1);
    const { header, payload } = tokenRequests[0].proof;
    assert.equal(header.typ, "dpop+jwt");
    assert.equal(header.alg, "ES256");
    assert.equal(await calculateJwkThumbprint(header.jwk), key.jkt);
    assert.equal(header.jwk.d, undefined);
    assert.equal(payload.htm, "POST");
    assert.equal(payload.htu, `${op.url}/token`);
    assert.equal(typeof payload.jti, "string");
    assert.equal(payload.ath, undefined);

    const tokens = await page.evaluate(() => window.auth.getTokens());
    assert.equal(tokens.tokenType, "DPoP");
    const info = await introspect(op, tokens.accessToken);
    assert.equal(info.active, true);
    assert.equal(info.cnf?.jkt, key.jkt, "the access token is bound to the key");

    // The token alone, as Bearer, is refused by the provider's userinfo.
    const asBearer = await fetch(`${op.url}/me`, { headers: { Authorization: `Bearer ${tokens.accessToken}` } });
    assert.equal(asBearer.status, 401);
    // fetchUserInfo sends it with a proof.
    const user = await page.evaluate(() => window.auth.fetchUserInfo());
    assert.equal(user.sub, "alice");
    await page.context().close();
  });

  it("refresh keeps the binding; the refresh token is useless without the key", async () => {
    const page = await newPage(world);
    const tokenRequests = recordTokenRequests(page, op);
    await signedIn(page, opts(op, { exposeRefreshToken: true }), OFFLINE);
    const [key] = await storedKeys(page);
    const before = await page.evaluate(() => window.auth.getTokens());
    assert.ok(before.refreshToken);
    // Stolen, the refresh token does not work from elsewhere (no proof of the key).
    const stolen = await fetch(`${op.url}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: "web", refresh_token: before.refreshToken }),
    });
    assert.equal(stolen.status, 400);
    assert.equal((await stolen.json()).error, "invalid_grant");

    const after = await page.evaluate(() => window.auth.refresh());
    assert.notEqual(after.accessToken, before.accessToken);
    assert.equal(after.tokenType, "DPoP");
    const refresh = tokenRequests.at(-1);
    assert.equal(refresh.body.get("grant_type"), "refresh_token");
    assert.equal(await calculateJwkThumbprint(refresh.proof.header.jwk), key.jkt);
    assert.notEqual(refresh.proof.payload.jti, tokenRequests[0].proof.payload.jti, "a new jti per proof");
    assert.equal((await introspect(op, after.accessToken)).cnf?.jkt, key.jkt);
    assert.equal((await page.evaluate(() => window.auth.fetchUserInfo())).sub, "alice");
    await page.context().close();
  });

  it("a provider that requires nonces: the exchange is retried once with its DPoP-Nonce, and the next request sends it first time", async () => {
    const page = await newPage(world);
    const tokenRequests = recordTokenRequests(page, opNonce);
    await signedIn(page, opts(opNonce), OFFLINE);
    assert.equal(tokenRequests.length, 2, "one refusal, one retry");
    assert.equal(tokenRequests[0].status, 400, JSON.stringify(tokenRequests));
    assert.equal(typeof tokenRequests[0].nonce, "string", "the refusal carries a DPoP-Nonce");
    const refusal = await tokenRequests[0].answer;
    if (refusal) assert.equal(refusal.error, "use_dpop_nonce");
    assert.equal(tokenRequests[1].proof.payload.nonce, tokenRequests[0].nonce, "the retry sends the server's nonce");
    assert.equal(tokenRequests[0].proof.payload.nonce, undefined);
    assert.equal(tokenRequests[1].status, 200);
    assert.equal(typeof tokenRequests[1].proof.payload.nonce, "string");
    assert.equal(tokenRequests[0].body.get("code"), tokenRequests[1].body.get("code"));
    assert.equal(await page.evaluate(() => window.auth.getTokens().tokenType), "DPoP");
    // The refresh carries the latest nonce from the start.
    await page.evaluate(() => window.auth.refresh());
    assert.equal(tokenRequests.length, 3);
    assert.equal(tokenRequests[2].status, 200);
    assert.equal(typeof tokenRequests[2].proof.payload.nonce, "string");
    // Userinfo requires nonces too: answered after at most one retry.
    assert.equal((await page.evaluate(() => window.auth.fetchUserInfo())).sub, "alice");
    await page.context().close();
  });

  it("fetchWithAuth on a DPoP session: Authorization: DPoP and a proof with ath; one retry when the resource asks for a nonce", async () => {
    const resource = await startResource(op, { nonce: true });
    const stubborn = await startResource(op, { alwaysNewNonce: true });
    try {
      const page = await newPage(world);
      await signedIn(page, opts());
      const [key] = await storedKeys(page);
      const r = await page.evaluate(async (url) => {
        const response = await window.auth.fetchWithAuth(`${url}/orders?page=2`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ item: 1 }),
        });
        return { status: response.status, body: await response.json() };
      }, resource.url);
      assert.equal(r.status, 200, JSON.stringify(resource.seen));
      assert.deepEqual(r.body, { sub: "alice", jkt: key.jkt });
      assert.equal(resource.seen.length, 2);
      assert.equal(resource.seen[0].refused, "use_dpop_nonce");
      assert.equal(resource.seen[0].proof.payload.nonce, undefined);
      assert.equal(resource.seen[1].accepted, true);
      assert.equal(resource.seen[1].method, "POST");
      assert.equal(resource.seen[1].proof.payload.htu, `${resource.url}/orders`);
      assert.ok(resource.seen[1].proof.payload.nonce);
      // The resource's nonce is remembered: the next request needs no retry.
      const again = await page.evaluate(async (url) => (await window.auth.fetchWithAuth(`${url}/me`)).status, resource.url);
      assert.equal(again, 200);
      assert.equal(resource.seen.length, 3);
      // A resource that keeps asking: the last Response is returned, after one retry only.
      const refusing = await page.evaluate(async (url) => {
        const response = await window.auth.fetchWithAuth(url);
        return { status: response.status, challenge: response.headers.get("www-authenticate") };
      }, `${stubborn.url}/x`);
      assert.equal(refusing.status, 401);
      assert.match(refusing.challenge, /use_dpop_nonce/);
      assert.equal(stubborn.seen.length, 2);
      await page.context().close();
    } finally {
      await resource.close();
      await stubborn.close();
    }
  });

  it("htu is the URL fetch requests (RFC 9449 §4.3): scheme and host lower-cased, dot segments removed, for every endpoint", async () => {
    const resource = await startResource(op);
    try {
      const page = await newPage(world);
      const tokenRequests = recordTokenRequests(page, op);
      const shout = (url) => url.replace(/^http:/, "HTTP:");
      const o = opts(op, {
        endpoints: {
          token: shout(`${op.url}/x/./y/../../token`),
          userinfo: shout(`${resource.url}/a/%2e%2E/./me`),
        },
      });
      await signedIn(page, o);
      assert.equal(tokenRequests.length, 1);
      assert.equal(tokenRequests[0].proof.payload.htu, `${op.url}/token`);
      assert.equal((await page.evaluate(() => window.auth.fetchUserInfo())).sub, "alice", JSON.stringify(resource.seen));
      assert.equal(resource.seen.at(-1).proof.payload.htu, `${resource.url}/me`);
      const status = await page.evaluate(async (url) => (await window.auth.fetchWithAuth(url)).status, shout(`${resource.url}/b/../orders?x=1#f`));
      assert.equal(status, 200, JSON.stringify(resource.seen.at(-1)));
      assert.equal(resource.seen.at(-1).proof.payload.htu, `${resource.url}/orders`);
      await page.context().close();
    } finally {
      await resource.close();
    }
  });

  it("fetchWithAuth against the provider's userinfo with a DPoP token; bearer sessions still send Bearer", async () => {
    const page = await newPage(world);
    await signedIn(page, opts());
    const r = await page.evaluate(async (url) => {
      const response = await window.auth.fetchWithAuth(url);
      return { status: response.status, body: await response.json() };
    }, `${op.url}/me`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.sub, "alice");
    await page.context().close();

    const bearer = await newPage(world);
    const seen = [];
    await bearer.route(`${world.app.url}/api/**`, (route) => {
      seen.push(route.request().headers());
      return route.fulfill({ status: 200, body: "{}" });
    });
    await signedIn(bearer, opts(op, { dpop: false }));
    assert.equal(await bearer.evaluate(() => window.auth.getTokens().tokenType), "Bearer");
    await bearer.evaluate(() => window.auth.fetchWithAuth("/api/x"));
    assert.match(seen[0].authorization, /^Bearer /);
    assert.equal(seen[0].dpop, undefined);
    assert.deepEqual(await storedKeys(bearer), [], "no key without the option");
    await bearer.context().close();
  });

  it("a reload with tokenStorage \"local\" keeps the same key and a working session; logout deletes the key, the next login makes a new one", async () => {
    const page = await newPage(world);
    const o = opts(op, { tokenStorage: "local" });
    await signedIn(page, o, OFFLINE);
    const [first] = await storedKeys(page);
    await page.reload();
    await page.waitForFunction(() => window.oidc);
    const after = await page.evaluate(async (o) => {
      window.auth = await window.oidc.createAuthClient(o);
      return {
        signedIn: window.auth.isAuthenticated(),
        user: await window.auth.fetchUserInfo(),
        refreshed: await window.auth.refresh(),
      };
    }, o);
    assert.equal(after.signedIn, true);
    assert.equal(after.user.sub, "alice");
    assert.equal((await introspect(op, after.refreshed.accessToken)).cnf?.jkt, first.jkt);
    assert.deepEqual((await storedKeys(page)).map((k) => k.jkt), [first.jkt], "the same key");

    await page.evaluate(() => window.auth.logout({ openUrl: () => {} }));
    assert.deepEqual(await storedKeys(page), [], "logout deletes the key");
    await page.context().clearCookies(); // (the provider's session: its logout page was not visited)
    const url = await signedIn(page, o);
    const [second] = await storedKeys(page);
    assert.notEqual(second.jkt, first.jkt);
    assert.equal(url.searchParams.get("dpop_jkt"), second.jkt);
    await page.context().close();
  });

  it("a stored DPoP session whose key is gone is not restored (login_required, never sent without its key)", async () => {
    const page = await newPage(world);
    const o = opts(op, { tokenStorage: "local" });
    await signedIn(page, o);
    await page.evaluate(() => new Promise((resolve) => {
      const r = indexedDB.deleteDatabase("oidc-pkce-dpop");
      r.onsuccess = r.onerror = r.onblocked = resolve;
    }));
    const r = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      return { signedIn: auth.isAuthenticated(), e: await window.errorOf(() => auth.getAccessToken()) };
    }, o);
    assert.equal(r.signedIn, false);
    assert.equal(r.e.code, "login_required");
    await page.context().close();
  });

  it("with PAR, dpop_jkt goes in the pushed body", async () => {
    const page = await newPage(world);
    const pushes = [];
    page.on("request", (r) => {
      if (r.method() === "POST" && new URL(r.url()).pathname === "/request") pushes.push(new URLSearchParams(r.postData() ?? ""));
    });
    const url = await signedIn(page, opts(op, { pushedAuthorizationRequests: true }));
    const [key] = await storedKeys(page);
    assert.deepEqual([...url.searchParams.keys()].sort(), ["client_id", "request_uri"]);
    assert.equal(pushes.length, 1);
    assert.equal(pushes[0].get("dpop_jkt"), key.jkt);
    const tokens = await page.evaluate(() => window.auth.getTokens());
    assert.equal((await introspect(op, tokens.accessToken)).cnf?.jkt, key.jkt);
    await page.context().close();
  });

  it("a provider that ignores the proof and answers Bearer: invalid_token_response, no session (no silent fallback)", async () => {
    const page = await newPage(world);
    const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), opts(opNoDpop));
    const callback = await signIn(page, url, { appOrigin: world.app.url });
    const r = await page.evaluate(async ([o, u]) => {
      const auth = await window.oidc.createAuthClient(o);
      return { e: await window.errorOf(() => auth.handleRedirectCallback(u)), signedIn: auth.isAuthenticated(), tokens: auth.getTokens() };
    }, [opts(opNoDpop), callback]);
    assert.equal(r.e.code, "invalid_token_response");
    assert.match(r.e.message, /DPoP/);
    assert.equal(r.signedIn, false);
    assert.equal(r.tokens, null);
    await page.context().close();
  });

  it("without crypto.subtle (an http page on a LAN address): dpop is unsupported_platform, not Bearer", async () => {
    const browser = await launchLanChromium();
    try {
      const lanPage = `http://app.lan:${world.app.port}/test/app.html`;
      const page = await newPage(world, { browser, at: lanPage });
      const e = await page.evaluate(
        (o) => window.errorOf(() => window.oidc.createAuthClient(o)),
        { issuer: op.issuer, clientId: "web", redirectUri: lanPage, dpop: true, allowInsecureRequests: true },
      );
      assert.equal(e.code, "unsupported_platform");
      assert.match(e.message, /crypto\.subtle/);
    } finally {
      await browser.close();
    }
  });

  it("the option is checked: a provider that takes no ES256 proofs is invalid_config; extraParams cannot set dpop_jkt", async () => {
    const page = await newPage(world);
    // A provider whose discovery lists other proof algorithms only.
    await page.route(`${opEdDsa.url}/.well-known/openid-configuration`, async (route) => {
      const response = await route.fetch();
      const doc = await response.json();
      return route.fulfill({ response, json: { ...doc, dpop_signing_alg_values_supported: ["EdDSA"] } });
    });
    const e = await page.evaluate((o) => window.errorOf(() => window.oidc.createAuthClient(o)), opts(opEdDsa));
    assert.equal(e.code, "invalid_config");
    assert.match(e.message, /ES256/);
    const extra = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      return window.errorOf(() => auth.buildAuthorizeUrl({ extraParams: { dpop_jkt: "attacker" } }));
    }, opts());
    assert.equal(extra.code, "invalid_config");
    await page.context().close();
  });
});
