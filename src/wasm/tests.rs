//! Browser tests of the exports (run in headless Chromium by
//! wasm-bindgen-test): the values that cross the seam, as the driver sees them.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

use super::{create_pkce_pair, fail, Core};
use crate::error::{code, AuthError, ServerError};
use crate::pkce::CodeVerifier;

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

fn code_of(e: &JsValue) -> String {
    get(e, "code").as_string().unwrap_or_default()
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
    // The errors the driver meets are made here too; what a rejected
    // openUrl means depends on whether it was a login's.
    assert_eq!(code_of(&fail("busy", None, None)), code::POPUP_IN_PROGRESS);
    assert_eq!(
        code_of(&fail("storage", Some("read".into()), None)),
        code::STORAGE_ERROR
    );
    assert_eq!(
        code_of(&fail("rejected", Some("x".into()), Some(true))),
        code::LOGIN_CANCELLED
    );
    assert_eq!(
        code_of(&fail("rejected", Some("x".into()), Some(false))),
        code::INVALID_CONFIG
    );
    assert_eq!(
        code_of(&fail("a kind of its own", None, None)),
        code::INVALID_CONFIG
    );
}

fn parse(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

#[wasm_bindgen_test]
fn the_store_plan_and_a_pending_login_cross_the_seam() {
    for (storage, name) in [("session", "session"), ("local", "local"), ("memory", "page")] {
        let mut core = Core::new(options(storage)).unwrap();
        let setup = core.setup(true, None).unwrap();
        assert_eq!(get(&setup, "transactions").as_string().unwrap(), name);
        assert_eq!(
            get(&setup, "issuer").as_string().unwrap(),
            "https://tenant.example.com/"
        );
        assert!(get(&setup, "id").as_string().unwrap().ends_with(":browser-test"));
        // Auth0 by `domain`: no discovery request.
        assert!(get(&setup, "discovery").is_undefined());
        let a = core.authorize(JsValue::UNDEFINED, "redirect").unwrap();
        let url = get(&a, "url").as_string().unwrap();
        assert!(
            url.starts_with("https://tenant.example.com/authorize?response_type=code&"),
            "{url}"
        );
        let pending = js_sys::Array::from(&get(&a, "pending"));
        assert!(pending.get(1).as_string().unwrap().contains("code_verifier"));
        assert_eq!(
            core.pending_keys(vec![pending.get(0).as_string().unwrap(), "other".into()])
                .len(),
            1
        );
        // A kind string the core does not know is refused, never taken for another.
        assert_eq!(
            code_of(&core.authorize(JsValue::UNDEFINED, "redirect ").err().unwrap()),
            code::INVALID_CONFIG
        );
    }
}

#[wasm_bindgen_test]
fn callbacks_without_a_matching_pending_login_are_refused_before_any_request() {
    let mut core = Core::new(options("memory")).unwrap();
    let cb = |state: &str| format!("https://app.example.com/callback?code=c&state={state}");
    let mut login = core.callback(&cb("nothing"), "redirect").unwrap();
    let err = core.claim(&mut login, Some(Vec::new())).unwrap_err();
    assert_eq!(code_of(&err), code::MISSING_TRANSACTION);
    let pending = format!("{}{}", core.client.transaction_storage_prefix(), "a".repeat(43));
    let err = core.claim(&mut login, Some(vec![pending])).unwrap_err();
    assert_eq!(code_of(&err), code::STATE_MISMATCH);
    // Two logins of one state: the page's claim is held until the first is freed.
    let mut first = core.callback(&cb("s"), "redirect").unwrap();
    let mut second = core.callback(&cb("s"), "redirect").unwrap();
    core.claim(&mut first, None).unwrap();
    assert_eq!(
        code_of(&core.claim(&mut second, None).unwrap_err()),
        code::MISSING_TRANSACTION
    );
    drop(first);
    assert!(core.claim(&mut second, None).is_ok());
    assert!(get(&core.session(), "tokens").is_null());
    assert_eq!(get(&core.session(), "authenticated").as_bool(), Some(false));
}

#[wasm_bindgen_test]
fn flights_cross_the_seam_as_start_join_and_after() {
    let core = Core::new(options("memory")).unwrap();
    let session = core.access(JsValue::UNDEFINED, None).unwrap();
    let orders = core
        .access(parse(r#"{"audience":"https://orders.example.com"}"#), None)
        .unwrap();
    let first = core.begin("refresh", &session).unwrap();
    let id = get(&first, "start").as_f64().unwrap();
    assert_eq!(
        get(&core.begin("refresh", &session).unwrap(), "join").as_f64(),
        Some(id)
    );
    assert_eq!(
        get(&core.begin("refresh", &orders).unwrap(), "after").as_f64(),
        Some(id)
    );
    core.end(id as u32);
    assert!(get(&core.begin("refresh", &orders).unwrap(), "start")
        .as_f64()
        .is_some());
    assert_eq!(
        code_of(&core.begin("unknown", &session).unwrap_err()),
        code::INVALID_CONFIG
    );
    let follow = core.following(None);
    let id = get(&follow, "start").as_f64().unwrap();
    assert_eq!(get(&core.following(None), "after").as_f64(), Some(id));
    // A change to another key of the store: nothing to follow.
    assert!(
        Reflect::get(&core.following(Some("unrelated".into())), &"start".into())
            .unwrap()
            .is_undefined()
    );
}

#[wasm_bindgen_test]
fn answers_and_requests_keep_their_fields() {
    let answer =
        parse(r#"{"status":200,"body":"{}","cacheControl":"max-age=60","dpopNonce":"n","redirected":true}"#);
    match super::convert::answer_from_js(&answer) {
        crate::http::HttpAnswer::Response(r) => {
            assert_eq!((r.status, r.body.as_deref()), (200, Some("{}")));
            assert_eq!(r.cache_control.as_deref(), Some("max-age=60"));
            assert_eq!(r.dpop_nonce.as_deref(), Some("n"));
            assert!(r.redirected);
        }
        other => panic!("{other:?}"),
    }
    let failed = parse(r#"{"failure":"Failed to fetch","timedOut":true}"#);
    assert!(matches!(
        super::convert::answer_from_js(&failed),
        crate::http::HttpAnswer::Failed { timed_out: true, .. }
    ));
    for (text, status) in [
        (r#"{"redirected":true,"status":0}"#, 0),
        (r#"{"status":307,"body":""}"#, 307),
    ] {
        assert_eq!(
            super::convert::answer_from_js(&parse(text)),
            crate::http::HttpAnswer::Redirected { status }
        );
    }
    let request = crate::http::HttpRequest::secret(
        "POST",
        "https://as.example/token",
        5000,
        code::INVALID_TOKEN_RESPONSE,
    );
    let js = super::convert::request_to_js(&request);
    assert_eq!(get(&js, "redirect").as_string().unwrap(), "manual");
    assert_eq!(get(&js, "cache").as_string().unwrap(), "no-store");
    assert_eq!(get(&js, "timeoutMs").as_f64().unwrap(), 5000.0);
    assert_eq!(get(&js, "maxBytes").as_f64().unwrap(), 1048576.0);
}

#[wasm_bindgen_test]
fn bad_options_throw_invalid_config() {
    let err = Core::new(options("cookie")).err().unwrap();
    assert_eq!(code_of(&err), code::INVALID_CONFIG);
    assert!(err.dyn_ref::<js_sys::Error>().is_some());
}
