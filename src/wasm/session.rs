//! The signed-in session: key sets, ID token verification, storing, restoring, events.

use std::cell::RefCell;

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;

use super::client::{now_ms, Inner, Trust};
use super::few::Few;
use super::handoff;
use super::http::{self, Body, Credentials, Expect};
use crate::error::{code, AuthError, Result};
use crate::id_token::{begin_verification, finish_verification, reason, Expected, VerifiedIdToken};
use crate::jwks::{key_set_lifetime_s, parse_jwks, parse_stored_key_set, stored_key_set, JwkSet};
use crate::session::{jwks_key, legacy_session_key, parse_stored_session, session_key, Session};

thread_local! {
    /// Key sets by `jwks_uri`, each with the time (epoch ms) until which it may be used.
    static JWKS: RefCell<Few<String, (JwkSet, u64)>> = const { RefCell::new(Few::new()) };
}

/// Where an ID token to verify comes from, which decides where its keys may come from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenFrom {
    /// Straight from the provider's token endpoint (login, refresh).
    Provider,
    /// Read back from `tokenStorage`, which another script may have written.
    Storage,
}

impl Inner {
    fn jwks_uri(&self) -> Result<&str> {
        self.metadata.jwks_uri.as_deref().ok_or_else(|| {
            AuthError::new(
                code::INVALID_CONFIG,
                "the provider has no jwks_uri (set `endpoints.jwks`)",
            )
        })
    }

    /// The storage key of this client's session: by issuer and client id.
    pub(super) fn session_key(&self) -> String {
        session_key(self.config.issuer(), &self.config.client_id)
    }

    /// Fetches the key set and keeps it for its lifetime (the response's
    /// `Cache-Control: max-age`, `jwksMaxAge`, at most 24 h) in this page and,
    /// when `tokenStorage` persists, there. `revalidate` goes past the
    /// browser's HTTP cache too.
    async fn fetch_jwks(&self, revalidate: bool) -> Result<JwkSet> {
        let uri = self.jwks_uri()?;
        let cache = if revalidate { "no-cache" } else { "default" };
        let expect = Expect::document(code::INVALID_JWKS, cache);
        let resp = http::send(
            "GET",
            uri,
            Body::None,
            Credentials::default(),
            self.config.http_timeout_ms,
            expect,
        )
        .await?;
        if resp.status != 200 {
            return Err(
                AuthError::new(code::INVALID_JWKS, msg!("{uri} answered HTTP {}", resp.status))
                    .with_status(resp.status),
            );
        }
        let set = parse_jwks(&resp.body)?;
        let now = now_ms();
        let lifetime_s = key_set_lifetime_s(resp.cache_control.as_deref(), self.config.jwks_max_age_s);
        let until = now.saturating_add(lifetime_s * 1000);
        JWKS.with(|j| j.borrow_mut().insert(uri.to_string(), (set.clone(), until)));
        if self.tokens.persists() {
            let key = jwks_key(uri);
            let _ = if lifetime_s > 0 {
                self.tokens
                    .set(&key, &stored_key_set(&resp.body, now, lifetime_s))
                    .await
            } else {
                self.tokens.remove(&key).await
            };
        }
        Ok(set)
    }

    /// The key set kept in `tokenStorage`, if it is within its lifetime.
    async fn stored_jwks(&self) -> Option<JwkSet> {
        let key = jwks_key(self.jwks_uri().ok()?);
        let stored = self.tokens.get(&key).await.ok().flatten()?;
        parse_stored_key_set(&stored, now_ms())
    }

    /// The provider's key set for verifying a token that comes `from` the
    /// provider or from storage: this page's copy while within its lifetime;
    /// else, for a token from the provider, the stored copy within its
    /// lifetime; else fetched. A token read from storage is never verified
    /// with a key set read from the same storage while the provider can be
    /// reached (a planted key set must not vouch for a planted session): the
    /// stored set serves it only when the fetch gets no answer (offline start).
    pub(super) async fn jwks(&self, from: TokenFrom) -> Result<JwkSet> {
        if self.trust.get() != Trust::Confirmed {
            // The jwks_uri is from a kept discovery document the provider has
            // not confirmed: nothing is fetched from it, and only a key set
            // stored within its lifetime may vouch (offline start).
            return self.stored_jwks().await.ok_or_else(|| {
                AuthError::new(
                    code::NETWORK_ERROR,
                    "the provider could not be reached, and no key set is kept to check the session with",
                )
            });
        }
        let uri = self.jwks_uri()?;
        let now = now_ms();
        let in_page = JWKS.with(|j| {
            j.borrow()
                .get(uri)
                .filter(|(_, until)| *until > now)
                .map(|(set, _)| set.clone())
        });
        if let Some(set) = in_page {
            return Ok(set);
        }
        if from == TokenFrom::Provider {
            if let Some(set) = self.stored_jwks().await {
                return Ok(set);
            }
        }
        match self.fetch_jwks(false).await {
            Err(e) if from == TokenFrom::Storage && is_unreachable(&e) => self.stored_jwks().await.ok_or(e),
            other => other,
        }
    }

    /// Verifies an ID token. A signature or key failure against a key set that
    /// was not fetched just now past every cache (the provider may have
    /// rotated its keys, or the cached set may have been tampered with) fetches
    /// the set once more before the token is refused.
    pub(super) async fn verify(
        &self,
        raw: &str,
        nonce: Option<&str>,
        max_age: Option<u64>,
        check_expiry: bool,
        from: TokenFrom,
    ) -> Result<VerifiedIdToken> {
        let set = self.jwks(from).await?;
        let expected = Expected {
            issuer: self.config.issuer(),
            client_id: &self.config.client_id,
            nonce,
            max_age,
            algs: &self.algs,
            leeway_s: self.config.leeway_s,
            now_s: now_ms() / 1000,
            trusted_audiences: &self.config.trusted_audiences,
            check_expiry,
        };
        match verify_with(raw, &set, &expected).await {
            Err(e)
                if matches!(e.reason(), Some(reason::SIGNATURE | reason::KID))
                    && self.trust.get() == Trust::Confirmed =>
            {
                let fresh = self.fetch_jwks(true).await?;
                verify_with(raw, &fresh, &expected).await
            }
            result => result,
        }
    }

    pub(super) async fn store_session(&self, session: Session) -> Result<()> {
        let stored = session.to_stored(&self.config.client_id, self.config.issuer());
        self.session.replace(Some(session));
        let key = self.session_key();
        self.tokens.set(&key, &stored).await?;
        if self.shared_by_tabs {
            handoff::set(&key, Some(&stored)).await;
        }
        Ok(())
    }

    pub(super) async fn forget_session(&self) {
        let had = self.session.replace(None).is_some();
        let key = self.session_key();
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

    /// A session stored by a version that keyed sessions by client id alone:
    /// read once, and moved under the issuer's key if it is this issuer's.
    /// The entry is removed whatever it holds (it is read once).
    async fn take_legacy_session(&self) -> Option<String> {
        let legacy = legacy_session_key(&self.config.client_id);
        let stored = self.tokens.get(&legacy).await.ok().flatten()?;
        let _ = self.tokens.remove(&legacy).await;
        parse_stored_session(&stored, &self.config.client_id, self.config.issuer()).ok()?;
        Some(stored)
    }

    /// Reads the stored session back, if any, verifying its ID token again
    /// against the provider's keys. A tampered, foreign or finished session is
    /// removed; one that cannot be checked now (offline, no usable keys) is
    /// kept for a later page load.
    pub(super) async fn restore_session(&self) {
        let key = self.session_key();
        let legacy = self.take_legacy_session().await;
        let stored = match (self.tokens.get(&key).await, legacy) {
            (Ok(Some(stored)), _) => Some(stored),
            (Ok(None), Some(legacy)) => {
                let _ = self.tokens.set(&key, &legacy).await;
                Some(legacy)
            }
            _ => None,
        };
        let Some(stored) = stored else {
            return;
        };
        // One way out for a stored session that cannot serve: removed.
        if !self.adopt_restored(&stored).await {
            let _ = self.tokens.remove(&key).await;
        }
    }

    /// Takes up the stored session `stored` if it still serves: readable,
    /// its DPoP key still here, its ID token verified, still active. `false`:
    /// it is to be removed. (A provider that gives no answer keeps it stored.)
    async fn adopt_restored(&self, stored: &str) -> bool {
        let Ok(parsed) = parse_stored_session(stored, &self.config.client_id, self.config.issuer()) else {
            return false;
        };
        // DPoP-bound tokens are of no use without their key (removed by a
        // logout in another tab, or with the site's data).
        if let Some(jkt) = &parsed.dpop_jkt {
            if self.dpop_key_for(jkt).await.is_err() {
                return false;
            }
        }
        match self
            .verify(parsed.id_token.expose(), None, None, false, TokenFrom::Storage)
            .await
        {
            Ok(id_token) => {
                let session = Session {
                    tokens: parsed.tokens,
                    id_token,
                    dpop_jkt: parsed.dpop_jkt,
                };
                let active = session.is_active(now_ms());
                if active {
                    self.session.replace(Some(session));
                }
                active
            }
            Err(e) => is_unreachable(&e),
        }
    }
}

/// Verifies `raw` against `set`: the core chooses the key and checks every
/// claim; the platform (`crypto.subtle`, or the fallback module) checks the
/// signature.
pub(super) async fn verify_with(raw: &str, set: &JwkSet, expected: &Expected<'_>) -> Result<VerifiedIdToken> {
    let (check, unverified) = begin_verification(raw, set, expected.algs)?;
    let answer = super::signature::verify(&check).await?;
    finish_verification(unverified, answer, expected)
}

/// The provider gave no answer (as opposed to a wrong one).
pub(super) fn is_unreachable(e: &AuthError) -> bool {
    e.code() == code::NETWORK_ERROR || e.code() == code::TIMEOUT
}
