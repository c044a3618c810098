//! Keeping the access token fresh: one refresh at a time in a page (a shared
//! promise) and across tabs (Web Locks), rotation, retries.

use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::client::{now_ms, Inner};
use super::dpop::Target;
use super::handoff;
use super::http::{sleep, Expect};
use super::session::{is_unreachable, TokenFrom};
use crate::error::{code, AuthError, Result};
use crate::id_token::check_same_subject;
use crate::session::{parse_stored_session, Session};
use crate::token::{merge_refreshed, parse_token_response, refresh_token_request};
use crate::transaction::client_key;

/// Network attempts of one refresh: the first and at most two retries.
const REFRESH_ATTEMPTS: u32 = 3;
const RETRY_BASE_MS: i32 = 300;

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
    // promise starts running at once, so it is made only in here.)
    let callback = Closure::once_into_js(move |_lock: JsValue| work());
    let held = request.call2(&locks, &JsValue::from_str(name), &callback)?;
    JsFuture::from(Promise::from(held)).await
}

impl Inner {
    /// The access token has more than `leeway` seconds left.
    pub(super) fn is_fresh(&self, s: &Session) -> bool {
        s.tokens
            .expires_at_ms
            .is_none_or(|t| t > now_ms() + self.config.leeway_s * 1000)
    }

    /// One refresh for every caller in this page: callers arriving while one
    /// is under way get the same promise.
    pub(super) fn refresh_shared(inner: &Rc<Inner>, scope: Option<String>, only_if_stale: bool) -> Promise {
        if let Some(p) = inner.refreshing.borrow().as_ref() {
            return p.clone();
        }
        let this = inner.clone();
        let promise = super::client::promise(Box::pin(async move {
            let lock = format!(
                "oidc-pkce:refresh:{}",
                client_key(this.config.issuer(), &this.config.client_id)
            );
            let work = {
                let this = this.clone();
                move || {
                    super::client::promise(Box::pin(async move {
                        this.refresh_locked(scope, only_if_stale)
                            .await
                            .map_err(JsValue::from)?;
                        Ok(JsValue::UNDEFINED)
                    }))
                }
            };
            let result = with_lock(&lock, work).await;
            this.refreshing.replace(None);
            result
        }));
        inner.refreshing.replace(Some(promise.clone()));
        promise
    }

    /// Under the lock: take up what another tab stored meanwhile, and refresh
    /// only if still needed.
    pub(super) async fn refresh_locked(&self, scope: Option<String>, only_if_stale: bool) -> Result<()> {
        self.ensure_online().await?;
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
        // RFC 9449 §5: a public client's refresh token is bound to the key too.
        let key = match &previous.dpop_jkt {
            Some(jkt) => Some(self.dpop_key_for(jkt).await?),
            None => None,
        };
        let mut attempt = 0;
        let resp = loop {
            let expect = Expect::secret(code::INVALID_TOKEN_RESPONSE);
            match self
                .send_with_proof(Target::Token(&req, expect), key.as_ref())
                .await
            {
                Ok(resp) => break resp,
                // Only a request that got no answer is tried again; never an HTTP error.
                Err(e) if is_unreachable(&e) && attempt + 1 < REFRESH_ATTEMPTS => {
                    sleep(RETRY_BASE_MS * 3_i32.pow(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let parsed = parse_token_response(
            resp.status,
            &resp.body,
            now_ms(),
            false,
            self.config.default_expires_in_s,
        );
        let new = match parsed {
            Ok(t) => t,
            Err(e) if e.code() == "invalid_grant" => {
                // The refresh token is spent, revoked or expired: the session is over.
                self.forget_session().await;
                return Err(e.recode(code::LOGIN_REQUIRED));
            }
            Err(e) => return Err(e),
        };
        if key.is_some() {
            crate::dpop::check_token_type(&new.token_type, resp.status)?;
        }
        // A refreshed ID token that fails verification, or describes another
        // authentication (OIDC Core §12.2), is refused with the whole
        // response: the session is left as it was.
        let id_token = match &new.id_token {
            Some(raw) => {
                let t = self
                    .verify(raw.expose(), None, None, true, TokenFrom::Provider)
                    .await?;
                check_same_subject(&previous.id_token, &t)?;
                t
            }
            None => previous.id_token.clone(),
        };
        let tokens = merge_refreshed(&previous.tokens, new);
        self.store_session(Session {
            tokens,
            id_token,
            dpop_jkt: previous.dpop_jkt,
        })
        .await?;
        self.emit("refreshed");
        Ok(())
    }

    /// Another tab sharing `tokenStorage` may have refreshed (rotating the
    /// refresh token) or signed out: the stored session is the newer truth.
    pub(super) async fn adopt_stored_session(&self) -> Result<()> {
        if !self.tokens.persists() {
            return Ok(());
        }
        let key = self.session_key();
        // Tabs sharing localStorage read what the last lock holder committed
        // to IndexedDB first: their localStorage copy may lag (handoff.rs).
        let handed = if self.shared_by_tabs {
            handoff::get(&key).await
        } else {
            None
        };
        let stored = match handed {
            Some(h) => Some(h).filter(|h| !h.is_empty()),
            None => self.tokens.get(&key).await?,
        };
        let stored = match stored {
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
        let id_token = self
            .verify(parsed.id_token.expose(), None, None, false, TokenFrom::Storage)
            .await?;
        if let Some(current) = self.session.borrow().as_ref() {
            check_same_subject(&current.id_token, &id_token)?;
        }
        self.session.replace(Some(Session {
            tokens: parsed.tokens,
            id_token,
            dpop_jkt: parsed.dpop_jkt,
        }));
        Ok(())
    }
}
