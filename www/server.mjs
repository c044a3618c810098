// `npm run demo`: the local OpenID provider and the demo page.
import { publicClient, startProvider } from "../scripts/provider.mjs";
import { startStaticServer } from "../scripts/serve.mjs";

const appPort = Number(process.env.DEMO_PORT ?? 8080);
const providerPort = Number(process.env.PROVIDER_PORT ?? 3000);
const appOrigin = `http://127.0.0.1:${appPort}`;

async function main() {
  const op = await startProvider({
    port: providerPort,
    clients: [
      publicClient("demo", [`${appOrigin}/callback`, `http://localhost:${appPort}/callback`], {
        post_logout_redirect_uris: [`${appOrigin}/`, `http://localhost:${appPort}/`],
      }),
    ],
  });
  const app = await startStaticServer({
    port: appPort,
    routes: {
      "/demo-config.json": (_req, res) => {
        res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
        res.end(JSON.stringify({ issuer: op.issuer, clientId: "demo" }));
      },
    },
  });
  console.log(`
  oidc-pkce demo
    demo page:       ${app.url}/
    OpenID provider: ${op.issuer}  (oidc-provider; client "demo"; any login and password work)

  Open the demo page and press "Log in". Ctrl-C stops both servers.
`);
  const stop = async () => {
    await Promise.all([app.close(), op.close()]);
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((e) => {
  if (e.code === "EADDRINUSE") {
    console.error(`Port ${e.port} is taken: set DEMO_PORT / PROVIDER_PORT to free ports.`);
  } else {
    console.error(e);
  }
  process.exit(1);
});
