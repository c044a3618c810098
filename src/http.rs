//! The HTTP requests the core asks the platform to send, and the answers it
//! reads back. The core never sends anything: it builds an [`HttpRequest`]
//! (method, URL, headers, body, and how fetch must treat it), the driver
//! (`driver/`, JavaScript) performs it and hands back an [`HttpAnswer`],
//! which the core judges.

use crate::error::{code, AuthError, Result};
use crate::json::MAX_BODY_BYTES;

/// fetch's `cache` mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cache {
    /// Everything that carries a secret or must be current.
    NoStore,
    /// A key set within the browser's HTTP cache rules.
    Default,
    /// A key set past every cache (after a signature failure).
    NoCache,
}

/// fetch's `redirect` mode, and what a redirect means for the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redirects {
    /// A public document judged by its content (discovery, key sets): a
    /// redirect is followed (a CDN, a moved path).
    Follow,
    /// A request that carries a code, a verifier or a token (token, PAR,
    /// revocation, userinfo): fetch would follow a 307 or 308 with the same
    /// body to any place the answer names (RFC 9110 §15.4.8: "the user agent
    /// MUST NOT change the request method"); such an answer is an error of
    /// the endpoint instead, and nothing is sent on.
    Refuse,
}

/// A request for the platform to send (credentials are never included:
/// every request here is authorized by its parameters, and ambient cookies
/// would only widen CSRF exposure).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub content_type: Option<&'static str>,
    pub body: Option<String>,
    /// The `Authorization` header (resource requests).
    pub authorization: Option<String>,
    /// The JWS signing input of a DPoP proof (RFC 9449 §4) for the platform
    /// to sign with the key it holds; the proof goes in the `DPoP` header.
    pub dpop_input: Option<String>,
    pub cache: Cache,
    pub redirects: Redirects,
    pub timeout_ms: u32,
    /// The error code of a bad answer: the endpoint's `invalid_…` code.
    pub invalid: &'static str,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body and the headers hold codes, verifiers and tokens.
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body", &self.body.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl HttpRequest {
    /// A GET of a public document (discovery, key set).
    pub fn document(url: &str, cache: Cache, timeout_ms: u32, invalid: &'static str) -> HttpRequest {
        HttpRequest {
            method: "GET",
            url: url.to_string(),
            content_type: None,
            body: None,
            authorization: None,
            dpop_input: None,
            cache,
            redirects: Redirects::Follow,
            timeout_ms,
            invalid,
        }
    }

    /// A request that carries a secret: no cache, no redirect followed.
    pub fn secret(method: &'static str, url: &str, timeout_ms: u32, invalid: &'static str) -> HttpRequest {
        HttpRequest {
            cache: Cache::NoStore,
            redirects: Redirects::Refuse,
            method,
            ..HttpRequest::document(url, Cache::NoStore, timeout_ms, invalid)
        }
    }

    /// As the drivers' `HttpRequest` (JSON): what fetch needs, and the most
    /// bytes of the answer to read (the core's one cap).
    pub fn to_json(&self) -> crate::json::Map {
        let mut o = crate::json::Map::new();
        o.insert("method".into(), self.method.into());
        o.insert("url".into(), self.url.as_str().into());
        crate::json::put(&mut o, "contentType", self.content_type);
        crate::json::put(&mut o, "body", self.body.as_deref());
        crate::json::put(&mut o, "authorization", self.authorization.as_deref());
        crate::json::put(&mut o, "dpopInput", self.dpop_input.as_deref());
        let cache = match self.cache {
            Cache::NoStore => "no-store",
            Cache::Default => "default",
            Cache::NoCache => "no-cache",
        };
        o.insert("cache".into(), cache.into());
        let redirect = match self.redirects {
            Redirects::Follow => "follow",
            Redirects::Refuse => "manual",
        };
        o.insert("redirect".into(), redirect.into());
        o.insert("timeoutMs".into(), u64::from(self.timeout_ms).into());
        // The most bytes of the answer the driver reads (the core's one cap).
        o.insert("maxBytes".into(), (crate::json::MAX_BODY_BYTES as u64).into());
        o
    }
}

impl HttpAnswer {
    /// The drivers' `HttpAnswer` as JSON (the backend's driver hands it over
    /// as text): the facts, judged by the request they answer.
    pub fn from_json(o: &crate::json::Map) -> HttpAnswer {
        let s = |name: &str| {
            o.get(name)
                .and_then(crate::json::Value::as_str)
                .map(str::to_string)
        };
        if let Some(detail) = s("failure") {
            let timed_out = o
                .get("timedOut")
                .and_then(crate::json::Value::as_bool)
                .unwrap_or(false);
            return HttpAnswer::Failed { timed_out, detail };
        }
        let status = o
            .get("status")
            .and_then(crate::json::Value::as_u64)
            .unwrap_or(0)
            .min(999) as u16;
        let redirected = o
            .get("redirected")
            .and_then(crate::json::Value::as_bool)
            .unwrap_or(false);
        HttpAnswer::received(HttpResponse {
            status,
            body: s("body"),
            cache_control: s("cacheControl"),
            dpop_nonce: s("dpopNonce"),
            www_authenticate: s("wwwAuthenticate"),
            redirected,
        })
    }

    /// A response as the platform gave it, judged: a redirect it did not
    /// follow (an opaque one, status 0, or a 3xx the app's fetch answered
    /// itself) is [`HttpAnswer::Redirected`].
    pub fn received(r: HttpResponse) -> HttpAnswer {
        if (r.status == 0 && r.redirected) || (300..400).contains(&r.status) {
            return HttpAnswer::Redirected { status: r.status };
        }
        HttpAnswer::Response(r)
    }
}

/// What the platform got for an [`HttpRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpAnswer {
    /// No answer: offline, DNS, CORS, an aborted connection (`detail`: the
    /// platform's words), or none complete within the timeout.
    Failed {
        timed_out: bool,
        detail: String,
    },
    /// A redirect, not followed (`status` 0 where the browser hides it).
    Redirected {
        status: u16,
    },
    Response(HttpResponse),
}

/// An answer with a status. `body` is `None` when it was larger than
/// [`MAX_BODY_BYTES`] (by its `Content-Length`, or while streaming).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Option<String>,
    pub cache_control: Option<String>,
    /// RFC 9449 §8, §9: the server's next DPoP nonce.
    pub dpop_nonce: Option<String>,
    pub www_authenticate: Option<String>,
    /// It came after a redirect that was followed (the app's `fetch` may
    /// follow one whatever the request's mode).
    pub redirected: bool,
}

impl HttpResponse {
    /// The body, which [`HttpAnswer::response`] checked is there.
    pub fn text(&self) -> &str {
        self.body.as_deref().unwrap_or_default()
    }
}

impl HttpAnswer {
    /// The response, or the error of an answer that is none: `network_error`
    /// or `timeout` for no answer, the request's `invalid` code for a
    /// redirect or a body past the cap.
    pub fn response(self, request: &HttpRequest) -> Result<HttpResponse> {
        let url = &request.url;
        match self {
            HttpAnswer::Failed { timed_out: true, .. } => Err(AuthError::new(
                code::TIMEOUT,
                msg!("no complete answer from {url} within {} ms", request.timeout_ms),
            )),
            HttpAnswer::Failed { detail, .. } => Err(AuthError::new(
                code::NETWORK_ERROR,
                msg!(
                    "the request to {url} failed ({detail}): the server did not answer, or refused this page's \
                     origin (a CORS refusal looks the same to a page)"
                ),
            )),
            HttpAnswer::Redirected { status } => {
                let why = match request.redirects {
                    Redirects::Refuse => ": a request that carries a code, a verifier or a token is never sent on",
                    Redirects::Follow => "",
                };
                let e = AuthError::new(
                    request.invalid,
                    msg!("{url} answered with a redirect that was not followed{why}"),
                );
                Err(if status == 0 { e } else { e.with_status(status) })
            }
            HttpAnswer::Response(r) if r.redirected && request.redirects == Redirects::Refuse => Err(AuthError::new(
                request.invalid,
                msg!("{url} answered with a redirect, which was followed: a request that carries a code, a verifier or a token must never be"),
            )),
            HttpAnswer::Response(r) if r.body.is_none() => Err(AuthError::new(
                request.invalid,
                msg!("the answer of {url} is larger than {MAX_BODY_BYTES} bytes"),
            )
            .with_status(r.status)),
            HttpAnswer::Response(r) => Ok(r),
        }
    }

    /// The provider gave no answer (as opposed to a wrong one).
    pub fn is_unanswered(&self) -> bool {
        matches!(self, HttpAnswer::Failed { .. })
    }
}

/// The provider gave no answer (as opposed to a wrong one): what an offline
/// start and a retried refresh are made of.
pub fn is_unreachable(e: &AuthError) -> bool {
    e.code() == code::NETWORK_ERROR || e.code() == code::TIMEOUT
}

/// A status other than 200 from a document endpoint, as the endpoint's error.
pub fn expect_ok(response: &HttpResponse, request: &HttpRequest) -> Result<()> {
    if response.status == 200 {
        return Ok(());
    }
    Err(AuthError::new(
        request.invalid,
        msg!("{} answered HTTP {}", request.url, response.status),
    )
    .with_status(response.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> HttpRequest {
        HttpRequest::secret(
            "POST",
            "https://as.example/token",
            5000,
            code::INVALID_TOKEN_RESPONSE,
        )
    }

    #[test]
    fn answers_that_are_not_responses_are_errors_of_their_kind() {
        let r = request();
        assert_eq!((r.cache, r.redirects), (Cache::NoStore, Redirects::Refuse));
        let failed = |timed_out| HttpAnswer::Failed {
            timed_out,
            detail: "Failed to fetch".into(),
        };
        assert_eq!(
            failed(false).response(&r).unwrap_err().code(),
            code::NETWORK_ERROR
        );
        assert_eq!(failed(true).response(&r).unwrap_err().code(), code::TIMEOUT);
        assert!(failed(false).is_unanswered());
        let redirected = HttpAnswer::Redirected { status: 307 }.response(&r).unwrap_err();
        assert_eq!(
            (redirected.code(), redirected.status()),
            (code::INVALID_TOKEN_RESPONSE, Some(307))
        );
        let opaque = HttpAnswer::Redirected { status: 0 }.response(&r).unwrap_err();
        assert_eq!(
            (opaque.code(), opaque.status()),
            (code::INVALID_TOKEN_RESPONSE, None)
        );
        let huge = HttpAnswer::Response(HttpResponse {
            status: 200,
            ..Default::default()
        });
        assert_eq!(
            huge.response(&r).unwrap_err().code(),
            code::INVALID_TOKEN_RESPONSE
        );
        let ok = HttpAnswer::Response(HttpResponse {
            status: 200,
            body: Some("{}".into()),
            ..Default::default()
        });
        assert_eq!(ok.response(&r).unwrap().text(), "{}");
    }

    #[test]
    fn an_unfollowed_redirect_is_judged_as_one_from_either_driver() {
        let r = |status: u16, redirected: bool| HttpResponse {
            status,
            redirected,
            ..HttpResponse::default()
        };
        assert_eq!(
            HttpAnswer::received(r(0, true)),
            HttpAnswer::Redirected { status: 0 }
        );
        assert_eq!(
            HttpAnswer::received(r(307, false)),
            HttpAnswer::Redirected { status: 307 }
        );
        assert!(
            matches!(HttpAnswer::received(r(200, true)), HttpAnswer::Response(_)),
            "followed"
        );
        let json = crate::json::object(r#"{"status":302,"redirected":false}"#).unwrap();
        assert_eq!(
            HttpAnswer::from_json(&json),
            HttpAnswer::Redirected { status: 302 }
        );
    }

    #[test]
    fn documents_follow_redirects_and_may_be_cached() {
        let d = HttpRequest::document("https://as.example/jwks", Cache::Default, 1, code::INVALID_JWKS);
        assert_eq!(
            (d.method, d.redirects, d.cache),
            ("GET", Redirects::Follow, Cache::Default)
        );
        // A document that came through a followed redirect (a CDN, a moved
        // path) is judged by its content; a secret request's never is.
        let followed = || {
            HttpAnswer::Response(HttpResponse {
                status: 200,
                body: Some("{}".into()),
                redirected: true,
                ..Default::default()
            })
        };
        assert_eq!(followed().response(&d).unwrap().text(), "{}");
        let e = followed().response(&request()).unwrap_err();
        assert_eq!(e.code(), code::INVALID_TOKEN_RESPONSE);
        // One not followed (the app's fetch answering the 3xx itself) is no document.
        assert_eq!(
            HttpAnswer::Redirected { status: 302 }
                .response(&d)
                .unwrap_err()
                .code(),
            code::INVALID_JWKS
        );
        let mut r = HttpResponse {
            status: 404,
            body: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(expect_ok(&r, &d).unwrap_err().status(), Some(404));
        r.status = 200;
        assert!(expect_ok(&r, &d).is_ok());
    }
}
