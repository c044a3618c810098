// The sign-in state the React and Vue bindings share: one client, its
// callback handled once, then every session change followed. Framework-free;
// nothing here touches `window` until `start()` (safe to import in server
// rendering).
//
// Every protocol decision stays the client's (the core's): whether a URL is
// the authorization response (`isRedirectCallback`), what the session is
// (`isAuthenticated`, `getUser`). This module only keeps the state a
// framework renders, and makes sure a callback is exchanged once per page
// whatever the framework mounts twice (React StrictMode, fast refresh).

import { createAuthClient } from "./index.js";

/**
 * The callbacks of this page being handled or already handled, by client and URL: a store that
 * starts while another store's exchange of the same URL is under way (a
 * remount) waits for that one and takes up its client, instead of sending
 * the spent code again. @type {Map<string, Promise<{ client: any; appState?: unknown; error: any }>>}
 */
const callbacks = new Map();

/** An error like the library's own (name "AuthError", a stable `code`). @param {string} code @param {string} message */
export function authError(code, message) {
  /** @type {Error & { code?: string }} */
  const e = new Error(message);
  e.name = "AuthError";
  e.code = code;
  return e;
}

const notInBrowser = () =>
  authError("unsupported_platform", "oidc-pkce signs in in a browser: this call was made where there is no window (server rendering)");

/** The address without the authorization response's parameters (the code is spent). @param {string} href */
function withoutResponse(href) {
  const u = new URL(href);
  for (const name of ["code", "state", "iss", "error", "error_description", "error_uri", "session_state"]) u.searchParams.delete(name);
  return u.pathname + u.search + u.hash;
}

/**
 * @param {any} options the client's options (createAuthClient)
 * @param {{ onRedirectCallback?: (appState: unknown) => void; skipRedirectCallback?: boolean }} [hooks]
 */
export function createAuthStore(options, hooks = {}) {
  /** @type {{ isLoading: boolean; isAuthenticated: boolean; user: any; error: any; client: any }} */
  let state = { isLoading: true, isAuthenticated: false, user: null, error: null, client: null };
  const listeners = new Set();
  /** @type {Promise<any> | null} */
  let starting = null;
  let redirecting = false;

  /** @param {Partial<typeof state>} patch */
  const set = (patch) => {
    state = { ...state, ...patch };
    for (const listener of listeners) listener();
  };
  /** @param {any} client @param {Partial<typeof state>} [more] */
  const follow = (client, more) =>
    set({ client, isLoading: false, isAuthenticated: client.isAuthenticated(), user: client.getUser(), ...more });

  /**
   * After a login: the app's `onRedirectCallback(appState)`, or by default
   * the address `appState.returnTo` (a path of this origin) in place.
   * @param {any} appState
   */
  function redirected(appState) {
    if (hooks.onRedirectCallback) return hooks.onRedirectCallback(appState);
    const to = appState?.returnTo;
    if (typeof to !== "string") return;
    // Read as the browser reads it ("/\\host" is another origin), and only
    // within this origin: replaceState would throw for another one.
    let target;
    try {
      target = new URL(to, window.location.href);
    } catch {
      return;
    }
    if (target.origin === window.location.origin) {
      window.history.replaceState(window.history.state, "", target.pathname + target.search + target.hash);
    }
  }

  async function begin() {
    const href = window.location.href;
    // A callback is shared only between stores of the same client (two
    // providers of different clients on one page each handle their own).
    const key = [options?.issuer ?? options?.domain, options?.clientId, href].join(" ");
    let handling = callbacks.get(key);
    if (!handling) {
      const client = await createAuthClient(options);
      // (Looked up again after the await: another store may have begun meanwhile.)
      handling = callbacks.get(key);
      if (!handling && !hooks.skipRedirectCallback && client.isRedirectCallback(href)) {
        const exchange = client.handleRedirectCallback(href).then(
          (/** @type {any} */ r) => ({ client, appState: r.appState, error: null }),
          (/** @type {any} */ error) => ({ client, appState: undefined, error }),
        );
        callbacks.set(key, exchange);
        exchange.then((r) => {
          // The code is spent (or refused): out of the address bar and the history.
          if (window.location.href === href) window.history.replaceState(window.history.state, "", withoutResponse(href));
          if (!r.error) redirected(r.appState);
        });
        handling = exchange;
      }
      handling ??= Promise.resolve({ client, error: null });
    }
    const { client, error } = await handling;
    client.onSessionChange(() => follow(client, { error: null }));
    follow(client, { error });
    return client;
  }

  /** Creates the client and handles a callback in the URL, once (later calls share the first). */
  function start() {
    if (!starting) {
      if (typeof window === "undefined") {
        // Server rendering: the state stays "loading" (what the browser's
        // first render shows too), and calls are unsupported_platform.
        starting = Promise.reject(notInBrowser());
      } else {
        starting = begin();
        starting.catch((error) => set({ isLoading: false, error }));
      }
      starting.catch(() => {});
    }
    return starting;
  }

  /**
   * A call on the client once it is there; the state follows what it changed.
   * With the client already there the call is made at once, in the caller's
   * task: loginWithPopup must open its window within the click's activation.
   * @param {(client: any) => any} call
   * @returns {Promise<any>}
   */
  const run = (call) => {
    if (state.client) {
      try {
        return Promise.resolve(call(state.client));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return start().then(call);
  };

  return {
    start,
    /** @param {() => void} listener */
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    getSnapshot: () => state,
    /** The hooks' latest (a framework may pass new callbacks on each render). @param {typeof hooks} next */
    setHooks(next) {
      hooks = { ...hooks, ...next };
    },
    /** @param {any} [opts] */
    loginWithRedirect: (opts) => run((c) => c.loginWithRedirect(opts)).then((r) => {
      // An auth session (openUrl resolving to the callback URL) completed the login here.
      if (r) redirected(r.appState);
      return r;
    }),
    /** @param {any} [opts] */
    loginWithPopup: (opts) =>
      run(async (c) => {
        try {
          const r = await c.loginWithPopup(opts);
          follow(c, { error: null });
          return r;
        } catch (error) {
          follow(c, { error });
          throw error;
        }
      }),
    /** @param {any} [opts] */
    logout: (opts) => run((c) => c.logout(opts)),
    /** @param {any} [opts] */
    getAccessToken: (opts) => run((c) => c.getAccessToken(opts)),
    /** @param {RequestInfo | URL} input @param {any} [init] */
    fetchWithAuth: (input, init) => run((c) => c.fetchWithAuth(input, init)),
    /**
     * For a protected page: once the state is known, a visitor who is not
     * signed in (and not just refused) is sent to log in, once, with
     * `appState.returnTo` the page's address.
     * @param {any} [loginOptions] @param {string} [returnTo]
     */
    requireAuth(loginOptions, returnTo) {
      if (state.isLoading || state.isAuthenticated || state.error || redirecting || typeof window === "undefined") return;
      redirecting = true;
      const here = window.location.pathname + window.location.search + window.location.hash;
      const appState = { ...(loginOptions?.appState ?? {}), returnTo: returnTo ?? here };
      run((c) => c.loginWithRedirect({ ...loginOptions, appState })).then(
        () => (redirecting = false),
        (error) => {
          redirecting = false;
          set({ error });
        },
      );
    },
  };
}
