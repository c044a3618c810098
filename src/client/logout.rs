//! Ending a session: here (the session and the DPoP key forgotten), at the
//! provider (RFC 7009 revocation, RP-Initiated Logout or Auth0's
//! `/v2/logout`), and where the browser goes after.

use super::{Client, Effects};
use crate::error::{code, http_error, AuthError, Result};
use crate::http::{HttpAnswer, HttpRequest};
use crate::logout::{check_return_to, logout_url};
use crate::secret::{AccessToken, IdToken, RefreshToken};
use crate::token::revocation_request;

/// What a revocation is part of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// `logout()`: the refresh token, best effort (a failure does not keep
    /// the user signed in).
    Logout,
    /// `revokeTokens()`: the refresh token and the access token; a failure
    /// is the call's error.
    Tokens,
}

/// A session ended here: what the provider still needs to hear of it.
#[derive(Debug, Default)]
pub struct Ending {
    id_token: Option<IdToken>,
    refresh_token: Option<RefreshToken>,
}

impl Client {
    /// `returnTo` must be a place, never script (see [`check_return_to`]);
    /// checked before anything is forgotten or opened.
    pub fn check_logout(&self, return_to: Option<&str>, page_origin: Option<&str>) -> Result<()> {
        match return_to {
            Some(r) => check_return_to(r, &self.config.redirect_uri, page_origin),
            None => Ok(()),
        }
    }

    /// `buildLogoutUrl()`: the provider's logout URL (RP-Initiated Logout, or
    /// Auth0's `/v2/logout`), never one from endpoints not confirmed.
    pub fn logout_url(&self, return_to: Option<&str>, page_origin: Option<&str>) -> Result<String> {
        let hint = self.session.as_ref().map(|s| s.id_token.raw.expose());
        self.logout_url_with(hint, return_to, page_origin)
    }

    fn logout_url_with(
        &self,
        hint: Option<&str>,
        return_to: Option<&str>,
        page_origin: Option<&str>,
    ) -> Result<String> {
        self.endpoints_confirmed()?;
        logout_url(&self.config, &self.metadata, hint, return_to, page_origin)
    }

    /// Where `logout()` sends the browser: the logout URL (with the ended
    /// session's ID token as the hint); without an end-session endpoint,
    /// `returnTo` if given; else nowhere.
    pub fn logout_target(
        &self,
        return_to: Option<&str>,
        page_origin: Option<&str>,
    ) -> Result<Option<String>> {
        let hint = self.ending.id_token.as_ref().map(IdToken::expose);
        match self.logout_url_with(hint, return_to, page_origin) {
            Ok(url) => Ok(Some(url)),
            Err(_) if self.metadata.end_session_endpoint.is_none() => Ok(return_to.map(str::to_string)),
            Err(e) => Err(e),
        }
    }

    /// `revokeTokens()` needs a revocation endpoint.
    pub fn check_revocation(&self) -> Result<()> {
        if self.metadata.revocation_endpoint.is_none() {
            return Err(AuthError::new(
                code::INVALID_CONFIG,
                "the provider has no revocation_endpoint (set `endpoints.revocation`)",
            ));
        }
        Ok(())
    }

    /// RFC 7009 §2.1: the requests that revoke a session's refresh token
    /// (and, for `revokeTokens()`, its access token); none without a
    /// revocation endpoint.
    fn revocations_of(
        &self,
        refresh_token: Option<&RefreshToken>,
        access_token: Option<&AccessToken>,
        what: Revocation,
    ) -> Vec<HttpRequest> {
        let Some(endpoint) = &self.metadata.revocation_endpoint else {
            return Vec::new();
        };
        let mut tokens = Vec::new();
        if let Some(r) = refresh_token {
            tokens.push((r.expose(), "refresh_token"));
        }
        if let (Revocation::Tokens, Some(a)) = (what, access_token) {
            tokens.push((a.expose(), "access_token"));
        }
        tokens
            .into_iter()
            .map(|(token, hint)| {
                self.post(
                    revocation_request(endpoint, &self.config.client_id, token, hint),
                    code::REVOCATION_FAILED,
                )
            })
            .collect()
    }

    /// The revocations `what` asks for: the session's two tokens
    /// (`revokeTokens()`), or the ended session's refresh token (`logout()`).
    pub fn revocations(&self, what: Revocation) -> Vec<HttpRequest> {
        match what {
            Revocation::Tokens => {
                let s = self.session.as_ref();
                self.revocations_of(
                    s.and_then(|s| s.tokens.refresh_token.as_ref()),
                    s.map(|s| &s.tokens.access_token),
                    what,
                )
            }
            Revocation::Logout => self.revocations_of(self.ending.refresh_token.as_ref(), None, what),
        }
    }

    /// A revocation's answer. §2.2: 200 for a revoked token and for one
    /// that was invalid already. During `logout()` a failure is no error.
    pub fn revoked(&self, answer: HttpAnswer, what: Revocation) -> Result<()> {
        let endpoint = self.metadata.revocation_endpoint.as_deref().unwrap_or_default();
        let request = HttpRequest::secret(
            "POST",
            endpoint,
            self.config.http_timeout_ms,
            code::REVOCATION_FAILED,
        );
        let result = answer.response(&request).and_then(|r| match r.status {
            200 => Ok(()),
            status => Err(http_error(
                status,
                r.text(),
                code::REVOCATION_FAILED,
                "revocation endpoint",
            )),
        });
        match (result, what) {
            (Err(e), Revocation::Tokens) => Err(e),
            _ => Ok(()),
        }
    }

    /// The session forgotten here, and the DPoP key with it (the next login
    /// makes a new one): by `revokeTokens()`, and by `logout()` (see
    /// [`Client::end_session`]).
    pub fn forget(&mut self) -> Effects {
        let mut effects = self.forget_session();
        effects.forget_key = self.config.dpop;
        effects
    }

    /// `logout()`: the session ends here at once, final for every operation
    /// in flight ([`super::timeline`]): the effects to apply now; what the
    /// provider is told after (revocation, the logout URL) comes from what it
    /// was ([`Client::logout_target`], [`Client::revocations`]).
    pub fn end_session(&mut self) -> Effects {
        self.ending = match &self.session {
            Some(s) => Ending {
                id_token: Some(s.id_token.raw.clone()),
                refresh_token: s.tokens.refresh_token.clone(),
            },
            None => Ending::default(),
        };
        self.forget()
    }
}
