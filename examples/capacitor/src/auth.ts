// The sign-in set-up of the app, typed: this file is what `tsc --noEmit` checks.
import { Preferences } from "@capacitor/preferences";
import { createAuthClient, type AuthClient, type AuthClientOptions, type StorageAdapter } from "oidc-pkce";

/** The custom scheme registered for the app (Android intent-filter, iOS CFBundleURLSchemes). */
export const REDIRECT_URI = "com.example.app://callback";

/**
 * Capacitor Preferences as the storage of both the pending login and the
 * session: native storage survives Android killing the app while the in-app
 * browser is open (sessionStorage would not).
 */
export const preferencesStorage: StorageAdapter = {
  get: async (key) => (await Preferences.get({ key })).value,
  set: (key, value) => Preferences.set({ key, value }),
  remove: (key) => Preferences.remove({ key }),
  keys: async () => (await Preferences.keys()).keys,
};

export function options(): AuthClientOptions {
  const env = import.meta.env;
  const common = {
    clientId: env.VITE_OIDC_CLIENT_ID ?? "YOUR_CLIENT_ID",
    redirectUri: REDIRECT_URI,
    scope: "openid profile email offline_access",
    transactionStorage: preferencesStorage,
    tokenStorage: preferencesStorage,
  } satisfies Partial<AuthClientOptions>;
  return env.VITE_OIDC_ISSUER
    ? { issuer: env.VITE_OIDC_ISSUER, ...common }
    : { domain: env.VITE_OIDC_DOMAIN ?? "YOUR_TENANT.auth0.com", ...common };
}

export function createAuth(): Promise<AuthClient> {
  return createAuthClient(options());
}
