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

#[wasm_bindgen(inline_js = r#"
const WAITING = "__oidcPkceWaiting";
export function openPopup() {
  const w = 500, h = 650;
  const left = Math.max(0, (screen.width - w) / 2), top = Math.max(0, (screen.height - h) / 2);
  try {
    return window.open("about:blank", "oidc-pkce-popup", `popup,width=${w},height=${h},left=${left},top=${top}`) || null;
  } catch {
    return null;
  }
}
export function openFrame() {
  if (typeof document === "undefined" || !document.body) return null;
  const f = document.createElement("iframe");
  f.setAttribute("aria-hidden", "true");
  f.setAttribute("tabindex", "-1");
  f.title = "oidc-pkce silent authentication";
  f.style.cssText = "position:absolute;width:0;height:0;border:0;visibility:hidden";
  document.body.appendChild(f);
  return f;
}
export function go(target, url) {
  if (target instanceof HTMLIFrameElement) target.src = url; else target.location.replace(url);
}
export function dispose(target) {
  try { if (target instanceof HTMLIFrameElement) target.remove(); else target.close(); } catch {}
}
// Resolves { url } once the window shows a URL under redirectUri (or the
// redirect page hands it over), { closed: true } if the user closed it,
// { timeout: true } after timeoutMs.
export function waitForRedirect(target, redirectUri, timeoutMs) {
  const win = () => (target instanceof HTMLIFrameElement ? target.contentWindow : target);
  globalThis[WAITING] = (globalThis[WAITING] || 0) + 1;
  return new Promise((resolve) => {
    const started = Date.now();
    let timer, finished = false;
    const onMessage = (e) => {
      const d = e.data;
      if (e.origin === location.origin && e.source === win() && d && d.type === "oidc-pkce:callback" && typeof d.url === "string") done({ url: d.url });
    };
    const done = (r) => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      removeEventListener("message", onMessage);
      globalThis[WAITING] -= 1;
      resolve(r);
    };
    addEventListener("message", onMessage);
    timer = setInterval(() => {
      const w = win();
      if (!w || w.closed) return done({ closed: true });
      let href = null;
      try { href = w.location.href; } catch {}
      if (href && href.startsWith(redirectUri) && /[?#]/.test(href.slice(redirectUri.length))) return done({ url: href });
      if (Date.now() - started > timeoutMs) done({ timeout: true });
    }, 50);
  });
}
// In a popup or iframe that this library is waiting on (same origin), hand
// the callback URL to the waiting page and report true.
export function handToOpener(url) {
  try {
    const target = window.opener && window.opener !== window ? window.opener : window.parent !== window ? window.parent : null;
    if (!target || !target[WAITING] || target.location.origin !== location.origin) return false;
    target.postMessage({ type: "oidc-pkce:callback", url }, location.origin);
    return true;
  } catch {
    return false;
  }
}
"#)]
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
