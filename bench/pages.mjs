// Ready, by the page a user lands on (issue 31): a page nobody is signed in
// to (client → authorization URL), a page with a stored session (client →
// the user known), the callback page (the code → verified tokens), each from
// navigation start on a cold cache, on loopback and on a phone's network;
// oidc-pkce against auth0-spa-js and oidc-client-ts, each against a real
// provider (oidc-provider; Auth0's paths for auth0-spa-js).
import { publicClient, startProvider } from "../scripts/provider.mjs";
import { startStaticServer } from "../scripts/serve.mjs";
import { KEYS, signIn } from "../tests/e2e/harness.mjs";

/** Lighthouse's mobile profile, through the DevTools protocol. */
const PHONE = { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 };

// ------------------------------------------------------------ in the page
// Each function runs in the page, serialized: it reads everything from its
// argument `a` ({ ours, entry, auth0, oidc }) and resolves when ready.

/** oidc-pkce: a client and what the page kind needs from it. */
const oursRun = {
  anonymous: async (a) => {
    const c = await (await import(a.entry)).createAuthClient(a.ours);
    if (!(await c.buildAuthorizeUrl())) throw new Error("no URL");
  },
  restoring: async (a) => {
    const c = await (await import(a.entry)).createAuthClient({ ...a.ours, tokenStorage: "local" });
    if (!c.isAuthenticated()) throw new Error("not restored");
  },
  callback: async (a) => {
    const c = await (await import(a.entry)).createAuthClient(a.ours);
    await c.handleRedirectCallback();
    if (!c.getUser()?.sub) throw new Error("no session");
  },
};
/** The login that starts the callback page's run (and the restoring page's session). */
const oursStart = async (a) => (await (await import(a.entry)).createAuthClient(a.ours)).buildAuthorizeUrl();

const auth0Client = async (a) => {
  const m = await import("/bench/auth0.js");
  return new m.Auth0Client({
    domain: a.auth0.url,
    clientId: "bench",
    cacheLocation: "localstorage",
    authorizationParams: { redirect_uri: a.ours.redirectUri },
  });
};
const auth0Run = {
  anonymous: async (a) => {
    const m = await import("/bench/auth0.js");
    const c = new m.Auth0Client({ domain: a.auth0.url, clientId: "bench", authorizationParams: { redirect_uri: a.ours.redirectUri } });
    let url = null;
    await c.loginWithRedirect({ openUrl: async (u) => void (url = u) });
    if (!url) throw new Error("no URL");
  },
  restoring: async (a) => {
    const m = await import("/bench/auth0.js");
    const c = new m.Auth0Client({ domain: a.auth0.url, clientId: "bench", cacheLocation: "localstorage", authorizationParams: { redirect_uri: a.ours.redirectUri } });
    if (!(await c.getUser())?.sub) throw new Error("not restored");
  },
  callback: async (a) => {
    const m = await import("/bench/auth0.js");
    const c = new m.Auth0Client({ domain: a.auth0.url, clientId: "bench", cacheLocation: "localstorage", authorizationParams: { redirect_uri: a.ours.redirectUri } });
    await c.handleRedirectCallback();
    if (!(await c.getUser())?.sub) throw new Error("no session");
  },
};
const auth0Start = async (a) => {
  const m = await import("/bench/auth0.js");
  const c = new m.Auth0Client({ domain: a.auth0.url, clientId: "bench", cacheLocation: "localstorage", authorizationParams: { redirect_uri: a.ours.redirectUri } });
  let url = null;
  await c.loginWithRedirect({ openUrl: async (u) => void (url = u) });
  return url;
};

const oidcRun = {
  anonymous: async (a) => {
    const m = await import("/bench/oidc-client-ts.js");
    const c = new m.OidcClient({ authority: a.oidc.issuer, client_id: "bench", redirect_uri: a.ours.redirectUri, metadata: a.oidc });
    if (!(await c.createSigninRequest({})).url) throw new Error("no URL");
  },
  restoring: async (a) => {
    const m = await import("/bench/oidc-client-ts.js");
    const u = new m.UserManager({
      authority: a.oidc.issuer, client_id: "bench", redirect_uri: a.ours.redirectUri, metadata: a.oidc,
      userStore: new m.WebStorageStateStore({ store: localStorage }),
    });
    if (!(await u.getUser())?.profile.sub) throw new Error("not restored");
  },
  callback: async (a) => {
    const m = await import("/bench/oidc-client-ts.js");
    const u = new m.UserManager({
      authority: a.oidc.issuer, client_id: "bench", redirect_uri: a.ours.redirectUri, metadata: a.oidc,
      userStore: new m.WebStorageStateStore({ store: localStorage }),
    });
    if (!(await u.signinRedirectCallback())?.profile.sub) throw new Error("no session");
  },
};
const oidcStart = async (a) => {
  const m = await import("/bench/oidc-client-ts.js");
  const c = new m.OidcClient({ authority: a.oidc.issuer, client_id: "bench", redirect_uri: a.ours.redirectUri, metadata: a.oidc });
  return (await c.createSigninRequest({})).url;
};

// ------------------------------------------------------------ the bench

/**
 * @param {import("playwright-core").Browser} browser
 * @param {{ site: object, samples: number, phoneSamples: number, interleaved: Function }} setup
 */
export async function benchPages(browser, { site, samples, phoneSamples, interleaved }) {
  const servers = { loopback: await startStaticServer(site), phone: await startStaticServer({ ...site, gzip: true }) };
  // One provider of each kind; every app server's callback page is registered.
  const callbacks = Object.values(servers).map((s) => `${s.url}/callback.html`);
  const origins = Object.values(servers).map((s) => s.url);
  const op = await startProvider({ clients: [publicClient("bench", callbacks)], corsOrigins: origins, jwks: { keys: [KEYS.rsa] } });
  const auth0 = await startProvider({ auth0: true, clients: [publicClient("bench", callbacks)], corsOrigins: origins, jwks: { keys: [KEYS.rsa] } });
  const oidc = {
    issuer: op.issuer,
    authorization_endpoint: `${op.url}/auth`,
    token_endpoint: `${op.url}/token`,
    jwks_uri: `${op.url}/jwks`,
    userinfo_endpoint: `${op.url}/me`,
  };
  // The libraries, each with its runs and the pages it is timed on.
  const contenders = {
    "oidc-pkce": { run: oursRun, start: oursStart, entry: "/pkg/index.js" },
    "oidc-pkce production/": { run: oursRun, start: oursStart, entry: "/pkg/production/index.js" },
    "oidc-pkce production/, preloaded": { run: oursRun, start: oursStart, entry: "/pkg/production/index.js", preload: true },
    "auth0-spa-js": { run: auth0Run, start: auth0Start },
    "oidc-client-ts": { run: oidcRun, start: oidcStart },
  };
  const out = {};
  try {
    for (const [network, server] of Object.entries(servers)) {
      const args = (entry) => ({
        entry,
        auth0: { url: auth0.url },
        oidc,
        ours: {
          issuer: op.issuer,
          clientId: "bench",
          redirectUri: `${server.url}/callback.html`,
          endpoints: { authorization: oidc.authorization_endpoint, token: oidc.token_endpoint, jwks: oidc.jwks_uri },
        },
      });
      // One browser context per contender: its provider session and its
      // stored session (localStorage) are kept, the HTTP cache is cleared
      // before each sample (a cold page, as a first visit).
      const contexts = {};
      const open = async (name) => {
        if (contexts[name]) return contexts[name];
        const context = await browser.newContext();
        const page = await context.newPage();
        const c = contenders[name];
        await page.goto(`${server.url}/blank.html`);
        // Signed in once: the provider session (for the callback runs) and the stored session.
        const url = await page.evaluate(([src, a]) => (0, eval)(`(${src})`)(a), [c.start.toString(), args(c.entry)]);
        await signIn(page, url, { appOrigin: server.url, testPage: false });
        await page.evaluate(([src, a]) => (0, eval)(`(${src})`)(a), [c.run.callback.toString(), args(c.entry)]);
        // The restoring page reads localStorage: ours keeps its session there only with tokenStorage "local".
        if (c.run === oursRun) {
          const again = await page.evaluate(([src, a]) => (0, eval)(`(${src})`)(a), [
            (async (a) => (await (await import(a.entry)).createAuthClient({ ...a.ours, tokenStorage: "local" })).buildAuthorizeUrl()).toString(),
            args(c.entry),
          ]);
          await page.goto(again);
          await page.waitForURL((u) => u.pathname === "/callback.html");
          await page.evaluate(([a]) =>
            import(a.entry).then(async (m) => (await m.createAuthClient({ ...a.ours, tokenStorage: "local" })).handleRedirectCallback()), [args(c.entry)]);
        }
        await page.close();
        return (contexts[name] = context);
      };
      const n = network === "phone" ? phoneSamples : samples;
      for (const kind of ["anonymous", "restoring", "callback"]) {
        // (A preload serves a page the app knows; the callback page is reached through the provider.)
        const names = Object.keys(contenders).filter((name) => !(contenders[name].preload && (network === "loopback" || kind === "callback")));
        const r = await interleaved(names, n, async (name) => {
          const c = contenders[name];
          // A first visit: a new context, nothing stored; otherwise the signed-in one.
          const context = kind === "anonymous" ? await browser.newContext() : await open(name);
          const page = await context.newPage();
          const cdp = await context.newCDPSession(page);
          await cdp.send("Network.enable");
          await cdp.send("Network.clearBrowserCache");
          if (network === "phone") await cdp.send("Network.emulateNetworkConditions", PHONE);
          let at = `${server.url}/${c.preload ? `preload-${kind === "anonymous" ? "anonymous-" : ""}production.html` : "blank.html"}`;
          if (kind === "callback") {
            // A login started in this tab, then the provider's redirect back (its session is kept).
            await page.goto(`${server.url}/blank.html`);
            at = await page.evaluate(([src, a]) => (0, eval)(`(${src})`)(a), [c.start.toString(), args(c.entry)]);
          }
          await page.goto(at);
          if (kind === "callback") await page.waitForURL((u) => u.pathname === "/callback.html");
          const ms = await page.evaluate(
            async ([src, a]) => {
              await (0, eval)(`(${src})`)(a);
              return performance.now();
            },
            [c.run[kind].toString(), args(c.entry)],
          );
          await (kind === "anonymous" ? context.close() : page.close());
          return ms;
        });
        out[`${kind} ${network}`] = r;
      }
      for (const context of Object.values(contexts)) await context.close();
    }
  } finally {
    await Promise.all([servers.loopback.close(), servers.phone.close(), op.close(), auth0.close()]);
  }
  return out;
}
