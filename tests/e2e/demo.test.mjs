// The demo page a newcomer opens after `npm run demo`: log in, see tokens and claims.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before, it } from "node:test";
import { startDemo } from "../../www/server.mjs";
import { launchChromium } from "./harness.mjs";

let demo;
let browser;
before(async () => {
  // Free ports: a developer's own `npm run demo` may hold the default ones.
  demo = await startDemo({ appPort: 0, providerPort: 0 });
  browser = await launchChromium();
  // Screenshots for a person to look at (not committed).
  mkdirSync("test-results", { recursive: true });
});
after(async () => {
  await browser?.close();
  await demo?.close();
});

it("logs in through the demo page and shows the tokens and the ID token claims", async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 1300 } });
  await context.route((u) => !["127.0.0.1", "localhost"].includes(u.hostname), (r) => r.abort());
  const page = await context.newPage();
  await page.goto(`${demo.app.url}/`);
  await page.waitForSelector("body[data-ready=true]");
  assert.equal(await page.textContent("#local-issuer"), demo.op.issuer);

  await page.click("#preview-button");
  await page.waitForSelector("#authorize-request:not([hidden])");
  assert.match(await page.textContent("#authorize-params"), /code_challenge_methodS256/);

  assert.equal((await page.getAttribute("#login-button", "class")) ?? "", "", "signed out: Log in is the primary button");
  let callbackUrl = null;
  page.on("request", (r) => r.url().startsWith(`${demo.app.url}/callback?`) && (callbackUrl = r.url()));
  await Promise.all([page.waitForNavigation(), page.click("#login-button")]);
  await page.fill("input[name=login]", "carol");
  await page.fill("input[name=password]", "pw");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await Promise.all([page.waitForURL((u) => u.origin === demo.app.url), page.click("button[type=submit]")]);
  await page.waitForSelector("body[data-ready=true]");
  await page.screenshot({ path: "test-results/demo-signed-in.png", fullPage: true });

  assert.equal(new URL(page.url()).pathname, "/", "the spent code is dropped from the address bar");
  assert.equal((await page.getAttribute("#login-button", "class")) ?? "", "secondary", "signed in: Log in steps back");
  assert.equal((await page.getAttribute("#logout-button", "class")) ?? "", "", "signed in: Log out leads");
  assert.match(await page.textContent("#status"), /Signed in as Carol/);
  assert.ok(await page.isHidden("#error-block"), await page.textContent("#error"));
  assert.match(await page.textContent("#tokens"), /token_typeBearer/);
  const claims = JSON.parse(await page.textContent("#claims"));
  assert.equal(claims.sub, "carol");
  assert.equal(claims.email, "carol@example.com");
  assert.equal(claims.aud, "demo");
  assert.equal(await page.textContent("#user-name"), "Carol");

  assert.match(await page.textContent("#tokens"), /refresh_token\S{10}/, "offline_access gave a refresh token");
  const before = await page.textContent("#tokens");
  await page.click("#refresh-button");
  await page.waitForFunction((b) => document.querySelector("#tokens").textContent !== b, before);
  assert.ok(await page.isHidden("#error-block"), await page.textContent("#error"));
  assert.match(await page.textContent("#countdown"), /expires in \d+ s/);

  // A token for the demo's API (RFC 8707): a JWT for that audience, the session's own kept.
  const accessToken = async () => (await page.textContent("#tokens")).match(/access_token(.*?)id_token/)[1];
  const own = await accessToken();
  await page.click("#api-token-button");
  await page.waitForFunction(() => document.querySelector("#userinfo").textContent.includes("getAccessToken({ audience"));
  assert.ok(await page.isHidden("#error-block"), await page.textContent("#error"));
  const shown = await page.textContent("#userinfo");
  const apiClaims = JSON.parse(shown.slice(shown.indexOf("\n{")));
  assert.equal(apiClaims.aud, "https://api.example.com/");
  assert.equal(apiClaims.sub, "carol");
  assert.equal(await accessToken(), own, "the session's own access token is unchanged");
  assert.match(await page.textContent("#tokens"), /refresh_token\S{10}/, "the rotated refresh token is kept");

  await page.click("#userinfo-button");
  // (The block shows the API token already: wait for the userinfo answer itself.)
  await page.waitForFunction(() => document.querySelector("#userinfo").textContent.startsWith("{"));
  assert.equal(JSON.parse(await page.textContent("#userinfo")).email, "carol@example.com");

  // The session is kept in sessionStorage: a reload still shows it.
  await page.reload();
  await page.waitForSelector("body[data-ready=true]");
  assert.equal(await page.textContent("#user-name"), "Carol");

  // The same callback again (Back, a bookmark): refused, and the session is still shown.
  await page.goto(callbackUrl);
  await page.waitForSelector("body[data-ready=true]");
  // (state_mismatch here: the preview above left another pending login.)
  assert.match(await page.textContent("#error"), /missing_transaction|state_mismatch/);
  assert.ok(await page.isVisible("#tokens-block"), "the still-valid session is shown");
  assert.match(await page.textContent("#status"), /Still signed in as Carol: that callback was refused \((missing_transaction|state_mismatch)\)/);

  // Log out: the provider asks to confirm, then sends the browser back.
  await Promise.all([page.waitForNavigation(), page.click("#logout-button")]);
  await Promise.all([page.waitForURL((u) => u.origin === demo.app.url), page.click("button[autofocus], button[type=submit]")]);
  await page.waitForSelector("body[data-ready=true]");
  assert.ok(await page.isHidden("#tokens-block"));
  assert.equal(await page.textContent("#status"), "Signed out, here and at the provider.");
  assert.equal((await page.getAttribute("#login-button", "class")) ?? "", "", "signed out: Log in leads again");
  // The provider's session ended with the logout: silent authentication says so.
  await page.click("#check-button");
  await page.waitForFunction(() => document.querySelector("#status").textContent.includes("checkSession() → false"));
  assert.ok(await page.isVisible("#popup-button"));
  await page.screenshot({ path: "test-results/demo-after-logout.png" }).catch(() => {});
  await context.close();
});

it("the demo's switch to its server as the client (BFF): signed in with no token in the page, /userinfo through the proxy, logout", async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 1300 } });
  await context.route((u) => !["127.0.0.1", "localhost"].includes(u.hostname), (r) => r.abort());
  const page = await context.newPage();
  const wasm = [];
  page.on("request", (r) => r.url().endsWith(".wasm") && wasm.push(r.url()));
  await page.goto(`${demo.app.url}/`);
  await page.waitForSelector("body[data-ready=true]");
  await page.check("input[name=mode][value=bff]");
  assert.ok(await page.isHidden("#popup-button"), "what needs a token in the page is not offered");
  wasm.length = 0; // (the first load, in the browser-only mode, loaded its module)
  await page.reload();
  await page.waitForSelector("body[data-ready=true]");

  await Promise.all([page.waitForNavigation(), page.click("#login-button")]);
  await page.fill("input[name=login]", "dave");
  await page.fill("input[name=password]", "pw");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await Promise.all([page.waitForURL((u) => u.origin === demo.app.url), page.click("button[type=submit]")]);
  await page.waitForSelector("body[data-ready=true]");
  assert.ok(await page.isHidden("#error-block"), await page.textContent("#error"));
  assert.match(await page.textContent("#status"), /Signed in as Dave, at the demo's server/);
  assert.equal(JSON.parse(await page.textContent("#claims")).aud, "demo-backend");
  assert.doesNotMatch(await page.textContent("#tokens"), /eyJ/, "no token shown: the page has none");
  // (The discovery document the first load's browser-side client kept is all there is.)
  const stored = await page.evaluate(() => [...Object.entries(sessionStorage), ...Object.entries(localStorage)]);
  assert.deepEqual(stored.filter(([k, v]) => /eyJ/.test(v) || !/:(discovery|settings)\b/.test(k)), [], "no token in the page's storage");
  const cookie = (await context.cookies(demo.app.url)).find((c) => c.name === "__Host-oidc-pkce");
  assert.ok(cookie?.httpOnly, "the session is an HttpOnly cookie");
  assert.deepEqual(wasm, [], "the page behind the backend loads no WebAssembly");

  await page.click("#userinfo-button");
  await page.waitForFunction(() => document.querySelector("#userinfo").textContent.startsWith("{"));
  const info = JSON.parse(await page.textContent("#userinfo"));
  assert.equal(info["through /auth/api"], 200);
  assert.equal(info.sub, "dave");

  await Promise.all([page.waitForNavigation(), page.click("#logout-button")]);
  await Promise.all([page.waitForURL((u) => u.origin === demo.app.url), page.click("button[autofocus], button[type=submit]")]);
  await page.waitForSelector("body[data-ready=true]");
  assert.equal(await page.textContent("#status"), "Signed out, here and at the provider.");
  assert.ok(!(await context.cookies(demo.app.url)).some((c) => c.name === "__Host-oidc-pkce"), "the cookie is gone");
  await page.screenshot({ path: "test-results/demo-bff-after-logout.png" }).catch(() => {});
  await context.close();
});
