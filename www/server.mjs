// `npm run demo`: the local OpenID provider and the demo page.
import { fileURLToPath } from "node:url";
import { publicClient, resourceIndicators, startProvider } from "../scripts/provider.mjs";
import { startStaticServer } from "../scripts/serve.mjs";

/** The demo's backend (oidc-pkce/server, BFF mode) authenticates to the provider with this secret. */
const BACKEND_SECRET = "the-demo-backend-secret-known-to-all";

/** The API the demo asks a token for (RFC 8707 resource indicator): the provider issues JWT access tokens for it. */
const DEMO_API = "https://api.example.com/";

/** Starts the demo page and the provider (port 0: any free port); resolves to { app, op, close() }. */
export async function startDemo({ appPort = 8080, providerPort = 3000 } = {}) {
  let op = null;
  // "Where the tokens live: the demo's server": the backend's routes under /auth.
  let backend = null;
  const app = await startStaticServer({
    port: appPort,
    handle: (req, res) =>
      backend && req.url.startsWith("/auth/")
        ? backend(req, res, () => res.writeHead(404).end()).then(() => true)
        : false,
    routes: {
      "/demo-config.json": (_req, res) => {
        res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
        res.end(JSON.stringify({ issuer: op.issuer, clientId: "demo", api: DEMO_API }));
      },
    },
  });
  try {
    const origins = [app.url, `http://localhost:${app.port}`];
    op = await startProvider({
      port: providerPort,
      clients: [
        publicClient(
          "demo",
          origins.map((o) => `${o}/callback`),
          // Both spellings of each origin: `location.origin` has no trailing slash, a URL of the page has one.
          { post_logout_redirect_uris: origins.flatMap((o) => [o, `${o}/`]) },
        ),
        {
          client_id: "demo-backend",
          client_secret: BACKEND_SECRET,
          token_endpoint_auth_method: "client_secret_basic",
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
          redirect_uris: [`${app.url}/auth/callback`],
          post_logout_redirect_uris: [`${app.url}/`],
        },
      ],
      features: { resourceIndicators: resourceIndicators([DEMO_API]) },
    });
    const { createAuthServer, toNodeHandler } = await import("../pkg/server/index.js");
    const server = await createAuthServer({
      issuer: op.issuer,
      clientId: "demo-backend",
      clientSecret: BACKEND_SECRET,
      redirectUri: `${app.url}/auth/callback`,
      postLogoutRedirectUri: `${app.url}/`,
      appOrigin: app.url,
      scope: "openid profile email offline_access",
      // The page's "Call /userinfo" goes through the proxy: the one API it may reach.
      apis: [{ url: `${op.issuer}/me` }],
    });
    backend = toNodeHandler(server, app.url);
  } catch (e) {
    await app.close();
    throw e;
  }
  return { app, op, close: () => Promise.all([app.close(), op.close()]) };
}

async function main() {
  const { app, op, close } = await startDemo({
    appPort: Number(process.env.DEMO_PORT ?? 8080),
    providerPort: Number(process.env.PROVIDER_PORT ?? 3000),
  });
  console.log(`
  oidc-pkce demo
    demo page:       ${app.url}/
    OpenID provider: ${op.issuer}  (oidc-provider; clients "demo" and "demo-backend"; any login and password work)

  Open the demo page and press "Log in". Ctrl-C stops both servers.
`);
  const stop = async () => {
    await close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    if (e.code === "EADDRINUSE") {
      console.error(`Port ${e.port} is taken: set DEMO_PORT / PROVIDER_PORT to free ports.`);
    } else {
      console.error(e);
    }
    process.exit(1);
  });
}
