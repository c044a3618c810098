//! The WebAssembly facade: the JS API over the protocol core. Thin glue only:
//! option conversion, fetch, Web Storage, navigation.

mod client;
mod dpop;
mod error;
mod few;
mod frames;
mod handoff;
mod http;
mod login;
mod refresh;
mod session;
mod signature;
mod storage;

pub use client::{create_auth_client, AuthClient};

use wasm_bindgen::prelude::*;

use crate::error::AuthError;
use crate::pkce::{CodeVerifier, CODE_CHALLENGE_METHOD};

// The package's TypeScript types are js/index.d.ts (the documented API only);
// wasm-bindgen's generated .d.ts is not shipped. The `unchecked_*_type` names
// below refer to those types.

/// Verifies an ID token obtained elsewhere (signature against `jwks`, then
/// every OpenID Connect Core §3.1.3.7 check) and returns its claims. Throws
/// `invalid_id_token` with a `reason`, like the login flow. Asynchronous: the
/// signature is checked with `crypto.subtle` (or the fallback module).
#[wasm_bindgen(js_name = verifyIdToken, unchecked_return_type = "Promise<IdTokenClaims>")]
pub fn verify_id_token_js(
    id_token: String,
    #[wasm_bindgen(unchecked_param_type = "VerifyIdTokenOptions")] options: JsValue,
) -> js_sys::Promise {
    client::spawn(verify_id_token(id_token, options))
}

async fn verify_id_token(id_token: String, options: JsValue) -> Result<JsValue, AuthError> {
    use crate::error::code;
    let jwks_value = js_sys::Reflect::get(&options, &"jwks".into()).unwrap_or(JsValue::UNDEFINED);
    let required = |name: &str| {
        text(&options, name)?
            .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, msg!("`{name}` is required")))
    };
    let (issuer, client_id) = (required("issuer")?, required("clientId")?);
    let algorithms = match client::option(&options, "algorithms") {
        v if v.is_undefined() || v.is_null() => None,
        v => Some(strings(&v, "algorithms")?),
    };
    let jwks_json = js_sys::JSON::stringify(&jwks_value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, "`jwks` must be a key set object"))?;
    let jwks = crate::jwks::parse_jwks(&jwks_json)?;
    let algs = crate::id_token::allowed_algs(algorithms.as_deref(), None);
    let trusted_audiences = match client::option(&options, "trustedAudiences") {
        v if v.is_undefined() || v.is_null() => Vec::new(),
        v => strings(&v, "trustedAudiences")?,
    };
    let nonce = text(&options, "nonce")?;
    let expected = crate::id_token::Expected {
        issuer: &issuer,
        client_id: &client_id,
        nonce: nonce.as_deref(),
        max_age: seconds(&options, "maxAge")?,
        algs: &algs,
        leeway_s: seconds(&options, "leeway")?.unwrap_or(crate::id_token::DEFAULT_LEEWAY_S),
        now_s: (js_sys::Date::now() / 1000.0) as u64,
        trusted_audiences: &trusted_audiences,
        check_expiry: true,
    };
    let verified = session::verify_with(&id_token, &jwks, &expected).await?;
    let mut claims = verified.claims;
    claims.insert("__raw".into(), id_token.into());
    Ok(client::object_to_js(claims))
}

/// A fresh PKCE pair (RFC 7636): 32 random bytes from `crypto.getRandomValues`
/// as a base64url verifier, and its S256 challenge. Needs no `crypto.subtle`.
#[wasm_bindgen(js_name = createPkcePair, unchecked_return_type = "PkcePair")]
pub fn create_pkce_pair() -> Result<JsValue, JsValue> {
    let verifier = CodeVerifier::generate()?;
    let challenge = verifier.challenge();
    let mut o = crate::json::Object::new();
    o.insert("codeVerifier".into(), verifier.expose().into());
    o.insert("codeChallenge".into(), challenge.as_str().into());
    o.insert("codeChallengeMethod".into(), CODE_CHALLENGE_METHOD.into());
    Ok(client::object_to_js(o))
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

/// An option of type `T` (`undefined` and `null`: not given).
fn typed<T>(
    o: &JsValue,
    name: &str,
    read: fn(&JsValue) -> Option<T>,
    kind: &str,
) -> Result<Option<T>, AuthError> {
    match client::option(o, name) {
        v if v.is_undefined() || v.is_null() => Ok(None),
        v => read(&v).map(Some).ok_or_else(|| {
            AuthError::new(
                crate::error::code::INVALID_CONFIG,
                msg!("`{name}` must be {kind}"),
            )
        }),
    }
}

fn text(o: &JsValue, name: &str) -> Result<Option<String>, AuthError> {
    typed(o, name, JsValue::as_string, "a string")
}

fn number(o: &JsValue, name: &str) -> Result<Option<f64>, AuthError> {
    typed(o, name, JsValue::as_f64, "a number")
}

/// Reads many options, keeping the first error (see [`FirstError`]): each
/// read gives `None` (or `false`) for a value of the wrong type, and `finish`
/// reports the first such error, as a chain of `?` would.
type FirstError = crate::error::FirstError<AuthError>;

impl FirstError {
    fn text(&mut self, o: &JsValue, name: &str) -> Option<String> {
        self.keep(text(o, name))
    }

    fn number(&mut self, o: &JsValue, name: &str) -> Option<f64> {
        self.keep(number(o, name))
    }

    fn flag(&mut self, o: &JsValue, name: &str) -> bool {
        self.keep(typed(o, name, JsValue::as_bool, "true or false"))
            .unwrap_or(false)
    }
}

/// A whole number of seconds (`maxAge`, `leeway`).
fn seconds(o: &JsValue, name: &str) -> Result<Option<u64>, AuthError> {
    match number(o, name)? {
        None => Ok(None),
        Some(s) if s.is_finite() && s >= 0.0 && s.fract() == 0.0 && s <= u32::MAX as f64 => {
            Ok(Some(s as u64))
        }
        Some(_) => Err(AuthError::new(
            crate::error::code::INVALID_CONFIG,
            msg!("`{name}` must be a whole number of seconds"),
        )),
    }
}

/// An array of strings.
fn strings(v: &JsValue, name: &str) -> Result<Vec<String>, AuthError> {
    js_sys::Array::is_array(v)
        .then(|| {
            js_sys::Array::from(v)
                .iter()
                .map(|a| a.as_string())
                .collect::<Option<Vec<_>>>()
        })
        .flatten()
        .ok_or_else(|| {
            AuthError::new(
                crate::error::code::INVALID_CONFIG,
                msg!("`{name}` must be an array of strings"),
            )
        })
}

#[cfg(test)]
mod tests;

/// Talc instead of std's dlmalloc (its WebAssembly README's setup, for a
/// single-threaded module): 2.5 KB gzip less of .wasm, measured; the whole
/// test suite runs on it. (Not in the verifier module, which keeps dlmalloc.)
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
