#![no_main]
//! Token endpoint, userinfo and pushed authorization (RFC 9126) responses:
//! status and body from a server that may be hostile.
use libfuzzer_sys::fuzz_target;
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
});
