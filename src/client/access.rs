//! Keeping the access token usable: the plan for `getAccessToken` (use it,
//! refresh it, renew the session silently, or the user must log in), the
//! refresh itself (RFC 6749 §6) with its retries and rotation, and the
//! session another tab stored meanwhile.

use super::keys::{Adoption, Purpose, Verification};
use super::{Client, Effects, Trust};
use crate::api::{ApiKey, ApiToken};
use crate::error::{code, AuthError, Result};
use crate::http::{HttpAnswer, HttpRequest};
use crate::id_token::{check_same_end_user, check_same_subject};
use crate::session::Session;
use crate::token::{merge_refreshed, parse_token_response, refresh_token_request, TokenSet};
use crate::transaction::client_key;

/// Network attempts of one refresh: the first and at most two retries.
const REFRESH_ATTEMPTS: u32 = 3;
const RETRY_BASE_MS: u32 = 300;

/// What `getAccessToken` does.
#[derive(Debug, PartialEq, Eq)]
pub enum AccessPlan {
    /// The session's access token, which has more than `leeway` seconds left.
    Use(String),
    /// Refresh with the refresh token first (one refresh for every caller).
    Refresh,
    /// No refresh token: renew by silent authentication first
    /// ([`super::login::LoginKind::Renewal`]; one renewal for every caller).
    Renew,
}

/// Whether a refresh is still needed.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshPlan {
    /// Another caller or tab refreshed meanwhile.
    Fresh,
    /// Send it, signed with the DPoP key of this thumbprint if any.
    Send { dpop_jkt: Option<String> },
}

/// What a refresh response means.
#[derive(Debug)]
pub enum Refreshed {
    /// Apply (the new tokens stored, `refreshed`).
    Stored(Effects),
    /// An ID token came too: verify it ([`Purpose::Refreshed`]), then
    /// [`Client::adopt_refreshed`].
    Verify(Box<Verification>),
}

/// What a session read back from storage (another tab's) means.
#[derive(Debug)]
pub enum Shared {
    /// Nothing new.
    Same,
    /// Apply and throw: the session was ended (in another tab?).
    Ended(Effects),
    /// Verify its ID token ([`Purpose::Stored`]), then [`Client::adopt_shared`].
    Verify(Box<Verification>),
}

fn not_signed_in() -> AuthError {
    AuthError::new(code::LOGIN_REQUIRED, "not signed in")
}

impl Client {
    /// The access token has more than `leeway` seconds left.
    fn is_fresh(&self, s: &Session, now_ms: u64) -> bool {
        s.tokens
            .expires_at_ms
            .is_none_or(|t| t > now_ms + self.config.leeway_s * 1000)
    }

    /// The token asked for (`api`: an API's, else the session's own) if it
    /// has more than `leeway` seconds left.
    fn fresh_token<'a>(&self, s: &'a Session, api: Option<&ApiKey>, now_ms: u64) -> Option<&'a str> {
        match api {
            None => self.is_fresh(s, now_ms).then(|| s.tokens.access_token.expose()),
            Some(key) => crate::api::find(&s.apis, key)
                .filter(|t| t.is_fresh(now_ms, self.config.leeway_s * 1000))
                .map(|t| t.access_token.expose()),
        }
    }

    /// `getAccessToken({ forceRefresh, audience, scope })`: `api` is the
    /// API's (see [`ApiKey::asked`]), `None` the session's own token.
    pub fn access_plan(&self, force: bool, api: Option<&ApiKey>, now_ms: u64) -> Result<AccessPlan> {
        if self.trust == Trust::Refused {
            // The session went with the refused endpoints: say why.
            return Err(super::endpoints_refused());
        }
        let s = self.session.as_ref().ok_or_else(not_signed_in)?;
        Ok(match self.fresh_token(s, api, now_ms) {
            Some(t) if !force => AccessPlan::Use(t.to_string()),
            _ if s.tokens.refresh_token.is_some() => AccessPlan::Refresh,
            _ => AccessPlan::Renew,
        })
    }

    /// The access token after a refresh or a renewal. `renewed`: what silent
    /// authentication said (`false`: the provider wants the user).
    pub fn access_token(&self, renewed: bool, api: Option<&ApiKey>) -> Result<String> {
        if !renewed {
            return Err(AuthError::new(
                code::LOGIN_REQUIRED,
                "the access token expired, there is no refresh token, and silent authentication needs the user: log in again",
            ));
        }
        let s = self.session.as_ref().ok_or_else(not_signed_in)?;
        match api {
            None => Ok(s.tokens.access_token.expose().to_string()),
            Some(key) => crate::api::find(&s.apis, key)
                .map(|t| t.access_token.expose().to_string())
                .ok_or_else(|| {
                    AuthError::new(
                        code::LOGIN_REQUIRED,
                        "the provider gave no token for this API: log in again",
                    )
                }),
        }
    }

    /// The API's token, from an answer just adopted: kept for the API
    /// (replacing the one it had), the session's own tokens unchanged.
    pub(crate) fn keep_api_token(&mut self, key: ApiKey, tokens: &TokenSet) -> Result<Effects> {
        let mut session = self.session.take().ok_or_else(not_signed_in)?;
        crate::api::keep(&mut session.apis, ApiToken::new(key, tokens));
        Ok(self.store_session(session))
    }

    /// The Web Lock tabs take turns in to refresh (shared by the origin's tabs).
    pub fn lock_name(&self) -> String {
        [
            "oidc-pkce:refresh:",
            &client_key(self.config.issuer(), &self.config.client_id),
        ]
        .concat()
    }

    /// Another tab sharing `tokenStorage` may have refreshed (rotating the
    /// refresh token) or signed out: the stored session is the newer truth.
    /// `handed`: what the last lock holder committed to the hand-off record
    /// (tabs sharing `localStorage` read it first: their `localStorage` copy
    /// may lag; `""`: ended); `stored`: the session in `tokenStorage`.
    pub fn shared(&mut self, handed: Option<String>, stored: Option<String>) -> Shared {
        if !self.stores.persists() {
            return Shared::Same;
        }
        let stored = match handed.filter(|_| self.stores.shared_by_tabs()) {
            Some(h) => Some(h).filter(|h| !h.is_empty()),
            None => stored,
        };
        let Some(stored) = stored else {
            let mut effects = self.forget_session();
            effects.error = Some(AuthError::new(
                code::LOGIN_REQUIRED,
                "the session was ended (in another tab?)",
            ));
            return Shared::Ended(effects);
        };
        let Ok(parsed) = self.parse_stored(&stored) else {
            return Shared::Same;
        };
        // What this tab would store is what is stored: nothing new.
        let (client_id, issuer) = (&self.config.client_id, self.config.issuer());
        if self
            .session
            .as_ref()
            .is_some_and(|s| s.to_stored(client_id, issuer) == stored)
        {
            return Shared::Same;
        }
        let mut v = Verification::new(parsed.id_token.expose(), Purpose::Stored).becomes(Adoption::Shared);
        v.tokens = Some(parsed.tokens);
        v.dpop_jkt = parsed.dpop_jkt;
        v.apis = parsed.apis;
        Shared::Verify(Box::new(v))
    }

    /// Another tab changed the stored session (a `storage` event of
    /// `localStorage`, or the adapter's `onChange`): this tab follows it at
    /// once, so that tabs agree and none keeps calling APIs with tokens
    /// another has signed out of. `stored`: what `tokenStorage` holds now.
    /// Nothing is written back (the store already has it); a stored value
    /// that does not parse leaves this tab as it is, and its ID token is
    /// verified like any stored session's before it is taken up.
    pub fn notified(&mut self, stored: Option<String>) -> Shared {
        match self.shared(None, stored) {
            // Signed out elsewhere: forgotten here too (`signed_out` if
            // there was a session); no error, and nothing written.
            Shared::Ended(e) => Shared::Ended(Effects {
                emit: e.emit,
                ..Effects::default()
            }),
            Shared::Verify(mut v) => {
                v.adoption = Adoption::Notified;
                Shared::Verify(v)
            }
            Shared::Same => Shared::Same,
        }
    }

    /// A session another tab stored, verified ([`Client::notified`]):
    /// `refreshed` when it is this session's user's, `signed_in` when this
    /// tab had none or another user's (the app reads the user again).
    pub fn adopt_notified(&mut self, v: &mut Verification) -> Result<Effects> {
        let id_token = v.take_verified()?;
        let tokens = v.tokens.take().ok_or_else(not_signed_in)?;
        let same_user = self
            .session
            .as_ref()
            .is_some_and(|s| check_same_end_user(&s.id_token, &id_token).is_ok());
        self.session = Some(Session {
            tokens,
            id_token,
            dpop_jkt: v.dpop_jkt.take(),
            apis: std::mem::take(&mut v.apis),
        });
        Ok(Effects {
            emit: Some(if same_user { "refreshed" } else { "signed_in" }),
            ..Effects::default()
        })
    }

    /// Another tab's session, verified: taken up if it is the same user's.
    pub fn adopt_shared(&mut self, v: &mut Verification) -> Result<()> {
        let id_token = v.take_verified()?;
        if let Some(current) = &self.session {
            check_same_subject(&current.id_token, &id_token)?;
        }
        let tokens = v.tokens.take().ok_or_else(not_signed_in)?;
        self.session = Some(Session {
            tokens,
            id_token,
            dpop_jkt: v.dpop_jkt.take(),
            apis: std::mem::take(&mut v.apis),
        });
        Ok(())
    }

    /// Under the lock, after another tab's session was taken up: refresh
    /// only if still needed (`only_if_stale`), and only with a refresh token.
    pub fn refresh_plan(
        &self,
        only_if_stale: bool,
        api: Option<&ApiKey>,
        now_ms: u64,
    ) -> Result<RefreshPlan> {
        let s = self.session.as_ref().ok_or_else(not_signed_in)?;
        if only_if_stale && self.fresh_token(s, api, now_ms).is_some() {
            return Ok(RefreshPlan::Fresh);
        }
        if s.tokens.refresh_token.is_none() {
            return Err(AuthError::new(
                code::MISSING_REFRESH_TOKEN,
                "the session has no refresh token: ask for the offline_access scope to get one",
            ));
        }
        Ok(RefreshPlan::Send {
            dpop_jkt: s.dpop_jkt.clone(),
        })
    }

    /// The refresh request (`scope`: a narrower one; `api`: for an API's
    /// token, named by `audience` or `resource` with its scope). RFC 9449
    /// §5: a public client's refresh token is bound to the DPoP key too.
    pub fn refresh_request(
        &self,
        scope: Option<&str>,
        api: Option<&ApiKey>,
        now_ms: u64,
    ) -> Result<HttpRequest> {
        let s = self.session.as_ref().ok_or_else(not_signed_in)?;
        let rt = s.tokens.refresh_token.as_ref().ok_or_else(not_signed_in)?;
        let more = match api {
            Some(key) => key.params(&self.config),
            None => scope.map(|s| vec![("scope", s)]).unwrap_or_default(),
        };
        let form = refresh_token_request(
            &self.metadata.token_endpoint,
            self.config.token_request_encoding,
            &self.config.client_id,
            rt,
            &more,
        );
        self.with_proof(
            self.token_endpoint_request(form),
            s.dpop_jkt.is_some(),
            None,
            now_ms,
        )
    }

    /// Milliseconds to wait before sending attempt `attempt + 1` again, or
    /// `None`: only a request that got no answer is tried again (never an
    /// HTTP error), at most twice, after 300 ms and 900 ms.
    pub fn refresh_retry_ms(&self, answer: &HttpAnswer, attempt: u32) -> Option<u32> {
        (answer.is_unanswered() && attempt + 1 < REFRESH_ATTEMPTS).then(|| RETRY_BASE_MS * 3_u32.pow(attempt))
    }

    /// The refresh response. `invalid_grant`: the refresh token is spent,
    /// revoked or expired, the session is over (`login_required`). A new ID
    /// token is verified first ([`Refreshed::Verify`]).
    /// With `api`, the answer is that API's token: kept for it, the session's
    /// own access token unchanged; a rotated refresh token (and a new ID
    /// token, checked as for any refresh) still go to the session.
    pub fn refreshed(&mut self, answer: HttpAnswer, api: Option<ApiKey>, now_ms: u64) -> Result<Refreshed> {
        let bound = self.session.as_ref().is_some_and(|s| s.dpop_jkt.is_some());
        let parsed = answer.response(&self.token_endpoint_context()).and_then(|r| {
            let t = parse_token_response(
                r.status,
                r.text(),
                now_ms,
                false,
                self.config.default_expires_in_s,
            )?;
            if bound {
                crate::dpop::check_token_type(&t.token_type, r.status)?;
            }
            Ok(t)
        });
        let new = match parsed {
            Ok(t) => t,
            Err(e) if e.code() == "invalid_grant" => {
                let mut effects = self.forget_session();
                effects.error = Some(e.recode(code::LOGIN_REQUIRED));
                return Ok(Refreshed::Stored(effects));
            }
            Err(e) => return Err(e),
        };
        match new.id_token.clone() {
            Some(raw) => {
                let mut v = Verification::new(raw.expose(), Purpose::Refreshed).becomes(Adoption::Refreshed);
                v.tokens = Some(new);
                v.api = api;
                Ok(Refreshed::Verify(Box::new(v)))
            }
            None => Ok(Refreshed::Stored(self.store_refreshed(new, None, api)?)),
        }
    }

    /// A refreshed ID token, verified: it must describe the same
    /// authentication (OIDC Core §12.2), or the whole response is refused and
    /// the session stays as it was.
    pub fn adopt_refreshed(&mut self, v: &mut Verification) -> Result<Effects> {
        let id_token = v.take_verified()?;
        let previous = self.session.as_ref().ok_or_else(not_signed_in)?;
        check_same_subject(&previous.id_token, &id_token)?;
        let tokens = v.tokens.take().ok_or_else(not_signed_in)?;
        self.store_refreshed(tokens, Some(id_token), v.api.take())
    }

    fn store_refreshed(
        &mut self,
        new: TokenSet,
        id_token: Option<crate::id_token::VerifiedIdToken>,
        api: Option<ApiKey>,
    ) -> Result<Effects> {
        if let Some(key) = api {
            let session = self.session.as_mut().ok_or_else(not_signed_in)?;
            // One refresh token for all: a rotated one replaces the session's.
            if let Some(rt) = &new.refresh_token {
                session.tokens.refresh_token = Some(rt.clone());
            }
            if let Some(id_token) = id_token {
                session.tokens.id_token = Some(id_token.raw.clone());
                session.id_token = id_token;
            }
            let mut effects = self.keep_api_token(key, &new)?;
            effects.emit = Some("refreshed");
            return Ok(effects);
        }
        let previous = self.session.take().ok_or_else(not_signed_in)?;
        let tokens = merge_refreshed(&previous.tokens, new);
        let mut effects = self.store_session(Session {
            tokens,
            id_token: id_token.unwrap_or(previous.id_token),
            dpop_jkt: previous.dpop_jkt,
            apis: previous.apis,
        });
        effects.emit = Some("refreshed");
        Ok(effects)
    }

    /// Whether silent authentication's failure means only that the user must
    /// interact ([`crate::callback::user_must_interact`]): `checkSession`
    /// gives `false`, a renewal `login_required`.
    pub fn user_must_interact(&self, e: &AuthError) -> bool {
        crate::callback::user_must_interact(e)
    }
}
