//! The one seam to the network: `fetch` (through gloo-net) with a timeout.

use std::cell::Cell;
use std::rc::Rc;

use gloo_net::http::Request;
use wasm_bindgen::prelude::*;
use web_sys::{AbortController, RequestCache, RequestCredentials};

use crate::error::{code, AuthError, Result};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &JsValue, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// Waits `ms` milliseconds (the backoff between retries).
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

pub enum Body<'a> {
    None,
    Text { content_type: &'a str, body: &'a str },
}

/// Sends a request and reads the whole body, within `timeout_ms`. Cookies are
/// never sent (`credentials: "omit"`): every request here is authorized by its
/// parameters, and ambient credentials would only widen CSRF exposure.
pub async fn send(
    method: &str,
    url: &str,
    body: Body<'_>,
    bearer: Option<&str>,
    timeout_ms: u32,
) -> Result<HttpResponse> {
    let controller = AbortController::new()
        .map_err(|_| AuthError::new(code::UNSUPPORTED_PLATFORM, "AbortController is missing"))?;
    let timed_out = Rc::new(Cell::new(false));
    let on_timeout = {
        let (controller, timed_out) = (controller.clone(), timed_out.clone());
        Closure::<dyn FnMut()>::new(move || {
            timed_out.set(true);
            controller.abort();
        })
    };
    let handle = set_timeout(on_timeout.as_ref(), timeout_ms.min(i32::MAX as u32) as i32);
    let result = fetch_text(method, url, body, bearer, &controller).await;
    clear_timeout(&handle);
    drop(on_timeout);
    result.map_err(|detail| {
        if timed_out.get() {
            AuthError::new(
                code::TIMEOUT,
                format!("no complete answer from {url} within {timeout_ms} ms"),
            )
        } else {
            AuthError::new(
                code::NETWORK_ERROR,
                format!("the request to {url} failed: {detail}"),
            )
        }
    })
}

async fn fetch_text(
    method: &str,
    url: &str,
    body: Body<'_>,
    bearer: Option<&str>,
    controller: &AbortController,
) -> std::result::Result<HttpResponse, String> {
    let signal = controller.signal();
    let mut builder = match method {
        "POST" => Request::post(url),
        _ => Request::get(url),
    }
    .header("Accept", "application/json")
    .credentials(RequestCredentials::Omit)
    .cache(RequestCache::NoStore)
    .abort_signal(Some(&signal));
    if let Some(token) = bearer {
        builder = builder.header("Authorization", &format!("Bearer {token}"));
    }
    let request = match body {
        Body::None => builder.build(),
        Body::Text { content_type, body } => builder.header("Content-Type", content_type).body(body),
    }
    .map_err(|e| e.to_string())?;
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    Ok(HttpResponse { status, body })
}
