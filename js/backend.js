// The browser's side of oidc-pkce/server: `createAuthClient({ backend:
// "/auth" })` gives the same client API over the backend's routes, and
// loads no WebAssembly: the backend is the OAuth client. In BFF mode the
// page never holds a token (fetchWithAuth goes through the backend's proxy);
// in token-mediating mode it gets short-lived access tokens from it.

/** @param {string} code @param {string} message @param {object} [more] */
function authError(code, message, more = {}) {
  return Object.assign(new Error(message), { name: "AuthError", code }, more);
}

/**
 * @param {{ backend: string; fetch?: typeof fetch }} options `backend`: the
 *   server's routes' prefix (a path of this origin, or an absolute URL)
 */
export async function createBackendClient(options) {
  if (typeof options?.backend !== "string" || !options.backend) {
    throw authError("invalid_config", "`backend` must be the path of the backend's routes, such as \"/auth\"");
  }
  const base = options.backend.replace(/\/$/, "");
  const transport = options.fetch ?? fetch;
  /** @type {Set<(event: { type: string }) => void>} */
  const listeners = new Set();
  /** @type {{ isAuthenticated: boolean; user?: any; mode: "bff" | "token-mediating"; apis?: string[] }} */
  let state = { isAuthenticated: false, mode: "bff" };
  /** @type {{ token: string; until: number } | null} */
  let cached = null;
  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("oidc-pkce-backend") : null;

  /** A call to the backend: same origin, its CSRF header, its errors as AuthError. @param {string} path @param {RequestInit} [init] */
  async function call(path, init = {}) {
    let response;
    try {
      response = await transport(base + path, {
        ...init,
        credentials: "same-origin",
        headers: { ...(init.headers ?? {}), "X-CSRF": "1", Accept: "application/json" },
      });
    } catch (e) {
      throw authError("network_error", `the backend (${base + path}) could not be reached (${String((e instanceof Error && e.message) || e)})`);
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw authError(body.error ?? "network_error", body.error_description ?? `the backend answered ${response.status}`, { status: response.status, reason: body.reason });
    return body;
  }

  /** The session as the backend sees it; `signed_in` / `signed_out` when it changed. */
  async function refreshState() {
    const was = state.isAuthenticated ? state.user?.sub : null;
    state = await call("/session");
    cached = null;
    const now = state.isAuthenticated ? state.user?.sub : null;
    if (was !== now) {
      const type = now ? "signed_in" : "signed_out";
      for (const f of [...listeners]) {
        try {
          f({ type });
        } catch {}
      }
    }
  }
  await refreshState();
  // Another tab logged out or in: this one asks again.
  if (channel) channel.onmessage = () => void refreshState().catch(() => {});
  const onVisible = () => document.visibilityState === "visible" && void refreshState().catch(() => {});
  if (typeof document !== "undefined") document.addEventListener("visibilitychange", onVisible);

  /** The backend's login route for `returnTo` (a path of the app). @param {any} opts */
  const loginUrl = (opts) => {
    const returnTo = opts?.appState?.returnTo ?? location.pathname + location.search;
    const q = new URLSearchParams({ returnTo });
    if (opts?.prompt) q.set("prompt", opts.prompt);
    return `${base}/login?${q}`;
  };

  /** A failed login comes back as `#auth_error=` in the address. @param {string} [href] */
  const callbackError = (href) => new URLSearchParams(new URL(href ?? location.href).hash.slice(1)).get("auth_error");

  /** Token-mediating mode: a short-lived access token from the backend. */
  async function getAccessToken() {
    if (state.mode !== "token-mediating") throw authError("invalid_config", "in BFF mode the page holds no token: call APIs with fetchWithAuth");
    if (cached && cached.until > Date.now() + 10_000) return cached.token;
    const t = await call("/token", { method: "POST" });
    cached = { token: t.access_token, until: Date.now() + (t.expires_in ?? 60) * 1000 };
    return cached.token;
  }

  return {
    backend: base,
    get mode() {
      return state.mode;
    },
    buildAuthorizeUrl: async (/** @type {any} */ opts) => loginUrl(opts),
    /** The browser goes to the backend, which sends it to the provider. @param {any} opts */
    async loginWithRedirect(opts) {
      location.assign(loginUrl(opts));
    },
    isRedirectCallback: (/** @type {string | undefined} */ href) => callbackError(href) !== null,
    /** A login the backend refused (the provider's error): thrown, and taken out of the address. @param {string} [href] */
    async handleRedirectCallback(href) {
      const error = callbackError(href);
      if (error === null) return { appState: undefined };
      const reason = new URLSearchParams(new URL(href ?? location.href).hash.slice(1)).get("auth_error_reason") ?? undefined;
      if (!href) history.replaceState(history.state, "", location.pathname + location.search);
      throw authError(error, `the login did not complete: ${error}${reason ? ` (${reason})` : ""}`, { error, reason });
    },
    async loginWithPopup() {
      throw authError("invalid_config", "with a backend, log in by redirect (loginWithRedirect)");
    },
    checkSession: async () => {
      await refreshState();
      return state.isAuthenticated;
    },
    getTokens: () => undefined,
    isAuthenticated: () => state.isAuthenticated,
    getIdTokenClaims: () => state.user,
    getUser: () => state.user,
    fetchUserInfo: async () => {
      await refreshState();
      if (!state.isAuthenticated) throw authError("login_required", "not signed in");
      return state.user;
    },
    buildLogoutUrl: () => `${base}/logout`,
    /** The session ends at the backend (which revokes the refresh token), then at the provider. @param {any} [opts] */
    async logout(opts) {
      const { url } = await call("/logout", { method: "POST" });
      state = { ...state, isAuthenticated: false, user: undefined };
      cached = null;
      channel?.postMessage("changed");
      for (const f of [...listeners]) f({ type: "signed_out" });
      if (opts?.openUrl) await opts.openUrl(url);
      else location.assign(url);
    },
    async revokeTokens() {
      await call("/logout", { method: "POST" });
      await refreshState();
    },
    getAccessToken,
    /**
     * The app's request with the session's token: through the backend's
     * proxy (BFF), or with the mediated token (token-mediating).
     * @param {RequestInfo | URL} input @param {RequestInit} [init]
     */
    async fetchWithAuth(input, init) {
      const request = new Request(input, init);
      if (state.mode === "token-mediating") {
        const headers = new Headers(request.headers);
        headers.set("Authorization", `Bearer ${await getAccessToken()}`);
        return transport(new Request(request, { headers }));
      }
      const headers = new Headers(request.headers);
      headers.set("X-CSRF", "1");
      const body = ["GET", "HEAD"].includes(request.method) ? undefined : await request.arrayBuffer();
      return transport(`${base}/api?${new URLSearchParams({ url: request.url })}`, {
        method: request.method,
        headers,
        body,
        credentials: "same-origin",
        signal: request.signal,
      });
    },
    async refresh() {
      cached = null;
      await getAccessToken();
      return undefined;
    },
    /** @param {(event: { type: string }) => void} callback */
    onSessionChange(callback) {
      listeners.add(callback);
      return () => void listeners.delete(callback);
    },
    close() {
      listeners.clear();
      channel?.close();
      if (typeof document !== "undefined") document.removeEventListener("visibilitychange", onVisible);
    },
  };
}
