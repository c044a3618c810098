//! The WebAssembly exports: the client core (`Core`), its per-operation
//! values (`Login`, `Verification`), `createPkcePair`, and the conversions
//! between their Rust and JS values (convert.rs). Every export is
//! synchronous; the driver (`driver/`) awaits the I/O between them.
//!
//! The TS types below are part of the generated `.d.ts`, which the driver is
//! type-checked against (`tsc --checkJs --strict`, in `npm test`): the seam
//! between the two languages is checked by a compiler.

mod convert;
mod error;

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use crate::authorize::AuthorizeOptions;
use crate::client::keys::{Given, Input};
use crate::client::login::LoginKind;
use crate::client::logout::Revocation;
use crate::client::{access, restore, Client, Confirmation, Discovered, Failed};
use crate::error::{code, AuthError};
use crate::json::{FirstError, Map, Value};
use crate::pkce::{CodeVerifier, CODE_CHALLENGE_METHOD};
use convert::{answer_from_js, effects_to_js, object_to_js, option, request_to_js, step_to_js, Reader};

type Result<T> = std::result::Result<T, AuthError>;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A request the core asks the driver to send: fetch(url, { method, headers, body, cache, redirect, credentials: "omit" }), within timeoutMs, reading at most 1 MiB; a DPoP proof signed over dpopInput goes in the DPoP header. */
export interface HttpRequest { method: string; url: string; contentType?: string; body?: string; authorization?: string; dpopInput?: string; cache: RequestCache; redirect: RequestRedirect; timeoutMs: number }
/** What the driver got for an HttpRequest (body null: past the cap). */
export type HttpAnswer = { status: number; body: string | null; cacheControl?: string | null; dpopNonce?: string | null; wwwAuthenticate?: string | null } | { failure: string; timedOut: boolean } | { redirected: true; status: number };
/** What the driver does after a step: writes (must succeed), removals and the hand-off (best effort), the DPoP key's removal, the event; then it throws error. */
export interface Effects { set: [string, string][]; remove: string[]; handoff?: [string, string]; forgetKey?: true; emit?: "signed_in" | "refreshed" | "signed_out"; error?: Error }
/** A verification step: read a tokenStorage key, fetch, or check a signature; keep: a key set to store (or remove: null), best effort. */
export interface Step { read?: string; fetch?: HttpRequest; check?: { alg: string; jwk: string; input: string; signature: string }; done?: true; keep?: [string, string | null] }
/** What the driver needs once: the stores to open (shared: tabs hand the session over through IndexedDB), a warning to print, the discovery request, the storage keys of a stored session (and its pre-0.1.1 place), the refresh's Web Lock, this client's DPoP key's name. */
export interface Setup { issuer: string; transactions: "session" | "local" | "page" | "app"; tokens: "session" | "local" | "none" | "app"; shared: boolean; warning?: string; discovery?: HttpRequest; session: string; legacy: string; lock: string; dpop?: string }
/** What the driver brings back for a verification step: nothing (the start), a stored value, an answer, or the platform's answer for a signature. */
export type StepInput = undefined | { stored: string | null } | { answer: HttpAnswer } | { valid: boolean; why?: string };
/** The session as the app sees it. */
export interface SessionView { authenticated: boolean; tokens: Record<string, unknown> | null; claims: Record<string, unknown> | null; user: Record<string, unknown> | null }
export type LoginKindName = "redirect" | "popup" | "silent" | "renewal" | "api";
export type FailedStep = "confirmation" | "restore";
export type Failure = "storage" | "request" | "network" | "openUrl" | "cancelled" | "openUrlType" | "noWindow" | "navigate" | "blocked" | "busy" | "closed" | "popupTimeout" | "silentTimeout" | "noCallback" | "dpopKey" | "verifier";
"#;

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn js_error(e: AuthError) -> JsValue {
    e.into()
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

fn login_kind(kind: &str) -> LoginKind {
    match kind {
        "popup" => LoginKind::Popup,
        "silent" => LoginKind::Silent,
        "renewal" => LoginKind::Renewal,
        "api" => LoginKind::Api,
        _ => LoginKind::Redirect,
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
    pub fn setup(&mut self, dpop_supported: bool) -> std::result::Result<JsValue, JsValue> {
        let c = &mut self.client;
        c.check_platform(dpop_supported).map_err(js_error)?;
        let discovery = c.discovery_request().map_err(js_error)?;
        let (session, legacy) = c.restore_keys();
        let mut o = Map::new();
        o.insert("issuer".into(), c.config.issuer().into());
        o.insert("transactions".into(), c.stores.transactions.name().into());
        o.insert("tokens".into(), c.stores.tokens.name().into());
        o.insert("shared".into(), c.stores.shared_by_tabs().into());
        crate::json::put(&mut o, "warning", c.warning());
        o.insert("session".into(), session.into());
        o.insert("legacy".into(), legacy.into());
        o.insert("lock".into(), c.lock_name().into());
        crate::json::put(&mut o, "dpop", c.dpop_key_id());
        let out = object_to_js(o);
        if let Some(r) = discovery {
            let _ = Reflect::set(&out, &"discovery".into(), &request_to_js(&r));
        }
        Ok(out)
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
            Confirmation::Confirmed { id_token: Some(raw) } => with(
                Map::new(),
                "verify",
                Verification(crate::client::keys::Verification::new(
                    &raw,
                    crate::client::keys::Purpose::Stored,
                ))
                .into(),
            ),
            Confirmation::Confirmed { id_token: None } => object_to_js(Map::new()),
            Confirmation::Refused(effects) => with(Map::new(), "effects", effects_to_js(effects)),
        }
    }

    /// The values read under `Setup`'s `session` and `legacy` keys.
    #[wasm_bindgen(unchecked_return_type = "{ effects: Effects; verify?: Verification; jkt?: string }")]
    pub fn restore(&self, stored: Option<String>, legacy: Option<String>) -> JsValue {
        match self.client.restore(stored, legacy) {
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

    /// What a step's failure with `error` leaves (the driver rethrows it after these effects).
    #[wasm_bindgen(unchecked_return_type = "Effects")]
    pub fn failed(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "FailedStep")] what: &str,
        error: JsValue,
    ) -> JsValue {
        let what = match what {
            "confirmation" => Failed::Confirmation,
            _ => Failed::Restore,
        };
        effects_to_js(self.client.failed(what, &error_of(&error)))
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

    /// A verified token becomes what it was verified for; a login's gives
    /// back the app's `appState` (JSON text).
    #[wasm_bindgen(unchecked_return_type = "Effects & { appState?: string }")]
    pub fn adopt(&mut self, v: &mut Verification) -> std::result::Result<JsValue, JsValue> {
        let (effects, app_state) = self.client.adopt(&mut v.0, now_ms()).map_err(js_error)?;
        let app_state = app_state.map_or(JsValue::UNDEFINED, |s| JsValue::from_str(&s));
        Ok(effects_with(effects, "appState", app_state))
    }

    /// A verification that only readies the key set (see `Verification::keys_ahead`).
    #[wasm_bindgen(js_name = keysAhead)]
    pub fn keys_ahead(&self) -> Verification {
        Verification(crate::client::keys::Verification::keys_ahead())
    }

    /// A popup or iframe showing `url` has come back with the authorization response.
    pub fn arrived(&self, url: &str) -> bool {
        crate::callback::is_response_at(url, &self.client.config.redirect_uri)
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
            let kind = login_kind(kind);
            let options = login_options(&opts, kind)?;
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
        };
        run().map_err(js_error)
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
        self.client
            .callback(url, login_kind(kind))
            .map(Login)
            .map_err(js_error)
    }

    /// Claims the callback's `state` in this page, and names the storage key
    /// of its pending login among `keys` (null: the store cannot list them).
    pub fn claim(
        &mut self,
        login: &mut Login,
        keys: Option<Vec<String>>,
    ) -> std::result::Result<String, JsValue> {
        self.client
            .claim_pending(&mut login.0, keys.as_deref())
            .map_err(js_error)
    }

    pub fn release(&mut self, login: &mut Login) {
        self.client.release(&mut login.0)
    }

    /// The pending login read from its key (and released): the DPoP
    /// thumbprint the exchange needs, if any.
    #[wasm_bindgen(js_name = takePending)]
    pub fn take_pending(
        &mut self,
        login: &mut Login,
        value: Option<String>,
    ) -> std::result::Result<Option<String>, JsValue> {
        self.client.release(&mut login.0);
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

    /// `getAccessToken(opts)`: the token, or what to do first; `api`: the
    /// API asked for (`opts.audience`, `opts.scope`), to hand to the next
    /// steps (none: the session's own token).
    #[wasm_bindgen(
        js_name = accessPlan,
        unchecked_return_type = "{ use?: string; refresh?: true; renew?: true; api?: string }"
    )]
    pub fn access_plan(
        &self,
        force: bool,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] opts: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        let run = || -> Result<JsValue> {
            let api = crate::api::ApiKey::asked(
                &self.client.config,
                convert::text(&opts, "audience")?.as_deref(),
                convert::text(&opts, "scope")?.as_deref(),
            )?;
            let mut o = Map::new();
            match self.client.access_plan(force, api.as_ref(), now_ms())? {
                access::AccessPlan::Use(t) => o.insert("use".into(), t.into()),
                access::AccessPlan::Refresh => o.insert("refresh".into(), true.into()),
                access::AccessPlan::Renew => o.insert("renew".into(), true.into()),
            };
            crate::json::put(&mut o, "api", api.map(|k| k.to_text()));
            Ok(object_to_js(o))
        };
        run().map_err(js_error)
    }

    #[wasm_bindgen(js_name = accessToken)]
    pub fn access_token(&self, renewed: bool, api: Option<String>) -> std::result::Result<String, JsValue> {
        let run = || self.client.access_token(renewed, api_key(api)?.as_ref());
        run().map_err(js_error)
    }

    #[wasm_bindgen(unchecked_return_type = "{ effects?: Effects; verify?: Verification }")]
    pub fn shared(&mut self, handed: Option<String>, stored: Option<String>) -> JsValue {
        shared_to_js(self.client.shared(handed, stored))
    }

    /// Another tab changed the stored session: what this tab does (see
    /// `Client::notified`).
    #[wasm_bindgen(unchecked_return_type = "{ effects?: Effects; verify?: Verification }")]
    pub fn notified(&mut self, stored: Option<String>) -> JsValue {
        shared_to_js(self.client.notified(stored))
    }

    #[wasm_bindgen(js_name = refreshPlan, unchecked_return_type = "{ fresh?: true; jkt?: string }")]
    pub fn refresh_plan(
        &self,
        only_if_stale: bool,
        api: Option<String>,
    ) -> std::result::Result<JsValue, JsValue> {
        let mut o = Map::new();
        let run = || {
            self.client
                .refresh_plan(only_if_stale, api_key(api)?.as_ref(), now_ms())
        };
        match run().map_err(js_error)? {
            access::RefreshPlan::Fresh => {
                o.insert("fresh".into(), true.into());
            }
            access::RefreshPlan::Send { dpop_jkt } => crate::json::put(&mut o, "jkt", dpop_jkt.as_deref()),
        }
        Ok(object_to_js(o))
    }

    #[wasm_bindgen(js_name = refreshRequest, unchecked_return_type = "HttpRequest")]
    pub fn refresh_request(
        &self,
        scope: Option<String>,
        api: Option<String>,
    ) -> std::result::Result<JsValue, JsValue> {
        let run = || {
            self.client
                .refresh_request(scope.as_deref(), api_key(api)?.as_ref(), now_ms())
        };
        run().map(|r| request_to_js(&r)).map_err(js_error)
    }

    #[wasm_bindgen(js_name = refreshRetryMs)]
    pub fn refresh_retry_ms(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
        attempt: u32,
    ) -> Option<u32> {
        self.client.refresh_retry_ms(&answer_from_js(&answer), attempt)
    }

    #[wasm_bindgen(unchecked_return_type = "{ effects?: Effects; verify?: Verification }")]
    pub fn refreshed(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "HttpAnswer")] answer: JsValue,
        api: Option<String>,
    ) -> std::result::Result<JsValue, JsValue> {
        let run = || {
            self.client
                .refreshed(answer_from_js(&answer), api_key(api)?, now_ms())
        };
        Ok(match run().map_err(js_error)? {
            access::Refreshed::Stored(effects) => with(Map::new(), "effects", effects_to_js(effects)),
            access::Refreshed::Verify(v) => with(Map::new(), "verify", Verification(*v).into()),
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
    /// checked first): the `Authorization` header, and a proof to sign.
    #[wasm_bindgen(js_name = resourceCredentials, unchecked_return_type = "{ authorization: string; dpopInput?: string }")]
    pub fn resource_credentials(
        &self,
        method: &str,
        url: &str,
        mode: Option<String>,
        api: Option<String>,
    ) -> std::result::Result<JsValue, JsValue> {
        self.client.check_app_request(mode.as_deref()).map_err(js_error)?;
        let run = || {
            self.client
                .resource_credentials(method, url, api_key(api)?.as_ref(), now_ms())
        };
        let (authorization, proof) = run().map_err(js_error)?;
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

    #[wasm_bindgen(js_name = logoutTarget)]
    pub fn logout_target(
        &self,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] opts: JsValue,
    ) -> std::result::Result<Option<String>, JsValue> {
        self.client
            .logout_target(Core::return_to(&opts).as_deref(), page_origin().as_deref())
            .map_err(js_error)
    }

    /// The revocation requests; for `revokeTokens()` a revocation endpoint is required.
    #[wasm_bindgen(unchecked_return_type = "HttpRequest[]")]
    pub fn revocations(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"logout\" | \"tokens\"")] what: &str,
    ) -> std::result::Result<JsValue, JsValue> {
        let what = revocation(what);
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
        self.client
            .revoked(answer_from_js(&answer), revocation(what))
            .map_err(js_error)
    }

    /// The session and the DPoP key forgotten (logout, revokeTokens, and a
    /// logout whose endpoints could not be confirmed).
    #[wasm_bindgen(unchecked_return_type = "Effects")]
    pub fn forget(&mut self) -> JsValue {
        effects_to_js(self.client.forget())
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
        let default = match login_kind(kind) {
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

fn revocation(what: &str) -> Revocation {
    if what == "tokens" {
        Revocation::Tokens
    } else {
        Revocation::Logout
    }
}

/// The API key the driver carries from `accessPlan` to the next steps.
fn api_key(text: Option<String>) -> Result<Option<crate::api::ApiKey>> {
    text.map(|t| crate::api::ApiKey::from_text(&t)).transpose()
}

fn shared_to_js(s: access::Shared) -> JsValue {
    match s {
        access::Shared::Same => object_to_js(Map::new()),
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

/// The errors the driver meets, made here so that their messages stay out of
/// the production build with every other message (`terse`).
fn failure(what: &str, detail: String) -> AuthError {
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
        "openUrl" => (code::INVALID_CONFIG, msg!("`openUrl` failed: {detail}")),
        "cancelled" => (
            code::LOGIN_CANCELLED,
            msg!("the login was cancelled: `openUrl`'s promise was rejected ({detail})"),
        ),
        "openUrlType" => (code::INVALID_CONFIG, msg!("`openUrl` must be a function")),
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
        "closed" => (
            code::POPUP_CLOSED,
            msg!("the popup was closed before the login completed"),
        ),
        "popupTimeout" => (
            code::TIMEOUT,
            msg!("the login in the popup did not complete in time (`timeoutMs`)"),
        ),
        "silentTimeout" => (
            code::TIMEOUT,
            msg!(
                "silent authentication got no answer within {detail} ms (the provider's cookie may be \
                 blocked in iframes, or its pages may refuse to be framed)"
            ),
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
        _ => (code::INVALID_CONFIG, msg!("{detail}")),
    };
    AuthError::new(c, message)
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
pub fn fail(#[wasm_bindgen(unchecked_param_type = "Failure")] what: &str, detail: Option<String>) -> JsValue {
    failure(what, detail.unwrap_or_default()).into()
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
