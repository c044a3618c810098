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
use crate::callback::{
    parse_callback_url, user_must_interact, validate_authorization_response, AuthorizationResponse,
};
use crate::config::DEFAULT_POPUP_TIMEOUT_MS;
use crate::error::{code, AuthError, Result};
use crate::par;
use crate::session::Session;
use crate::token::{authorization_code_request, parse_token_response};
use crate::transaction::{find_by_state, key_prefix, stale_keys, StateLookup, Transaction};

/// Which kind of login a callback completes, which decides what it may do
/// to the session already here.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum LoginKind {
    /// `handleRedirectCallback`: a login that fails leaves no session behind.
    Redirect,
    /// `loginWithPopup`: a failure leaves the session here as it was.
    Popup,
    /// `checkSession`: asks the provider; a failure leaves the session as it was.
    Silent,
    /// Silent renewal of this session (no refresh token): as `Silent`, and
    /// only the same End-User may replace it (`Session::check_renewal`).
    Renewal,
}

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
            let extra = extra_params(&option(&opts, "extraParams"))?;
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
                let expect = Expect::secret(code::INVALID_PAR_RESPONSE);
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

    /// Completes a login of `kind` from its callback URL.
    pub(super) async fn finish_login(self: &Rc<Self>, url: &str, kind: LoginKind) -> Result<JsValue> {
        let response = parse_callback_url(url)?;
        self.ensure_online().await?;
        // A callback that matches no pending login (crafted, replayed) is
        // refused here and leaves the current session alone: a link cannot
        // sign the user out.
        let tx = self.take_transaction(response.state.as_deref()).await?;
        let result = self.complete_login(response, tx, kind).await;
        if result.is_err() && kind == LoginKind::Redirect {
            // A login that was under way and failed leaves no session behind.
            self.forget_session().await;
        }
        result
    }

    /// `loginWithPopup`: the login in `popup` (opened already, synchronously,
    /// by the caller), then the code exchange here. The popup is closed
    /// whatever happens.
    pub(super) async fn login_in_popup(self: &Rc<Self>, popup: JsValue, opts: JsValue) -> Result<JsValue> {
        if popup.is_undefined() {
            // (Nothing was opened: the other login's popup was brought to the front.)
            return Err(AuthError::new(
                code::POPUP_IN_PROGRESS,
                "another loginWithPopup() of this page is still open: it was brought to the front",
            ));
        }
        if popup.is_null() {
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
            Outcome::Url(url) => self.finish_login(&url, LoginKind::Popup).await,
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
    /// user must interact, and the session here is left as it is. `kind`:
    /// `Silent` or `Renewal`.
    pub(super) async fn silent_login(self: &Rc<Self>, opts: &JsValue, kind: LoginKind) -> Result<bool> {
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
            Outcome::Url(url) => match self.finish_login(&url, kind).await {
                Ok(_) => Ok(true),
                // OIDC Core §3.1.2.6: the End-User must interact first.
                Err(e) if user_must_interact(&e) => Ok(false),
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
        kind: LoginKind,
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
        let expect = Expect::secret(code::INVALID_TOKEN_RESPONSE);
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
        if kind == LoginKind::Renewal {
            // The provider's session may be someone else's by now: a
            // renewal never switches the user (nothing is stored).
            match self.session.borrow().as_ref() {
                Some(current) => current.check_renewal(&id_token)?,
                None => {
                    return Err(AuthError::new(
                        code::LOGIN_REQUIRED,
                        "the session ended while it was being renewed",
                    ))
                }
            }
        }
        self.store_session(Session {
            tokens,
            id_token,
            dpop_jkt: key.map(|k| k.jkt.clone()),
        })
        .await?;
        self.emit(if kind == LoginKind::Renewal {
            "refreshed"
        } else {
            "signed_in"
        });

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
/// Refused here, before the user is sent anywhere, if the text would not come
/// back: a login must not end in `missing_transaction` because of what the
/// app put in it. (JSON.stringify escapes lone surrogates, `"\ud800"`, since
/// ES2019; an engine that does not would hand over text that is not UTF-16.)
fn app_state_json(value: &JsValue) -> Result<Option<String>> {
    if value.is_undefined() {
        return Ok(None);
    }
    let refused = || AuthError::new(code::INVALID_CONFIG, "`appState` must be JSON-serializable");
    let text = js_sys::JSON::stringify(value).map_err(|_| refused())?;
    if !text.is_valid_utf16() {
        return Err(refused());
    }
    match text.as_string() {
        Some(t) if crate::json::is_app_json(&t) => Ok(Some(t)),
        _ => Err(refused()),
    }
}

/// `extraParams`: an object whose values are strings, numbers or booleans
/// (`null` skips one), read through JSON; which names and values are
/// allowed is the core's (`authorize::authorization_request`). A string
/// that is not well-formed UTF-16 (a lone surrogate) cannot go in a URL as
/// it is: refused by name rather than silently changed.
fn extra_params(value: &JsValue) -> Result<Option<crate::json::Object>> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    if !value.is_object() || js_sys::Array::is_array(value) {
        return Err(AuthError::new(
            code::INVALID_CONFIG,
            "`extraParams` must be an object",
        ));
    }
    for entry in js_sys::Object::entries(value.unchecked_ref()).iter() {
        let pair = js_sys::Array::from(&entry);
        if let Some(text) = pair.get(1).dyn_ref::<js_sys::JsString>() {
            if !text.is_valid_utf16() {
                return Err(AuthError::new(
                    code::INVALID_CONFIG,
                    msg!(
                        "`extraParams.{}` has a lone surrogate: it is not text a URL can carry",
                        pair.get(0).as_string().unwrap_or_default()
                    ),
                ));
            }
        }
    }
    let text = js_sys::JSON::stringify(value).ok().and_then(|t| t.as_string());
    match text.as_deref().map(crate::json::parse) {
        Some(Ok(crate::json::Value::Object(m))) => Ok(Some(m)),
        // (A value of a value with a lone surrogate, or one JSON cannot write:
        // the core would refuse it as not a string, number or boolean anyway.)
        _ => Err(AuthError::new(
            code::INVALID_CONFIG,
            "`extraParams` must be an object of strings, numbers and booleans",
        )),
    }
}
