//! A login: the authorization request (in the URL or pushed, RFC 9126), the
//! pending login kept until the callback, the callback itself (RFC 6749
//! §4.1.2, RFC 9207), the code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5), and
//! what the verified result may replace.

use super::keys::{Adoption, Purpose, Verification};
use super::{Client, Effects};
use crate::api::{ApiKey, ApiParameter};
use crate::authorize::{authorization_request, authorization_url, AuthorizeOptions};
use crate::callback::{parse_callback_url, validate_authorization_response, AuthorizationResponse};
use crate::error::{code, AuthError, Result};
use crate::http::{HttpAnswer, HttpRequest};
use crate::par;
use crate::secret::AuthorizationCode;
use crate::session::Session;
use crate::token::{authorization_code_request, parse_token_response};
use crate::transaction::{find_by_state, stale_keys, transaction_storage_prefix, StateLookup, Transaction};

pub use super::LoginKind;

/// A new authorization request.
#[derive(Debug)]
pub struct Authorization {
    /// Where to send the browser; `None` while the request is to be pushed.
    pub url: Option<String>,
    /// The pushed authorization request (RFC 9126) to send first.
    pub push: Option<HttpRequest>,
    /// The pending login to store (key, value) once the URL is known.
    pub pending: (String, String),
}

/// A callback on its way to a session.
#[derive(Debug)]
pub struct Login {
    kind: LoginKind,
    response: Option<AuthorizationResponse>,
    /// The state claimed in this page while its pending login is taken.
    claim: Option<String>,
    tx: Option<Transaction>,
    code: Option<AuthorizationCode>,
}

fn no_pending_login() -> AuthError {
    AuthError::new(
        code::MISSING_TRANSACTION,
        "there is no pending login: this callback was already used, expired, or was started in a storage this page cannot see",
    )
}

fn out_of_order() -> AuthError {
    AuthError::new(code::INVALID_CALLBACK, "login steps out of order")
}

impl Client {
    /// A new pending login (PKCE pair, `state`, `nonce`) and its
    /// authorization URL, or the pushed request that gives it. With `dpop`,
    /// `dpop_jkt` names the key the driver read last (RFC 9449 §10: it binds
    /// the code to the key that will redeem it).
    pub fn authorize(
        &mut self,
        mut opts: AuthorizeOptions,
        kind: LoginKind,
        now_ms: u64,
    ) -> Result<Authorization> {
        // RFC 8707 §2.1: a login asks for every API the app will want a
        // token for, so that the refresh token covers them; an API's own
        // silent authentication asks for that one only.
        if self.config.api_parameter == ApiParameter::Resource && kind != LoginKind::Api {
            opts.apis = self.config.apis.clone();
        }
        let dpop_jkt = match (self.config.dpop, &self.dpop_key) {
            (false, _) => None,
            (true, Some(key)) => Some(key.thumbprint()),
            (true, None) => return Err(AuthError::new(code::STORAGE_ERROR, "no DPoP key could be made")),
        };
        let (tx, params) = authorization_request(&self.config, opts, now_ms, dpop_jkt)?;
        let pending = (tx.transaction_storage_key(), tx.to_stored());
        Ok(
            match par::pushed_request_endpoint(&self.config, &self.metadata)? {
                None => Authorization {
                    url: Some(authorization_url(&self.metadata.authorization_endpoint, &params)?),
                    push: None,
                    pending,
                },
                Some(endpoint) => Authorization {
                    url: None,
                    push: Some(self.post(
                        par::pushed_authorization_request(endpoint, &params),
                        code::INVALID_PAR_RESPONSE,
                    )),
                    pending,
                },
            },
        )
    }

    /// The pushed request's answer: the URL with `client_id` and `request_uri`.
    pub fn pushed(&self, answer: HttpAnswer) -> Result<String> {
        let endpoint = self
            .metadata
            .pushed_authorization_request_endpoint
            .as_deref()
            .unwrap_or_default();
        let request = HttpRequest::secret(
            "POST",
            endpoint,
            self.config.http_timeout_ms,
            code::INVALID_PAR_RESPONSE,
        );
        let r = answer.response(&request)?;
        let request_uri = par::parse_pushed_response(r.status, r.text())?;
        par::authorization_url(
            &self.metadata.authorization_endpoint,
            &self.config.client_id,
            &request_uri,
        )
    }

    /// The storage key prefix of this client's pending logins.
    pub fn transaction_storage_prefix(&self) -> String {
        transaction_storage_prefix(self.config.issuer(), &self.config.client_id)
    }

    /// Of the pending logins in storage (`entries`: every key, with the
    /// value of this client's), those to remove: expired or unreadable.
    pub fn stale_pending(&self, entries: &[(String, Option<String>)], now_ms: u64) -> Vec<String> {
        let entries = entries.iter().map(|(k, v)| (k.as_str(), v.as_deref()));
        stale_keys(entries, &self.transaction_storage_prefix(), now_ms)
    }

    /// Reads a callback URL of `kind` (`invalid_callback` when it is not one).
    pub fn callback(&self, url: &str, kind: LoginKind) -> Result<Login> {
        Ok(Login {
            kind,
            response: Some(parse_callback_url(url)?),
            claim: None,
            tx: None,
            code: None,
        })
    }

    /// Claims the callback's `state` in this page before its pending login is
    /// read, so that two calls at once cannot both take it, whatever the
    /// storage ([`Client::release`] when done either way).
    pub fn claim(&mut self, login: &mut Login) -> Result<()> {
        let state = login
            .response
            .as_ref()
            .and_then(|r| r.state.clone())
            .unwrap_or_default();
        if self.consuming.contains(&state) {
            return Err(no_pending_login());
        }
        self.consuming.push(state.clone());
        login.claim = Some(state);
        Ok(())
    }

    /// [`Client::claim`] and [`Client::pending_key`] at once: the key of
    /// the callback's pending login, claimed; a refused claim is released.
    pub fn claim_pending(&mut self, login: &mut Login, keys: Option<&[String]>) -> Result<String> {
        self.claim(login)?;
        let key = self.pending_key(login, keys);
        if key.is_err() {
            self.release(login);
        }
        key
    }

    pub fn release(&mut self, login: &mut Login) {
        if let Some(state) = login.claim.take() {
            self.consuming.retain(|s| *s != state);
        }
    }

    /// The storage key of the callback's pending login, among `keys` (every
    /// key of `transactionStorage`; `None` from an adapter that cannot list
    /// them: the state's own key is read). `state_mismatch` when pending
    /// logins exist and none has this `state` (compared in constant time);
    /// `missing_transaction` when there is none.
    pub fn pending_key(&self, login: &Login, keys: Option<&[String]>) -> Result<String> {
        let state = login.response.as_ref().and_then(|r| r.state.as_deref());
        let prefix = self.transaction_storage_prefix();
        let Some(keys) = keys else {
            return Ok([prefix.as_str(), state.unwrap_or_default()].concat());
        };
        match find_by_state(keys.iter().map(String::as_str), &prefix, state) {
            StateLookup::Found(key) => Ok(key),
            StateLookup::Mismatch => Err(AuthError::new(
                code::STATE_MISMATCH,
                "no pending login has the callback's `state`: it was tampered with, or belongs to another login",
            )),
            StateLookup::NoneStored => Err(no_pending_login()),
        }
    }

    /// The pending login read (and already removed: a callback works at most
    /// once) from its key; refused when absent, unreadable, or older than 10
    /// minutes. Then the callback is checked against it (issuer, RFC 9207
    /// `iss`, the provider's `error`), which yields the code to exchange; and
    /// the DPoP key's thumbprint the exchange must be signed with, if any.
    pub fn take_pending(
        &self,
        login: &mut Login,
        stored: Option<&str>,
        now_ms: u64,
    ) -> Result<Option<String>> {
        let tx = Transaction::from_stored(stored.ok_or_else(no_pending_login)?)?;
        if tx.is_expired(now_ms) {
            return Err(AuthError::new(
                code::MISSING_TRANSACTION,
                "the pending login is older than 10 minutes; start the login again",
            ));
        }
        let response = login.response.take().ok_or_else(out_of_order)?;
        let code = validate_authorization_response(
            response,
            &tx,
            self.config.issuer(),
            self.metadata.authorization_response_iss_parameter_supported,
        )?;
        let jkt = tx.dpop_jkt.clone();
        login.code = Some(code);
        login.tx = Some(tx);
        Ok(jkt)
    }

    /// The code exchange: `grant_type=authorization_code` with `client_id`,
    /// `code_verifier`, `code` and `redirect_uri`; with the DPoP proof of the
    /// key the authorization request named (RFC 9449 §5, §10).
    pub fn token_request(&self, login: &Login, now_ms: u64) -> Result<HttpRequest> {
        let (Some(tx), Some(code)) = (&login.tx, &login.code) else {
            return Err(out_of_order());
        };
        // RFC 8707 §2.2: the token is for the API the login named.
        let resource = match self.config.api_parameter {
            ApiParameter::Resource => tx.audience.as_deref(),
            ApiParameter::Audience => None,
        };
        let form = authorization_code_request(
            &self.metadata.token_endpoint,
            self.config.token_request_encoding,
            tx,
            code,
            resource,
        );
        let request = self.token_endpoint_request(form);
        self.with_proof(request, tx.dpop_jkt.is_some(), None, now_ms)
    }

    /// The token response: tokens (an ID token required, OIDC Core §3.1.3.3;
    /// with DPoP, bound ones), and the ID token to verify next.
    pub fn exchanged(&self, login: &mut Login, answer: HttpAnswer, now_ms: u64) -> Result<Verification> {
        let tx = login.tx.as_ref().ok_or_else(out_of_order)?;
        let r = answer.response(&self.token_endpoint_context())?;
        let tokens =
            parse_token_response(r.status, r.text(), now_ms, true, self.config.default_expires_in_s)?;
        if tx.dpop_jkt.is_some() {
            crate::dpop::check_token_type(&tokens.token_type, r.status)?;
        }
        let raw = tokens
            .id_token
            .as_ref()
            .map(|t| t.expose().to_string())
            .unwrap_or_default();
        let purpose = Purpose::Login {
            nonce: tx.nonce.clone(),
            max_age: tx.max_age,
        };
        let mut v = Verification::new(&raw, purpose).becomes(Adoption::Login);
        v.tokens = Some(tokens);
        v.login = login.tx.take().map(|tx| (tx, login.kind));
        Ok(v)
    }

    /// The verified login becomes the session; for a renewal only when it is
    /// the same End-User's (otherwise `login_required`, nothing stored).
    /// Also the app's `appState` (its JSON text).
    pub fn adopt_login(&mut self, v: &mut Verification) -> Result<(Effects, Option<String>)> {
        let id_token = v.take_verified()?;
        let (Some((tx, kind)), Some(tokens)) = (v.login.take(), v.tokens.take()) else {
            return Err(out_of_order());
        };
        if matches!(kind, LoginKind::Renewal | LoginKind::Api) {
            match &self.session {
                Some(current) => current.check_renewal(&id_token)?,
                None => {
                    return Err(AuthError::new(
                        code::LOGIN_REQUIRED,
                        "the session ended while it was being renewed",
                    ))
                }
            }
        }
        if kind == LoginKind::Api {
            // An API's token: kept for it; the session's own stay.
            let key = ApiKey::asked(&self.config, tx.audience.as_deref(), Some(&tx.scope))?
                .ok_or_else(out_of_order)?;
            let mut effects = self.keep_api_token(key, &tokens)?;
            effects.emit = Some("refreshed");
            return Ok((effects, None));
        }
        // A new login starts without API tokens; a renewal keeps them
        // (the same End-User's).
        let apis = match (kind, self.session.take()) {
            (LoginKind::Renewal, Some(s)) => s.apis,
            _ => Vec::new(),
        };
        let mut effects = self.store_session(Session {
            tokens,
            id_token,
            dpop_jkt: tx.dpop_jkt,
            apis,
        });
        effects.emit = Some(if kind == LoginKind::Renewal {
            "refreshed"
        } else {
            "signed_in"
        });
        Ok((effects, tx.app_state))
    }

    /// A login that failed (the driver rethrows its error after these
    /// effects): a redirect login under way leaves no session behind; the
    /// others leave the session as it was.
    pub fn login_failed(&mut self, login: &Login) -> Effects {
        match login.kind {
            LoginKind::Redirect => self.forget_session(),
            _ => Effects::default(),
        }
    }

    /// What answers of the token endpoint are judged against.
    pub(crate) fn token_endpoint_context(&self) -> HttpRequest {
        HttpRequest::secret(
            "POST",
            &self.metadata.token_endpoint,
            self.config.http_timeout_ms,
            code::INVALID_TOKEN_RESPONSE,
        )
    }

    /// A token-endpoint POST (code exchange, refresh) of `form`.
    pub(crate) fn token_endpoint_request(&self, form: crate::token::TokenRequest) -> HttpRequest {
        self.post(form, code::INVALID_TOKEN_RESPONSE)
    }

    /// `form` POSTed as a request that carries a secret (no cache, no
    /// redirects followed); `invalid`: the code of an unusable answer.
    pub(crate) fn post(&self, form: crate::token::TokenRequest, invalid: &'static str) -> HttpRequest {
        let mut request = HttpRequest::secret("POST", &form.url, self.config.http_timeout_ms, invalid);
        request.content_type = Some(form.content_type);
        request.body = Some(form.body);
        request
    }
}
