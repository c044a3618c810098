//! Whole flows under `cargo test`: the client driven step by step as the JS
//! driver drives it (js/driver/client.js), with a storage map and recorded
//! provider answers instead of the platform, and the pure-Rust verifier for
//! signatures. Each flow also has its hostile rows.

use serde_json::{json, Value as Json};

use super::access::{AccessPlan, RefreshPlan, Refreshed, Shared};
use super::keys::{Input, Step, Verification};
use super::login::LoginKind;
use super::logout::Revocation;
use super::restore::Restore;
use super::*;
use crate::config::ClientOptions;
use crate::http::HttpResponse;
use crate::test_support::{private_jwk, sign};
use crate::uri::Uri;

const ISS: &str = "https://id.example.com";
const APP: &str = "https://app.example.com/cb";
const NOW_MS: u64 = 1_800_000_000_000;
const NOW: u64 = NOW_MS / 1000;

fn options(extra: impl FnOnce(&mut ClientOptions)) -> ClientOptions {
    let mut o = ClientOptions {
        issuer: Some(ISS.into()),
        client_id: Some("app".into()),
        redirect_uri: Some(APP.into()),
        ..Default::default()
    };
    extra(&mut o);
    o
}

fn answer(status: u16, body: impl Into<String>) -> HttpAnswer {
    HttpAnswer::Response(HttpResponse {
        status,
        body: Some(body.into()),
        ..Default::default()
    })
}

fn discovery_document(extra: Json) -> String {
    let mut doc = json!({
        "issuer": ISS,
        "authorization_endpoint": format!("{ISS}/auth"),
        "token_endpoint": format!("{ISS}/token"),
        "userinfo_endpoint": format!("{ISS}/me"),
        "jwks_uri": format!("{ISS}/jwks"),
        "end_session_endpoint": format!("{ISS}/session/end"),
        "revocation_endpoint": format!("{ISS}/token/revocation"),
        "pushed_authorization_request_endpoint": format!("{ISS}/request"),
        "authorization_response_iss_parameter_supported": true,
        "code_challenge_methods_supported": ["S256"],
    });
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc.to_string()
}

fn jwks_body() -> String {
    let public = |name: &str| {
        let mut k = private_jwk(name);
        for p in ["d", "p", "q", "dp", "dq", "qi"] {
            k.as_object_mut().unwrap().remove(p);
        }
        k
    };
    json!({ "keys": [public("rsa"), public("ec")] }).to_string()
}

fn id_token(nonce: Option<&str>, sub: &str) -> String {
    let mut claims =
        json!({"iss": ISS, "sub": sub, "aud": "app", "exp": NOW + 600, "iat": NOW - 5, "name": "Alice"});
    if let Some(n) = nonce {
        claims["nonce"] = n.into();
    }
    sign("rsa", json!({}), &claims)
}

/// What the JS driver holds: the storage and the provider's answers, in order.
struct Driver {
    client: Client,
    tokens: Vec<(String, String)>,
    transactions: Vec<(String, String)>,
    events: Vec<&'static str>,
    /// Requests sent, in order.
    sent: Vec<HttpRequest>,
    /// The provider's answers to the requests, in order.
    answers: Vec<HttpAnswer>,
}

impl Driver {
    /// A client in a new page.
    fn new(o: ClientOptions) -> Driver {
        super::new_page();
        Driver {
            client: Client::new(o, StorageOption::Default, StorageOption::Named("local".into())).unwrap(),
            tokens: Vec::new(),
            transactions: Vec::new(),
            events: Vec::new(),
            sent: Vec::new(),
            answers: Vec::new(),
        }
    }

    fn get(&self, key: &str) -> Option<String> {
        self.tokens.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    fn set(&mut self, key: String, value: String) {
        self.tokens.retain(|(k, _)| *k != key);
        self.tokens.push((key, value));
    }

    fn http(&mut self, request: HttpRequest) -> HttpAnswer {
        self.sent.push(request);
        assert!(
            !self.answers.is_empty(),
            "no recorded answer for {:?}",
            self.sent.last()
        );
        self.answers.remove(0)
    }

    fn apply(&mut self, e: Effects) -> Result<()> {
        for (k, v) in e.set {
            self.set(k, v);
        }
        for k in e.remove {
            self.tokens.retain(|(key, _)| *key != k);
        }
        if let Some(event) = e.emit {
            self.events.push(event);
        }
        match e.error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// `createAuthClient`: discovery, an offline start, the stored session.
    fn create(&mut self) -> Result<()> {
        if let Some(request) = self.client.discovery_request()? {
            let a = self.http(request);
            match self.client.discovered(a)? {
                Discovered::Ready { keep } => {
                    if let Some((k, v)) = keep {
                        self.set(k, v);
                    }
                }
                Discovered::Offline {
                    session_key,
                    document_key,
                } => {
                    let (s, d) = (self.get(&session_key), self.get(&document_key));
                    self.client.start_offline(s.as_deref(), d.as_deref())?;
                }
            }
        }
        let (key, legacy) = self.client.restore_keys();
        let r = self.client.restore(self.get(&key), self.get(&legacy));
        if let Restore::Verify {
            effects,
            mut verification,
            ..
        } = r
        {
            self.apply(effects)?;
            let adopted = self
                .verify(&mut verification)
                .and_then(|_| self.client.adopt(&mut verification, NOW_MS));
            match adopted {
                Ok((e, _)) => self.apply(e)?,
                Err(e) => {
                    let failed = self.client.failed(Failed::Restore, &e);
                    self.apply(failed)?;
                }
            }
        }
        Ok(())
    }

    fn verify(&mut self, v: &mut Verification) -> Result<()> {
        let (mut step, mut keep) = self.client.verify_step(v, Input::Start, NOW_MS)?;
        loop {
            if let Some((k, value)) = keep.take() {
                match value {
                    Some(value) => self.set(k, value),
                    None => self.tokens.retain(|(key, _)| *key != k),
                }
            }
            let input = match step {
                Step::Done => return Ok(()),
                Step::Read(key) => Input::Stored(self.get(&key)),
                Step::Fetch(request) => Input::Fetched(self.http(request)),
                Step::Check(check) => Input::Signed(crate::crypto::verify_signature(&check)),
            };
            (step, keep) = self.client.verify_step(v, input, NOW_MS)?;
        }
    }

    /// Sends with the client's DPoP nonce rule: once more when it says so.
    fn send(&mut self, build: impl Fn(&Client) -> Result<HttpRequest>) -> Result<HttpAnswer> {
        for attempt in 0.. {
            let request = build(&self.client)?;
            let (url, proof, resource) = (
                request.url.clone(),
                request.dpop_input.is_some(),
                request.authorization.is_some(),
            );
            let a = self.http(request);
            if !self.client.retry_with_nonce(&url, proof, resource, &a, attempt) {
                return Ok(a);
            }
        }
        unreachable!()
    }

    /// `buildAuthorizeUrl`: the URL, the pending login stored.
    fn authorize(&mut self, opts: crate::authorize::AuthorizeOptions) -> Result<String> {
        self.authorize_as(opts, LoginKind::Redirect)
    }

    fn authorize_as(&mut self, opts: crate::authorize::AuthorizeOptions, kind: LoginKind) -> Result<String> {
        let a = self.client.authorize(opts, kind, NOW_MS)?;
        let url = match a.push {
            Some(push) => {
                let answer = self.http(push);
                self.client.pushed(answer)?
            }
            None => a.url.unwrap_or_default(),
        };
        self.transactions.push(a.pending);
        Ok(url)
    }

    /// The provider's redirect back for the login started at `url`.
    fn callback_for(url: &str, code: &str) -> String {
        let state = Uri::parse(url)
            .unwrap()
            .query_pairs()
            .into_iter()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v)
            .unwrap();
        format!("{APP}?code={code}&state={state}&iss=https%3A%2F%2Fid.example.com")
    }

    /// `handleRedirectCallback`: take the pending login, exchange, verify, adopt.
    fn finish_login(&mut self, url: &str, kind: LoginKind) -> Result<Option<String>> {
        let mut login = self.client.callback(url, kind)?;
        self.client.claim(&mut login)?;
        let keys: Vec<String> = self.transactions.iter().map(|(k, _)| k.clone()).collect();
        let taken = self.client.pending_key(&login, Some(&keys)).and_then(|key| {
            let value = self
                .transactions
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone());
            self.transactions.retain(|(k, _)| *k != key);
            self.client.take_pending(&mut login, value.as_deref(), NOW_MS)
        });
        self.client.release(&mut login);
        taken?;
        let finished = (|| {
            let a = self.send(|c| c.token_request(&login, NOW_MS))?;
            let mut v = self.client.exchanged(&mut login, a, NOW_MS)?;
            self.verify(&mut v)?;
            let (effects, app_state) = self.client.adopt(&mut v, NOW_MS)?;
            self.apply(effects)?;
            Ok(app_state)
        })();
        if finished.is_err() {
            let failed = self.client.login_failed(&login);
            let _ = self.apply(failed);
        }
        finished
    }

    /// A whole login: discovery, authorization, the provider's answers, the callback.
    fn login(&mut self, token_response: Json) -> Result<Option<String>> {
        let url = self.authorize(crate::authorize::AuthorizeOptions {
            app_state: Some(r#"{"to":"/inbox"}"#.into()),
            ..Default::default()
        })?;
        let nonce = self
            .client
            .stored_nonce(&self.transactions[0].1)
            .unwrap_or_default();
        let mut body = token_response;
        if body.get("id_token").is_none() {
            body["id_token"] = id_token(Some(&nonce), "alice").into();
        }
        self.answers.push(answer(200, body.to_string()));
        self.answers.push(answer(200, jwks_body()));
        self.finish_login(&Driver::callback_for(&url, "the-code"), LoginKind::Redirect)
    }

    /// `getAccessToken` through a refresh (under the lock, as refresh_locked).
    fn refresh(&mut self, only_if_stale: bool) -> Result<()> {
        self.refresh_for(only_if_stale, None)
    }

    /// The same for an API's token (`api`), or the session's own (`None`).
    fn refresh_for(&mut self, only_if_stale: bool, api: Option<crate::api::ApiKey>) -> Result<()> {
        let key = self.client.session_storage_key();
        match self.client.shared(None, self.get(&key)) {
            Shared::Same => {}
            Shared::Ended(e) => self.apply(e)?,
            Shared::Verify(mut v) => {
                self.verify(&mut v)?;
                self.client.adopt(&mut v, NOW_MS)?;
            }
        }
        if self.client.refresh_plan(only_if_stale, api.as_ref(), NOW_MS)? == RefreshPlan::Fresh {
            return Ok(());
        }
        let mut attempt = 0;
        let a = loop {
            let a = self.send(|c| c.refresh_request(None, api.as_ref(), NOW_MS))?;
            match self.client.refresh_retry_ms(&a, attempt) {
                Some(_) => attempt += 1,
                None => break a,
            }
        };
        match self.client.refreshed(a, api, NOW_MS)? {
            Refreshed::Stored(e) => self.apply(e),
            Refreshed::Verify(mut v) => {
                self.verify(&mut v)?;
                let (e, _) = self.client.adopt(&mut v, NOW_MS)?;
                self.apply(e)
            }
        }
    }
}

impl Driver {
    /// Another tab changed the stored session (a `storage` event): follow it,
    /// as the driver's `follow`.
    fn notify(&mut self) -> Result<()> {
        let key = self.client.session_storage_key();
        match self.client.notified(self.get(&key)) {
            Shared::Same => Ok(()),
            Shared::Ended(e) => self.apply(e),
            Shared::Verify(mut v) => {
                self.verify(&mut v)?;
                let (e, _) = self.client.adopt(&mut v, NOW_MS)?;
                self.apply(e)
            }
        }
    }
}

impl Client {
    /// The nonce of a stored pending login (test helper).
    fn stored_nonce(&self, stored: &str) -> Option<String> {
        crate::transaction::Transaction::from_stored(stored)
            .ok()
            .map(|t| t.nonce)
    }
}

fn signed_in() -> Driver {
    let mut d = Driver::new(options(|_| {}));
    d.answers.push(answer(200, discovery_document(json!({}))));
    d.create().unwrap();
    let app_state = d
        .login(json!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-1"}))
        .unwrap();
    assert_eq!(app_state.as_deref(), Some(r#"{"to":"/inbox"}"#));
    d
}

#[test]
fn login_exchanges_the_code_once_and_verifies_the_id_token() {
    let d = signed_in();
    assert_eq!(d.events, ["signed_in"]);
    assert!(d.transactions.is_empty(), "the pending login was consumed");
    // Discovery, the code exchange, the key set (fetched: none stored yet).
    let urls: Vec<&str> = d.sent.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://id.example.com/.well-known/openid-configuration",
            "https://id.example.com/token",
            "https://id.example.com/jwks"
        ]
    );
    let exchange = &d.sent[1];
    assert_eq!(exchange.redirects, crate::http::Redirects::Refuse);
    let body = exchange.body.as_deref().unwrap();
    for part in [
        "grant_type=authorization_code",
        "code=the-code",
        "client_id=app",
        "code_verifier=",
    ] {
        assert!(body.contains(part), "{body}");
    }
    assert_eq!(
        d.client.tokens().unwrap().get("accessToken"),
        Some(&Value::from("at-1"))
    );
    assert_eq!(
        d.client.tokens().unwrap().get("refreshToken"),
        None,
        "kept inside"
    );
    let stored = d.get(&d.client.session_storage_key()).unwrap();
    assert!(stored.contains("rt-1"));
    assert!(
        d.get("oidc-pkce:discovery:https%3A%2F%2Fid.example.com")
            .is_some(),
        "kept for an offline start"
    );
}

#[test]
fn a_callback_works_once_and_only_for_its_own_state() {
    let mut d = signed_in();
    let url = d.authorize(Default::default()).unwrap();
    // Another state, with this login pending: state_mismatch, and it stays pending.
    let forged = format!(
        "{APP}?code=x&state={}&iss=https%3A%2F%2Fid.example.com",
        "A".repeat(43)
    );
    let e = d.finish_login(&forged, LoginKind::Redirect).unwrap_err();
    assert_eq!(e.code(), code::STATE_MISMATCH);
    assert_eq!(d.transactions.len(), 1);
    assert!(
        d.client.is_authenticated(NOW_MS),
        "a crafted link cannot sign the user out"
    );
    // The real callback, twice: the second finds no pending login, sends nothing.
    let real = Driver::callback_for(&url, "c2");
    d.answers.push(answer(400, r#"{"error":"invalid_grant"}"#));
    assert_eq!(
        d.finish_login(&real, LoginKind::Redirect).unwrap_err().code(),
        "invalid_grant"
    );
    let sent = d.sent.len();
    let again = d.finish_login(&real, LoginKind::Redirect).unwrap_err();
    assert_eq!(again.code(), code::MISSING_TRANSACTION);
    assert_eq!(d.sent.len(), sent, "no second exchange");
    assert!(
        !d.client.is_authenticated(NOW_MS),
        "a redirect login that failed leaves no session"
    );
}

#[test]
fn a_claimed_state_cannot_be_taken_twice_at_once() {
    let d = signed_in();
    let mut client = d.client;
    let url = format!("{APP}?code=c&state={}", "B".repeat(43));
    let mut first = client.callback(&url, LoginKind::Redirect).unwrap();
    let mut second = client.callback(&url, LoginKind::Redirect).unwrap();
    client.claim(&mut first).unwrap();
    assert_eq!(
        client.claim(&mut second).unwrap_err().code(),
        code::MISSING_TRANSACTION
    );
    client.release(&mut first);
    assert!(client.claim(&mut second).is_ok());
    client.release(&mut second);
    // A refused claim (no pending login with that state) is released at once.
    let none: &[String] = &[];
    assert_eq!(
        client.claim_pending(&mut first, Some(none)).unwrap_err().code(),
        code::MISSING_TRANSACTION
    );
    assert!(client.claim(&mut second).is_ok(), "nothing left claimed");
}

#[test]
fn hostile_token_responses_are_refused_and_leave_no_session() {
    for (response, want) in [
        (
            HttpAnswer::Redirected { status: 307 },
            code::INVALID_TOKEN_RESPONSE,
        ),
        (answer(200, "<html>"), code::INVALID_TOKEN_RESPONSE),
        (
            HttpAnswer::Failed {
                timed_out: true,
                detail: String::new(),
            },
            code::TIMEOUT,
        ),
    ] {
        let mut d = Driver::new(options(|_| {}));
        d.answers.push(answer(200, discovery_document(json!({}))));
        d.create().unwrap();
        let url = d.authorize(Default::default()).unwrap();
        d.answers.push(response);
        let e = d
            .finish_login(&Driver::callback_for(&url, "c"), LoginKind::Redirect)
            .unwrap_err();
        assert_eq!(e.code(), want);
        assert!(d.client.tokens().is_none());
    }
    // An ID token for another nonce.
    let mut d = Driver::new(options(|_| {}));
    d.answers.push(answer(200, discovery_document(json!({}))));
    d.create().unwrap();
    let e = d
        .login(json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token(Some("other"), "alice")}))
        .unwrap_err();
    assert_eq!((e.code(), e.reason()), (code::INVALID_ID_TOKEN, Some("nonce")));
}

#[test]
fn refresh_rotates_the_refresh_token_and_keeps_the_subject() {
    let mut d = signed_in();
    assert_eq!(
        d.client.access_plan(false, None, NOW_MS).unwrap(),
        AccessPlan::Use("at-1".into())
    );
    assert_eq!(
        d.client.access_plan(true, None, NOW_MS).unwrap(),
        AccessPlan::Refresh
    );
    d.answers.push(answer(
        200,
        json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-2",
               "id_token": id_token(None, "alice")})
        .to_string(),
    ));
    d.refresh(false).unwrap();
    assert_eq!(d.events, ["signed_in", "refreshed"]);
    let body = d.sent.last().unwrap().body.clone().unwrap();
    assert!(
        body.contains("grant_type=refresh_token") && body.contains("refresh_token=rt-1"),
        "{body}"
    );
    let stored = d.get(&d.client.session_storage_key()).unwrap();
    assert!(
        stored.contains("rt-2") && !stored.contains("rt-1"),
        "the rotated token replaced the old one"
    );
    assert_eq!(d.client.access_token(true, None).unwrap(), "at-2");

    // §12.2: a refreshed ID token for another subject is refused whole.
    d.answers.push(answer(
        200,
        json!({"access_token": "at-3", "token_type": "Bearer", "id_token": id_token(None, "mallory")})
            .to_string(),
    ));
    let e = d.refresh(false).unwrap_err();
    assert_eq!((e.code(), e.reason()), (code::INVALID_ID_TOKEN, Some("sub")));
    assert_eq!(
        d.client.access_token(true, None).unwrap(),
        "at-2",
        "the session stays as it was"
    );

    // No answer: tried three times in all, then network_error; the session stays.
    for _ in 0..3 {
        d.answers.push(HttpAnswer::Failed {
            timed_out: false,
            detail: "offline".into(),
        });
    }
    assert_eq!(d.refresh(false).unwrap_err().code(), code::NETWORK_ERROR);
    assert!(d.client.is_authenticated(NOW_MS));

    // invalid_grant: the session is over.
    d.answers.push(answer(
        400,
        r#"{"error":"invalid_grant","error_description":"reused"}"#,
    ));
    let e = d.refresh(false).unwrap_err();
    assert_eq!(
        (e.code(), e.server().map(|s| s.error.as_str())),
        (code::LOGIN_REQUIRED, Some("invalid_grant"))
    );
    assert_eq!(d.events.last(), Some(&"signed_out"));
    assert!(d.get(&d.client.session_storage_key()).is_none());
}

#[test]
fn another_tabs_session_is_taken_up_and_an_ended_one_ends_here() {
    let mut d = signed_in();
    let key = d.client.session_storage_key();
    // Another tab refreshed: its session (a new access token) is the newer truth.
    let theirs = d.get(&key).unwrap().replace("at-1", "at-other-tab");
    d.set(key.clone(), theirs);
    d.answers.push(answer(200, jwks_body()));
    let fresh = d.client.refresh_plan(true, None, NOW_MS);
    assert_eq!(fresh.unwrap(), RefreshPlan::Fresh);
    d.refresh(true).unwrap();
    assert_eq!(d.client.access_token(true, None).unwrap(), "at-other-tab");
    // Another tab signed out.
    d.tokens.retain(|(k, _)| *k != key);
    assert_eq!(d.refresh(true).unwrap_err().code(), code::LOGIN_REQUIRED);
    assert!(!d.client.is_authenticated(NOW_MS));
}

fn form(request: &HttpRequest) -> Vec<(String, String)> {
    // (The crate's own decoder: form_urlencoded is a host-only dev-dependency,
    // and these flows run in wasm32 tests too.)
    crate::uri::form_decode_pairs(request.body.as_deref().unwrap_or_default())
}

fn api(d: &Driver, audience: &str, scope: Option<&str>) -> crate::api::ApiKey {
    crate::api::ApiKey::asked(&d.client.config, Some(audience), scope)
        .unwrap()
        .unwrap()
}

#[test]
fn a_token_per_api_comes_with_the_refresh_token_and_never_replaces_the_sessions() {
    let mut d = signed_in();
    let orders = api(&d, "https://orders.example.com", None);
    let billing = api(&d, "https://billing.example.com", Some("read:invoices"));
    assert_eq!(
        d.client.access_plan(false, Some(&orders), NOW_MS).unwrap(),
        AccessPlan::Refresh
    );
    d.answers.push(answer(
        200,
        json!({"access_token": "orders-1", "token_type": "Bearer", "expires_in": 600, "refresh_token": "rt-2"})
            .to_string(),
    ));
    d.refresh_for(true, Some(orders.clone())).unwrap();
    let sent = form(d.sent.last().unwrap());
    for (k, v) in [
        ("grant_type", "refresh_token"),
        ("refresh_token", "rt-1"),
        ("audience", "https://orders.example.com"),
    ] {
        assert!(sent.contains(&(k.into(), v.into())), "{k} in {sent:?}");
    }
    assert_eq!(
        d.client.access_plan(false, Some(&orders), NOW_MS).unwrap(),
        AccessPlan::Use("orders-1".into())
    );
    assert_eq!(
        d.client.access_plan(false, None, NOW_MS).unwrap(),
        AccessPlan::Use("at-1".into()),
        "the session's own token stays"
    );
    assert_eq!(d.events, ["signed_in", "refreshed"]);
    // The second API, with a scope of its own; the rotated refresh token is the one sent.
    d.answers.push(answer(
        200,
        json!({"access_token": "billing-1", "token_type": "Bearer", "expires_in": 600, "scope": "openid read:invoices",
               "id_token": id_token(None, "alice")})
        .to_string(),
    ));
    d.refresh_for(true, Some(billing.clone())).unwrap();
    let sent = form(d.sent.last().unwrap());
    assert!(
        sent.contains(&("refresh_token".into(), "rt-2".into())),
        "{sent:?}"
    );
    assert!(
        sent.contains(&("scope".into(), "openid read:invoices".into())),
        "{sent:?}"
    );
    assert_eq!(d.client.access_token(true, Some(&billing)).unwrap(), "billing-1");
    assert_eq!(d.client.access_token(true, Some(&orders)).unwrap(), "orders-1");
    // Kept with the session: a new page has them.
    let mut next = Driver::new(options(|_| {}));
    next.tokens = d.tokens.clone();
    next.answers.push(answer(200, discovery_document(json!({}))));
    next.answers.push(answer(200, jwks_body()));
    next.create().unwrap();
    assert_eq!(
        next.client.access_plan(false, Some(&orders), NOW_MS).unwrap(),
        AccessPlan::Use("orders-1".into())
    );
    // Expired: refreshed again (one refresh token for all).
    assert_eq!(
        d.client
            .access_plan(false, Some(&orders), NOW_MS + 600_000)
            .unwrap(),
        AccessPlan::Refresh
    );
    // §12.2: an ID token of another subject refuses the whole answer.
    d.answers.push(answer(
        200,
        json!({"access_token": "orders-2", "token_type": "Bearer", "refresh_token": "rt-3",
               "id_token": id_token(None, "mallory")})
        .to_string(),
    ));
    let e = d.refresh_for(false, Some(orders.clone())).unwrap_err();
    assert_eq!((e.code(), e.reason()), (code::INVALID_ID_TOKEN, Some("sub")));
    assert_eq!(d.client.access_token(true, Some(&orders)).unwrap(), "orders-1");
    // A provider refusing this API (RFC 8707 §2: invalid_target) leaves the session.
    d.answers.push(answer(400, r#"{"error":"invalid_target"}"#));
    assert_eq!(
        d.refresh_for(false, Some(orders.clone())).unwrap_err().code(),
        "invalid_target"
    );
    assert!(d.client.is_authenticated(NOW_MS));
    // A spent refresh token ends the session, every API's token with it.
    d.answers.push(answer(400, r#"{"error":"invalid_grant"}"#));
    assert_eq!(
        d.refresh_for(false, Some(orders.clone())).unwrap_err().code(),
        code::LOGIN_REQUIRED
    );
    assert!(d.get(&d.client.session_storage_key()).is_none());
    assert_eq!(
        d.client
            .access_plan(false, Some(&orders), NOW_MS)
            .unwrap_err()
            .code(),
        code::LOGIN_REQUIRED
    );
}

#[test]
fn resource_indicators_name_every_api_at_login_and_one_per_token_request() {
    let mut d = Driver::new(options(|o| {
        o.api_parameter = Some("resource".into());
        o.audience = Some("https://orders.example.com/".into());
        o.apis = Some(vec!["https://billing.example.com/".into()]);
    }));
    d.answers.push(answer(200, discovery_document(json!({}))));
    d.create().unwrap();
    let url = d.authorize(Default::default()).unwrap();
    let resources: Vec<String> = Uri::parse(&url)
        .unwrap()
        .query_pairs()
        .into_iter()
        .filter(|(k, _)| k == "resource")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(
        resources,
        ["https://orders.example.com/", "https://billing.example.com/"]
    );
    assert!(!url.contains("audience="), "{url}");
    d.transactions.clear();
    d.login(json!({"access_token": "orders-0", "token_type": "Bearer", "refresh_token": "rt-1"}))
        .unwrap();
    let exchange = form(&d.sent[d.sent.len() - 2]);
    assert!(
        exchange.contains(&("resource".into(), "https://orders.example.com/".into())),
        "RFC 8707 §2.2: {exchange:?}"
    );
    let billing = api(&d, "https://billing.example.com/", None);
    d.answers.push(answer(
        200,
        json!({"access_token": "billing-1", "token_type": "Bearer", "refresh_token": "rt-2"}).to_string(),
    ));
    d.refresh_for(true, Some(billing.clone())).unwrap();
    let sent = form(d.sent.last().unwrap());
    assert!(
        sent.contains(&("resource".into(), "https://billing.example.com/".into())),
        "{sent:?}"
    );
    assert_eq!(d.client.access_token(true, Some(&billing)).unwrap(), "billing-1");
    assert_eq!(d.client.access_token(true, None).unwrap(), "orders-0");
    // An API's own silent authentication names that API only.
    let url = d
        .authorize_as(
            crate::authorize::AuthorizeOptions {
                audience: Some("https://billing.example.com/".into()),
                prompt: Some("none".into()),
                ..Default::default()
            },
            LoginKind::Api,
        )
        .unwrap();
    assert_eq!(url.matches("resource=").count(), 1, "{url}");
    // Not a resource indicator: refused before anything is sent.
    assert_eq!(
        crate::api::ApiKey::asked(&d.client.config, Some("billing"), None)
            .unwrap_err()
            .code(),
        code::INVALID_CONFIG
    );
}

#[test]
fn without_a_refresh_token_an_apis_token_comes_by_silent_authentication_for_the_same_user_only() {
    let mut d = Driver::new(options(|_| {}));
    d.answers.push(answer(200, discovery_document(json!({}))));
    d.create().unwrap();
    d.login(json!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600}))
        .unwrap();
    let orders = api(&d, "https://orders.example.com", None);
    assert_eq!(
        d.client.access_plan(false, Some(&orders), NOW_MS).unwrap(),
        AccessPlan::Renew
    );
    let renew = |d: &mut Driver, sub: &str| {
        d.transactions.clear();
        let url = d
            .authorize_as(
                crate::authorize::AuthorizeOptions {
                    audience: Some("https://orders.example.com".into()),
                    prompt: Some("none".into()),
                    ..Default::default()
                },
                LoginKind::Api,
            )
            .unwrap();
        assert!(url.contains("audience=https%3A%2F%2Forders.example.com"), "{url}");
        let nonce = d.client.stored_nonce(&d.transactions[0].1).unwrap();
        d.answers.push(answer(
            200,
            json!({"access_token": format!("orders-{sub}"), "token_type": "Bearer", "id_token": id_token(Some(&nonce), sub)})
                .to_string(),
        ));
        d.finish_login(&Driver::callback_for(&url, "c"), LoginKind::Api)
    };
    let e = renew(&mut d, "bob").unwrap_err();
    assert_eq!((e.code(), e.reason()), (code::LOGIN_REQUIRED, Some("sub")));
    assert_eq!(
        d.client.access_plan(false, Some(&orders), NOW_MS).unwrap(),
        AccessPlan::Renew,
        "bob's token is not kept"
    );
    renew(&mut d, "alice").unwrap();
    assert_eq!(
        d.client.access_plan(false, Some(&orders), NOW_MS).unwrap(),
        AccessPlan::Use("orders-alice".into())
    );
    assert_eq!(d.client.access_token(true, None).unwrap(), "at-1");
    assert_eq!(d.events, ["signed_in", "refreshed"]);
}

#[test]
fn tabs_agree_a_sign_in_refresh_user_switch_and_sign_out_elsewhere_are_followed() {
    let a = signed_in();
    let key = a.client.session_storage_key();
    let alices = a.get(&key).unwrap();
    let alice_raw = a.client.id_token_claims().unwrap()["__raw"]
        .as_str()
        .unwrap()
        .to_string();
    // Tab B, open before tab A signed in: no session yet.
    let mut b = Driver::new(options(|_| {}));
    b.answers.push(answer(200, discovery_document(json!({}))));
    b.create().unwrap();
    assert!(!b.client.is_authenticated(NOW_MS));
    // Storage events: B reads what A stored; the stored session is verified
    // against the key set the provider serves (fetched once by this page;
    // once more when a signature fails).
    b.tokens = a.tokens.clone();
    for _ in 0..3 {
        b.answers.push(answer(200, jwks_body()));
    }
    b.notify().unwrap();
    assert_eq!(b.events, ["signed_in"]);
    assert_eq!(b.client.access_token(true, None).unwrap(), "at-1");
    assert!(
        b.tokens.iter().any(|t| *t == (key.clone(), alices.clone())),
        "the session is not written back"
    );
    // The same value again (an adapter that notifies its own writes): nothing.
    b.notify().unwrap();
    assert_eq!(b.events, ["signed_in"]);
    // A refreshed.
    b.set(key.clone(), alices.replace("at-1", "at-2"));
    b.notify().unwrap();
    assert_eq!(b.events, ["signed_in", "refreshed"]);
    assert_eq!(b.client.access_token(true, None).unwrap(), "at-2");
    // Hostile rows: garbage, and a session whose ID token was tampered with,
    // leave B as it is.
    b.set(key.clone(), "{not json".into());
    b.notify().unwrap();
    let mut forged = alice_raw.clone();
    forged.pop();
    forged.push(if alice_raw.ends_with('A') { 'B' } else { 'A' });
    b.set(
        key.clone(),
        alices.replace(&alice_raw, &forged).replace("at-1", "at-forged"),
    );
    assert_eq!(b.notify().unwrap_err().code(), code::INVALID_ID_TOKEN);
    assert_eq!(b.client.access_token(true, None).unwrap(), "at-2");
    // A signed out, then Bob signed in there: B follows, as a sign-in.
    b.tokens.retain(|(k, _)| *k != key);
    b.notify().unwrap();
    assert_eq!(b.events, ["signed_in", "refreshed", "signed_out"]);
    assert!(!b.client.is_authenticated(NOW_MS));
    assert_eq!(
        b.client.access_plan(false, None, NOW_MS).unwrap_err().code(),
        code::LOGIN_REQUIRED
    );
    b.notify().unwrap();
    assert_eq!(b.events.len(), 3, "no second signed_out");
    b.set(
        key.clone(),
        alices
            .replace(&alice_raw, &id_token(None, "bob"))
            .replace("at-1", "bobs"),
    );
    b.notify().unwrap();
    assert_eq!(b.events.last(), Some(&"signed_in"));
    assert_eq!(b.client.user().unwrap()["sub"], "bob");
}

#[test]
fn a_stored_session_is_restored_against_the_providers_key_set() {
    let d = signed_in();
    // A new page: the session and the key set are stored.
    let mut next = Driver::new(options(|_| {}));
    next.tokens = d.tokens.clone();
    next.answers.push(answer(200, discovery_document(json!({}))));
    next.answers.push(answer(200, jwks_body()));
    next.create().unwrap();
    assert!(next.client.is_authenticated(NOW_MS));
    let urls: Vec<&str> = next.sent.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls.last(),
        Some(&"https://id.example.com/jwks"),
        "fetched, not the stored copy"
    );

    // A tampered session (another subject, forged signature): removed.
    let key = d.client.session_storage_key();
    let forged = d.get(&key).unwrap();
    let raw = d
        .client
        .session
        .as_ref()
        .unwrap()
        .id_token
        .raw
        .expose()
        .to_string();
    let mut parts: Vec<&str> = raw.split('.').collect();
    let payload = crate::b64::encode(
        json!({"iss": ISS, "sub": "mallory", "aud": "app", "exp": NOW + 600, "iat": NOW}).to_string(),
    );
    parts[1] = &payload;
    let tampered = forged.replace(&raw, &parts.join("."));
    let mut next = Driver::new(options(|_| {}));
    next.tokens = vec![(key.clone(), tampered)];
    next.answers.push(answer(200, discovery_document(json!({}))));
    next.answers.push(answer(200, jwks_body()));
    next.answers.push(answer(200, jwks_body()));
    next.create().unwrap();
    assert!(!next.client.is_authenticated(NOW_MS));
    assert!(next.get(&key).is_none(), "removed");
}

#[test]
fn an_offline_start_trusts_the_kept_document_only_as_storage() {
    let d = signed_in();
    let mut tokens = d.tokens.clone();
    // A planted document: its end_session and jwks_uri elsewhere.
    let doc_key = "oidc-pkce:discovery:https%3A%2F%2Fid.example.com".to_string();
    let planted = discovery_document(json!({"end_session_endpoint": "https://evil.example/logout"}));
    tokens.retain(|(k, _)| *k != doc_key);
    tokens.push((doc_key.clone(), planted));
    let offline = || HttpAnswer::Failed {
        timed_out: false,
        detail: "offline".into(),
    };
    let mut next = Driver::new(options(|_| {}));
    next.tokens = tokens;
    next.answers.push(offline());
    next.create().unwrap();
    assert!(
        next.client.is_authenticated(NOW_MS),
        "started offline with the stored key set"
    );
    assert_eq!(next.sent.len(), 1, "only discovery was tried: no key set fetched");
    assert_eq!(
        next.client.logout_url(None, None).unwrap_err().code(),
        code::NETWORK_ERROR
    );
    // Online again: the provider's document differs from the kept one.
    let confirm = next.client.confirmation_request().unwrap().unwrap();
    next.sent.push(confirm);
    match next.client.confirmed(answer(200, discovery_document(json!({})))) {
        Confirmation::Refused(e) => {
            let e = next.apply(e).unwrap_err();
            assert_eq!(e.code(), code::INVALID_DISCOVERY);
        }
        Confirmation::Confirmed { .. } => panic!("a planted document was confirmed"),
    }
    assert!(!next.client.is_authenticated(NOW_MS));
    assert!(next.get(&doc_key).is_none() && next.get(&next.client.session_storage_key()).is_none());
    assert_eq!(
        next.client.access_plan(false, None, NOW_MS).unwrap_err().code(),
        code::INVALID_DISCOVERY
    );
}

#[test]
fn silent_renewal_never_switches_the_user() {
    let mut d = signed_in();
    let url = d
        .authorize(crate::authorize::AuthorizeOptions {
            prompt: Some("none".into()),
            ..Default::default()
        })
        .unwrap();
    let nonce = d.client.stored_nonce(&d.transactions[0].1).unwrap();
    d.answers.push(answer(
        200,
        json!({"access_token": "bobs", "token_type": "Bearer", "id_token": id_token(Some(&nonce), "bob")})
            .to_string(),
    ));
    let e = d
        .finish_login(&Driver::callback_for(&url, "c"), LoginKind::Renewal)
        .unwrap_err();
    assert_eq!((e.code(), e.reason()), (code::LOGIN_REQUIRED, Some("sub")));
    assert!(
        !d.client.user_must_interact(&e),
        "not a provider's refusal: it keeps its reason"
    );
    assert_eq!(
        d.client.access_plan(false, None, NOW_MS).unwrap(),
        AccessPlan::Use("at-1".into()),
        "alice's session stays"
    );
    assert_eq!(d.events, ["signed_in"]);
}

#[test]
fn logout_revokes_best_effort_and_revoke_tokens_reports_failures() {
    let mut d = signed_in();
    let requests = d.client.revocations(Revocation::Tokens);
    assert_eq!(requests.len(), 2);
    assert!(requests[0]
        .body
        .as_deref()
        .unwrap()
        .contains("token_type_hint=refresh_token"));
    assert_eq!(
        d.client
            .revoked(HttpAnswer::Redirected { status: 0 }, Revocation::Tokens)
            .unwrap_err()
            .code(),
        code::REVOCATION_FAILED
    );
    assert!(d.client.revoked(answer(503, ""), Revocation::Logout).is_ok());
    assert_eq!(d.client.revocations(Revocation::Logout).len(), 1);
    let target = d
        .client
        .logout_target(Some("https://app.example.com/bye"), None)
        .unwrap()
        .unwrap();
    assert!(
        target.starts_with("https://id.example.com/session/end?client_id=app&id_token_hint="),
        "{target}"
    );
    assert_eq!(
        d.client
            .check_logout(Some("http://evil.test\\@localhost/"), None)
            .unwrap_err()
            .code(),
        code::INVALID_CONFIG
    );
    let forgotten = d.client.forget();
    d.apply(forgotten).unwrap();
    assert_eq!(d.events.last(), Some(&"signed_out"));
    assert!(d.client.revocations(Revocation::Logout).is_empty());
}

/// RFC 9449's example key (§4.1).
fn dpop_key() -> (&'static str, &'static str) {
    (
        "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
        "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
    )
}

#[test]
fn dpop_binds_the_login_and_retries_once_with_the_servers_nonce() {
    let mut d = Driver::new(options(|o| o.dpop = true));
    d.answers.push(answer(
        200,
        discovery_document(json!({"dpop_signing_alg_values_supported": ["ES256"]})),
    ));
    d.create().unwrap();
    let jkt = d.client.key_read(Some(dpop_key())).unwrap().unwrap();
    let url = d.authorize(Default::default()).unwrap();
    assert!(url.contains(&format!("dpop_jkt={jkt}")), "{url}");
    let nonce = d.client.stored_nonce(&d.transactions[0].1).unwrap();
    // The token endpoint asks for a nonce (§8), then answers with bound tokens.
    d.answers.push(HttpAnswer::Response(HttpResponse {
        status: 400,
        body: Some(r#"{"error":"use_dpop_nonce"}"#.into()),
        dpop_nonce: Some("n-1".into()),
        ..Default::default()
    }));
    d.answers.push(answer(
        200,
        json!({"access_token": "bound", "token_type": "DPoP", "id_token": id_token(Some(&nonce), "alice")})
            .to_string(),
    ));
    d.answers.push(answer(200, jwks_body()));
    d.finish_login(&Driver::callback_for(&url, "c"), LoginKind::Redirect)
        .unwrap();
    let proofs: Vec<String> = d.sent[1..3]
        .iter()
        .map(|r| {
            let payload = r.dpop_input.as_deref().unwrap().split('.').nth(1).unwrap();
            String::from_utf8(crate::b64::decode(payload).unwrap()).unwrap()
        })
        .collect();
    assert!(!proofs[0].contains("nonce"), "{}", proofs[0]);
    assert!(proofs[1].contains(r#""nonce":"n-1""#), "{}", proofs[1]);
    assert!(proofs[1].contains(r#""htu":"https://id.example.com/token""#));
    assert_eq!(d.client.binding().unwrap(), Some(jkt.clone()));
    // Resource requests: Authorization: DPoP with a proof carrying ath.
    let (authorization, proof) = d
        .client
        .resource_credentials("GET", "https://api.example/x?y=1", None, NOW_MS)
        .unwrap();
    assert_eq!(authorization, "DPoP bound");
    assert!(proof.unwrap().len() > 100);
    // A server that keeps asking: one retry only.
    let asks = HttpAnswer::Response(HttpResponse {
        status: 401,
        body: Some(String::new()),
        www_authenticate: Some(r#"DPoP error="use_dpop_nonce""#.into()),
        dpop_nonce: Some("n-2".into()),
        ..Default::default()
    });
    assert!(d
        .client
        .retry_with_nonce("https://api.example/x", true, true, &asks, 0));
    assert!(!d
        .client
        .retry_with_nonce("https://api.example/x", true, true, &asks, 1));
    // The key gone (another tab logged out): login_required, never Bearer.
    d.client.key_read(None).unwrap();
    assert_eq!(
        d.client.require_key(&jkt).unwrap_err().code(),
        code::LOGIN_REQUIRED
    );
}

#[test]
fn a_provider_that_answers_bearer_to_a_dpop_client_is_refused() {
    let mut d = Driver::new(options(|o| o.dpop = true));
    d.answers.push(answer(200, discovery_document(json!({}))));
    d.create().unwrap();
    d.client.key_read(Some(dpop_key())).unwrap();
    let e = d
        .login(json!({"access_token": "plain", "token_type": "Bearer"}))
        .unwrap_err();
    assert_eq!(e.code(), code::INVALID_TOKEN_RESPONSE);
    assert!(d.client.tokens().is_none());
}

#[test]
fn pushed_authorization_requests_send_the_parameters_by_post() {
    let mut d = Driver::new(options(|o| o.pushed_authorization_requests = true));
    d.answers.push(answer(200, discovery_document(json!({}))));
    d.create().unwrap();
    d.answers.push(answer(
        201,
        r#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}"#,
    ));
    let url = d.authorize(Default::default()).unwrap();
    assert_eq!(
        url,
        "https://id.example.com/auth?client_id=app&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc"
    );
    let push = d.sent.last().unwrap();
    assert_eq!(
        (push.method, push.url.as_str()),
        ("POST", "https://id.example.com/request")
    );
    assert!(push
        .body
        .as_deref()
        .unwrap()
        .contains("code_challenge_method=S256"));
    assert_eq!(d.transactions.len(), 1);
    // A refused push: its error, and nothing pending.
    let mut refused = Driver::new(options(|o| o.pushed_authorization_requests = true));
    refused.answers.push(answer(200, discovery_document(json!({}))));
    refused.create().unwrap();
    refused.answers.push(HttpAnswer::Redirected { status: 307 });
    assert_eq!(
        refused.authorize(Default::default()).unwrap_err().code(),
        code::INVALID_PAR_RESPONSE
    );
    assert!(refused.transactions.is_empty());
}

#[test]
fn stale_pending_logins_are_removed_and_current_ones_kept() {
    let mut d = signed_in();
    d.authorize(Default::default()).unwrap();
    let current = d.transactions[0].clone();
    let keys = [
        current.0.clone(),
        format!("{}old", d.client.transaction_storage_prefix()),
    ];
    let entries = vec![
        (keys[0].clone(), Some(current.1.clone())),
        (keys[1].clone(), Some("garbage".into())),
    ];
    assert_eq!(d.client.stale_pending(&entries, NOW_MS), vec![keys[1].clone()]);
    let later = NOW_MS + crate::transaction::TRANSACTION_TTL_MS + 1;
    assert_eq!(d.client.stale_pending(&entries, later).len(), 2);
}
