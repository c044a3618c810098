// Hybrid and bundler reality: the Capacitor example's Vite build in Chromium
// (the test stands in for the OS), an app killed mid-login, the typed example,
// and an insecure (plain http, LAN address) page.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "vite";
import { publicClient, startProvider } from "../../scripts/provider.mjs";
import { startStaticServer } from "../../scripts/serve.mjs";
import { keepLocal, launchLanChromium, newPage, signIn, signInCustomScheme, startWorld, publicJwk } from "./harness.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const example = join(root, "examples", "capacitor");
let world;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world?.close();
});

describe("the Capacitor example", () => {
  let app;
  let op;
  before(async () => {
    // The example's web build is served at its own origin, as the WebView's
    // http://localhost would be; the provider registers the native client.
    app = await startStaticServer({ mounts: [["/", "examples/capacitor/dist"]], spa: [] });
    op = await startProvider({
      clients: [
        publicClient("native", ["com.example.app://callback"], {
          application_type: "native",
          post_logout_redirect_uris: ["com.example.app://logout"],
        }),
      ],
      corsOrigins: [app.url],
    });
    process.env.VITE_OIDC_ISSUER = op.issuer;
    process.env.VITE_OIDC_CLIENT_ID = "native";
    await build({ root: example, logLevel: "warn", configFile: join(example, "vite.config.js") });
  });
  after(async () => {
    await app?.close();
    await op?.close();
  });

  it("logs in: in-app browser, custom-scheme callback through appUrlOpen, browser closed, session in Preferences", async () => {
    const context = await world.browser.newContext();
    await keepLocal(context);
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${app.url}/`);
    await page.waitForSelector("body[data-ready=true]");
    assert.equal(await page.textContent("#status"), "Signed out");

    // Browser.open on the web opens a window: the in-app browser's stand-in.
    const [browserTab] = await Promise.all([context.waitForEvent("page"), page.click("#login")]);
    const location = await signInCustomScheme(browserTab, { login: "dora" });
    assert.ok(location?.startsWith("com.example.app://callback?code="), location);

    // The OS hands the URL to the app: Capacitor's App plugin fires appUrlOpen.
    await page.evaluate((url) => window.Capacitor.Plugins.App.notifyListeners("appUrlOpen", { url }), location);
    await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Signed in"));
    assert.equal(await page.textContent("#status"), "Signed in as Dora");
    assert.equal(await page.textContent("#error"), "");
    await browserTab.waitForEvent("close", { timeout: 5000 }).catch(() => {});
    assert.ok(browserTab.isClosed(), "Browser.close() closed the in-app browser");

    // The session in the secure store (the plugin's web fallback writes localStorage under its
    // prefix; on a phone, the Keychain/Keystore), the pending login in Preferences, consumed.
    const keys = await page.evaluate(() => Object.keys(localStorage));
    const preferences = keys.filter((k) => k.startsWith("CapacitorStorage."));
    const secure = keys.filter((k) => k.startsWith("capacitor-storage_"));
    assert.ok(secure.some((k) => k.includes("oidc-pkce:session:")), keys.join());
    assert.ok(!preferences.some((k) => k.includes("oidc-pkce:session:")), "the session is not in Preferences");
    assert.ok(!preferences.some((k) => k.includes("oidc-pkce:tx:")), "the pending login was consumed");

    // The app restarts: the session comes back from Preferences.
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    assert.equal(await page.textContent("#status"), "Signed in as Dora");

    // Logout: signed out at once; the provider's logout page in the in-app browser, asked to
    // come back to the app's logout URL, which is no login callback: the browser closes, no error.
    const [logoutTab] = await Promise.all([context.waitForEvent("page"), page.click("#logout")]);
    await page.waitForFunction(() => document.getElementById("status").textContent === "Signed out");
    const end = new URL(logoutTab.url());
    assert.equal(end.searchParams.get("post_logout_redirect_uri"), "com.example.app://logout");
    assert.ok(end.searchParams.get("id_token_hint"), "the provider is told whose session ends");
    await page.evaluate(() => window.Capacitor.Plugins.App.notifyListeners("appUrlOpen", { url: "com.example.app://logout" }));
    await logoutTab.waitForEvent("close", { timeout: 5000 }).catch(() => {});
    assert.ok(logoutTab.isClosed(), "Browser.close() closed the in-app browser");
    assert.equal(await page.textContent("#error"), "");
    assert.equal(await page.textContent("#status"), "Signed out");
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe("the app killed while the in-app browser is open", () => {
  for (const [storage, expected] of [["local", null], [undefined, "missing_transaction"]]) {
    it(`transactionStorage ${storage ?? "default (session)"}: ${expected ?? "the callback still succeeds"}`, async () => {
      const o = { issuer: world.op.issuer, clientId: "native", redirectUri: "com.example.app://callback", transactionStorage: storage };
      const first = await newPage(world);
      const url = await first.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), o);
      // The in-app browser (another tab) signs in; meanwhile the OS kills the app.
      const browserTab = await first.context().newPage();
      await browserTab.goto(url);
      const location = await signInCustomScheme(browserTab);
      await first.close();
      // The app starts again (new page: new sessionStorage) and gets the callback.
      const second = await first.context().newPage();
      await second.goto(world.appPage);
      await second.waitForFunction(() => window.oidc);
      const r = await second.evaluate(
        async ([o, url]) => {
          const auth = await window.oidc.createAuthClient(o);
          const error = await window.errorOf(() => auth.handleRedirectCallback(url));
          return { error: error?.code ?? null, user: auth.getUser()?.sub ?? null };
        },
        [o, location],
      );
      assert.equal(r.error, expected);
      assert.equal(r.user, expected ? null : "alice");
      await second.context().close();
    });
  }
});

describe("TypeScript", () => {
  const tsc = join(root, "node_modules", ".bin", "tsc");
  it("the typed example passes tsc --noEmit", async () => {
    await promisify(execFile)(tsc, ["--noEmit", "-p", example]);
  });

  it("and a mistyped use of the API fails it (the types are real)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "oidc-pkce-ts-"));
    try {
      writeFileSync(
        join(dir, "bad.ts"),
        `import { createAuthClient } from "oidc-pkce";
const auth = await createAuthClient({ clientId: "a", redirectUri: "x", tokenRequestEncoding: "xml" });
const n: number = auth.getTokens();
export {};
`,
      );
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: { target: "es2022", module: "esnext", moduleResolution: "bundler", strict: true, noEmit: true, types: [],
            paths: { "oidc-pkce": [join(root, "pkg", "index.d.ts")] } },
          include: ["bad.ts"],
        }),
      );
      const out = await promisify(execFile)(tsc, ["--noEmit", "-p", dir]).then(() => "", (e) => e.stdout);
      assert.match(out, /tokenRequestEncoding|"xml"/);
      assert.match(out, /not assignable to type 'number'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("an insecure context (plain http on a LAN address)", () => {
  it("has no crypto.subtle, yet makes PKCE pairs, logs in and verifies the ID token", async () => {
    const browser = await launchLanChromium();
    try {
      const at = `http://app.lan:${world.app.port}/test/app.html`;
      const page = await newPage(world, { browser, at });
      const env = await page.evaluate(async () => ({
        secure: window.isSecureContext,
        subtle: typeof crypto.subtle,
        pair: await window.oidc.createPkcePair(),
      }));
      assert.equal(env.secure, false);
      assert.equal(env.subtle, "undefined");
      assert.equal(env.pair.codeVerifier.length, 43);

      const o = { issuer: world.op.issuer, clientId: "lan", redirectUri: at };
      const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), o);
      await signIn(page, url, { appOrigin: `http://app.lan:${world.app.port}` });
      const r = await page.evaluate(async (o) => {
        const auth = await window.oidc.createAuthClient(o);
        const error = await window.errorOf(() => auth.handleRedirectCallback());
        return { error, sub: auth.getIdTokenClaims()?.sub, idToken: auth.getTokens()?.idToken };
      }, o);
      assert.equal(r.error, null, JSON.stringify(r.error));
      assert.equal(r.sub, "alice");

      // The fallback module verifies for real: a forged signature and a token
      // signed by another key are refused there too.
      const verifierRequests = [];
      page.on("request", (req) => req.url().includes("/pkg/verifier/") && verifierRequests.push(req.url()));
      await page.reload();
      await page.waitForFunction(() => window.oidc);
      const refused = await page.evaluate(
        async ([idToken, jwks, issuer]) => {
          const reason = async (token) => {
            try {
              await window.oidc.verifyIdToken(token, { issuer, clientId: "lan", jwks, leeway: 3600 });
              return "accepted";
            } catch (e) {
              return `${e.code}/${e.reason}`;
            }
          };
          const [h, p, sig] = idToken.split(".");
          const flipped = `${h}.${p}.${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}`;
          return { real: await reason(idToken), forged: await reason(flipped) };
        },
        [r.idToken, { keys: [publicJwk("rsa")] }, world.op.issuer],
      );
      assert.deepEqual(refused, { real: "accepted", forged: "invalid_id_token/signature" });
      assert.ok(verifierRequests.some((u) => u.endsWith("oidc_pkce_verifier_bg.wasm")), verifierRequests.join());
      await page.context().close();
    } finally {
      await browser.close();
    }
  });

  it("a secure page never fetches the fallback verifier", async () => {
    const page = await newPage(world);
    const requests = [];
    page.on("request", (req) => requests.push(req.url()));
    await page.reload();
    await page.waitForFunction(() => window.oidc);
    const o = { issuer: world.op.issuer, clientId: "web", redirectUri: world.appPage };
    const url = await page.evaluate(async (o) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(), o);
    await signIn(page, url, { appOrigin: world.app.url });
    const sub = await page.evaluate(async (o) => {
      const auth = await window.oidc.createAuthClient(o);
      await auth.handleRedirectCallback();
      return auth.getIdTokenClaims().sub;
    }, o);
    assert.equal(sub, "alice");
    assert.deepEqual(requests.filter((u) => u.includes("/pkg/verifier/")), []);
    await page.context().close();
  });
});
