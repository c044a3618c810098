#![no_main]
//! Token endpoint, userinfo and pushed authorization (RFC 9126) responses:
//! status and body from a server that may be hostile; and what DPoP (RFC
//! 9449) reads of servers' answers (nonces, challenges) and of the URLs it
//! signs for.
use libfuzzer_sys::fuzz_target;
use oidc_pkce::dpop;
use oidc_pkce::error::http_error;
use oidc_pkce::par::parse_pushed_response;
use oidc_pkce::token::{merge_refreshed, parse_token_response};
use oidc_pkce::userinfo::parse_userinfo_response;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = 100 + u16::from_le_bytes([data[0], data[1]]) % 500;
    let Ok(body) = std::str::from_utf8(&data[2..]) else { return };
    if let Ok(first) = parse_token_response(status, body, 1_800_000_000_000, data[0] & 1 == 0, 3600) {
        if let Ok(second) = parse_token_response(status, body, u64::MAX, false, u64::MAX) {
            let _ = merge_refreshed(&first, second);
        }
    }
    let _ = parse_userinfo_response(status, body, "alice");
    let _ = parse_pushed_response(status, body);
    // DPoP: a nonce header, a WWW-Authenticate challenge, an error body, and
    // the body as a URL and a method to sign for.
    if let Some(n) = dpop::valid_nonce(body) {
        assert!(!n.contains('"') && !n.contains('\\'));
    }
    let _ = dpop::resource_asks_for_nonce(status, Some(body));
    let _ = dpop::server_asks_for_nonce(&http_error(status, body, "invalid_token_response", "token endpoint"));
    let _ = dpop::nonce_key(body);
    let key = dpop::PublicKey::from_coordinates(
        "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
        "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
    );
    if let Ok(key) = key {
        let claims = dpop::Claims { htm: body, url: body, iat_s: 1, jti: "j", nonce: Some(body), access_token: Some(body) };
        if let Ok(input) = dpop::signing_input(&key, &claims) {
            // Both halves are base64url of JSON that parses back.
            for part in input.split('.') {
                let bytes = base64_url(part);
                assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok());
            }
        }
    }
});

fn base64_url(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).expect("base64url")
}
