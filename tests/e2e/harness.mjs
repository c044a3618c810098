// Shared set-up of the end-to-end tests: the static server (built package and
// test pages), oidc-provider instances, and Debian's Chromium via playwright-core.
import { createHash, createHmac, createPrivateKey, sign as cryptoSign } from "node:crypto";
import { readFileSync } from "node:fs";
import net from "node:net";
import { chromium } from "playwright-core";
import { publicClient, startProvider } from "../../scripts/provider.mjs";
import { startStaticServer } from "../../scripts/serve.mjs";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-gpu",
];

/** A browser that resolves app.lan to 127.0.0.1: http://app.lan is then not a secure context. */
export function launchLanChromium() {
  return launchChromium(["--host-resolver-rules=MAP app.lan 127.0.0.1"]);
}

export function launchChromium(extraArgs = []) {
  // A fresh temporary profile per launch (playwright's default).
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}

/** The test signing keys (private JWKs): rsa, rsaRotated, ec, rsaWeak. */
export const KEYS = JSON.parse(readFileSync(new URL("../fixtures/signing-keys.json", import.meta.url), "utf8"));

export function publicJwk(name) {
  const { d, p, q, dp, dq, qi, ...pub } = KEYS[name];
  return pub;
}

/** Starts the app server, the providers and the browser; `close()` stops all. */
export async function startWorld({ providerOptions = {} } = {}) {
  const app = await startStaticServer();
  const appPage = `${app.url}/test/app.html`;
  const logout = { post_logout_redirect_uris: [appPage] };
  const op = await startProvider({
    clients: [
      publicClient("web", [appPage], logout),
      publicClient("web-es256", [appPage], { ...logout, id_token_signed_response_alg: "ES256" }),
      publicClient("native", ["com.example.app://callback"], { application_type: "native" }),
      // A page on a LAN address over plain http (an insecure context); see lanBrowser().
      publicClient("lan", [`http://app.lan:${app.port}/test/app.html`]),
    ],
    corsOrigins: [app.url],
    jwks: { keys: [KEYS.rsa, KEYS.ec] },
    ...providerOptions,
  });
  const auth0 = await startProvider({
    auth0: true,
    clients: [publicClient("spa", [appPage], logout)],
    jwks: { keys: [KEYS.rsa] },
  });
  const browser = await launchChromium();
  return {
    app,
    appPage,
    op,
    auth0,
    browser,
    async close() {
      await browser.close();
      await Promise.all([app.close(), op.close(), auth0.close()]);
    },
  };
}

const LOCAL_HOSTS = ["127.0.0.1", "localhost", "app.lan"];

/** Blocks every request that would leave this machine (the provider's pages load Google fonts). */
export async function keepLocal(context) {
  await context.route((url) => !LOCAL_HOSTS.includes(url.hostname), (route) => route.abort("blockedbyclient"));
}

/** A new browser context (fresh storage and cookies) with only loopback reachable. */
export async function newPage(world, { browser = world.browser, at = world.appPage } = {}) {
  const context = await browser.newContext();
  await keepLocal(context);
  const page = await context.newPage();
  await page.goto(at);
  await page.waitForFunction(() => window.oidc);
  return page;
}

/**
 * Signs in through oidc-provider's real login and consent pages, starting at
 * `authorizeUrl`; resolves to the callback URL the provider redirected to.
 */
export async function signIn(page, authorizeUrl, { login = "alice", appOrigin, testPage = true } = {}) {
  await page.goto(authorizeUrl);
  await page.fill("input[name=login]", login);
  await page.fill("input[name=password]", "any password");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await Promise.all([
    page.waitForURL((u) => u.origin === appOrigin && u.searchParams.size > 0),
    page.click("button[type=submit]"),
  ]);
  if (testPage) await page.waitForFunction(() => window.oidc);
  return page.url();
}

/**
 * A whole login in `page` (on the app's test page): buildAuthorizeUrl with
 * `authorizeOptions`, the provider's pages, handleRedirectCallback. The
 * client is `window.auth` afterwards; resolves to the authorization URL.
 */
export async function signInWithClient(page, clientOptions, authorizeOptions = {}, appOrigin) {
  const url = await page.evaluate(
    async ([o, a]) => (await window.oidc.createAuthClient(o)).buildAuthorizeUrl(a),
    [clientOptions, authorizeOptions],
  );
  const callback = await signIn(page, url, { appOrigin });
  await page.evaluate(
    async ([o, u]) => {
      window.auth = await window.oidc.createAuthClient(o);
      await window.auth.handleRedirectCallback(u);
    },
    [clientOptions, callback],
  );
  return new URL(url);
}

/**
 * Signs in on the provider's pages shown in `page` (already at the login
 * form) for a client whose redirect URI is a custom scheme. Chromium cannot
 * follow a redirect to a custom scheme, and routes do not see redirected
 * requests: on the consent step the provider's redirects are followed by hand
 * (with the context's cookies), and the Location of the last one is returned,
 * as the OS would hand it to the app.
 */
export async function signInCustomScheme(page, { login = "alice", scheme = "com.example.app:" } = {}) {
  await page.waitForSelector("input[name=login]");
  await page.fill("input[name=login]", login);
  await page.fill("input[name=password]", "any password");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  const origin = new URL(page.url()).origin;
  let location = null;
  const consent = (u) => u.origin === origin && u.pathname.startsWith("/interaction/");
  await page.route(consent, async (route) => {
    let response = await route.fetch({ maxRedirects: 0 });
    let next = response.headers()["location"];
    while (next && !next.startsWith(scheme)) {
      response = await page.request.get(new URL(next, origin).href, { maxRedirects: 0 });
      next = response.headers()["location"];
    }
    location = next ?? null;
    await route.fulfill({ status: 200, contentType: "text/html", body: "<p>back to the app</p>" });
  });
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await page.unroute(consent);
  return location;
}

export function s256(verifier) {
  return createHash("sha256").update(verifier).digest("base64url");
}

export function decodeJwt(jwt) {
  const [header, payload] = jwt.split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url")));
  return { header, payload };
}

const b64u = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/**
 * Signs a JWT with a test key: RS256 or ES256 by the key's type, or
 * { hmacSecret } for HS256. `header` members are added to { alg, kid }.
 */
export function signJwt(payload, { key = "rsa", header = {}, hmacSecret } = {}) {
  const jwk = KEYS[key];
  const alg = hmacSecret ? "HS256" : jwk.kty === "EC" ? "ES256" : "RS256";
  const h = { alg, kid: jwk.kid, typ: "JWT", ...header };
  const input = `${b64u(h)}.${b64u(payload)}`;
  let sig;
  if (hmacSecret) {
    sig = createHmac("sha256", hmacSecret).update(input).digest();
  } else {
    const k = createPrivateKey({ key: jwk, format: "jwk" });
    sig = cryptoSign("sha256", Buffer.from(input), jwk.kty === "EC" ? { key: k, dsaEncoding: "ieee-p1363" } : k);
  }
  return `${input}.${sig.toString("base64url")}`;
}

/**
 * Makes a client as `window.auth` and a button whose click calls
 * loginWithPopup(popupOptions), as an app does; the outcome lands in
 * `window.outcome`. Resolves to the popup page.
 */
export async function clickLoginWithPopup(page, clientOptions, popupOptions = {}) {
  await page.evaluate(
    async ([o, p]) => {
      window.auth = await window.oidc.createAuthClient(o);
      const button = document.createElement("button");
      button.id = "popup-login";
      button.textContent = "Log in with a popup";
      button.onclick = () => {
        window.outcome = window.auth.loginWithPopup(p).then(
          (r) => ({ ok: true, appState: r.appState }),
          (e) => ({ ok: false, code: e.code, message: e.message, errorDescription: e.errorDescription }),
        );
      };
      document.body.append(button);
    },
    [clientOptions, popupOptions],
  );
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.click("#popup-login")]);
  return popup;
}

/** Signs in on the provider's pages shown in `popup` (login, then consent when asked). */
export async function signInInPopup(popup, login = "alice") {
  await popup.waitForSelector("input[name=login]");
  await popup.fill("input[name=login]", login);
  await popup.fill("input[name=password]", "any password");
  await Promise.all([popup.waitForNavigation(), popup.click("button[type=submit]")]);
  if (!popup.isClosed() && (await popup.$("button[type=submit]"))) {
    await popup.click("button[type=submit]").catch(() => {}); // the popup may close under the click
  }
}

/** A TCP port free on 127.0.0.1 now (for a server that must know its port before it starts). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
