//! The login: the pending transaction, the callback, the code exchange.

use std::rc::Rc;

use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::check_keys;
use super::client::{now_ms, option, Inner};
use super::dpop::Target;
use super::frames::{self, Outcome};
use super::http::Expect;
use super::session::TokenFrom;
use crate::authorize::{authorization_request, authorization_url, AuthorizeOptions};
use crate::callback::{parse_callback_url, validate_authorization_response, AuthorizationResponse};
use crate::config::DEFAULT_POPUP_TIMEOUT_MS;
use crate::error::{code, AuthError, Result};
use crate::par;
use crate::session::Session;
use crate::token::{authorization_code_request, parse_token_response};
use crate::transaction::{find_by_state, key_prefix, stale_keys, StateLookup, Transaction};

impl Inner {
    /// The storage key prefix of this client's pending logins (issuer and client id).
    fn transaction_prefix(&self) -> String {
        key_prefix(self.config.issuer(), &self.config.client_id)
    }

    pub(super) async fn start_login(&self, opts: JsValue) -> Result<String> {
        self.ensure_online().await?;
        let opts: AuthorizeOptions = if opts.is_undefined() || opts.is_null() {
            AuthorizeOptions::default()
        } else {
            check_keys(&opts, crate::config::LOGIN_OPTIONS, "the login options")?;
            // `extraParams` through JSON (its values: strings, numbers, booleans).
            let extra = match option(&opts, "extraParams") {
                v if v.is_undefined() || v.is_null() => None,
                v => match js_sys::JSON::stringify(&v).ok().and_then(|t| t.as_string()) {
                    Some(t) if v.is_object() => match crate::json::parse(&t) {
                        Ok(crate::json::Value::Object(m)) => Some(m),
                        _ => None,
                    },
                    _ => None,
                }
                .map(Some)
                .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, "`extraParams` must be an object"))?,
            };
            let app_state = app_state_json(&option(&opts, "appState"))?;
            let mut r = super::FirstError::default();
            let read = AuthorizeOptions {
                app_state,
                scope: r.text(&opts, "scope"),
                audience: r.text(&opts, "audience"),
                prompt: r.text(&opts, "prompt"),
                max_age: r.number(&opts, "maxAge"),
                login_hint: r.text(&opts, "loginHint"),
                extra_params: extra,
            };
            r.finish(read)?
        };
        let now = now_ms();
        // RFC 9449 §10: `dpop_jkt` binds the code to the key that will redeem it.
        let dpop_jkt = match self.config.dpop {
            true => match self.dpop_key(true).await? {
                Some(k) => Some(k.jkt),
                None => return Err(AuthError::new(code::STORAGE_ERROR, "no DPoP key could be made")),
            },
            false => None,
        };
        let (tx, params) = authorization_request(&self.config, opts, now, dpop_jkt)?;
        let url = match par::pushed_request_endpoint(&self.config, &self.metadata)? {
            None => authorization_url(&self.metadata.authorization_endpoint, &params)?,
            Some(endpoint) => {
                let req = par::pushed_authorization_request(endpoint, &params);
                let expect = Expect::no_store(code::INVALID_PAR_RESPONSE);
                let resp = self.send_with_proof(Target::Token(&req, expect), None).await?;
                let request_uri = par::parse_pushed_response(resp.status, &resp.body)?;
                par::authorization_url(&self.metadata.authorization_endpoint, &tx.client_id, &request_uri)?
            }
        };
        self.forget_stale_transactions(now).await;
        self.transactions.set(&tx.storage_key(), &tx.to_stored()).await?;
        Ok(url)
    }

    /// Best effort: a leftover that cannot be removed does no harm.
    pub(super) async fn forget_stale_transactions(&self, now: u64) {
        let Ok(Some(keys)) = self.transactions.keys().await else {
            return;
        };
        let prefix = self.transaction_prefix();
        let mut entries: Vec<(String, Option<String>)> = Vec::new();
        for k in keys.into_iter().filter(|k| k.starts_with(&prefix)) {
            let v = self.transactions.get(&k).await.ok().flatten();
            entries.push((k, v));
        }
        let entries = entries.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
        for key in stale_keys(entries, &prefix, now) {
            let _ = self.transactions.remove(&key).await;
        }
    }

    /// Finds the pending login for `state` and removes it from storage, before
    /// any network call, so the same callback can never be used twice. The
    /// state is claimed in this page before the first await, so two calls at
    /// once cannot both read it, whatever the storage.
    pub(super) async fn take_transaction(&self, state: Option<&str>) -> Result<Transaction> {
        let claim = state.unwrap_or_default().to_string();
        if !self.consuming.borrow_mut().insert(claim.clone(), ()) {
            return Err(no_pending_login());
        }
        let result = self.take_claimed(state).await;
        self.consuming.borrow_mut().remove(&claim);
        result
    }

    pub(super) async fn take_claimed(&self, state: Option<&str>) -> Result<Transaction> {
        let lookup = match self.transactions.keys().await? {
            Some(keys) => find_by_state(keys.iter().map(String::as_str), &self.transaction_prefix(), state),
            // An adapter that cannot list its keys: read the state's own key.
            None => {
                let key = format!("{}{}", self.transaction_prefix(), state.unwrap_or_default());
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

    /// Completes a login from its callback URL. `silent`: a failure leaves an
    /// existing session as it is (silent authentication only asks).
    pub(super) async fn finish_login(self: &Rc<Self>, url: &str, silent: bool) -> Result<JsValue> {
        let response = parse_callback_url(url)?;
        self.ensure_online().await?;
        // A callback that matches no pending login (crafted, replayed) is
        // refused here and leaves the current session alone: a link cannot
        // sign the user out.
        let tx = self.take_transaction(response.state.as_deref()).await?;
        let result = self.complete_login(response, tx).await;
        if result.is_err() && !silent {
            // A login that was under way and failed leaves no session behind.
            self.forget_session().await;
        }
        result
    }

    /// `loginWithPopup`: the login in `popup` (opened already, synchronously,
    /// by the caller), then the code exchange here. The popup is closed
    /// whatever happens.
    pub(super) async fn login_in_popup(self: &Rc<Self>, popup: JsValue, opts: JsValue) -> Result<JsValue> {
        if popup.is_null() || popup.is_undefined() {
            return Err(AuthError::new(
                code::POPUP_BLOCKED,
                "the browser did not open the popup: call loginWithPopup() from a click handler",
            ));
        }
        let started = match timeout_option(&opts, DEFAULT_POPUP_TIMEOUT_MS) {
            Ok(timeout) => self.start_login(opts).await.map(|url| (timeout, url)),
            Err(e) => Err(e),
        };
        let (timeout, url) = match started {
            Ok(s) => s,
            Err(e) => {
                frames::dispose(&popup);
                return Err(e);
            }
        };
        frames::go(&popup, &url);
        let outcome = frames::wait(&popup, &self.config.redirect_uri, timeout).await;
        frames::dispose(&popup);
        match outcome {
            Outcome::Url(url) => self.finish_login(&url, false).await,
            Outcome::Closed => Err(AuthError::new(
                code::POPUP_CLOSED,
                "the popup was closed before the login completed",
            )),
            Outcome::Timeout => Err(AuthError::new(
                code::TIMEOUT,
                "the login in the popup did not complete in time (`timeoutMs`)",
            )),
        }
    }

    /// Silent authentication (OIDC Core §3.1.2.1, `prompt=none`) in a hidden
    /// iframe: `true` when the provider's session signed the user in (the code
    /// exchanged, the ID token verified); `false` when the provider says the
    /// user must interact, and the session here is left as it is.
    pub(super) async fn silent_login(self: &Rc<Self>, opts: &JsValue) -> Result<bool> {
        let timeout = timeout_option(opts, self.config.silent_timeout_ms)?;
        let login = js_sys::Object::new();
        if opts.is_object() {
            js_sys::Object::assign(&login, opts.unchecked_ref());
        }
        let _ = Reflect::delete_property(&login, &"timeoutMs".into());
        let _ = Reflect::set(&login, &"prompt".into(), &"none".into());
        let frame = frames::open_frame();
        if frame.is_null() {
            // No document to hold an iframe (a worker): nothing to ask silently.
            return Ok(false);
        }
        let url = match self.start_login(login.into()).await {
            Ok(url) => url,
            Err(e) => {
                frames::dispose(&frame);
                return Err(e);
            }
        };
        frames::go(&frame, &url);
        let outcome = frames::wait(&frame, &self.config.redirect_uri, timeout).await;
        frames::dispose(&frame);
        match outcome {
            Outcome::Url(url) => match self.finish_login(&url, true).await {
                Ok(_) => Ok(true),
                // OIDC Core §3.1.2.6: the End-User must interact first.
                Err(e) if SILENT_REFUSALS.contains(&e.code()) => Ok(false),
                Err(e) => Err(e),
            },
            Outcome::Closed => Ok(false),
            Outcome::Timeout => Err(AuthError::new(
                code::TIMEOUT,
                // (An integer: formatting an f64 would pull ~10 KB of float printing into the module.)
                msg!(
                    "silent authentication got no answer within {} ms (the provider's cookie may be \
                     blocked in iframes, or its pages may refuse to be framed)",
                    timeout as u64
                ),
            )),
        }
    }

    /// The rest of the login, once its pending transaction is taken.
    pub(super) async fn complete_login(
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
            super::client::promise(Box::pin(async move {
                let _ = this.jwks(TokenFrom::Provider).await;
                Ok(JsValue::UNDEFINED)
            }))
        };
        // The key the authorization request named signs the exchange (RFC 9449 §10).
        let key = match &tx.dpop_jkt {
            Some(jkt) => Some(self.dpop_key_for(jkt).await?),
            None => None,
        };
        let req =
            authorization_code_request(&m.token_endpoint, self.config.token_request_encoding, &tx, &code);
        let expect = Expect::no_store(code::INVALID_TOKEN_RESPONSE);
        let resp = self
            .send_with_proof(Target::Token(&req, expect), key.as_ref())
            .await?;
        let tokens = parse_token_response(
            resp.status,
            &resp.body,
            now_ms(),
            true,
            self.config.default_expires_in_s,
        )?;
        if key.is_some() {
            crate::dpop::check_token_type(&tokens.token_type, resp.status)?;
        }
        let _ = JsFuture::from(keys).await;
        let raw = tokens
            .id_token
            .as_ref()
            .map(|t| t.expose().to_string())
            .unwrap_or_default();
        let id_token = self
            .verify(&raw, Some(&tx.nonce), tx.max_age, true, TokenFrom::Provider)
            .await?;
        self.store_session(Session {
            tokens,
            id_token,
            dpop_jkt: key.map(|k| k.jkt.clone()),
        })
        .await?;
        self.emit("signed_in");

        let result = js_sys::Object::new();
        // The app's JSON text, parsed by the browser: keys in the app's order.
        let app_state = match tx.app_state.as_deref() {
            Some(text) => js_sys::JSON::parse(text).unwrap_or(JsValue::UNDEFINED),
            None => JsValue::UNDEFINED,
        };
        let _ = Reflect::set(&result, &JsValue::from_str("appState"), &app_state);
        Ok(result.into())
    }
}

/// The provider's answers to `prompt=none` that mean "not without the user".
const SILENT_REFUSALS: &[&str] = &[
    "login_required",
    "interaction_required",
    "consent_required",
    "account_selection_required",
];

/// `opts.timeoutMs`, or `default`.
fn timeout_option(opts: &JsValue, default: u32) -> Result<f64> {
    match option(opts, "timeoutMs") {
        v if v.is_undefined() || v.is_null() => Ok(default as f64),
        v => match v.as_f64() {
            Some(ms) if (1.0..=3_600_000.0).contains(&ms) => Ok(ms),
            _ => Err(AuthError::new(
                code::INVALID_CONFIG,
                "`timeoutMs` must be a number of milliseconds from 1 to 3600000",
            )),
        },
    }
}

fn no_pending_login() -> AuthError {
    AuthError::new(
        code::MISSING_TRANSACTION,
        "there is no pending login: this callback was already used, expired, or was started in a storage this page cannot see",
    )
}

/// The app's `appState` as the JSON text `JSON.stringify` makes of it (it
/// must survive storage, and come back with its keys in the app's order).
fn app_state_json(value: &JsValue) -> Result<Option<String>> {
    if value.is_undefined() {
        return Ok(None);
    }
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .map(Some)
        .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, "`appState` must be JSON-serializable"))
}
