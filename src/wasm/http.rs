//! The one seam to the network: `fetch` with a timeout and a cap on what is
//! read of the answer. The request itself is a small JS function (fetch, abort
//! timer, capped streaming read): the same calls through Rust bindings cost
//! more bytes than the function (gloo-net's builder, Headers, AbortController).

use wasm_bindgen::prelude::*;

use crate::error::{code, AuthError, Result};
use crate::json::MAX_BODY_BYTES;

// `httpSend` resolves (never rejects) to { status, body, cacheControl },
// { redirected, status } (redirect mode "manual") or { failure, timedOut }. `body` is null when the answer is past `cap` bytes:
// by its Content-Length before anything is read, else while streaming, so an
// endless or huge answer is never held whole in memory; the stream is then
// cancelled, which closes the connection. The timeout covers the whole body.
// Cookies are never sent (`credentials: "omit"`): every request here is
// authorized by its parameters, and ambient credentials would only widen
// CSRF exposure.
#[wasm_bindgen(module = "/src/wasm/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = httpSend)]
    #[allow(clippy::too_many_arguments)]
    fn http_send(
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: Option<&str>,
        authorization: Option<&str>,
        dpop: Option<&str>,
        timeout_ms: u32,
        cache: &str,
        cap: u32,
        request: Option<&web_sys::Request>,
        redirect: &str,
    ) -> js_sys::Promise;
}

// `fetchWithAuth`'s request: the app's arguments made into a `Request` (it
// keeps their method, headers, body and options).
#[wasm_bindgen(module = "/src/wasm/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = newRequest, catch)]
    pub fn new_request(input: &JsValue, init: &JsValue) -> Result<web_sys::Request, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &JsValue, ms: i32) -> JsValue;
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
    /// RFC 9449 §8, §9: the server's next DPoP nonce.
    pub dpop_nonce: Option<String>,
    pub www_authenticate: Option<String>,
    /// The `Response` itself, for the app's request (`Body::App`), whose body is not read.
    pub response: JsValue,
}

/// What one request expects of its answer.
#[derive(Clone, Copy)]
pub struct Expect {
    /// The error code for an answer past the size cap, or a redirect: the
    /// endpoint's `invalid_…` code (`invalid_token_response`, `invalid_jwks`…).
    pub invalid: &'static str,
    /// The fetch `cache` mode: `"no-store"` for everything that carries a
    /// secret or must be current; `"default"` or `"no-cache"` for key sets.
    pub cache: &'static str,
    /// The fetch `redirect` mode.
    redirect: &'static str,
}

impl Expect {
    /// A request that carries a code, a verifier or a token (token, PAR,
    /// revocation, userinfo): never stored by a cache, and never sent on to
    /// where a redirect points. Fetch would follow a 307 or 308 with the same
    /// body (the code and `code_verifier`, the refresh token) to any place
    /// the answer names (RFC 9110 §15.4.8: "the user agent MUST NOT change
    /// the request method"; RFC 9700 §4.12 tells the same story of a 307 that
    /// forwards credentials); such an answer is an error of the endpoint instead.
    pub const fn secret(invalid: &'static str) -> Expect {
        Expect {
            invalid,
            cache: "no-store",
            redirect: "manual",
        }
    }

    /// A public document (discovery, key set), judged by its content: a
    /// redirect is followed, as for any document the web serves.
    pub const fn document(invalid: &'static str, cache: &'static str) -> Expect {
        Expect {
            invalid,
            cache,
            redirect: "follow",
        }
    }
}

#[derive(Clone, Copy)]
pub enum Body<'a> {
    None,
    Text {
        content_type: &'a str,
        body: &'a str,
    },
    /// The app's own request (`fetchWithAuth`): its method, headers, body
    /// and signal; no timeout of ours, and its answer is not read.
    App(&'a web_sys::Request),
}

fn field(obj: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// The credentials a request carries: an `Authorization` header value, a DPoP proof.
#[derive(Clone, Copy, Default)]
pub struct Credentials<'a> {
    pub authorization: Option<&'a str>,
    pub dpop: Option<&'a str>,
}

/// Sends a request and reads the body (at most 1 MiB), within `timeout_ms`.
pub async fn send(
    method: &str,
    url: &str,
    body: Body<'_>,
    credentials: Credentials<'_>,
    timeout_ms: u32,
    expect: Expect,
) -> Result<HttpResponse> {
    let (content_type, text, request) = match body {
        Body::None => (None, None, None),
        Body::Text { content_type, body } => (Some(content_type), Some(body), None),
        Body::App(r) => (None, None, Some(r)),
    };
    let timeout = timeout_ms.min(i32::MAX as u32);
    let promise = http_send(
        method,
        url,
        content_type,
        text,
        credentials.authorization,
        credentials.dpop,
        timeout,
        expect.cache,
        MAX_BODY_BYTES as u32,
        request,
        expect.redirect,
    );
    let out = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .unwrap_or(JsValue::UNDEFINED);
    if let Some(detail) = field(&out, "failure").as_string() {
        return Err(if field(&out, "timedOut").is_truthy() {
            AuthError::new(
                code::TIMEOUT,
                msg!("no complete answer from {url} within {timeout_ms} ms"),
            )
        } else {
            AuthError::new(
                code::NETWORK_ERROR,
                msg!(
                    "the request to {url} failed ({detail}): the server did not answer, or refused this page's \
                     origin (a CORS refusal looks the same to a page)"
                ),
            )
        });
    }
    let status = field(&out, "status").as_f64().unwrap_or(0.0) as u16;
    if field(&out, "redirected").is_truthy() {
        let e = AuthError::new(
            expect.invalid,
            msg!("{url} answered with a redirect: a request that carries a code, a verifier or a token is never sent on"),
        );
        // (An opaque redirect hides its status: 0.)
        return Err(if status == 0 { e } else { e.with_status(status) });
    }
    let Some(body) = field(&out, "body").as_string() else {
        return Err(AuthError::new(
            expect.invalid,
            msg!("the answer of {url} is larger than {MAX_BODY_BYTES} bytes"),
        ));
    };
    Ok(HttpResponse {
        status,
        body,
        cache_control: field(&out, "cacheControl").as_string(),
        dpop_nonce: field(&out, "dpopNonce").as_string(),
        www_authenticate: field(&out, "wwwAuthenticate").as_string(),
        response: field(&out, "response"),
    })
}

/// The message of a JS exception or rejection.
pub fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the body could not be read".into())
}
