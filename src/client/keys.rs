//! Which key set may vouch for an ID token, and the token's verification
//! around the platform's signature check.
//!
//! Where the keys come from depends on where the token comes from. A token
//! straight from the token endpoint may be checked with this page's copy of
//! the provider's key set, or a stored copy within its lifetime, else one
//! fetched. A token read back from `tokenStorage` (which another script may
//! have written) is never checked with a key set read from the same storage
//! while the provider can be reached: the stored set serves it only when the
//! fetch gets no answer, or while the endpoints themselves are not confirmed
//! (an offline start, [`Trust::Kept`]), when nothing is fetched at all. A
//! signature or key failure against a set that was not fetched just now past
//! every cache (the provider may have rotated its keys, or a cached set may
//! have been tampered with) fetches it once more before the token is refused.

use std::cell::RefCell;

use super::timeline::Since;
use super::{Adoption, Client, Trust};
use crate::error::{code, AuthError, Result};
use crate::http::{expect_ok, Cache, HttpAnswer, HttpRequest};
use crate::id_token::{
    begin_verification, finish_verification, reason, Expected, SignatureCheck, Unverified, VerifiedIdToken,
};
use crate::jwks::{key_set_lifetime_s, parse_jwks, parse_stored_key_set, stored_key_set, JwkSet};
use crate::session::StoredSession;

thread_local! {
    /// Key sets by `jwks_uri`, each with the time (epoch ms) until which it
    /// may be used: this page's copies, shared by its clients.
    static KEY_SETS: RefCell<Vec<(String, JwkSet, u64)>> = const { RefCell::new(Vec::new()) };
}

#[cfg(test)]
pub(crate) fn forget_key_sets() {
    KEY_SETS.with(|k| k.borrow_mut().clear());
}

/// Tests: this page's key sets exchanged with another page's.
#[cfg(test)]
pub(crate) fn swap_key_sets(other: &mut Vec<(String, JwkSet, u64)>) {
    KEY_SETS.with(|k| std::mem::swap(&mut *k.borrow_mut(), other));
}

/// Why an ID token is verified: what it must say, and where its keys may
/// come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// From the token endpoint after a login: the `nonce` and `max_age` sent.
    Login { nonce: String, max_age: Option<u64> },
    /// From the token endpoint after a refresh.
    Refreshed,
    /// Read back from `tokenStorage` (a reload, another tab's session, the
    /// confirmation of an offline start); it may have expired while the
    /// session lives on.
    Stored,
}

impl Purpose {
    fn is_from_storage(&self) -> bool {
        matches!(self, Purpose::Stored)
    }
}

/// The storage key of a key set kept in `tokenStorage`.
pub fn key_set_storage_key(jwks_uri: &str) -> String {
    ["oidc-pkce:jwks:", jwks_uri].concat()
}

/// What the driver does next for a verification. (A value handed over at
/// once, not kept: its variants' sizes do not matter.)
#[derive(Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Step {
    /// Read this `tokenStorage` key; its value goes to [`Input::Stored`].
    Read(String),
    /// Send this; the answer goes to [`Input::Fetched`].
    Fetch(HttpRequest),
    /// Check this signature; the answer goes to [`Input::Signed`].
    Check(SignatureCheck),
    /// Verified: see [`Verification::verified`].
    Done,
}

/// What the driver brings back for a [`Step`].
#[derive(Debug)]
pub enum Input {
    Start,
    Stored(Option<String>),
    Fetched(HttpAnswer),
    /// `Ok(valid)`, or `Err(why)` when the platform could not check it.
    Signed(std::result::Result<bool, String>),
}

/// A key set to keep in `tokenStorage` (`Some`) or to remove from it
/// (`None`), best effort: it only saves a fetch.
pub type KeySetWrite = Option<(String, Option<String>)>;

/// What to verify the token against when it is not the client's provider's
/// (`verifyIdToken`): the key set and what the token must say.
#[derive(Debug)]
pub struct Given {
    pub keys: JwkSet,
    pub issuer: String,
    pub client_id: String,
    pub nonce: Option<String>,
    pub max_age: Option<u64>,
    pub algs: Vec<String>,
    pub leeway_s: u64,
    pub trusted_audiences: Vec<String>,
}

/// An ID token on its way to being verified.
#[derive(Debug)]
pub struct Verification {
    raw: String,
    purpose: Purpose,
    given: Option<Given>,
    /// The key set chosen; `fresh`: fetched just now past every cache.
    keys: Option<(JwkSet, bool)>,
    /// A fetch for a stored token got no answer: the stored set is read.
    unanswered: Option<AuthError>,
    refetched: bool,
    unverified: Option<Unverified>,
    verified: Option<VerifiedIdToken>,
    /// Only the key set is wanted (fetched ahead of a token's arrival).
    keys_only: bool,
    pub(crate) adoption: Adoption,
}

impl Verification {
    /// `raw` from the client's provider, for `purpose`.
    pub fn new(raw: &str, purpose: Purpose) -> Verification {
        Verification {
            raw: raw.to_string(),
            purpose,
            given: None,
            keys: None,
            unanswered: None,
            refetched: false,
            unverified: None,
            verified: None,
            keys_only: false,
            adoption: Adoption::Nothing,
        }
    }

    /// What the token becomes once verified.
    pub fn becomes(mut self, adoption: Adoption) -> Verification {
        self.adoption = adoption;
        self
    }

    /// A stored session's ID token, to become `adoption(stored, since)`
    /// once verified (a token read back from storage: see [`Purpose::Stored`]).
    pub fn of_stored(
        stored: StoredSession,
        since: Since,
        adoption: fn(StoredSession, Since) -> Adoption,
    ) -> Verification {
        let raw = stored.id_token.expose().to_string();
        Verification::new(&raw, Purpose::Stored).becomes(adoption(stored, since))
    }

    /// The key set a token straight from the provider would be checked with,
    /// made ready ahead of the token (fetched while the code is exchanged):
    /// [`Step::Done`] once it is in this page or kept in storage.
    pub fn keys_ahead() -> Verification {
        Verification {
            keys_only: true,
            ..Verification::new("", Purpose::Refreshed)
        }
    }

    /// `raw` against a key set and expectations the app gives (`verifyIdToken`).
    pub fn given(raw: &str, given: Given) -> Verification {
        Verification {
            given: Some(given),
            ..Verification::new(raw, Purpose::Refreshed)
        }
    }

    /// The token, once [`Step::Done`] (taken: once).
    pub fn take_verified(&mut self) -> Result<VerifiedIdToken> {
        self.verified.take().ok_or_else(|| {
            AuthError::new(code::INVALID_ID_TOKEN, "the ID token was not verified")
                .with_reason(reason::SIGNATURE)
        })
    }

    /// One step of a verification with the app's own key set (`verifyIdToken`).
    pub fn step_given(&mut self, input: Input, now_s: u64) -> Result<Step> {
        let Some(given) = &self.given else {
            return Err(AuthError::new(code::INVALID_CONFIG, "no key set given"));
        };
        match input {
            Input::Signed(answer) => {
                let e = Expected {
                    issuer: &given.issuer,
                    client_id: &given.client_id,
                    nonce: given.nonce.as_deref(),
                    max_age: given.max_age,
                    algs: &given.algs,
                    leeway_s: given.leeway_s,
                    now_s,
                    trusted_audiences: &given.trusted_audiences,
                    check_expiry: true,
                };
                let unverified = self.unverified.take().ok_or_else(out_of_order)?;
                self.verified = Some(finish_verification(unverified, answer, &e)?);
                Ok(Step::Done)
            }
            _ => {
                let (check, unverified) = begin_verification(&self.raw, &given.keys, &given.algs)?;
                self.unverified = Some(unverified);
                Ok(Step::Check(check))
            }
        }
    }
}

fn out_of_order() -> AuthError {
    AuthError::new(code::INVALID_CONFIG, "verification steps out of order")
}

impl Client {
    fn jwks_uri(&self) -> Result<&str> {
        self.metadata.jwks_uri.as_deref().ok_or_else(|| {
            AuthError::new(
                code::INVALID_CONFIG,
                "the provider has no jwks_uri (set `endpoints.jwks`)",
            )
        })
    }

    fn key_set_request(&self, cache: Cache) -> Result<HttpRequest> {
        Ok(HttpRequest::document(
            self.jwks_uri()?,
            cache,
            self.config.http_timeout_ms,
            code::INVALID_JWKS,
        ))
    }

    /// This page's copy of the key set, while within its lifetime.
    fn key_set_in_page(&self, now_ms: u64) -> Option<JwkSet> {
        let uri = self.metadata.jwks_uri.as_deref()?;
        KEY_SETS.with(|k| {
            k.borrow()
                .iter()
                .find(|(u, _, until)| u == uri && *until > now_ms)
                .map(|(_, set, _)| set.clone())
        })
    }

    /// Reads a fetched key set and keeps it for its lifetime (the response's
    /// `Cache-Control: max-age`, `jwksMaxAge`, at most 24 h) in this page
    /// and, when `tokenStorage` persists, there.
    fn key_set_fetched(
        &self,
        answer: HttpAnswer,
        cache: Cache,
        now_ms: u64,
    ) -> Result<(JwkSet, KeySetWrite)> {
        let request = self.key_set_request(cache)?;
        let response = answer.response(&request)?;
        expect_ok(&response, &request)?;
        let set = parse_jwks(response.text())?;
        let lifetime_s = key_set_lifetime_s(response.cache_control.as_deref(), self.config.jwks_max_age_s);
        let uri = request.url;
        let until = now_ms.saturating_add(lifetime_s * 1000);
        KEY_SETS.with(|k| {
            let mut k = k.borrow_mut();
            k.retain(|(u, _, _)| *u != uri);
            k.push((uri.clone(), set.clone(), until));
        });
        let write = self.stores.persists().then(|| {
            let value = (lifetime_s > 0).then(|| stored_key_set(response.text(), now_ms, lifetime_s));
            (key_set_storage_key(&uri), value)
        });
        Ok((set, write))
    }

    /// One step of `v`: what the driver brought back (`input`) in, the next
    /// thing to do out, with a key set to keep or drop in `tokenStorage`.
    pub fn verify_step(
        &mut self,
        v: &mut Verification,
        input: Input,
        now_ms: u64,
    ) -> Result<(Step, KeySetWrite)> {
        let from_storage = v.purpose.is_from_storage();
        let confirmed = self.trust == Trust::Confirmed;
        match input {
            Input::Start => {
                if let Some(set) = self.key_set_in_page(now_ms).filter(|_| confirmed) {
                    v.keys = Some((set, false));
                } else if !confirmed || !from_storage {
                    // Unconfirmed endpoints: nothing is fetched from them.
                    return Ok((Step::Read(key_set_storage_key(self.jwks_uri()?)), None));
                } else {
                    return Ok((Step::Fetch(self.key_set_request(Cache::Default)?), None));
                }
            }
            Input::Stored(value) => {
                match value.and_then(|s| parse_stored_key_set(&s, now_ms)) {
                    Some(set) => v.keys = Some((set, false)),
                    None if !confirmed => return Err(AuthError::new(
                        code::NETWORK_ERROR,
                        "the provider could not be reached, and no key set is kept to check the session with",
                    )),
                    None => match v.unanswered.take() {
                        // A stored token, and the provider gave no answer.
                        Some(e) => return Err(e),
                        None => return Ok((Step::Fetch(self.key_set_request(Cache::Default)?), None)),
                    },
                }
            }
            Input::Fetched(answer) => {
                let cache = if v.refetched {
                    Cache::NoCache
                } else {
                    Cache::Default
                };
                let unanswered = answer.is_unanswered();
                match self.key_set_fetched(answer, cache, now_ms) {
                    Ok((set, write)) => {
                        v.keys = Some((set, v.refetched));
                        let step = self.begin(v).or_else(|e| self.refetch_or(v, e, v.refetched))?;
                        return Ok((step, write));
                    }
                    // A stored token: the stored set serves when the provider gives no answer.
                    Err(e) if unanswered && from_storage && !v.refetched => {
                        v.unanswered = Some(e);
                        return Ok((Step::Read(key_set_storage_key(self.jwks_uri()?)), None));
                    }
                    Err(e) => return Err(e),
                }
            }
            Input::Signed(answer) => {
                let unverified = v.unverified.take().ok_or_else(out_of_order)?;
                let fresh = v.keys.as_ref().is_some_and(|(_, fresh)| *fresh);
                let result = finish_verification(unverified, answer, &self.expected(&v.purpose, now_ms));
                return match result {
                    Ok(token) => {
                        v.verified = Some(token);
                        Ok((Step::Done, None))
                    }
                    Err(e) => self.refetch_or(v, e, fresh).map(|step| (step, None)),
                };
            }
        }
        let fresh = v.keys.as_ref().is_some_and(|(_, fresh)| *fresh);
        let step = self.begin(v).or_else(|e| self.refetch_or(v, e, fresh))?;
        Ok((step, None))
    }

    /// A key (`kid`) or signature failure against a key set that was not
    /// fetched just now past every cache: the set is fetched once more
    /// before the token is refused (the provider may have rotated its keys,
    /// or a cached set may have been tampered with). Not for endpoints that
    /// are not confirmed: nothing is fetched from them.
    fn refetch_or(&self, v: &mut Verification, e: AuthError, fresh: bool) -> Result<Step> {
        let worth = matches!(e.reason(), Some(reason::SIGNATURE | reason::KID));
        if !worth || fresh || v.refetched || self.trust != Trust::Confirmed || v.given.is_some() {
            return Err(e);
        }
        v.refetched = true;
        self.key_set_request(Cache::NoCache).map(Step::Fetch)
    }

    /// With a key set chosen: the token parsed, its key chosen, its signature
    /// to check.
    fn begin(&self, v: &mut Verification) -> Result<Step> {
        let (set, _) = v.keys.as_ref().ok_or_else(out_of_order)?;
        if v.keys_only {
            return Ok(Step::Done);
        }
        let (check, unverified) = begin_verification(&v.raw, set, &self.algs)?;
        v.unverified = Some(unverified);
        Ok(Step::Check(check))
    }

    fn expected<'a>(&'a self, purpose: &'a Purpose, now_ms: u64) -> Expected<'a> {
        let (nonce, max_age) = match purpose {
            Purpose::Login { nonce, max_age } => (Some(nonce.as_str()), *max_age),
            _ => (None, None),
        };
        Expected {
            issuer: self.config.issuer(),
            client_id: &self.config.client_id,
            nonce,
            max_age,
            algs: &self.algs,
            leeway_s: self.config.leeway_s,
            now_s: now_ms / 1000,
            trusted_audiences: &self.config.trusted_audiences,
            check_expiry: !purpose.is_from_storage(),
        }
    }
}
