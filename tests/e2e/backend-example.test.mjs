// examples/backend (issue 33): the same page in the three modes of RFC 10017
// (backend for frontend, token-mediating backend, browser only) against the
// development provider (`npm run provider`, scripts/dev-provider.mjs), as a
// user drives it in Chromium: log in, call the API, log out.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { startDevProvider } from "../../scripts/dev-provider.mjs";
import { keepLocal, launchChromium } from "./harness.mjs";
import { freePort } from "./server-harness.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dir = join(root, "examples", "backend");
const MODES = ["bff", "token-mediating", "browser"];

let browser;
let provider;
const ports = {};
const apps = {};

before(async () => {
  // The built package, as `npm install` in the example links it ("file:../../pkg").
  const link = join(dir, "node_modules", "oidc-pkce");
  if (!existsSync(link)) {
    mkdirSync(join(dir, "node_modules"), { recursive: true });
    symlinkSync(join(root, "pkg"), link, "dir");
  }
  for (const mode of MODES) ports[mode] = await freePort();
  const origin = (mode) => `http://localhost:${ports[mode]}`;
  provider = await startDevProvider({
    port: 0,
    redirects: [`${origin("browser")}/`],
    backends: [origin("bff"), origin("token-mediating")],
  });
  const { startExample } = await import("../../examples/backend/server.mjs");
  for (const mode of MODES) apps[mode] = await startExample({ mode, port: ports[mode], issuer: provider.issuer });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await Promise.all([provider?.close(), ...Object.values(apps).map((a) => a.close())]);
});

async function logIn(page, url) {
  await page.click("#login");
  await page.waitForSelector("input[name=login]");
  await page.fill("input[name=login]", "alice");
  await page.fill("input[name=password]", "any password");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  if (!page.url().startsWith(url)) {
    await Promise.all([page.waitForURL((u) => u.href.startsWith(url)), page.click("button[type=submit]")]);
  }
  await page.waitForSelector("body[data-ready=true]");
}

for (const mode of MODES) {
  describe(`examples/backend --mode ${mode}`, () => {
    it("logs in, calls the API, logs out back to the page", async () => {
      const context = await browser.newContext();
      await keepLocal(context);
      const page = await context.newPage();
      const url = apps[mode].url;
      await page.goto(url);
      await page.waitForSelector("body[data-ready=true]");
      assert.equal(await page.textContent("#status"), "Signed out.");
      await logIn(page, url);
      assert.equal(await page.textContent("#status"), "Signed in as Alice.");
      assert.equal(new URL(page.url()).search, "", "no code left in the address");

      await page.click("#call");
      await page.waitForFunction(() => !document.getElementById("out").hidden);
      assert.match(await page.textContent("#out"), /^200 .*Hello, alice, from the API/);

      // Where the tokens are: nowhere in the page with a backend.
      const cookies = await context.cookies();
      const held = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }));
      if (mode === "browser") {
        assert.ok(!cookies.some((c) => c.name.startsWith("__Host-oidc-pkce")));
      } else {
        const session = cookies.find((c) => c.name === "__Host-oidc-pkce");
        assert.ok(session?.httpOnly && session.secure, "the session is an HttpOnly, Secure cookie");
        assert.doesNotMatch(held, /token/i, "no token in the page's storage");
      }

      const origin = new URL(url).origin;
      await Promise.all([page.waitForURL((u) => u.origin !== origin), page.click("#logout")]);
      // oidc-provider asks to confirm, then returns to the app.
      await Promise.all([page.waitForURL((u) => u.href === url), page.click("button[autofocus], button[type=submit]")]);
      await page.waitForSelector("body[data-ready=true]");
      assert.equal(await page.textContent("#status"), "Signed out.");
      if (mode !== "browser") {
        assert.equal((await context.cookies()).filter((c) => c.name === "__Host-oidc-pkce").length, 0, "the session cookie is gone");
      }
      await context.close();
    });
  });
}
