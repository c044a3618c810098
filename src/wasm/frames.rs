//! Popups and hidden iframes: the browser side of `loginWithPopup` and
//! `checkSession` (silent authentication). Small JS functions: opening,
//! watching and closing windows through Rust bindings would cost more bytes.
//! Every protocol decision (the request, the callback, the code exchange)
//! stays in Rust; these only carry the callback URL back.
//!
//! How the URL comes back: the library watches the popup or iframe until it
//! shows an authorization response at `redirectUri` (readable only once it is
//! back on this origin; the core judges the URL: origin, path and
//! `redirectUri`'s own query, not a string prefix), so the redirect page needs
//! no code of the app's. If the app's own
//! redirect page runs there and calls `handleRedirectCallback()`, that call
//! hands the URL to the waiting page (`postMessage` to this origin) instead of
//! exchanging the code a second time.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/wasm/glue.js")]
extern "C" {
    /// A new popup window with a name of its own; `null` when the browser
    /// blocked it; `undefined` when this page's popup login is still open
    /// (brought to the front instead: one popup login at a time, so that no
    /// login receives another's callback).
    #[wasm_bindgen(js_name = openPopup)]
    pub fn open_popup() -> JsValue;
    #[wasm_bindgen(js_name = openFrame)]
    pub fn open_frame() -> JsValue;
    pub fn go(target: &JsValue, url: &str);
    pub fn dispose(target: &JsValue);
    #[wasm_bindgen(js_name = waitForRedirect)]
    fn wait_for_redirect(target: &JsValue, arrived: &js_sys::Function, timeout_ms: f64) -> Promise;
    #[wasm_bindgen(js_name = handToOpener)]
    pub fn hand_to_opener(url: &str) -> bool;
}

/// How the wait for the callback ended.
pub enum Outcome {
    Url(String),
    Closed,
    Timeout,
}

/// Waits until `target` (a popup or an iframe) shows an authorization
/// response at `redirect_uri`, as the core recognises one
/// ([`crate::callback::is_response_at`]).
pub async fn wait(target: &JsValue, redirect_uri: &str, timeout_ms: f64) -> Outcome {
    let redirect_uri = redirect_uri.to_string();
    let arrived = Closure::<dyn Fn(String) -> bool>::new(move |url: String| {
        crate::callback::is_response_at(&url, &redirect_uri)
    });
    let out = wasm_bindgen_futures::JsFuture::from(wait_for_redirect(
        target,
        arrived.as_ref().unchecked_ref(),
        timeout_ms,
    ))
    .await
    .unwrap_or(JsValue::UNDEFINED);
    drop(arrived);
    let get = |name: &str| js_sys::Reflect::get(&out, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    if let Some(url) = get("url").as_string() {
        Outcome::Url(url)
    } else if get("closed").is_truthy() {
        Outcome::Closed
    } else {
        Outcome::Timeout
    }
}
