//! Randomness from the platform's CSPRNG: `crypto.getRandomValues` in the
//! browser (which, unlike `crypto.subtle`, exists in insecure contexts too),
//! the OS elsewhere.

use crate::error::{code, AuthError, Result};

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    // `crypto.getRandomValues` itself: getrandom's `js` backend would also
    // carry its Node.js paths (require, process, randomFillSync) into the
    // browser module.
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(buf: &mut [u8])
        -> std::result::Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>;
}

#[cfg(target_arch = "wasm32")]
fn fill(buf: &mut [u8]) -> std::result::Result<(), String> {
    get_random_values(buf)
        .map(|_| ())
        .map_err(|_| "crypto.getRandomValues is missing or failed".into())
}

#[cfg(not(target_arch = "wasm32"))]
fn fill(buf: &mut [u8]) -> std::result::Result<(), String> {
    getrandom::getrandom(buf).map_err(|e| e.to_string())
}

pub fn bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    fill(&mut buf)
        .map_err(|e| AuthError::new(code::UNSUPPORTED_PLATFORM, msg!("no secure random source: {e}")))?;
    Ok(buf)
}

/// A value for `state` or `nonce`: 256 bits, base64url (43 characters).
/// RFC 9700 §4.7.1 and OIDC Core §15.5.2 ask for values an attacker cannot guess.
pub fn token() -> Result<String> {
    Ok(crate::b64::encode(bytes::<32>()?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_43_chars_and_differ() {
        let a = super::token().unwrap();
        let b = super::token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
