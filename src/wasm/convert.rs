//! Values across the seam: the app's options read member by member (each
//! checked for its JS type), the core's requests, steps and effects as plain
//! JS objects, and what the driver brings back read into the core's types.
//!
//! Objects going out are written as JSON by the crate's own writer and parsed
//! by the browser (`JSON.parse`): one import for any shape, and their TS
//! types are declared next to the exports (mod.rs) for the driver's checker.

use wasm_bindgen::prelude::*;

use crate::client::keys::{KeySetWrite, Step};
use crate::client::{Effects, StorageOption};
use crate::config::{check_option_keys, ClientOptions, EndpointOverrides};
use crate::error::{code, AuthError, Result};
use crate::http::{HttpAnswer, HttpRequest, HttpResponse};
use crate::json::{self, FirstError, Map, Value};

/// Reads `name` of an options object (or undefined).
pub fn option(o: &JsValue, name: &str) -> JsValue {
    if o.is_object() {
        js_sys::Reflect::get(o, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

fn given(v: &JsValue) -> bool {
    !(v.is_undefined() || v.is_null())
}

pub fn given_value(v: &JsValue) -> bool {
    given(v)
}

/// Refuses keys of an options object that are not options (typos).
pub fn check_keys(options: &JsValue, known: &[&str], what: &str) -> Result<()> {
    if !options.is_object() {
        return Ok(());
    }
    let object: &js_sys::Object = options.unchecked_ref();
    let keys: Vec<String> = js_sys::Object::keys(object)
        .iter()
        .filter_map(|k| k.as_string())
        .collect();
    check_option_keys(keys.iter().map(String::as_str), known, what)
}

/// An option of type `T` (`undefined` and `null`: not given).
fn typed<T>(o: &JsValue, name: &str, read: fn(&JsValue) -> Option<T>, kind: &str) -> Result<Option<T>> {
    match option(o, name) {
        v if !given(&v) => Ok(None),
        v => read(&v)
            .map(Some)
            .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, msg!("`{name}` must be {kind}"))),
    }
}

pub fn text(o: &JsValue, name: &str) -> Result<Option<String>> {
    typed(o, name, JsValue::as_string, "a string")
}

pub fn number(o: &JsValue, name: &str) -> Result<Option<f64>> {
    typed(o, name, JsValue::as_f64, "a number")
}

/// Reads many options, keeping the first error (see [`FirstError`]).
pub trait Reader {
    fn text(&mut self, o: &JsValue, name: &str) -> Option<String>;
    fn number(&mut self, o: &JsValue, name: &str) -> Option<f64>;
    fn flag(&mut self, o: &JsValue, name: &str) -> bool;
}

impl Reader for FirstError<AuthError> {
    fn text(&mut self, o: &JsValue, name: &str) -> Option<String> {
        self.keep(text(o, name))
    }

    fn number(&mut self, o: &JsValue, name: &str) -> Option<f64> {
        self.keep(number(o, name))
    }

    fn flag(&mut self, o: &JsValue, name: &str) -> bool {
        self.keep(typed(o, name, JsValue::as_bool, "true or false"))
            .unwrap_or(false)
    }
}

/// A whole number of seconds (`maxAge`, `leeway`).
pub fn seconds(o: &JsValue, name: &str) -> Result<Option<u64>> {
    match number(o, name)? {
        None => Ok(None),
        Some(s) if s.is_finite() && s >= 0.0 && s.fract() == 0.0 && s <= u32::MAX as f64 => {
            Ok(Some(s as u64))
        }
        Some(_) => Err(AuthError::new(
            code::INVALID_CONFIG,
            msg!("`{name}` must be a whole number of seconds"),
        )),
    }
}

/// An array of strings (`undefined`, `null`: not given).
pub fn strings(o: &JsValue, name: &str) -> Result<Option<Vec<String>>> {
    let v = option(o, name);
    if !given(&v) {
        return Ok(None);
    }
    js_sys::Array::is_array(&v)
        .then(|| {
            js_sys::Array::from(&v)
                .iter()
                .map(|a| a.as_string())
                .collect::<Option<Vec<_>>>()
        })
        .flatten()
        .map(Some)
        .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, msg!("`{name}` must be an array of strings")))
}

/// `createAuthClient`'s options (no serde derive on the wasm path: 1 KB+
/// gzip less).
pub fn client_options(o: &JsValue) -> Result<ClientOptions> {
    if !o.is_object() {
        return Err(AuthError::new(
            code::INVALID_CONFIG,
            "createAuthClient needs an options object",
        ));
    }
    check_keys(o, crate::config::CLIENT_OPTIONS, "createAuthClient")?;
    let e = option(o, "endpoints");
    check_keys(&e, crate::config::ENDPOINT_OPTIONS, "`endpoints`")?;
    if !(e.is_undefined() || e.is_null() || e.is_object()) {
        return Err(AuthError::new(
            code::INVALID_CONFIG,
            "`endpoints` must be an object",
        ));
    }
    // The app's transport (the driver sends every request through it).
    let transport = option(o, "fetch");
    if given(&transport) && !transport.is_function() {
        return Err(AuthError::new(
            code::INVALID_CONFIG,
            "`fetch` must be a function of fetch's signature",
        ));
    }
    let algs = strings(o, "idTokenSigningAlgs")?;
    let trusted_audiences = strings(o, "trustedAudiences")?;
    let apis = strings(o, "apis")?;
    let mut r = FirstError::<AuthError>::default();
    let options = ClientOptions {
        issuer: r.text(o, "issuer"),
        domain: r.text(o, "domain"),
        client_id: r.text(o, "clientId"),
        redirect_uri: r.text(o, "redirectUri"),
        scope: r.text(o, "scope"),
        audience: r.text(o, "audience"),
        token_request_encoding: r.text(o, "tokenRequestEncoding"),
        http_timeout_ms: r.number(o, "httpTimeoutMs"),
        endpoints: EndpointOverrides {
            authorization: r.text(&e, "authorization"),
            token: r.text(&e, "token"),
            userinfo: r.text(&e, "userinfo"),
            jwks: r.text(&e, "jwks"),
            end_session: r.text(&e, "endSession"),
            revocation: r.text(&e, "revocation"),
            pushed_authorization_request: r.text(&e, "pushedAuthorizationRequest"),
        },
        allow_insecure_requests: r.flag(o, "allowInsecureRequests"),
        leeway: r.number(o, "leeway"),
        id_token_signing_algs: algs,
        jwks_max_age: r.number(o, "jwksMaxAge"),
        default_expires_in: r.number(o, "defaultExpiresIn"),
        silent_timeout_ms: r.number(o, "silentTimeoutMs"),
        pushed_authorization_requests: r.flag(o, "pushedAuthorizationRequests"),
        dpop: r.flag(o, "dpop"),
        trusted_audiences,
        expose_refresh_token: r.flag(o, "exposeRefreshToken"),
        api_parameter: r.text(o, "apiParameter"),
        apis,
    };
    r.finish(options)
}

/// `transactionStorage` / `tokenStorage`: a name, or an adapter with `get`,
/// `set` and `remove` methods.
pub fn storage_option(o: &JsValue, name: &str) -> Result<StorageOption> {
    let v = option(o, name);
    if !given(&v) {
        return Ok(StorageOption::Default);
    }
    if let Some(s) = v.as_string() {
        return Ok(StorageOption::Named(s));
    }
    let methods = ["get", "set", "remove"]
        .iter()
        .all(|m| option(&v, m).is_function());
    if methods {
        return Ok(StorageOption::Adapter);
    }
    Err(AuthError::new(
        code::INVALID_CONFIG,
        msg!("`{name}` must be \"memory\", \"session\", \"local\" or an object with get, set and remove methods"),
    ))
}

/// The app's `appState` as the JSON text `JSON.stringify` makes of it.
/// Refused here, before the user is sent anywhere, if the text would not come
/// back: a login must not end in `missing_transaction` because of what the
/// app put in it. (JSON.stringify escapes lone surrogates, `"\ud800"`, since
/// ES2019; an engine that does not would hand over text that is not UTF-16.)
pub fn app_state_json(value: &JsValue) -> Result<Option<String>> {
    if value.is_undefined() {
        return Ok(None);
    }
    let refused = || AuthError::new(code::INVALID_CONFIG, "`appState` must be JSON-serializable");
    let text = js_sys::JSON::stringify(value).map_err(|_| refused())?;
    if !text.is_valid_utf16() {
        return Err(refused());
    }
    match text.as_string() {
        Some(t) if json::is_app_json(&t) => Ok(Some(t)),
        _ => Err(refused()),
    }
}

/// `extraParams`: an object whose values are strings, numbers or booleans
/// (`null` skips one), read through JSON; which names and values are
/// allowed is the core's (`authorize::authorization_request`). A string
/// that is not well-formed UTF-16 (a lone surrogate) cannot go in a URL as
/// it is: refused by name rather than silently changed.
pub fn extra_params(value: &JsValue) -> Result<Option<json::Object>> {
    if !given(value) {
        return Ok(None);
    }
    if !value.is_object() || js_sys::Array::is_array(value) {
        return Err(AuthError::new(
            code::INVALID_CONFIG,
            "`extraParams` must be an object",
        ));
    }
    for entry in js_sys::Object::entries(value.unchecked_ref()).iter() {
        let pair = js_sys::Array::from(&entry);
        if let Some(text) = pair.get(1).dyn_ref::<js_sys::JsString>() {
            if !text.is_valid_utf16() {
                return Err(AuthError::new(
                    code::INVALID_CONFIG,
                    msg!(
                        "`extraParams.{}` has a lone surrogate: it is not text a URL can carry",
                        pair.get(0).as_string().unwrap_or_default()
                    ),
                ));
            }
        }
    }
    let text = js_sys::JSON::stringify(value).ok().and_then(|t| t.as_string());
    match text.as_deref().map(json::parse) {
        Some(Ok(Value::Object(m))) => Ok(Some(m)),
        // (A value of a value with a lone surrogate, or one JSON cannot write:
        // the core would refuse it as not a string, number or boolean anyway.)
        _ => Err(AuthError::new(
            code::INVALID_CONFIG,
            "`extraParams` must be an object of strings, numbers and booleans",
        )),
    }
}

/// A JSON value → a plain JS value (the browser parses the crate's JSON).
pub fn to_js(v: &Value) -> JsValue {
    js_sys::JSON::parse(&json::to_string(v)).unwrap_or(JsValue::NULL)
}

pub fn object_to_js(o: Map<String, Value>) -> JsValue {
    to_js(&Value::Object(o))
}

fn put(o: &mut Map<String, Value>, name: &str, v: Option<impl Into<Value>>) {
    json::put(o, name, v);
}

fn pair(k: String, v: String) -> Value {
    Value::Array(vec![k.into(), v.into()])
}

/// An [`HttpRequest`] as the driver's `HttpRequest`.
pub fn request_to_js(r: &HttpRequest) -> JsValue {
    object_to_js(r.to_json())
}

/// Of a request the core wrote, what deciding on a DPoP nonce retry needs:
/// its URL, whether it carries a proof, whether it is a resource request.
pub fn proof_of(v: &JsValue) -> (String, bool, bool) {
    (
        option(v, "url").as_string().unwrap_or_default(),
        given(&option(v, "dpopInput")),
        given(&option(v, "authorization")),
    )
}

/// What the driver brought back for a request (`HttpAnswer` in its types):
/// the facts (a status, whether a redirect was followed), judged by the core.
pub fn answer_from_js(v: &JsValue) -> HttpAnswer {
    let s = |name: &str| option(v, name).as_string();
    if let Some(detail) = s("failure") {
        return HttpAnswer::Failed {
            timed_out: option(v, "timedOut").is_truthy(),
            detail,
        };
    }
    HttpAnswer::received(HttpResponse {
        status: option(v, "status").as_f64().unwrap_or(0.0) as u16,
        body: s("body"),
        cache_control: s("cacheControl"),
        dpop_nonce: s("dpopNonce"),
        www_authenticate: s("wwwAuthenticate"),
        redirected: option(v, "redirected").is_truthy(),
    })
}

/// What to do after a step, as the driver's `Effects` (it throws their error last).
pub fn effects_to_js(e: Effects) -> JsValue {
    let mut o = Map::new();
    let set: Vec<Value> = e.set.into_iter().map(|(k, v)| pair(k, v)).collect();
    o.insert("set".into(), Value::Array(set));
    let remove: Vec<Value> = e.remove.into_iter().map(Value::from).collect();
    o.insert("remove".into(), Value::Array(remove));
    if let Some((k, v)) = e.handoff {
        o.insert("handoff".into(), pair(k, v));
    }
    if e.forget_key {
        o.insert("forgetKey".into(), true.into());
    }
    put(&mut o, "emit", e.emit);
    let out = object_to_js(o);
    if let Some(error) = e.error {
        let _ = js_sys::Reflect::set(&out, &"error".into(), &error.into());
    }
    out
}

/// A verification step as the driver's `Step`, with a key set to keep or drop.
pub fn step_to_js(step: Step, keep: KeySetWrite) -> JsValue {
    let mut o = Map::new();
    match step {
        Step::Read(key) => {
            o.insert("read".into(), key.into());
        }
        Step::Fetch(r) => {
            o.insert("fetch".into(), Value::Object(r.to_json()));
        }
        Step::Check(c) => {
            o.insert("check".into(), Value::Object(c.to_json()));
        }
        Step::Done => {
            o.insert("done".into(), true.into());
        }
    }
    if let Some((key, value)) = keep {
        let value = value.map_or(Value::Null, Value::from);
        o.insert("keep".into(), Value::Array(vec![key.into(), value]));
    }
    object_to_js(o)
}
