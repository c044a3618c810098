//! The hand-off between tabs that share `localStorage`: the tab that holds
//! the refresh lock also writes the session it stored to IndexedDB.
//!
//! Why: Chromium keeps a per-tab cache of localStorage that other tabs' writes
//! reach asynchronously, with no ordering against the Web Lock being handed
//! over. A tab that gets the lock right after another refreshed could read the
//! old session there and spend the rotated-out refresh token (seen in CI:
//! `invalid_grant`, and a provider that detects reuse revokes the whole grant).
//! IndexedDB is served by the browser process, transactionally: a read made
//! after the lock is acquired sees what the previous holder committed.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/src/wasm/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = handoffGet)]
    fn handoff_get(key: &str) -> Promise;
    #[wasm_bindgen(js_name = handoffSet)]
    fn handoff_set(key: &str, value: Option<String>) -> Promise;
}

/// The session the last lock holder committed, if IndexedDB has one.
pub async fn get(key: &str) -> Option<String> {
    JsFuture::from(handoff_get(key))
        .await
        .ok()
        .and_then(|v| v.as_string())
}

/// Records the session stored (`""` when it was removed; `None` deletes the
/// record); waits for the commit. Best effort: without IndexedDB the tabs fall
/// back to reading localStorage.
pub async fn set(key: &str, value: Option<&str>) {
    let _ = JsFuture::from(handoff_set(key, value.map(str::to_string))).await;
}
