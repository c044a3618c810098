#!/usr/bin/env node
// `npm run provider [-- --redirect URL ...] [--port 4000] [--client-id my-app]`:
// a local OpenID provider for your own app while you build it (oidc-provider,
// its development login pages: any login and password sign in). It registers
// a public client whose redirect and logout URIs are the ones you give
// (Vite's dev server and preview by default), and a confidential client for
// an app whose backend is the OAuth client (oidc-pkce/server, examples/backend),
// issues refresh tokens, and serves an API that wants a token for it; it
// prints the options to paste.
// For development only: keys and sessions are in memory, anyone signs in.
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { errors } from "oidc-provider";
import { publicClient, startProvider } from "./provider.mjs";

/** Vite's dev server and its `vite preview`, on both loopback names. */
export const DEFAULT_REDIRECTS = ["http://localhost:5173/", "http://localhost:4173/", "http://127.0.0.1:5173/", "http://127.0.0.1:4173/", "http://localhost:3000/"];

/** examples/backend's origin: its backend's routes are under /auth. */
export const DEFAULT_BACKENDS = ["http://localhost:3000"];
/** The confidential client's secret: a development provider's, known to all. */
export const BACKEND_SECRET = "development-secret-of-the-local-provider";

/**
 * The confidential client of the backends at `origins` (oidc-pkce/server
 * with its routes under /auth): client_secret_basic, back-channel logout.
 * @param {string} clientId @param {string[]} origins
 */
export function backendClient(clientId, origins) {
  return {
    client_id: clientId,
    client_secret: BACKEND_SECRET,
    token_endpoint_auth_method: "client_secret_basic",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    redirect_uris: origins.map((o) => `${o}/auth/callback`),
    post_logout_redirect_uris: logoutReturns(origins.map((o) => `${o}/`)),
    // One URI per client: the first backend's.
    backchannel_logout_uri: `${origins[0]}/auth/backchannel-logout`,
    backchannel_logout_session_required: true,
  };
}

/**
 * The URIs a logout may return to, for the redirect URIs given: each one,
 * and its origin with and without the trailing slash (`location.origin` has
 * none; a registered origin often has one; the provider compares exactly).
 * @param {string[]} redirects
 */
export function logoutReturns(redirects) {
  const out = new Set();
  for (const r of redirects) {
    const origin = new URL(r).origin;
    out.add(r).add(origin).add(`${origin}/`);
  }
  return [...out];
}

/**
 * Starts the provider; resolves to { issuer, api, clientId, backendClientId, options, close() }.
 * @param {{ port?: number, redirects?: string[], clientId?: string, backends?: string[], backendClientId?: string }} [o]
 */
export async function startDevProvider({ port = 4000, redirects = DEFAULT_REDIRECTS, clientId = "my-app", backends = DEFAULT_BACKENDS, backendClientId = "my-backend" } = {}) {
  let api = "";
  let provider;
  const origins = [...redirects.map((r) => new URL(r).origin), ...backends];
  const op = await startProvider({
    port,
    clients: [
      publicClient(clientId, redirects, { post_logout_redirect_uris: logoutReturns(redirects) }),
      ...(backends.length ? [backendClient(backendClientId, backends)] : []),
    ],
    config: {
      // A refresh token with every login of these clients (oidc-provider gives
      // one for offline_access only with prompt=consent): rotated at each use.
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
      // Back-channel logout to a backend on this machine: oidc-provider's
      // guard against requests to private addresses would refuse it.
      fetch: (url, { dispatcher: _guard, ...options }) => fetch(url, options),
    },
    features: {
      backchannelLogout: { enabled: true },
      // RFC 8707: a token for the API is asked for by its URI (`resource`).
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => false,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== api) throw new errors.InvalidTarget();
          return { scope: "read", audience: api, accessTokenFormat: "opaque" };
        },
      },
    },
    // The API beside the provider: GET /api/greeting with a token for it.
    routes: {
      "/api/greeting": async (req, res) => {
        const origin = req.headers.origin;
        const cors = origin && origins.includes(origin)
          ? { "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Headers": "authorization, dpop", Vary: "Origin" }
          : {};
        if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
        const value = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
        const token = value ? await provider.AccessToken.find(value) : undefined;
        const audiences = [token?.aud].flat();
        if (!token || token.isExpired || !audiences.includes(api)) {
          res.writeHead(401, { ...cors, "WWW-Authenticate": 'Bearer error="invalid_token"', "Content-Type": "application/json" });
          return res.end(JSON.stringify({ error: "invalid_token", error_description: "a token for this API is needed" }));
        }
        res.writeHead(200, { ...cors, "Content-Type": "application/json", "Cache-Control": "no-store" });
        res.end(JSON.stringify({ message: `Hello, ${token.accountId}, from the API`, sub: token.accountId }));
      },
    },
  });
  provider = op.provider;
  api = `${op.url}/api/`;
  const options = {
    issuer: op.issuer,
    clientId,
    redirectUri: `${new URL(redirects[0]).origin}/`,
    scope: "openid profile email offline_access",
    apiParameter: "resource",
    apis: [api],
  };
  return { issuer: op.issuer, api, clientId, backendClientId, options, close: op.close };
}

async function main() {
  const { values } = parseArgs({
    options: {
      redirect: { type: "string", multiple: true },
      port: { type: "string", default: process.env.PROVIDER_PORT ?? "4000" },
      "client-id": { type: "string", default: "my-app" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log("npm run provider -- [--redirect URL]... [--port 4000] [--client-id my-app]");
    return;
  }
  const redirects = values.redirect?.length ? values.redirect : DEFAULT_REDIRECTS;
  for (const r of redirects) {
    if (!URL.canParse(r)) throw new Error(`--redirect ${r}: not an absolute URL`);
  }
  const dev = await startDevProvider({ port: Number(values.port), redirects, clientId: values["client-id"] });
  const { issuer, api, clientId, backendClientId, options } = dev;
  console.log(`
  A development OpenID provider (oidc-provider) is running: ${issuer}
    client "${clientId}" (public, PKCE), any login and password sign in
    redirect URIs:  ${redirects.join("  ")}
    logout returns: ${logoutReturns(redirects).join("  ")}
    an API:         ${api}greeting  (wants a token for ${api})

  The options for your app (createAuthClient, or the React and Vue bindings):

    {
      issuer: "${issuer}",
      clientId: "${clientId}",
      redirectUri: location.origin + "/",
      scope: "${options.scope}",
      apiParameter: "resource",
      apis: ["${api}"],
    }

  Call the API:  fetchWithAuth("${api}greeting", { audience: "${api}" })
  Log out:       logout({ returnTo: location.origin })

  A backend as the client (oidc-pkce/server, as examples/backend runs it):
    client "${backendClientId}" (confidential, client_secret_basic), secret "${BACKEND_SECRET}"
    redirect URI:   ${DEFAULT_BACKENDS[0]}/auth/callback, back-channel logout to ${DEFAULT_BACKENDS[0]}/auth/backchannel-logout

  Ctrl-C stops it. For development only: keys and sessions are in memory.
`);
  const stop = async () => {
    await dev.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(String(e?.message ?? e));
    process.exit(1);
  });
}
