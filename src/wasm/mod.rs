//! The WebAssembly facade: the JS API over the protocol core. Thin glue only:
//! option conversion, fetch, Web Storage, navigation.

mod client;
mod dpop;
mod error;
mod frames;
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

// The package's TypeScript types are js/index.d.ts (the documented API only);
// wasm-bindgen's generated .d.ts is not shipped. The `unchecked_*_type` names
// below refer to those types.

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
