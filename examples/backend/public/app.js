// The same code in the three modes: only createAuthClient's options differ
// ({ backend: "/auth" }, or a public client's), and /config.json says which.
import { createAuthClient } from "/oidc-pkce/index.js";

const $ = (id) => document.getElementById(id);
const WHERE = {
  bff: "Backend for frontend: the server keeps the tokens; this page holds an HttpOnly cookie and calls the API through the server.",
  "token-mediating": "Token-mediating backend: the server keeps the refresh token; this page gets short-lived access tokens from it.",
  browser: "Browser only: this page is the OAuth client and holds the tokens (RFC 10017 does not recommend it for business or personal-data apps).",
};

function show(text) {
  $("out").hidden = false;
  $("out").textContent = text;
}

async function main() {
  const config = await (await fetch("/config.json")).json();
  $("mode").textContent = config.mode;
  $("where").textContent = WHERE[config.mode];
  const auth = await createAuthClient(config.client);
  if (auth.isRedirectCallback()) {
    try {
      await auth.handleRedirectCallback();
    } catch (e) {
      show(`The login did not complete: ${e.code} (${e.message})`);
    }
    history.replaceState(null, "", "/");
  }
  const render = () => {
    const user = auth.getUser();
    $("status").textContent = auth.isAuthenticated() ? `Signed in as ${user?.name ?? user?.sub}.` : "Signed out.";
    $("login").hidden = auth.isAuthenticated();
    $("call").hidden = $("logout").hidden = !auth.isAuthenticated();
  };
  auth.onSessionChange(render);
  render();

  $("login").onclick = () => auth.loginWithRedirect().catch((e) => show(`${e.code}: ${e.message}`));
  $("call").onclick = async () => {
    try {
      // BFF: through the backend's proxy; otherwise with an access token for the API.
      const response = await auth.fetchWithAuth(`${config.api}greeting`, { audience: config.api });
      show(`${response.status} ${await response.text()}`);
    } catch (e) {
      show(`${e.code}: ${e.message}`);
    }
  };
  $("logout").onclick = () => auth.logout({ returnTo: `${location.origin}/` }).catch((e) => show(`${e.code}: ${e.message}`));
  document.body.dataset.ready = "true";
}

main().catch((e) => show(`${e.code ?? e.name}: ${e.message}`));
