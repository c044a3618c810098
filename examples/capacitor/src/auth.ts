// The sign-in set-up of the app, typed: this file is what `tsc --noEmit` checks.
import { SecureStorage } from "@aparajita/capacitor-secure-storage";
import { Preferences } from "@capacitor/preferences";
import { createAuthClient, type AuthClient, type AuthClientOptions, type StorageAdapter } from "oidc-pkce";

/** The custom scheme registered for the app (Android intent-filter, iOS CFBundleURLSchemes). */
export const REDIRECT_URI = "com.example.app://callback";

/**
 * Where the provider's logout page sends the user back: the same scheme,
 * another path (register it as a logout URL). A logout return carries no
 * code: it is not a login callback, and is not handed to handleRedirectCallback.
 */
export const LOGOUT_RETURN_URI = "com.example.app://logout";

/**
 * Capacitor Preferences for the pending login (PKCE verifier, state, nonce:
 * minutes of life, useless without the code): native storage survives
 * Android killing the app while the in-app browser is open (sessionStorage
 * would not). Preferences is not encrypted (SharedPreferences, UserDefaults).
 */
export const preferencesStorage: StorageAdapter = {
  get: async (key) => (await Preferences.get({ key })).value,
  set: (key, value) => Preferences.set({ key, value }),
  remove: (key) => Preferences.remove({ key }),
  keys: async () => (await Preferences.keys()).keys,
};

/**
 * The iOS Keychain and the Android Keystore (@aparajita/capacitor-secure-storage)
 * for the session: the refresh token is a long-lived credential. (On the web
 * build, the plugin falls back to localStorage.)
 */
export const secureStorage: StorageAdapter = {
  get: (key) => SecureStorage.getItem(key),
  set: (key, value) => SecureStorage.setItem(key, value),
  remove: (key) => SecureStorage.removeItem(key),
  keys: () => SecureStorage.keys(),
};

export function options(): AuthClientOptions {
  const env = import.meta.env;
  const common = {
    clientId: env.VITE_OIDC_CLIENT_ID ?? "YOUR_CLIENT_ID",
    redirectUri: REDIRECT_URI,
    scope: "openid profile email offline_access",
    transactionStorage: preferencesStorage,
    tokenStorage: secureStorage,
  } satisfies Partial<AuthClientOptions>;
  return env.VITE_OIDC_ISSUER
    ? { issuer: env.VITE_OIDC_ISSUER, ...common }
    : { domain: env.VITE_OIDC_DOMAIN ?? "YOUR_TENANT.auth0.com", ...common };
}

export function createAuth(): Promise<AuthClient> {
  return createAuthClient(options());
}
