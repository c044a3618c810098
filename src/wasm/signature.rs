//! The platform's signature verifier: `crypto.subtle` where the page has it
//! (every https page, `http://localhost`, Capacitor's WebView), else the
//! pure-Rust verifier, built as its own module (`verifier/`) and fetched only
//! then. Which key and which algorithms may be used was decided by the core
//! (`id_token::begin_verification`); only the arithmetic happens here.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::http::describe;
use crate::error::{code, AuthError};
use crate::id_token::SignatureCheck;

// Imported CryptoKeys are kept (by JWK and algorithm) so that verifying again
// with the same key costs one `verify`. The fallback module is imported by a
// relative path that bundlers follow, only on the first call without
// `crypto.subtle`.
#[wasm_bindgen(module = "/src/wasm/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = verifySignature, catch)]
    fn verify_signature(alg: &str, jwk: &str, input: &[u8], signature: &[u8]) -> Result<Promise, JsValue>;
}

/// The members of the key that verification needs (a JWK's `alg`, `use` or
/// `key_ops` were checked by the core; WebCrypto would refuse some of them).
fn public_jwk(check: &SignatureCheck) -> String {
    let k = &check.jwk;
    let mut m = crate::json::Map::new();
    m.insert("kty".into(), k.kty.as_str().into());
    for (name, value) in [
        ("n", &k.n),
        ("e", &k.e),
        ("crv", &k.crv),
        ("x", &k.x),
        ("y", &k.y),
    ] {
        crate::json::put(&mut m, name, value.as_deref());
    }
    crate::json::to_string(&crate::json::Value::Object(m))
}

/// What the platform said, for the message (nothing in the production build,
/// which has no messages: see `msg!`).
fn why(e: &JsValue) -> String {
    if cfg!(feature = "terse") {
        String::new()
    } else {
        describe(e)
    }
}

/// Checks `check`'s signature: `Ok(Ok(valid))`, `Ok(Err(why))` when the
/// platform could not check it (a key it cannot import), or
/// `Err(unsupported_platform)` when no verifier could be loaded at all.
pub async fn verify(check: &SignatureCheck) -> Result<Result<bool, String>, AuthError> {
    let Some(bytes) = crate::b64::decode(&check.signature) else {
        return Ok(Err("the signature is not base64url".into()));
    };
    let answer = match verify_signature(
        &check.alg,
        &public_jwk(check),
        check.signing_input.as_bytes(),
        &bytes,
    ) {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    };
    match answer {
        Ok(v) => Ok(Ok(v.as_bool() == Some(true))),
        Err(e)
            if js_sys::Reflect::get(&e, &"name".into())
                .ok()
                .and_then(|n| n.as_string())
                .as_deref()
                == Some("VerifierLoadError") =>
        {
            Err(AuthError::new(code::UNSUPPORTED_PLATFORM, why(&e)))
        }
        Err(e) => Ok(Err(why(&e))),
    }
}
