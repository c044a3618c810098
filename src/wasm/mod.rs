//! The WebAssembly facade: the JS API over the protocol core. Thin glue only:
//! option conversion, fetch, Web Storage, navigation.

mod client;
mod error;
mod http;
mod storage;

pub use client::{create_auth_client, AuthClient};

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::AuthError;
use crate::pkce::{CodeVerifier, CODE_CHALLENGE_METHOD};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Options of `createAuthClient`. Give `issuer` (any OpenID provider) or `domain` (Auth0). */
export interface AuthClientOptions {
  /** OpenID issuer URL; endpoints come from its `/.well-known/openid-configuration`. */
  issuer?: string;
  /** Auth0 tenant host (`tenant.auth0.com`, a port allowed): issuer `https://{domain}/`, Auth0's paths, no discovery. */
  domain?: string;
  clientId: string;
  /** Where the provider sends the browser back: an https page or a custom scheme (`com.example.app://callback`). */
  redirectUri: string;
  /** Default `"openid profile email"`; `openid` is always added. Add `offline_access` for a refresh token. */
  scope?: string;
  audience?: string;
  /** `"form"` (default, RFC 6749) or `"json"` (accepted by Auth0). */
  tokenRequestEncoding?: "form" | "json";
  /**
   * Where a pending login waits for its callback. Default `"session"`. In a Capacitor app use
   * `"local"` or an adapter over Preferences: sessionStorage is lost when the OS kills the app.
   */
  transactionStorage?: "session" | "local" | "memory" | StorageAdapter;
  /** Default 10000. */
  httpTimeoutMs?: number;
  /** Endpoints to use instead of the discovered (or Auth0) ones. */
  endpoints?: { authorization?: string; token?: string; userinfo?: string; jwks?: string; endSession?: string };
  /** Allow plain http to a non-loopback provider (development only). */
  allowInsecureRequests?: boolean;
  /** Where the signed-in session (and the provider's keys) is kept. Default `"memory"` (gone on reload). */
  tokenStorage?: "memory" | "session" | "local" | StorageAdapter;
  /** Clock-skew allowance for ID token times, in seconds. Default 60. */
  leeway?: number;
  /** ID token signing algorithms to accept (default: the provider's list, else RS256). */
  idTokenSigningAlgs?: Array<"RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256">;
}

/** Your own storage, e.g. over Capacitor Preferences. Methods may return promises. */
export interface StorageAdapter {
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  set(key: string, value: string): void | Promise<void>;
  remove(key: string): void | Promise<void>;
  /** Optional: lets the library tell a wrong `state` from no pending login, and clean up old ones. */
  keys?(): string[] | Promise<string[]>;
}

/** @deprecated alias of StorageAdapter */
export type TokenStorageAdapter = StorageAdapter;

export interface GetAccessTokenOptions {
  /** Refresh even if the cached access token is still valid. */
  forceRefresh?: boolean;
  /** Ask the refresh for this (narrower) scope. */
  scope?: string;
}

export interface RefreshOptions {
  scope?: string;
}

export interface SessionEvent {
  type: "signed_in" | "refreshed" | "signed_out";
}

export interface LogoutOptions {
  /** Where the provider sends the browser after logout (must be registered with it). */
  returnTo?: string;
  /** Opens the logout URL instead of `window.location.assign`. */
  openUrl?: (url: string) => void | Promise<void>;
}

/** The verified ID token's claims, and the raw token as `__raw`. */
export interface IdTokenClaims {
  __raw: string;
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nonce?: string;
  azp?: string;
  auth_time?: number;
  [claim: string]: unknown;
}

/** The user's profile claims. */
export interface User {
  sub: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  email?: string;
  email_verified?: boolean;
  picture?: string;
  [claim: string]: unknown;
}

/** Options of one login. */
export interface AuthorizeOptions {
  /** Any JSON value; handed back by `handleRedirectCallback`. */
  appState?: unknown;
  scope?: string;
  audience?: string;
  prompt?: string;
  /** Seconds (OIDC `max_age`). */
  maxAge?: number;
  loginHint?: string;
  /** More query parameters; they cannot replace the ones the library sets. */
  extraParams?: Record<string, string | number | boolean>;
}

export interface LoginWithRedirectOptions extends AuthorizeOptions {
  /** Opens the URL instead of `window.location.assign` (e.g. Capacitor's `url => Browser.open({ url })`). */
  openUrl?: (url: string) => void | Promise<void>;
}

export interface RedirectResult {
  appState: unknown;
}

export interface Tokens {
  accessToken: string;
  idToken: string | null;
  refreshToken: string | null;
  tokenType: string;
  /** Epoch milliseconds, or null when the provider gave no `expires_in`. */
  expiresAt: number | null;
  scope: string | null;
}

export interface PkcePair {
  codeVerifier: string;
  codeChallenge: string;
  codeChallengeMethod: "S256";
}

/** Every error this library throws. `code` is stable; see the README for the list. */
export interface AuthError extends Error {
  name: "AuthError";
  code: string;
  /** The server's OAuth `error`, when a server sent one. */
  error?: string;
  errorDescription?: string;
  errorUri?: string;
  /** HTTP status, for errors from an HTTP response. */
  status?: number;
  /** For `invalid_id_token`: the check that failed. */
  reason?: "malformed" | "alg" | "kid" | "signature" | "iss" | "aud" | "azp" | "exp" | "iat" | "nbf" | "nonce" | "sub" | "auth_time";
}
"#;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PkcePair<'a> {
    code_verifier: &'a str,
    code_challenge: &'a str,
    code_challenge_method: &'a str,
}

/// A fresh PKCE pair (RFC 7636): 32 random bytes from `crypto.getRandomValues`
/// as a base64url verifier, and its S256 challenge. Needs no `crypto.subtle`.
#[wasm_bindgen(js_name = createPkcePair, unchecked_return_type = "PkcePair")]
pub fn create_pkce_pair() -> Result<JsValue, JsValue> {
    let verifier = CodeVerifier::generate()?;
    let challenge = verifier.challenge();
    to_js(&PkcePair {
        code_verifier: verifier.expose(),
        code_challenge: challenge.as_str(),
        code_challenge_method: CODE_CHALLENGE_METHOD,
    })
}

/// Plain objects, `null` for `None`.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| AuthError::new(crate::error::code::INVALID_CONFIG, e.to_string()).into())
}

#[cfg(test)]
mod tests;
