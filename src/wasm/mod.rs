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
  /** Where a pending login waits for its callback. Default `"session"`. */
  transactionStorage?: "session" | "local" | "memory";
  /** Default 10000. */
  httpTimeoutMs?: number;
  /** Endpoints to use instead of the discovered (or Auth0) ones. */
  endpoints?: { authorization?: string; token?: string; userinfo?: string; jwks?: string; endSession?: string };
  /** Allow plain http to a non-loopback provider (development only). */
  allowInsecureRequests?: boolean;
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
