//! Pushed authorization requests (RFC 9126): the authorization parameters go
//! to the provider in a POST from the page, and the browser is sent to the
//! authorization endpoint with only `client_id` and a `request_uri`.

use crate::config::ClientConfig;
use crate::discovery::ProviderMetadata;
use crate::error::{code, http_error, AuthError, Result};
use crate::token::TokenRequestEncoding;
use crate::token::{encode, TokenRequest};
use crate::uri::append_query;

/// The endpoint to push this client's authorization requests to, or `None`
/// when they go in the URL. Pushed when the app asks for it, and when the
/// provider says (RFC 9126 §5) `require_pushed_authorization_requests`:
/// "Indicates whether the authorization server accepts authorization request
/// data only via PAR."
pub fn pushed_request_endpoint<'a>(
    config: &ClientConfig,
    metadata: &'a ProviderMetadata,
) -> Result<Option<&'a str>> {
    if !config.pushed_authorization_requests && !metadata.require_pushed_authorization_requests {
        return Ok(None);
    }
    match metadata.pushed_authorization_request_endpoint.as_deref() {
        Some(endpoint) => Ok(Some(endpoint)),
        None if config.pushed_authorization_requests => Err(AuthError::new(
            code::INVALID_CONFIG,
            "`pushedAuthorizationRequests` is on but the provider has no pushed_authorization_request_endpoint (set `endpoints.pushedAuthorizationRequest`)",
        )),
        None => Err(AuthError::new(
            code::INVALID_DISCOVERY,
            "the provider requires pushed authorization requests but names no pushed_authorization_request_endpoint",
        )),
    }
}

/// RFC 9126 §2.1: "The client adds the parameters defined in [RFC 6749] … to
/// the message body using the application/x-www-form-urlencoded format". A
/// public client identifies itself with `client_id`, already among them.
pub fn pushed_authorization_request(endpoint: &str, params: &[(String, String)]) -> TokenRequest {
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    encode(endpoint, TokenRequestEncoding::Form, &params)
}

/// RFC 9126 §2.2: "If the verification is successful, the server MUST
/// generate a request URI and provide it in the response with a 201 HTTP
/// status code", with `request_uri` and `expires_in`; §2.3: an error is the
/// RFC 6749 §5.2 error body, whose `error` becomes the code.
pub fn parse_pushed_response(status: u16, body: &str) -> Result<String> {
    // 200 is accepted too: some servers answer it, and the body decides.
    if status != 201 && status != 200 {
        return Err(http_error(
            status,
            body,
            code::INVALID_PAR_RESPONSE,
            "pushed authorization request endpoint",
        ));
    }
    let invalid = |m: &'static str| AuthError::new(code::INVALID_PAR_RESPONSE, m).with_status(status);
    // Read as a JSON value, whose parser the library has anyway (a derived
    // struct costs more bytes in the module).
    let r = crate::json::parse(body)
        .map_err(|_| invalid("the pushed authorization response is not a JSON object"))?;
    let request_uri = r
        .get("request_uri")
        .and_then(crate::json::Value::as_str)
        .filter(|u| !u.is_empty() && u.len() <= 2048)
        .ok_or_else(|| invalid("the pushed authorization response has no `request_uri`"))?;
    // "expires_in: A JSON number that represents the lifetime of the request
    // URI in seconds as a positive integer."
    if r.get("expires_in")
        .and_then(crate::json::Value::as_u64)
        .is_none_or(|s| s == 0)
    {
        return Err(invalid(
            "the pushed authorization response has no positive whole `expires_in`",
        ));
    }
    Ok(request_uri.to_string())
}

/// RFC 9126 §4: the authorization request then carries `client_id` and the
/// `request_uri` alone.
pub fn authorization_url(authorization_endpoint: &str, client_id: &str, request_uri: &str) -> Result<String> {
    append_query(
        authorization_endpoint,
        &[("client_id", client_id), ("request_uri", request_uri)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ClientConfig, ClientOptions};
    use crate::discovery::auth0_metadata;

    fn config(par: bool) -> ClientConfig {
        ClientConfig::from_options(ClientOptions {
            issuer: Some("https://op.example".into()),
            client_id: Some("web".into()),
            redirect_uri: Some("https://app.example/cb".into()),
            pushed_authorization_requests: par,
            ..Default::default()
        })
        .unwrap()
    }

    fn metadata(endpoint: Option<&str>, required: bool) -> ProviderMetadata {
        let mut m = auth0_metadata("https://op.example/");
        m.pushed_authorization_request_endpoint = endpoint.map(str::to_string);
        m.require_pushed_authorization_requests = required;
        m
    }

    #[test]
    fn pushed_when_asked_or_required_and_only_then() {
        let m = metadata(Some("https://op.example/par"), false);
        assert_eq!(pushed_request_endpoint(&config(false), &m).unwrap(), None);
        assert_eq!(
            pushed_request_endpoint(&config(true), &m).unwrap(),
            Some("https://op.example/par")
        );
        let required = metadata(Some("https://op.example/par"), true);
        assert_eq!(
            pushed_request_endpoint(&config(false), &required).unwrap(),
            Some("https://op.example/par")
        );
        let none = metadata(None, false);
        assert_eq!(
            pushed_request_endpoint(&config(true), &none).unwrap_err().code(),
            "invalid_config"
        );
        let required_none = metadata(None, true);
        assert_eq!(
            pushed_request_endpoint(&config(false), &required_none)
                .unwrap_err()
                .code(),
            "invalid_discovery"
        );
    }

    #[test]
    fn the_request_is_form_encoded_and_the_url_carries_only_client_id_and_request_uri() {
        let req = pushed_authorization_request(
            "https://op.example/par",
            &[
                ("client_id".into(), "web".into()),
                ("scope".into(), "openid email".into()),
            ],
        );
        assert_eq!(req.content_type, "application/x-www-form-urlencoded");
        assert_eq!(req.body, "client_id=web&scope=openid+email");
        assert_eq!(
            authorization_url("https://op.example/auth", "web", "urn:ietf:params:oauth:request_uri:a b").unwrap(),
            "https://op.example/auth?client_id=web&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aa+b"
        );
    }

    #[test]
    fn a_created_response_gives_its_request_uri() {
        let body = r#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}"#;
        assert_eq!(
            parse_pushed_response(201, body).unwrap(),
            "urn:ietf:params:oauth:request_uri:abc"
        );
    }

    #[test]
    fn hostile_or_broken_responses_are_refused() {
        for body in [
            "",
            "[]",
            "not json",
            r#"{"expires_in":60}"#,
            r#"{"request_uri":"","expires_in":60}"#,
            r#"{"request_uri":"urn:x","expires_in":0}"#,
            r#"{"request_uri":"urn:x","expires_in":"60"}"#,
            r#"{"request_uri":"urn:x","expires_in":-1}"#,
            r#"{"request_uri":"urn:x"}"#,
            r#"{"request_uri":5,"expires_in":60}"#,
        ] {
            assert_eq!(
                parse_pushed_response(201, body).unwrap_err().code(),
                "invalid_par_response",
                "{body}"
            );
        }
        let long = format!(r#"{{"request_uri":"{}","expires_in":60}}"#, "u".repeat(5000));
        assert_eq!(
            parse_pushed_response(201, &long).unwrap_err().code(),
            "invalid_par_response"
        );
    }

    #[test]
    fn an_error_response_carries_the_servers_error() {
        let e = parse_pushed_response(
            400,
            r#"{"error":"invalid_request","error_description":"redirect_uri mismatch"}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        assert_eq!(e.status(), Some(400));
        let e = parse_pushed_response(502, "<html>bad gateway</html>").unwrap_err();
        assert_eq!(e.code(), "invalid_par_response");
        assert_eq!(e.status(), Some(502));
    }
}
