//! A login: the authorization request (in the URL or pushed, RFC 9126), the
//! pending login kept until the callback, the callback itself (RFC 6749
//! §4.1.2, RFC 9207), the code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5),
//! what the verified result may replace; and the logins of the JS API that
//! run them (by redirect, in a popup, silently in an iframe).

use super::keys::{Purpose, Verification};
use super::timeline::{Change, Claim, Since};
use super::Adoption;
use super::{Adopted, Client, Effects};
use crate::api::ApiKey;
use crate::authorize::{authorization_request, authorization_url, AuthorizeOptions};
use crate::callback::{parse_callback_url, validate_authorization_response, AuthorizationResponse};
use crate::config::ApiParameter;
use crate::error::{code, AuthError, Result};
use crate::http::{HttpAnswer, HttpRequest};
use crate::id_token::VerifiedIdToken;
use crate::par;
use crate::secret::AuthorizationCode;
use crate::session::Session;
use crate::token::{authorization_code_request, parse_token_response, TokenSet};
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
    /// The callback's `state`, as it came.
    state: String,
    /// The page's claim on that state, until the login is dropped.
    claim: Option<Claim>,
    tx: Option<Transaction>,
    code: Option<AuthorizationCode>,
    /// Where the session stood when the pending login was taken.
    since: Since,
}

/// A code exchange's answer, until its ID token is verified: what it may
/// replace depends on the login's kind and what happened since it began.
#[derive(Debug)]
pub struct Exchanged {
    tx: Transaction,
    kind: LoginKind,
    tokens: TokenSet,
    since: Since,
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
        // A callback is being handled: "not signed in" no longer blames the page.
        self.callback_here.set(false);
        let response = parse_callback_url(url)?;
        Ok(Login {
            kind,
            state: response.state.clone().unwrap_or_default(),
            response: Some(response),
            claim: None,
            tx: None,
            code: None,
            since: self.since(),
        })
    }

    /// Claims the callback's `state` in this page, for every client of this
    /// provider and client id, before its pending login is read: two calls
    /// at once (two clients made with the same options, say) cannot both
    /// take it, whatever the storage. Held until the login is dropped. Then
    /// the key of its pending login (see [`Client::pending_key`]).
    pub fn claim(&self, login: &mut Login, keys: Option<&[String]>) -> Result<String> {
        let claim = Claim::take(&self.asker, &login.state).ok_or_else(|| {
            AuthError::new(
                code::MISSING_TRANSACTION,
                "this callback is being handled already in this page (by this client or another of the same provider and client id)",
            )
        })?;
        let key = self.pending_key(login, keys)?;
        login.claim = Some(claim);
        Ok(key)
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
        login.since = self.since();
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
        let tx = login.tx.take().ok_or_else(out_of_order)?;
        let exchanged = Exchanged {
            tx,
            kind: login.kind,
            tokens,
            since: login.since,
        };
        Ok(Verification::new(&raw, purpose).becomes(Adoption::Login(Box::new(exchanged))))
    }

    /// The verified login becomes the session; for a renewal only when it is
    /// the same End-User's (otherwise `login_required`, nothing stored). A
    /// login that began before a logout (or another tab's sign-out) is
    /// cancelled by it; a renewal of a session replaced or ended meanwhile
    /// is dropped ([`Adopted::Stale`]). Also the app's `appState` (its JSON text).
    pub(crate) fn adopt_login(&mut self, x: Exchanged, id_token: VerifiedIdToken) -> Result<Adopted> {
        let Exchanged {
            tx,
            kind,
            tokens,
            since,
        } = x;
        let renewal = matches!(kind, LoginKind::Renewal | LoginKind::Api);
        if renewal && !self.timeline.same_session(since) {
            return Ok(Adopted::Stale);
        }
        if self.timeline.ended_since(since) {
            return Err(AuthError::new(
                code::LOGIN_CANCELLED,
                "the login was cancelled: the session was ended (logout) while it was under way",
            ));
        }
        if renewal {
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
            return Ok(Adopted::Applied(effects, None));
        }
        // A new login starts without API tokens; a renewal keeps them
        // (the same End-User's).
        let apis = match (kind, self.session.take()) {
            (LoginKind::Renewal, Some(s)) => s.apis,
            _ => Vec::new(),
        };
        let change = if renewal {
            Change::Updated
        } else {
            Change::Replaced
        };
        let mut effects = self.store_session(
            Session {
                tokens,
                id_token,
                dpop_jkt: tx.dpop_jkt,
                apis,
            },
            change,
        );
        effects.emit = Some(if renewal { "refreshed" } else { "signed_in" });
        Ok(Adopted::Applied(effects, tx.app_state))
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

/// How a window (popup, iframe) came back without the callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    Closed,
    TimedOut,
    /// No window could be made here (no document: a worker).
    Missing,
}

impl Client {
    /// A window (popup, iframe) showing `url` has come back with an
    /// authorization response to this client's redirect URI.
    pub fn arrived(&self, url: &str) -> bool {
        crate::callback::is_response_at(url, &self.config.redirect_uri)
    }

    /// What a window that came back without a callback means, by the
    /// login's kind: a closed popup or a timeout is the call's error; a
    /// silent login that gave nothing back is no login (`Ok`).
    pub fn window_outcome(&self, kind: LoginKind, window: Window, timeout_ms: u32) -> Result<()> {
        match (kind, window) {
            (LoginKind::Popup, Window::Closed) => Err(AuthError::new(
                code::POPUP_CLOSED,
                "the popup was closed before the login completed",
            )),
            (LoginKind::Popup, Window::TimedOut) => Err(AuthError::new(
                code::TIMEOUT,
                "the login in the popup did not complete in time (`timeoutMs`)",
            )),
            (LoginKind::Popup, _) => Err(AuthError::new(
                code::POPUP_BLOCKED,
                "the browser did not open the popup: call loginWithPopup() from a click handler",
            )),
            (_, Window::TimedOut) => Err(AuthError::new(
                code::TIMEOUT,
                msg!(
                    "silent authentication got no answer within {timeout_ms} ms (the provider's cookie may be \
                     blocked in iframes, or its pages may refuse to be framed)"
                ),
            )),
            _ => Ok(()),
        }
    }
}
