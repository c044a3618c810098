#!/usr/bin/env node
// `npm run bench`: size and speed of oidc-pkce against the SDKs people use
// today, in one headless Chromium run against the local oidc-provider.
// Prints a table (figures are medians of this run; nothing is asserted) and
// writes bench-results/bench.json.
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { publicClient, startProvider } from "../scripts/provider.mjs";
import { startStaticServer } from "../scripts/serve.mjs";
import { KEYS, launchChromium, publicJwk, signIn, signJwt } from "../tests/e2e/harness.mjs";
import { benchPages } from "./pages.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 21);
const MICRO_MS = Number(process.env.BENCH_MICRO_MS ?? 1500);
// BENCH_ONLY=pages,callback,micro runs those parts only (the size table always prints).
const ONLY = (process.env.BENCH_ONLY ?? "pages,callback,micro").split(",");
const PHONE_SAMPLES = Number(process.env.BENCH_PHONE_SAMPLES ?? 7);
// What the bench's pages are served from: the built package, the peers' bundles, the pages.
const BENCH_SITE = {
  mounts: [
    ["/pkg/", "pkg"],
    ["/bench/", "bench/dist"],
    ["/", "bench/pages"],
  ],
  spa: [],
};
const LOCAL_ONLY = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost";

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// One sample of each name in turn, `samples` times: the machine's speed
// drifts during a run, and every library should see the same drift.
async function interleaved(names, samples, measure) {
  const times = Object.fromEntries(names.map((name) => [name, []]));
  for (let i = 0; i < samples; i++) {
    for (const name of names) times[name].push(await measure(name));
  }
  return Object.fromEntries(Object.entries(times).map(([name, t]) => [name, { medianMs: median(t), times: t }]));
}

// ---------------------------------------------------------------- bundles
async function bundle(name) {
  await build({
    configFile: false,
    logLevel: "warn",
    root,
    build: {
      lib: { entry: join(root, "bench", "entries", `${name}.js`), formats: ["es"], fileName: () => `${name}.js` },
      outDir: join(root, "bench", "dist"),
      emptyOutDir: false,
      minify: true,
      target: "es2022",
    },
  });
  return join(root, "bench", "dist", `${name}.js`);
}

function sizes(files) {
  const bytes = files.map((f) => readFileSync(f));
  return {
    raw: bytes.reduce((n, b) => n + b.length, 0),
    gzip: bytes.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0),
    brotli: bytes.reduce(
      (n, b) => n + brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
      0,
    ),
  };
}

// ---------------------------------------------------------------- main
async function main() {
  // What a page in a secure context downloads: the entry (glue and driver
  // bundled in) and one .wasm: the full module for a login, the anonymous
  // one for a page nobody is signed in to. pkg/verifier/ is fetched only
  // where crypto.subtle is missing: its own row.
  const files = (dir, wasm) => ["index.js", wasm].map((f) => join(root, "pkg", dir, f));
  const verifierFiles = readdirSync(join(root, "pkg", "verifier"))
    .filter((f) => /\.(js|wasm)$/.test(f))
    .map((f) => join(root, "pkg", "verifier", f));
  const auth0File = join(root, "node_modules", "@auth0", "auth0-spa-js", "dist", "auth0-spa-js.production.esm.js");
  const oidcClientFile = join(root, "node_modules", "oidc-client-ts", "dist", "browser", "oidc-client-ts.min.js");
  mkdirSync(join(root, "bench", "dist"), { recursive: true });
  writeFileSync(join(root, "bench", "dist", "auth0.js"), readFileSync(auth0File));
  // Its browser .min.js is an IIFE: the pages import an ESM bundle of it instead.
  await bundle("oidc-client-ts");
  const o4w = await bundle("oauth4webapi");
  const o4wJose = await bundle("oauth4webapi-jose");
  await bundle("jose");

  const size = {
    "oidc-pkce (JS + wasm)": sizes(files("", "oidc_pkce_bg.wasm")),
    "oidc-pkce production/ (no messages)": sizes(files("production", "oidc_pkce_bg.wasm")),
    "oidc-pkce anonymous page": sizes(files("", "oidc_pkce_anonymous_bg.wasm")),
    "oidc-pkce production/ anonymous page": sizes(files("production", "oidc_pkce_anonymous_bg.wasm")),
    "oidc-pkce verifier/ (no crypto.subtle)": sizes(verifierFiles),
    "auth0-spa-js 2.28.3 (ESM)": sizes([auth0File]),
    "oidc-client-ts 3.5.0 (min)": sizes([oidcClientFile]),
    "oauth4webapi 3.8.8 (all exports)": sizes([o4w]),
    "oauth4webapi + jose (callback peer)": sizes([o4wJose]),
  };

  const app = await startStaticServer(BENCH_SITE);
  const redirectUri = `${app.url}/callback.html`;
  const op = await startProvider({
    clients: [publicClient("bench", [redirectUri])],
    jwks: { keys: [KEYS.rsa] },
  });
  const meta = {
    issuer: op.issuer,
    authorization_endpoint: `${op.url}/auth`,
    token_endpoint: `${op.url}/token`,
    jwks_uri: `${op.url}/jwks`,
    userinfo_endpoint: `${op.url}/me`,
  };
  const ours = {
    issuer: op.issuer,
    clientId: "bench",
    redirectUri,
    endpoints: { authorization: meta.authorization_endpoint, token: meta.token_endpoint, jwks: meta.jwks_uri },
  };
  // Only loopback is reachable, by host resolution: the tests' keepLocal()
  // intercepts every request through Playwright instead, which added ~5 ms to
  // each request on this machine (measured 2026-11-23: a fetch of index.js
  // 10.4 ms with it, 5.2 without) and so weighed on a library by its number of
  // requests rather than by anything a user's browser does.
  const browser = await launchChromium([LOCAL_ONLY]);
  const results = { samples: SAMPLES, phoneSamples: PHONE_SAMPLES, size, pages: {}, callback: {}, micro: {} };
  try {
    if (ONLY.includes("pages")) {
      results.pages = await benchPages(browser, { site: BENCH_SITE, samples: SAMPLES, phoneSamples: PHONE_SAMPLES, interleaved });
    }
    if (ONLY.includes("callback")) results.callback = await benchCallback(browser, app, ours, meta);
    if (ONLY.includes("micro")) results.micro = await benchMicro(browser, app, op);
  } finally {
    await browser.close();
    await app.close();
    await op.close();
  }
  report(results);
  mkdirSync(join(root, "bench-results"), { recursive: true });
  writeFileSync(join(root, "bench-results", "bench.json"), JSON.stringify(results, null, 2) + "\n");
  console.log("\nwritten: bench-results/bench.json");
}

// ---------------------------------------------------------------- callback
// From the callback URL to verified tokens, against oidc-provider: code
// exchange, key set, signature and claim checks. The provider session is kept
// so that each login after the first redirects straight back.
async function benchCallback(browser, app, ours, meta) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const start = {
    ours: async (o) => (await (await import("/pkg/index.js")).createAuthClient(o)).buildAuthorizeUrl(),
    o4w: async ({ meta, ours }) => {
      const o = await import("/bench/oauth4webapi-jose.js");
      const verifier = o.generateRandomCodeVerifier();
      const state = o.generateRandomState();
      const nonce = o.generateRandomNonce();
      sessionStorage.setItem("o4w", JSON.stringify({ verifier, state, nonce }));
      const u = new URL(meta.authorization_endpoint);
      const p = {
        response_type: "code", client_id: ours.clientId, redirect_uri: ours.redirectUri, scope: "openid profile email",
        state, nonce, code_challenge: await o.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
      };
      for (const [k, v] of Object.entries(p)) u.searchParams.set(k, v);
      return u.href;
    },
  };
  const finish = {
    "oidc-pkce": async ({ ours }) => {
      const c = await (await import("/pkg/index.js")).createAuthClient(ours);
      const t0 = performance.now();
      await c.handleRedirectCallback();
      const ms = performance.now() - t0;
      if (!c.getIdTokenClaims()?.sub) throw new Error("no session");
      return ms;
    },
    "oidc-pkce, keys cached": async ({ ours }) => {
      // tokenStorage keeps the key set between page loads: one round trip.
      const c = await (await import("/pkg/index.js")).createAuthClient({ ...ours, tokenStorage: "session" });
      const t0 = performance.now();
      await c.handleRedirectCallback();
      const ms = performance.now() - t0;
      if (!c.getIdTokenClaims()?.sub) throw new Error("no session");
      return ms;
    },
    "oauth4webapi + jose": async ({ ours, meta }) => {
      const o = await import("/bench/oauth4webapi-jose.js");
      const { verifier, state, nonce } = JSON.parse(sessionStorage.getItem("o4w"));
      const as = meta;
      const client = { client_id: ours.clientId };
      const opts = { [o.allowInsecureRequests]: true };
      const t0 = performance.now();
      const params = o.validateAuthResponse(as, client, new URL(location.href), state);
      const res = await o.authorizationCodeGrantRequest(as, client, o.None(), params, ours.redirectUri, verifier, opts);
      const result = await o.processAuthorizationCodeResponse(as, client, res, { expectedNonce: nonce, requireIdToken: true });
      const jwks = o.createRemoteJWKSet(new URL(as.jwks_uri), { [o.allowInsecureRequests]: true });
      const { payload } = await o.jwtVerify(result.id_token, jwks, { issuer: as.issuer, audience: ours.clientId });
      const ms = performance.now() - t0;
      if (!payload.sub) throw new Error("no sub");
      return ms;
    },
  };
  const out = {};
  let signedIn = false;
  for (const [name, fn] of Object.entries(finish)) {
    const times = [];
    for (let i = 0; i < SAMPLES; i++) {
      await page.goto(`${app.url}/blank.html`);
      const which = name.startsWith("oidc-pkce") ? "ours" : "o4w";
      const url = await page.evaluate(([src, args]) => (0, eval)(`(${src})`)(args), [
        start[which].toString(),
        which === "ours" ? (name.includes("cached") ? { ...ours, tokenStorage: "session" } : ours) : { meta, ours },
      ]);
      if (!signedIn) {
        await signIn(page, url, { appOrigin: app.url, testPage: false });
        signedIn = true;
      } else {
        await page.goto(url);
        await page.waitForURL((u) => u.pathname === "/callback.html");
      }
      times.push(await page.evaluate(([src, args]) => (0, eval)(`(${src})`)(args), [fn.toString(), { ours, meta }]));
    }
    out[name] = { medianMs: median(times), times };
  }
  await context.close();
  return out;
}

// ---------------------------------------------------------------- micro
async function benchMicro(browser, app, op) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: op.issuer, aud: "bench", sub: "alice", iat: now, exp: now + 3600 };
  const tokens = { RS256: signJwt(claims, { key: "rsa" }), ES256: signJwt(claims, { key: "ec" }) };
  const jwks = { keys: [publicJwk("rsa"), publicJwk("ec")] };
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${app.url}/blank.html`);
  const out = await page.evaluate(
    async ({ ms, tokens, jwks, issuer }) => {
      const ours = await import("/pkg/index.js");
      const o4w = await import("/bench/oauth4webapi.js");
      const jose = await import("/bench/jose.js");
      await ours.ready();
      // Each contender runs `ms` in all, in five slices taken in turn (the
      // machine's speed drifts), after a warm-up.
      const rates = async (fns) => {
        const count = {};
        const spent = {};
        for (const [name, fn] of Object.entries(fns)) {
          for (let i = 0; i < 20; i++) await fn();
          count[name] = spent[name] = 0;
        }
        for (let slice = 0; slice < 5; slice++) {
          for (const [name, fn] of Object.entries(fns)) {
            const t0 = performance.now();
            while (performance.now() - t0 < ms / 5) {
              await fn();
              count[name]++;
            }
            spent[name] += performance.now() - t0;
          }
        }
        return Object.fromEntries(Object.keys(fns).map((name) => [name, (count[name] * 1000) / spent[name]]));
      };
      const r = {};
      r["PKCE pairs/s"] = await rates({
        "oidc-pkce": () => ours.createPkcePair(),
        oauth4webapi: () => o4w.calculatePKCECodeChallenge(o4w.generateRandomCodeVerifier()),
      });
      // verifyIdToken takes the key set; jose is timed from the same key set
      // (createLocalJWKSet, made once: it keeps the keys it imported) and
      // from a key imported beforehand, its fastest path.
      const keySet = jose.createLocalJWKSet(jwks);
      for (const alg of ["RS256", "ES256"]) {
        const jwk = jwks.keys.find((k) => k.alg === alg);
        const key = await jose.importJWK(jwk, alg);
        r[`${alg} verifications/s`] = await rates({
          "oidc-pkce": () => ours.verifyIdToken(tokens[alg], { issuer, clientId: "bench", jwks, algorithms: [alg] }),
          "jose (key set)": () => jose.jwtVerify(tokens[alg], keySet, { issuer, audience: "bench", algorithms: [alg] }),
          "jose (imported key)": () => jose.jwtVerify(tokens[alg], key, { issuer, audience: "bench" }),
        });
      }
      return r;
    },
    { ms: MICRO_MS, tokens, jwks, issuer: op.issuer },
  );
  await context.close();
  return out;
}

// ---------------------------------------------------------------- report
function report(r) {
  const pad = (s, n) => String(s).padEnd(n);
  const num = (x, d = 1) => (typeof x === "number" ? x.toFixed(d) : String(x));
  console.log(`\n## Size (bytes)\n`);
  console.log(`${pad("package", 38)} ${pad("raw", 9)} ${pad("gzip -9", 9)} ${pad("brotli", 9)} ours/peer (gzip)`);
  const oursSize = r.size["oidc-pkce (JS + wasm)"];
  for (const [name, s] of Object.entries(r.size)) {
    const ratio = name.startsWith("oidc-pkce") ? "" : num(oursSize.gzip / s.gzip, 2);
    console.log(`${pad(name, 38)} ${pad(s.raw, 9)} ${pad(s.gzip, 9)} ${pad(s.brotli, 9)} ${ratio}`);
  }
  const budget = JSON.parse(readFileSync(join(root, "bench", "size-budget.json"), "utf8"));
  console.log(
    `\nbudget (npm test): ${budget.loginPath} B gzip, margin ${budget.loginPath - oursSize.gzip} B; ` +
      `target ${budget.target} B (auth0-spa-js): ${oursSize.gzip - budget.target} B to go`,
  );
  const anonymous = r.size["oidc-pkce production/ anonymous page"];
  if (anonymous) {
    console.log(
      `production/ anonymous page: budget ${budget.anonymousPageProduction} B, margin ${budget.anonymousPageProduction - anonymous.gzip} B ` +
        `(${num(anonymous.gzip / r.size["auth0-spa-js 2.28.3 (ESM)"].gzip, 2)}× auth0-spa-js)`,
    );
  }
  const prod = r.size["oidc-pkce production/ (no messages)"];
  if (prod) {
    console.log(
      `production/ (what bundlers pick for production builds): budget ${budget.loginPathProduction} B, ` +
        `margin ${budget.loginPathProduction - prod.gzip} B; ${prod.gzip - budget.target} B to the target ` +
        `(${num(prod.gzip / r.size["auth0-spa-js 2.28.3 (ESM)"].gzip, 2)}× auth0-spa-js)`,
    );
  }
  const table = (title, section, oursKey, unit, samples = r.samples) => {
    if (!section[oursKey]) return;
    console.log(`\n## ${title} (median of ${samples}, ${unit})\n`);
    for (const [name, v] of Object.entries(section)) {
      const ratio = name === oursKey || name.startsWith("oidc-pkce") ? "" : `ours/peer ${num(section[oursKey].medianMs / v.medianMs, 2)}`;
      console.log(`${pad(name, 38)} ${pad(num(v.medianMs), 9)} ${ratio}`);
    }
  };
  const what = {
    anonymous: "a page nobody is signed in to: client → authorization URL",
    restoring: "a page with a stored session: client → the user known",
    callback: "the callback page: code → verified tokens",
  };
  for (const [kind, words] of Object.entries(what)) {
    for (const network of ["loopback", "phone"]) {
      const section = r.pages[`${kind} ${network}`];
      if (!section) continue;
      const net = network === "phone" ? "a phone network (150 ms, 1.6 Mbit/s, gzip)" : "loopback";
      const oursKey = section["oidc-pkce production/, preloaded"] ? "oidc-pkce production/, preloaded" : "oidc-pkce production/";
      console.log(`\n## Ready, ${words}, on ${net}: navigation start → ready, cold cache (median of ${network === "phone" ? r.phoneSamples : r.samples}, ms; ours: ${oursKey})\n`);
      for (const [name, v] of Object.entries(section)) {
        const ratio = name.startsWith("oidc-pkce") ? "" : `ours/peer ${num(section[oursKey].medianMs / v.medianMs, 2)}`;
        console.log(`${pad(name, 38)} ${pad(num(v.medianMs), 9)} ${ratio}`);
      }
    }
  }
  table("Callback: URL → verified tokens", r.callback, "oidc-pkce", "ms");
  if (r.callback["oidc-pkce, keys cached"] && r.callback["oauth4webapi + jose"]) {
    const peer = r.callback["oauth4webapi + jose"].medianMs;
    console.log(`${pad("(keys cached) ours/peer", 38)} ${num(r.callback["oidc-pkce, keys cached"].medianMs / peer, 2)}`);
  }
  if (Object.keys(r.micro).length) console.log(`\n## Micro (operations per second, ${MICRO_MS} ms each)\n`);
  for (const [what, v] of Object.entries(r.micro)) {
    const [oursName, ...peers] = Object.keys(v);
    console.log(`${pad(what, 26)} ${oursName} ${num(v[oursName], 0)}`);
    for (const peer of peers) {
      console.log(`${pad("", 26)} ${pad(`${peer} ${num(v[peer], 0)}`, 30)} ours/peer ${num(v[oursName] / v[peer], 2)}`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
