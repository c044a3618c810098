// oidc-pkce/react and oidc-pkce/vue (issue 26): a React 19 app in StrictMode
// and a Vue 3 app with vue-router, built by Vite from tests/e2e/apps/ against
// the built package (linked as node_modules/oidc-pkce, as an install would
// resolve it), in Chromium against oidc-provider. Code exchanges are counted
// at the provider.
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import react from "@vitejs/plugin-react";
import { build, createServer } from "vite";
import { publicClient, startProvider } from "../../scripts/provider.mjs";
import { startStaticServer } from "../../scripts/serve.mjs";
import { freePort, keepLocal, launchChromium } from "./harness.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const appsDir = join(root, "tests", "e2e", "apps");

let browser;
let op;
const apps = {}; // name → { url, server }
const exchanges = { react: 0, vue: 0, "react-dev": 0 }; // successful or failed authorization_code grants, by client
let dev; // Vite's dev server with @vitejs/plugin-react (fast refresh), over a copy of the React app
// (Not under test-results/: Vite's watcher ignores that folder, Playwright's.)
const devRoot = join(root, "target", "bindings-dev", "react");

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
      spa: ["/", "/orders"],
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
  // The React app once more, under Vite's dev server with fast refresh, from a copy the test edits.
  rmSync(devRoot, { recursive: true, force: true });
  cpSync(join(appsDir, "react"), devRoot, { recursive: true });
  const devLink = join(root, "target", "bindings-dev", "node_modules", "oidc-pkce");
  if (!existsSync(devLink)) {
    mkdirSync(join(root, "target", "bindings-dev", "node_modules"), { recursive: true });
    symlinkSync(join(root, "pkg"), devLink, "dir");
  }
  const port = await freePort();
  dev = await createServer({
    root: devRoot,
    configFile: false,
    logLevel: "warn",
    plugins: [
      react(),
      {
        name: "test-config",
        configureServer(server) {
          server.middlewares.use((req, res, next) => {
            if (req.url !== "/config.json") return next();
            res.setHeader("Content-Type", "application/json");
            res.end(JSON.stringify({ issuer: op.issuer, clientId: "react-dev" }));
          });
        },
      },
    ],
    server: { host: "127.0.0.1", port, strictPort: true },
  });
  await dev.listen();
  apps["react-dev"] = { url: `http://127.0.0.1:${port}`, close: () => dev.close() };
  op = await startProvider({
    clients: ["react", "vue", "react-dev"].map((name) =>
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

    it("the app's own ?state= or ?code= at the root is not a callback: no error, the address kept", async () => {
      for (const query of ["?state=draft", "?code=XYZ&tab=2"]) {
        const { context, page, errors } = await newContextPage(name, `/${query}`);
        const before = exchanges[name];
        await waitStatus(page, "signed out");
        assert.equal(await page.$("#main .error"), null, query);
        assert.equal(new URL(page.url()).search, query, "the app's parameters stay");
        assert.equal(exchanges[name] - before, 0);
        assert.deepEqual(errors, []);
        await context.close();
      }
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
  it("with two providers mounted at once in StrictMode: one exchange, both signed in", async () => {
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

describe("oidc-pkce/react under fast refresh (Vite's dev server, @vitejs/plugin-react)", () => {
  const appFile = join(devRoot, "App.jsx");
  const original = () => readFileSync(join(appsDir, "react", "App.jsx"), "utf8");
  /** Rewrites App.jsx as a developer's edit would: a new VERSION, and with `hooks` a hook more in Root (its state is then reset: Root and the AuthProvider under it mount anew). */
  const edit = (version, hooks) =>
    writeFileSync(
      appFile,
      original()
        .replace('const VERSION = "v1";', `const VERSION = "${version}";`)
        .replace("/* more hooks */", hooks ? "useState(0);".repeat(hooks) : ""),
    );
  const waitVersion = (page, version) =>
    page.waitForFunction((v) => document.querySelector("#version")?.textContent === v, version, { timeout: 20000 });

  it("an edit that remounts the provider while the code is being exchanged: one exchange, and signed in", async () => {
    edit("v1", 0);
    const { context, page, errors } = await newContextPage("react-dev");
    await waitStatus(page, "signed out");
    // The token request is held at the network until the edit has remounted the provider.
    let held = false;
    let release;
    const gate = new Promise((r) => (release = r));
    await page.route(
      (u) => u.origin === op.url && u.pathname === "/token",
      async (route) => {
        held = true;
        await gate;
        await route.continue();
      },
    );
    const before = exchanges["react-dev"];
    await page.click("#main .login");
    await signInAtProvider(page, apps["react-dev"].url);
    await page.waitForFunction(() => document.querySelector("#version"));
    while (!held) await new Promise((r) => setTimeout(r, 20));
    const instances = await page.evaluate(() => window.rootInstances);
    edit("v2", 1);
    await waitVersion(page, "v2");
    assert.ok((await page.evaluate(() => window.rootInstances)) > instances, "fast refresh mounted Root (and the provider) anew");
    assert.match(new URL(page.url()).search, /code=/, "the exchange is still under way");
    release();
    await waitStatus(page, "signed in as alice");
    assert.equal(exchanges["react-dev"] - before, 1, "one code exchange at the provider");
    assert.equal(await page.$("#main .error"), null);
    assert.equal(new URL(page.url()).search, "");

    // Another edit once signed in: the new provider takes the session up from tokenStorage.
    edit("v3", 2);
    await waitVersion(page, "v3");
    await waitStatus(page, "signed in as alice");
    assert.equal(exchanges["react-dev"] - before, 1);
    assert.deepEqual(errors, []);
    await context.close();
  });
});
