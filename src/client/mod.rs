//! The client: everything it knows (configuration, endpoints and how far
//! they are trusted, the session, the servers' DPoP nonces) and every
//! decision it makes between two I/O steps, as synchronous functions.
//!
//! Sans I/O: nothing here fetches, stores, waits or opens a window. Each
//! operation of the JS API is a short sequence the driver (`driver/`, in
//! JavaScript) performs: it asks the client what to send or read
//! ([`HttpRequest`], a storage key), does it, and hands the answer back; the
//! client judges the answer and says what follows (an outcome, an
//! [`Effects`] to apply, an error). The driver branches only on those
//! answers and on I/O outcomes.
//!
//! - this module: creation, storage and endpoints (discovery, the offline
//!   start and its confirmation), the session as the app sees it, effects;
//! - [`keys`]: which key set may vouch for an ID token, and its verification;
//! - [`login`]: the authorization request, pending logins, the callback, the
//!   code exchange, adopting the result;
//! - [`access`]: the access-token plan, refresh, stored sessions of other tabs;
//! - [`proof`]: DPoP keys, proofs and nonces; resource requests;
//! - [`logout`]: logout and revocation.

pub mod access;
pub mod keys;
pub mod login;
pub mod logout;
pub mod proof;
pub mod restore;

#[cfg(test)]
mod flows;

use std::cell::RefCell;

use crate::config::{parse_storage_kind, ClientConfig, ClientOptions, ProviderSource, StorageKind};
use crate::discovery::{
    apply_overrides, discovery_url, metadata_from_overrides, parse_discovery_document, static_metadata,
    ProviderMetadata,
};
use crate::dpop::PublicKey;
use crate::error::{code, AuthError, Result};
use crate::http::{expect_ok, is_unreachable, Cache, HttpAnswer, HttpRequest};
use crate::id_token::allowed_algs;
use crate::json::{Map, Value};
use crate::session::{parse_stored_session, session_storage_key, Session};

thread_local! {
    /// Discovery documents, fetched once per page per issuer and per
    /// `allowInsecureRequests`: a document accepted with insecure endpoints
    /// allowed must not serve a client that does not allow them.
    static DISCOVERY: RefCell<Vec<((String, bool), ProviderMetadata)>> = const { RefCell::new(Vec::new()) };
    /// Whether this page was warned about `allowInsecureRequests`.
    static WARNED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How the app asked for a storage (`transactionStorage`, `tokenStorage`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageOption {
    /// Not given.
    Default,
    /// `"session"`, `"local"` or `"memory"` (checked here).
    Named(String),
    /// An adapter `{ get, set, remove, keys? }` (its methods checked by the caller).
    Adapter,
}

/// A store the driver opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// `sessionStorage`.
    Session,
    /// `localStorage`.
    Local,
    /// This page's memory, shared by its clients.
    Page,
    /// Nothing is kept: the session lives in the client object only.
    Nothing,
    /// The app's adapter.
    App,
}

impl Store {
    pub fn name(self) -> &'static str {
        match self {
            Store::Session => "session",
            Store::Local => "local",
            Store::Page => "page",
            Store::Nothing => "none",
            Store::App => "app",
        }
    }
}

/// Where pending logins and the session are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stores {
    pub transactions: Store,
    pub tokens: Store,
    /// The default `tokenStorage` could not be opened (no Web Storage, as in
    /// a worker): keep nothing rather than fail.
    pub tokens_or_nothing: bool,
}

impl Stores {
    /// What is stored outlives the page.
    pub fn persists(&self) -> bool {
        matches!(self.tokens, Store::Session | Store::Local | Store::App)
    }

    /// Tabs share the session and hand it over (`tokenStorage: "local"`).
    pub fn shared_by_tabs(&self) -> bool {
        self.tokens == Store::Local
    }
}

/// How far a client's endpoints may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Not known yet: discovery is under way.
    Unknown,
    /// From configuration, or a discovery document the provider served.
    Confirmed,
    /// From the document kept with the session (an offline start): storage,
    /// which another script could have written. Nothing taken from it sends
    /// the browser or a request anywhere until the provider serves the same
    /// endpoints again; the restored session is checked only against a key
    /// set stored within its lifetime.
    Kept,
    /// The provider served other endpoints than the kept ones: the session
    /// and the kept document were dropped, and nothing of them is used.
    Refused,
}

/// What the driver does after a step, in this order: the storage writes (a
/// failure is `storage_error`), the removals and the hand-off (best effort),
/// the DPoP key removal, the event; then it throws `error` if there is one.
#[derive(Debug, Default)]
pub struct Effects {
    /// `tokenStorage` writes.
    pub set: Vec<(String, String)>,
    /// `tokenStorage` removals.
    pub remove: Vec<String>,
    /// For tabs sharing `localStorage`: the session the next lock holder
    /// reads first (`""`: ended), see [`Client::shared`].
    pub handoff: Option<(String, String)>,
    /// The DPoP key goes (logout).
    pub forget_key: bool,
    pub emit: Option<&'static str>,
    pub error: Option<AuthError>,
}

impl Effects {
    pub fn failing(error: AuthError) -> Effects {
        Effects {
            error: Some(error),
            ..Effects::default()
        }
    }

    /// Another step's effects after these.
    pub fn and(mut self, other: Effects) -> Effects {
        self.set.extend(other.set);
        self.remove.extend(other.remove);
        self.handoff = other.handoff.or(self.handoff);
        self.forget_key |= other.forget_key;
        self.emit = other.emit.or(self.emit);
        self.error = other.error.or(self.error);
        self
    }
}

/// Which kind of login a callback completes, which decides what it may do
/// to the session already here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginKind {
    /// `handleRedirectCallback`: a login that fails leaves no session behind.
    Redirect,
    /// `loginWithPopup`: a failure leaves the session here as it was.
    Popup,
    /// `checkSession`: asks the provider; a failure leaves the session as it was.
    Silent,
    /// Silent renewal of this session (no refresh token): as `Silent`, and
    /// only the same End-User may replace it ([`crate::session::Session::check_renewal`]).
    Renewal,
    /// Silent authentication for an API's token (no refresh token): the
    /// same End-User's only, and the token is kept for that API, never in
    /// place of the session's.
    Api,
}

/// An operation whose failure may leave effects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failed {
    /// Verifying the session again after an offline start's confirmation.
    Confirmation,
    /// Taking up the stored session when the client is made.
    Restore,
}

/// What discovery's answer means.
#[derive(Debug, PartialEq, Eq)]
pub enum Discovered {
    /// The endpoints are known; `keep` is the document to keep beside the
    /// session (`tokenStorage` persists), for an offline start.
    Ready { keep: Option<(String, String)> },
    /// No answer, and a session may be stored: read these two keys (the
    /// session, the kept document) and hand them to [`Client::start_offline`].
    Offline {
        session_key: String,
        document_key: String,
    },
}

/// What confirming the endpoints of an offline start found.
#[derive(Debug)]
pub enum Confirmation {
    /// Confirmed: the session's ID token (if any) is to be verified again
    /// against the provider's key set ([`keys::Purpose::Confirm`]).
    Confirmed { id_token: Option<String> },
    /// Not confirmed: apply (the session and the kept document are dropped,
    /// or, offline still, nothing) and throw.
    Refused(Effects),
}

pub struct Client {
    pub config: ClientConfig,
    pub stores: Stores,
    pub(crate) metadata: ProviderMetadata,
    pub(crate) trust: Trust,
    pub(crate) algs: Vec<String>,
    pub(crate) session: Option<Session>,
    /// RFC 9449 §8, §9: the latest `DPoP-Nonce` of each server, by origin.
    pub(crate) nonces: Vec<(String, String)>,
    /// States whose callback is being handled in this page.
    pub(crate) consuming: Vec<String>,
    /// The public half of the DPoP key the driver read last.
    pub(crate) dpop_key: Option<PublicKey>,
    /// Why discovery failed, kept while an offline start is tried.
    unreachable: Option<AuthError>,
}

impl Client {
    /// Validates the options and decides where things are kept.
    pub fn new(
        options: ClientOptions,
        transaction_storage: StorageOption,
        token_storage: StorageOption,
    ) -> Result<Client> {
        let config = ClientConfig::from_options(options)?;
        let store = |option: &StorageOption, name: &str, memory: Store| -> Result<Store> {
            Ok(match option {
                StorageOption::Adapter => Store::App,
                StorageOption::Default => Store::Session,
                StorageOption::Named(s) => match parse_storage_kind(Some(s), name)? {
                    StorageKind::Session => Store::Session,
                    StorageKind::Local => Store::Local,
                    StorageKind::Memory => memory,
                },
            })
        };
        let stores = Stores {
            transactions: store(&transaction_storage, "transactionStorage", Store::Page)?,
            // Default "session": a reload of the tab keeps a signed-in user
            // signed in (as oidc-client-ts does), with no iframe and no
            // third-party cookie; the tab's sessionStorage is gone with the tab.
            tokens: store(&token_storage, "tokenStorage", Store::Nothing)?,
            tokens_or_nothing: token_storage == StorageOption::Default,
        };
        let issuer = config.issuer().to_string();
        Ok(Client {
            stores,
            metadata: crate::discovery::auth0_metadata(&issuer),
            trust: Trust::Unknown,
            algs: Vec::new(),
            session: None,
            nonces: Vec::new(),
            consuming: Vec::new(),
            dpop_key: None,
            unreachable: None,
            config,
        })
    }

    /// A store could not be opened: where the default `tokenStorage` cannot
    /// be, nothing is kept; anything else is `storage_error`.
    pub fn store_unavailable(&mut self, tokens: bool) -> Result<()> {
        if tokens && self.stores.tokens_or_nothing {
            self.stores.tokens = Store::Nothing;
            return Ok(());
        }
        Err(AuthError::new(
            code::STORAGE_ERROR,
            "the storage refused to open (Web Storage is disabled or blocked here)",
        ))
    }

    /// `allowInsecureRequests` turns off a protection: the words to warn with,
    /// once per page.
    pub fn warning(&self) -> Option<&'static str> {
        (self.config.allow_insecure_requests && !WARNED.with(|w| w.replace(true))).then_some(
            "oidc-pkce: allowInsecureRequests is on: plain http is allowed to a non-loopback provider. \
             Tokens and codes can then be read and changed on the network. Use it for development only.",
        )
    }

    /// RFC 9449 with a non-extractable key needs `crypto.subtle` (a secure
    /// context) and IndexedDB: without them, no silent fallback to Bearer.
    pub fn check_platform(&self, dpop_supported: bool) -> Result<()> {
        if self.config.dpop && !dpop_supported {
            return Err(AuthError::new(
                code::UNSUPPORTED_PLATFORM,
                "`dpop` needs crypto.subtle and IndexedDB: serve the page over https (or http://localhost)",
            ));
        }
        Ok(())
    }

    // ---- endpoints ----

    /// The discovery request, or `None` when the endpoints are known without
    /// one (Auth0 `domain`, both login endpoints given, or this page's copy).
    pub fn discovery_request(&mut self) -> Result<Option<HttpRequest>> {
        let known = static_metadata(&self.config)
            .or_else(|| metadata_from_overrides(&self.config))
            .or_else(|| {
                DISCOVERY.with(|d| {
                    d.borrow()
                        .iter()
                        .find(|(k, _)| *k == self.discovery_cache_key())
                        .map(|(_, m)| apply_overrides(m.clone(), &self.config.endpoints))
                })
            });
        match known {
            Some(m) => {
                self.set_endpoints(m, Trust::Confirmed)?;
                Ok(None)
            }
            None => Ok(Some(self.discovery_document_request())),
        }
    }

    fn discovery_document_request(&self) -> HttpRequest {
        HttpRequest::document(
            &discovery_url(self.config.issuer()),
            Cache::NoStore,
            self.config.http_timeout_ms,
            code::INVALID_DISCOVERY,
        )
    }

    fn discovery_cache_key(&self) -> (String, bool) {
        (
            self.config.issuer().to_string(),
            self.config.allow_insecure_requests,
        )
    }

    /// The storage key of the discovery document kept with a session.
    pub fn discovery_storage_key(&self) -> String {
        [
            "oidc-pkce:discovery:",
            &crate::transaction::key_part(self.config.issuer()),
        ]
        .concat()
    }

    fn set_endpoints(&mut self, metadata: ProviderMetadata, trust: Trust) -> Result<()> {
        if self.config.dpop {
            crate::dpop::check_provider_support(metadata.dpop_signing_alg_values_supported.as_deref())?;
        }
        self.algs = allowed_algs(
            self.config.id_token_signing_algs.as_deref(),
            metadata.id_token_signing_alg_values_supported.as_deref(),
        );
        self.metadata = metadata;
        self.trust = trust;
        Ok(())
    }

    /// Reads the discovery answer. Checked like any input; kept in this page
    /// and, with a persistent `tokenStorage`, beside the session. No answer
    /// with a persistent `tokenStorage`: an offline start is tried.
    pub fn discovered(&mut self, answer: HttpAnswer) -> Result<Discovered> {
        let request = self.discovery_document_request();
        let offline_possible = answer.is_unanswered() && self.stores.persists();
        let document = answer.response(&request).and_then(|r| {
            expect_ok(&r, &request)?;
            let m = parse_discovery_document(
                r.text(),
                self.config.issuer(),
                self.config.allow_insecure_requests,
            )?;
            Ok((m, r.body.unwrap_or_default()))
        });
        match document {
            Ok((m, body)) => {
                let key = self.discovery_cache_key();
                DISCOVERY.with(|d| {
                    let mut d = d.borrow_mut();
                    d.retain(|(k, _)| *k != key);
                    d.push((key, m.clone()));
                });
                self.set_endpoints(apply_overrides(m, &self.config.endpoints), Trust::Confirmed)?;
                let keep = self
                    .stores
                    .persists()
                    .then(|| (self.discovery_storage_key(), body));
                Ok(Discovered::Ready { keep })
            }
            Err(e) if offline_possible => {
                self.unreachable = Some(e);
                Ok(Discovered::Offline {
                    session_key: self.session_storage_key(),
                    document_key: self.discovery_storage_key(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// An offline start: with a session stored, the kept document serves
    /// (read back like any input: the same checks as a fetched document),
    /// as storage until the provider confirms it ([`Trust::Kept`]).
    /// Otherwise discovery's own error.
    pub fn start_offline(&mut self, session: Option<&str>, document: Option<&str>) -> Result<()> {
        let unreachable = self
            .unreachable
            .take()
            .unwrap_or_else(|| AuthError::new(code::NETWORK_ERROR, "the provider gave no answer"));
        let kept = session.and(document).and_then(|doc| {
            parse_discovery_document(doc, self.config.issuer(), self.config.allow_insecure_requests).ok()
        });
        match kept {
            Some(m) => self.set_endpoints(apply_overrides(m, &self.config.endpoints), Trust::Kept),
            None => Err(unreachable),
        }
    }

    /// Before anything that sends the browser or a request to the provider's
    /// endpoints: `None` when they are confirmed; after an offline start, the
    /// discovery request whose answer must confirm them
    /// ([`Client::confirmed`]). Refused endpoints: `invalid_discovery`.
    pub fn confirmation_request(&self) -> Result<Option<HttpRequest>> {
        match self.trust {
            Trust::Kept if matches!(self.config.provider, ProviderSource::Issuer(_)) => {
                Ok(Some(self.discovery_document_request()))
            }
            Trust::Refused => Err(endpoints_refused()),
            _ => Ok(None),
        }
    }

    /// The provider answered discovery after an offline start. The same
    /// endpoints: confirmed, and the session is to be verified against the
    /// key set the provider serves now. No answer, or a 5xx: offline still,
    /// the session stays. Anything else (other endpoints, a document that
    /// fails its checks): the session and the kept document are dropped.
    pub fn confirmed(&mut self, answer: HttpAnswer) -> Confirmation {
        let request = self.discovery_document_request();
        let fresh = answer.response(&request).and_then(|r| {
            expect_ok(&r, &request)?;
            parse_discovery_document(
                r.text(),
                self.config.issuer(),
                self.config.allow_insecure_requests,
            )
        });
        let refusal = match fresh {
            Ok(m) => (apply_overrides(m, &self.config.endpoints) != self.metadata).then(endpoints_refused),
            Err(e) if is_unreachable(&e) || e.status().is_some_and(|s| s >= 500) => {
                return Confirmation::Refused(Effects::failing(e))
            }
            Err(e) => Some(e),
        };
        if let Some(e) = refusal {
            self.trust = Trust::Refused;
            let mut effects = self.forget_session();
            effects.remove.push(self.discovery_storage_key());
            effects.error = Some(e);
            return Confirmation::Refused(effects);
        }
        self.trust = Trust::Confirmed;
        Confirmation::Confirmed {
            id_token: self.session.as_ref().map(|s| s.id_token.raw.expose().to_string()),
        }
    }

    /// Verifying the session again after the endpoints were confirmed failed
    /// with `e` (the driver rethrows it after these effects): no answer from
    /// the key set's server, and the session is checked next time; anything
    /// else, and it is forgotten.
    pub fn confirmation_failed(&mut self, e: &AuthError) -> Effects {
        if is_unreachable(e) {
            self.trust = Trust::Kept;
            return Effects::default();
        }
        self.forget_session()
    }

    /// The endpoints may send the browser somewhere now, without waiting for
    /// the provider (`buildLogoutUrl` is synchronous): only when confirmed.
    pub fn endpoints_confirmed(&self) -> Result<()> {
        match self.trust {
            Trust::Kept => Err(AuthError::new(
                code::NETWORK_ERROR,
                "the provider has not been reached since this page started offline: its endpoints are not confirmed yet",
            )),
            Trust::Refused => Err(endpoints_refused()),
            _ => Ok(()),
        }
    }

    /// A verified token becomes what its verification was for: the session
    /// (a login, a refresh, a stored one, another tab's), or nothing. A login
    /// needs its [`login::Login`]; the app's `appState` comes back with it.
    pub fn adopt(&mut self, v: &mut keys::Verification, now_ms: u64) -> Result<(Effects, Option<String>)> {
        let effects = match v.adoption {
            keys::Adoption::Login => return self.adopt_login(v),
            keys::Adoption::Restored => self.adopt_restored(v, now_ms),
            keys::Adoption::Shared => self.adopt_shared(v).map(|_| Effects::default()),
            keys::Adoption::Notified => self.adopt_notified(v),
            keys::Adoption::Refreshed => self.adopt_refreshed(v),
            keys::Adoption::Nothing => Ok(Effects::default()),
        }?;
        Ok((effects, None))
    }

    /// What a step's failure with `e` leaves (the driver rethrows the error
    /// after these effects): see [`Failed`] (a login's: [`Client::login_failed`]).
    pub fn failed(&mut self, what: Failed, e: &AuthError) -> Effects {
        match what {
            Failed::Confirmation => self.confirmation_failed(e),
            Failed::Restore => self.restore_failed(e),
        }
    }

    // ---- the session as the app sees it ----

    /// The storage key of this client's session: by issuer and client id.
    pub fn session_storage_key(&self) -> String {
        session_storage_key(self.config.issuer(), &self.config.client_id)
    }

    /// Signed in: the access token is valid, or a refresh token can renew it.
    pub fn is_authenticated(&self, now_ms: u64) -> bool {
        self.session.as_ref().is_some_and(|s| s.is_active(now_ms))
    }

    /// `getTokens()`.
    pub fn tokens(&self) -> Option<Map<String, Value>> {
        Some(
            self.session
                .as_ref()?
                .tokens_for_app(self.config.expose_refresh_token),
        )
    }

    /// `getIdTokenClaims()`: every verified claim, and the raw token as `__raw`.
    pub fn id_token_claims(&self) -> Option<Map<String, Value>> {
        let s = self.session.as_ref()?;
        let mut claims = s.id_token.claims.clone();
        claims.insert("__raw".into(), s.id_token.raw.expose().into());
        Some(claims)
    }

    /// `getUser()`.
    pub fn user(&self) -> Option<Map<String, Value>> {
        Some(self.session.as_ref()?.user())
    }

    /// Makes `session` the session: kept in `tokenStorage` and, for tabs
    /// sharing it, handed to the next lock holder.
    pub(crate) fn store_session(&mut self, session: Session) -> Effects {
        let stored = session.to_stored(&self.config.client_id, self.config.issuer());
        self.session = Some(session);
        let key = self.session_storage_key();
        Effects {
            handoff: self
                .stores
                .shared_by_tabs()
                .then(|| (key.clone(), stored.clone())),
            set: vec![(key, stored)],
            ..Effects::default()
        }
    }

    /// Forgets the session here and in `tokenStorage`; tabs sharing it get a
    /// tombstone, not a deletion (they must not fall back to a stale
    /// `localStorage` copy). `signed_out` when there was one.
    pub(crate) fn forget_session(&mut self) -> Effects {
        let had = self.session.take().is_some();
        let key = self.session_storage_key();
        Effects {
            handoff: self.stores.shared_by_tabs().then(|| (key.clone(), String::new())),
            remove: vec![key],
            emit: had.then_some("signed_out"),
            ..Effects::default()
        }
    }

    /// A stored session of this client, read back like any input.
    pub(crate) fn parse_stored(&self, stored: &str) -> Result<crate::session::StoredSession> {
        parse_stored_session(stored, &self.config.client_id, self.config.issuer())
    }
}

/// Tests: a new page (this page's copies of discovery documents and key
/// sets forgotten).
#[cfg(test)]
pub(crate) fn new_page() {
    DISCOVERY.with(|d| d.borrow_mut().clear());
    keys::forget_key_sets();
}

pub(crate) fn endpoints_refused() -> AuthError {
    AuthError::new(
        code::INVALID_DISCOVERY,
        "the provider's endpoints are not the ones kept with the session: the session was dropped; create the client again",
    )
}
