//! `AuthClient`: the JS object an app holds.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::error::invalid_options;
use super::http::{self, Body};
use super::storage::KvStore;
use super::to_js;
use crate::authorize::{begin_authorization, AuthorizeOptions};
use crate::callback::{parse_callback_url, validate_authorization_response, AuthorizationResponse};
use crate::config::{ClientConfig, ClientOptions, ProviderSource, StorageKind};
use crate::discovery::{
    apply_overrides, discovery_url, metadata_from_overrides, overrides_cover_login, parse_discovery_document,
    static_metadata, ProviderMetadata,
};
use crate::error::{code, AuthError, Result};
use crate::id_token::{
    allowed_algs, check_same_subject, needs_fresh_jwks, verify_id_token, Expected, VerifiedIdToken,
};
use crate::jwks::{parse_jwks, JwkSet};
use crate::logout::logout_url;
use crate::session::{jwks_key, parse_stored_session, session_key, Session};
use crate::token::{
    authorization_code_request, merge_refreshed, parse_token_response, refresh_token_request,
};
use crate::transaction::{find_by_state, key_prefix, stale_keys, StateLookup, Transaction};
use crate::userinfo::parse_userinfo_response;

thread_local! {
    /// Discovery documents, fetched once per issuer per page.
    static DISCOVERY: RefCell<HashMap<String, ProviderMetadata>> = RefCell::new(HashMap::new());
    /// Key sets, by `jwks_uri`, fetched once per page (again once on an unknown `kid`).
    static JWKS: RefCell<HashMap<String, JwkSet>> = RefCell::new(HashMap::new());
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

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

struct Inner {
    config: ClientConfig,
    metadata: ProviderMetadata,
    algs: Vec<String>,
    transactions: KvStore,
    tokens: KvStore,
    session: RefCell<Option<Session>>,
    /// States whose callback is being handled in this page (claimed before any await).
    consuming: RefCell<std::collections::HashSet<String>>,
    /// The refresh under way in this page, shared by every caller (single flight).
    refreshing: RefCell<Option<Promise>>,
    listeners: RefCell<Vec<(u32, Function)>>,
    next_listener: std::cell::Cell<u32>,
}

/// Network attempts of one refresh: the first and at most two retries.
const REFRESH_ATTEMPTS: u32 = 3;
const RETRY_BASE_MS: i32 = 300;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &JsValue, ms: i32) -> JsValue;
}

async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// Starts `work` once holding the Web Lock `name` (shared by the origin's tabs)
/// and holds it until the work settles; where the Web Locks API is missing,
/// starts it at once.
async fn with_lock<F>(name: &str, work: F) -> std::result::Result<JsValue, JsValue>
where
    F: FnOnce() -> Promise + 'static,
{
    let locks = Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| Reflect::get(&n, &"locks".into()))
        .unwrap_or(JsValue::UNDEFINED);
    let request = Reflect::get(&locks, &"request".into()).unwrap_or(JsValue::UNDEFINED);
    let Ok(request) = request.dyn_into::<Function>() else {
        return JsFuture::from(work()).await;
    };
    // The lock is held until the promise the callback returns settles. (A
    // future_to_promise starts running at once, so it is made only in here.)
    let callback = Closure::once_into_js(move |_lock: JsValue| work());
    let held = request.call2(&locks, &JsValue::from_str(name), &callback)?;
    JsFuture::from(Promise::from(held)).await
}

/// A configured client. Make one with `createAuthClient(options)`.
#[wasm_bindgen]
pub struct AuthClient {
    inner: Rc<Inner>,
}

/// Validates the options, finds the provider's endpoints (discovery once per
/// issuer, none for `domain` or when `endpoints` gives both login endpoints),
/// restores a stored session, and returns the client.
#[wasm_bindgen(js_name = createAuthClient)]
pub async fn create_auth_client(
    #[wasm_bindgen(unchecked_param_type = "AuthClientOptions")] options: JsValue,
) -> Result<AuthClient, JsValue> {
    Ok(create(options).await?)
}

async fn create(options: JsValue) -> Result<AuthClient> {
    if !options.is_object() {
        return Err(AuthError::new(
            code::INVALID_CONFIG,
            "createAuthClient needs an options object",
        ));
    }
    // The storages may be adapter objects (with functions): taken out before serde reads the rest.
    let copy = js_sys::Object::assign(&js_sys::Object::new(), &options.clone().unchecked_into());
    let take = |name: &str| {
        let v = Reflect::get(&copy, &name.into()).unwrap_or(JsValue::UNDEFINED);
        let _ = Reflect::delete_property(&copy, &name.into());
        v
    };
    let transaction_storage = take("transactionStorage");
    let token_storage = take("tokenStorage");
    let opts: ClientOptions = serde_wasm_bindgen::from_value(copy.into())
        .map_err(|e| invalid_options("createAuthClient options", e))?;
    let config = ClientConfig::from_options(opts)?;
    if config.allow_insecure_requests {
        warn_insecure_once();
    }
    let transactions = KvStore::from_option(
        &transaction_storage,
        "transactionStorage",
        StorageKind::Session,
        KvStore::Page,
    )?;
    let tokens = KvStore::from_option(
        &token_storage,
        "tokenStorage",
        StorageKind::Memory,
        KvStore::Nothing,
    )?;
    let metadata = resolve_metadata(&config).await?;
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
        session: RefCell::new(None),
        consuming: RefCell::new(std::collections::HashSet::new()),
        refreshing: RefCell::new(None),
        listeners: RefCell::new(Vec::new()),
        next_listener: std::cell::Cell::new(0),
    });
    inner.restore_session().await;
    Ok(AuthClient { inner })
}

async fn resolve_metadata(config: &ClientConfig) -> Result<ProviderMetadata> {
    if let Some(m) = static_metadata(config) {
        return Ok(m);
    }
    if overrides_cover_login(&config.endpoints) {
        if let Some(m) = metadata_from_overrides(config) {
            return Ok(m);
        }
    }
    let ProviderSource::Issuer(issuer) = &config.provider else {
        return Err(AuthError::new(code::INVALID_CONFIG, "no issuer to discover"));
    };
    let cached = DISCOVERY.with(|d| d.borrow().get(issuer).cloned());
    let discovered = match cached {
        Some(m) => m,
        None => {
            let url = discovery_url(issuer);
            let resp = http::send("GET", &url, Body::None, None, config.http_timeout_ms).await?;
            if resp.status != 200 {
                return Err(AuthError::new(
                    code::INVALID_DISCOVERY,
                    format!("{url} answered HTTP {}", resp.status),
                )
                .with_status(resp.status));
            }
            let m = parse_discovery_document(&resp.body, issuer, config.allow_insecure_requests)?;
            DISCOVERY.with(|d| d.borrow_mut().insert(issuer.clone(), m.clone()));
            m
        }
    };
    Ok(apply_overrides(discovered, &config.endpoints))
}

fn spawn<F>(future: F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue>> + 'static,
{
    future_to_promise(async move { future.await.map_err(JsValue::from) })
}

/// JSON → a plain JS value.
fn json_to_js(value: &serde_json::Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokensView<'a> {
    access_token: &'a str,
    id_token: Option<&'a str>,
    refresh_token: Option<&'a str>,
    token_type: &'a str,
    expires_at: Option<u64>,
    scope: Option<&'a str>,
}

/// Reads `name` of an options object (or undefined).
fn option(opts: &JsValue, name: &str) -> JsValue {
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
    /// verifies the ID token.
    #[wasm_bindgen(js_name = handleRedirectCallback, unchecked_return_type = "Promise<RedirectResult>")]
    pub fn handle_redirect_callback(&self, url: Option<String>) -> Promise {
        let inner = self.inner.clone();
        spawn(async move { Inner::finish_login(&inner, url).await })
    }

    /// The tokens of the signed-in session, or `null`.
    #[wasm_bindgen(js_name = getTokens, unchecked_return_type = "Tokens | null")]
    pub fn get_tokens(&self) -> Result<JsValue, JsValue> {
        let session = self.inner.session.borrow();
        match session.as_ref() {
            None => Ok(JsValue::NULL),
            Some(s) => {
                let t = &s.tokens;
                to_js(&TokensView {
                    access_token: t.access_token.expose(),
                    id_token: t.id_token.as_ref().map(|t| t.expose()),
                    refresh_token: t.refresh_token.as_ref().map(|t| t.expose()),
                    token_type: &t.token_type,
                    expires_at: t.expires_at_ms,
                    scope: t.scope.as_deref(),
                })
            }
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
                json_to_js(&serde_json::Value::Object(claims))
            }
        }
    }

    /// The user's profile claims (`sub`, `name`, `email`, `picture`, …), or `null`.
    #[wasm_bindgen(js_name = getUser, unchecked_return_type = "User | null")]
    pub fn get_user(&self) -> JsValue {
        match self.inner.session.borrow().as_ref() {
            None => JsValue::NULL,
            Some(s) => json_to_js(&serde_json::Value::Object(s.user())),
        }
    }

    /// GETs the userinfo endpoint with the access token; its `sub` must be the ID token's.
    #[wasm_bindgen(js_name = fetchUserInfo, unchecked_return_type = "Promise<User>")]
    pub fn fetch_user_info(&self) -> Promise {
        let inner = self.inner.clone();
        spawn(async move {
            let (access, sub) = {
                let session = inner.session.borrow();
                let s = session
                    .as_ref()
                    .ok_or_else(|| AuthError::new(code::LOGIN_REQUIRED, "not signed in"))?;
                (s.tokens.access_token.clone(), s.id_token.sub.clone())
            };
            let url = inner.metadata.userinfo_endpoint.as_deref().ok_or_else(|| {
                AuthError::new(
                    code::INVALID_CONFIG,
                    "the provider has no userinfo_endpoint (set `endpoints.userinfo`)",
                )
            })?;
            let resp = http::send(
                "GET",
                url,
                Body::None,
                Some(access.expose()),
                inner.config.http_timeout_ms,
            )
            .await?;
            let claims = parse_userinfo_response(resp.status, &resp.body, &sub)?;
            Ok(json_to_js(&serde_json::Value::Object(claims)))
        })
    }

    /// The provider's logout URL (RP-Initiated Logout, or Auth0's `/v2/logout`).
    #[wasm_bindgen(js_name = buildLogoutUrl)]
    pub fn build_logout_url(
        &self,
        #[wasm_bindgen(unchecked_param_type = "LogoutOptions | undefined")] opts: JsValue,
    ) -> Result<String, JsValue> {
        Ok(self.inner.logout_url(&opts)?)
    }

    /// Forgets the session here first, then sends the browser to the provider's
    /// logout (with `openUrl` when given). Without an end-session endpoint it
    /// goes to `returnTo` if given.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn logout(
        &self,
        #[wasm_bindgen(unchecked_param_type = "LogoutOptions | undefined")] opts: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        spawn(async move {
            let target = match inner.logout_url(&opts) {
                Ok(url) => Some(url),
                Err(_) if inner.metadata.end_session_endpoint.is_none() => {
                    option(&opts, "returnTo").as_string()
                }
                Err(e) => return Err(e),
            };
            inner.forget_session().await;
            if let Some(url) = target {
                open_url(option(&opts, "openUrl"), &url).await?;
            }
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
        future_to_promise(async move {
            let force = option(&opts, "forceRefresh").is_truthy();
            let scope = option(&opts, "scope").as_string();
            {
                let session = inner.session.borrow();
                let s = session
                    .as_ref()
                    .ok_or_else(|| JsValue::from(AuthError::new(code::LOGIN_REQUIRED, "not signed in")))?;
                if !force && inner.is_fresh(s) {
                    return Ok(s.tokens.access_token.expose().into());
                }
            }
            JsFuture::from(Inner::refresh_shared(&inner, scope, !force)).await?;
            let session = inner.session.borrow();
            let s = session
                .as_ref()
                .ok_or_else(|| JsValue::from(AuthError::new(code::LOGIN_REQUIRED, "not signed in")))?;
            Ok(s.tokens.access_token.expose().into())
        })
    }

    /// Refreshes now with the refresh token, and resolves to the new tokens.
    #[wasm_bindgen(unchecked_return_type = "Promise<Tokens>")]
    pub fn refresh(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RefreshOptions | undefined")] opts: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        let this = AuthClient { inner: inner.clone() };
        future_to_promise(async move {
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
        })
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

/// An exception thrown by the app's own `openUrl`.
fn app_error(e: JsValue) -> AuthError {
    let detail = e
        .as_string()
        .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())));
    AuthError::new(
        code::INVALID_CONFIG,
        format!(
            "`openUrl` failed: {}",
            detail.unwrap_or_else(|| "unknown error".into())
        ),
    )
}

impl Inner {
    async fn start_login(&self, opts: JsValue) -> Result<String> {
        let opts: AuthorizeOptions = if opts.is_undefined() || opts.is_null() {
            AuthorizeOptions::default()
        } else {
            let app_state = option(&opts, "appState");
            let mut o: AuthorizeOptions =
                serde_wasm_bindgen::from_value(opts).map_err(|e| invalid_options("login options", e))?;
            o.app_state = app_state_to_json(&app_state)?;
            o
        };
        let now = now_ms();
        let (tx, url) = begin_authorization(&self.config, &self.metadata, opts, now)?;
        self.forget_stale_transactions(now).await;
        self.transactions.set(&tx.storage_key(), &tx.to_stored()).await?;
        Ok(url)
    }

    /// Best effort: a leftover that cannot be removed does no harm.
    async fn forget_stale_transactions(&self, now: u64) {
        let Ok(Some(keys)) = self.transactions.keys().await else {
            return;
        };
        let prefix = key_prefix(&self.config.client_id);
        let mut entries: Vec<(String, Option<String>)> = Vec::new();
        for k in keys.into_iter().filter(|k| k.starts_with(&prefix)) {
            let v = self.transactions.get(&k).await.ok().flatten();
            entries.push((k, v));
        }
        let entries = entries.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
        for key in stale_keys(entries, &self.config.client_id, now) {
            let _ = self.transactions.remove(&key).await;
        }
    }

    /// Finds the pending login for `state` and removes it from storage, before
    /// any network call, so the same callback can never be used twice. The
    /// state is claimed in this page before the first await, so two calls at
    /// once cannot both read it, whatever the storage.
    async fn take_transaction(&self, state: Option<&str>) -> Result<Transaction> {
        let claim = state.unwrap_or_default().to_string();
        if !self.consuming.borrow_mut().insert(claim.clone()) {
            return Err(no_pending_login());
        }
        let result = self.take_claimed(state).await;
        self.consuming.borrow_mut().remove(&claim);
        result
    }

    async fn take_claimed(&self, state: Option<&str>) -> Result<Transaction> {
        let lookup = match self.transactions.keys().await? {
            Some(keys) => find_by_state(keys.iter().map(String::as_str), &self.config.client_id, state),
            // An adapter that cannot list its keys: read the state's own key.
            None => {
                let key = format!(
                    "{}{}",
                    key_prefix(&self.config.client_id),
                    state.unwrap_or_default()
                );
                match (state, self.transactions.get(&key).await?) {
                    (Some(_), Some(_)) => StateLookup::Found(key),
                    _ => StateLookup::NoneStored,
                }
            }
        };
        let key = match lookup {
            StateLookup::Found(key) => key,
            StateLookup::Mismatch => {
                return Err(AuthError::new(
                    code::STATE_MISMATCH,
                    "no pending login has the callback's `state`: it was tampered with, or belongs to another login",
                ))
            }
            StateLookup::NoneStored => return Err(no_pending_login()),
        };
        let value = self.transactions.get(&key).await?;
        self.transactions.remove(&key).await?;
        let tx = Transaction::from_stored(value.as_deref().unwrap_or_default())?;
        if tx.is_expired(now_ms()) {
            return Err(AuthError::new(
                code::MISSING_TRANSACTION,
                "the pending login is older than 10 minutes; start the login again",
            ));
        }
        Ok(tx)
    }

    async fn finish_login(self: &Rc<Self>, url: Option<String>) -> Result<JsValue> {
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
        let response = parse_callback_url(&url)?;
        // A callback that matches no pending login (crafted, replayed) is
        // refused here and leaves the current session alone: a link cannot
        // sign the user out.
        let tx = self.take_transaction(response.state.as_deref()).await?;
        let result = self.complete_login(response, tx).await;
        if result.is_err() {
            // A login that was under way and failed leaves no session behind.
            self.forget_session().await;
        }
        result
    }

    /// The rest of the login, once its pending transaction is taken.
    async fn complete_login(
        self: &Rc<Self>,
        response: AuthorizationResponse,
        tx: Transaction,
    ) -> Result<JsValue> {
        let m = &self.metadata;
        let code = validate_authorization_response(
            response,
            &tx,
            self.config.issuer(),
            m.authorization_response_iss_parameter_supported,
        )?;
        // The key set is fetched while the code is exchanged: one round trip
        // of waiting instead of two. (A failure here is reported by verify().)
        let keys = {
            let this = self.clone();
            future_to_promise(async move {
                let _ = this.jwks(false).await;
                Ok(JsValue::UNDEFINED)
            })
        };
        let req =
            authorization_code_request(&m.token_endpoint, self.config.token_request_encoding, &tx, &code);
        let body = Body::Text {
            content_type: req.content_type,
            body: &req.body,
        };
        let resp = http::send("POST", &req.url, body, None, self.config.http_timeout_ms).await?;
        let tokens = parse_token_response(resp.status, &resp.body, now_ms(), true)?;
        let _ = JsFuture::from(keys).await;
        let raw = tokens
            .id_token
            .as_ref()
            .map(|t| t.expose().to_string())
            .unwrap_or_default();
        let id_token = self.verify(&raw, Some(&tx.nonce), tx.max_age, true).await?;
        self.store_session(Session { tokens, id_token }).await?;
        self.emit("signed_in");

        let result = js_sys::Object::new();
        let app_state = tx.app_state.as_ref().map_or(JsValue::UNDEFINED, json_to_js);
        let _ = Reflect::set(&result, &JsValue::from_str("appState"), &app_state);
        Ok(result.into())
    }

    /// The provider's key set: from this page's cache, else from `tokenStorage`,
    /// else fetched (`fresh` skips both caches).
    async fn jwks(&self, fresh: bool) -> Result<JwkSet> {
        let uri = self.metadata.jwks_uri.as_deref().ok_or_else(|| {
            AuthError::new(
                code::INVALID_CONFIG,
                "the provider has no jwks_uri (set `endpoints.jwks`)",
            )
        })?;
        if !fresh {
            if let Some(set) = JWKS.with(|j| j.borrow().get(uri).cloned()) {
                return Ok(set);
            }
            if let Ok(Some(stored)) = self.tokens.get(&jwks_key(uri)).await {
                if let Ok(set) = parse_jwks(&stored) {
                    JWKS.with(|j| j.borrow_mut().insert(uri.to_string(), set.clone()));
                    return Ok(set);
                }
            }
        }
        let resp = http::send("GET", uri, Body::None, None, self.config.http_timeout_ms).await?;
        if resp.status != 200 {
            return Err(
                AuthError::new(code::INVALID_JWKS, format!("{uri} answered HTTP {}", resp.status))
                    .with_status(resp.status),
            );
        }
        let set = parse_jwks(&resp.body)?;
        JWKS.with(|j| j.borrow_mut().insert(uri.to_string(), set.clone()));
        if self.tokens.persists() {
            let _ = self.tokens.set(&jwks_key(uri), &resp.body).await;
        }
        Ok(set)
    }

    /// Verifies an ID token; an unknown `kid` fetches the key set again once.
    async fn verify(
        &self,
        raw: &str,
        nonce: Option<&str>,
        max_age: Option<u64>,
        check_expiry: bool,
    ) -> Result<VerifiedIdToken> {
        let mut set = self.jwks(false).await?;
        if needs_fresh_jwks(raw, &set) {
            set = self.jwks(true).await?;
        }
        let expected = Expected {
            issuer: self.config.issuer(),
            client_id: &self.config.client_id,
            nonce,
            max_age,
            algs: &self.algs,
            leeway_s: self.config.leeway_s,
            now_s: now_ms() / 1000,
            check_expiry,
        };
        verify_id_token(raw, &set, &expected)
    }

    async fn store_session(&self, session: Session) -> Result<()> {
        let stored = session.to_stored(&self.config.client_id, self.config.issuer());
        self.session.replace(Some(session));
        self.tokens
            .set(&session_key(&self.config.client_id), &stored)
            .await
    }

    async fn forget_session(&self) {
        let had = self.session.replace(None).is_some();
        let _ = self.tokens.remove(&session_key(&self.config.client_id)).await;
        if had {
            self.emit("signed_out");
        }
    }

    fn emit(&self, kind: &str) {
        let event = js_sys::Object::new();
        let _ = Reflect::set(&event, &"type".into(), &kind.into());
        let listeners: Vec<Function> = self.listeners.borrow().iter().map(|(_, f)| f.clone()).collect();
        for f in listeners {
            // A throwing listener must not break the library's flow.
            let _ = f.call1(&JsValue::NULL, &event);
        }
    }

    /// The access token has more than `leeway` seconds left.
    fn is_fresh(&self, s: &Session) -> bool {
        s.tokens
            .expires_at_ms
            .is_none_or(|t| t > now_ms() + self.config.leeway_s * 1000)
    }

    /// One refresh for every caller in this page: callers arriving while one
    /// is under way get the same promise.
    fn refresh_shared(inner: &Rc<Inner>, scope: Option<String>, only_if_stale: bool) -> Promise {
        if let Some(p) = inner.refreshing.borrow().as_ref() {
            return p.clone();
        }
        let this = inner.clone();
        let promise = future_to_promise(async move {
            let lock = format!("oidc-pkce:refresh:{}", this.config.client_id);
            let work = {
                let this = this.clone();
                move || {
                    future_to_promise(async move {
                        this.refresh_locked(scope, only_if_stale)
                            .await
                            .map_err(JsValue::from)?;
                        Ok(JsValue::UNDEFINED)
                    })
                }
            };
            let result = with_lock(&lock, work).await;
            this.refreshing.replace(None);
            result
        });
        inner.refreshing.replace(Some(promise.clone()));
        promise
    }

    /// Under the lock: take up what another tab stored meanwhile, and refresh
    /// only if still needed.
    async fn refresh_locked(&self, scope: Option<String>, only_if_stale: bool) -> Result<()> {
        self.adopt_stored_session().await?;
        let (previous, refresh_token) = {
            let session = self.session.borrow();
            let s = session
                .as_ref()
                .ok_or_else(|| AuthError::new(code::LOGIN_REQUIRED, "not signed in"))?;
            if only_if_stale && self.is_fresh(s) {
                return Ok(());
            }
            let rt = s.tokens.refresh_token.clone().ok_or_else(|| {
                AuthError::new(
                    code::MISSING_REFRESH_TOKEN,
                    "the session has no refresh token: ask for the offline_access scope to get one",
                )
            })?;
            (s.clone(), rt)
        };
        let req = refresh_token_request(
            &self.metadata.token_endpoint,
            self.config.token_request_encoding,
            &self.config.client_id,
            &refresh_token,
            scope.as_deref(),
        );
        let mut attempt = 0;
        let resp = loop {
            let body = Body::Text {
                content_type: req.content_type,
                body: &req.body,
            };
            match http::send("POST", &req.url, body, None, self.config.http_timeout_ms).await {
                Ok(resp) => break resp,
                // Only a request that got no answer is tried again; never an HTTP error.
                Err(e)
                    if (e.code() == code::NETWORK_ERROR || e.code() == code::TIMEOUT)
                        && attempt + 1 < REFRESH_ATTEMPTS =>
                {
                    sleep(RETRY_BASE_MS * 3_i32.pow(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let new = match parse_token_response(resp.status, &resp.body, now_ms(), false) {
            Ok(t) => t,
            Err(e) if e.code() == "invalid_grant" => {
                // The refresh token is spent, revoked or expired: the session is over.
                self.forget_session().await;
                return Err(e.recode(code::LOGIN_REQUIRED));
            }
            Err(e) => return Err(e),
        };
        let id_token = match &new.id_token {
            Some(raw) => {
                let checked = match self.verify(raw.expose(), None, None, true).await {
                    Ok(t) => check_same_subject(&previous.id_token, &t).map(|_| t),
                    Err(e) => Err(e),
                };
                match checked {
                    Ok(t) => t,
                    Err(e) => {
                        self.forget_session().await;
                        return Err(e);
                    }
                }
            }
            None => previous.id_token.clone(),
        };
        let tokens = merge_refreshed(&previous.tokens, new);
        self.store_session(Session { tokens, id_token }).await?;
        self.emit("refreshed");
        Ok(())
    }

    /// Another tab sharing `tokenStorage` may have refreshed (rotating the
    /// refresh token) or signed out: the stored session is the newer truth.
    async fn adopt_stored_session(&self) -> Result<()> {
        if !self.tokens.persists() {
            return Ok(());
        }
        let key = session_key(&self.config.client_id);
        let stored = match self.tokens.get(&key).await? {
            Some(s) => s,
            None => {
                self.forget_session().await;
                return Err(AuthError::new(
                    code::LOGIN_REQUIRED,
                    "the session was ended (in another tab?)",
                ));
            }
        };
        let Ok(parsed) = parse_stored_session(&stored, &self.config.client_id, self.config.issuer()) else {
            return Ok(());
        };
        let changed = {
            let session = self.session.borrow();
            session.as_ref().is_none_or(|s| s.tokens != parsed.tokens)
        };
        if !changed {
            return Ok(());
        }
        let id_token = self.verify(parsed.id_token.expose(), None, None, false).await?;
        if let Some(current) = self.session.borrow().as_ref() {
            check_same_subject(&current.id_token, &id_token)?;
        }
        self.session.replace(Some(Session {
            tokens: parsed.tokens,
            id_token,
        }));
        Ok(())
    }

    /// Reads the stored session back, if any, verifying its ID token again. A
    /// tampered, foreign or finished session is removed; one that cannot be
    /// checked now (offline, no cached keys) is kept for a later page load.
    async fn restore_session(&self) {
        let key = session_key(&self.config.client_id);
        let Ok(Some(stored)) = self.tokens.get(&key).await else {
            return;
        };
        let parsed = match parse_stored_session(&stored, &self.config.client_id, self.config.issuer()) {
            Ok(p) => p,
            Err(_) => {
                let _ = self.tokens.remove(&key).await;
                return;
            }
        };
        match self.verify(parsed.id_token.expose(), None, None, false).await {
            Ok(id_token) => {
                let session = Session {
                    tokens: parsed.tokens,
                    id_token,
                };
                if session.is_active(now_ms()) {
                    self.session.replace(Some(session));
                } else {
                    let _ = self.tokens.remove(&key).await;
                }
            }
            Err(e) if e.code() == code::NETWORK_ERROR || e.code() == code::TIMEOUT => {}
            Err(_) => {
                let _ = self.tokens.remove(&key).await;
            }
        }
    }

    fn logout_url(&self, opts: &JsValue) -> Result<String> {
        let return_to = option(opts, "returnTo").as_string();
        let session = self.session.borrow();
        let hint = session.as_ref().map(|s| s.id_token.raw.expose());
        logout_url(&self.config, &self.metadata, hint, return_to.as_deref())
    }
}

fn no_pending_login() -> AuthError {
    AuthError::new(
        code::MISSING_TRANSACTION,
        "there is no pending login: this callback was already used, expired, or was started in a storage this page cannot see",
    )
}

/// The app's `appState` as JSON (it must survive storage).
fn app_state_to_json(value: &JsValue) -> Result<Option<serde_json::Value>> {
    if value.is_undefined() {
        return Ok(None);
    }
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, "`appState` must be JSON-serializable"))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|_| AuthError::new(code::INVALID_CONFIG, "`appState` must be JSON-serializable"))
}
