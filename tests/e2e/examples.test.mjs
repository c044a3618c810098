// The runnable examples (issue 32): examples/react-vite and examples/vue-vite,
// built by Vite with their own config (and the React one also under Vite's dev
// server, as `npm run dev` runs it), against the development provider
// (`npm run provider`, scripts/dev-provider.mjs), driven through what a user
// does in Chromium: log in, see the user, call the API, reload, log out back to
// the app, cancel a login and log in again.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { build, createServer } from "vite";
import { startDevProvider } from "../../scripts/dev-provider.mjs";
import { startStaticServer } from "../../scripts/serve.mjs";
import { freePort, keepLocal, launchChromium } from "./harness.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const EXAMPLES = ["react-vite", "vue-vite"];

let browser;
let provider;
const apps = {}; // name → { url, close() }

before(async () => {
  const ports = { "react-vite": await freePort(), "vue-vite": await freePort(), "react-vite dev": await freePort() };
  const url = (name) => `http://127.0.0.1:${ports[name]}`;
  provider = await startDevProvider({ port: 0, redirects: Object.keys(ports).map((name) => `${url(name)}/`) });
  // The example's own config sees the provider as `npm run provider` printed it.
  process.env.VITE_ISSUER = provider.issuer;
  for (const name of EXAMPLES) {
    const dir = join(root, "examples", name);
    // The built package, as `npm install` in the example links it ("file:../../pkg").
    const link = join(dir, "node_modules", "oidc-pkce");
    if (!existsSync(link)) {
      mkdirSync(join(dir, "node_modules"), { recursive: true });
      symlinkSync(join(root, "pkg"), link, "dir");
    }
    const outDir = join(root, "test-results", "examples", name);
    rmSync(outDir, { recursive: true, force: true });
    await build({ root: dir, logLevel: "warn", build: { outDir, emptyOutDir: true } });
    apps[name] = await startStaticServer({ port: ports[name], mounts: [["/", `test-results/examples/${name}`]], spa: ["/"] });
  }
  // `npm run dev` in examples/react-vite.
  const dev = await createServer({
    root: join(root, "examples", "react-vite"),
    logLevel: "warn",
    server: { host: "127.0.0.1", port: ports["react-vite dev"], strictPort: true },
  });
  await dev.listen();
  apps["react-vite dev"] = { url: url("react-vite dev"), close: () => dev.close() };
  browser = await launchChromium();
});

after(async () => {
  delete process.env.VITE_ISSUER;
  await browser?.close();
  await Promise.all([provider?.close(), ...Object.values(apps).map((a) => a.close())]);
});

/** The provider's login and consent pages (any login and password sign in). */
async function providerLogin(page, app) {
  await page.waitForSelector("input[name=login]");
  await page.fill("input[name=login]", "alice");
  await page.fill("input[name=password]", "any password");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  if (new URL(page.url()).origin !== app.url) {
    await Promise.all([page.waitForURL((u) => u.origin === app.url), page.click("button[type=submit]")]);
  }
}

describe("the examples type-check (tsc --strict, their own tsconfig)", () => {
  for (const name of EXAMPLES) {
    it(name, async () => {
      const { execFile } = await import("node:child_process");
      const { promisify } = await import("node:util");
      const tsc = join(root, "node_modules", ".bin", "tsc");
      const out = await promisify(execFile)(tsc, ["--noEmit", "-p", join(root, "examples", name)]).then(
        () => "",
        (e) => `${e.stdout}${e.stderr}`,
      );
      assert.equal(out, "");
    });
  }
});

for (const name of [...EXAMPLES, "react-vite dev"]) {
  describe(`examples/${name}`, () => {
    it("logs in, shows the user, calls the API, stays signed in on reload, logs out back to the app", async () => {
      const app = apps[name];
      const context = await browser.newContext();
      await keepLocal(context);
      const page = await context.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${app.url}/`);
      await page.click("text=Log in");
      await providerLogin(page, app);
      await page.waitForSelector("text=Hello Alice");
      assert.equal(new URL(page.url()).search, "", "code and state left the address bar");
      await page.click("text=Call the API");
      assert.equal(await page.textContent("#greeting"), "Hello, alice, from the API");
      await page.reload();
      await page.waitForSelector("text=Hello Alice");
      await page.click("text=Log out");
      // oidc-provider asks to confirm the sign-out, then returns to the app's origin.
      await page.waitForSelector("button[autofocus], button[type=submit]");
      await Promise.all([page.waitForURL((u) => u.origin === app.url), page.click("button[autofocus], button[type=submit]")]);
      await page.waitForSelector("text=Log in");
      assert.deepEqual(errors, []);
      await context.close();
    });

    it("a cancelled login says so and can be tried again", async () => {
      const app = apps[name];
      const context = await browser.newContext();
      await keepLocal(context);
      const page = await context.newPage();
      await page.goto(`${app.url}/`);
      await page.click("text=Log in");
      await page.waitForSelector("input[name=login]");
      await Promise.all([page.waitForURL((u) => u.origin === app.url), page.click("text=Cancel")]);
      await page.waitForSelector("text=Sign-in failed: access_denied");
      await page.click("text=Log in");
      await providerLogin(page, app);
      await page.waitForSelector("text=Hello Alice");
      await context.close();
    });
  });
}
