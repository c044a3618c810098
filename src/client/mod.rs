//! The client: everything it knows (configuration, endpoints and how far
//! they are trusted, the session and its timeline, the servers' DPoP nonces)
//! and every decision it makes, as synchronous functions of data.
//!
//! Sans I/O: nothing here fetches, stores, waits or opens a window. Each
//! operation of the JS API is a short sequence the driver (`driver/`, in
//! JavaScript) performs: it asks the client what to send or read
//! ([`HttpRequest`](crate::http::HttpRequest), a storage key), does it, and
//! hands the answer back; the client judges the answer and says what follows
//! (an outcome, an [`Effects`] to apply, an error). The driver branches only
//! on those answers and on I/O outcomes. Time is the client's too: the
//! driver asks before an operation that must not run twice at once and says
//! when it ended, and every result names the generation of the session it
//! started from ([`timeline`]).
//!
//! - this module: creation, storage, the session as the app sees it, effects;
//! - [`timeline`]: the session's generations and the operations in flight;
//! - [`endpoints`]: discovery, the offline start and its confirmation;
//! - [`keys`]: which key set may vouch for an ID token, and its verification;
//! - [`restore`]: the stored session taken up when the client is made;
//! - [`login`]: the authorization request, pending logins, the callback, the
//!   code exchange, adopting the result, logins in a window;
//! - [`access`]: the access-token plan, refresh, renewal, other tabs' sessions;
//! - [`proof`]: DPoP keys, proofs and nonces; userinfo and the app's requests;
//! - [`logout`]: logout and revocation.

pub mod access;
pub mod endpoints;
pub mod keys;
pub mod login;
pub mod logout;
pub mod proof;
pub mod restore;
pub mod timeline;

#[cfg(test)]
mod flows;
#[cfg(test)]
mod model;

use crate::config::{parse_storage_kind, ClientConfig, ClientOptions, StorageKind};
use crate::discovery::ProviderMetadata;
use crate::dpop::PublicKey;
use crate::error::{code, AuthError, Result};
use crate::json::{Map, Value};
use crate::session::{parse_stored_session, session_storage_key, Session, StoredSession};
use timeline::{Asker, Change, Since, Timeline};

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

    /// The session is kept in Web Storage, which other writers than this
    /// library can write: it is sealed ([`crate::session::seal`]).
    pub fn sealed(&self) -> bool {
        matches!(self.tokens, Store::Session | Store::Local)
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

    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
            && self.remove.is_empty()
            && self.handoff.is_none()
            && !self.forget_key
            && self.emit.is_none()
            && self.error.is_none()
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

pub struct Client {
    pub config: ClientConfig,
    pub stores: Stores,
    pub(crate) metadata: ProviderMetadata,
    pub(crate) trust: Trust,
    pub(crate) algs: Vec<String>,
    /// Changed only through [`Client::store_session`] and
    /// [`Client::forget_session`] (and the adoptions, which record the
    /// change): every change goes on the timeline.
    pub(crate) session: Option<Session>,
    pub(crate) timeline: Timeline,
    /// This client in the page's table of operations in flight.
    pub(crate) asker: Asker,
    /// RFC 9449 §8, §9: the latest `DPoP-Nonce` of each server, by origin.
    pub(crate) nonces: Vec<(String, String)>,
    /// The public half of the DPoP key the driver read last.
    pub(crate) dpop_key: Option<PublicKey>,
    /// Why discovery failed, kept while an offline start is tried.
    pub(crate) unreachable: Option<AuthError>,
    /// The session `logout()` ended, until the provider has heard of it.
    pub(crate) ending: logout::Ending,
    /// This origin's secret the stored session is sealed with (Web Storage
    /// only, where the platform can keep one in IndexedDB).
    pub(crate) seal: Option<Vec<u8>>,
    /// The page was opened at this client's redirect URI with an
    /// authorization response, and no callback has been handled since:
    /// "not signed in" then says what was forgotten.
    pub(crate) callback_here: std::cell::Cell<bool>,
}

/// What a verified token becomes ([`Client::adopt`]), with what came with
/// it and where the session stood when the operation began.
#[derive(Debug)]
pub enum Adoption {
    /// Nothing: the key set readied ahead.
    Nothing,
    /// Nothing: the session's own token, as it was then, checked again (an
    /// offline start's confirmation).
    Checked(Since),
    /// The session read back when the client is made.
    Restored(crate::session::StoredSession, Since),
    /// The session another tab stored, read before a refresh.
    Shared(crate::session::StoredSession, Since),
    /// The session another tab stored, followed when it changed.
    Notified(crate::session::StoredSession, Since),
    /// A refresh response.
    Refreshed(Box<access::Refresh>),
    /// A login's code exchange.
    Login(Box<login::Exchanged>),
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
            timeline: Timeline::default(),
            asker: Asker {
                owner: timeline::new_owner(),
                family: crate::transaction::client_key(config.issuer(), &config.client_id),
            },
            nonces: Vec::new(),
            dpop_key: None,
            unreachable: None,
            ending: logout::Ending::default(),
            seal: None,
            callback_here: std::cell::Cell::new(false),
            config,
        })
    }

    /// Where the page is (`location.href`, none without a document): at
    /// this client's callback, a call that needs a session before
    /// `handleRedirectCallback` is told so.
    pub fn page_at(&mut self, href: Option<&str>) {
        self.callback_here.set(href.is_some_and(|h| self.arrived(h)));
    }

    /// `login_required` for a call that needs a session when there is none,
    /// saying what to call: `handleRedirectCallback()` on a callback page
    /// nothing handled (reason `callback_not_handled`, and a warning in the
    /// development build), else a login (reason `not_signed_in`).
    pub fn not_signed_in(&self) -> AuthError {
        if self.callback_here.get() {
            AuthError::new(
                code::LOGIN_REQUIRED,
                "not signed in: this page is at the redirect URI with an authorization response nothing handled: call handleRedirectCallback() first",
            )
            .with_reason("callback_not_handled")
        } else {
            AuthError::new(
                code::LOGIN_REQUIRED,
                "not signed in: log in first (loginWithRedirect() or loginWithPopup())",
            )
            .with_reason("not_signed_in")
        }
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

    /// A verified token becomes what its verification was for (see
    /// [`Adoption`]), if what happened since it began allows it.
    pub fn adopt(&mut self, v: &mut keys::Verification, now_ms: u64) -> Result<Adopted> {
        let id_token = match v.adoption {
            Adoption::Nothing | Adoption::Checked(_) => {
                return Ok(Adopted::Applied(Effects::default(), None))
            }
            _ => v.take_verified()?,
        };
        match std::mem::replace(&mut v.adoption, Adoption::Nothing) {
            Adoption::Nothing | Adoption::Checked(_) => Ok(Adopted::Applied(Effects::default(), None)),
            Adoption::Restored(stored, since) => Ok(self.adopt_restored(stored, id_token, since, now_ms)),
            Adoption::Shared(stored, since) => self.adopt_shared(stored, id_token, since),
            Adoption::Notified(stored, since) => Ok(self.adopt_notified(stored, id_token, since)),
            Adoption::Refreshed(refreshed) => self.adopt_refreshed(*refreshed, id_token),
            Adoption::Login(login) => self.adopt_login(*login, id_token),
        }
    }

    /// A verification of the session's own token failed with `e` (the driver
    /// rethrows it after these effects): the stored session taken up when
    /// the client is made ([`Client::restore_failed`]), or checked again after
    /// an offline start's confirmation ([`Client::confirmation_failed`]).
    pub fn failed(&mut self, v: &keys::Verification, e: &AuthError) -> Effects {
        match v.adoption {
            Adoption::Checked(_) => self.confirmation_failed(e, v),
            _ => self.restore_failed(e),
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

    /// Makes `session` the session (`change`: what it is to the one
    /// before): kept in `tokenStorage` and, for tabs sharing it, handed to
    /// the next lock holder.
    pub(crate) fn store_session(&mut self, session: Session, change: Change) -> Effects {
        let stored = self.stored_text(&session);
        self.set_session(session, change);
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

    /// Makes `session` the session here only (it is in storage already).
    pub(crate) fn set_session(&mut self, session: Session, change: Change) {
        self.session = Some(session);
        self.timeline.record(change);
    }

    /// Forgets the session here and in `tokenStorage`; tabs sharing it get a
    /// tombstone, not a deletion (they must not fall back to a stale
    /// `localStorage` copy). `signed_out` when there was one. Final for every
    /// operation in flight ([`timeline`]), whether there was one or not.
    pub(crate) fn forget_session(&mut self) -> Effects {
        let had = self.session.take().is_some();
        self.timeline.record(Change::Ended);
        let key = self.session_storage_key();
        Effects {
            handoff: self.stores.shared_by_tabs().then(|| (key.clone(), String::new())),
            remove: vec![key],
            emit: had.then_some("signed_out"),
            ..Effects::default()
        }
    }

    /// The platform kept this origin's secret for sealing the session (see
    /// [`Stores::sealed`]); `None`: it has nowhere to keep one, and sessions
    /// there are kept as they are.
    pub fn seal_with(&mut self, secret: Option<Vec<u8>>) {
        self.seal = secret.filter(|s| s.len() >= 32 && self.stores.sealed());
    }

    /// A session as `tokenStorage` keeps it: sealed where it is sealed.
    pub(crate) fn stored_text(&self, session: &Session) -> String {
        let text = session.to_stored(&self.config.client_id, self.config.issuer());
        match &self.seal {
            Some(secret) => crate::session::seal(&text, secret),
            None => text,
        }
    }

    /// A stored session of this client, read back like any input: sealed
    /// with this origin's secret where sessions are sealed, else refused
    /// (elsewhere a seal is read past).
    pub(crate) fn parse_stored(&self, stored: &str) -> Result<StoredSession> {
        let text = match &self.seal {
            Some(secret) => crate::session::unseal(stored, secret).ok_or_else(|| {
                AuthError::new(
                    code::STORAGE_ERROR,
                    "the stored session was not written by this library in this browser (its seal does not match): it was discarded",
                )
            })?,
            None => crate::session::without_seal(stored),
        };
        parse_stored_session(&text, &self.config.client_id, self.config.issuer())
    }

    /// Where the session stands now (what an operation notes when it begins).
    pub fn since(&self) -> Since {
        self.timeline.since()
    }
}

/// What a failure the driver met means (`what`: its kind; `detail`: the
/// platform's words; `login`: an `openUrl` of a login, whose rejected
/// promise is the user cancelling the auth session). Made here so that the
/// messages leave the production build with every other one.
pub fn driver_failure(what: &str, detail: String, login: bool) -> AuthError {
    let (c, message) = match what {
        "storage" => (code::STORAGE_ERROR, msg!("the storage refused to {detail}")),
        "request" => (
            code::INVALID_CONFIG,
            msg!("fetchWithAuth: not a request fetch can make ({detail})"),
        ),
        "network" => (
            code::NETWORK_ERROR,
            msg!(
                "the request to {detail}: the server did not answer, or refused this page's origin (a CORS refusal looks the same to a page)"
            ),
        ),
        "threw" => (code::INVALID_CONFIG, msg!("`openUrl` failed: {detail}")),
        "rejected" if login => (
            code::LOGIN_CANCELLED,
            msg!("the login was cancelled: `openUrl`'s promise was rejected ({detail})"),
        ),
        "rejected" => (code::INVALID_CONFIG, msg!("`openUrl` failed: {detail}")),
        "noWindow" => (code::INVALID_CONFIG, msg!("no window to navigate: pass `openUrl`")),
        "navigate" => (code::INVALID_CONFIG, msg!("the browser refused to navigate")),
        "blocked" => (
            code::POPUP_BLOCKED,
            msg!("the browser did not open the popup: call loginWithPopup() from a click handler"),
        ),
        "busy" => (
            code::POPUP_IN_PROGRESS,
            msg!("another loginWithPopup() of this page is still open: it was brought to the front"),
        ),
        "noCallback" => (
            code::INVALID_CALLBACK,
            msg!("no callback URL given and no window.location"),
        ),
        "dpopKey" => (
            code::STORAGE_ERROR,
            msg!("the DPoP key could not be read, made or stored ({detail})"),
        ),
        "verifier" => (code::UNSUPPORTED_PLATFORM, msg!("{detail}")),
        "signedOut" => (code::LOGIN_REQUIRED, msg!("not signed in")),
        _ => (code::INVALID_CONFIG, msg!("an error of no known kind ({detail})")),
    };
    AuthError::new(c, message)
}

/// What adopting a verified token did.
#[derive(Debug)]
pub enum Adopted {
    /// Apply these; a login's `appState` (its JSON text) comes with them.
    Applied(Effects, Option<String>),
    /// The session it was for was replaced or ended meanwhile (or, for a
    /// value read from storage, changed since the read): nothing was taken
    /// up; the operation plans again or ends.
    Stale,
}

/// Tests: a new page (this page's copies of discovery documents and key
/// sets forgotten, no operation in flight).
#[cfg(test)]
pub(crate) fn new_page() {
    endpoints::forget_documents();
    keys::forget_key_sets();
    timeline::new_page();
}

/// Tests: what a page keeps besides its clients (discovery documents, key
/// sets, the operations in flight), to run several pages in one thread.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct PageState {
    documents: Vec<((String, bool), ProviderMetadata)>,
    key_sets: Vec<(String, crate::jwks::JwkSet, u64)>,
    flights: timeline::Flights,
}

#[cfg(test)]
impl PageState {
    /// This page's state in place of the thread's (and the thread's here).
    pub(crate) fn swap(&mut self) {
        endpoints::swap_documents(&mut self.documents);
        keys::swap_key_sets(&mut self.key_sets);
        timeline::swap_flights(&mut self.flights);
    }
}

thread_local! {
    /// Whether this page was warned about `allowInsecureRequests`.
    static WARNED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}
