//! The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1).

use crate::config::{normalize_scope, ClientConfig};
use crate::discovery::ProviderMetadata;
use crate::error::{code, AuthError, Result};
use crate::pkce::{CodeVerifier, CODE_CHALLENGE_METHOD};
use crate::random;
use crate::transaction::Transaction;
use crate::uri::append_query;

/// The per-login options of `buildAuthorizeUrl` / `loginWithRedirect`.
#[derive(Clone, Debug, Default)]
pub struct AuthorizeOptions {
    /// The JSON text of the app's `appState` (set by the browser glue with
    /// `JSON.stringify`, so that it comes back exactly as given).
    pub app_state: Option<String>,
    pub scope: Option<String>,
    pub audience: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<f64>,
    pub login_hint: Option<String>,
    pub extra_params: Option<crate::json::Object>,
    /// More APIs the grant is to cover (RFC 8707 §2.1, `resource` once each):
    /// the client's `apis`, on a login in resource mode.
    pub apis: Vec<String>,
}

/// Parameters the library sets itself; `extraParams` may not touch them,
/// since each one is either a security property or has its own option.
const RESERVED: &[&str] = &[
    "response_type",
    "response_mode",
    "client_id",
    "redirect_uri",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "audience",
    // RFC 8707: the `audience` option and `apis` in resource mode.
    "resource",
    "prompt",
    "max_age",
    "login_hint",
    // RFC 9126 §4 / RFC 9101: the request object by reference or value.
    "request_uri",
    "request",
    // RFC 9449 §10: set by the `dpop` option, from the key this client holds.
    "dpop_jkt",
];

fn invalid(message: impl Into<String>) -> AuthError {
    AuthError::new(code::INVALID_CONFIG, message)
}

/// Makes a new transaction (fresh PKCE pair, `state`, `nonce`) and the URL
/// that starts it. The caller stores the transaction before navigating.
pub fn begin_authorization(
    config: &ClientConfig,
    metadata: &ProviderMetadata,
    opts: AuthorizeOptions,
    now_ms: u64,
) -> Result<(Transaction, String)> {
    let (tx, params) = authorization_request(config, opts, now_ms, None)?;
    let url = authorization_url(&metadata.authorization_endpoint, &params)?;
    Ok((tx, url))
}

/// The authorization endpoint with the request's parameters in its query.
pub fn authorization_url(endpoint: &str, params: &[(String, String)]) -> Result<String> {
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    append_query(endpoint, &params)
}

/// Makes a new transaction and the parameters of its authorization request,
/// to be sent in the URL or pushed (RFC 9126). `dpop_jkt`: the thumbprint of
/// the DPoP key that will sign the code exchange (RFC 9449 §10), which binds
/// the authorization code to it.
pub fn authorization_request(
    config: &ClientConfig,
    opts: AuthorizeOptions,
    now_ms: u64,
    dpop_jkt: Option<String>,
) -> Result<(Transaction, Vec<(String, String)>)> {
    let max_age = match opts.max_age {
        None => None,
        Some(s) if s.is_finite() && s >= 0.0 && s.fract() == 0.0 && s <= u32::MAX as f64 => Some(s as u64),
        Some(_) => return Err(invalid("`maxAge` must be a whole number of seconds")),
    };
    let extra = extra_params(opts.extra_params)?;
    let scope = opts
        .scope
        .map_or_else(|| config.scope.clone(), |s| normalize_scope(&s));
    let audience = opts
        .audience
        .filter(|a| !a.is_empty())
        .or_else(|| config.audience.clone());

    let tx = Transaction {
        client_id: config.client_id.clone(),
        issuer: config.issuer().to_string(),
        redirect_uri: config.redirect_uri.clone(),
        state: random::token()?,
        nonce: random::token()?,
        code_verifier: CodeVerifier::generate()?,
        scope,
        audience,
        max_age,
        app_state: opts.app_state,
        created_at_ms: now_ms,
        dpop_jkt,
    };
    let challenge = tx.code_verifier.challenge();
    let max_age_s = max_age.map(crate::json::decimal);

    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &tx.client_id),
        ("redirect_uri", &tx.redirect_uri),
        ("scope", &tx.scope),
        ("state", &tx.state),
        ("nonce", &tx.nonce),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", CODE_CHALLENGE_METHOD),
    ];
    if let Some(a) = &tx.audience {
        params.push((config.api_parameter.name(), a));
    }
    for api in opts.apis.iter().filter(|a| Some(*a) != tx.audience.as_ref()) {
        params.push(("resource", api));
    }
    if let Some(p) = opts.prompt.as_deref().filter(|p| !p.is_empty()) {
        params.push(("prompt", p));
    }
    if let Some(m) = &max_age_s {
        params.push(("max_age", m));
    }
    if let Some(h) = opts.login_hint.as_deref().filter(|h| !h.is_empty()) {
        params.push(("login_hint", h));
    }
    if let Some(j) = &tx.dpop_jkt {
        params.push(("dpop_jkt", j));
    }
    for (k, v) in &extra {
        params.push((k, v));
    }
    let params = params
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Ok((tx, params))
}

fn extra_params(extra: Option<crate::json::Object>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (k, v) in extra.unwrap_or_default() {
        if RESERVED.contains(&k.as_str()) {
            return Err(invalid(msg!(
                "`extraParams` cannot set {}: the library sets it (use the option of that name where there is one)",
                crate::json::quote(&k)
            )));
        }
        let v = match v {
            crate::json::Value::String(s) => s,
            crate::json::Value::Number(n) => n.as_text().to_string(),
            crate::json::Value::Bool(b) => if b { "true" } else { "false" }.to_string(),
            crate::json::Value::Null => continue,
            _ => {
                return Err(invalid(msg!(
                    "`extraParams.{k}` must be a string, number or boolean"
                )))
            }
        };
        out.push((k, v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientOptions;
    use crate::discovery::auth0_metadata;
    use crate::uri::Uri;

    fn config() -> ClientConfig {
        ClientConfig::from_options(ClientOptions {
            domain: Some("t.auth0.com".into()),
            client_id: Some("client 1".into()),
            redirect_uri: Some("com.example.app://callback".into()),
            audience: Some("https://api".into()),
            ..Default::default()
        })
        .unwrap()
    }

    fn params(url: &str) -> std::collections::BTreeMap<String, String> {
        Uri::parse(url).unwrap().query_pairs().into_iter().collect()
    }

    #[test]
    fn authorize_url_has_every_parameter() {
        let meta = auth0_metadata("https://t.auth0.com/");
        let opts = AuthorizeOptions {
            app_state: Some(r#"{"to":"/x"}"#.into()),
            prompt: Some("login".into()),
            max_age: Some(300.0),
            login_hint: Some("a@b.c".into()),
            extra_params: Some(
                [("ui_locales".to_string(), crate::json::Value::from("fr"))]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        };
        let (tx, url) = begin_authorization(&config(), &meta, opts, 42).unwrap();
        assert!(
            url.starts_with("https://t.auth0.com/authorize?response_type=code&"),
            "{url}"
        );
        let p = params(&url);
        assert_eq!(p["response_type"], "code");
        assert_eq!(p["client_id"], "client 1");
        assert_eq!(p["redirect_uri"], "com.example.app://callback");
        assert_eq!(p["scope"], "openid profile email");
        assert_eq!(p["state"], tx.state);
        assert_eq!(p["nonce"], tx.nonce);
        assert_eq!(p["code_challenge"], tx.code_verifier.challenge().as_str());
        assert_eq!(p["code_challenge_method"], "S256");
        assert_eq!(p["audience"], "https://api");
        assert_eq!(p["prompt"], "login");
        assert_eq!(p["max_age"], "300");
        assert_eq!(p["login_hint"], "a@b.c");
        assert_eq!(p["ui_locales"], "fr");
        assert!(
            !url.contains(tx.code_verifier.expose()),
            "the verifier must never leave the client"
        );
        assert_eq!(tx.max_age, Some(300));
        assert_eq!(tx.created_at_ms, 42);
        assert_eq!(tx.app_state.as_deref(), Some(r#"{"to":"/x"}"#));
        assert_ne!(tx.state, tx.nonce);
    }

    #[test]
    fn per_login_scope_and_audience_replace_the_defaults() {
        let meta = auth0_metadata("https://t.auth0.com/");
        let opts = AuthorizeOptions {
            scope: Some("offline_access".into()),
            audience: Some("https://other".into()),
            ..Default::default()
        };
        let (tx, url) = begin_authorization(&config(), &meta, opts, 0).unwrap();
        let p = params(&url);
        assert_eq!(p["scope"], "openid offline_access");
        assert_eq!(tx.scope, "openid offline_access");
        assert_eq!(p["audience"], "https://other");
    }

    #[test]
    fn extra_params_cannot_override_protocol_parameters() {
        let meta = auth0_metadata("https://t.auth0.com/");
        for k in [
            "state",
            "code_challenge_method",
            "redirect_uri",
            "response_mode",
            "nonce",
            "dpop_jkt",
        ] {
            let opts = AuthorizeOptions {
                extra_params: Some(
                    [(k.to_string(), crate::json::Value::from("x"))]
                        .into_iter()
                        .collect(),
                ),
                ..Default::default()
            };
            assert_eq!(
                begin_authorization(&config(), &meta, opts, 0).unwrap_err().code(),
                code::INVALID_CONFIG,
                "{k}"
            );
        }
        let nested = AuthorizeOptions {
            extra_params: Some(
                [("x".to_string(), crate::json::parse(r#"{"a": 1}"#).unwrap())]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        };
        assert!(begin_authorization(&config(), &meta, nested, 0).is_err());
        let bad_age = AuthorizeOptions {
            max_age: Some(-1.0),
            ..Default::default()
        };
        assert!(begin_authorization(&config(), &meta, bad_age, 0).is_err());
    }

    #[test]
    fn dpop_binds_the_code_to_the_key() {
        let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".to_string();
        let (tx, params) =
            authorization_request(&config(), AuthorizeOptions::default(), 0, Some(jkt.clone())).unwrap();
        assert_eq!(tx.dpop_jkt.as_ref(), Some(&jkt));
        assert!(params.contains(&("dpop_jkt".to_string(), jkt.clone())));
        let back = Transaction::from_stored(&tx.to_stored()).unwrap();
        assert_eq!(back.dpop_jkt, Some(jkt));
        let (tx, params) = authorization_request(&config(), AuthorizeOptions::default(), 0, None).unwrap();
        assert_eq!(tx.dpop_jkt, None);
        assert!(params.iter().all(|(k, _)| k != "dpop_jkt"));
    }

    #[test]
    fn two_logins_differ() {
        let meta = auth0_metadata("https://t.auth0.com/");
        let (a, _) = begin_authorization(&config(), &meta, AuthorizeOptions::default(), 0).unwrap();
        let (b, _) = begin_authorization(&config(), &meta, AuthorizeOptions::default(), 0).unwrap();
        assert_ne!(a.state, b.state);
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.code_verifier, b.code_verifier);
        assert_ne!(a.transaction_storage_key(), b.transaction_storage_key());
    }
}
