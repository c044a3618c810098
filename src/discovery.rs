//! The provider's endpoints: OpenID Connect Discovery 1.0, or Auth0's fixed paths.

use crate::config::{check_endpoint_url, ClientConfig, EndpointOverrides, ProviderSource};
use crate::error::{code, AuthError, Result};
use crate::json;

/// What the client needs from the provider's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub end_session_endpoint: Option<String>,
    /// RFC 7009: where tokens are revoked (logout revokes the refresh token there).
    pub revocation_endpoint: Option<String>,
    /// RFC 9126 §5: where authorization requests are pushed.
    pub pushed_authorization_request_endpoint: Option<String>,
    /// RFC 9126 §5: the provider accepts authorization requests only by PAR.
    pub require_pushed_authorization_requests: bool,
    /// RFC 9207 §3: the provider puts `iss` in every authorization response.
    pub authorization_response_iss_parameter_supported: bool,
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// RFC 9449 §5.1: the algorithms the provider takes DPoP proofs in.
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
}

/// OIDC Discovery §4: "If the Issuer value contains a path component, any
/// terminating / MUST be removed before appending /.well-known/openid-configuration."
pub fn discovery_url(issuer: &str) -> String {
    [issuer.trim_end_matches('/'), "/.well-known/openid-configuration"].concat()
}

fn invalid(message: impl Into<String>) -> AuthError {
    AuthError::new(code::INVALID_DISCOVERY, message)
}

/// Reads a discovery document fetched from [`discovery_url`] of `expected_issuer`.
pub fn parse_discovery_document(
    body: &str,
    expected_issuer: &str,
    allow_insecure: bool,
) -> Result<ProviderMetadata> {
    let doc = json::object(body).map_err(|e| {
        invalid(msg!(
            "the discovery document is not the JSON object it should be: {e}"
        ))
    })?;
    let mut m = json::Members::new(&doc);
    let issuer = m.text("issuer");
    let wrong = |name: &str| invalid(msg!("`{name}` in the discovery document is not of its type"));
    if let Some(name) = m.wrong() {
        return Err(wrong(name));
    }
    let issuer = issuer.ok_or_else(|| invalid("the discovery document has no `issuer`"))?;
    // OIDC Discovery §4.3: "The issuer value returned MUST be identical to the
    // Issuer URL that was used as the prefix to /.well-known/openid-configuration
    // to retrieve the configuration information."
    if issuer != expected_issuer {
        return Err(AuthError::new(
            code::ISSUER_MISMATCH,
            msg!(
                "the discovery document names issuer {}, not the configured {}",
                crate::json::quote(&issuer),
                crate::json::quote(expected_issuer)
            ),
        ));
    }
    // Every member read first (the first of a wrong type is the error), then judged.
    let methods = m.texts("code_challenge_methods_supported");
    let endpoints = ENDPOINTS.map(|name| m.text(name));
    let require_par = m.flag("require_pushed_authorization_requests");
    let iss_parameter = m.flag("authorization_response_iss_parameter_supported");
    let id_token_algs = m.texts("id_token_signing_alg_values_supported");
    let dpop_algs = m.texts("dpop_signing_alg_values_supported");
    if let Some(name) = m.wrong() {
        return Err(wrong(name));
    }
    if methods.is_some_and(|methods| !methods.iter().any(|m| m == crate::pkce::CODE_CHALLENGE_METHOD)) {
        return Err(invalid(
            "the provider does not support PKCE with S256 (code_challenge_methods_supported)",
        ));
    }
    for (i, (name, url)) in ENDPOINTS.iter().zip(&endpoints).enumerate() {
        match url {
            Some(url) => check_endpoint_url(url, &msg!("the discovered `{name}`"), allow_insecure)
                .map_err(|e| invalid(e.message().to_string()))?,
            // The authorization and token endpoints are required.
            None if i < 2 => return Err(invalid(msg!("the discovery document has no `{name}`"))),
            None => {}
        }
    }
    let [authorization_endpoint, token_endpoint, userinfo_endpoint, jwks_uri, end_session_endpoint, revocation_endpoint, pushed_authorization_request_endpoint] =
        endpoints;
    Ok(ProviderMetadata {
        issuer,
        authorization_endpoint: authorization_endpoint.unwrap_or_default(),
        token_endpoint: token_endpoint.unwrap_or_default(),
        userinfo_endpoint,
        jwks_uri,
        end_session_endpoint,
        revocation_endpoint,
        pushed_authorization_request_endpoint,
        require_pushed_authorization_requests: require_par,
        authorization_response_iss_parameter_supported: iss_parameter,
        id_token_signing_alg_values_supported: id_token_algs,
        dpop_signing_alg_values_supported: dpop_algs,
    })
}

/// The endpoints of a discovery document, in the order they are checked.
const ENDPOINTS: [&str; 7] = [
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "revocation_endpoint",
    "pushed_authorization_request_endpoint",
];

/// Auth0's endpoints for a tenant, without a discovery request.
pub fn auth0_metadata(issuer: &str) -> ProviderMetadata {
    // `issuer` ends with "/" (see config::auth0_issuer).
    ProviderMetadata {
        issuer: issuer.to_string(),
        authorization_endpoint: [issuer, "authorize"].concat(),
        token_endpoint: [issuer, "oauth/token"].concat(),
        userinfo_endpoint: Some([issuer, "userinfo"].concat()),
        jwks_uri: Some([issuer, ".well-known/jwks.json"].concat()),
        end_session_endpoint: Some([issuer, "v2/logout"].concat()),
        revocation_endpoint: Some([issuer, "oauth/revoke"].concat()),
        pushed_authorization_request_endpoint: Some([issuer, "oauth/par"].concat()),
        require_pushed_authorization_requests: false,
        // Auth0 does not send `iss` in authorization responses; when one is
        // present it is still checked.
        authorization_response_iss_parameter_supported: false,
        id_token_signing_alg_values_supported: Some(vec!["RS256".into()]),
        dpop_signing_alg_values_supported: None,
    }
}

/// The app's endpoint overrides win over discovered (or Auth0) ones.
pub fn apply_overrides(mut m: ProviderMetadata, o: &EndpointOverrides) -> ProviderMetadata {
    if let Some(v) = &o.authorization {
        m.authorization_endpoint = v.clone();
    }
    if let Some(v) = &o.token {
        m.token_endpoint = v.clone();
    }
    if let Some(v) = &o.userinfo {
        m.userinfo_endpoint = Some(v.clone());
    }
    if let Some(v) = &o.jwks {
        m.jwks_uri = Some(v.clone());
    }
    if let Some(v) = &o.end_session {
        m.end_session_endpoint = Some(v.clone());
    }
    if let Some(v) = &o.revocation {
        m.revocation_endpoint = Some(v.clone());
    }
    if let Some(v) = &o.pushed_authorization_request {
        m.pushed_authorization_request_endpoint = Some(v.clone());
    }
    m
}

/// Metadata from the overrides alone, when they give both login endpoints
/// (then discovery can wait).
pub fn metadata_from_overrides(config: &ClientConfig) -> Option<ProviderMetadata> {
    let o = &config.endpoints;
    Some(apply_overrides(
        ProviderMetadata {
            issuer: config.issuer().to_string(),
            authorization_endpoint: o.authorization.clone()?,
            token_endpoint: o.token.clone()?,
            userinfo_endpoint: None,
            jwks_uri: None,
            end_session_endpoint: None,
            revocation_endpoint: None,
            pushed_authorization_request_endpoint: None,
            require_pushed_authorization_requests: false,
            authorization_response_iss_parameter_supported: false,
            id_token_signing_alg_values_supported: None,
            dpop_signing_alg_values_supported: None,
        },
        o,
    ))
}

/// Metadata without a network request, when the configuration allows it.
pub fn static_metadata(config: &ClientConfig) -> Option<ProviderMetadata> {
    match &config.provider {
        ProviderSource::Auth0Domain { issuer } => {
            Some(apply_overrides(auth0_metadata(issuer), &config.endpoints))
        }
        ProviderSource::Issuer(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://id.example.com";

    fn doc(extra: &str) -> String {
        format!(
            r#"{{"issuer":"{ISS}","authorization_endpoint":"{ISS}/auth","token_endpoint":"{ISS}/token",
            "jwks_uri":"{ISS}/jwks","authorization_response_iss_parameter_supported":true{extra}}}"#
        )
    }

    #[test]
    fn discovery_url_drops_a_trailing_slash() {
        assert_eq!(
            discovery_url("https://a/"),
            "https://a/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://a/t/x"),
            "https://a/t/x/.well-known/openid-configuration"
        );
    }

    #[test]
    fn parses_a_document() {
        let m = parse_discovery_document(
            &doc(r#","code_challenge_methods_supported":["S256"]"#),
            ISS,
            false,
        )
        .unwrap();
        assert_eq!(m.authorization_endpoint, "https://id.example.com/auth");
        assert_eq!(m.token_endpoint, "https://id.example.com/token");
        assert!(m.authorization_response_iss_parameter_supported);
        assert_eq!(m.userinfo_endpoint, None);
    }

    #[test]
    fn issuer_must_be_identical() {
        let e = parse_discovery_document(&doc(""), "https://id.example.com/", false).unwrap_err();
        assert_eq!(e.code(), code::ISSUER_MISMATCH);
        let e = parse_discovery_document(&doc(""), "https://evil.example.com", false).unwrap_err();
        assert_eq!(e.code(), code::ISSUER_MISMATCH);
    }

    #[test]
    fn reads_every_member() {
        let extra = format!(
            r#","userinfo_endpoint":"{ISS}/me","end_session_endpoint":"{ISS}/end",
            "revocation_endpoint":"{ISS}/revoke","pushed_authorization_request_endpoint":"{ISS}/par",
            "require_pushed_authorization_requests":true,"id_token_signing_alg_values_supported":["ES256"],
            "dpop_signing_alg_values_supported":["ES256","RS256"]"#
        );
        let m = parse_discovery_document(&doc(&extra), ISS, false).unwrap();
        let at = |p: &str| Some(format!("{ISS}{p}"));
        assert_eq!(m.issuer, ISS);
        assert_eq!(m.userinfo_endpoint, at("/me"));
        assert_eq!(m.jwks_uri, at("/jwks"));
        assert_eq!(m.end_session_endpoint, at("/end"));
        assert_eq!(m.revocation_endpoint, at("/revoke"));
        assert_eq!(m.pushed_authorization_request_endpoint, at("/par"));
        assert!(m.require_pushed_authorization_requests);
        assert_eq!(
            m.id_token_signing_alg_values_supported,
            Some(vec!["ES256".into()])
        );
        assert_eq!(
            m.dpop_signing_alg_values_supported,
            Some(vec!["ES256".into(), "RS256".into()])
        );
    }

    #[test]
    fn names_the_member_of_a_wrong_type() {
        for (member, value) in [
            ("userinfo_endpoint", "7"),
            ("jwks_uri", "[\"x\"]"),
            ("pushed_authorization_request_endpoint", "{}"),
            ("require_pushed_authorization_requests", "\"yes\""),
            ("code_challenge_methods_supported", "\"S256\""),
            ("id_token_signing_alg_values_supported", "[1]"),
        ] {
            let e =
                parse_discovery_document(&doc(&format!(r#","{member}":{value}"#)), ISS, false).unwrap_err();
            assert_eq!(e.code(), code::INVALID_DISCOVERY, "{member}");
            assert!(
                e.message().contains(&format!("`{member}`")),
                "{member}: {}",
                e.message()
            );
        }
        // A wrong type is reported before a missing endpoint; an insecure
        // optional endpoint is refused like a required one.
        let body = format!(r#"{{"issuer":"{ISS}","token_endpoint":"{ISS}/t","jwks_uri":1}}"#);
        assert!(parse_discovery_document(&body, ISS, false)
            .unwrap_err()
            .message()
            .contains("`jwks_uri`"));
        let e = parse_discovery_document(
            &doc(r#","revocation_endpoint":"http://id.example.com/r""#),
            ISS,
            false,
        )
        .unwrap_err();
        assert_eq!(e.code(), code::INVALID_DISCOVERY);
        assert!(e.message().contains("revocation_endpoint"), "{}", e.message());
    }

    #[test]
    fn refuses_bad_documents() {
        let cases = [
            "not json".to_string(),
            "[]".to_string(),
            format!(r#"{{"issuer":"{ISS}","token_endpoint":"{ISS}/token"}}"#),
            format!(
                r#"{{"issuer":"{ISS}","authorization_endpoint":"javascript:alert(1)","token_endpoint":"{ISS}/t"}}"#
            ),
            format!(
                r#"{{"issuer":"{ISS}","authorization_endpoint":"http://id.example.com/a","token_endpoint":"{ISS}/t"}}"#
            ),
            doc(r#","code_challenge_methods_supported":["plain"]"#),
        ];
        for body in cases {
            assert_eq!(
                parse_discovery_document(&body, ISS, false).unwrap_err().code(),
                code::INVALID_DISCOVERY,
                "{body}"
            );
        }
    }

    #[test]
    fn auth0_paths() {
        let m = auth0_metadata("https://t.auth0.com/");
        assert_eq!(m.authorization_endpoint, "https://t.auth0.com/authorize");
        assert_eq!(m.token_endpoint, "https://t.auth0.com/oauth/token");
        assert_eq!(
            m.userinfo_endpoint.as_deref(),
            Some("https://t.auth0.com/userinfo")
        );
        assert_eq!(
            m.jwks_uri.as_deref(),
            Some("https://t.auth0.com/.well-known/jwks.json")
        );
        assert_eq!(
            m.end_session_endpoint.as_deref(),
            Some("https://t.auth0.com/v2/logout")
        );
    }

    #[test]
    fn overrides_win() {
        let o = EndpointOverrides {
            token: Some("https://proxy.example.com/token".into()),
            ..Default::default()
        };
        let m = apply_overrides(auth0_metadata("https://t.auth0.com/"), &o);
        assert_eq!(m.token_endpoint, "https://proxy.example.com/token");
        assert_eq!(m.authorization_endpoint, "https://t.auth0.com/authorize");
    }
}
