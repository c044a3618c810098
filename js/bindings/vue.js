// oidc-pkce/vue: the sign-in state as a Vue plugin and composable. Thin over
// the client: one client per createAuth(), its callback exchanged once
// (./auth-store.js), then every session change followed, here or in another
// tab. Imports nothing from `window` at module load.

import { inject, readonly, shallowRef } from "vue";
import { authError, createAuthStore } from "./auth-store.js";

const AUTH = Symbol("oidc-pkce");

/**
 * The plugin: `app.use(createAuth(options, { onRedirectCallback }))`. The
 * client is made when the plugin is installed in a browser.
 * @param {any} options @param {{ onRedirectCallback?: (appState: any) => void; skipRedirectCallback?: boolean }} [hooks]
 */
export function createAuth(options, hooks = {}) {
  const store = createAuthStore(options, hooks);
  const first = store.getSnapshot();
  const refs = {
    isLoading: shallowRef(first.isLoading),
    isAuthenticated: shallowRef(first.isAuthenticated),
    user: shallowRef(first.user),
    error: shallowRef(first.error),
    client: shallowRef(first.client),
  };
  store.subscribe(() => {
    const s = store.getSnapshot();
    for (const [name, ref] of Object.entries(refs)) ref.value = /** @type {any} */ (s)[name];
  });
  const auth = {
    isLoading: readonly(refs.isLoading),
    isAuthenticated: readonly(refs.isAuthenticated),
    user: readonly(refs.user),
    error: readonly(refs.error),
    client: readonly(refs.client),
    ...store.calls,
    /** Resolves when the state is known (the callback in the URL handled): true when signed in. */
    ready: () => store.start().then(
      () => store.getSnapshot().isAuthenticated,
      () => false,
    ),
    /** @param {any} app */
    install(app) {
      app.provide(AUTH, auth);
      app.config.globalProperties.$auth = auth;
      if (typeof window !== "undefined") store.start();
      // (Vue 3.5+: the app unmounted, the client stops following other tabs.)
      app.onUnmount?.(() => store.stop());
    },
  };
  return auth;
}

/** The sign-in state (refs) and the calls; in components of an app that installed createAuth(). */
export function useAuth() {
  const auth = inject(AUTH, null);
  if (!auth) throw authError("invalid_config", "useAuth() is called in an app without the createAuth() plugin");
  return auth;
}

/**
 * A vue-router guard (`beforeEnter` or `router.beforeEach`) for protected
 * routes: lets signed-in users through; sends the others to log in, coming
 * back to the route (`appState.returnTo`: `to.fullPath`); after a refused
 * login stays put (`error` says why).
 * @param {ReturnType<typeof createAuth>} auth @param {any} [loginOptions]
 */
export function createAuthGuard(auth, loginOptions) {
  /** @param {{ fullPath: string }} to */
  return async (to) => {
    if (await auth.ready()) return true;
    if (auth.error.value) return false;
    const appState = { ...(loginOptions?.appState ?? {}), returnTo: to.fullPath };
    await auth.loginWithRedirect({ ...loginOptions, appState });
    return false;
  };
}
