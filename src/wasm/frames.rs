//! Popups and hidden iframes: the browser side of `loginWithPopup` and
//! `checkSession` (silent authentication). Small JS functions: opening,
//! watching and closing windows through Rust bindings would cost more bytes.
//! Every protocol decision (the request, the callback, the code exchange)
//! stays in Rust; these only carry the callback URL back.
//!
//! How the URL comes back: the library watches the popup or iframe until it
//! shows a URL under `redirectUri` (readable only once it is back on this
//! origin), so the redirect page needs no code of the app's. If the app's own
//! redirect page runs there and calls `handleRedirectCallback()`, that call
//! hands the URL to the waiting page (`postMessage` to this origin) instead of
//! exchanging the code a second time.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/wasm/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = openPopup)]
    pub fn open_popup() -> JsValue;
    #[wasm_bindgen(js_name = openFrame)]
    pub fn open_frame() -> JsValue;
    pub fn go(target: &JsValue, url: &str);
    pub fn dispose(target: &JsValue);
    #[wasm_bindgen(js_name = waitForRedirect)]
    fn wait_for_redirect(target: &JsValue, redirect_uri: &str, timeout_ms: f64) -> Promise;
    #[wasm_bindgen(js_name = handToOpener)]
    pub fn hand_to_opener(url: &str) -> bool;
}

/// How the wait for the callback ended.
pub enum Outcome {
    Url(String),
    Closed,
    Timeout,
}

/// Waits until `target` (a popup or an iframe) reaches `redirect_uri`.
pub async fn wait(target: &JsValue, redirect_uri: &str, timeout_ms: f64) -> Outcome {
    let out = wasm_bindgen_futures::JsFuture::from(wait_for_redirect(target, redirect_uri, timeout_ms))
        .await
        .unwrap_or(JsValue::UNDEFINED);
    let get = |name: &str| js_sys::Reflect::get(&out, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    if let Some(url) = get("url").as_string() {
        Outcome::Url(url)
    } else if get("closed").is_truthy() {
        Outcome::Closed
    } else {
        Outcome::Timeout
    }
}
