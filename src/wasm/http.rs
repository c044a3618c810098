//! The one seam to the network: `fetch` (through gloo-net) with a timeout and
//! a cap on what is read of the answer.

use std::cell::Cell;
use std::rc::Rc;

use gloo_net::http::Request;
use wasm_bindgen::prelude::*;
use web_sys::{AbortController, RequestCache, RequestCredentials};

use crate::error::{code, AuthError, Result};
use crate::json::MAX_BODY_BYTES;

// Reads a response body as text, refusing (with `null`) one past `cap` bytes:
// by its Content-Length before reading anything, else while streaming, so an
// endless or huge answer is never held whole in memory. The stream is
// cancelled, which closes the connection.
#[wasm_bindgen(inline_js = r#"
export async function readCapped(response, cap) {
  const refuse = () => { try { response.body && response.body.cancel().catch(() => {}); } catch {} return null; };
  const length = response.headers.get("content-length");
  if (length !== null && Number(length) > cap) return refuse();
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) { reader.cancel().catch(() => {}); return null; }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) { all.set(c, at); at += c.byteLength; }
  return new TextDecoder().decode(all);
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = readCapped, catch)]
    fn read_capped(response: &web_sys::Response, cap: u32) -> std::result::Result<js_sys::Promise, JsValue>;
}

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
    /// The `Cache-Control` header, when the response exposes it.
    pub cache_control: Option<String>,
}

/// What one request expects of its answer.
#[derive(Clone, Copy)]
pub struct Expect {
    /// The error code for an answer past the size cap: the endpoint's
    /// `invalid_…` code (`invalid_token_response`, `invalid_jwks`…).
    pub invalid: &'static str,
    /// The browser's HTTP cache: `NoStore` for everything that carries a
    /// secret or must be current; `Default` or `NoCache` for key sets.
    pub cache: RequestCache,
}

impl Expect {
    pub const fn no_store(invalid: &'static str) -> Expect {
        Expect {
            invalid,
            cache: RequestCache::NoStore,
        }
    }
}

/// Why a fetch gave no usable answer.
enum Failure {
    Network(String),
    TooLarge,
}

pub enum Body<'a> {
    None,
    Text { content_type: &'a str, body: &'a str },
}

/// Sends a request and reads the body (at most 1 MiB), within `timeout_ms`.
/// Cookies are never sent (`credentials: "omit"`): every request here is
/// authorized by its parameters, and ambient credentials would only widen
/// CSRF exposure.
pub async fn send(
    method: &str,
    url: &str,
    body: Body<'_>,
    bearer: Option<&str>,
    timeout_ms: u32,
    expect: Expect,
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
    let result = fetch_text(method, url, body, bearer, &controller, expect.cache).await;
    clear_timeout(&handle);
    drop(on_timeout);
    result.map_err(|failure| {
        let Failure::Network(detail) = failure else {
            return AuthError::new(
                expect.invalid,
                format!("the answer of {url} is larger than {MAX_BODY_BYTES} bytes"),
            );
        };
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
    cache: RequestCache,
) -> std::result::Result<HttpResponse, Failure> {
    let signal = controller.signal();
    let mut builder = match method {
        "POST" => Request::post(url),
        _ => Request::get(url),
    }
    .header("Accept", "application/json")
    .credentials(RequestCredentials::Omit)
    .cache(cache)
    .abort_signal(Some(&signal));
    if let Some(token) = bearer {
        builder = builder.header("Authorization", &format!("Bearer {token}"));
    }
    let request = match body {
        Body::None => builder.build(),
        Body::Text { content_type, body } => builder.header("Content-Type", content_type).body(body),
    }
    .map_err(|e| Failure::Network(e.to_string()))?;
    let response = request
        .send()
        .await
        .map_err(|e| Failure::Network(e.to_string()))?;
    let status = response.status();
    let cache_control = response.headers().get("cache-control");
    let raw: web_sys::Response = response.into();
    let reading = read_capped(&raw, MAX_BODY_BYTES as u32).map_err(|e| Failure::Network(describe(&e)))?;
    let body = wasm_bindgen_futures::JsFuture::from(reading)
        .await
        .map_err(|e| Failure::Network(describe(&e)))?;
    let body = body.as_string().ok_or(Failure::TooLarge)?;
    Ok(HttpResponse {
        status,
        body,
        cache_control,
    })
}

/// The message of a JS exception or rejection.
pub fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the body could not be read".into())
}
