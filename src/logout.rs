//! The logout URL: OpenID Connect RP-Initiated Logout 1.0, or Auth0's `/v2/logout`.

use crate::config::{ClientConfig, ProviderSource};
use crate::discovery::ProviderMetadata;
use crate::error::{code, AuthError, Result};
use crate::uri::{append_query, is_loopback_host, Uri};

/// Schemes that run or embed content rather than navigate: never a logout target,
/// even where a redirect URI (mis)uses one.
const SCRIPT_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "vbscript",
    "blob",
    "file",
    "about",
    "filesystem",
];

/// Where the browser may be sent after logout (`returnTo`). The value reaches
/// `location.assign` when the provider has no end-session endpoint, so it must
/// be a place, never script: an absolute `https:` URL; an `http:` URL on a
/// loopback host; a URL of the page's own origin; or a URL in the custom scheme
/// of `redirectUri` (`com.example.app://…`). Anything else is `invalid_config`.
pub fn check_return_to(return_to: &str, redirect_uri: &str, page_origin: Option<&str>) -> Result<()> {
    let refuse = || {
        AuthError::new(
            code::INVALID_CONFIG,
            "`returnTo` must be an absolute https URL, an http URL on loopback, a URL of this page's origin, \
             or a URL in the custom scheme of `redirectUri`",
        )
    };
    let uri = Uri::parse(return_to).ok_or_else(refuse)?;
    let scheme = uri.scheme.to_ascii_lowercase();
    if SCRIPT_SCHEMES.contains(&scheme.as_str()) {
        return Err(refuse());
    }
    if uri.is_http() {
        // (Uri::parse refuses what a browser would read as another host:
        // `http://evil.test\@localhost/` is never taken for loopback.)
        let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(refuse)?;
        if uri.has_userinfo() {
            return Err(refuse());
        }
        let page = page_origin.and_then(Uri::parse).and_then(|p| p.origin());
        let same_origin = page.is_some() && uri.origin() == page;
        if scheme == "https" || is_loopback_host(host) || same_origin {
            return Ok(());
        }
        return Err(refuse());
    }
    match Uri::parse(redirect_uri) {
        Some(r) if !r.is_http() && r.scheme.eq_ignore_ascii_case(&scheme) => Ok(()),
        _ => Err(refuse()),
    }
}

/// RP-Initiated Logout §2: `id_token_hint` ("RECOMMENDED"), `client_id`, and
/// `post_logout_redirect_uri` (which must be registered with the provider).
/// For an Auth0 `domain` with its default paths: `/v2/logout?client_id=…&returnTo=…`.
pub fn logout_url(
    config: &ClientConfig,
    metadata: &ProviderMetadata,
    id_token_hint: Option<&str>,
    return_to: Option<&str>,
    page_origin: Option<&str>,
) -> Result<String> {
    let endpoint = metadata.end_session_endpoint.as_deref().ok_or_else(|| {
        AuthError::new(
            code::INVALID_CONFIG,
            "the provider has no end_session_endpoint (set `endpoints.endSession`)",
        )
    })?;
    if let Some(r) = return_to {
        check_return_to(r, &config.redirect_uri, page_origin)?;
    }
    let auth0_v2 =
        matches!(config.provider, ProviderSource::Auth0Domain { .. }) && endpoint.ends_with("/v2/logout");
    let mut params: Vec<(&str, &str)> = vec![("client_id", &config.client_id)];
    if auth0_v2 {
        if let Some(r) = return_to {
            params.push(("returnTo", r));
        }
    } else {
        if let Some(h) = id_token_hint {
            params.push(("id_token_hint", h));
        }
        if let Some(r) = return_to {
            params.push(("post_logout_redirect_uri", r));
        }
    }
    append_query(endpoint, &params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientOptions;
    use crate::discovery::auth0_metadata;

    fn config(domain: bool) -> ClientConfig {
        ClientConfig::from_options(ClientOptions {
            issuer: (!domain).then(|| "https://id.example.com".into()),
            domain: domain.then(|| "t.auth0.com".into()),
            client_id: Some("app".into()),
            redirect_uri: Some("https://app/cb".into()),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn oidc_logout_has_the_hint_and_redirect() {
        let mut m = auth0_metadata("https://id.example.com/");
        m.end_session_endpoint = Some("https://id.example.com/session/end".into());
        let url = logout_url(&config(false), &m, Some("h.p.s"), Some("https://app/"), None).unwrap();
        assert_eq!(
            url,
            "https://id.example.com/session/end?client_id=app&id_token_hint=h.p.s&post_logout_redirect_uri=https%3A%2F%2Fapp%2F"
        );
    }

    #[test]
    fn auth0_v2_logout() {
        let m = auth0_metadata("https://t.auth0.com/");
        let url = logout_url(&config(true), &m, Some("h.p.s"), Some("https://app/"), None).unwrap();
        assert_eq!(
            url,
            "https://t.auth0.com/v2/logout?client_id=app&returnTo=https%3A%2F%2Fapp%2F"
        );
    }

    #[test]
    fn return_to_is_a_place_never_script() {
        let web = "https://app.example.com/cb";
        let app = "com.example.app://callback";
        let ok = [
            ("https://app.example.com/bye", web, None),
            ("HTTPS://elsewhere.example/", web, None),
            ("http://127.0.0.1:8080/", web, None),
            ("http://localhost/bye", web, None),
            ("http://[::1]:3000/", web, None),
            ("http://app.lan:8080/bye?x=1", web, Some("http://app.lan:8080")),
            ("HTTP://APP.lan:8080/bye", web, Some("http://app.lan:8080")),
            ("http://app.lan:80/bye", web, Some("http://app.lan")),
            ("com.example.app://logged-out", app, None),
            ("COM.EXAMPLE.APP:/bye", app, None),
        ];
        for (r, redirect, origin) in ok {
            assert!(check_return_to(r, redirect, origin).is_ok(), "{r}");
        }
        let refused = [
            ("javascript:alert(document.domain)", web, None),
            ("JavaScript:alert(1)", web, Some("https://app.example.com")),
            ("data:text/html,<script>alert(1)</script>", web, None),
            ("vbscript:msgbox(1)", web, None),
            (" javascript:alert(1)", web, None),
            ("java\tscript:alert(1)", web, None),
            ("http://evil.example/", web, Some("https://app.example.com")),
            ("http://app.lan:9999/", web, Some("http://app.lan:8080")),
            ("https:evil.example", web, None),
            ("https:///nohost", web, None),
            ("/relative", web, None),
            ("//evil.example/", web, None),
            ("com.example.app://x", web, None),
            ("com.evil.app://x", app, None),
            ("javascript:alert(1)", "javascript:void(0)", None),
            ("file:///etc/passwd", web, None),
            // What the browser reads as host evil.test, not loopback (WHATWG: `\` is `/`).
            ("http://evil.test\\@localhost/", web, None),
            ("http://evil.test\\.localhost/", web, None),
            (
                "http://evil.test\\@app.lan:8080/",
                web,
                Some("http://app.lan:8080"),
            ),
            ("http://localhost@evil.test/", web, None),
            ("http://user@localhost/", web, None),
            ("http://127.1/", web, None),
            ("http://local%68ost/", web, None),
        ];
        for (r, redirect, origin) in refused {
            assert_eq!(
                check_return_to(r, redirect, origin).unwrap_err().code(),
                code::INVALID_CONFIG,
                "{r}"
            );
        }
    }

    #[test]
    fn logout_url_refuses_a_script_return() {
        let mut m = auth0_metadata("https://id.example.com/");
        m.end_session_endpoint = Some("https://id.example.com/session/end".into());
        assert!(logout_url(&config(false), &m, None, Some("javascript:alert(1)"), None).is_err());
        assert!(logout_url(
            &config(true),
            &auth0_metadata("https://t.auth0.com/"),
            None,
            Some("data:,x"),
            None
        )
        .is_err());
    }

    #[test]
    fn refuses_without_endpoint_or_with_a_relative_return() {
        let mut m = auth0_metadata("https://id.example.com/");
        assert!(logout_url(&config(false), &m, None, Some("/home"), None).is_err());
        m.end_session_endpoint = None;
        assert_eq!(
            logout_url(&config(false), &m, None, None, None)
                .unwrap_err()
                .code(),
            code::INVALID_CONFIG
        );
    }
}
