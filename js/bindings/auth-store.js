// The sign-in state the React and Vue bindings share: one client, its
// callback handled once, then every session change followed. Framework-free;
// nothing here touches `window` until `start()` (safe to import in server
// rendering).
//
// Every protocol decision stays the client's (the core's): whether a URL is
// the authorization response (`isRedirectCallback`), what the session is
// (`isAuthenticated`, `getUser`), which client a callback belongs to, what
// the address is without the spent response and where `appState.returnTo`
// may go (`_binding`). This module only keeps the state a framework
// renders, and makes sure a callback is exchanged once per page whatever
// the framework mounts twice (React StrictMode, fast refresh).

import { _binding, createAuthClient } from "./index.js";

/**
 * The callbacks of this page being handled or already handled, by client
 * (the core's identity: provider and client id) and URL: a store that
 * starts while another store's exchange of the same URL is under way (a
 * remount) waits for that one and takes up its client, instead of sending
 * the spent code again. @type {Map<string, Promise<{ client: any; appState?: unknown; error: any }>>}
 */
const callbacks = new Map();

/** How many stores use each client: the last one to stop closes it. @type {Map<any, number>} */
const users = new Map();

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
  /** The client this store counts as a user of. @type {any} */
  let held = null;
  let stopped = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let stopping;

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
   * the address `appState.returnTo` in place, if the core takes it for a
   * place of this origin.
   * @param {any} client @param {any} appState
   */
  function redirected(client, appState) {
    if (hooks.onRedirectCallback) return hooks.onRedirectCallback(appState);
    const [, to] = _binding(client)?.after(window.location.href, appState?.returnTo) ?? [];
    if (to !== undefined) window.history.replaceState(window.history.state, "", to);
  }

  /** The client this store uses (another store's, after a shared callback). @param {any} client */
  function hold(client) {
    if (held === client) return;
    release();
    held = client;
    users.set(client, (users.get(client) ?? 0) + 1);
  }

  /** This store no longer uses its client: the last user closes it. */
  function release() {
    const client = held;
    held = null;
    if (!client) return;
    const left = (users.get(client) ?? 1) - 1;
    if (left > 0) return void users.set(client, left);
    users.delete(client);
    client.close();
  }

  async function begin() {
    const href = window.location.href;
    const made = await createAuthClient(options);
    // A callback is shared only between stores of the same client (two
    // providers of different clients on one page each handle their own).
    const key = `${_binding(made)?.id} ${href}`;
    let handling = callbacks.get(key);
    if (!handling && !hooks.skipRedirectCallback && made.isRedirectCallback(href)) {
      const exchange = made.handleRedirectCallback(href).then(
        (/** @type {any} */ r) => ({ client: made, appState: r.appState, error: null }),
        (/** @type {any} */ error) => ({ client: made, appState: undefined, error }),
      );
      callbacks.set(key, exchange);
      exchange.then((r) => {
        // The code is spent (or refused): out of the address bar and the history.
        const [clean] = _binding(made)?.after(href, undefined) ?? [];
        if (window.location.href === href && clean !== undefined) window.history.replaceState(window.history.state, "", clean);
        if (!r.error) redirected(made, r.appState);
      });
      handling = exchange;
    }
    const { client, error } = await (handling ?? { client: made, error: null });
    if (client !== made) made.close();
    if (stopped) return client;
    hold(client);
    client.onSessionChange(() => follow(client, { error: null }));
    follow(client, { error });
    return client;
  }

  /** Creates the client and handles a callback in the URL, once (later calls share the first). */
  function start() {
    clearTimeout(stopping);
    stopped = false;
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
    } else if (state.client) {
      hold(state.client);
    }
    return starting;
  }

  /**
   * The component that owned the store went away: its client stops
   * following other tabs and its listeners go, unless the framework mounts
   * it again at once (React StrictMode, fast refresh) or another store uses it.
   */
  function stop() {
    stopped = true;
    clearTimeout(stopping);
    stopping = setTimeout(release, 0);
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

  /** The calls both bindings give (one table: react.js and vue.js spread it). */
  const calls = {
    /** @param {any} [opts] */
    loginWithRedirect: (opts) =>
      run((c) => c.loginWithRedirect(opts).then((/** @type {any} */ r) => {
        // An auth session (openUrl resolving to the callback URL) completed the login here.
        if (r) redirected(c, r.appState);
        return r;
      })),
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
  };

  return {
    start,
    stop,
    calls,
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
