#![no_main]
//! ID tokens: parsing, key choice, signature and claim checks, against the test keys.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use oidc_pkce::crypto::verify_id_token;
use oidc_pkce::id_token::Expected;
use oidc_pkce::jwks::{parse_jwks, JwkSet};

#[path = "common.rs"]
mod common;

fn jwks() -> &'static JwkSet {
    static SET: OnceLock<JwkSet> = OnceLock::new();
    SET.get_or_init(|| parse_jwks(&common::public_jwks_json()).unwrap_or_default())
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let algs: Vec<String> = ["RS256", "PS256", "ES256"].iter().map(|s| s.to_string()).collect();
    let expected = Expected {
        issuer: common::ISS,
        client_id: common::CLIENT,
        nonce: Some("n-0S6_WzA2Mj"),
        max_age: Some(600),
        algs: &algs,
        leeway_s: 60,
        now_s: common::NOW_S,
        trusted_audiences: &["api".to_string()],
        check_expiry: data.len() % 3 != 0,
    };
    let _ = verify_id_token(token, jwks(), &expected);
});
