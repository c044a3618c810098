//! Logins: the pending login, the callback, the code exchange, windows (client/login.rs).

use super::*;

#[wasm_bindgen]
impl Core {
    /// A login failed (the driver rethrows its error after these effects).
    #[wasm_bindgen(js_name = loginFailed, unchecked_return_type = "Effects")]
    pub fn login_failed(&mut self, login: &Login) -> JsValue {
        effects_to_js(self.client.login_failed(&login.0))
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

impl Core {
    pub(super) fn pending(&mut self, options: AuthorizeOptions, kind: LoginKind) -> Result<JsValue> {
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
}

/// The options of one login of `kind`: the app's (checked against the login
/// options), with `prompt=none` for silent authentication (OIDC Core
/// §3.1.2.1). `appState` is the JSON text `JSON.stringify` makes of it (it
/// must survive storage, and come back with its keys in the app's order).
pub(super) fn login_options(opts: &JsValue, kind: LoginKind) -> Result<AuthorizeOptions> {
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

pub(super) fn login_kind(kind: &str) -> Result<LoginKind> {
    Ok(match kind {
        "redirect" => LoginKind::Redirect,
        "popup" => LoginKind::Popup,
        "silent" => LoginKind::Silent,
        "renewal" => LoginKind::Renewal,
        "api" => LoginKind::Api,
        _ => return Err(unknown("login kind")),
    })
}

pub(super) fn login_kind_name(kind: LoginKind) -> &'static str {
    match kind {
        LoginKind::Redirect => "redirect",
        LoginKind::Popup => "popup",
        LoginKind::Silent => "silent",
        LoginKind::Renewal => "renewal",
        LoginKind::Api => "api",
    }
}
