// The demo page: one file, no framework, every protocol step shown.
import { createAuthClient } from "/pkg/index.js";

const $ = (id) => document.getElementById(id);
const SETTINGS_KEY = "oidc-pkce-demo:settings";
const SIGNED_OUT_KEY = "oidc-pkce-demo:signed-out";
const redirectUri = `${location.origin}/callback`;
let localConfig = null;

function settings() {
  try {
    return JSON.parse(localStorage.getItem(SETTINGS_KEY)) ?? { mode: "local" };
  } catch {
    return { mode: "local" };
  }
}

function saveSettings() {
  const form = $("settings-form");
  const s = {
    mode: form.mode.value,
    domain: form.domain.value.trim(),
    clientId: form.clientId.value.trim(),
    par: form.par.checked,
    dpop: form.dpop.checked,
  };
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
  $("auth0-fields").hidden = s.mode !== "auth0";
  // Behind the backend the page holds no token: what needs one is not shown.
  for (const id of ["popup-button", "preview-button", "token-button", "refresh-button", "api-token-button", "api-audience"]) {
    $(id).closest("label")?.toggleAttribute("hidden", s.mode === "bff");
    $(id).hidden = s.mode === "bff";
  }
  return s;
}

function clientOptions(s) {
  // The demo's server is the OAuth client: the same API over its routes.
  if (s.mode === "bff") return { backend: "/auth" };
  // The session survives reloads of this tab (sessionStorage). This page
  // shows every token it gets, the refresh token too (exposeRefreshToken);
  // an app leaves that option out: the refresh token then stays inside the library.
  const common = {
    redirectUri,
    tokenStorage: "session",
    pushedAuthorizationRequests: Boolean(s.par),
    dpop: Boolean(s.dpop),
    exposeRefreshToken: true,
  };
  if (s.mode === "auth0") return { domain: s.domain, clientId: s.clientId, ...common };
  // The local provider takes RFC 8707 resource indicators: its API is named
  // at login, and its token comes with the refresh token.
  return { issuer: localConfig.issuer, clientId: localConfig.clientId, apiParameter: "resource", apis: [localConfig.api], ...common };
}

function rows(table, entries) {
  table.replaceChildren(
    ...entries.map(([k, v]) => {
      const tr = document.createElement("tr");
      const a = document.createElement("td");
      const b = document.createElement("td");
      a.textContent = k;
      b.textContent = v ?? "—";
      tr.append(a, b);
      return tr;
    }),
  );
}

function short(token) {
  return token && token.length > 48 ? `${token.slice(0, 24)}…${token.slice(-12)} (${token.length} chars)` : token;
}

function showError(e) {
  $("result").hidden = false;
  $("error-block").hidden = false;
  rows($("error"), [
    ["name", e.name],
    ["code", e.code],
    ["message", e.message],
    ["server error", e.error],
    ["error_description", e.errorDescription],
    ["reason", e.reason],
    ["HTTP status", e.status],
  ]);
}

// offline_access asks for a refresh token; oidc-provider grants it only with
// prompt=consent (Auth0: when the API allows offline access).
function loginOptions() {
  const local = settings().mode !== "auth0";
  return {
    appState: { startedAt: new Date().toISOString() },
    scope: "openid profile email offline_access",
    ...(local ? { prompt: "consent" } : {}),
  };
}

let countdown = null;
function startCountdown(auth) {
  clearInterval(countdown);
  const tick = () => {
    const t = auth.getTokens();
    if (!t || !t.expiresAt) {
      $("countdown").textContent = "";
      return;
    }
    const s = Math.round((t.expiresAt - Date.now()) / 1000);
    $("countdown").textContent = s > 0 ? `The access token expires in ${s} s.` : "The access token has expired: \"Get access token\" refreshes it.";
  };
  tick();
  countdown = setInterval(tick, 1000);
}

async function client() {
  return createAuthClient(clientOptions(saveSettings()));
}

async function onCallback(auth) {
  const params = new URLSearchParams(location.search);
  $("result").hidden = false;
  $("callback-block").hidden = false;
  rows(
    $("callback-params"),
    [...params].map(([k, v]) => [k, k === "code" ? short(v) : v]),
  );
  const { appState } = await auth.handleRedirectCallback();
  // The code is spent: take it out of the address bar and the history.
  history.replaceState(null, "", "/");
  return appState;
}

function status(text) {
  $("status").hidden = !text;
  $("status").textContent = text ?? "";
}

/** Signed in: "Log out" leads and "Log in" steps back; signed out, the other way round. */
function showSignedIn(signedIn) {
  $("login-button").classList.toggle("secondary", signedIn);
  $("login-button").textContent = signedIn ? "Log in again" : "Log in";
  $("logout-button").classList.toggle("secondary", !signedIn);
  if (!signedIn) $("tokens-block").hidden = true;
}

function showBackendSession(auth) {
  const signedIn = auth.isAuthenticated();
  showSignedIn(signedIn);
  clearInterval(countdown);
  $("countdown").textContent = "";
  if (!signedIn) return;
  const user = auth.getUser();
  status(`Signed in as ${user?.name ?? user?.sub}, at the demo's server.`);
  $("result").hidden = false;
  $("tokens-block").hidden = false;
  $("user-name").textContent = user.name ?? user.email ?? user.sub;
  rows($("tokens"), [
    ["where", "on the demo's server (oidc-pkce/server, BFF mode)"],
    ["this page holds", "the __Host-oidc-pkce cookie (HttpOnly: no script reads it), no token"],
  ]);
  $("claims").textContent = JSON.stringify(user, null, 2);
}

function showSession(auth, appState) {
  if (settings().mode === "bff") return showBackendSession(auth);
  const t = auth.getTokens();
  showSignedIn(Boolean(t));
  if (!t) return;
  status(`Signed in as ${auth.getUser()?.name ?? auth.getUser()?.sub}.`);
  const user = auth.getUser();
  $("result").hidden = false;
  $("tokens-block").hidden = false;
  $("user-name").textContent = user.name ?? user.email ?? user.sub;
  rows($("tokens"), [
    ["access_token", short(t.accessToken)],
    ["id_token", short(t.idToken)],
    ["refresh_token", short(t.refreshToken)],
    ["token_type", t.tokenType],
    ["expires at", t.expiresAt ? new Date(t.expiresAt).toLocaleString() : null],
    ["scope", t.scope],
    ...(appState !== undefined ? [["appState", JSON.stringify(appState)]] : []),
  ]);
  startCountdown(auth);
  const { __raw, ...claims } = auth.getIdTokenClaims();
  void __raw;
  $("claims").textContent = JSON.stringify(claims, null, 2);
}

let auth = null;

async function main() {
  localConfig = await (await fetch("/demo-config.json")).json();
  $("local-issuer").textContent = localConfig.issuer;
  for (const el of document.querySelectorAll(".origin")) el.textContent = location.origin;
  const s = settings();
  const form = $("settings-form");
  form.mode.value = s.mode;
  form.domain.value = s.domain ?? "";
  form.clientId.value = s.clientId ?? "";
  form.par.checked = Boolean(s.par);
  form.dpop.checked = Boolean(s.dpop);
  $("api-audience").value = s.mode === "auth0" ? "" : localConfig.api;
  // A changed setting makes a new client on next use (the popup button needs one made beforehand).
  form.addEventListener("change", async (ev) => {
    const changed = saveSettings();
    if (ev.target.name === "mode") $("api-audience").value = changed.mode === "auth0" ? "" : localConfig.api;
    auth = null;
    auth = await client().catch(() => null);
  });
  saveSettings();

  $("login-button").addEventListener("click", async () => {
    try {
      const auth = await client();
      await auth.loginWithRedirect(loginOptions());
    } catch (e) {
      showError(e);
    }
  });
  // The popup is opened inside loginWithPopup, synchronously: keep the call
  // in the click handler itself (the client is made beforehand).
  $("popup-button").addEventListener("click", () => {
    if (!auth) return;
    auth.loginWithPopup(loginOptions()).then(
      ({ appState }) => showSession(auth, appState),
      showError,
    );
  });
  $("check-button").addEventListener("click", async () => {
    try {
      const a = auth ?? (auth = await client());
      const signedIn = await a.checkSession();
      if (signedIn) showSession(a);
      else status("checkSession() → false: the provider has no session for you (or cannot say so in an iframe).");
    } catch (e) {
      showError(e);
    }
  });
  $("preview-button").addEventListener("click", async () => {
    try {
      const auth = await client();
      const url = await auth.buildAuthorizeUrl(loginOptions());
      const u = new URL(url);
      $("authorize-request").hidden = false;
      rows($("authorize-params"), [["endpoint", u.origin + u.pathname], ...u.searchParams]);
      $("authorize-link").href = url;
    } catch (e) {
      showError(e);
    }
  });

  const withSession = (fn) => async () => {
    try {
      await fn(auth ?? (auth = await client()));
      showSession(auth);
    } catch (e) {
      showError(e);
    }
  };
  $("token-button").addEventListener("click", withSession(async (a) => {
    const token = await a.getAccessToken();
    $("userinfo-block").hidden = false;
    $("userinfo").textContent = `getAccessToken() → ${short(token)}`;
  }));
  $("api-token-button").addEventListener("click", withSession(async (a) => {
    const audience = $("api-audience").value.trim();
    const token = await a.getAccessToken({ audience });
    $("userinfo-block").hidden = false;
    // A JWT access token (the local provider's for its API) shows its claims;
    // an app never reads them: the token is for the API.
    let claims = "";
    try {
      const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      claims = `\n${JSON.stringify(JSON.parse(atob(payload)), null, 2)}`;
    } catch {}
    $("userinfo").textContent = `getAccessToken({ audience: ${JSON.stringify(audience)} }) → ${short(token)}${claims}`;
  }));
  $("refresh-button").addEventListener("click", withSession((a) => a.refresh()));
  $("userinfo-button").addEventListener("click", async () => {
    try {
      const a = auth ?? (auth = await client());
      let info;
      if (settings().mode === "bff") {
        // Through the server's proxy, which adds the access token.
        const response = await a.fetchWithAuth(`${localConfig.issuer}/me`);
        info = { "through /auth/api": response.status, ...(await response.json()) };
      } else {
        info = await a.fetchUserInfo();
      }
      $("userinfo-block").hidden = false;
      $("userinfo").textContent = JSON.stringify(info, null, 2);
    } catch (e) {
      showError(e);
    }
  });
  $("logout-button").addEventListener("click", async () => {
    try {
      // The provider sends the browser back to "/": say there that the logout happened.
      sessionStorage.setItem(SIGNED_OUT_KEY, "1");
      await (await client()).logout({ returnTo: `${location.origin}/` });
    } catch (e) {
      showError(e);
    }
  });

  try {
    auth = await client();
    if (sessionStorage.getItem(SIGNED_OUT_KEY)) {
      sessionStorage.removeItem(SIGNED_OUT_KEY);
      if (!auth.isAuthenticated()) status("Signed out, here and at the provider.");
    }
    // Behind the backend, a refused login comes back as #auth_error=…: thrown here.
    if (settings().mode === "bff" && auth.isRedirectCallback()) await auth.handleRedirectCallback();
    const appState = location.pathname === "/callback" ? await onCallback(auth) : undefined;
    showSession(auth, appState);
  } catch (e) {
    showError(e);
    // A replayed or stale callback changes nothing: a session that was there is still valid.
    if (auth?.isAuthenticated()) {
      showSession(auth);
      status(`Still signed in as ${auth.getUser()?.name ?? auth.getUser()?.sub}: that callback was refused (${e.code}), the session is unchanged.`);
    }
  }
  document.body.dataset.ready = "true";
}

main().catch(showError);
