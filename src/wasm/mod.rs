//! The WebAssembly exports: the client core (`Core`), its per-operation
//! values (`Login`, `Verification`, `Access`), `createPkcePair`, and the
//! conversions between their Rust and JS values (convert.rs, error.rs).
//! Every export is synchronous; the driver (`driver/`) awaits the I/O
//! between them, and asks the core before an operation that must not run
//! twice at once (`begin`, `end`).
//!
//! The TS types below are part of the generated `.d.ts`, which the driver is
//! type-checked against (`tsc --checkJs --strict`, in `npm test`): the seam
//! between the two languages is checked by a compiler.

mod convert;
mod error;

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use crate::authorize::AuthorizeOptions;
use crate::client::access::{self, Access as AccessRequest};
use crate::client::endpoints::{Confirmation, Discovered};
use crate::client::keys::{Given, Input};
use crate::client::login::{LoginKind, Window};
use crate::client::logout::Revocation;
use crate::client::timeline::{Begin, Kind, Since};
use crate::client::{restore, Adopted, Client};
use crate::error::{code, AuthError};
use crate::json::{FirstError, Map, Value};
use crate::pkce::{CodeVerifier, CODE_CHALLENGE_METHOD};
use convert::{answer_from_js, effects_to_js, object_to_js, option, request_to_js, step_to_js, Reader};

type Result<T> = std::result::Result<T, AuthError>;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A request the core asks the driver to send: fetch(url, { method, headers, body, cache, redirect, credentials: "omit" }), within timeoutMs, reading at most maxBytes; a DPoP proof signed over dpopInput goes in the DPoP header. */
export interface HttpRequest { method: string; url: string; contentType?: string; body?: string; authorization?: string; dpopInput?: string; cache: RequestCache; redirect: RequestRedirect; timeoutMs: number; maxBytes: number }
/** What the driver got for an HttpRequest, as facts (body null: past maxBytes; redirected: a redirect was followed, or, with status 0, one was not); the core judges them by the request. */
export type HttpAnswer = { status: number; body: string | null; redirected?: boolean; cacheControl?: string | null; dpopNonce?: string | null; wwwAuthenticate?: string | null } | { failure: string; timedOut: boolean };
/** What the driver does after a step: writes (must succeed), removals and the hand-off (best effort), the DPoP key's removal, the event; then it throws error. stale: the session it was for changed meanwhile, nothing was taken up (plan again). */
export interface Effects { set: [string, string][]; remove: string[]; handoff?: [string, string]; forgetKey?: true; emit?: "signed_in" | "refreshed" | "signed_out"; error?: Error; stale?: true }
/** A signature to check, with the WebCrypto algorithm (for importKey and verify) of its alg. */
export interface Check { alg: string; jwk: string; input: string; signature: string; params?: { name: string; hash: string; namedCurve?: string; saltLength: number } }
/** A verification step: read a tokenStorage key, fetch, or check a signature; keep: a key set to store (or remove: null), best effort. */
export interface Step { read?: string; fetch?: HttpRequest; check?: Check; done?: true; keep?: [string, string | null] }
/** What the driver needs once: the client's identity (issuer and client id), whether the session is sealed (then the secret is read first: Core.seal), the stores to open (shared: tabs hand the session over through IndexedDB), a warning to print, the discovery request, the storage keys of a stored session (and its pre-0.1.1 place), the refresh's Web Lock, this client's DPoP key's name. */
export interface Setup { issuer: string; id: string; seal: boolean; transactions: "session" | "local" | "page" | "app"; tokens: "session" | "local" | "none" | "app"; shared: boolean; warning?: string; discovery?: HttpRequest; session: string; legacy: string; lock: string; dpop?: string }
/** What the driver brings back for a verification step: nothing (the start), a stored value, an answer, or the platform's answer for a signature. */
export type StepInput = undefined | { stored: string | null } | { answer: HttpAnswer } | { valid: boolean; why?: string };
/** The session as the app sees it. */
export interface SessionView { authenticated: boolean; tokens: Record<string, unknown> | null; claims: Record<string, unknown> | null; user: Record<string, unknown> | null }
/** What begin() decided: start it (end(id) when over), join the one under way (its outcome is this one's), or wait for that one to end and ask again; none of them: nothing to do. */
export interface Flight { start?: number; join?: number; after?: number }
export type LoginKindName = "redirect" | "popup" | "silent" | "renewal" | "api";
export type Failure = "storage" | "request" | "network" | "threw" | "rejected" | "noWindow" | "navigate" | "blocked" | "busy" | "noCallback" | "dpopKey" | "verifier" | "signedOut";
"#;

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn js_error(e: AuthError) -> JsValue {
    e.into()
}

/// A kind string the driver passed: one the core knows, or `invalid_config`.
fn unknown(what: &str) -> AuthError {
    AuthError::new(code::INVALID_CONFIG, msg!("no {what} of that name"))
}

/// The code of a JS error (an AuthError), and whether a server sent it.
fn error_of(e: &JsValue) -> AuthError {
    let code = option(e, "code").as_string().unwrap_or_default();
    let known = [code::NETWORK_ERROR, code::TIMEOUT, code::LOGIN_REQUIRED]
        .into_iter()
        .find(|c| *c == code)
        .unwrap_or(code::INVALID_CONFIG);
    match option(e, "error").as_string() {
        Some(error) => AuthError::from_server(
            crate::error::ServerError {
                error,
                error_description: None,
                error_uri: None,
            },
            None,
            code::INVALID_CALLBACK,
        ),
        None => AuthError::new(known, ""),
    }
}

fn login_kind(kind: &str) -> Result<LoginKind> {
    Ok(match kind {
        "redirect" => LoginKind::Redirect,
        "popup" => LoginKind::Popup,
        "silent" => LoginKind::Silent,
        "renewal" => LoginKind::Renewal,
        "api" => LoginKind::Api,
        _ => return Err(unknown("login kind")),
    })
}

fn login_kind_name(kind: LoginKind) -> &'static str {
    match kind {
        LoginKind::Redirect => "redirect",
        LoginKind::Popup => "popup",
        LoginKind::Silent => "silent",
        LoginKind::Renewal => "renewal",
        LoginKind::Api => "api",
    }
}

fn with(mut o: Map<String, Value>, name: &str, v: JsValue) -> JsValue {
    o.insert(name.into(), Value::Null);
    let out = object_to_js(o);
    let _ = Reflect::set(&out, &name.into(), &v);
    out
}

fn effects_with(effects: crate::client::Effects, name: &str, v: JsValue) -> JsValue {
    let out = effects_to_js(effects);
    let _ = Reflect::set(&out, &name.into(), &v);
    out
}

/// The origin of the page (`location.origin`), where there is one.
fn page_origin() -> Option<String> {
    let location = Reflect::get(&js_sys::global(), &"location".into()).ok()?;
    option(&location, "origin").as_string()
}

/// A client of one provider: what it knows and what it decides.
#[wasm_bindgen]
pub struct Core {
    client: Client,
}

/// A callback on its way to a session (see `Core.callback`).
#[wasm_bindgen]
pub struct Login(crate::client::login::Login);

/// An ID token on its way to being verified, and what came with it.
#[wasm_bindgen]
pub struct Verification(crate::client::keys::Verification);

/// A call that wants an access token (see `Core.access`): which token, and
/// what happened so far (the API stays a typed value in the core).
#[wasm_bindgen]
pub struct Access(AccessRequest);

#[wasm_bindgen]
impl Core {
    /// Validates `createAuthClient`'s options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "object")] options: JsValue,
    ) -> std::result::Result<Core, JsValue> {
        let make = || -> Result<Core> {
            let o = convert::client_options(&options)?;
            let transactions = convert::storage_option(&options, "transactionStorage")?;
            let tokens = convert::storage_option(&options, "tokenStorage")?;
            Ok(Core {
                client: Client::new(o, transactions, tokens)?,
            })
        };
        make().map_err(js_error)
    }

    /// What the driver needs once (see `Setup`); `dpop_supported`: the
    /// platform has `crypto.subtle` and IndexedDB.
    #[wasm_bindgen(unchecked_return_type = "Setup")]
    pub fn setup(
        &mut self,
        dpop_supported: bool,
        href: Option<String>,
    ) -> std::result::Result<JsValue, JsValue> {
        let c = &mut self.client;
        c.check_platform(dpop_supported).map_err(js_error)?;
        c.page_at(href.as_deref());
        let discovery = c.discovery_request().map_err(js_error)?;
        let (session, legacy) = c.restore_keys();
        let mut o = Map::new();
        o.insert("issuer".into(), c.config.issuer().into());
        o.insert("id".into(), c.asker().family.as_str().into());
        o.insert("transactions".into(), c.stores.transactions.name().into());
        o.insert("tokens".into(), c.stores.tokens.name().into());
        o.insert("shared".into(), c.stores.shared_by_tabs().into());
        crate::json::put(&mut o, "warning", c.warning());
        o.insert("session".into(), session.into());
        o.insert("legacy".into(), legacy.into());
        o.insert("lock".into(), c.lock_name().into());
        crate::json::put(&mut o, "dpop", c.dpop_key_id());
        o.insert("seal".into(), c.stores.sealed().into());
        let out = object_to_js(o);
        if let Some(r) = discovery {
            let _ = Reflect::set(&out, &"discovery".into(), &request_to_js(&r));
        }
        Ok(out)
    }

    /// This origin's secret for sealing the stored session (base64url; none:
    /// the platform has nowhere to keep one), read before anything is stored.
    pub fn seal(&mut self, secret: Option<String>) {
        self.client.seal_with(secret.and_then(|s| crate::b64::decode(&s)))
    }

    /// The store named `tokens` (or the transactions') could not be opened.
    #[wasm_bindgen(js_name = storeUnavailable)]
    pub fn store_unavailable(&mut self, tokens: bool) -> std::result::Result<(), JsValue> {
        self.client.store_unavailable(tokens).map_err(js_error)
    }

    #[wasm_bindgen(unchecked_return_type = "{ keep?: [string, string]; offline?: [string, string] }")]
    pub fn discovered(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        let mut o = Map::new();
        let pair = |a: String, b: String| Value::Array(vec![a.into(), b.into()]);
        match self
            .client
            .discovered(answer_from_js(&answer))
            .map_err(js_error)?
        {
            Discovered::Ready { keep: Some((k, v)) } => o.insert("keep".into(), pair(k, v)),
            Discovered::Ready { keep: None } => {}
            Discovered::Offline {
                session_key,
                document_key,
            } => o.insert("offline".into(), pair(session_key, document_key)),
        }
        Ok(object_to_js(o))
    }

    #[wasm_bindgen(js_name = startOffline)]
    pub fn start_offline(
        &mut self,
        session: Option<String>,
        document: Option<String>,
    ) -> std::result::Result<(), JsValue> {
        self.client
            .start_offline(session.as_deref(), document.as_deref())
            .map_err(js_error)
    }

    #[wasm_bindgen(unchecked_return_type = "HttpRequest | undefined")]
    pub fn confirmation(&self) -> std::result::Result<JsValue, JsValue> {
        match self.client.confirmation_request().map_err(js_error)? {
            Some(r) => Ok(request_to_js(&r)),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    #[wasm_bindgen(unchecked_return_type = "{ verify?: Verification; effects?: Effects }")]
    pub fn confirmed(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
    ) -> JsValue {
        match self.client.confirmed(answer_from_js(&answer)) {
            Confirmation::Confirmed(Some(v)) => with(Map::new(), "verify", Verification(*v).into()),
            Confirmation::Confirmed(None) => object_to_js(Map::new()),
            Confirmation::Refused(effects) => with(Map::new(), "effects", effects_to_js(effects)),
        }
    }

    /// The values read under `Setup`'s `session` and `legacy` keys.
    #[wasm_bindgen(unchecked_return_type = "{ effects: Effects; verify?: Verification; jkt?: string }")]
    pub fn restore(&self, stored: Option<String>, legacy: Option<String>) -> JsValue {
        match self.client.restore(stored, legacy, self.client.since()) {
            restore::Restore::Nothing(effects) => with(Map::new(), "effects", effects_to_js(effects)),
            restore::Restore::Verify {
                effects,
                dpop_jkt,
                verification,
            } => {
                let mut o = Map::new();
                crate::json::put(&mut o, "jkt", dpop_jkt.as_deref());
                let out = with(o, "effects", effects_to_js(effects));
                let _ = Reflect::set(&out, &"verify".into(), &Verification(*verification).into());
                out
            }
        }
    }

    /// Verifying the session's own token (`v`: the stored session's, or
    /// its check after an offline start's confirmation) failed with `error`:
    /// what that leaves (the driver rethrows the error after these effects).
    #[wasm_bindgen(unchecked_return_type = "Effects")]
    pub fn failed(&mut self, v: &Verification, error: JsValue) -> JsValue {
        effects_to_js(self.client.failed(&v.0, &error_of(&error)))
    }

    /// A login failed (the driver rethrows its error after these effects).
    #[wasm_bindgen(js_name = loginFailed, unchecked_return_type = "Effects")]
    pub fn login_failed(&mut self, login: &Login) -> JsValue {
        effects_to_js(self.client.login_failed(&login.0))
    }

    /// One step of a verification: what the driver brought back in, what to do next out.
    #[wasm_bindgen(unchecked_return_type = "Step")]
    pub fn verify(
        &mut self,
        v: &mut Verification,
        #[wasm_bindgen(unchecked_param_type = "StepInput")] input: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        let (step, keep) = self
            .client
            .verify_step(&mut v.0, step_input(&input), now_ms())
            .map_err(js_error)?;
        Ok(step_to_js(step, keep))
    }

    /// A verified token becomes what it was verified for, if what happened
    /// since it began allows (else `stale`); a login's gives back the app's
    /// `appState` (JSON text).
    #[wasm_bindgen(unchecked_return_type = "Effects & { appState?: string }")]
    pub fn adopt(&mut self, v: &mut Verification) -> std::result::Result<JsValue, JsValue> {
        match self.client.adopt(&mut v.0, now_ms()).map_err(js_error)? {
            Adopted::Applied(effects, app_state) => {
                let app_state = app_state.map_or(JsValue::UNDEFINED, |s| JsValue::from_str(&s));
                Ok(effects_with(effects, "appState", app_state))
            }
            Adopted::Stale => Ok(effects_with(Default::default(), "stale", JsValue::TRUE)),
        }
    }

    /// A verification that only readies the key set (see `Verification::keys_ahead`).
    #[wasm_bindgen(js_name = keysAhead)]
    pub fn keys_ahead(&self) -> Verification {
        Verification(crate::client::keys::Verification::keys_ahead())
    }

    /// Whether `url` is this client's authorization response: a popup or
    /// iframe showing it has come back; an auth session's answer is one;
    /// `isRedirectCallback`.
    pub fn arrived(&self, url: &str) -> bool {
        self.client.arrived(url)
    }

    /// A popup or iframe came back without the callback (`window`: "closed",
    /// "timeout" or "missing"): the call's error, or no login.
    #[wasm_bindgen(js_name = windowOutcome)]
    pub fn window_outcome(
        &self,
        #[wasm_bindgen(unchecked_param_type = "LoginKindName")] kind: &str,
        #[wasm_bindgen(unchecked_param_type = "\"closed\" | \"timeout\" | \"missing\"")] window: &str,
        timeout_ms: u32,
    ) -> std::result::Result<(), JsValue> {
        let window = match window {
            "closed" => Window::Closed,
            "timeout" => Window::TimedOut,
            "missing" => Window::Missing,
            _ => return Err(js_error(unknown("window outcome"))),
        };
        let kind = login_kind(kind).map_err(js_error)?;
        self.client
            .window_outcome(kind, window, timeout_ms)
            .map_err(js_error)
    }

    /// The bindings: the page's address without the authorization response,
    /// and where `appState.returnTo` may send it (see [`crate::callback`]);
    /// each `undefined` when there is none.
    #[wasm_bindgen(js_name = afterCallback, unchecked_return_type = "[string | undefined, string | undefined]")]
    pub fn after_callback(&self, href: &str, return_to: JsValue) -> js_sys::Array {
        let clean = crate::callback::address_without_response(href);
        let to = return_to
            .as_string()
            .and_then(|t| crate::callback::return_address(&t, href));
        let js = |v: Option<String>| v.map_or(JsValue::UNDEFINED, |s| JsValue::from_str(&s));
        js_sys::Array::of2(&js(clean), &js(to))
    }

    /// The public half of the DPoP key the platform read (none: undefined):
    /// its thumbprint; with `jkt`, it must be that key (`login_required`).
    #[wasm_bindgen(js_name = keyRead)]
    pub fn key_read(
        &mut self,
        x: Option<String>,
        y: Option<String>,
        jkt: Option<String>,
    ) -> std::result::Result<Option<String>, JsValue> {
        let coordinates = x.as_deref().zip(y.as_deref());
        let read = self.client.key_read(coordinates).map_err(js_error)?;
        if let Some(jkt) = jkt {
            self.client.require_key(&jkt).map_err(js_error)?;
        }
        Ok(read)
    }

    pub fn binding(&self) -> std::result::Result<Option<String>, JsValue> {
        self.client.binding().map_err(js_error)
    }

    /// A new pending login of `kind` with the app's options.
    #[wasm_bindgen(unchecked_return_type = "{ url?: string; push?: HttpRequest; pending: [string, string] }")]
    pub fn authorize(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] opts: JsValue,
        #[wasm_bindgen(unchecked_param_type = "LoginKindName")] kind: &str,
    ) -> std::result::Result<JsValue, JsValue> {
        let mut run = || -> Result<JsValue> {
            let kind = login_kind(kind)?;
            let options = login_options(&opts, kind)?;
            self.pending(options, kind)
        };
        run().map_err(js_error)
    }

    /// Silent authentication for the token `access` asks for (no refresh
    /// token): its pending login, as `authorize` gives one, and its kind.
    #[wasm_bindgen(
        unchecked_return_type = "{ url?: string; push?: HttpRequest; pending: [string, string]; kind: LoginKindName }"
    )]
    pub fn renewal(&mut self, access: &Access) -> std::result::Result<JsValue, JsValue> {
        let (options, kind) = self.client.renewal(&access.0);
        let out = self.pending(options, kind).map_err(js_error)?;
        let _ = Reflect::set(&out, &"kind".into(), &login_kind_name(kind).into());
        Ok(out)
    }

    fn pending(&mut self, options: AuthorizeOptions, kind: LoginKind) -> Result<JsValue> {
        let a = self.client.authorize(options, kind, now_ms())?;
        let mut o = Map::new();
        crate::json::put(&mut o, "url", a.url.as_deref());
        let (k, v) = a.pending;
        o.insert("pending".into(), Value::Array(vec![k.into(), v.into()]));
        let out = object_to_js(o);
        if let Some(push) = a.push {
            let _ = Reflect::set(&out, &"push".into(), &request_to_js(&push));
        }
        Ok(out)
    }

    pub fn pushed(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
    ) -> std::result::Result<String, JsValue> {
        self.client.pushed(answer_from_js(&answer)).map_err(js_error)
    }

    /// Of every key of `transactionStorage`, this client's pending logins'.
    #[wasm_bindgen(js_name = pendingKeys)]
    pub fn pending_keys(&self, keys: Vec<String>) -> Vec<String> {
        let prefix = self.client.transaction_storage_prefix();
        keys.into_iter().filter(|k| k.starts_with(&prefix)).collect()
    }

    /// The pending logins to remove, given this client's keys and their values.
    #[wasm_bindgen(js_name = stalePending)]
    pub fn stale_pending(
        &self,
        keys: Vec<String>,
        #[wasm_bindgen(unchecked_param_type = "(string | null | undefined)[]")] values: Vec<JsValue>,
    ) -> Vec<String> {
        let entries: Vec<(String, Option<String>)> = keys
            .into_iter()
            .zip(values.iter().map(JsValue::as_string))
            .collect();
        self.client.stale_pending(&entries, now_ms())
    }

    pub fn callback(
        &self,
        url: &str,
        #[wasm_bindgen(unchecked_param_type = "LoginKindName")] kind: &str,
    ) -> std::result::Result<Login, JsValue> {
        let run = || self.client.callback(url, login_kind(kind)?);
        run().map(Login).map_err(js_error)
    }

    /// Claims the callback's `state` in this page (for every client of this
    /// provider and client id, until the `Login` is freed), and names the
    /// storage key of its pending login among `keys` (null: the store cannot list them).
    pub fn claim(
        &mut self,
        login: &mut Login,
        keys: Option<Vec<String>>,
    ) -> std::result::Result<String, JsValue> {
        self.client.claim(&mut login.0, keys.as_deref()).map_err(js_error)
    }

    /// The pending login read from its key: the DPoP thumbprint the exchange needs, if any.
    #[wasm_bindgen(js_name = takePending)]
    pub fn take_pending(
        &mut self,
        login: &mut Login,
        value: Option<String>,
    ) -> std::result::Result<Option<String>, JsValue> {
        self.client
            .take_pending(&mut login.0, value.as_deref(), now_ms())
            .map_err(js_error)
    }

    #[wasm_bindgen(js_name = tokenRequest, unchecked_return_type = "HttpRequest")]
    pub fn token_request(&self, login: &Login) -> std::result::Result<JsValue, JsValue> {
        self.client
            .token_request(&login.0, now_ms())
            .map(|r| request_to_js(&r))
            .map_err(js_error)
    }

    pub fn exchanged(
        &self,
        login: &mut Login,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
    ) -> std::result::Result<Verification, JsValue> {
        self.client
            .exchanged(&mut login.0, answer_from_js(&answer), now_ms())
            .map(Verification)
            .map_err(js_error)
    }

    /// Silent authentication's failure `error` only says the user must interact.
    #[wasm_bindgen(js_name = userMustInteract)]
    pub fn user_must_interact(&self, error: JsValue) -> bool {
        self.client.user_must_interact(&error_of(&error))
    }

    /// A call that wants an access token: `getAccessToken(opts)` (the API
    /// asked for: `audience`, `scope`; `forceRefresh`), or with `refresh`,
    /// `refresh(opts)` (a narrower `scope` for the session's own token).
    pub fn access(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] opts: JsValue,
        refresh: Option<bool>,
    ) -> std::result::Result<Access, JsValue> {
        let run = || -> Result<Access> {
            let scope = convert::text(&opts, "scope")?;
            if refresh == Some(true) {
                return Ok(Access(AccessRequest::refresh(scope)));
            }
            let audience = convert::text(&opts, "audience")?;
            let api = crate::api::ApiKey::asked(&self.client.config, audience.as_deref(), scope.as_deref())?;
            let force = option(&opts, "forceRefresh").is_truthy();
            Ok(Access(AccessRequest::token(force, api)))
        };
        run().map_err(js_error)
    }

    /// What `access` does next: use a token, refresh, or renew.
    #[wasm_bindgen(
        js_name = accessPlan,
        unchecked_return_type = "{ use?: string; refresh?: true; renew?: true }"
    )]
    pub fn access_plan(&self, access: &mut Access) -> std::result::Result<JsValue, JsValue> {
        let mut o = Map::new();
        match self
            .client
            .access_plan(&mut access.0, now_ms())
            .map_err(js_error)?
        {
            access::AccessPlan::Use(t) => o.insert("use".into(), t.into()),
            access::AccessPlan::Refresh => o.insert("refresh".into(), true.into()),
            access::AccessPlan::Renew => o.insert("renew".into(), true.into()),
        };
        Ok(object_to_js(o))
    }

    /// The token `access` asked for, after a refresh or a renewal (`renewed`:
    /// false when silent authentication said the provider wants the user).
    #[wasm_bindgen(js_name = accessToken)]
    pub fn access_token(&self, access: &Access, renewed: bool) -> std::result::Result<String, JsValue> {
        self.client.access_token(&access.0, renewed).map_err(js_error)
    }

    /// Before a refresh (`kind` "refresh") or a silent renewal ("renewal")
    /// of the token `access` asks for: start it, join the one under way, or
    /// wait for it and ask again (see `Flight`).
    #[wasm_bindgen(unchecked_return_type = "Flight")]
    pub fn begin(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"refresh\" | \"renewal\"")] kind: &str,
        access: &Access,
    ) -> std::result::Result<JsValue, JsValue> {
        let kind = match kind {
            "refresh" => Kind::Refresh,
            "renewal" => Kind::Renewal,
            _ => return Err(js_error(unknown("flight kind"))),
        };
        Ok(flight_to_js(self.client.flight(kind, &access.0)))
    }

    /// Another tab (or the adapter's other writer) changed `key` of
    /// tokenStorage (none: maybe every key): nothing when it is not this
    /// client's session; else the flight that follows it, one at a time.
    #[wasm_bindgen(unchecked_return_type = "Flight")]
    pub fn following(&self, key: Option<String>) -> JsValue {
        if !(self.client.follows(key.as_deref()) && self.client.stores.persists()) {
            return object_to_js(Map::new());
        }
        flight_to_js(self.client.flight(Kind::Follow, &AccessRequest::default()))
    }

    /// Flight `id` (begun with `begin`) is over.
    pub fn end(&self, id: u32) {
        crate::client::timeline::end(id)
    }

    /// The session's generation now: what an operation that reads storage
    /// notes before the read (`shared`, `notified`).
    pub fn since(&self) -> f64 {
        self.client.since().0 as f64
    }

    /// Under the lock, before a refresh: the session another tab stored
    /// (`handed`: the hand-off record; `stored`: tokenStorage), read after `since`.
    #[wasm_bindgen(unchecked_return_type = "{ effects?: Effects; verify?: Verification; again?: true }")]
    pub fn shared(&mut self, handed: Option<String>, stored: Option<String>, since: f64) -> JsValue {
        shared_to_js(self.client.shared(handed, stored, Since(since as u64)))
    }

    /// Another tab changed the stored session: what this tab does (see
    /// `Client::notified`); `stored` was read after `since`.
    #[wasm_bindgen(unchecked_return_type = "{ effects?: Effects; verify?: Verification; again?: true }")]
    pub fn notified(&mut self, stored: Option<String>, since: f64) -> JsValue {
        shared_to_js(self.client.notified(stored, Since(since as u64)))
    }

    #[wasm_bindgen(js_name = refreshPlan, unchecked_return_type = "{ fresh?: true; jkt?: string }")]
    pub fn refresh_plan(&self, access: &mut Access) -> std::result::Result<JsValue, JsValue> {
        let mut o = Map::new();
        match self
            .client
            .refresh_plan(&mut access.0, now_ms())
            .map_err(js_error)?
        {
            access::RefreshPlan::Fresh => {
                o.insert("fresh".into(), true.into());
            }
            access::RefreshPlan::Send { dpop_jkt } => crate::json::put(&mut o, "jkt", dpop_jkt.as_deref()),
        }
        Ok(object_to_js(o))
    }

    #[wasm_bindgen(js_name = refreshRequest, unchecked_return_type = "HttpRequest")]
    pub fn refresh_request(&self, access: &Access) -> std::result::Result<JsValue, JsValue> {
        self.client
            .refresh_request(&access.0, now_ms())
            .map(|r| request_to_js(&r))
            .map_err(js_error)
    }

    #[wasm_bindgen(js_name = refreshRetryMs)]
    pub fn refresh_retry_ms(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
        attempt: u32,
    ) -> Option<u32> {
        self.client.refresh_retry_ms(&answer_from_js(&answer), attempt)
    }

    /// The refresh answer: effects to apply, an ID token to verify, or
    /// `stale` (the session it was for changed meanwhile; `revoke`: the
    /// refresh token it brought, after a logout).
    #[wasm_bindgen(
        unchecked_return_type = "{ effects?: Effects; verify?: Verification; stale?: true; revoke?: HttpRequest[] }"
    )]
    pub fn refreshed(
        &mut self,
        access: &mut Access,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        let r = self
            .client
            .refreshed(&mut access.0, answer_from_js(&answer), now_ms())
            .map_err(js_error)?;
        Ok(match r {
            access::Refreshed::Stored(effects) => with(Map::new(), "effects", effects_to_js(effects)),
            access::Refreshed::Verify(v) => with(Map::new(), "verify", Verification(*v).into()),
            access::Refreshed::Stale(revoke) => {
                let mut o = Map::new();
                o.insert("stale".into(), true.into());
                let list: js_sys::Array = revoke.iter().map(request_to_js).collect();
                with(o, "revoke", list.into())
            }
        })
    }

    /// After an answer to `request`: send it once more with the server's DPoP nonce?
    #[wasm_bindgen(js_name = retryWithNonce)]
    pub fn retry_with_nonce(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "{ url: string; dpopInput?: string; authorization?: string }")]
        request: JsValue,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
        attempt: u32,
    ) -> bool {
        let (url, proof, resource) = convert::proof_of(&request);
        self.client
            .retry_with_nonce(&url, proof, resource, &answer_from_js(&answer), attempt)
    }

    /// For `fetchWithAuth`'s request of `method` to `url` (`mode` is
    /// checked first), with the token `access` got: the `Authorization`
    /// header, and a proof to sign.
    #[wasm_bindgen(js_name = resourceCredentials, unchecked_return_type = "{ authorization: string; dpopInput?: string }")]
    pub fn resource_credentials(
        &self,
        method: &str,
        url: &str,
        mode: Option<String>,
        access: &Access,
    ) -> std::result::Result<JsValue, JsValue> {
        self.client.check_app_request(mode.as_deref()).map_err(js_error)?;
        let (authorization, proof) = self
            .client
            .resource_credentials(method, url, access.0.api(), now_ms())
            .map_err(js_error)?;
        let mut o = Map::new();
        o.insert("authorization".into(), authorization.into());
        crate::json::put(&mut o, "dpopInput", proof.as_deref());
        Ok(object_to_js(o))
    }

    #[wasm_bindgen(js_name = userinfoRequest, unchecked_return_type = "HttpRequest")]
    pub fn userinfo_request(&self) -> std::result::Result<JsValue, JsValue> {
        self.client
            .userinfo_request(now_ms())
            .map(|r| request_to_js(&r))
            .map_err(js_error)
    }

    #[wasm_bindgen(unchecked_return_type = "Record<string, unknown>")]
    pub fn userinfo(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        self.client
            .userinfo(answer_from_js(&answer))
            .map(object_to_js)
            .map_err(js_error)
    }

    /// `returnTo` of a logout's options.
    fn return_to(opts: &JsValue) -> Option<String> {
        option(opts, "returnTo").as_string()
    }

    #[wasm_bindgen(js_name = checkLogout)]
    pub fn check_logout(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] opts: JsValue,
    ) -> std::result::Result<(), JsValue> {
        self.client
            .check_logout(Core::return_to(&opts).as_deref(), page_origin().as_deref())
            .map_err(js_error)
    }

    #[wasm_bindgen(js_name = logoutUrl)]
    pub fn logout_url(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] opts: JsValue,
    ) -> std::result::Result<String, JsValue> {
        self.client
            .logout_url(Core::return_to(&opts).as_deref(), page_origin().as_deref())
            .map_err(js_error)
    }

    /// Where `logout()` sends the browser (after `endSession`).
    #[wasm_bindgen(js_name = logoutTarget)]
    pub fn logout_target(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] opts: JsValue,
    ) -> std::result::Result<Option<String>, JsValue> {
        self.client
            .logout_target(Core::return_to(&opts).as_deref(), page_origin().as_deref())
            .map_err(js_error)
    }

    /// The revocation requests: the ended session's refresh token
    /// (`"logout"`), or the session's two tokens (`"tokens"`: a revocation
    /// endpoint is required).
    #[wasm_bindgen(unchecked_return_type = "HttpRequest[]")]
    pub fn revocations(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"logout\" | \"tokens\"")] what: &str,
    ) -> std::result::Result<JsValue, JsValue> {
        let what = revocation(what).map_err(js_error)?;
        if what == Revocation::Tokens {
            self.client.check_revocation().map_err(js_error)?;
        }
        let list: js_sys::Array = self.client.revocations(what).iter().map(request_to_js).collect();
        Ok(list.into())
    }

    pub fn revoked(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
        #[wasm_bindgen(unchecked_param_type = "\"logout\" | \"tokens\"")] what: &str,
    ) -> std::result::Result<(), JsValue> {
        let what = revocation(what).map_err(js_error)?;
        self.client
            .revoked(answer_from_js(&answer), what)
            .map_err(js_error)
    }

    /// `logout()`, `revokeTokens()`: the session and its DPoP key forgotten
    /// here, final for every operation under way; what the provider hears
    /// after a logout comes from what it was.
    #[wasm_bindgen(js_name = endSession, unchecked_return_type = "Effects")]
    pub fn end_session(&mut self) -> JsValue {
        effects_to_js(self.client.end_session())
    }

    /// The session as the app sees it now.
    #[wasm_bindgen(unchecked_return_type = "SessionView")]
    pub fn session(&self) -> JsValue {
        let c = &self.client;
        let mut o = Map::new();
        o.insert("authenticated".into(), c.is_authenticated(now_ms()).into());
        o.insert("tokens".into(), c.tokens().map_or(Value::Null, Value::Object));
        o.insert(
            "claims".into(),
            c.id_token_claims().map_or(Value::Null, Value::Object),
        );
        o.insert("user".into(), c.user().map_or(Value::Null, Value::Object));
        object_to_js(o)
    }

    /// `timeoutMs` of a popup or silent login's options (default: the
    /// popup's 5 minutes, or `silentTimeoutMs`).
    #[wasm_bindgen(js_name = timeoutMs)]
    pub fn timeout_ms(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] opts: JsValue,
        #[wasm_bindgen(unchecked_param_type = "LoginKindName")] kind: &str,
    ) -> std::result::Result<f64, JsValue> {
        let default = match login_kind(kind).map_err(js_error)? {
            LoginKind::Popup => crate::config::DEFAULT_POPUP_TIMEOUT_MS,
            _ => self.client.config.silent_timeout_ms,
        };
        match option(&opts, "timeoutMs") {
            v if v.is_undefined() || v.is_null() => Ok(default as f64),
            v => match v.as_f64() {
                Some(ms) if (1.0..=3_600_000.0).contains(&ms) => Ok(ms),
                _ => Err(js_error(AuthError::new(
                    code::INVALID_CONFIG,
                    "`timeoutMs` must be a number of milliseconds from 1 to 3600000",
                ))),
            },
        }
    }
}

/// A verification step's input as the driver gives it (`StepInput`).
fn step_input(input: &JsValue) -> Input {
    if !input.is_object() {
        return Input::Start;
    }
    let stored = option(input, "stored");
    if Reflect::has(input, &"stored".into()).unwrap_or(false) {
        return Input::Stored(stored.as_string());
    }
    let answer = option(input, "answer");
    if !answer.is_undefined() {
        return Input::Fetched(answer_from_js(&answer));
    }
    Input::Signed(signature_answer(
        option(input, "valid").is_truthy(),
        option(input, "why").as_string(),
    ))
}

fn revocation(what: &str) -> Result<Revocation> {
    match what {
        "logout" => Ok(Revocation::Logout),
        "tokens" => Ok(Revocation::Tokens),
        _ => Err(unknown("revocation")),
    }
}

fn flight_to_js(b: Begin) -> JsValue {
    let (name, id) = match b {
        Begin::Start(id) => ("start", id),
        Begin::Join(id) => ("join", id),
        Begin::After(id) | Begin::Taken(id) => ("after", id),
    };
    let mut o = Map::new();
    o.insert(name.into(), u64::from(id).into());
    object_to_js(o)
}

fn shared_to_js(s: access::Shared) -> JsValue {
    match s {
        access::Shared::Same => object_to_js(Map::new()),
        access::Shared::Stale => with(Map::new(), "again", JsValue::TRUE),
        access::Shared::Ended(effects) => with(Map::new(), "effects", effects_to_js(effects)),
        access::Shared::Verify(v) => with(Map::new(), "verify", Verification(*v).into()),
    }
}

fn signature_answer(valid: bool, why: Option<String>) -> std::result::Result<bool, String> {
    match why {
        // What the platform said goes into the message only (see `msg!`).
        Some(why) => Err(msg!("{why}")),
        None => Ok(valid),
    }
}

/// The options of one login of `kind`: the app's (checked against the login
/// options), with `prompt=none` for silent authentication (OIDC Core
/// §3.1.2.1). `appState` is the JSON text `JSON.stringify` makes of it (it
/// must survive storage, and come back with its keys in the app's order).
fn login_options(opts: &JsValue, kind: LoginKind) -> Result<AuthorizeOptions> {
    let silent = matches!(kind, LoginKind::Silent | LoginKind::Renewal | LoginKind::Api);
    if !convert::given_value(opts) {
        return Ok(AuthorizeOptions {
            prompt: silent.then(|| "none".into()),
            ..AuthorizeOptions::default()
        });
    }
    convert::check_keys(opts, crate::config::LOGIN_OPTIONS, "the login options")?;
    let extra = convert::extra_params(&option(opts, "extraParams"))?;
    let app_state = convert::app_state_json(&option(opts, "appState"))?;
    let mut r = FirstError::<AuthError>::default();
    let read = AuthorizeOptions {
        app_state,
        scope: r.text(opts, "scope"),
        audience: r.text(opts, "audience"),
        prompt: r.text(opts, "prompt"),
        max_age: r.number(opts, "maxAge"),
        login_hint: r.text(opts, "loginHint"),
        extra_params: extra,
        apis: Vec::new(),
    };
    let mut read = r.finish(read)?;
    if silent {
        read.prompt = Some("none".into());
    }
    Ok(read)
}

#[wasm_bindgen]
impl Verification {
    /// `verifyIdToken(idToken, options)`: a verification against the key set
    /// and expectations the app gives.
    #[wasm_bindgen(js_name = ofToken)]
    pub fn of_token(
        token: &str,
        #[wasm_bindgen(unchecked_param_type = "object")] options: JsValue,
    ) -> std::result::Result<Verification, JsValue> {
        let read = || -> Result<Verification> {
            let required = |name: &str| {
                convert::text(&options, name)?
                    .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, msg!("`{name}` is required")))
            };
            let (issuer, client_id) = (required("issuer")?, required("clientId")?);
            let algorithms = convert::strings(&options, "algorithms")?;
            let jwks_json = js_sys::JSON::stringify(&option(&options, "jwks"))
                .ok()
                .and_then(|s| s.as_string())
                .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, "`jwks` must be a key set object"))?;
            let keys = crate::jwks::parse_jwks(&jwks_json)?;
            Ok(Verification(crate::client::keys::Verification::given(
                token,
                Given {
                    keys,
                    algs: crate::id_token::allowed_algs(algorithms.as_deref(), None),
                    nonce: convert::text(&options, "nonce")?,
                    max_age: convert::seconds(&options, "maxAge")?,
                    leeway_s: convert::seconds(&options, "leeway")?
                        .unwrap_or(crate::id_token::DEFAULT_LEEWAY_S),
                    trusted_audiences: convert::strings(&options, "trustedAudiences")?.unwrap_or_default(),
                    issuer,
                    client_id,
                },
            )))
        };
        read().map_err(js_error)
    }

    /// A step of a verification of `ofToken`: the signature to check, then
    /// (with the platform's answer) done.
    #[wasm_bindgen(unchecked_return_type = "Step")]
    pub fn step(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "StepInput")] input: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        let step = self
            .0
            .step_given(step_input(&input), now_ms() / 1000)
            .map_err(js_error)?;
        Ok(step_to_js(step, None))
    }

    /// The verified token's claims, with the raw token as `__raw` (once).
    #[wasm_bindgen(unchecked_return_type = "Record<string, unknown>")]
    pub fn claims(&mut self) -> JsValue {
        match self.0.take_verified() {
            Ok(t) => {
                let mut claims = t.claims;
                claims.insert("__raw".into(), t.raw.expose().into());
                object_to_js(claims)
            }
            Err(_) => JsValue::NULL,
        }
    }
}

/// The error of something the driver met (`detail`: the platform's words).
#[wasm_bindgen(unchecked_return_type = "Error")]
pub fn fail(
    #[wasm_bindgen(unchecked_param_type = "Failure")] what: &str,
    detail: Option<String>,
    login: Option<bool>,
) -> JsValue {
    crate::client::driver_failure(what, detail.unwrap_or_default(), login == Some(true)).into()
}

/// A fresh PKCE pair (RFC 7636): 32 random bytes from `crypto.getRandomValues`
/// as a base64url verifier, and its S256 challenge. Needs no `crypto.subtle`.
#[wasm_bindgen(js_name = createPkcePair, unchecked_return_type = "{ codeVerifier: string; codeChallenge: string; codeChallengeMethod: \"S256\" }")]
pub fn create_pkce_pair() -> std::result::Result<JsValue, JsValue> {
    let verifier = CodeVerifier::generate().map_err(js_error)?;
    let challenge = verifier.challenge();
    let mut o = Map::new();
    o.insert("codeVerifier".into(), verifier.expose().into());
    o.insert("codeChallenge".into(), challenge.as_str().into());
    o.insert("codeChallengeMethod".into(), CODE_CHALLENGE_METHOD.into());
    Ok(object_to_js(o))
}

#[cfg(test)]
mod tests;

/// Talc instead of std's dlmalloc (its WebAssembly README's setup, for a
/// single-threaded module): 2.5 KB gzip less of .wasm, measured; the whole
/// test suite runs on it. (Not in the verifier module, which keeps dlmalloc.)
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
