#![no_main]
//! The discovery document.
use libfuzzer_sys::fuzz_target;
use oidc_pkce::discovery::parse_discovery_document;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else { return };
    let _ = parse_discovery_document(body, "https://id.example.com", data.len() % 2 == 0);
});
