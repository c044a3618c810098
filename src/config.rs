//! The client's options, validated once when the client is created.

use crate::error::{code, AuthError, Result};
use crate::id_token::DEFAULT_LEEWAY_S;
use crate::id_token::SUPPORTED_ALGS;
use crate::jwks::MAX_KEY_SET_MAX_AGE_S;
use crate::token::{TokenRequestEncoding, DEFAULT_EXPIRES_IN_S};
use crate::uri::{is_loopback_host, parse_http_url, Uri};

pub const DEFAULT_SCOPE: &str = "openid profile email";
pub const DEFAULT_HTTP_TIMEOUT_MS: u32 = 10_000;
/// How long silent authentication (`checkSession`) may take by default.
pub const DEFAULT_SILENT_TIMEOUT_MS: u32 = 10_000;
/// How long `loginWithPopup` waits for the user by default: 5 minutes.
pub const DEFAULT_POPUP_TIMEOUT_MS: u32 = 300_000;
const MAX_HTTP_TIMEOUT_MS: f64 = 600_000.0;
const MAX_LEEWAY_S: f64 = 3600.0;
const MAX_DEFAULT_EXPIRES_IN_S: f64 = 31_536_000.0;

/// The options as the app gives them (`createAuthClient(options)`).
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    pub issuer: Option<String>,
    pub domain: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub audience: Option<String>,
    pub token_request_encoding: Option<String>,
    pub http_timeout_ms: Option<f64>,
    pub endpoints: EndpointOverrides,
    pub allow_insecure_requests: bool,
    /// Clock-skew allowance for ID token times, in seconds.
    pub leeway: Option<f64>,
    /// Signing algorithms to accept for ID tokens (default: the provider's list, else RS256).
    pub id_token_signing_algs: Option<Vec<String>>,
    /// Seconds a fetched key set may be used at most (default: the response's
    /// `Cache-Control: max-age`, else 600; never more than 86400).
    pub jwks_max_age: Option<f64>,
    /// Seconds an access token lives when the token response has no `expires_in`.
    pub default_expires_in: Option<f64>,
    /// Milliseconds silent authentication (`checkSession`) may take.
    pub silent_timeout_ms: Option<f64>,
    /// Send the authorization parameters by pushed authorization request (RFC 9126).
    pub pushed_authorization_requests: bool,
    /// Bind the tokens to a key of this browser (DPoP, RFC 9449).
    pub dpop: bool,
    /// Audiences an ID token may have besides the client id (OIDC Core
    /// §3.1.3.7 step 3: "additional audiences not trusted by the Client").
    pub trusted_audiences: Option<Vec<String>>,
    /// `getTokens()` includes the refresh token (for apps that hand it to native code).
    pub expose_refresh_token: bool,
    /// How an API is named to the provider: `"audience"` (default) or `"resource"` (RFC 8707).
    pub api_parameter: Option<String>,
    /// The other APIs the app asks tokens for; with `"resource"`, asked for at
    /// login (RFC 8707 §2.1) so that the refresh token covers them.
    pub apis: Option<Vec<String>>,
}

/// Endpoints the app sets itself, in place of discovered ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointOverrides {
    pub authorization: Option<String>,
    pub token: Option<String>,
    pub userinfo: Option<String>,
    pub jwks: Option<String>,
    pub end_session: Option<String>,
    pub revocation: Option<String>,
    /// RFC 9126 pushed authorization requests.
    pub pushed_authorization_request: Option<String>,
}

/// Where the provider's endpoints come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderSource {
    /// OpenID Connect Discovery from the issuer.
    Issuer(String),
    /// An Auth0 tenant: issuer `https://{domain}/` and Auth0's fixed paths, no discovery.
    Auth0Domain { issuer: String },
}

/// The built-in storages, for `transactionStorage` and `tokenStorage`
/// (which also take an adapter object, handled by the browser glue).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageKind {
    Session,
    Local,
    Memory,
}

/// Validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    pub provider: ProviderSource,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub audience: Option<String>,
    pub token_request_encoding: TokenRequestEncoding,
    pub http_timeout_ms: u32,
    pub endpoints: EndpointOverrides,
    pub allow_insecure_requests: bool,
    pub leeway_s: u64,
    pub id_token_signing_algs: Option<Vec<String>>,
    /// The app's `jwksMaxAge`: caps (and, when the response says nothing, sets)
    /// how long a key set is used; see [`crate::jwks::key_set_lifetime_s`].
    pub jwks_max_age_s: Option<u64>,
    pub default_expires_in_s: u64,
    pub silent_timeout_ms: u32,
    /// The app asked for pushed authorization requests (RFC 9126); discovery
    /// may require them too, see [`crate::par::pushed_request_endpoint`].
    pub pushed_authorization_requests: bool,
    /// DPoP (RFC 9449): the tokens are bound to a key this browser holds; see [`crate::dpop`].
    pub dpop: bool,
    /// See [`ClientOptions::trusted_audiences`]; empty by default.
    pub trusted_audiences: Vec<String>,
    /// See [`ClientOptions::expose_refresh_token`].
    pub expose_refresh_token: bool,
    /// See [`ClientOptions::api_parameter`].
    pub api_parameter: ApiParameter,
    /// See [`ClientOptions::apis`].
    pub apis: Vec<String>,
}

fn invalid(message: impl Into<String>) -> AuthError {
    AuthError::new(code::INVALID_CONFIG, message)
}

fn non_empty(value: Option<String>, name: &str) -> Result<String> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(invalid(msg!("`{name}` is required"))),
    }
}

impl ClientConfig {
    pub fn from_options(o: ClientOptions) -> Result<Self> {
        let allow_insecure = o.allow_insecure_requests;
        let provider = match (o.issuer, o.domain) {
            (Some(issuer), None) => {
                check_endpoint_url(&issuer, "`issuer`", allow_insecure)?;
                ProviderSource::Issuer(issuer)
            }
            (None, Some(domain)) => ProviderSource::Auth0Domain {
                issuer: auth0_issuer(&domain, allow_insecure)?,
            },
            (Some(_), Some(_)) => return Err(invalid("give either `issuer` or `domain`, not both")),
            (None, None) => {
                return Err(invalid(
                    "`issuer` (an OpenID provider) or `domain` (Auth0) is required",
                ))
            }
        };
        let client_id = non_empty(o.client_id, "clientId")?;
        let redirect_uri = non_empty(o.redirect_uri, "redirectUri")?;
        check_redirect_uri(&redirect_uri)?;
        let scope = normalize_scope(o.scope.as_deref().unwrap_or(DEFAULT_SCOPE));
        let audience = o.audience.filter(|a| !a.is_empty());
        let token_request_encoding = match o.token_request_encoding.as_deref() {
            None | Some("form") => TokenRequestEncoding::Form,
            Some("json") => TokenRequestEncoding::Json,
            Some(other) => {
                return Err(invalid(msg!(
                    "`tokenRequestEncoding` must be \"form\" or \"json\", not {}",
                    crate::json::quote(other)
                )))
            }
        };
        let http_timeout_ms = match o.http_timeout_ms {
            None => DEFAULT_HTTP_TIMEOUT_MS,
            Some(ms) if (1.0..=MAX_HTTP_TIMEOUT_MS).contains(&ms) => ms.round() as u32,
            Some(_) => {
                return Err(invalid(
                    "`httpTimeoutMs` must be a number of milliseconds from 1 to 600000",
                ))
            }
        };
        let leeway_s = match o.leeway {
            None => DEFAULT_LEEWAY_S,
            Some(l) if (0.0..=MAX_LEEWAY_S).contains(&l) => l.round() as u64,
            Some(_) => return Err(invalid("`leeway` must be a number of seconds from 0 to 3600")),
        };
        let jwks_max_age_s = match o.jwks_max_age {
            None => None,
            Some(s) if (0.0..=MAX_KEY_SET_MAX_AGE_S as f64).contains(&s) => Some(s.round() as u64),
            Some(_) => {
                return Err(invalid(msg!(
                    "`jwksMaxAge` must be a number of seconds from 0 to {MAX_KEY_SET_MAX_AGE_S}"
                )))
            }
        };
        let default_expires_in_s = match o.default_expires_in {
            None => DEFAULT_EXPIRES_IN_S,
            Some(s) if (0.0..=MAX_DEFAULT_EXPIRES_IN_S).contains(&s) => s.round() as u64,
            Some(_) => {
                return Err(invalid(
                    "`defaultExpiresIn` must be a number of seconds from 0 to 31536000 (a year)",
                ))
            }
        };
        let silent_timeout_ms = match o.silent_timeout_ms {
            None => DEFAULT_SILENT_TIMEOUT_MS,
            Some(ms) if (1.0..=MAX_HTTP_TIMEOUT_MS).contains(&ms) => ms.round() as u32,
            Some(_) => {
                return Err(invalid(
                    "`silentTimeoutMs` must be a number of milliseconds from 1 to 600000",
                ))
            }
        };
        if let Some(algs) = &o.id_token_signing_algs {
            if let Some(bad) = algs.iter().find(|a| !SUPPORTED_ALGS.contains(&a.as_str())) {
                return Err(invalid(msg!(
                    "`idTokenSigningAlgs` may list only {}, not {}",
                    crate::json::quote_list(SUPPORTED_ALGS),
                    crate::json::quote(bad)
                )));
            }
            if algs.is_empty() {
                return Err(invalid("`idTokenSigningAlgs` must not be empty"));
            }
        }
        let trusted_audiences = o.trusted_audiences.unwrap_or_default();
        if trusted_audiences.iter().any(|a| a.is_empty()) {
            return Err(invalid("`trustedAudiences` must list non-empty strings"));
        }
        let api_parameter = ApiParameter::from_option(o.api_parameter.as_deref())?;
        let apis = o.apis.unwrap_or_default();
        if apis.iter().any(|a| a.is_empty()) {
            return Err(invalid("`apis` must list non-empty strings"));
        }
        if api_parameter == ApiParameter::Resource {
            for a in audience.iter().chain(&apis) {
                check_resource(a, "`audience` and each of `apis`")?;
            }
        }
        let e = &o.endpoints;
        for (value, name) in [
            (&e.authorization, "`endpoints.authorization`"),
            (&e.token, "`endpoints.token`"),
            (&e.userinfo, "`endpoints.userinfo`"),
            (&e.jwks, "`endpoints.jwks`"),
            (&e.end_session, "`endpoints.endSession`"),
            (&e.revocation, "`endpoints.revocation`"),
            (
                &e.pushed_authorization_request,
                "`endpoints.pushedAuthorizationRequest`",
            ),
        ] {
            if let Some(url) = value {
                check_endpoint_url(url, name, allow_insecure)?;
            }
        }
        Ok(ClientConfig {
            provider,
            client_id,
            redirect_uri,
            scope,
            audience,
            token_request_encoding,
            http_timeout_ms,
            endpoints: o.endpoints,
            allow_insecure_requests: allow_insecure,
            leeway_s,
            id_token_signing_algs: o.id_token_signing_algs,
            jwks_max_age_s,
            default_expires_in_s,
            silent_timeout_ms,
            pushed_authorization_requests: o.pushed_authorization_requests,
            dpop: o.dpop,
            trusted_audiences,
            expose_refresh_token: o.expose_refresh_token,
            api_parameter,
            apis,
        })
    }

    /// The issuer identifier every response is checked against.
    pub fn issuer(&self) -> &str {
        match &self.provider {
            ProviderSource::Issuer(i) => i,
            ProviderSource::Auth0Domain { issuer } => issuer,
        }
    }
}

/// The options `createAuthClient` knows; any other key is a typo to report.
pub const CLIENT_OPTIONS: &[&str] = &[
    "issuer",
    "domain",
    "clientId",
    "redirectUri",
    "scope",
    "audience",
    "tokenRequestEncoding",
    "transactionStorage",
    "tokenStorage",
    "httpTimeoutMs",
    "endpoints",
    "allowInsecureRequests",
    "leeway",
    "idTokenSigningAlgs",
    "jwksMaxAge",
    "defaultExpiresIn",
    "silentTimeoutMs",
    "pushedAuthorizationRequests",
    "dpop",
    "trustedAudiences",
    "exposeRefreshToken",
    "fetch",
    "apiParameter",
    "apis",
];

/// The members of `endpoints`.
pub const ENDPOINT_OPTIONS: &[&str] = &[
    "authorization",
    "token",
    "userinfo",
    "jwks",
    "endSession",
    "revocation",
    "pushedAuthorizationRequest",
];

/// The options of one login (`buildAuthorizeUrl`, `loginWithRedirect`).
pub const LOGIN_OPTIONS: &[&str] = &[
    "appState",
    "scope",
    "audience",
    "prompt",
    "maxAge",
    "loginHint",
    "extraParams",
    "openUrl",
    "timeoutMs",
];

/// Refuses a key that is not an option, naming the nearest one: an ignored
/// `redirect_uri` or `clientID` would otherwise surface as "`redirectUri` is
/// required", or not at all.
pub fn check_option_keys<'a>(
    keys: impl IntoIterator<Item = &'a str>,
    known: &[&str],
    what: &str,
) -> Result<()> {
    for key in keys {
        if known.contains(&key) {
            continue;
        }
        // The hint is part of the message (the production build has none).
        let hint = |key| match nearest_option(key, known) {
            Some(n) => format!("; did you mean `{n}`?"),
            None => format!("; the options are {}", known.join(", ")),
        };
        return Err(invalid(msg!("`{key}` is not an option of {what}{}", hint(key))));
    }
    Ok(())
}

/// The known option closest to `key`: the same letters but for case, `_` and
/// `-` (`redirect_uri`, `clientID`); else at most a third of its letters away,
/// or sharing its first six (`authorize` for `authorization`).
fn nearest_option<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    // ASCII only: option names are, and Unicode case tables cost ~10 KB of wasm.
    let fold = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let k = fold(key);
    let mut best: Option<(usize, &'k str)> = None;
    for &candidate in known {
        let c = fold(candidate);
        let prefix = k.iter().zip(&c).take_while(|(a, b)| a == b).count();
        let d = edit_distance(&k, &c);
        let near = d <= k.len().div_ceil(3) || prefix >= 6;
        if near && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// Reads a storage name; `None` is `"session"`.
pub fn parse_storage_kind(value: Option<&str>, name: &str) -> Result<StorageKind> {
    match value {
        None | Some("session") => Ok(StorageKind::Session),
        Some("local") => Ok(StorageKind::Local),
        Some("memory") => Ok(StorageKind::Memory),
        Some(other) => Err(invalid(msg!(
            "`{name}` must be \"session\", \"local\" or \"memory\", not {}",
            crate::json::quote(other)
        ))),
    }
}

/// RFC 9700 §2.6 and RFC 8252 §8.3: talk to the provider over TLS. Plain
/// `http` is accepted for loopback hosts (a provider on the developer's
/// machine), or everywhere with `allowInsecureRequests`.
pub fn check_endpoint_url(url: &str, what: &str, allow_insecure: bool) -> Result<()> {
    let uri = parse_http_url(url, what)?;
    let https = uri.scheme.eq_ignore_ascii_case("https");
    let loopback = uri.host().is_some_and(is_loopback_host);
    if https || loopback || allow_insecure {
        Ok(())
    } else {
        Err(invalid(msg!(
            "{what} must use https (http is allowed for loopback hosts, or with `allowInsecureRequests: true`)"
        )))
    }
}

fn check_redirect_uri(value: &str) -> Result<()> {
    let uri = Uri::parse(value)
        .ok_or_else(|| invalid("`redirectUri` must be an absolute URI (https://…, or a custom scheme such as com.example.app://callback)"))?;
    if uri.fragment.is_some() {
        // RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component."
        return Err(invalid(
            "`redirectUri` must not have a fragment (RFC 6749 §3.1.2)",
        ));
    }
    if uri.is_http() && uri.host().is_none_or(str::is_empty) {
        return Err(invalid("`redirectUri` must have a host"));
    }
    if uri.is_http() && uri.has_userinfo() {
        return Err(invalid(
            "`redirectUri` must not have a user name or password (`user@host`)",
        ));
    }
    Ok(())
}

/// Auth0's issuer for a tenant domain: `https://{domain}/`. The domain is a
/// host with an optional port; an `https://` prefix is tolerated, and `http://`
/// only for loopback hosts or with `allowInsecureRequests` (a local stand-in).
pub fn auth0_issuer(domain: &str, allow_insecure: bool) -> Result<String> {
    let domain = domain.trim();
    if domain.is_empty() || domain.contains(char::is_whitespace) {
        return Err(invalid(
            "`domain` must be a host name such as tenant.auth0.com (a port is allowed)",
        ));
    }
    let with_scheme = if crate::uri::contains(domain, "://") {
        domain.trim_end_matches('/').to_string()
    } else {
        ["https://", domain.trim_end_matches('/')].concat()
    };
    let uri = parse_http_url(&with_scheme, "`domain`")?;
    if !uri.path.is_empty() || uri.query.is_some() || uri.fragment.is_some() {
        return Err(invalid(
            "`domain` must be a host name such as tenant.auth0.com (a port is allowed)",
        ));
    }
    check_endpoint_url(&with_scheme, "`domain`", allow_insecure)?;
    Ok(with_scheme + "/")
}

/// Space-separated, each scope once, `openid` always first: this is an
/// OpenID Connect client (OIDC Core §3.1.2.1: "OpenID Connect requests MUST
/// contain the openid scope value").
pub fn normalize_scope(scope: &str) -> String {
    let mut out: Vec<&str> = vec!["openid"];
    for s in scope.split_ascii_whitespace() {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}

/// The request parameter that names an API to the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiParameter {
    /// `audience`: Auth0's (its multi-resource refresh tokens take it on the refresh grant too).
    Audience,
    /// `resource`: RFC 8707 resource indicators, in the authorization request
    /// (§2.1: the grant covers them) and in token requests (§2.2: the token is for that one).
    Resource,
}

impl ApiParameter {
    pub fn name(self) -> &'static str {
        match self {
            ApiParameter::Audience => "audience",
            ApiParameter::Resource => "resource",
        }
    }

    /// The app's `apiParameter`.
    pub fn from_option(value: Option<&str>) -> Result<ApiParameter> {
        match value {
            None | Some("audience") => Ok(ApiParameter::Audience),
            Some("resource") => Ok(ApiParameter::Resource),
            Some(other) => Err(AuthError::new(
                code::INVALID_CONFIG,
                msg!(
                    "`apiParameter` must be \"audience\" or \"resource\", not {}",
                    crate::json::quote(other)
                ),
            )),
        }
    }
}

/// RFC 8707 §2: "The value of the resource parameter MUST be an absolute URI
/// ... MUST NOT include a fragment component."
pub fn check_resource(value: &str, name: &str) -> Result<()> {
    let ok = crate::uri::Uri::parse(value).is_some_and(|u| u.fragment.is_none());
    if ok {
        Ok(())
    } else {
        Err(AuthError::new(
            code::INVALID_CONFIG,
            msg!(
                "{name} must be an absolute URI without a fragment (RFC 8707 resource indicators), not {}",
                crate::json::quote(value)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ClientOptions {
        ClientOptions {
            issuer: Some("https://id.example.com".into()),
            client_id: Some("app".into()),
            redirect_uri: Some("https://app.example.com/callback".into()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults() {
        let c = ClientConfig::from_options(opts()).unwrap();
        assert_eq!(c.scope, "openid profile email");
        assert_eq!(c.token_request_encoding, TokenRequestEncoding::Form);
        assert_eq!(c.http_timeout_ms, 10_000);
        assert_eq!(c.leeway_s, 60);
        assert_eq!(c.issuer(), "https://id.example.com");
        assert_eq!(c.jwks_max_age_s, None);
        assert_eq!(c.default_expires_in_s, 3600);
        assert_eq!(c.silent_timeout_ms, 10_000);
    }

    #[test]
    fn unknown_options_name_the_nearest_known_one() {
        let msg = |keys: &[&str]| {
            check_option_keys(keys.iter().copied(), CLIENT_OPTIONS, "createAuthClient")
                .unwrap_err()
                .message()
                .to_string()
        };
        assert!(check_option_keys(["issuer", "clientId", "redirectUri"], CLIENT_OPTIONS, "x").is_ok());
        for (typo, want) in [
            ("redirect_uri", "redirectUri"),
            ("clientID", "clientId"),
            ("client_id", "clientId"),
            ("redirectURI", "redirectUri"),
            ("tokenstorage", "tokenStorage"),
            ("isuer", "issuer"),
            ("httpTimeout", "httpTimeoutMs"),
            ("idTokenSigningAlg", "idTokenSigningAlgs"),
        ] {
            let m = msg(&["issuer", typo]);
            assert!(
                m.contains(&format!("`{typo}`")) && m.contains(&format!("`{want}`")),
                "{typo}: {m}"
            );
        }
        // Nothing near: the list of options instead.
        let m = msg(&["somethingElse"]);
        assert!(m.contains("the options are issuer, domain"), "{m}");
        let e = check_option_keys(["authorize"], ENDPOINT_OPTIONS, "`endpoints`").unwrap_err();
        assert_eq!(e.code(), code::INVALID_CONFIG);
        assert!(
            e.message().contains("did you mean `authorization`?"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn an_empty_domain_is_called_a_host() {
        for d in ["", "  ", "tenant auth0.com"] {
            let e = auth0_issuer(d, false).unwrap_err();
            assert!(e.message().contains("host name"), "{d:?}: {}", e.message());
        }
    }

    #[test]
    fn lifetimes_are_checked() {
        let with = |jwks: Option<f64>, expires: Option<f64>| {
            ClientConfig::from_options(ClientOptions {
                jwks_max_age: jwks,
                default_expires_in: expires,
                ..opts()
            })
        };
        let c = with(Some(30.0), Some(120.0)).unwrap();
        assert_eq!((c.jwks_max_age_s, c.default_expires_in_s), (Some(30), 120));
        assert_eq!(with(Some(0.0), None).unwrap().jwks_max_age_s, Some(0));
        for (j, e) in [
            (Some(86_401.0), None),
            (Some(-1.0), None),
            (None, Some(-1.0)),
            (None, Some(4e7)),
        ] {
            assert_eq!(
                with(j, e).unwrap_err().code(),
                code::INVALID_CONFIG,
                "{j:?} {e:?}"
            );
        }
    }

    #[test]
    fn required_and_exclusive_fields() {
        let err = |o: ClientOptions| ClientConfig::from_options(o).unwrap_err();
        assert_eq!(
            err(ClientOptions {
                client_id: None,
                ..opts()
            })
            .code(),
            code::INVALID_CONFIG
        );
        assert_eq!(
            err(ClientOptions {
                redirect_uri: Some(" ".into()),
                ..opts()
            })
            .code(),
            code::INVALID_CONFIG
        );
        assert_eq!(
            err(ClientOptions {
                issuer: None,
                ..opts()
            })
            .code(),
            code::INVALID_CONFIG
        );
        let both = ClientOptions {
            domain: Some("t.auth0.com".into()),
            ..opts()
        };
        assert!(err(both).message().contains("not both"));
    }

    #[test]
    fn bad_values_are_refused() {
        let cases = [
            ClientOptions {
                redirect_uri: Some("/callback".into()),
                ..opts()
            },
            ClientOptions {
                redirect_uri: Some("https://app/cb#x".into()),
                ..opts()
            },
            ClientOptions {
                issuer: Some("not a url".into()),
                ..opts()
            },
            ClientOptions {
                token_request_encoding: Some("xml".into()),
                ..opts()
            },
            ClientOptions {
                http_timeout_ms: Some(0.0),
                ..opts()
            },
            ClientOptions {
                http_timeout_ms: Some(f64::NAN),
                ..opts()
            },
            ClientOptions {
                endpoints: EndpointOverrides {
                    token: Some("nope".into()),
                    ..Default::default()
                },
                ..opts()
            },
        ];
        for o in cases {
            let shown = format!("{o:?}");
            assert_eq!(
                ClientConfig::from_options(o).unwrap_err().code(),
                code::INVALID_CONFIG,
                "{shown}"
            );
        }
    }

    #[test]
    fn https_is_required_except_for_loopback_or_when_allowed() {
        let http = ClientOptions {
            issuer: Some("http://id.example.com".into()),
            ..opts()
        };
        assert!(ClientConfig::from_options(http.clone())
            .unwrap_err()
            .message()
            .contains("https"));
        assert!(ClientConfig::from_options(ClientOptions {
            allow_insecure_requests: true,
            ..http
        })
        .is_ok());
        for ok in [
            "http://127.0.0.1:3000",
            "http://localhost:3000",
            "http://[::1]:3000",
        ] {
            assert!(
                ClientConfig::from_options(ClientOptions {
                    issuer: Some(ok.into()),
                    ..opts()
                })
                .is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn custom_scheme_redirect_uris_are_accepted() {
        for r in [
            "com.example.app://callback",
            "com.example.app:/oauth2redirect",
            "http://127.0.0.1:8080/cb",
        ] {
            let c = ClientConfig::from_options(ClientOptions {
                redirect_uri: Some(r.into()),
                ..opts()
            })
            .unwrap();
            assert_eq!(c.redirect_uri, r);
        }
    }

    #[test]
    fn urls_a_browser_reads_as_another_host_are_refused() {
        let endpoint = |token: &str| ClientOptions {
            endpoints: EndpointOverrides {
                token: Some(token.into()),
                ..Default::default()
            },
            ..opts()
        };
        let issuer = |i: &str| ClientOptions {
            issuer: Some(i.into()),
            ..opts()
        };
        let redirect = |r: &str| ClientOptions {
            redirect_uri: Some(r.into()),
            ..opts()
        };
        for (what, o) in [
            ("backslash @", endpoint("http://evil.test\\@127.0.0.1/token")),
            (
                "backslash .localhost",
                endpoint("http://evil.test\\.localhost/token"),
            ),
            ("userinfo", endpoint("https://user@as.example/token")),
            ("port", endpoint("http://127.0.0.1:99999/token")),
            ("percent host", endpoint("http://local%68ost/token")),
            ("short IPv4", endpoint("http://127.1/token")),
            ("tab", endpoint("https://as.example/to\tken")),
            ("issuer", issuer("http://evil.test\\@127.0.0.1:3000")),
            (
                "redirect backslash",
                redirect("http://evil.test\\@localhost/callback"),
            ),
            ("redirect userinfo", redirect("https://me@app.example/callback")),
        ] {
            assert_eq!(
                ClientConfig::from_options(o).unwrap_err().code(),
                code::INVALID_CONFIG,
                "{what}"
            );
        }
    }

    /// The option names are listed once, here ([`CLIENT_OPTIONS`]): the
    /// reader (src/wasm/), the types (js/index.d.ts) and the user
    /// guide's table (js/README.md) name each of them, and no other.
    #[test]
    fn every_option_is_read_typed_and_documented() {
        let reader = [include_str!("wasm/convert.rs"), include_str!("wasm/mod.rs")].concat();
        let types = include_str!("../js/index.d.ts");
        let guide = include_str!("../js/README.md");
        let options_type = types
            .split("export type AuthClientOptions")
            .nth(1)
            .and_then(|t| t.split("\n};").next())
            .unwrap();
        for name in CLIENT_OPTIONS {
            assert!(
                reader.contains(&format!("\"{name}\"")),
                "the reader does not read {name}"
            );
            assert!(
                options_type.contains(&format!(" {name}?:")) || options_type.contains(&format!(" {name}:")),
                "index.d.ts does not type {name}"
            );
            assert!(
                guide.contains(&format!("| `{name}`")) || guide.contains(&format!(", `{name}` |")),
                "js/README.md does not document {name}"
            );
        }
        // Every member of the type is an option.
        for line in options_type.lines() {
            let member = line.trim().split(['?', ':']).next().unwrap_or_default();
            let is_member = line.starts_with("  ")
                && !line
                    .trim_start()
                    .starts_with(['/', '*', '|', '&', '(', ')', '{', '}']);
            if is_member && !member.is_empty() && line.contains(':') {
                assert!(
                    CLIENT_OPTIONS.contains(&member) || ENDPOINT_OPTIONS.contains(&member),
                    "index.d.ts types {member}, which is not an option"
                );
            }
        }
    }

    #[test]
    fn auth0_domain_gives_its_issuer() {
        assert_eq!(
            auth0_issuer("tenant.auth0.com", false).unwrap(),
            "https://tenant.auth0.com/"
        );
        assert_eq!(
            auth0_issuer("https://tenant.auth0.com/", false).unwrap(),
            "https://tenant.auth0.com/"
        );
        assert_eq!(
            auth0_issuer("login.example.com:8443", false).unwrap(),
            "https://login.example.com:8443/"
        );
        assert_eq!(
            auth0_issuer("http://127.0.0.1:3000", false).unwrap(),
            "http://127.0.0.1:3000/"
        );
        assert!(auth0_issuer("http://tenant.auth0.com", false).is_err());
        assert!(auth0_issuer("tenant.auth0.com/path", false).is_err());
        assert!(auth0_issuer("", false).is_err());
    }

    #[test]
    fn storage_names() {
        assert_eq!(parse_storage_kind(None, "x").unwrap(), StorageKind::Session);
        assert_eq!(
            parse_storage_kind(Some("local"), "x").unwrap(),
            StorageKind::Local
        );
        assert_eq!(
            parse_storage_kind(Some("memory"), "x").unwrap(),
            StorageKind::Memory
        );
        assert_eq!(
            parse_storage_kind(Some("cookie"), "x").unwrap_err().code(),
            code::INVALID_CONFIG
        );
    }

    #[test]
    fn scope_always_has_openid_once() {
        assert_eq!(normalize_scope("profile  email"), "openid profile email");
        assert_eq!(
            normalize_scope("email openid offline_access email"),
            "openid email offline_access"
        );
        assert_eq!(normalize_scope(""), "openid");
    }
}
