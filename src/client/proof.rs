//! DPoP (RFC 9449) as the client uses it: the key the platform holds (its
//! public half here), the proofs to sign, the servers' nonces; and the
//! requests that carry the access token (userinfo, the app's own).
//!
//! The key pair is made by the platform (`crypto.subtle`, non-extractable,
//! kept in IndexedDB per issuer and client id, whatever `tokenStorage` is):
//! the key that signs the code exchange after the redirect must be the one
//! the authorization request named, and the tokens stay bound to it across
//! reloads.

use super::Client;
use crate::dpop::{
    nonce_key, resource_asks_for_nonce, server_asks_for_nonce, signing_input, valid_nonce, Claims, PublicKey,
};
use crate::error::{code, http_error, AuthError, Result};
use crate::http::{HttpAnswer, HttpRequest};
use crate::json::{Map, Value};
use crate::transaction::client_key;
use crate::userinfo::parse_userinfo_response;

/// Whether the platform should make a key when it has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUse {
    /// A login: the key that will be named in the authorization request.
    Create,
    /// Tokens bound already: their key, or none.
    Existing,
}

fn key_gone() -> AuthError {
    AuthError::new(
        code::LOGIN_REQUIRED,
        "the DPoP key these tokens are bound to is gone (signed out in another tab, or site data cleared): log in again",
    )
}

impl Client {
    /// The platform's name for this client's DPoP key (its IndexedDB entry),
    /// or `None` without `dpop`.
    pub fn dpop_key_id(&self) -> Option<String> {
        self.config
            .dpop
            .then(|| client_key(self.config.issuer(), &self.config.client_id))
    }

    /// The public half of the key the platform read (`None`: it has none).
    /// Its thumbprint (RFC 7638) is what tokens and logins are bound to.
    pub fn key_read(&mut self, coordinates: Option<(&str, &str)>) -> Result<Option<String>> {
        self.dpop_key = match coordinates {
            Some((x, y)) => Some(PublicKey::from_coordinates(x, y)?),
            None => None,
        };
        Ok(self.dpop_key.as_ref().map(PublicKey::thumbprint))
    }

    /// The key of thumbprint `jkt` (the one a login named, or a session's
    /// tokens are bound to) is the one read; `login_required` when it is gone.
    pub fn require_key(&self, jkt: &str) -> Result<()> {
        match &self.dpop_key {
            Some(k) if k.thumbprint() == jkt => Ok(()),
            _ => Err(key_gone()),
        }
    }

    /// The key the session's tokens are bound to: `None` for Bearer tokens.
    /// A DPoP-bound token without the `dpop` option (a provider that binds
    /// without being asked) has no key here: refused, never sent as Bearer.
    pub fn binding(&self) -> Result<Option<String>> {
        let s = self.session.as_ref().ok_or_else(|| self.not_signed_in())?;
        match (s.tokens.token_type.eq_ignore_ascii_case("dpop"), &s.dpop_jkt) {
            (_, Some(jkt)) => Ok(Some(jkt.clone())),
            (false, None) => Ok(None),
            (true, None) => Err(AuthError::new(
                code::UNSUPPORTED_PLATFORM,
                "the access token is DPoP-bound but the client has no key for it: set `dpop: true`",
            )),
        }
    }

    /// `request` with a proof to sign (RFC 9449 §4) when `bound`: for the
    /// request's method and URL, the nonce that server gave last, and for a
    /// resource request the access token's hash.
    pub(crate) fn with_proof(
        &self,
        mut request: HttpRequest,
        bound: bool,
        access_token: Option<&str>,
        now_ms: u64,
    ) -> Result<HttpRequest> {
        if bound {
            request.dpop_input =
                Some(self.proof_input(request.method, &request.url, access_token, now_ms)?);
        }
        Ok(request)
    }

    fn proof_input(&self, htm: &str, url: &str, access_token: Option<&str>, now_ms: u64) -> Result<String> {
        let key = self.dpop_key.as_ref().ok_or_else(key_gone)?;
        let jti = crate::random::token()?;
        let nonce =
            nonce_key(url).and_then(|o| self.nonces.iter().find(|(k, _)| *k == o).map(|(_, n)| n.clone()));
        signing_input(
            key,
            &Claims {
                htm,
                url,
                iat_s: now_ms / 1000,
                jti: &jti,
                nonce: nonce.as_deref(),
                access_token,
            },
        )
    }

    /// After an answer to a request with a proof: keeps the server's latest
    /// `DPoP-Nonce` (§8, §9: it goes into the next proof to that server), and
    /// says whether to send the request once more with it: when the server
    /// asks for one (a token request: 400 `use_dpop_nonce`; a resource: 401
    /// `WWW-Authenticate: DPoP error="use_dpop_nonce"`), gave one, and this
    /// was the first attempt.
    pub fn retry_with_nonce(
        &mut self,
        url: &str,
        proof: bool,
        resource: bool,
        answer: &HttpAnswer,
        attempt: u32,
    ) -> bool {
        let HttpAnswer::Response(r) = answer else {
            return false;
        };
        let asks = if resource {
            resource_asks_for_nonce(r.status, r.www_authenticate.as_deref())
        } else {
            r.status == 400
                && server_asks_for_nonce(&http_error(r.status, r.text(), code::INVALID_TOKEN_RESPONSE, ""))
        };
        let fresh_nonce = match (nonce_key(url), r.dpop_nonce.as_deref().and_then(valid_nonce)) {
            (Some(origin), Some(n)) => {
                self.nonces.retain(|(k, _)| *k != origin);
                self.nonces.push((origin, n.to_string()));
                true
            }
            _ => false,
        };
        proof && attempt == 0 && asks && fresh_nonce
    }

    /// The access token's `Authorization` header value and, for DPoP-bound
    /// tokens, the proof to sign (§7: `Authorization: DPoP` with `ath`), for
    /// a resource request of `method` to `url`.
    pub fn resource_credentials(
        &self,
        method: &str,
        url: &str,
        api: Option<&crate::api::ApiKey>,
        now_ms: u64,
    ) -> Result<(String, Option<String>)> {
        let token = self.session_access_token(api)?;
        let token = token.as_str();
        match self.binding()? {
            Some(_) => Ok((
                ["DPoP ", token].concat(),
                Some(self.proof_input(method, url, Some(token), now_ms)?),
            )),
            None => Ok((["Bearer ", token].concat(), None)),
        }
    }

    /// `fetchWithAuth` refuses a `mode: "no-cors"` request: fetch's no-cors
    /// header guard would drop the Authorization header without a word, and
    /// the request would go out unauthenticated.
    pub fn check_app_request(&self, mode: Option<&str>) -> Result<()> {
        if mode == Some("no-cors") {
            return Err(AuthError::new(
                code::INVALID_CONFIG,
                "fetchWithAuth: a `mode: \"no-cors\"` request cannot carry the Authorization header (the browser drops it)",
            ));
        }
        Ok(())
    }

    /// The userinfo request with the session's access token.
    pub fn userinfo_request(&self, now_ms: u64) -> Result<HttpRequest> {
        let endpoint = self.metadata.userinfo_endpoint.as_deref().ok_or_else(|| {
            AuthError::new(
                code::INVALID_CONFIG,
                "the provider has no userinfo_endpoint (set `endpoints.userinfo`)",
            )
        })?;
        let mut request = HttpRequest::secret(
            "GET",
            endpoint,
            self.config.http_timeout_ms,
            code::INVALID_USERINFO_RESPONSE,
        );
        let (authorization, proof) = self.resource_credentials("GET", endpoint, None, now_ms)?;
        request.authorization = Some(authorization);
        request.dpop_input = proof;
        Ok(request)
    }

    /// The userinfo answer: its claims, whose `sub` must be the ID token's.
    pub fn userinfo(&self, answer: HttpAnswer) -> Result<Map<String, Value>> {
        let endpoint = self.metadata.userinfo_endpoint.as_deref().unwrap_or_default();
        let request = HttpRequest::secret(
            "GET",
            endpoint,
            self.config.http_timeout_ms,
            code::INVALID_USERINFO_RESPONSE,
        );
        let r = answer.response(&request)?;
        let sub = match &self.session {
            Some(s) => s.id_token.sub.clone(),
            None => return Err(self.not_signed_in()),
        };
        parse_userinfo_response(r.status, r.text(), &sub)
    }
}
