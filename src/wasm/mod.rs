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

mod access;
mod convert;
mod endpoints;
mod error;
mod keys;
mod login;
mod logout;
mod proof;
mod restore;
mod timeline;

// A helper two parts share (each part `use super::*`).
use login::login_kind_name;

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use crate::authorize::AuthorizeOptions;
use crate::client::access::Access as AccessRequest;
use crate::client::endpoints::{Confirmation, Discovered};
use crate::client::keys::{Given, Input};
use crate::client::login::{LoginKind, Window};
use crate::client::logout::Revocation;
use crate::client::timeline::{Begin, Kind, Since};
use crate::client::{Adopted, Client};
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
