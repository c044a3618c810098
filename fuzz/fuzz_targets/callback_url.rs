#![no_main]
//! The callback URL: anyone can craft one and send the user to it.
use libfuzzer_sys::fuzz_target;
use oidc_pkce::callback::{
    address_without_response, is_response_at, parse_callback_url, return_address,
    validate_authorization_response,
};
use oidc_pkce::logout::check_return_to;
use oidc_pkce::uri::request_target;
use oidc_pkce::pkce::CodeVerifier;
use oidc_pkce::transaction::{find_by_state, Transaction};

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else { return };
    // The URL readings a crafted URL reaches: a popup's arrival, a DPoP
    // target, a logout target.
    let _ = is_response_at(url, "https://app.example/cb?from=popup");
    let _ = request_target(url);
    let _ = check_return_to(url, "com.example.app://callback", Some("https://app.example"));
    // What the bindings put in the address bar after a callback: never a
    // code or a state, and never another origin.
    if let Some(clean) = address_without_response(url) {
        if let Some(path) = clean.strip_prefix('/').filter(|p| !p.starts_with(['/', '\\'])) {
            let at = ["https://app.example/", path].concat();
            assert!(!is_response_at(&at, &at), "{url:?} left {clean:?}");
        }
    }
    if let Some(to) = return_address(url, "https://app.example/cb?code=c&state=s") {
        assert!(to.starts_with('/') && !to.starts_with("//") && !to.starts_with("/\\"), "{to}");
    }
    let Ok(response) = parse_callback_url(url) else { return };
    let keys = ["oidc-pkce:tx:https%3A%2F%2Fid:app:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"];
    let _ = find_by_state(keys, "oidc-pkce:tx:https%3A%2F%2Fid:app:", response.state.as_deref());
    let tx = Transaction {
        client_id: "app".into(),
        issuer: "https://id.example.com".into(),
        redirect_uri: "com.example.app://callback".into(),
        state: "A".repeat(43),
        nonce: "B".repeat(43),
        code_verifier: CodeVerifier::from_random_bytes(&[7; 32]),
        scope: "openid".into(),
        audience: None,
        max_age: None,
        app_state: None,
        created_at_ms: 0,
        dpop_jkt: None,
    };
    let supported = data.len() % 2 == 0;
    let _ = validate_authorization_response(response, &tx, "https://id.example.com", supported);
});
