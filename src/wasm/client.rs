//! `AuthClient`: the JS object an app holds.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::check_keys;
use super::dpop::Target;
use super::few::Few;
use super::frames;
use super::http::{self, Body, Credentials, Expect};
use super::login::LoginKind;
use super::storage::KvStore;
use crate::config::{
    ClientConfig, ClientOptions, ProviderSource, StorageKind, CLIENT_OPTIONS, ENDPOINT_OPTIONS,
};
use crate::discovery::{
    apply_overrides, discovery_url, metadata_from_overrides, parse_discovery_document, static_metadata,
    ProviderMetadata,
};
use crate::error::{code, http_error, AuthError, Result};
use crate::id_token::allowed_algs;
use crate::logout::{check_return_to, logout_url};
use crate::session::Session;
use crate::token::revocation_request;
use crate::userinfo::parse_userinfo_response;

thread_local! {
    /// Discovery documents, fetched once per page per issuer and per
    /// `allowInsecureRequests`: a document accepted with insecure endpoints
    /// allowed must not serve a client that does not allow them.
    static DISCOVERY: RefCell<Few<(String, bool), ProviderMetadata>> = const { RefCell::new(Few::new()) };
}

/// `allowInsecureRequests` turns off a protection: say so, once per page.
fn warn_insecure_once() {
    thread_local!(static WARNED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if !WARNED.with(|w| w.replace(true)) {
        web_sys::console::warn_1(&JsValue::from_str(
            "oidc-pkce: allowInsecureRequests is on: plain http is allowed to a non-loopback provider. \
             Tokens and codes can then be read and changed on the network. Use it for development only.",
        ));
    }
}

pub(super) fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

pub(super) struct Inner {
    pub(super) config: ClientConfig,
    pub(super) metadata: ProviderMetadata,
    pub(super) algs: Vec<String>,
    pub(super) transactions: KvStore,
    pub(super) tokens: KvStore,
    /// `tokenStorage: "local"`: tabs share the session and hand it over (see handoff.rs).
    pub(super) shared_by_tabs: bool,
    pub(super) session: RefCell<Option<Session>>,
    /// States whose callback is being handled in this page (claimed before any await).
    pub(super) consuming: RefCell<Few<String, ()>>,
    /// The refresh under way in this page, shared by every caller (single flight).
    pub(super) refreshing: RefCell<Option<Promise>>,
    /// The silent renewal under way in this page, shared the same way.
    pub(super) renewing: RefCell<Option<Promise>>,
    pub(super) listeners: RefCell<Vec<(u32, Function)>>,
    pub(super) next_listener: std::cell::Cell<u32>,
    /// Whether the endpoints may be used: see [`Trust`] and `ensure_online`.
    pub(super) trust: std::cell::Cell<Trust>,
    /// RFC 9449 §8, §9: the latest `DPoP-Nonce` of each server, by origin.
    pub(super) dpop_nonces: RefCell<Vec<(String, String)>>,
}

/// A configured client. Make one with `createAuthClient(options)`.
#[wasm_bindgen]
pub struct AuthClient {
    inner: Rc<Inner>,
}

/// Validates the options, finds the provider's endpoints (discovery once per
/// issuer, none for `domain` or when `endpoints` gives both login endpoints),
/// restores a stored session, and returns the client.
#[wasm_bindgen(js_name = createAuthClient, unchecked_return_type = "Promise<AuthClient>")]
pub fn create_auth_client(
    #[wasm_bindgen(unchecked_param_type = "AuthClientOptions")] options: JsValue,
) -> Promise {
    spawn(async move { Ok(create(options).await?.into()) })
}

pub(super) async fn create(options: JsValue) -> Result<AuthClient> {
    if !options.is_object() {
        return Err(AuthError::new(
            code::INVALID_CONFIG,
            "createAuthClient needs an options object",
        ));
    }
    check_keys(&options, CLIENT_OPTIONS, "createAuthClient")?;
    check_keys(&option(&options, "endpoints"), ENDPOINT_OPTIONS, "`endpoints`")?;
    let transaction_storage = option(&options, "transactionStorage");
    let token_storage = option(&options, "tokenStorage");
    let config = ClientConfig::from_options(client_options(&options)?)?;
    if config.allow_insecure_requests {
        warn_insecure_once();
    }
    let transactions = KvStore::from_option(
        &transaction_storage,
        "transactionStorage",
        StorageKind::Session,
        KvStore::Page,
    )?;
    let shared_by_tabs = token_storage.as_string().as_deref() == Some("local");
    // Default "session": a reload of the tab keeps a signed-in user signed in
    // (as oidc-client-ts does), with no iframe and no third-party cookie; the
    // tab's sessionStorage is gone with the tab. Where there is none (a
    // worker), the session lives in the client object only.
    let tokens = match KvStore::from_option(
        &token_storage,
        "tokenStorage",
        StorageKind::Session,
        KvStore::Nothing,
    ) {
        Err(_) if token_storage.is_undefined() => KvStore::Nothing,
        other => other?,
    };
    if config.dpop && !super::dpop::supported() {
        // RFC 9449 with a non-extractable key needs crypto.subtle (a secure
        // context) and IndexedDB: without them, no silent fallback to Bearer.
        return Err(AuthError::new(
            code::UNSUPPORTED_PLATFORM,
            "`dpop` needs crypto.subtle and IndexedDB: serve the page over https (or http://localhost)",
        ));
    }
    let (metadata, trust) = match resolve_metadata(&config, &tokens).await? {
        Endpoints::Current(m) => (m, Trust::Confirmed),
        Endpoints::Kept(m) => (m, Trust::Kept),
    };
    if config.dpop {
        crate::dpop::check_provider_support(metadata.dpop_signing_alg_values_supported.as_deref())?;
    }
    let algs = allowed_algs(
        config.id_token_signing_algs.as_deref(),
        metadata.id_token_signing_alg_values_supported.as_deref(),
    );
    let inner = Rc::new(Inner {
        config,
        metadata,
        algs,
        transactions,
        tokens,
        shared_by_tabs,
        session: RefCell::new(None),
        consuming: RefCell::new(Few::new()),
        refreshing: RefCell::new(None),
        renewing: RefCell::new(None),
        listeners: RefCell::new(Vec::new()),
        next_listener: std::cell::Cell::new(0),
        trust: std::cell::Cell::new(trust),
        dpop_nonces: RefCell::new(Vec::new()),
    });
    inner.restore_session().await;
    Ok(AuthClient { inner })
}

/// Where a client's endpoints came from.
pub(super) enum Endpoints {
    /// Configuration or a discovery document fetched now (or earlier in this page).
    Current(ProviderMetadata),
    /// The discovery document kept with a stored session, because the provider
    /// gave no answer (offline start).
    Kept(ProviderMetadata),
}

/// How far a client's endpoints may be used.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Trust {
    /// From configuration, or a discovery document the provider served.
    Confirmed,
    /// From the document kept with the session (an offline start): storage,
    /// which another script could have written. Nothing taken from it sends
    /// the browser or a request anywhere until the provider serves the same
    /// endpoints again (`ensure_online`); the restored session is checked
    /// only against a key set stored within its lifetime.
    Kept,
    /// The provider served other endpoints than the kept ones: the session
    /// and the kept document were dropped, and nothing of them is used.
    Refused,
}

/// The storage key of the discovery document kept with a session.
fn discovery_key(issuer: &str) -> String {
    format!("oidc-pkce:discovery:{}", crate::transaction::key_part(issuer))
}

/// The provider's endpoints: from configuration, else discovery (once per
/// page). With a persistent `tokenStorage` the discovery document is kept
/// there; when the provider cannot be reached and a session is stored, the
/// kept document serves (offline start) — see `Inner::ensure_online`.
async fn resolve_metadata(config: &ClientConfig, tokens: &KvStore) -> Result<Endpoints> {
    if let Some(m) = static_metadata(config) {
        return Ok(Endpoints::Current(m));
    }
    if let Some(m) = metadata_from_overrides(config) {
        return Ok(Endpoints::Current(m));
    }
    let ProviderSource::Issuer(issuer) = &config.provider else {
        return Err(AuthError::new(code::INVALID_CONFIG, "no issuer to discover"));
    };
    let cache_key = (issuer.clone(), config.allow_insecure_requests);
    if let Some(m) = DISCOVERY.with(|d| d.borrow().get(&cache_key).cloned()) {
        return Ok(Endpoints::Current(apply_overrides(m, &config.endpoints)));
    }
    match discover(config, issuer).await {
        Ok((m, body)) => {
            if tokens.persists() {
                let _ = tokens.set(&discovery_key(issuer), &body).await;
            }
            DISCOVERY.with(|d| d.borrow_mut().insert(cache_key, m.clone()));
            Ok(Endpoints::Current(apply_overrides(m, &config.endpoints)))
        }
        Err(e) if super::session::is_unreachable(&e) && tokens.persists() => {
            let session = crate::session::session_key(issuer, &config.client_id);
            let kept = match tokens.get(&session).await {
                Ok(Some(_)) => tokens.get(&discovery_key(issuer)).await.ok().flatten(),
                _ => None,
            };
            // Read back like any input: the same checks as a fetched document.
            match kept
                .and_then(|doc| parse_discovery_document(&doc, issuer, config.allow_insecure_requests).ok())
            {
                Some(m) => Ok(Endpoints::Kept(apply_overrides(m, &config.endpoints))),
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Fetches and checks the discovery document; also returns its text.
async fn discover(config: &ClientConfig, issuer: &str) -> Result<(ProviderMetadata, String)> {
    let url = discovery_url(issuer);
    let expect = Expect::document(code::INVALID_DISCOVERY, "no-store");
    let resp = http::send(
        "GET",
        &url,
        Body::None,
        Credentials::default(),
        config.http_timeout_ms,
        expect,
    )
    .await?;
    if resp.status != 200 {
        return Err(AuthError::new(
            code::INVALID_DISCOVERY,
            msg!("{url} answered HTTP {}", resp.status),
        )
        .with_status(resp.status));
    }
    let m = parse_discovery_document(&resp.body, issuer, config.allow_insecure_requests)?;
    Ok((m, resp.body))
}

impl Inner {
    /// Before anything that sends the browser or a request to the provider's
    /// endpoints. After an offline start the provider must first answer
    /// discovery again with the same endpoints (a kept document is storage,
    /// which another script could have written), and the session's ID token
    /// is then verified against the key set the provider serves now. Offline
    /// still (no answer, or a 5xx): `network_error` or the like, and the
    /// session stays. Any other answer that does not confirm the kept
    /// document (other endpoints, a document that fails its checks): the
    /// session and the kept document are dropped (`invalid_discovery`).
    pub(super) async fn ensure_online(&self) -> Result<()> {
        match self.trust.get() {
            Trust::Confirmed => return Ok(()),
            Trust::Refused => return Err(endpoints_refused()),
            Trust::Kept => {}
        }
        let ProviderSource::Issuer(issuer) = &self.config.provider else {
            self.trust.set(Trust::Confirmed);
            return Ok(());
        };
        let refusal = match discover(&self.config, issuer).await {
            Ok((fresh, _)) => {
                (apply_overrides(fresh, &self.config.endpoints) != self.metadata).then(endpoints_refused)
            }
            Err(e) if super::session::is_unreachable(&e) || e.status().is_some_and(|s| s >= 500) => {
                return Err(e)
            }
            Err(e) => Some(e),
        };
        if let Some(e) = refusal {
            self.trust.set(Trust::Refused);
            self.forget_session().await;
            let _ = self.tokens.remove(&discovery_key(issuer)).await;
            return Err(e);
        }
        self.trust.set(Trust::Confirmed);
        let raw = self
            .session
            .borrow()
            .as_ref()
            .map(|s| s.id_token.raw.expose().to_string());
        if let Some(raw) = raw {
            if let Err(e) = self
                .verify(&raw, None, None, false, super::session::TokenFrom::Storage)
                .await
            {
                if super::session::is_unreachable(&e) {
                    // The endpoints are confirmed; the session is checked next time.
                    self.trust.set(Trust::Kept);
                } else {
                    self.forget_session().await;
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// The endpoints may be used to send the browser somewhere now, without
    /// waiting for the provider (`buildLogoutUrl` is synchronous): only when
    /// confirmed.
    pub(super) fn endpoints_confirmed(&self) -> Result<()> {
        match self.trust.get() {
            Trust::Confirmed => Ok(()),
            Trust::Kept => Err(AuthError::new(
                code::NETWORK_ERROR,
                "the provider has not been reached since this page started offline: its endpoints are not confirmed yet",
            )),
            Trust::Refused => Err(endpoints_refused()),
        }
    }
}

fn endpoints_refused() -> AuthError {
    AuthError::new(
        code::INVALID_DISCOVERY,
        "the provider's endpoints are not the ones kept with the session: the session was dropped; create the client again",
    )
}

/// What an operation of the API runs: its future, boxed.
pub(super) type Op =
    std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<JsValue, JsValue>>>>;

/// Every promise the API returns is made here: one `future_to_promise` for
/// all operations, each boxed behind `dyn Future`, instead of one
/// instantiation per future type (~250 B of .wasm each, 16 of them).
pub(super) fn promise(op: Op) -> Promise {
    future_to_promise(op)
}

/// An operation whose errors are the library's own (`AuthError` → JS `Error`).
pub(super) fn spawn<F>(future: F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue>> + 'static,
{
    spawn_boxed(Box::pin(future))
}

/// (One wrapper future for every operation: the generic part of [`spawn`] is
/// only the boxing.)
fn spawn_boxed(future: std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue>>>>) -> Promise {
    promise(Box::pin(async move { future.await.map_err(JsValue::from) }))
}

/// A JSON object → a plain JS object.
pub(super) fn object_to_js(object: crate::json::Map) -> JsValue {
    js_sys::JSON::parse(&crate::json::to_string(&crate::json::Value::Object(object))).unwrap_or(JsValue::NULL)
}

/// The options object read member by member (no serde derive for it on the
/// wasm path: 1 KB+ gzip less), each checked for its JS type.
fn client_options(o: &JsValue) -> Result<ClientOptions> {
    let e = option(o, "endpoints");
    if !(e.is_undefined() || e.is_null() || e.is_object()) {
        return Err(AuthError::new(
            code::INVALID_CONFIG,
            "`endpoints` must be an object",
        ));
    }
    let algs = match option(o, "idTokenSigningAlgs") {
        v if v.is_undefined() || v.is_null() => None,
        v => Some(super::strings(&v, "idTokenSigningAlgs")?),
    };
    let trusted_audiences = match option(o, "trustedAudiences") {
        v if v.is_undefined() || v.is_null() => None,
        v => Some(super::strings(&v, "trustedAudiences")?),
    };
    let mut r = super::FirstError::default();
    let options = ClientOptions {
        issuer: r.text(o, "issuer"),
        domain: r.text(o, "domain"),
        client_id: r.text(o, "clientId"),
        redirect_uri: r.text(o, "redirectUri"),
        scope: r.text(o, "scope"),
        audience: r.text(o, "audience"),
        token_request_encoding: r.text(o, "tokenRequestEncoding"),
        http_timeout_ms: r.number(o, "httpTimeoutMs"),
        endpoints: crate::config::EndpointOverrides {
            authorization: r.text(&e, "authorization"),
            token: r.text(&e, "token"),
            userinfo: r.text(&e, "userinfo"),
            jwks: r.text(&e, "jwks"),
            end_session: r.text(&e, "endSession"),
            revocation: r.text(&e, "revocation"),
            pushed_authorization_request: r.text(&e, "pushedAuthorizationRequest"),
        },
        allow_insecure_requests: r.flag(o, "allowInsecureRequests"),
        leeway: r.number(o, "leeway"),
        id_token_signing_algs: algs,
        jwks_max_age: r.number(o, "jwksMaxAge"),
        default_expires_in: r.number(o, "defaultExpiresIn"),
        silent_timeout_ms: r.number(o, "silentTimeoutMs"),
        pushed_authorization_requests: r.flag(o, "pushedAuthorizationRequests"),
        dpop: r.flag(o, "dpop"),
        trusted_audiences,
        expose_refresh_token: r.flag(o, "exposeRefreshToken"),
    };
    r.finish(options)
}

/// Reads `name` of an options object (or undefined).
pub(super) fn option(opts: &JsValue, name: &str) -> JsValue {
    if opts.is_object() {
        Reflect::get(opts, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// Sends the browser to `url`: the app's `openUrl(url)` (awaited), or `window.location.assign`.
async fn open_url(open_url: JsValue, url: &str) -> Result<()> {
    if open_url.is_undefined() || open_url.is_null() {
        let location = web_sys::window()
            .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, "no window to navigate: pass `openUrl`"))?
            .location();
        return location
            .assign(url)
            .map_err(|_| AuthError::new(code::INVALID_CONFIG, "the browser refused to navigate"));
    }
    let f: Function = open_url
        .dyn_into()
        .map_err(|_| AuthError::new(code::INVALID_CONFIG, "`openUrl` must be a function"))?;
    let returned = f
        .call1(&JsValue::NULL, &JsValue::from_str(url))
        .map_err(app_error)?;
    if returned.has_type::<Promise>() {
        JsFuture::from(Promise::from(returned)).await.map_err(app_error)?;
    }
    Ok(())
}

#[wasm_bindgen]
impl AuthClient {
    /// Stores a new pending login and returns the authorization URL.
    #[wasm_bindgen(js_name = buildAuthorizeUrl, unchecked_return_type = "Promise<string>")]
    pub fn build_authorize_url(
        &self,
        #[wasm_bindgen(unchecked_param_type = "AuthorizeOptions | undefined")] opts: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        spawn(async move { Ok(inner.start_login(opts).await?.into()) })
    }

    /// Starts a login: `opts.openUrl(url)` when given, else `window.location.assign(url)`.
    #[wasm_bindgen(js_name = loginWithRedirect, unchecked_return_type = "Promise<void>")]
    pub fn login_with_redirect(
        &self,
        #[wasm_bindgen(unchecked_param_type = "LoginWithRedirectOptions | undefined")] opts: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        spawn(async move {
            let opener = option(&opts, "openUrl");
            let url = inner.start_login(opts).await?;
            open_url(opener, &url).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Completes the login on the callback URL (default `window.location.href`):
    /// checks it, consumes the pending login exactly once, exchanges the code,
    /// verifies the ID token. In a popup or iframe of `loginWithPopup` or
    /// `checkSession`, it hands the URL to the page that waits instead (which
    /// exchanges the code) and resolves with no `appState`.
    #[wasm_bindgen(js_name = handleRedirectCallback, unchecked_return_type = "Promise<RedirectResult>")]
    pub fn handle_redirect_callback(&self, url: Option<String>) -> Promise {
        let inner = self.inner.clone();
        spawn(async move {
            let url = match url {
                Some(u) => u,
                None => web_sys::window()
                    .and_then(|w| w.location().href().ok())
                    .ok_or_else(|| {
                        AuthError::new(
                            code::INVALID_CALLBACK,
                            "no callback URL given and no window.location",
                        )
                    })?,
            };
            if frames::hand_to_opener(&url) {
                let result = js_sys::Object::new();
                let _ = Reflect::set(&result, &"appState".into(), &JsValue::UNDEFINED);
                return Ok(result.into());
            }
            inner.finish_login(&url, LoginKind::Redirect).await
        })
    }

    /// Signs in through a popup, without leaving the page: opens it now (call
    /// this from a click handler: browsers block popups opened later), sends it
    /// to the provider, reads the callback when it reaches `redirectUri`,
    /// exchanges the code, verifies the ID token and closes the popup.
    #[wasm_bindgen(js_name = loginWithPopup, unchecked_return_type = "Promise<RedirectResult>")]
    pub fn login_with_popup(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PopupLoginOptions | undefined")] opts: JsValue,
    ) -> Promise {
        // Synchronously, while the click's user activation lasts.
        let popup = frames::open_popup();
        let inner = self.inner.clone();
        spawn(async move { inner.login_in_popup(popup, opts).await })
    }

    /// Silent authentication (`prompt=none`) in a hidden iframe: resolves to
    /// `true` when the provider's session signed the user in, `false` when the
    /// user must interact (the session here is then left as it is).
    #[wasm_bindgen(js_name = checkSession, unchecked_return_type = "Promise<boolean>")]
    pub fn check_session(
        &self,
        #[wasm_bindgen(unchecked_param_type = "CheckSessionOptions | undefined")] opts: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        spawn(async move { Ok(inner.silent_login(&opts, LoginKind::Silent).await?.into()) })
    }

    /// The tokens of the signed-in session, or `null`.
    #[wasm_bindgen(js_name = getTokens, unchecked_return_type = "Tokens | null")]
    pub fn get_tokens(&self) -> Result<JsValue, JsValue> {
        let session = self.inner.session.borrow();
        match session.as_ref() {
            None => Ok(JsValue::NULL),
            Some(s) => Ok(object_to_js(
                s.tokens_for_app(self.inner.config.expose_refresh_token),
            )),
        }
    }

    /// True while signed in: the access token is valid, or a refresh token can renew it.
    #[wasm_bindgen(js_name = isAuthenticated)]
    pub fn is_authenticated(&self) -> bool {
        self.inner
            .session
            .borrow()
            .as_ref()
            .is_some_and(|s| s.is_active(now_ms()))
    }

    /// Every verified claim of the ID token, with the raw token as `__raw`; or `null`.
    #[wasm_bindgen(js_name = getIdTokenClaims, unchecked_return_type = "IdTokenClaims | null")]
    pub fn get_id_token_claims(&self) -> JsValue {
        match self.inner.session.borrow().as_ref() {
            None => JsValue::NULL,
            Some(s) => {
                let mut claims = s.id_token.claims.clone();
                claims.insert("__raw".into(), s.id_token.raw.expose().into());
                object_to_js(claims)
            }
        }
    }

    /// The user's profile claims (`sub`, `name`, `email`, `picture`, …), or `null`.
    #[wasm_bindgen(js_name = getUser, unchecked_return_type = "User | null")]
    pub fn get_user(&self) -> JsValue {
        match self.inner.session.borrow().as_ref() {
            None => JsValue::NULL,
            Some(s) => object_to_js(s.user()),
        }
    }

    /// GETs the userinfo endpoint with the access token (`getAccessToken`
    /// semantics: refreshed first when needed; DPoP-bound tokens with a
    /// proof); its `sub` must be the ID token's.
    #[wasm_bindgen(js_name = fetchUserInfo, unchecked_return_type = "Promise<User>")]
    pub fn fetch_user_info(&self) -> Promise {
        self.call_resource(None)
    }

    /// The provider's logout URL (RP-Initiated Logout, or Auth0's `/v2/logout`).
    #[wasm_bindgen(js_name = buildLogoutUrl)]
    pub fn build_logout_url(
        &self,
        #[wasm_bindgen(unchecked_param_type = "LogoutOptions | undefined")] opts: JsValue,
    ) -> Result<String, JsValue> {
        // Never a URL from a kept discovery document the provider has not confirmed.
        self.inner.endpoints_confirmed()?;
        Ok(self.inner.logout_url(&opts)?)
    }

    /// Forgets the session here first, then sends the browser to the provider's
    /// logout (with `openUrl` when given). Without an end-session endpoint it
    /// goes to `returnTo` if given. A `returnTo` that is not a safe place
    /// (see `check_return_to`) is `invalid_config`: nothing is forgotten and
    /// nothing navigates.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn logout(
        &self,
        #[wasm_bindgen(unchecked_param_type = "LogoutOptions | undefined")] opts: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        spawn(async move {
            let return_to = option(&opts, "returnTo").as_string();
            if let Some(r) = &return_to {
                check_return_to(r, &inner.config.redirect_uri, page_origin().as_deref())?;
            }
            // After an offline start, the kept document's end_session_endpoint
            // is storage until the provider confirms it: without that, the
            // session ends here only, and nothing navigates.
            if let Err(e) = inner.ensure_online().await {
                inner.forget_session().await;
                inner.forget_dpop_key().await;
                return Err(e);
            }
            let target = match inner.logout_url(&opts) {
                Ok(url) => Some(url),
                Err(_) if inner.metadata.end_session_endpoint.is_none() => return_to,
                Err(e) => return Err(e),
            };
            // RFC 7009: the refresh token stops working at the provider too.
            // Best effort, within httpTimeoutMs: a failure does not keep the user signed in.
            let _ = inner.revoke(false).await;
            inner.forget_session().await;
            inner.forget_dpop_key().await;
            if let Some(url) = target {
                open_url(option(&opts, "openUrl"), &url).await?;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Revokes the session's refresh token and access token at the provider
    /// (RFC 7009), then forgets the session here. Without a revocation
    /// endpoint: `invalid_config`, and nothing changes.
    #[wasm_bindgen(js_name = revokeTokens, unchecked_return_type = "Promise<void>")]
    pub fn revoke_tokens(&self) -> Promise {
        let inner = self.inner.clone();
        spawn(async move {
            if inner.metadata.revocation_endpoint.is_none() {
                return Err(AuthError::new(
                    code::INVALID_CONFIG,
                    "the provider has no revocation_endpoint (set `endpoints.revocation`)",
                ));
            }
            inner.revoke(true).await?;
            inner.forget_session().await;
            inner.forget_dpop_key().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The access token, refreshed first when it has `leeway` seconds or less
    /// left (or with `forceRefresh`). Concurrent calls share one refresh; with a
    /// shared `tokenStorage`, tabs do too (Web Locks).
    #[wasm_bindgen(js_name = getAccessToken, unchecked_return_type = "Promise<string>")]
    pub fn get_access_token(
        &self,
        #[wasm_bindgen(unchecked_param_type = "GetAccessTokenOptions | undefined")] opts: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(Box::pin(async move {
            let force = option(&opts, "forceRefresh").is_truthy();
            let scope = option(&opts, "scope").as_string();
            Ok(Inner::access_token(&inner, force, scope).await?.into())
        }))
    }

    /// `fetch(input, init)` with the access token `getAccessToken()` gives
    /// (refreshed or renewed first when needed): `Authorization: Bearer`, or
    /// for DPoP-bound tokens `Authorization: DPoP` and a proof (RFC 9449 §7),
    /// once more with the server's nonce when it asks for one. Resolves to the
    /// last `Response` whatever its status, as fetch does.
    #[wasm_bindgen(js_name = fetchWithAuth, unchecked_return_type = "Promise<Response>")]
    pub fn fetch_with_auth(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RequestInfo | URL")] input: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RequestInit | undefined")] init: JsValue,
    ) -> Promise {
        self.call_resource(Some((input, init)))
    }

    /// Refreshes now with the refresh token, and resolves to the new tokens.
    #[wasm_bindgen(unchecked_return_type = "Promise<Tokens>")]
    pub fn refresh(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RefreshOptions | undefined")] opts: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        let this = AuthClient { inner: inner.clone() };
        promise(Box::pin(async move {
            if inner.session.borrow().is_none() {
                return Err(AuthError::new(code::LOGIN_REQUIRED, "not signed in").into());
            }
            JsFuture::from(Inner::refresh_shared(
                &inner,
                option(&opts, "scope").as_string(),
                false,
            ))
            .await?;
            this.get_tokens()
        }))
    }

    /// Calls `callback({ type })` when the session changes: `"signed_in"`,
    /// `"refreshed"`, `"signed_out"`. Returns a function that unsubscribes.
    #[wasm_bindgen(js_name = onSessionChange, unchecked_return_type = "() => void")]
    pub fn on_session_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: SessionEvent) => void")] callback: Function,
    ) -> JsValue {
        let id = self.inner.next_listener.get();
        self.inner.next_listener.set(id + 1);
        self.inner.listeners.borrow_mut().push((id, callback));
        let weak = Rc::downgrade(&self.inner);
        Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.listeners.borrow_mut().retain(|(i, _)| *i != id);
            }
        })
        .into_js_value()
    }

    /// The issuer this client checks responses against.
    #[wasm_bindgen(getter)]
    pub fn issuer(&self) -> String {
        self.inner.config.issuer().to_string()
    }
}

impl AuthClient {
    /// A resource request with the access token `getAccessToken()` gives:
    /// the app's (`fetchWithAuth(input, init)`), resolving to its `Response`;
    /// or, without `app`, the userinfo endpoint's claims, whose `sub` must be
    /// the ID token's. DPoP-bound tokens go with a proof (see dpop.rs).
    fn call_resource(&self, app: Option<(JsValue, JsValue)>) -> Promise {
        let inner = self.inner.clone();
        let token = self.get_access_token(JsValue::UNDEFINED);
        promise(Box::pin(async move {
            let userinfo = match &app {
                Some(_) => String::new(),
                None => {
                    inner.ensure_online().await?;
                    inner.metadata.userinfo_endpoint.clone().ok_or_else(|| {
                        AuthError::new(
                            code::INVALID_CONFIG,
                            "the provider has no userinfo_endpoint (set `endpoints.userinfo`)",
                        )
                    })?
                }
            };
            let token = JsFuture::from(token).await?.as_string().unwrap_or_default();
            let key = inner.session_key_binding().await?;
            let request;
            let target = match &app {
                Some((input, init)) => {
                    request = http::new_request(input, init).map_err(|e| {
                        AuthError::new(
                            code::INVALID_CONFIG,
                            msg!(
                                "fetchWithAuth: not a request fetch can make ({})",
                                http::describe(&e)
                            ),
                        )
                    })?;
                    // Fetch's no-cors header guard would drop the Authorization
                    // header without a word: the request would go out unauthenticated.
                    let mode = Reflect::get(&request, &"mode".into())
                        .ok()
                        .and_then(|m| m.as_string());
                    if mode.as_deref() == Some("no-cors") {
                        return Err(AuthError::new(
                            code::INVALID_CONFIG,
                            "fetchWithAuth: a `mode: \"no-cors\"` request cannot carry the Authorization header (the browser drops it)",
                        )
                        .into());
                    }
                    Target::App(&request, &token)
                }
                None => Target::Get(&userinfo, &token, Expect::secret(code::INVALID_USERINFO_RESPONSE)),
            };
            let resp = inner.send_with_proof(target, key.as_ref()).await?;
            if app.is_some() {
                return Ok(resp.response);
            }
            let sub = match inner.session.borrow().as_ref() {
                Some(s) => s.id_token.sub.clone(),
                None => return Err(AuthError::new(code::LOGIN_REQUIRED, "not signed in").into()),
            };
            let claims = parse_userinfo_response(resp.status, &resp.body, &sub)?;
            Ok(object_to_js(claims))
        }))
    }
}

/// An exception thrown by the app's own `openUrl`.
fn app_error(e: JsValue) -> AuthError {
    // What it threw is read only for the message (see `msg!`).
    let detail = |e: &JsValue| {
        e.as_string()
            .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
            .unwrap_or_else(|| "unknown error".into())
    };
    AuthError::new(code::INVALID_CONFIG, msg!("`openUrl` failed: {}", detail(&e)))
}
impl Inner {
    /// `getAccessToken`: the session's access token, refreshed first (with
    /// the refresh token, else by silent authentication) when it has
    /// `leeway` seconds or less left, or with `force`.
    pub(super) async fn access_token(
        inner: &Rc<Inner>,
        force: bool,
        scope: Option<String>,
    ) -> std::result::Result<String, JsValue> {
        let current = |inner: &Inner| -> Result<(String, bool, bool)> {
            let session = inner.session.borrow();
            let s = session
                .as_ref()
                .ok_or_else(|| AuthError::new(code::LOGIN_REQUIRED, "not signed in"))?;
            Ok((
                s.tokens.access_token.expose().to_string(),
                inner.is_fresh(s),
                s.tokens.refresh_token.is_some(),
            ))
        };
        if inner.trust.get() == Trust::Refused {
            // The session went with the refused endpoints: say why.
            return Err(endpoints_refused().into());
        }
        let (token, fresh, can_refresh) = current(inner)?;
        if fresh && !force {
            return Ok(token);
        }
        if can_refresh {
            JsFuture::from(Inner::refresh_shared(inner, scope, !force)).await?;
        } else if JsFuture::from(Inner::renew_shared(inner)).await?.as_bool() != Some(true) {
            // No refresh token: silent authentication was the way to a new
            // access token, and the provider wants the user.
            return Err(AuthError::new(
                code::LOGIN_REQUIRED,
                "the access token expired, there is no refresh token, and silent authentication needs the user: log in again",
            )
            .into());
        }
        Ok(current(inner)?.0)
    }

    /// One silent renewal (a session without a refresh token) for every
    /// caller in this page: callers arriving while one is under way get the
    /// same promise (one iframe, one code exchange). Resolves to whether the
    /// provider renewed the session.
    fn renew_shared(inner: &Rc<Inner>) -> Promise {
        if let Some(p) = inner.renewing.borrow().as_ref() {
            return p.clone();
        }
        let this = inner.clone();
        let renewal = promise(Box::pin(async move {
            let renewed = this.silent_login(&JsValue::UNDEFINED, LoginKind::Renewal).await;
            this.renewing.replace(None);
            Ok(renewed?.into())
        }));
        inner.renewing.replace(Some(renewal.clone()));
        renewal
    }

    /// RFC 7009: revokes the refresh token (and, with `access`, the access
    /// token) at the revocation endpoint, if the provider has one.
    pub(super) async fn revoke(&self, access: bool) -> Result<()> {
        let Some(endpoint) = self.metadata.revocation_endpoint.clone() else {
            return Ok(());
        };
        self.ensure_online().await?;
        let (refresh, access_token) = match self.session.borrow().as_ref() {
            Some(s) => (s.tokens.refresh_token.clone(), s.tokens.access_token.clone()),
            None => return Ok(()),
        };
        let mut tokens = Vec::new();
        if let Some(r) = &refresh {
            tokens.push((r.expose().to_string(), "refresh_token"));
        }
        if access {
            tokens.push((access_token.expose().to_string(), "access_token"));
        }
        for (token, hint) in tokens {
            let req = revocation_request(&endpoint, &self.config.client_id, &token, hint);
            let expect = Expect::secret(code::REVOCATION_FAILED);
            let resp = self.send_with_proof(Target::Token(&req, expect), None).await?;
            // §2.2: 200 for a revoked token and for one that was invalid already.
            if resp.status != 200 {
                return Err(http_error(
                    resp.status,
                    &resp.body,
                    code::REVOCATION_FAILED,
                    "revocation endpoint",
                ));
            }
        }
        Ok(())
    }

    pub(super) fn logout_url(&self, opts: &JsValue) -> Result<String> {
        let return_to = option(opts, "returnTo").as_string();
        let session = self.session.borrow();
        let hint = session.as_ref().map(|s| s.id_token.raw.expose());
        logout_url(
            &self.config,
            &self.metadata,
            hint,
            return_to.as_deref(),
            page_origin().as_deref(),
        )
    }
}

/// The origin of the page (`location.origin`), where there is a window.
fn page_origin() -> Option<String> {
    web_sys::window().and_then(|w| w.location().origin().ok())
}
