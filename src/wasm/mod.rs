//! The WebAssembly facade: the JS API over the protocol core. Thin glue only:
//! option conversion, fetch, Web Storage, navigation.

mod client;
mod error;
mod handoff;
mod http;
mod login;
mod refresh;
mod session;
mod signature;
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
  /**
   * Seconds a fetched key set may be used, at most (0 to 86400). Default: the JWKS response's
   * `Cache-Control: max-age`, else 600; never more than 24 h.
   */
  jwksMaxAge?: number;
  /** Seconds an access token lives when the token response has no `expires_in`. Default 3600. */
  defaultExpiresIn?: number;
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
  /**
   * Where the provider sends the browser after logout (must be registered with it). An https URL,
   * http on loopback, this page's origin, or the custom scheme of `redirectUri`; else `invalid_config`.
   */
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

/** Options of `verifyIdToken`. */
#[wasm_bindgen(typescript_custom_section)]
const TS_VERIFY: &'static str = r#"
export interface VerifyIdTokenOptions {
  issuer: string;
  clientId: string;
  /** The provider's key set: `{ keys: [...] }`. */
  jwks: { keys: object[] };
  /** The nonce sent in the authentication request, when one was. */
  nonce?: string;
  /** Seconds; requires a recent enough `auth_time`. */
  maxAge?: number;
  /** Seconds of clock skew allowed. Default 60. */
  leeway?: number;
  /** Allowed algorithms. Default RS256. */
  algorithms?: string[];
}
"#;

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifyOptions {
    issuer: String,
    client_id: String,
    nonce: Option<String>,
    max_age: Option<u64>,
    leeway: Option<u64>,
    algorithms: Option<Vec<String>>,
}

/// Verifies an ID token obtained elsewhere (signature against `jwks`, then
/// every OpenID Connect Core §3.1.3.7 check) and returns its claims. Throws
/// `invalid_id_token` with a `reason`, like the login flow. Asynchronous: the
/// signature is checked with `crypto.subtle` (or the fallback module).
#[wasm_bindgen(js_name = verifyIdToken, unchecked_return_type = "Promise<IdTokenClaims>")]
pub async fn verify_id_token_js(
    id_token: String,
    #[wasm_bindgen(unchecked_param_type = "VerifyIdTokenOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    use crate::error::code;
    let jwks_value = js_sys::Reflect::get(&options, &"jwks".into()).unwrap_or(JsValue::UNDEFINED);
    let o: VerifyOptions = from_js(&options, "verifyIdToken options")?;
    let jwks_json = js_sys::JSON::stringify(&jwks_value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, "`jwks` must be a key set object"))?;
    let jwks = crate::jwks::parse_jwks(&jwks_json)?;
    let algs = crate::id_token::allowed_algs(o.algorithms.as_deref(), None);
    let expected = crate::id_token::Expected {
        issuer: &o.issuer,
        client_id: &o.client_id,
        nonce: o.nonce.as_deref(),
        max_age: o.max_age,
        algs: &algs,
        leeway_s: o.leeway.unwrap_or(crate::id_token::DEFAULT_LEEWAY_S),
        now_s: (js_sys::Date::now() / 1000.0) as u64,
        check_expiry: true,
    };
    let verified = session::verify_with(&id_token, &jwks, &expected).await?;
    let mut claims = verified.claims;
    claims.insert("__raw".into(), id_token.into());
    Ok(js_sys::JSON::parse(&serde_json::Value::Object(claims).to_string()).unwrap_or(JsValue::NULL))
}

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

/// A Rust value as a plain JS value (`null` for `None`), through JSON: the
/// core already carries serde_json, and one (de)serializer costs fewer bytes
/// than two.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value)
        .map_err(|e| AuthError::new(crate::error::code::INVALID_CONFIG, e.to_string()))?;
    js_sys::JSON::parse(&text)
        .map_err(|_| AuthError::new(crate::error::code::INVALID_CONFIG, "unserializable").into())
}

/// Refuses keys of an options object that are not options (typos).
fn check_keys(options: &JsValue, known: &[&str], what: &str) -> Result<(), AuthError> {
    if !options.is_object() {
        return Ok(());
    }
    let object: &js_sys::Object = options.unchecked_ref();
    let keys: Vec<String> = js_sys::Object::keys(object)
        .iter()
        .filter_map(|k| k.as_string())
        .collect();
    crate::config::check_option_keys(keys.iter().map(String::as_str), known, what)
}

/// An options object read into `T` through `JSON.stringify` (functions and
/// `undefined` members drop out, as the options want).
fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue, what: &str) -> Result<T, AuthError> {
    use crate::error::code::INVALID_CONFIG;
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| AuthError::new(INVALID_CONFIG, format!("{what} must be a JSON-like object")))?;
    serde_json::from_str(&text).map_err(|e| AuthError::new(INVALID_CONFIG, format!("{what}: {e}")))
}

#[cfg(test)]
mod tests;
