#![no_main]
//! The JSON parser (src/json.rs) against serde_json: the same verdict on any
//! text, the same value when both accept it.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = oidc_pkce::json::check_against_serde_json(text) {
        panic!("{e}");
    }
});
