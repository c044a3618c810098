//! Ending a session: here (the session and the DPoP key forgotten), at the
//! provider (RFC 7009 revocation, RP-Initiated Logout or Auth0's
//! `/v2/logout`), and where the browser goes after.

use super::{Client, Effects};
use crate::error::{code, http_error, AuthError, Result};
use crate::http::{HttpAnswer, HttpRequest};
use crate::logout::{check_return_to, logout_url};
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
        self.endpoints_confirmed()?;
        let hint = self.session.as_ref().map(|s| s.id_token.raw.expose());
        logout_url(&self.config, &self.metadata, hint, return_to, page_origin)
    }

    /// Where `logout()` sends the browser: the logout URL; without an
    /// end-session endpoint, `returnTo` if given; else nowhere.
    pub fn logout_target(
        &self,
        return_to: Option<&str>,
        page_origin: Option<&str>,
    ) -> Result<Option<String>> {
        match self.logout_url(return_to, page_origin) {
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

    /// RFC 7009 §2.1: the requests that revoke the session's refresh token
    /// (and, for `revokeTokens()`, its access token); none without a
    /// revocation endpoint or a session.
    pub fn revocations(&self, what: Revocation) -> Vec<HttpRequest> {
        let (Some(endpoint), Some(s)) = (&self.metadata.revocation_endpoint, &self.session) else {
            return Vec::new();
        };
        let mut tokens = Vec::new();
        if let Some(r) = &s.tokens.refresh_token {
            tokens.push((r.expose(), "refresh_token"));
        }
        if what == Revocation::Tokens {
            tokens.push((s.tokens.access_token.expose(), "access_token"));
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
    /// makes a new one): by `logout()` (also when it cannot confirm the
    /// endpoints of an offline start: then nothing navigates) and
    /// `revokeTokens()`.
    pub fn forget(&mut self) -> Effects {
        let mut effects = self.forget_session();
        effects.forget_key = self.config.dpop;
        effects
    }
}
