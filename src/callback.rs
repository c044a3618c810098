//! The authorization response at the redirect URI (RFC 6749 §4.1.2, RFC 9207).

use crate::error::{code, AuthError, Result, ServerError};
use crate::secret::AuthorizationCode;
use crate::transaction::Transaction;
use crate::uri::Uri;

/// What the callback URL said, before it is matched to a pending login.
#[derive(Debug, PartialEq, Eq)]
pub struct AuthorizationResponse {
    pub state: Option<String>,
    pub iss: Option<String>,
    pub outcome: Outcome,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Code(AuthorizationCode),
    Error(ServerError),
}

/// The parameters a response may carry, each at most once.
const RESPONSE_PARAMS: &[&str] = &["code", "state", "iss", "error", "error_description", "error_uri"];
/// Tokens never arrive at the redirect URI in the code flow; their presence
/// means someone is injecting an implicit-flow response.
const INJECTED: &[&str] = &["access_token", "id_token", "token"];

fn invalid(message: impl Into<String>) -> AuthError {
    AuthError::new(code::INVALID_CALLBACK, message)
}

/// Reads the authorization response from the callback URL, an http(s) page
/// or a custom-scheme URL (`com.example.app://callback?code=…`).
pub fn parse_callback_url(url: &str) -> Result<AuthorizationResponse> {
    let uri = Uri::parse(url).ok_or_else(|| invalid("the callback URL is not an absolute URL"))?;
    let pairs = uri.query_pairs();
    let fragment_pairs: Vec<(String, String)> = uri
        .fragment
        .map(crate::uri::form_decode_pairs)
        .unwrap_or_default();
    if pairs
        .iter()
        .chain(&fragment_pairs)
        .any(|(k, _)| INJECTED.contains(&k.as_str()))
    {
        return Err(invalid(
            "the callback carries a token: the code flow never does, so it is refused as an injected response",
        ));
    }
    // RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once."
    for name in RESPONSE_PARAMS {
        if pairs.iter().filter(|(k, _)| k == name).count() > 1 {
            return Err(invalid(msg!(
                "the callback has the `{name}` parameter more than once"
            )));
        }
    }
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let outcome = match (get("code"), get("error")) {
        (Some(_), Some(_)) => return Err(invalid("the callback has both `code` and `error`")),
        (Some(c), None) if !c.is_empty() => Outcome::Code(AuthorizationCode::new(c)),
        (None, Some(e)) => Outcome::Error(ServerError {
            error: e,
            error_description: get("error_description"),
            error_uri: get("error_uri"),
        }),
        _ => {
            let hint = if fragment_pairs.iter().any(|(k, _)| k == "code" || k == "error") {
                " (they are in the fragment: the library asks for response_mode=query)"
            } else {
                ""
            };
            return Err(invalid(msg!(
                "the callback URL has neither `code` nor `error`{hint}"
            )));
        }
    };
    Ok(AuthorizationResponse {
        state: get("state"),
        iss: get("iss"),
        outcome,
    })
}

/// Whether `url` is an authorization response at `redirect_uri`: the same
/// origin and path as the browser reads them, every query parameter
/// `redirect_uri` itself has (RFC 6749 §3.1.2: the redirect URI's query
/// "MUST be retained"), and a response: `code` and `state` (§4.1.2), or
/// `error` and `state` (§4.1.2.1); this library always sends `state`, so an
/// answer without it is not one. A string prefix would take a root
/// `redirect_uri` for every page of its origin, and a single `code` or
/// `state` for a response: the app's own `?state=` or `?code=` is not one.
/// (The popup of `loginWithPopup`, the iframe of silent authentication, an
/// auth session's answer and `isRedirectCallback` are judged by it.)
pub fn is_response_at(url: &str, redirect_uri: &str) -> bool {
    let (Some(at), Some(wanted)) = (Uri::parse(url), Uri::parse(redirect_uri)) else {
        return false;
    };
    let same_place = match (at.origin(), wanted.origin()) {
        (Some(a), Some(w)) => {
            a == w && at.browser_path().is_some() && at.browser_path() == wanted.browser_path()
        }
        // A custom scheme (no origin): compared as written, case aside.
        (None, None) => {
            at.scheme.eq_ignore_ascii_case(wanted.scheme)
                && at.authority.map(str::to_ascii_lowercase) == wanted.authority.map(str::to_ascii_lowercase)
                && at.path == wanted.path
        }
        _ => false,
    };
    if !same_place {
        return false;
    }
    let pairs = at.query_pairs();
    let has = |name: &str| pairs.iter().any(|(k, _)| k == name);
    wanted.query_pairs().iter().all(|p| pairs.contains(p)) && has("state") && (has("code") || has("error"))
}

/// The parameters an authorization response adds to the redirect URI
/// (RFC 6749 §4.1.2, §4.1.2.1, RFC 9207, and the `session_state` of OpenID
/// Connect Session Management): what leaves the address bar once the code is spent.
const RESPONSE_ADDS: &[&str] = &[
    "code",
    "state",
    "iss",
    "error",
    "error_description",
    "error_uri",
    "session_state",
];

/// The address (path, query and fragment) of `href` without the
/// authorization response's parameters; the app's own parameters stay as
/// they were written.
pub fn address_without_response(href: &str) -> Option<String> {
    let u = Uri::parse(href)?;
    // (Names read as the callback reads them, decoded: `c%6Fde` is `code`.)
    let kept: Vec<&str> = u
        .query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| {
            let name = crate::uri::form_decode(pair.split('=').next().unwrap_or_default());
            !pair.is_empty() && !RESPONSE_ADDS.contains(&name.as_str())
        })
        .collect();
    let mut out = u.browser_path().unwrap_or_else(|| u.path.to_string());
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(f) = u.fragment {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}

/// Where to show after a login, from the app's `appState.returnTo`: a place
/// of the page's own origin (`here`), as the address to put in the bar, or
/// `None`. Absolute URLs must have the page's origin; otherwise only a path
/// (`/orders`, not `//host` or `/\host`, which a browser reads as another
/// origin), a query or a fragment, and no control character or space (a
/// browser drops tabs and newlines: `/\t/host` is `//host`).
pub fn return_address(return_to: &str, here: &str) -> Option<String> {
    // A path the page itself has, such as `https://app.example//host`,
    // written into the bar as `//host` would name another origin.
    address_for(return_to, here).filter(|a| !matches!(a.as_bytes(), [b'/', b'/' | b'\\', ..]))
}

fn address_for(return_to: &str, here: &str) -> Option<String> {
    let here = Uri::parse(here)?;
    if let Some(to) = Uri::parse(return_to) {
        if to.origin().is_none() || to.origin() != here.origin() {
            return None;
        }
        let mut out = to.browser_path()?;
        for (mark, part) in [("?", to.query), ("#", to.fragment)] {
            if let Some(p) = part {
                out.push_str(mark);
                out.push_str(p);
            }
        }
        return Some(out);
    }
    if return_to.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return None;
    }
    let path = here.browser_path()?;
    let query = here.query.map(|q| ["?", q].concat()).unwrap_or_default();
    match return_to.as_bytes() {
        [b'/', ..] => Some(return_to.to_string()),
        [b'?', ..] => Some([path.as_str(), return_to].concat()),
        [b'#', ..] => Some([path.as_str(), &query, return_to].concat()),
        _ => None,
    }
}

/// The provider's answers to `prompt=none` that mean "not without the user"
/// (OIDC Core §3.1.2.6).
const SILENT_REFUSALS: &[&str] = &[
    "login_required",
    "interaction_required",
    "consent_required",
    "account_selection_required",
];

/// Whether silent authentication's failure `e` is the provider saying that
/// the End-User must interact (an answer, not a fault: `checkSession` gives
/// `false`). Only the provider's own error counts: a `login_required` of this
/// library (a renewal for another user) keeps its reason.
pub fn user_must_interact(e: &AuthError) -> bool {
    e.server().is_some() && SILENT_REFUSALS.contains(&e.code())
}

/// Checks a response against the pending login it was matched to (by `state`)
/// and yields the code to exchange.
pub fn validate_authorization_response(
    response: AuthorizationResponse,
    tx: &Transaction,
    expected_issuer: &str,
    iss_parameter_supported: bool,
) -> Result<AuthorizationCode> {
    if tx.issuer != expected_issuer {
        return Err(AuthError::new(
            code::ISSUER_MISMATCH,
            "the pending login was started with another issuer than this client's",
        ));
    }
    match &response.iss {
        // RFC 9207 §2.4: "If the value does not match the expected issuer
        // identifier, clients MUST reject the authorization response and MUST
        // NOT proceed with the authorization grant."
        Some(iss) if iss != expected_issuer => {
            return Err(AuthError::new(
                code::ISSUER_MISMATCH,
                msg!(
                    "the callback's `iss` {} is not the issuer {} (RFC 9207)",
                    crate::json::quote(iss),
                    crate::json::quote(expected_issuer)
                ),
            ))
        }
        // RFC 9207 §2.4: "Clients MUST reject authorization responses without
        // the iss parameter from authorization servers that do support the parameter."
        None if iss_parameter_supported => {
            return Err(AuthError::new(
                code::ISSUER_MISMATCH,
                "the callback has no `iss`, yet the provider says it always sends one (RFC 9207)",
            ))
        }
        _ => {}
    }
    match response.outcome {
        Outcome::Code(c) => Ok(c),
        Outcome::Error(e) => Err(AuthError::from_server(e, None, code::INVALID_CALLBACK)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pkce::CodeVerifier;

    const ISS: &str = "https://id.example.com";

    fn tx() -> Transaction {
        Transaction {
            client_id: "app".into(),
            issuer: ISS.into(),
            redirect_uri: "https://app/cb".into(),
            state: "s".repeat(43),
            nonce: "n".repeat(43),
            code_verifier: CodeVerifier::from_random_bytes(&[0; 32]),
            scope: "openid".into(),
            audience: None,
            max_age: None,
            app_state: None,
            created_at_ms: 0,
            dpop_jkt: None,
        }
    }

    #[test]
    fn reads_code_state_and_iss_from_http_and_custom_schemes() {
        for url in [
            "https://app.example.com/cb?code=abc%2Bdef&state=xyz&iss=https%3A%2F%2Fid.example.com",
            "com.example.app://callback?code=abc%2Bdef&state=xyz&iss=https%3A%2F%2Fid.example.com#",
        ] {
            let r = parse_callback_url(url).unwrap();
            assert_eq!(r.outcome, Outcome::Code(AuthorizationCode::new("abc+def")));
            assert_eq!(r.state.as_deref(), Some("xyz"));
            assert_eq!(r.iss.as_deref(), Some(ISS));
        }
    }

    #[test]
    fn a_response_is_recognised_at_the_redirect_uri_by_its_parsed_url() {
        let yes = [
            ("https://app.example/cb?code=c&state=s", "https://app.example/cb"),
            (
                "https://APP.example:443/cb?state=s&error=access_denied",
                "https://app.example/cb",
            ),
            (
                "https://app.example/cb?from=popup&code=c&state=s",
                "https://app.example/cb?from=popup",
            ),
            (
                "https://app.example/cb?code=c&from=popup&state=s",
                "https://app.example/cb?from=popup",
            ),
            ("https://app.example/?code=c&state=s", "https://app.example/"),
            ("https://app.example/?code=c&state=s", "https://app.example"),
            (
                "http://127.0.0.1:8080/a/../cb?code=c&state=s",
                "http://127.0.0.1:8080/cb",
            ),
            (
                "com.example.app://callback?code=c&state=s",
                "com.example.app://callback",
            ),
        ];
        for (url, redirect) in yes {
            assert!(is_response_at(url, redirect), "{url} at {redirect}");
        }
        let no = [
            // Another page of the origin, for a root redirect URI.
            ("https://app.example/other?code=c&state=s", "https://app.example/"),
            ("https://app.example/other?x=1", "https://app.example"),
            // The redirect URI's own query is missing or different.
            (
                "https://app.example/cb?code=c&state=s",
                "https://app.example/cb?from=popup",
            ),
            (
                "https://app.example/cb?from=tab&code=c",
                "https://app.example/cb?from=popup",
            ),
            // A longer path that starts with the redirect URI's.
            ("https://app.example/cb/x?code=c", "https://app.example/cb"),
            ("https://app.example/cbx?code=c", "https://app.example/cb"),
            // Not a response yet.
            ("https://app.example/cb", "https://app.example/cb"),
            (
                "https://app.example/cb?from=popup",
                "https://app.example/cb?from=popup",
            ),
            // Another origin.
            ("https://evil.example/cb?code=c&state=s", "https://app.example/cb"),
            ("http://app.example/cb?code=c&state=s", "https://app.example/cb"),
            (
                "https://app.example:8443/cb?code=c&state=s",
                "https://app.example/cb",
            ),
            ("about:blank", "https://app.example/cb"),
            (
                "com.example.app://other?code=c&state=s",
                "com.example.app://callback",
            ),
            // RFC 6749 §4.1.2: `code` and `state`, or `error` and `state`;
            // one alone is the app's own parameter (a root redirect URI).
            ("https://app.example/?state=x", "https://app.example/"),
            ("https://app.example/?code=x", "https://app.example/"),
            ("https://app.example/?error=x", "https://app.example/"),
            ("https://app.example/?page=2&state=", "https://app.example/"),
        ];
        for (url, redirect) in no {
            assert!(!is_response_at(url, redirect), "{url} at {redirect}");
        }
        assert!(is_response_at(
            "https://app.example/?page=2&code=c&state=",
            "https://app.example/"
        ));
    }

    #[test]
    fn the_address_loses_the_response_and_keeps_the_apps_parameters() {
        for (href, want) in [
            (
                "https://app.example/cb?code=c&state=s&iss=https%3A%2F%2Fid",
                "/cb",
            ),
            ("https://app.example/?tab=2&code=c&state=s#top", "/?tab=2#top"),
            (
                "https://app.example/x?a=b+c&error=access_denied&error_description=no&state=s&z=%2F",
                "/x?a=b+c&z=%2F",
            ),
            (
                "https://app.example/x?session_state=1&state=s&codes=1",
                "/x?codes=1",
            ),
            ("https://app.example", "/"),
            // Written as no provider writes them, read as the callback reads them.
            ("https://app.example/x?c%6Fde=c&st%61te=s&keep=1", "/x?keep=1"),
        ] {
            assert_eq!(address_without_response(href).as_deref(), Some(want), "{href}");
        }
        assert_eq!(address_without_response("not a url"), None);
    }

    #[test]
    fn return_to_stays_within_the_pages_origin_as_a_browser_reads_it() {
        let here = "https://app.example/cb?code=c&state=s";
        for (to, want) in [
            ("/orders", Some("/orders")),
            ("/orders?x=1#y", Some("/orders?x=1#y")),
            ("?tab=2", Some("/cb?tab=2")),
            ("#top", Some("/cb?code=c&state=s#top")),
            ("https://app.example/a/../b?q", Some("/b?q")),
            ("HTTPS://APP.EXAMPLE:443/b", Some("/b")),
            // Another origin, however it is written.
            ("https://evil.example/", None),
            ("http://app.example/b", None),
            ("//evil.example/x", None),
            ("/\\evil.example/x", None),
            ("/\t/evil.example", None),
            ("/\n/evil.example", None),
            ("https://app.example//evil.example/x", None),
            ("https://app.example/.//evil.example/x", None),
            ("javascript:alert(1)", None),
            ("data:text/html,x", None),
            ("orders", None),
            ("", None),
        ] {
            assert_eq!(return_address(to, here).as_deref(), want, "{to:?}");
        }
    }

    #[test]
    fn only_the_providers_refusals_mean_the_user_must_interact() {
        let server = |error: &str| {
            AuthError::from_server(
                ServerError {
                    error: error.into(),
                    error_description: None,
                    error_uri: None,
                },
                None,
                code::INVALID_CALLBACK,
            )
        };
        for e in [
            "login_required",
            "interaction_required",
            "consent_required",
            "account_selection_required",
        ] {
            assert!(user_must_interact(&server(e)), "{e}");
        }
        for e in ["access_denied", "server_error", "invalid_request"] {
            assert!(!user_must_interact(&server(e)), "{e}");
        }
        // The library's own login_required (a renewal for another user) is a refusal with a reason.
        let ours = AuthError::new(code::LOGIN_REQUIRED, "x").with_reason("sub");
        assert!(!user_must_interact(&ours));
    }

    #[test]
    fn reads_error_responses() {
        let r = parse_callback_url(
            "https://app/cb?error=access_denied&error_description=End-User+aborted&state=s",
        )
        .unwrap();
        match r.outcome {
            Outcome::Error(e) => {
                assert_eq!(e.error, "access_denied");
                assert_eq!(e.error_description.as_deref(), Some("End-User aborted"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_malformed_callbacks() {
        for url in [
            "/cb?code=1&state=2",
            "https://app/cb?state=2",
            "https://app/cb?code=&state=2",
            "https://app/cb?code=1&error=x&state=2",
            "https://app/cb?code=1&code=2&state=2",
            "https://app/cb?code=1&state=2&state=3",
            "https://app/cb?code=1&state=2&iss=a&iss=b",
            "https://app/cb?code=1&state=2&access_token=x",
            "https://app/cb?code=1&state=2#id_token=x",
            "https://app/cb#code=1&state=2",
        ] {
            assert_eq!(
                parse_callback_url(url).unwrap_err().code(),
                code::INVALID_CALLBACK,
                "{url}"
            );
        }
        assert!(parse_callback_url("https://app/cb#code=1&state=2")
            .unwrap_err()
            .message()
            .contains("fragment"));
    }

    #[test]
    fn iss_must_match_when_present_and_be_present_when_advertised() {
        let ok = |url: &str, supported| {
            validate_authorization_response(parse_callback_url(url).unwrap(), &tx(), ISS, supported)
        };
        assert_eq!(
            ok("https://app/cb?code=c&iss=https%3A%2F%2Fid.example.com", true)
                .unwrap()
                .expose(),
            "c"
        );
        assert_eq!(ok("https://app/cb?code=c", false).unwrap().expose(), "c");
        assert_eq!(
            ok("https://app/cb?code=c&iss=https%3A%2F%2Fevil", false)
                .unwrap_err()
                .code(),
            code::ISSUER_MISMATCH
        );
        assert_eq!(
            ok("https://app/cb?code=c&iss=https%3A%2F%2Fid.example.com%2F", true)
                .unwrap_err()
                .code(),
            code::ISSUER_MISMATCH
        );
        assert_eq!(
            ok("https://app/cb?code=c", true).unwrap_err().code(),
            code::ISSUER_MISMATCH
        );
        // A mix-up attacker's error response is refused for its issuer first.
        assert_eq!(
            ok("https://app/cb?error=access_denied&iss=https%3A%2F%2Fevil", false)
                .unwrap_err()
                .code(),
            code::ISSUER_MISMATCH
        );
    }

    #[test]
    fn error_responses_become_server_errors() {
        let r = parse_callback_url(
            "https://app/cb?error=access_denied&error_description=no&iss=https%3A%2F%2Fid.example.com",
        )
        .unwrap();
        let e = validate_authorization_response(r, &tx(), ISS, true).unwrap_err();
        assert_eq!(e.code(), "access_denied");
        assert_eq!(
            e.server().and_then(|s| s.error_description.as_deref()),
            Some("no")
        );
    }

    #[test]
    fn a_transaction_of_another_issuer_is_refused() {
        let r = parse_callback_url("https://app/cb?code=c").unwrap();
        let e = validate_authorization_response(r, &tx(), "https://other.example.com", false).unwrap_err();
        assert_eq!(e.code(), code::ISSUER_MISMATCH);
    }
}
