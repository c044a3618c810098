//! AuthError → a JS `Error` with `name === "AuthError"` and the stable fields.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::error::AuthError;

fn set(obj: &JsValue, key: &str, value: JsValue) {
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value);
}

#[cfg(not(feature = "terse"))]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console)]
    fn warn(message: &str);
}

#[cfg(not(feature = "terse"))]
thread_local! {
    static WARNED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl From<AuthError> for JsValue {
    fn from(e: AuthError) -> JsValue {
        // The development build says on the console, once, what a forgotten
        // handleRedirectCallback() looks like from the call that needed it.
        #[cfg(not(feature = "terse"))]
        if e.reason() == Some("callback_not_handled") && !WARNED.with(|w| w.replace(true)) {
            warn(&["oidc-pkce: ", e.message()].concat());
        }
        // The production build (feature `terse`) has no messages: the code
        // and the reason stand in for one.
        #[cfg(feature = "terse")]
        let message: &str = &{
            let reason = e.reason().map(|r| [" (", r, ")"].concat()).unwrap_or_default();
            [e.code(), &reason, "; the development build has the message"].concat()
        };
        #[cfg(not(feature = "terse"))]
        let message = e.message();
        let err: JsValue = js_sys::Error::new(message).into();
        set(&err, "name", "AuthError".into());
        set(&err, "code", e.code().into());
        if let Some(s) = e.server() {
            set(&err, "error", s.error.as_str().into());
            if let Some(d) = &s.error_description {
                set(&err, "errorDescription", d.as_str().into());
            }
            if let Some(u) = &s.error_uri {
                set(&err, "errorUri", u.as_str().into());
            }
        }
        if let Some(reason) = e.reason() {
            set(&err, "reason", reason.into());
        }
        if let Some(status) = e.status() {
            set(&err, "status", status.into());
        }
        err
    }
}
