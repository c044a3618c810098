// oidc-pkce/react: the sign-in state as a React context and hook. Thin over
// the client: one client per <AuthProvider>, its callback exchanged once
// (StrictMode's double mount and fast refresh included: ./auth-store.js),
// then every session change followed, here or in another tab.
// Imports nothing from `window` at module load.

import { createContext, createElement, useContext, useEffect, useMemo, useState, useSyncExternalStore } from "react";
import { authError, createAuthStore } from "./auth-store.js";

/** @type {import("react").Context<any>} */
const AuthContext = createContext(null);

/**
 * Makes one client from `options` (read once: later values are not taken up)
 * and gives its state to `useAuth()` below.
 * @param {{ options: any; onRedirectCallback?: (appState: any) => void; skipRedirectCallback?: boolean; children?: any }} props
 */
export function AuthProvider({ options, onRedirectCallback, skipRedirectCallback, children }) {
  // (StrictMode calls this initializer twice and keeps one store: a store
  // does nothing until start().)
  const [store] = useState(() => createAuthStore(options, { onRedirectCallback, skipRedirectCallback }));
  store.setHooks({ onRedirectCallback });
  useEffect(() => {
    store.start();
    // Unmounted: the client stops following other tabs (unless mounted again at once).
    return () => store.stop();
  }, [store]);
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  const value = useMemo(
    () => ({
      ...state,
      ...store.calls,
      requireAuth: store.requireAuth,
    }),
    [state, store],
  );
  return createElement(AuthContext.Provider, { value }, children);
}

/** The sign-in state and the calls; inside an <AuthProvider> only. */
export function useAuth() {
  const auth = useContext(AuthContext);
  if (!auth) throw authError("invalid_config", "useAuth() is called outside an <AuthProvider>");
  return auth;
}

/**
 * Renders `children` once signed in; before that `fallback` (default
 * nothing), and a visitor who is not signed in is sent to log in, coming back
 * to this address (`appState.returnTo`). After a refused login, `fallback` is
 * rendered and `useAuth().error` says why: no loop of redirects.
 * @param {{ children?: any; fallback?: any; loginOptions?: any; returnTo?: string }} props
 */
export function RequireAuth({ children, fallback = null, loginOptions, returnTo }) {
  const auth = useAuth();
  const { isLoading, isAuthenticated, error, requireAuth } = auth;
  useEffect(() => {
    requireAuth(loginOptions, returnTo);
    // (The options are read when the state changes, not on each render.)
  }, [isLoading, isAuthenticated, error, requireAuth]);
  return isAuthenticated ? children : fallback;
}

/**
 * `Component` behind `<RequireAuth>`.
 * @param {any} Component @param {{ onRedirecting?: () => any; loginOptions?: any; returnTo?: string }} [opts]
 */
export function withAuthenticationRequired(Component, opts = {}) {
  /** @param {any} props */
  function WithAuthenticationRequired(props) {
    return createElement(
      RequireAuth,
      { fallback: opts.onRedirecting ? opts.onRedirecting() : null, loginOptions: opts.loginOptions, returnTo: opts.returnTo },
      createElement(Component, props),
    );
  }
  return WithAuthenticationRequired;
}
