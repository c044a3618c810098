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
use super::storage::Store;
use super::to_js;
use crate::authorize::{begin_authorization, AuthorizeOptions};
use crate::callback::{parse_callback_url, validate_authorization_response};
use crate::config::{ClientConfig, ClientOptions, ProviderSource};
use crate::discovery::{
    apply_overrides, discovery_url, metadata_from_overrides, overrides_cover_login, parse_discovery_document,
    static_metadata, ProviderMetadata,
};
use crate::error::{code, AuthError, Result};
use crate::token::{authorization_code_request, parse_token_response, TokenSet};
use crate::transaction::{find_by_state, stale_keys, StateLookup, Transaction};

thread_local! {
    /// Discovery documents, fetched once per issuer per page.
    static DISCOVERY: RefCell<HashMap<String, ProviderMetadata>> = RefCell::new(HashMap::new());
}

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

struct Inner {
    config: ClientConfig,
    metadata: ProviderMetadata,
    transactions: Store,
    tokens: RefCell<Option<TokenSet>>,
}

/// A configured client. Make one with `createAuthClient(options)`.
#[wasm_bindgen]
pub struct AuthClient {
    inner: Rc<Inner>,
}

/// Validates the options, finds the provider's endpoints (discovery once per
/// issuer, none for `domain` or when `endpoints` gives both login endpoints)
/// and returns the client.
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
    let opts: ClientOptions = serde_wasm_bindgen::from_value(options)
        .map_err(|e| invalid_options("createAuthClient options", e))?;
    let config = ClientConfig::from_options(opts)?;
    let transactions = Store::open(config.transaction_storage)?;
    let metadata = resolve_metadata(&config).await?;
    Ok(AuthClient {
        inner: Rc::new(Inner {
            config,
            metadata,
            transactions,
            tokens: RefCell::new(None),
        }),
    })
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

#[wasm_bindgen]
impl AuthClient {
    /// Stores a new pending login and returns the authorization URL.
    #[wasm_bindgen(js_name = buildAuthorizeUrl, unchecked_return_type = "Promise<string>")]
    pub fn build_authorize_url(
        &self,
        #[wasm_bindgen(unchecked_param_type = "AuthorizeOptions | undefined")] opts: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        spawn(async move { Ok(inner.start_login(opts)?.into()) })
    }

    /// Starts a login: `opts.openUrl(url)` when given, else `window.location.assign(url)`.
    #[wasm_bindgen(js_name = loginWithRedirect, unchecked_return_type = "Promise<void>")]
    pub fn login_with_redirect(
        &self,
        #[wasm_bindgen(unchecked_param_type = "LoginWithRedirectOptions | undefined")] opts: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        spawn(async move {
            let open_url = if opts.is_object() {
                Reflect::get(&opts, &JsValue::from_str("openUrl")).unwrap_or(JsValue::UNDEFINED)
            } else {
                JsValue::UNDEFINED
            };
            let url = inner.start_login(opts)?;
            if open_url.is_undefined() || open_url.is_null() {
                let location = web_sys::window()
                    .ok_or_else(|| {
                        AuthError::new(code::INVALID_CONFIG, "no window to navigate: pass `openUrl`")
                    })?
                    .location();
                location
                    .assign(&url)
                    .map_err(|_| AuthError::new(code::INVALID_CONFIG, "the browser refused to navigate"))?;
                return Ok(JsValue::UNDEFINED);
            }
            let open_url: Function = open_url
                .dyn_into()
                .map_err(|_| AuthError::new(code::INVALID_CONFIG, "`openUrl` must be a function"))?;
            let returned = open_url
                .call1(&JsValue::NULL, &JsValue::from_str(&url))
                .map_err(app_error)?;
            if returned.has_type::<Promise>() {
                JsFuture::from(Promise::from(returned)).await.map_err(app_error)?;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Completes the login on the callback URL (default `window.location.href`):
    /// checks it, consumes the pending login exactly once, exchanges the code.
    #[wasm_bindgen(js_name = handleRedirectCallback, unchecked_return_type = "Promise<RedirectResult>")]
    pub fn handle_redirect_callback(&self, url: Option<String>) -> Promise {
        let inner = self.inner.clone();
        spawn(async move {
            let result = inner.finish_login(url).await;
            if result.is_err() {
                // A failed login leaves no tokens behind.
                inner.tokens.replace(None);
            }
            result
        })
    }

    /// The tokens of the signed-in session, or `null`.
    #[wasm_bindgen(js_name = getTokens, unchecked_return_type = "Tokens | null")]
    pub fn get_tokens(&self) -> Result<JsValue, JsValue> {
        let tokens = self.inner.tokens.borrow();
        match tokens.as_ref() {
            None => Ok(JsValue::NULL),
            Some(t) => to_js(&TokensView {
                access_token: t.access_token.expose(),
                id_token: t.id_token.as_ref().map(|t| t.expose()),
                refresh_token: t.refresh_token.as_ref().map(|t| t.expose()),
                token_type: &t.token_type,
                expires_at: t.expires_at_ms,
                scope: t.scope.as_deref(),
            }),
        }
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
    fn start_login(&self, opts: JsValue) -> Result<String> {
        let opts: AuthorizeOptions = if opts.is_undefined() || opts.is_null() {
            AuthorizeOptions::default()
        } else {
            let app_state = Reflect::get(&opts, &JsValue::from_str("appState")).unwrap_or(JsValue::UNDEFINED);
            let mut o: AuthorizeOptions =
                serde_wasm_bindgen::from_value(opts).map_err(|e| invalid_options("login options", e))?;
            o.app_state = app_state_to_json(&app_state)?;
            o
        };
        let now = now_ms();
        let (tx, url) = begin_authorization(&self.config, &self.metadata, opts, now)?;
        self.forget_stale_transactions(now);
        self.transactions.set(&tx.storage_key(), &tx.to_stored())?;
        Ok(url)
    }

    /// Best effort: a leftover that cannot be removed does no harm.
    fn forget_stale_transactions(&self, now: u64) {
        let Ok(keys) = self.transactions.keys() else {
            return;
        };
        let values: Vec<(String, Option<String>)> = keys
            .into_iter()
            .map(|k| {
                let v = self.transactions.get(&k).ok().flatten();
                (k, v)
            })
            .collect();
        let entries = values.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
        for key in stale_keys(entries, &self.config.client_id, now) {
            let _ = self.transactions.remove(&key);
        }
    }

    /// Finds the pending login for `state` and removes it from storage, before
    /// any network call, so the same callback can never be used twice.
    fn take_transaction(&self, state: Option<&str>) -> Result<Transaction> {
        let keys = self.transactions.keys()?;
        let key = match find_by_state(keys.iter().map(String::as_str), &self.config.client_id, state) {
            StateLookup::Found(key) => key,
            StateLookup::Mismatch => {
                return Err(AuthError::new(
                    code::STATE_MISMATCH,
                    "no pending login has the callback's `state`: it was tampered with, or belongs to another login",
                ))
            }
            StateLookup::NoneStored => {
                return Err(AuthError::new(
                    code::MISSING_TRANSACTION,
                    "there is no pending login: this callback was already used, expired, or was started in a storage this page cannot see",
                ))
            }
        };
        let value = self.transactions.get(&key)?;
        self.transactions.remove(&key)?;
        let tx = Transaction::from_stored(value.as_deref().unwrap_or_default())?;
        if tx.is_expired(now_ms()) {
            return Err(AuthError::new(
                code::MISSING_TRANSACTION,
                "the pending login is older than 10 minutes; start the login again",
            ));
        }
        Ok(tx)
    }

    async fn finish_login(&self, url: Option<String>) -> Result<JsValue> {
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
        let tx = self.take_transaction(response.state.as_deref())?;
        let m = &self.metadata;
        let code = validate_authorization_response(
            response,
            &tx,
            self.config.issuer(),
            m.authorization_response_iss_parameter_supported,
        )?;
        let req =
            authorization_code_request(&m.token_endpoint, self.config.token_request_encoding, &tx, &code);
        let body = Body::Text {
            content_type: req.content_type,
            body: &req.body,
        };
        let resp = http::send("POST", &req.url, body, None, self.config.http_timeout_ms).await?;
        let tokens = parse_token_response(resp.status, &resp.body, now_ms(), true)?;
        self.tokens.replace(Some(tokens));

        let result = js_sys::Object::new();
        let app_state = match &tx.app_state {
            Some(v) => js_sys::JSON::parse(&v.to_string()).unwrap_or(JsValue::UNDEFINED),
            None => JsValue::UNDEFINED,
        };
        let _ = Reflect::set(&result, &JsValue::from_str("appState"), &app_state);
        Ok(result.into())
    }
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
