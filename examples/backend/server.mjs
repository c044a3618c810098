// examples/backend: one page, three ways to sign in (RFC 10017, "OAuth 2.0
// for Browser-Based Applications"), chosen with --mode:
//   bff              the backend is the OAuth client and keeps every token; the
//                    page holds one HttpOnly cookie and calls the API through
//                    the backend's proxy (RFC 10017 §6.1, its first choice)
//   token-mediating  the backend is the client and keeps the refresh token; the
//                    page gets short-lived access tokens and calls the API (§6.2)
//   browser          no backend: the page is a public client (§6.3, not for
//                    business, sensitive or personal-data applications)
// The page's code is the same in the three: createAuthClient, then
// isAuthenticated, getUser, loginWithRedirect, fetchWithAuth, logout.
//
// Against the development provider: `npm run provider` in the repository,
// then here `npm install && npm run bff` and open http://localhost:3000/.
import http from "node:http";
import { readFile } from "node:fs/promises";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createAuthServer, toNodeHandler } from "oidc-pkce/server";

const here = dirname(fileURLToPath(import.meta.url));
// The package's browser files, served to the page under /oidc-pkce/.
const pkg = dirname(fileURLToPath(import.meta.resolve("oidc-pkce")));
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

/**
 * Starts the example; resolves to { url, server?, close() }.
 * @param {{ mode?: "bff" | "token-mediating" | "browser", port?: number, issuer?: string,
 *   clientSecret?: string, sessionSecret?: string }} [o]
 */
export async function startExample({
  mode = "bff",
  port = 3000,
  issuer = "http://127.0.0.1:4000",
  clientSecret = "development-secret-of-the-local-provider",
  sessionSecret = process.env.SESSION_SECRET,
} = {}) {
  // The page's origin: `localhost` is a secure context, where browsers keep
  // the `__Host-` cookie (it is `Secure`) without HTTPS.
  const origin = `http://localhost:${port}`;
  // The development provider's API wants a token for it (an RFC 8707 resource).
  const api = `${issuer}/api/`;
  const auth =
    mode === "browser"
      ? null
      : await createAuthServer({
          issuer,
          clientId: "my-backend",
          clientSecret,
          redirectUri: `${origin}/auth/callback`,
          postLogoutRedirectUri: `${origin}/`,
          appOrigin: origin,
          mode,
          scope: "openid profile email offline_access",
          audience: api,
          apiParameter: "resource",
          apis: [{ url: api }],
          // In production: a secret of 32 characters or more from your secrets
          // store (it encrypts the sessions), and a shared store with several instances.
          secret: sessionSecret,
        });
  // What the page needs to know: the mode, the API, and in browser mode the public client's options.
  const config = {
    mode,
    api,
    client:
      mode === "browser"
        ? { issuer, clientId: "my-app", redirectUri: `${origin}/`, scope: "openid profile email offline_access", apiParameter: "resource", apis: [api] }
        : { backend: "/auth" },
  };
  const authRoutes = auth && toNodeHandler(auth, origin);
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", origin).pathname;
    if (authRoutes && path.startsWith(`${auth.prefix}/`)) {
      return authRoutes(req, res, () => res.writeHead(404).end());
    }
    if (path === "/config.json") {
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      return res.end(JSON.stringify(config));
    }
    const file = path.startsWith("/oidc-pkce/")
      ? inside(pkg, path.slice("/oidc-pkce/".length))
      : inside(join(here, "public"), path === "/" ? "index.html" : path.slice(1));
    try {
      if (!file) throw new Error("outside");
      const body = await readFile(file);
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  // Every interface: `localhost` may be ::1 or 127.0.0.1 (the provider's
  // back-channel logout comes to it too).
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, resolve);
  });
  return { url: `${origin}/`, auth, close: () => new Promise((r) => server.close(r)) };
}

/** A file of `base`, or null for a path that leaves it. */
function inside(base, relative) {
  const file = normalize(join(base, relative));
  return file.startsWith(base + sep) ? file : null;
}

async function main() {
  const { values } = parseArgs({
    options: {
      mode: { type: "string", default: process.env.MODE ?? "bff" },
      port: { type: "string", default: process.env.PORT ?? "3000" },
      issuer: { type: "string", default: process.env.ISSUER ?? "http://127.0.0.1:4000" },
    },
  });
  if (!["bff", "token-mediating", "browser"].includes(values.mode)) {
    throw new Error(`--mode ${values.mode}: one of bff, token-mediating, browser`);
  }
  const app = await startExample({ mode: values.mode, port: Number(values.port), issuer: values.issuer });
  console.log(`examples/backend in ${values.mode} mode: ${app.url} (provider ${values.issuer})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(String(e?.message ?? e));
    if (e?.code) console.error(`(${e.code}: is \`npm run provider\` running in the repository?)`);
    process.exit(1);
  });
}
