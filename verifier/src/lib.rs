//! The second WebAssembly module of the oidc-pkce package: its pure-Rust JWS
//! verifier (jsonwebtoken over `rsa` and `p256`, see `oidc_pkce::crypto`).
//!
//! The main module verifies ID token signatures with `crypto.subtle`. Where
//! that is missing (a page over plain http on a LAN address is not a secure
//! context), it fetches this module and calls [`verify`]. Key choice, allowed
//! algorithms and every claim check stay in the main module.

use oidc_pkce::crypto::verify_signature;
use oidc_pkce::id_token::SignatureCheck;
use oidc_pkce::jwks::Jwk;
use wasm_bindgen::prelude::*;

/// Whether `signature` (base64url) is a valid `alg` signature of
/// `signing_input` by `jwk` (a JSON object with `kty` and the public members).
/// Throws a string when it cannot be checked.
#[wasm_bindgen]
pub fn verify(alg: String, jwk: &str, signing_input: String, signature: String) -> Result<bool, JsValue> {
    let jwk: Jwk =
        serde_json::from_str(jwk).map_err(|e| JsValue::from_str(&format!("the JWK is unreadable: {e}")))?;
    let check = SignatureCheck {
        alg,
        jwk,
        signing_input,
        signature,
    };
    verify_signature(&check).map_err(|e| JsValue::from_str(&e))
}
