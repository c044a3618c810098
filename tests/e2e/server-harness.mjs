// A backend (oidc-pkce/server) for the end-to-end tests: oidc-provider with a
// confidential client and back-channel logout, an API of another origin that
// checks the tokens with the provider, and the app's server on
// http://localhost:<port> (Chromium takes `Secure` and `__Host-` cookies
// there) with the backend's routes, the test page and the package.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { EmbeddedJWK, calculateJwkThumbprint, jwtVerify } from "jose";
import { createClient } from "redis";
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startProvider } from "../../scripts/provider.mjs";
import { KEYS, freePort } from "./harness.mjs";

export { freePort };

const root = fileURLToPath(new URL("../..", import.meta.url));

const listen = (handler, port = 0) =>
  new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });

export const SECRET = "backend-secret-for-the-tests-only";

/** createAuthServer's options for the app on `port` of `world` (its client `backend-<port>`), and `extra`. */
export function backendOptions(world, port, extra = {}) {
  const origin = `http://localhost:${port}`;
  return {
    issuer: world.op.issuer,
    clientId: `backend-${port}`,
    clientSecret: SECRET,
    redirectUri: `${origin}/auth/callback`,
    postLogoutRedirectUri: `${origin}/`,
    appOrigin: origin,
    apis: [{ url: `${world.api}/` }],
    secret: SECRET,
    ...extra,
  };
}

/** A redis-server of its own (Debian's, installed by scripts/setup.sh) on a free port: { url, process }. */
export async function startRedis() {
  const port = await freePort();
  const process = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"], { stdio: "ignore" });
  return { url: `redis://127.0.0.1:${port}`, process };
}

/** A connected `redis` client of `url`, tried again while the server starts. @param {string} url @param {object} [options] */
export async function connectRedis(url, options = {}) {
  const client = createClient({ url, ...options });
  client.on("error", () => {});
  for (let tries = 0; ; tries++) {
    try {
      await client.connect();
      return client;
    } catch (e) {
      if (tries > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * The provider and the API. `appPorts`: the app servers' ports (each a
 * client redirect URI and a back-channel logout URI of its own client id:
 * `backend-<port>`), known before anything starts.
 */
export async function startWorldOfBackends({ appPorts, dpopPorts = [], clientMetadata = {}, ttl = {} }) {
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const clients = appPorts.map((port) => ({
    client_id: `backend-${port}`,
    client_secret: SECRET,
    token_endpoint_auth_method: "client_secret_basic",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    redirect_uris: [`http://localhost:${port}/auth/callback`],
    post_logout_redirect_uris: [`http://localhost:${port}/`],
    backchannel_logout_uri: `http://localhost:${port}/auth/backchannel-logout`,
    backchannel_logout_session_required: true,
    // RFC 9449: this client's access tokens must be DPoP-bound.
    ...(dpopPorts.includes(port) ? { dpop_bound_access_tokens: true } : {}),
    // Another authentication method, PAR required, ...: the test's.
    ...(clientMetadata[port] ?? {}),
  }));
  const op = await startProvider({
    clients,
    jwks: { keys: [KEYS.rsa] },
    ttl,
    // DPoP with a nonce required on every proof (RFC 9449 §8).
    features: { backchannelLogout: { enabled: true }, dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true } },
    config: {
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
      // oidc-provider refuses to deliver back-channel logouts to loopback
      // addresses (its SSRF guard); the tests' app is on loopback.
      fetch: (url, { dispatcher: _guard, ...options }) => fetch(url, options),
    },
  });
  const counts = { refresh: 0, revoked: 0, apiCalls: 0, apiNonceAsked: 0 };
  // The API's own DPoP nonce (RFC 9449 §9): asked for when a proof lacks it.
  const apiNonce = randomBytes(16).toString("base64url");
  const jtis = new Set();
  op.provider.on("grant.success", (ctx) => ctx.oidc?.params?.grant_type === "refresh_token" && counts.refresh++);
  // (A revoked refresh token is destroyed; oidc-provider emits no revocation event.)
  op.provider.on("refresh_token.destroyed", () => counts.revoked++);


  // The API: a token the provider issued, still valid, is a caller.
  const apiServer = await listen(async (req, res) => {
    const path = new URL(req.url, api).pathname;
    // Called by the page itself in token-mediating mode: CORS for any origin (bearer tokens, no cookies).
    res.setHeader("Access-Control-Allow-Origin", "*");
    if (req.method === "OPTIONS") {
      res.writeHead(204, { "Access-Control-Allow-Headers": "authorization, content-type", "Access-Control-Allow-Methods": "GET, POST" });
      return res.end();
    }
    if (path === "/slow") return setTimeout(() => res.writeHead(200).end("late"), 3000);
    if (path === "/huge") {
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      const chunk = Buffer.alloc(1024 * 1024, 97);
      for (let i = 0; i < 12; i++) res.write(chunk);
      return res.end();
    }
    const [scheme, value] = (req.headers.authorization ?? "").split(" ");
    const token = value ? await op.provider.AccessToken.find(value) : undefined;
    const refuse = (challenge, extra = {}) => res.writeHead(401, { "WWW-Authenticate": challenge, ...extra }).end();
    if (!token || token.isExpired) return refuse('Bearer error="invalid_token"');
    // A DPoP-bound token: only with a proof by its key for this very call (§7.1).
    let jkt = null;
    if (token.jkt || scheme === "DPoP") {
      if (scheme !== "DPoP" || !req.headers.dpop || !token.jkt) return refuse('DPoP error="invalid_token"');
      try {
        const { payload, protectedHeader } = await jwtVerify(req.headers.dpop, EmbeddedJWK, { typ: "dpop+jwt", algorithms: ["ES256"] });
        const target = new URL(req.url, api);
        target.search = "";
        const ok =
          payload.htm === req.method &&
          payload.htu === target.href &&
          payload.ath === createHash("sha256").update(value).digest("base64url") &&
          Math.abs(payload.iat - Date.now() / 1000) < 60 &&
          !jtis.has(payload.jti) &&
          (await calculateJwkThumbprint(protectedHeader.jwk)) === token.jkt;
        if (!ok) return refuse('DPoP error="invalid_dpop_proof"');
        jtis.add(payload.jti);
        if (payload.nonce !== apiNonce) {
          counts.apiNonceAsked++;
          return refuse('DPoP error="use_dpop_nonce"', { "DPoP-Nonce": apiNonce });
        }
        jkt = token.jkt;
      } catch {
        return refuse('DPoP error="invalid_dpop_proof"');
      }
    } else if (scheme !== "Bearer") {
      return refuse('Bearer error="invalid_token"');
    }
    counts.apiCalls++;
    let body = "";
    for await (const c of req) body += c;
    res.writeHead(200, { "Content-Type": "application/json", "Set-Cookie": "api=tracker" });
    res.end(JSON.stringify({ sub: token.accountId, method: req.method, path, body, cookie: req.headers.cookie ?? null, csrf: req.headers["x-csrf"] ?? null, scheme, jkt }));
  }, apiPort);
  return {
    op,
    api,
    counts,
    async close() {
      await new Promise((r) => apiServer.close(r));
      await op.close();
    },
  };
}

const TYPES = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };

/**
 * An app server on `port`: /auth/* answered by `pick()` (the backend
 * instance serving this request), /app.html, and /pkg/*; with `site`, a
 * built app's folder at / instead (every other path its index.html) and
 * its /config.json.
 * @param {number} port @param {() => { handler(r: Request): Promise<Response | undefined> }} pick
 * @param {{ site?: { dir: string; config: unknown } }} [o]
 */
export async function startApp(port, pick, { site } = {}) {
  const { toNodeHandler } = await import("../../pkg/server/index.js");
  const origin = `http://localhost:${port}`;
  const server = await listen(async (req, res) => {
    const path = new URL(req.url, origin).pathname;
    if (path.startsWith("/auth/")) {
      return toNodeHandler(pick(), origin)(req, res, () => res.writeHead(404).end());
    }
    if (site && path === "/config.json") {
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      return res.end(JSON.stringify(site.config));
    }
    const file = site
      ? join(site.dir, path.startsWith("/assets/") ? path.slice(1) : "index.html")
      : path === "/" || path === "/app.html" ? join(root, "tests", "e2e", "pages", "backend.html") : path.startsWith("/pkg/") ? join(root, path) : null;
    if (!file) return res.writeHead(404).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  }, port);
  // `localhost` is ::1 first for Node's own fetch (the provider's back-channel
  // POST): the same app on the IPv6 loopback too.
  const v6 = http.createServer((req, res) => server.emit("request", req, res));
  await new Promise((resolve) => v6.listen(port, "::1", resolve));
  return { origin, close: () => Promise.all([new Promise((r) => server.close(r)), new Promise((r) => v6.close(r))]) };
}
