// `npm run demo`: the local OpenID provider and the demo page.
import { fileURLToPath } from "node:url";
import { publicClient, resourceIndicators, startProvider } from "../scripts/provider.mjs";
import { startStaticServer } from "../scripts/serve.mjs";

/** The API the demo asks a token for (RFC 8707 resource indicator): the provider issues JWT access tokens for it. */
const DEMO_API = "https://api.example.com/";

/** Starts the demo page and the provider (port 0: any free port); resolves to { app, op, close() }. */
export async function startDemo({ appPort = 8080, providerPort = 3000 } = {}) {
  let op = null;
  const app = await startStaticServer({
    port: appPort,
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
      ],
      features: { resourceIndicators: resourceIndicators([DEMO_API]) },
    });
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
    OpenID provider: ${op.issuer}  (oidc-provider; client "demo"; any login and password work)

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
