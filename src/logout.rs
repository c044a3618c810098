//! The logout URL: OpenID Connect RP-Initiated Logout 1.0, or Auth0's `/v2/logout`.

use crate::config::{ClientConfig, ProviderSource};
use crate::discovery::ProviderMetadata;
use crate::error::{code, AuthError, Result};
use crate::uri::{append_query, Uri};

/// RP-Initiated Logout §2: `id_token_hint` ("RECOMMENDED"), `client_id`, and
/// `post_logout_redirect_uri` (which must be registered with the provider).
/// For an Auth0 `domain` with its default paths: `/v2/logout?client_id=…&returnTo=…`.
pub fn logout_url(
    config: &ClientConfig,
    metadata: &ProviderMetadata,
    id_token_hint: Option<&str>,
    return_to: Option<&str>,
) -> Result<String> {
    let endpoint = metadata.end_session_endpoint.as_deref().ok_or_else(|| {
        AuthError::new(
            code::INVALID_CONFIG,
            "the provider has no end_session_endpoint (set `endpoints.endSession`)",
        )
    })?;
    if let Some(r) = return_to {
        if Uri::parse(r).is_none() {
            return Err(AuthError::new(
                code::INVALID_CONFIG,
                "`returnTo` must be an absolute URL",
            ));
        }
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
        let url = logout_url(&config(false), &m, Some("h.p.s"), Some("https://app/")).unwrap();
        assert_eq!(
            url,
            "https://id.example.com/session/end?client_id=app&id_token_hint=h.p.s&post_logout_redirect_uri=https%3A%2F%2Fapp%2F"
        );
    }

    #[test]
    fn auth0_v2_logout() {
        let m = auth0_metadata("https://t.auth0.com/");
        let url = logout_url(&config(true), &m, Some("h.p.s"), Some("https://app/")).unwrap();
        assert_eq!(
            url,
            "https://t.auth0.com/v2/logout?client_id=app&returnTo=https%3A%2F%2Fapp%2F"
        );
    }

    #[test]
    fn refuses_without_endpoint_or_with_a_relative_return() {
        let mut m = auth0_metadata("https://id.example.com/");
        assert!(logout_url(&config(false), &m, None, Some("/home")).is_err());
        m.end_session_endpoint = None;
        assert_eq!(
            logout_url(&config(false), &m, None, None).unwrap_err().code(),
            code::INVALID_CONFIG
        );
    }
}
