//! The signed-in session: key sets, ID token verification, storing, restoring, events.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;

use super::client::{now_ms, Inner};
use super::handoff;
use super::http::{self, Body};
use crate::error::{code, AuthError, Result};
use crate::id_token::{needs_fresh_jwks, verify_id_token, Expected, VerifiedIdToken};
use crate::jwks::{parse_jwks, JwkSet};
use crate::session::{jwks_key, parse_stored_session, session_key, Session};

thread_local! {
    /// Key sets, by `jwks_uri`, fetched once per page (again once on an unknown `kid`).
    static JWKS: RefCell<HashMap<String, JwkSet>> = RefCell::new(HashMap::new());
}

impl Inner {
    /// The provider's key set: from this page's cache, else from `tokenStorage`,
    /// else fetched (`fresh` skips both caches).
    pub(super) async fn jwks(&self, fresh: bool) -> Result<JwkSet> {
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
    pub(super) async fn verify(
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

    pub(super) async fn store_session(&self, session: Session) -> Result<()> {
        let stored = session.to_stored(&self.config.client_id, self.config.issuer());
        self.session.replace(Some(session));
        let key = session_key(&self.config.client_id);
        self.tokens.set(&key, &stored).await?;
        if self.shared_by_tabs {
            handoff::set(&key, Some(&stored)).await;
        }
        Ok(())
    }

    pub(super) async fn forget_session(&self) {
        let had = self.session.replace(None).is_some();
        let key = session_key(&self.config.client_id);
        let _ = self.tokens.remove(&key).await;
        if self.shared_by_tabs {
            // A tombstone, not a deletion: tabs must not fall back to a stale localStorage copy.
            handoff::set(&key, Some("")).await;
        }
        if had {
            self.emit("signed_out");
        }
    }

    pub(super) fn emit(&self, kind: &str) {
        let event = js_sys::Object::new();
        let _ = Reflect::set(&event, &"type".into(), &kind.into());
        let listeners: Vec<Function> = self.listeners.borrow().iter().map(|(_, f)| f.clone()).collect();
        for f in listeners {
            // A throwing listener must not break the library's flow.
            let _ = f.call1(&JsValue::NULL, &event);
        }
    }

    /// Reads the stored session back, if any, verifying its ID token again. A
    /// tampered, foreign or finished session is removed; one that cannot be
    /// checked now (offline, no cached keys) is kept for a later page load.
    pub(super) async fn restore_session(&self) {
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
}
