//! Keeping the access token usable: the plan for `getAccessToken` (use it,
//! refresh it, renew the session silently, or the user must log in), the
//! refresh itself (RFC 6749 §6) with its retries and rotation, one at a time
//! per refresh token ([`super::timeline`]), and the session another tab
//! stored meanwhile.

use super::keys::{Purpose, Verification};
use super::login::LoginKind;
use super::timeline::{self, Asker, Begin, Change, Kind, Since};
use super::Adoption;
use super::{Adopted, Client, Effects, Trust};
use crate::api::{ApiKey, ApiToken};
use crate::authorize::AuthorizeOptions;
use crate::error::{code, AuthError, Result};
use crate::http::{HttpAnswer, HttpRequest};
use crate::id_token::{check_same_end_user, check_same_subject, VerifiedIdToken};
use crate::session::{Session, StoredSession};
use crate::token::{
    merge_refreshed, parse_token_response, refresh_token_request, revocation_request, TokenSet,
};
use crate::transaction::client_key;

/// Network attempts of one refresh: the first and at most two retries.
const REFRESH_ATTEMPTS: u32 = 3;
const RETRY_BASE_MS: u32 = 300;
/// How many times an operation plans again because the session changed
/// under it before it gives up (each time needs another change meanwhile).
const REPLANS: usize = 4;

/// What `getAccessToken` does.
#[derive(Debug, PartialEq, Eq)]
pub enum AccessPlan {
    /// The session's access token, which has more than `leeway` seconds left.
    Use(String),
    /// Refresh with the refresh token first (one refresh for every caller).
    Refresh,
    /// No refresh token: renew by silent authentication first
    /// ([`LoginKind::Renewal`]; one renewal for every caller).
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

/// The refresh token a refresh sent, and where the session stood then: its
/// answer applies only to the session that still holds that token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    since: Since,
    refresh_token: String,
}

/// A refresh response, until its ID token is verified.
#[derive(Debug)]
pub struct Refresh {
    tokens: TokenSet,
    api: Option<ApiKey>,
    sent: Sent,
}

/// What a refresh response means.
#[derive(Debug)]
pub enum Refreshed {
    /// Apply (the new tokens stored, `refreshed`).
    Stored(Effects),
    /// An ID token came too: verify it ([`Purpose::Refreshed`]), then adopt it.
    Verify(Box<Verification>),
    /// The session it was for was replaced or ended meanwhile: nothing is
    /// kept; after a logout, the refresh token it returned is revoked with these.
    Stale(Vec<HttpRequest>),
}

/// What a session read back from storage (another tab's) means.
#[derive(Debug)]
pub enum Shared {
    /// Nothing new.
    Same,
    /// Apply and fail with their error: the session was ended (in another tab?).
    Ended(Effects),
    /// Verify its ID token ([`Purpose::Stored`]), then adopt it.
    Verify(Box<Verification>),
    /// The session here changed while it was read: read it again.
    Stale,
}

/// A call that wants an access token (`getAccessToken`, `refresh`,
/// `fetchWithAuth`, `fetchUserInfo`): which token, and what happened so far.
/// It stays in the core; the driver holds it.
#[derive(Debug, Default)]
pub struct Access {
    force: bool,
    /// An API's token (none: the session's own).
    api: Option<ApiKey>,
    /// `refresh({ scope })`: a narrower scope for the session's own token.
    scope: Option<String>,
    /// The refresh token the refresh under way sent.
    sent: Option<Sent>,
    plans: usize,
}

impl Access {
    /// `getAccessToken({ forceRefresh, audience, scope })` and the like.
    pub fn token(force: bool, api: Option<ApiKey>) -> Access {
        Access {
            force,
            api,
            ..Access::default()
        }
    }

    /// `refresh({ scope })`: the session's own token, refreshed whatever its age.
    pub fn refresh(scope: Option<String>) -> Access {
        Access {
            force: true,
            scope,
            ..Access::default()
        }
    }

    /// The API whose token it asks for (none: the session's own).
    pub fn api(&self) -> Option<&ApiKey> {
        self.api.as_ref()
    }
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

    /// `getAccessToken({ forceRefresh, audience, scope })`: use the token
    /// asked for (`a`), refresh it, or renew the session. Planned again after
    /// a refresh or renewal whose session changed under it, a few times.
    pub fn access_plan(&self, a: &mut Access, now_ms: u64) -> Result<AccessPlan> {
        if self.trust == Trust::Refused {
            // The session went with the refused endpoints: say why.
            return Err(super::endpoints::endpoints_refused());
        }
        a.plans += 1;
        if a.plans > REPLANS {
            return Err(AuthError::new(
                code::LOGIN_REQUIRED,
                "the session kept changing while this call was under way: try again",
            ));
        }
        let force = a.force && a.plans == 1;
        let s = self.session.as_ref().ok_or_else(|| self.not_signed_in())?;
        Ok(match self.fresh_token(s, a.api.as_ref(), now_ms) {
            Some(t) if !force => AccessPlan::Use(t.to_string()),
            _ if s.tokens.refresh_token.is_some() => AccessPlan::Refresh,
            _ => AccessPlan::Renew,
        })
    }

    /// The access token after a refresh or a renewal (`renewed`: false when
    /// silent authentication said the provider wants the user).
    pub fn access_token(&self, a: &Access, renewed: bool) -> Result<String> {
        if !renewed {
            return Err(AuthError::new(
                code::LOGIN_REQUIRED,
                "the access token expired, there is no refresh token, and silent authentication needs the user: log in again",
            ));
        }
        let s = self.session.as_ref().ok_or_else(|| self.not_signed_in())?;
        match &a.api {
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

    /// The session's access token for a request the library makes.
    pub(crate) fn session_access_token(&self, api: Option<&ApiKey>) -> Result<String> {
        self.access_token(
            &Access {
                api: api.cloned(),
                ..Access::default()
            },
            true,
        )
    }

    /// Silent authentication for the token `a` asks for: the login's options
    /// (`prompt=none`, OIDC Core §3.1.2.1; the API's `audience` and scope)
    /// and its kind.
    pub fn renewal(&self, a: &Access) -> (AuthorizeOptions, LoginKind) {
        let opts = AuthorizeOptions {
            audience: a.api.as_ref().and_then(|k| k.audience.clone()),
            scope: a.api.as_ref().and_then(|k| k.scope.clone()),
            prompt: Some("none".into()),
            ..AuthorizeOptions::default()
        };
        let kind = if a.api.is_some() {
            LoginKind::Api
        } else {
            LoginKind::Renewal
        };
        (opts, kind)
    }

    /// Asks to run `kind` ("refresh" or "renewal") for `a` (see
    /// [`timeline::begin`]): refreshes are one at a time per refresh token,
    /// the calls for the same token joining; renewals join per token.
    pub fn flight(&self, kind: Kind, a: &Access) -> Begin {
        let rt = self
            .session
            .as_ref()
            .and_then(|s| s.tokens.refresh_token.as_ref())
            .map(|t| t.digest())
            .unwrap_or_default();
        let part = match (&a.api, &a.scope) {
            (Some(key), _) => key.to_text(),
            (None, Some(scope)) => ["scope:", scope].concat(),
            (None, None) => String::new(),
        };
        timeline::begin(&self.asker, kind, &rt, &part)
    }

    /// Who this client is in the page's table of flights.
    pub fn asker(&self) -> &Asker {
        &self.asker
    }

    /// The API's token, from an answer just adopted: kept for the API
    /// (replacing the one it had), the session's own tokens unchanged.
    pub(crate) fn keep_api_token(&mut self, key: ApiKey, tokens: &TokenSet) -> Result<Effects> {
        let mut session = self.session.take().ok_or_else(not_signed_in)?;
        crate::api::keep(&mut session.apis, ApiToken::new(key, tokens));
        Ok(self.store_session(session, Change::Updated))
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
    /// may lag; `""`: ended); `stored`: the session in `tokenStorage`;
    /// `since`: before they were read.
    pub fn shared(&mut self, handed: Option<String>, stored: Option<String>, since: Since) -> Shared {
        if !self.stores.persists() {
            return Shared::Same;
        }
        if !self.timeline.unchanged(since) {
            return Shared::Stale;
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
        if self
            .session
            .as_ref()
            .is_some_and(|s| self.stored_text(s) == stored)
        {
            return Shared::Same;
        }
        Shared::Verify(Box::new(Verification::of_stored(parsed, since, Adoption::Shared)))
    }

    /// Another tab changed the stored session (a `storage` event of
    /// `localStorage`, or the adapter's `onChange`): this tab follows it at
    /// once, so that tabs agree and none keeps calling APIs with tokens
    /// another has signed out of. `stored`: what `tokenStorage` holds now
    /// (read after `since`). Nothing is written back (the store already has
    /// it); a stored value that does not parse leaves this tab as it is, and
    /// its ID token is verified like any stored session's before it is taken up.
    pub fn notified(&mut self, stored: Option<String>, since: Since) -> Shared {
        match self.shared(None, stored, since) {
            // Signed out elsewhere: forgotten here too (`signed_out` if
            // there was a session); no error, and nothing written.
            Shared::Ended(e) => Shared::Ended(Effects {
                emit: e.emit,
                ..Effects::default()
            }),
            Shared::Verify(mut v) => {
                if let Adoption::Shared(stored, since) = std::mem::replace(&mut v.adoption, Adoption::Nothing)
                {
                    v.adoption = Adoption::Notified(stored, since);
                }
                Shared::Verify(v)
            }
            other => other,
        }
    }

    /// Whether a change to `key` of `tokenStorage` (`None`: maybe every key)
    /// concerns this client's session.
    pub fn follows(&self, key: Option<&str>) -> bool {
        key.is_none_or(|k| k == self.session_storage_key())
    }

    /// A session another tab stored, verified ([`Client::notified`]), if
    /// nothing changed here since it was read: `refreshed` when it is this
    /// session's user's, `signed_in` when this tab had none or another
    /// user's (the app reads the user again).
    pub(crate) fn adopt_notified(
        &mut self,
        stored: StoredSession,
        id_token: VerifiedIdToken,
        since: Since,
    ) -> Adopted {
        if !self.timeline.unchanged(since) {
            return Adopted::Stale;
        }
        let same_user = self
            .session
            .as_ref()
            .is_some_and(|s| check_same_end_user(&s.id_token, &id_token).is_ok());
        let change = if same_user {
            Change::Updated
        } else {
            Change::Replaced
        };
        self.set_session(Session::from_stored(stored, id_token), change);
        let emit = if same_user { "refreshed" } else { "signed_in" };
        Adopted::Applied(
            Effects {
                emit: Some(emit),
                ..Effects::default()
            },
            None,
        )
    }

    /// Another tab's session, verified: taken up if it is the same user's
    /// (and nothing changed here since it was read).
    pub(crate) fn adopt_shared(
        &mut self,
        stored: StoredSession,
        id_token: VerifiedIdToken,
        since: Since,
    ) -> Result<Adopted> {
        if !self.timeline.unchanged(since) {
            return Ok(Adopted::Stale);
        }
        if let Some(current) = &self.session {
            check_same_subject(&current.id_token, &id_token)?;
        }
        self.set_session(Session::from_stored(stored, id_token), Change::Updated);
        Ok(Adopted::Applied(Effects::default(), None))
    }

    /// Under the lock, after another tab's session was taken up: refresh
    /// only if still needed (a `getAccessToken` that does not force it), and
    /// only with a refresh token; the token sent is noted in `a`.
    pub fn refresh_plan(&self, a: &mut Access, now_ms: u64) -> Result<RefreshPlan> {
        let s = self.session.as_ref().ok_or_else(|| self.not_signed_in())?;
        if !a.force && self.fresh_token(s, a.api.as_ref(), now_ms).is_some() {
            return Ok(RefreshPlan::Fresh);
        }
        let Some(rt) = &s.tokens.refresh_token else {
            return Err(AuthError::new(
                code::MISSING_REFRESH_TOKEN,
                "the session has no refresh token: ask for the offline_access scope to get one",
            ));
        };
        a.sent = Some(Sent {
            since: self.since(),
            refresh_token: rt.digest(),
        });
        Ok(RefreshPlan::Send {
            dpop_jkt: s.dpop_jkt.clone(),
        })
    }

    /// The session still holds the refresh token `sent` names, and no
    /// logout came since: a refresh's answer applies to it.
    fn still_holds(&self, sent: &Sent) -> bool {
        !self.timeline.ended_since(sent.since)
            && self
                .session
                .as_ref()
                .and_then(|s| s.tokens.refresh_token.as_ref())
                .is_some_and(|rt| rt.digest() == sent.refresh_token)
    }

    /// The refresh request (`a`: a narrower scope, or an API's token named
    /// by `audience` or `resource` with its scope). RFC 9449 §5: a public
    /// client's refresh token is bound to the DPoP key too.
    pub fn refresh_request(&self, a: &Access, now_ms: u64) -> Result<HttpRequest> {
        let s = self.session.as_ref().ok_or_else(|| self.not_signed_in())?;
        let rt = s.tokens.refresh_token.as_ref().ok_or_else(not_signed_in)?;
        let more = match &a.api {
            Some(key) => key.params(&self.config),
            None => a.scope.as_deref().map(|s| vec![("scope", s)]).unwrap_or_default(),
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
    /// The answer applies only to the session that still holds the refresh
    /// token sent (noted in `a`): not to one another tab's sign-in replaced,
    /// nor after a logout ([`Refreshed::Stale`]).
    pub fn refreshed(&mut self, a: &mut Access, answer: HttpAnswer, now_ms: u64) -> Result<Refreshed> {
        let sent = a.sent.take().ok_or_else(not_signed_in)?;
        let api = a.api.clone();
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
                if !self.still_holds(&sent) {
                    // The token refused was the replaced session's, not this one's.
                    return Ok(Refreshed::Stale(Vec::new()));
                }
                let mut effects = self.forget_session();
                effects.error = Some(e.recode(code::LOGIN_REQUIRED));
                return Ok(Refreshed::Stored(effects));
            }
            Err(e) => return Err(e),
        };
        if !self.still_holds(&sent) {
            return Ok(Refreshed::Stale(self.revoke_dropped(&new, &sent)));
        }
        match new.id_token.clone() {
            Some(raw) => {
                let refresh = Refresh {
                    tokens: new,
                    api,
                    sent,
                };
                let v = Verification::new(raw.expose(), Purpose::Refreshed)
                    .becomes(Adoption::Refreshed(Box::new(refresh)));
                Ok(Refreshed::Verify(Box::new(v)))
            }
            None => Ok(Refreshed::Stored(self.store_refreshed(new, None, api)?)),
        }
    }

    /// A refresh answered after a logout: the refresh token it returned
    /// lives on at the provider; it is revoked too (RFC 7009, best effort).
    fn revoke_dropped(&self, new: &TokenSet, sent: &Sent) -> Vec<HttpRequest> {
        let (Some(endpoint), Some(rt)) = (&self.metadata.revocation_endpoint, &new.refresh_token) else {
            return Vec::new();
        };
        if !self.timeline.ended_since(sent.since) {
            return Vec::new();
        }
        vec![self.post(
            revocation_request(endpoint, &self.config.client_id, rt.expose(), "refresh_token"),
            code::REVOCATION_FAILED,
        )]
    }

    /// A refreshed ID token, verified: it must describe the same
    /// authentication (OIDC Core §12.2), or the whole response is refused and
    /// the session stays as it was; and the session must still hold the
    /// refresh token sent.
    pub(crate) fn adopt_refreshed(&mut self, r: Refresh, id_token: VerifiedIdToken) -> Result<Adopted> {
        if !self.still_holds(&r.sent) {
            return Ok(Adopted::Stale);
        }
        let previous = self.session.as_ref().ok_or_else(not_signed_in)?;
        check_same_subject(&previous.id_token, &id_token)?;
        let effects = self.store_refreshed(r.tokens, Some(id_token), r.api)?;
        Ok(Adopted::Applied(effects, None))
    }

    fn store_refreshed(
        &mut self,
        new: TokenSet,
        id_token: Option<VerifiedIdToken>,
        api: Option<ApiKey>,
    ) -> Result<Effects> {
        let mut previous = self.session.take().ok_or_else(not_signed_in)?;
        let mut effects = match api {
            Some(key) => {
                // One refresh token for all: a rotated one replaces the session's.
                if let Some(rt) = &new.refresh_token {
                    previous.tokens.refresh_token = Some(rt.clone());
                }
                if let Some(id_token) = id_token {
                    previous.tokens.id_token = Some(id_token.raw.clone());
                    previous.id_token = id_token;
                }
                crate::api::keep(&mut previous.apis, ApiToken::new(key, &new));
                self.store_session(previous, Change::Updated)
            }
            None => {
                let tokens = merge_refreshed(&previous.tokens, new);
                let session = Session {
                    tokens,
                    id_token: id_token.unwrap_or(previous.id_token),
                    dpop_jkt: previous.dpop_jkt,
                    apis: previous.apis,
                };
                self.store_session(session, Change::Updated)
            }
        };
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
