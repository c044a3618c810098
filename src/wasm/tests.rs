//! Browser tests of the glue (run in headless Chromium by wasm-bindgen-test).

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

use super::client::AuthClient;
use super::create_pkce_pair;
use super::storage::KvStore;

async fn create_auth_client(options: JsValue) -> Result<AuthClient, JsValue> {
    super::client::create(options).await.map_err(JsValue::from)
}
use crate::config::StorageKind;
use crate::error::{code, AuthError, ServerError};
use crate::pkce::CodeVerifier;
use crate::transaction::key_prefix;

wasm_bindgen_test_configure!(run_in_browser);

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap()
}

fn options(storage: &str) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in [
        ("domain", "tenant.example.com"),
        ("clientId", "browser-test"),
        ("redirectUri", "https://app.example.com/callback"),
        ("transactionStorage", storage),
    ] {
        Reflect::set(&o, &k.into(), &v.into()).unwrap();
    }
    o.into()
}

#[wasm_bindgen_test]
fn pkce_pair_uses_the_browser_rng_and_s256() {
    let pair = create_pkce_pair().unwrap();
    let verifier = get(&pair, "codeVerifier").as_string().unwrap();
    let challenge = get(&pair, "codeChallenge").as_string().unwrap();
    assert_eq!(verifier.len(), 43);
    assert_eq!(get(&pair, "codeChallengeMethod").as_string().unwrap(), "S256");
    assert_eq!(
        CodeVerifier::parse(&verifier).unwrap().challenge().as_str(),
        challenge
    );
    let other = get(&create_pkce_pair().unwrap(), "codeVerifier")
        .as_string()
        .unwrap();
    assert_ne!(verifier, other);
}

/// The browser build uses sha2's compact compression function
/// (Cargo.toml): held to the RFC 7636 Appendix B pair and to FIPS 180-2's
/// one-million-"a" vector (many blocks) here, in the browser.
#[wasm_bindgen_test]
fn sha256_in_the_browser_build_matches_the_known_answers() {
    use sha2::{Digest, Sha256};
    let verifier = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
    assert_eq!(
        verifier.challenge().as_str(),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let digest = Sha256::digest(vec![b'a'; 1_000_000]);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );
}

#[wasm_bindgen_test]
fn auth_errors_become_js_errors_with_stable_fields() {
    let server = ServerError {
        error: "invalid_grant".into(),
        error_description: Some("grant request is invalid".into()),
        error_uri: None,
    };
    let js: JsValue = AuthError::from_server(server, Some(400), code::INVALID_TOKEN_RESPONSE).into();
    assert!(js.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&js, "name").as_string().unwrap(), "AuthError");
    assert_eq!(get(&js, "code").as_string().unwrap(), "invalid_grant");
    assert_eq!(get(&js, "error").as_string().unwrap(), "invalid_grant");
    assert_eq!(
        get(&js, "errorDescription").as_string().unwrap(),
        "grant request is invalid"
    );
    assert_eq!(get(&js, "status").as_f64().unwrap(), 400.0);
    let plain: JsValue = AuthError::new(code::STATE_MISMATCH, "no").into();
    assert!(get(&plain, "error").is_undefined());
    assert!(get(&plain, "status").is_undefined());
}

#[wasm_bindgen_test]
async fn every_store_kind_round_trips() {
    for kind in [StorageKind::Session, StorageKind::Local, StorageKind::Memory] {
        let store = KvStore::open_web(kind).unwrap();
        let key = format!("oidc-pkce-test:{kind:?}");
        store.set(&key, "value").await.unwrap();
        assert_eq!(
            store.get(&key).await.unwrap().as_deref(),
            Some("value"),
            "{kind:?}"
        );
        assert!(store.keys().await.unwrap().unwrap().contains(&key), "{kind:?}");
        store.remove(&key).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), None, "{kind:?}");
    }
}

async fn await_promise(p: js_sys::Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

#[wasm_bindgen_test]
async fn authorize_url_stores_the_transaction_where_configured() {
    for (storage, kind) in [
        ("session", StorageKind::Session),
        ("local", StorageKind::Local),
        ("memory", StorageKind::Memory),
    ] {
        let client = create_auth_client(options(storage)).await.unwrap();
        let url = await_promise(client.build_authorize_url(JsValue::UNDEFINED))
            .await
            .unwrap()
            .as_string()
            .unwrap();
        assert!(
            url.starts_with("https://tenant.example.com/authorize?response_type=code&"),
            "{url}"
        );
        let state = url
            .split("&state=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_string();
        let key = format!(
            "{}{}",
            key_prefix("https://tenant.example.com/", "browser-test"),
            state
        );
        let store = KvStore::open_web(kind).unwrap();
        let stored = store.get(&key).await.unwrap();
        assert!(stored.is_some_and(|s| s.contains("code_verifier")), "{storage}");
        store.remove(&key).await.unwrap();
    }
}

#[wasm_bindgen_test]
async fn callbacks_without_a_matching_transaction_are_refused_before_any_request() {
    let client = create_auth_client(options("memory")).await.unwrap();
    let cb = |state: &str| Some(format!("https://app.example.com/callback?code=c&state={state}"));
    let err = await_promise(client.handle_redirect_callback(cb("nothing")))
        .await
        .unwrap_err();
    assert_eq!(get(&err, "code").as_string().unwrap(), "missing_transaction");

    await_promise(client.build_authorize_url(JsValue::UNDEFINED))
        .await
        .unwrap();
    let err = await_promise(client.handle_redirect_callback(cb(&"x".repeat(43))))
        .await
        .unwrap_err();
    assert_eq!(get(&err, "code").as_string().unwrap(), "state_mismatch");
    assert!(client.get_tokens().unwrap().is_null());
}

#[wasm_bindgen_test]
async fn bad_options_reject_with_invalid_config() {
    let o = options("cookie");
    let err = create_auth_client(o).await.err().unwrap();
    assert_eq!(get(&err, "code").as_string().unwrap(), "invalid_config");
    assert!(err.dyn_ref::<js_sys::Error>().is_some());
}
