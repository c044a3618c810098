//! The backend's WebAssembly module (`oidc-pkce/server`): the core's
//! confidential client (`oidc_pkce::server`) as synchronous exports for the
//! server driver (js/server/), which awaits the I/O between them: fetch, the
//! session store, WebCrypto. Values cross as JSON text, which the driver
//! writes and parses; the decisions stay here.

use oidc_pkce::backchannel::{check_replay, UnverifiedLogout};
use oidc_pkce::error::{code, AuthError};
use oidc_pkce::http::{HttpAnswer, HttpRequest};
use oidc_pkce::json::{self, Map, Value};
use oidc_pkce::secret::AuthorizationCode;
use oidc_pkce::server::{
    code_server, Exchange, Flight, LoginStart, PendingLogin, Plan, Server, ServerSession, LOGIN_COOKIE,
    SESSION_COOKIE,
};
use wasm_bindgen::prelude::*;

type Result<T> = std::result::Result<T, JsValue>;

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// An `AuthError` as a JS `Error`: `name` "AuthError", its `code`, `reason`,
/// the server's `error` and `error_description`, and the HTTP `status` the
/// backend answers with.
fn js_error(e: AuthError) -> JsValue {
    let err = js_sys::Error::new(e.message());
    err.set_name("AuthError");
    let set = |k: &str, v: JsValue| {
        let _ = js_sys::Reflect::set(&err, &k.into(), &v);
    };
    set("code", e.code().into());
    set("status", Server::status_of(&e).into());
    if let Some(r) = e.reason() {
        set("reason", r.into());
    }
    if let Some(s) = e.server() {
        set("error", s.error.as_str().into());
        if let Some(d) = &s.error_description {
            set("errorDescription", d.as_str().into());
        }
    }
    err.into()
}

fn to_js(v: Value) -> JsValue {
    js_sys::JSON::parse(&json::to_string(&v)).unwrap_or(JsValue::NULL)
}

fn object(o: Map<String, Value>) -> JsValue {
    to_js(Value::Object(o))
}

fn request(r: &HttpRequest) -> JsValue {
    object(r.to_json())
}

/// The driver's `HttpAnswer` (a plain object).
fn answer(v: &JsValue) -> HttpAnswer {
    let text = js_sys::JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    match json::object(&text) {
        Ok(o) => HttpAnswer::from_json(&o),
        Err(_) => HttpAnswer::Failed {
            timed_out: false,
            detail: "no answer".into(),
        },
    }
}

/// The platform's answer for a signature: valid, or why it could not check it.
fn signature(valid: bool, why: Option<String>) -> std::result::Result<bool, String> {
    why.map_or(Ok(valid), Err)
}

fn used() -> AuthError {
    AuthError::new(code::MISSING_TRANSACTION, "this exchange was used")
}

fn session(text: &str) -> Result<ServerSession> {
    ServerSession::from_stored(text).map_err(js_error)
}

/// A confidential client of one provider, for every session of the backend.
#[wasm_bindgen]
pub struct ServerCore(Server);

/// A login started: its pending transaction and the browser's cookie.
#[wasm_bindgen]
pub struct ServerLogin(LoginStart);

/// A callback whose code is being exchanged, then whose ID token is checked.
#[wasm_bindgen]
pub struct ServerExchange(Option<(PendingLogin, AuthorizationCode)>, Option<Exchange>);

/// A Logout Token whose signature is being checked.
#[wasm_bindgen]
pub struct ServerLogoutToken(Option<UnverifiedLogout>);

#[wasm_bindgen]
impl ServerCore {
    /// `createAuthServer`'s options, as JSON (the store and the keys apart).
    #[wasm_bindgen(constructor)]
    pub fn new(options: &str) -> Result<ServerCore> {
        Server::from_options_json(options)
            .map(ServerCore)
            .map_err(js_error)
    }

    /// What the driver needs once: the mode, the cookies' names, the
    /// proxy's limits, the CSRF header.
    pub fn setup(&self) -> JsValue {
        let mut o = Map::new();
        o.insert(
            "mode".into(),
            (if self.0.mode == oidc_pkce::server::Mode::Bff {
                "bff"
            } else {
                "token-mediating"
            })
            .into(),
        );
        o.insert("sessionCookie".into(), SESSION_COOKIE.into());
        o.insert("loginCookie".into(), LOGIN_COOKIE.into());
        o.insert("csrfHeader".into(), oidc_pkce::server::CSRF_HEADER.into());
        o.insert("proxyMaxBytes".into(), oidc_pkce::server::PROXY_MAX_BYTES.into());
        o.insert("proxyTimeoutMs".into(), u64::from(self.0.api_timeout_ms).into());
        o.insert("idleMs".into(), (self.0.idle_s * 1000).into());
        o.insert("absoluteMs".into(), (self.0.absolute_s * 1000).into());
        // RFC 9449: each login makes a key its tokens are bound to.
        o.insert("dpop".into(), self.0.dpop.into());
        // What the driver signs with: client assertions, DPoP proofs (WebCrypto algorithm objects).
        let (assertion, proof) = self.0.signing_algorithms();
        if let Some(a) = assertion {
            o.insert("assertionAlgorithm".into(), Value::Object(a.to_json()));
        }
        if let Some(p) = proof {
            o.insert("proofAlgorithm".into(), Value::Object(p.to_json()));
        }
        object(o)
    }

    #[wasm_bindgen(js_name = discoveryRequest)]
    pub fn discovery_request(&self) -> JsValue {
        self.0
            .discovery_request()
            .map_or(JsValue::UNDEFINED, |r| request(&r))
    }

    pub fn discovered(&mut self, answer_: JsValue) -> Result<()> {
        self.0.discovered(answer(&answer_)).map_err(js_error)
    }

    /// The key set request when the set in memory is missing or old, or
    /// (`again`) after a key failure when it was not fetched just now.
    #[wasm_bindgen(js_name = keySetRequest)]
    pub fn key_set_request(&self, again: bool) -> Result<JsValue> {
        Ok(self
            .0
            .key_set_request(now_ms(), again)
            .map_err(js_error)?
            .map_or(JsValue::UNDEFINED, |r| request(&r)))
    }

    #[wasm_bindgen(js_name = keySet)]
    pub fn key_set(&mut self, answer_: JsValue) -> Result<()> {
        self.0.key_set(answer(&answer_), now_ms()).map_err(js_error)
    }

    /// After a key or signature failure: fetch the key set again and retry.
    #[wasm_bindgen(js_name = keysAgain)]
    pub fn keys_again(&self, error: JsValue) -> bool {
        let reason = js_sys::Reflect::get(&error, &"reason".into())
            .ok()
            .and_then(|r| r.as_string());
        let e = AuthError::new(code::INVALID_ID_TOKEN, "").with_reason(match reason.as_deref() {
            Some("kid") => "kid",
            Some("signature") => "signature",
            _ => "other",
        });
        self.0.keys_again(&e, now_ms())
    }

    /// `private_key_jwt`: the assertion to sign for the next request.
    #[wasm_bindgen(js_name = assertionInput)]
    pub fn assertion_input(&self) -> Result<Option<String>> {
        self.0.assertion_input(now_ms()).map_err(js_error)
    }

    // ---- login

    /// `proof_key`: with `dpop`, the private P-256 JWK made for this login.
    pub fn login(
        &self,
        return_to: Option<String>,
        prompt: Option<String>,
        proof_key: Option<String>,
    ) -> Result<ServerLogin> {
        self.0
            .login(return_to.as_deref(), prompt, now_ms(), proof_key.as_deref())
            .map(ServerLogin)
            .map_err(js_error)
    }

    /// A login's facts: where to keep it, its cookie, the URL (none: push first).
    #[wasm_bindgen(js_name = loginInfo)]
    pub fn login_info(&self, login: &ServerLogin) -> JsValue {
        let l = &login.0;
        let mut o = Map::new();
        o.insert("key".into(), Server::login_key(&l.state).into());
        o.insert("stored".into(), l.stored.as_str().into());
        o.insert("cookie".into(), self.0.login_cookie(&l.binding).into());
        json::put(&mut o, "url", l.url.as_deref());
        object(o)
    }

    #[wasm_bindgen(js_name = pushRequest)]
    pub fn push_request(&self, login: &ServerLogin, assertion: Option<String>) -> Result<JsValue> {
        self.0
            .push_request(&login.0, assertion.as_deref())
            .map(|r| request(&r))
            .map_err(js_error)
    }

    pub fn pushed(&self, answer_: JsValue) -> Result<String> {
        self.0.pushed(answer(&answer_)).map_err(js_error)
    }

    /// Where the callback's pending login is kept.
    #[wasm_bindgen(js_name = callbackKey)]
    pub fn callback_key(&self, url: &str) -> Result<String> {
        self.0
            .callback_state(url)
            .map(|s| Server::login_key(&s))
            .map_err(js_error)
    }

    /// The callback, its pending login (none: unknown state) and the
    /// browser's login cookie, checked: the exchange to make
    /// ([`ServerCore::exchange_request`]).
    pub fn callback(
        &self,
        url: &str,
        stored: Option<String>,
        cookie_header: Option<String>,
    ) -> Result<ServerExchange> {
        let binding = Server::read_cookie(cookie_header.as_deref(), LOGIN_COOKIE)
            .ok()
            .flatten();
        self.0
            .checked_callback(url, stored.as_deref(), binding.as_deref(), now_ms())
            .map(|checked| ServerExchange(Some(checked), None))
            .map_err(js_error)
    }

    /// Where a refused callback sends the browser (the error as the route threw it).
    #[wasm_bindgen(js_name = callbackFailed)]
    pub fn callback_failed(&self, error: JsValue) -> String {
        let field = |k: &str| {
            js_sys::Reflect::get(&error, &k.into())
                .ok()
                .and_then(|v| v.as_string())
        };
        let code = field("code").unwrap_or_else(|| code::NETWORK_ERROR.into());
        self.0.callback_failed(&code, field("reason").as_deref())
    }

    /// The code exchange to send (again for a DPoP nonce: a client
    /// assertion is used once).
    #[wasm_bindgen(js_name = exchangeRequest)]
    pub fn exchange_request(&self, x: &ServerExchange, assertion: Option<String>) -> Result<JsValue> {
        let (pending, code) = x.0.as_ref().ok_or_else(|| js_error(used()))?;
        self.0
            .exchange_request(pending, code, assertion.as_deref())
            .map(|r| request(&r))
            .map_err(js_error)
    }

    /// With `dpop`: the login's key (a private JWK), to sign its proofs with.
    #[wasm_bindgen(js_name = exchangeKey)]
    pub fn exchange_key(&self, x: &ServerExchange) -> Option<String> {
        let (pending, _) = x.0.as_ref()?;
        pending.proof_key.as_ref().map(|k| k.jwk().to_string())
    }

    /// The token response, then the ID token's signature to check.
    pub fn exchanged(&self, x: &mut ServerExchange, answer_: JsValue) -> Result<()> {
        let (pending, _) = x.0.take().ok_or_else(|| js_error(used()))?;
        x.1 = Some(
            self.0
                .exchanged(pending, answer(&answer_), now_ms())
                .map_err(js_error)?,
        );
        Ok(())
    }

    #[wasm_bindgen(js_name = idTokenCheck)]
    pub fn id_token_check(&self, x: &mut ServerExchange) -> Result<JsValue> {
        let e = x.1.as_mut().ok_or_else(|| {
            js_error(AuthError::new(
                code::INVALID_TOKEN_RESPONSE,
                "no token response yet",
            ))
        })?;
        self.0
            .id_token_check(e)
            .map(|c| object(c.to_json()))
            .map_err(js_error)
    }

    /// The new session (after the platform checked the signature): its
    /// stored text, its cookie's lifetime, its index keys, where to go.
    pub fn established(&self, x: &mut ServerExchange, valid: bool, why: Option<String>) -> Result<JsValue> {
        let e = x.1.take().ok_or_else(|| {
            js_error(AuthError::new(
                code::INVALID_TOKEN_RESPONSE,
                "no token response yet",
            ))
        })?;
        let now = now_ms();
        let (s, return_to) = self
            .0
            .established(e, signature(valid, why), now)
            .map_err(js_error)?;
        let mut o = Map::new();
        o.insert("stored".into(), s.to_stored().into());
        o.insert("maxAge".into(), self.0.cookie_max_age(&s, now).into());
        o.insert("ttlMs".into(), self.0.store_ttl_ms(&s, now).into());
        o.insert(
            "index".into(),
            Value::Array(self.0.index_keys(&s).into_iter().map(Value::from).collect()),
        );
        o.insert("returnTo".into(), return_to.unwrap_or_else(|| "/".into()).into());
        Ok(object(o))
    }

    // ---- sessions

    /// A session read back for a request: live, or `not_signed_in`; with
    /// `touched` its text to write back (last use moved on).
    #[wasm_bindgen(js_name = useSession)]
    pub fn use_session(&self, stored: &str) -> Result<JsValue> {
        let mut s = session(stored)?;
        let now = now_ms();
        self.0.live(&s, now).map_err(js_error)?;
        let mut o = Map::new();
        if self.0.touch(&mut s, now) {
            o.insert("touched".into(), s.to_stored().into());
        }
        Ok(object(o))
    }

    /// How long the store keeps this session from a write now (ms).
    #[wasm_bindgen(js_name = storeTtl)]
    pub fn store_ttl(&self, stored: &str) -> Result<f64> {
        Ok(self.0.store_ttl_ms(&session(stored)?, now_ms()) as f64)
    }

    /// `GET /session`: what the page may know.
    pub fn info(&self, stored: Option<String>) -> Result<JsValue> {
        let s = stored.as_deref().map(session).transpose()?;
        Ok(to_js(self.0.session_info(s.as_ref())))
    }

    #[wasm_bindgen(js_name = indexKeys)]
    pub fn index_keys(&self, stored: &str) -> Result<Vec<String>> {
        Ok(self.0.index_keys(&session(stored)?))
    }

    /// "use" or "refresh" (no refresh token and expired: `not_signed_in`).
    #[wasm_bindgen(js_name = accessPlan)]
    pub fn access_plan(&self, stored: &str) -> Result<String> {
        match self
            .0
            .access_plan(&session(stored)?, now_ms())
            .map_err(js_error)?
        {
            Plan::Use => Ok("use".into()),
            Plan::Refresh => Ok("refresh".into()),
        }
    }

    /// The session's refresh: `{ id, start }`: start it (then
    /// [`ServerCore::flight_landed`]), or join flight `id`.
    #[wasm_bindgen(js_name = refreshFlight)]
    pub fn refresh_flight(&self, session_key: &str) -> JsValue {
        let (id, start) = match self.0.refresh_flight(session_key) {
            Flight::Start(id) => (id, true),
            Flight::Join(id) => (id, false),
        };
        let mut o = Map::new();
        o.insert("id".into(), id.into());
        o.insert("start".into(), start.into());
        object(o)
    }

    #[wasm_bindgen(js_name = flightLanded)]
    pub fn flight_landed(&self, id: f64) {
        self.0.flight_landed(id as u64)
    }

    #[wasm_bindgen(js_name = refreshRequest)]
    pub fn refresh_request(&self, stored: &str, assertion: Option<String>) -> Result<JsValue> {
        self.0
            .refresh_request(&session(stored)?, assertion.as_deref())
            .map(|r| request(&r))
            .map_err(js_error)
    }

    /// The session after a refresh (its stored text); `not_signed_in` when
    /// the provider ended the grant.
    pub fn refreshed(&self, stored: &str, answer_: JsValue) -> Result<String> {
        let s = session(stored)?;
        self.0
            .refreshed(&s, answer(&answer_), now_ms())
            .map(|n| n.to_stored())
            .map_err(js_error)
    }

    /// The proxied call's `Authorization` header, and with a DPoP-bound
    /// token the proof to sign (`proof`) with the session's key (`key`).
    #[wasm_bindgen(js_name = authorization)]
    pub fn authorization(&self, stored: &str, method: &str, url: &str) -> Result<JsValue> {
        let s = session(stored)?;
        let (header, proof) = self
            .0
            .api_authorization(&s, method, url, now_ms())
            .map_err(js_error)?;
        let mut o = Map::new();
        o.insert("authorization".into(), header.into());
        json::put(&mut o, "proof", proof.as_deref());
        json::put(&mut o, "key", s.proof_key.as_ref().map(|k| k.jwk()));
        Ok(object(o))
    }

    /// The session's key (a private JWK), for the proofs of its refreshes.
    #[wasm_bindgen(js_name = sessionKeyJwk)]
    pub fn session_key_jwk(&self, stored: &str) -> Result<Option<String>> {
        Ok(session(stored)?.proof_key.map(|k| k.jwk().to_string()))
    }

    /// The signing input of a token request's DPoP proof by `key`.
    #[wasm_bindgen(js_name = tokenProof)]
    pub fn token_proof(&self, key: &str, url: &str) -> Result<String> {
        self.0.token_proof(key, url, now_ms()).map_err(js_error)
    }

    /// An answer to a request sent with a proof: keeps the server's nonce;
    /// true when the request goes once more, with it.
    #[wasm_bindgen(js_name = nonceRetry)]
    pub fn nonce_retry(&self, url: &str, answer_: JsValue, attempt: u32) -> bool {
        self.0.nonce_retry(url, &answer(&answer_), attempt)
    }

    /// `POST /token` (token-mediating mode).
    #[wasm_bindgen(js_name = mediatedToken)]
    pub fn mediated_token(&self, stored: &str) -> Result<JsValue> {
        self.0
            .mediated_token(&session(stored)?, now_ms())
            .map(to_js)
            .map_err(js_error)
    }

    // ---- proxy, CSRF

    /// The configured API a proxied call's target is under (refused otherwise).
    #[wasm_bindgen(js_name = proxyTarget)]
    pub fn proxy_target(&self, target: &str) -> Result<u32> {
        self.0.proxy_target(target).map(|i| i as u32).map_err(js_error)
    }

    #[wasm_bindgen(js_name = forwardedHeader)]
    pub fn forwarded_header(name: &str) -> bool {
        Server::forwarded_header(name)
    }

    #[wasm_bindgen(js_name = returnedHeader)]
    pub fn returned_header(name: &str) -> bool {
        Server::returned_header(name)
    }

    /// `secret`'s length (none: not given), and whether the store is this process's.
    #[wasm_bindgen(js_name = checkSecret)]
    pub fn check_secret(given: Option<u32>, local_store: bool) -> Result<()> {
        Server::check_secret(given.map(|n| n as usize), local_store).map_err(js_error)
    }

    #[wasm_bindgen(js_name = checkCsrf)]
    pub fn check_csrf(
        &self,
        header: Option<String>,
        origin: Option<String>,
        site: Option<String>,
    ) -> Result<()> {
        self.0
            .check_csrf(header.as_deref(), origin.as_deref(), site.as_deref())
            .map_err(js_error)
    }

    // ---- logout

    /// Where the browser goes after its session here ended, and the refresh
    /// token's revocation.
    pub fn logout(&self, stored: Option<String>, assertion: Option<String>) -> Result<JsValue> {
        let s = stored.as_deref().and_then(|t| ServerSession::from_stored(t).ok());
        let (url, revoke) = self
            .0
            .logout(s.as_ref(), assertion.as_deref())
            .map_err(js_error)?;
        let mut o = Map::new();
        o.insert("url".into(), url.into());
        if let Some(r) = revoke {
            o.insert("revoke".into(), Value::Object(r.to_json()));
        }
        Ok(object(o))
    }

    #[wasm_bindgen(js_name = logoutTokenCheck)]
    pub fn logout_token_check(&self, body: &str) -> Result<JsValue> {
        let (check, token) = self.0.logout_token_check(body).map_err(js_error)?;
        let out = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&out, &"check".into(), &object(check.to_json()));
        let _ = js_sys::Reflect::set(&out, &"token".into(), &ServerLogoutToken(Some(token)).into());
        Ok(out.into())
    }

    /// A Logout Token after its signature check: the index keys whose
    /// sessions end, and its jti's key and lifetime in the replay store.
    #[wasm_bindgen(js_name = logoutEvent)]
    pub fn logout_event(
        &self,
        token: &mut ServerLogoutToken,
        valid: bool,
        why: Option<String>,
    ) -> Result<JsValue> {
        let u = token.0.take().ok_or_else(|| {
            js_error(AuthError::new(
                code::INVALID_LOGOUT_TOKEN,
                "this logout token was used",
            ))
        })?;
        let now = now_ms();
        let e = self
            .0
            .logout_event(u, signature(valid, why), now)
            .map_err(js_error)?;
        let mut o = Map::new();
        o.insert(
            "keys".into(),
            Value::Array(self.0.logout_keys(&e).into_iter().map(Value::from).collect()),
        );
        o.insert("jti".into(), self.0.jti_key(&e.jti).into());
        o.insert(
            "ttlMs".into(),
            (e.remember_until_s * 1000).saturating_sub(now).into(),
        );
        Ok(object(o))
    }

    /// The replay store already held the token's jti: refused.
    #[wasm_bindgen(js_name = checkReplay)]
    pub fn check_replay(seen: bool) -> Result<()> {
        check_replay(seen).map_err(js_error)
    }

    // ---- cookies and keys

    /// The session id in a `Cookie` header (forged or oversized: refused).
    #[wasm_bindgen(js_name = sessionId)]
    pub fn session_id(cookie_header: Option<String>) -> Result<Option<String>> {
        Server::read_cookie(cookie_header.as_deref(), SESSION_COOKIE).map_err(js_error)
    }

    #[wasm_bindgen(js_name = sessionKey)]
    pub fn session_key(id: &str) -> String {
        Server::session_key(id)
    }

    #[wasm_bindgen(js_name = sessionCookie)]
    pub fn session_cookie(&self, id: &str, max_age_s: u32) -> String {
        self.0.session_cookie(id, u64::from(max_age_s))
    }

    #[wasm_bindgen(js_name = expiredCookie)]
    pub fn expired_cookie(which: &str) -> String {
        Server::expired_cookie(if which == "login" {
            LOGIN_COOKIE
        } else {
            SESSION_COOKIE
        })
    }

    /// A new session id: 256 random bits (rotated at every login).
    #[wasm_bindgen(js_name = newSessionId)]
    pub fn new_session_id() -> Result<String> {
        oidc_pkce::random::token().map_err(js_error)
    }

    /// Whether a failed refresh (the error it threw) ends the session.
    #[wasm_bindgen(js_name = endsSession)]
    pub fn ends_session(error: JsValue) -> bool {
        js_sys::Reflect::get(&error, &"code".into())
            .ok()
            .and_then(|v| v.as_string())
            .is_some_and(|c| Server::ends_session(&c))
    }

    /// The errors the driver meets, made here: the store unreachable, an
    /// API that did not answer.
    pub fn fail(what: &str, detail: &str) -> JsValue {
        let (c, m) = match what {
            "store" => (
                code_server::STORE_UNAVAILABLE,
                ["the session store could not be reached: ", detail].concat(),
            ),
            "upstream" => (
                code_server::UPSTREAM_FAILED,
                ["the API did not answer: ", detail].concat(),
            ),
            "upstreamTimeout" => (
                code::TIMEOUT,
                ["the API did not answer in time: ", detail].concat(),
            ),
            "cookie" => (code_server::INVALID_SESSION_COOKIE, detail.to_string()),
            "signedOut" => (
                code_server::NOT_SIGNED_IN,
                "not signed in: log in first".to_string(),
            ),
            _ => (code::INVALID_CONFIG, detail.to_string()),
        };
        js_error(AuthError::new(c, m))
    }
}
