// oidc-pkce/react and oidc-pkce/vue (issue 26): a React 19 app in StrictMode
// and a Vue 3 app with vue-router, built by Vite from tests/e2e/apps/ against
// the built package (linked as node_modules/oidc-pkce, as an install would
// resolve it), in Chromium against oidc-provider. Code exchanges are counted
// at the provider.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { build } from "vite";
import { publicClient, startProvider } from "../../scripts/provider.mjs";
import { startStaticServer } from "../../scripts/serve.mjs";
import { keepLocal, launchChromium } from "./harness.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const appsDir = join(root, "tests", "e2e", "apps");

let browser;
let op;
const apps = {}; // name → { url, server }
const exchanges = { react: 0, vue: 0 }; // successful or failed authorization_code grants, by client

/** Builds tests/e2e/apps/<name> with Vite into test-results/apps/<name>. */
async function buildApp(name, mode) {
  const outDir = join(root, "test-results", "apps", name);
  rmSync(outDir, { recursive: true, force: true });
  // (Vite's `mode` alone leaves NODE_ENV at "production": React's development
  // build, where StrictMode mounts twice, needs NODE_ENV=development.)
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = mode;
  await build({
    root: join(appsDir, name),
    mode,
    logLevel: "warn",
    configFile: false,
    build: { outDir, emptyOutDir: true, minify: mode === "production" },
  }).finally(() => {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  });
  return outDir;
}

before(async () => {
  // The built package, resolved the way an installed one is (its exports map and conditions).
  const link = join(appsDir, "node_modules", "oidc-pkce");
  if (!existsSync(link)) {
    mkdirSync(join(appsDir, "node_modules"), { recursive: true });
    symlinkSync(join(root, "pkg"), link, "dir");
  }
  // React in development mode: StrictMode's double mount happens only there.
  const built = { react: await buildApp("react", "development"), vue: await buildApp("vue", "production") };
  for (const name of ["react", "vue"]) {
    const dir = `test-results/apps/${name}`;
    apps[name] = await startStaticServer({
      mounts: [["/", dir]],
      spa: ["/", "/orders", "/account"],
      routes: {
        "/config.json": (_req, res) => {
          res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
          res.end(JSON.stringify({ issuer: op.issuer, clientId: name }));
        },
      },
    });
    // One library in the app whatever export condition Vite picked (production/ for the Vue
    // build, the default for React's development build): one main .wasm, not two (and the
    // fallback verifier's, fetched only without crypto.subtle).
    const wasm = readdirSync(join(built[name], "assets")).filter((f) => f.startsWith("oidc_pkce_bg") && f.endsWith(".wasm"));
    assert.equal(wasm.length, 1, `${name}: ${wasm.join(", ")}`);
  }
  op = await startProvider({
    clients: ["react", "vue"].map((name) =>
      publicClient(name, [`${apps[name].url}/`], { post_logout_redirect_uris: [`${apps[name].url}/`] }),
    ),
  });
  const count = (ctx) => {
    if (ctx.oidc?.params?.grant_type === "authorization_code") exchanges[ctx.oidc.client?.clientId ?? ctx.oidc.params.client_id]++;
  };
  op.provider.on("grant.success", count);
  op.provider.on("grant.error", count);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await Promise.all([op?.close(), ...Object.values(apps).map((a) => a.close())]);
});

async function newContextPage(name, path = "/") {
  const context = await browser.newContext();
  await keepLocal(context);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(`${apps[name].url}${path}`);
  return { context, page, errors };
}

/** The provider's login and consent pages in `page`, which ends back at the app (a popup: is closed by it). */
async function signInAtProvider(page, appUrl, login = "alice", { popup = false } = {}) {
  await page.waitForURL((u) => u.origin === op.url);
  await page.fill("input[name=login]", login);
  await page.fill("input[name=password]", "any password");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  if (popup) await Promise.all([page.waitForEvent("close"), page.click("button[type=submit]")]);
  else await Promise.all([page.waitForURL((u) => u.origin === appUrl), page.click("button[type=submit]")]);
}

const status = (page, section = "#main") => page.textContent(`${section} .status`);
const waitStatus = (page, text, section = "#main") =>
  page.waitForFunction(([s, t]) => document.querySelector(`${s} .status`)?.textContent === t, [section, text]);

for (const name of ["react", "vue"]) {
  describe(`oidc-pkce/${name}`, () => {
    it("login by redirect: one code exchange, the code out of the address bar, the state shown, appState handed over", async () => {
      const { context, page, errors } = await newContextPage(name);
      await waitStatus(page, "signed out");
      const before = exchanges[name];
      await page.click("#main .login");
      await signInAtProvider(page, apps[name].url);
      await waitStatus(page, "signed in as alice");
      assert.equal(exchanges[name] - before, 1, "one code exchange at the provider");
      assert.equal(new URL(page.url()).search, "", "code and state are gone from the address bar");
      assert.deepEqual(await page.evaluate(() => window.appStates), [{ from: "main" }]);
      // A reload: the session comes back from tokenStorage, no new exchange.
      await page.reload();
      await waitStatus(page, "signed in as alice");
      assert.equal(exchanges[name] - before, 1);
      assert.deepEqual(errors, []);
      await context.close();
    });

    it("a protected route sends a signed-out visitor to log in and brings them back to it", async () => {
      const { context, page } = await newContextPage(name, "/orders");
      await signInAtProvider(page, apps[name].url, "bob");
      await page.waitForSelector("#orders");
      assert.equal(await page.textContent("#orders"), "the orders of bob");
      assert.equal(new URL(page.url()).pathname, "/orders");
      assert.deepEqual(await page.evaluate(() => window.appStates), [{ returnTo: "/orders" }]);
      await context.close();
    });

    it("login by popup: the page stays, the state follows", async () => {
      const { context, page } = await newContextPage(name);
      await waitStatus(page, "signed out");
      const before = exchanges[name];
      const [popup] = await Promise.all([page.waitForEvent("popup"), page.click("#main .popup")]);
      await signInAtProvider(popup, apps[name].url, "carol", { popup: true });
      await waitStatus(page, "signed in as carol");
      assert.equal(exchanges[name] - before, 1, "one exchange, by the page that opened the popup");
      assert.ok(popup.isClosed());
      assert.equal(new URL(page.url()).search, "", "the page did not navigate");
      await context.close();
    });

    it("a sign-out in a second tab reaches the first, which then has no token to call with", async () => {
      const { context, page } = await newContextPage(name);
      await page.click("#main .login");
      await signInAtProvider(page, apps[name].url);
      await waitStatus(page, "signed in as alice");
      const second = await context.newPage();
      await second.goto(`${apps[name].url}/`);
      await waitStatus(second, "signed in as alice");
      await second.click("#main .logout");
      await waitStatus(second, "signed out");
      await waitStatus(page, "signed out");
      const code = await page.evaluate(() => window.auth_main.getAccessToken().then(() => "token", (e) => e.code));
      assert.equal(code, "login_required");
      await context.close();
    });

    it("a refused login shows the error state, and no redirect loop", async () => {
      const { context, page } = await newContextPage(name);
      await waitStatus(page, "signed out");
      const before = exchanges[name];
      await page.click("#main .login");
      await page.waitForURL((u) => u.origin === op.url);
      await Promise.all([page.waitForURL((u) => u.origin === apps[name].url), page.click("text=[ Cancel ]")]);
      await page.waitForSelector("#main .error");
      assert.equal(await page.textContent("#main .error"), "access_denied");
      assert.equal(await status(page), "signed out");
      assert.equal(new URL(page.url()).search, "", "the refused response is gone from the address bar");
      assert.equal(exchanges[name] - before, 0);
      await context.close();
    });
  });
}

describe("oidc-pkce/react: exactly one code exchange", () => {
  it("with two providers mounted at once in StrictMode (as a remount under fast refresh): one exchange, both signed in", async () => {
    const { context, page, errors } = await newContextPage("react");
    await page.evaluate(() => sessionStorage.setItem("two-providers", "1"));
    await page.reload();
    await waitStatus(page, "signed out", "#second");
    const before = exchanges.react;
    await page.click("#main .login");
    await signInAtProvider(page, apps.react.url);
    await waitStatus(page, "signed in as alice");
    await waitStatus(page, "signed in as alice", "#second");
    assert.ok((await page.evaluate(() => window.mounts)) >= 2, "StrictMode rendered twice");
    assert.equal(exchanges.react - before, 1);
    assert.equal(await page.$("#main .error"), null);
    assert.deepEqual(errors, []);
    await context.close();
  });
});
