//! The client behind the app's backend (`oidc-pkce/server`): a confidential
//! client for many users, each with a session the backend keeps, in the two
//! architectures RFC 10017 ranks above a browser-only client: a backend for
//! frontend (the tokens never reach the browser; it calls the APIs through
//! the backend) and a token-mediating backend (the backend keeps the refresh
//! token; the browser gets short-lived access tokens). The same protocol
//! steps as the browser's client (PKCE, `state`, `iss`, the ID token
//! checks), and every decision of the backend's driver: which cookie, whose
//! request is refused (CSRF), which API a call may reach, when to refresh,
//! what a Logout Token ends. No I/O here: the driver fetches, keeps the
//! sessions and signs.

use sha2::{Digest, Sha256};

use crate::authorize::{authorization_request, authorization_url, AuthorizeOptions};
use crate::backchannel::{self, LogoutEvent, UnverifiedLogout};
use crate::callback::{parse_callback_url, validate_authorization_response};
use crate::client_auth::{assertion_signing_input, credentials, ClientAuth};
use crate::config::{ClientConfig, ClientOptions, EndpointOverrides};
use crate::discovery::{discovery_url, parse_discovery_document, static_metadata, ProviderMetadata};
use crate::dpop::{self as proof, ProofKey};
use crate::error::{code, AuthError, Result};
use crate::http::{expect_ok, Cache, HttpAnswer, HttpRequest};
use crate::id_token::{
    allowed_algs, begin_verification, finish_verification, web_crypto, Expected, SignatureCheck, Unverified,
    WebCrypto,
};
use crate::json::{self, Map, Members, Value};
use crate::jwks::{key_set_lifetime_s, parse_jwks, JwkSet};
use crate::secret::{constant_time_eq, AccessToken, AuthorizationCode, IdToken, RefreshToken};
use crate::token::{encode, parse_token_response, TokenRequestEncoding, TokenSet};
use crate::transaction::Transaction;

/// The backend's own error codes (the library's others keep theirs).
pub mod code_server {
    /// A state-changing or proxied request without the CSRF header or from
    /// another origin (403).
    pub const CSRF_REFUSED: &str = "csrf_refused";
    /// No session, or one past its idle or absolute lifetime (401).
    pub const NOT_SIGNED_IN: &str = "not_signed_in";
    /// A proxied call to a place no configured API covers (404).
    pub const API_NOT_CONFIGURED: &str = "api_not_configured";
    /// The API did not answer in time, or its answer was too large (504, 502).
    pub const UPSTREAM_FAILED: &str = "upstream_failed";
    /// The session store could not be reached (503).
    pub const STORE_UNAVAILABLE: &str = "store_unavailable";
    /// A route that is not this mode's (`/token` in BFF mode) (404).
    pub const NOT_IN_THIS_MODE: &str = "not_in_this_mode";
    /// A session cookie this backend did not make, or one past its size (400).
    pub const INVALID_SESSION_COOKIE: &str = "invalid_session_cookie";
}
use code_server as cs;

/// RFC 10017's two backend architectures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Backend for frontend (§6.1): the browser never holds a token.
    Bff,
    /// Token-mediating backend (§6.2): the browser gets access tokens.
    TokenMediating,
}

/// An API the browser may call through the backend (BFF mode): requests
/// whose URL starts with `url` go there with the session's access token (the
/// one token of the login, asked for with the `audience` option: every API
/// listed accepts it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Api {
    pub url: String,
}

/// How long a session lives: without a request (`idle`), and at most.
pub const DEFAULT_IDLE_S: u64 = 30 * 60;
pub const DEFAULT_ABSOLUTE_S: u64 = 12 * 3600;
/// A session in use is written back at most this often (its `last_seen_ms`).
const TOUCH_EVERY_MS: u64 = 60_000;
/// The session cookie: `__Host-` (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain).
pub const SESSION_COOKIE: &str = "__Host-oidc-pkce";
/// The cookie that ties a pending login to the browser that started it.
pub const LOGIN_COOKIE: &str = "__Host-oidc-pkce-login";
/// The CSRF header every state-changing or proxied request must carry (a
/// custom header makes a cross-site request preflighted: a form cannot send it).
pub const CSRF_HEADER: &str = "x-csrf";
/// A cookie this backend made is 43 base64url characters.
const COOKIE_ID_LEN: usize = 43;
/// The largest answer of an API passed through (bytes), and how long it may take.
pub const PROXY_MAX_BYTES: u64 = 10 * 1024 * 1024;
pub const PROXY_TIMEOUT_MS: u32 = 30_000;

/// The server's options (`createAuthServer`).
pub const SERVER_OPTIONS: &[&str] = &[
    "issuer",
    "domain",
    "clientId",
    "clientSecret",
    "clientAuthMethod",
    "privateKey",
    "redirectUri",
    "postLogoutRedirectUri",
    "appOrigin",
    "scope",
    "audience",
    "mode",
    "apis",
    "prefix",
    "idleTimeout",
    "absoluteTimeout",
    "endpoints",
    "allowInsecureRequests",
    "leeway",
    "idTokenSigningAlgs",
    "httpTimeoutMs",
    "pushedAuthorizationRequests",
    "apiParameter",
    "store",
    "secret",
    "fetch",
    "apiTimeoutMs",
    "dpop",
];

/// A confidential client, one per backend process.
#[derive(Debug)]
pub struct Server {
    pub config: ClientConfig,
    pub auth: ClientAuth,
    pub mode: Mode,
    pub apis: Vec<Api>,
    /// The app's origin: the only one whose requests change anything.
    pub app_origin: String,
    /// Where a logout returns to (a URI registered with the provider).
    pub post_logout_redirect_uri: Option<String>,
    pub idle_s: u64,
    pub absolute_s: u64,
    /// How long a proxied API call may take (ms).
    pub api_timeout_ms: u32,
    /// RFC 9449: the tokens are bound to a key of each session (BFF mode).
    pub dpop: bool,
    /// The latest `DPoP-Nonce` of each server (§8, §9), by origin: the
    /// provider's and the configured APIs' only.
    nonces: std::cell::RefCell<std::collections::BTreeMap<String, String>>,
    /// The refreshes in flight in this process: session key → flight id
    /// (across processes, the store's lock).
    flights: std::cell::RefCell<std::collections::BTreeMap<String, u64>>,
    last_flight: std::cell::Cell<u64>,
    metadata: Option<ProviderMetadata>,
    auth_methods: Option<Vec<String>>,
    keys: Option<(JwkSet, u64)>,
    /// When the key set was last fetched (epoch ms): a kid the set lacks
    /// fetches it again at most once a minute.
    keys_fetched_ms: u64,
}

fn invalid(message: impl Into<String>) -> AuthError {
    AuthError::new(code::INVALID_CONFIG, message)
}

fn seconds(o: &Map<String, Value>, name: &str, default: u64) -> Result<u64> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|s| *s > 0)
            .ok_or_else(|| invalid(msg!("`{name}` must be a whole number of seconds"))),
    }
}

impl Server {
    /// `createAuthServer(options)`, read from the options' JSON (functions and
    /// the store left out by the driver).
    pub fn from_options_json(text: &str) -> Result<Server> {
        let o = json::object(text).map_err(|_| invalid("createAuthServer needs an options object"))?;
        crate::config::check_option_keys(o.keys().map(String::as_str), SERVER_OPTIONS, "createAuthServer")?;
        let mut m = Members::new(&o);
        let empty = Map::new();
        let e = match o.get("endpoints") {
            Some(Value::Object(e)) => e,
            None | Some(Value::Null) => &empty,
            Some(_) => return Err(invalid("`endpoints` must be an object")),
        };
        crate::config::check_option_keys(
            e.keys().map(String::as_str),
            crate::config::ENDPOINT_OPTIONS,
            "`endpoints`",
        )?;
        let mut ep = Members::new(e);
        let endpoints = EndpointOverrides {
            authorization: ep.text("authorization"),
            token: ep.text("token"),
            userinfo: ep.text("userinfo"),
            jwks: ep.text("jwks"),
            end_session: ep.text("endSession"),
            revocation: ep.text("revocation"),
            pushed_authorization_request: ep.text("pushedAuthorizationRequest"),
        };
        let number = |name: &str| o.get(name).and_then(Value::as_f64);
        let client = ClientOptions {
            issuer: m.text("issuer"),
            domain: m.text("domain"),
            client_id: m.text("clientId"),
            redirect_uri: m.text("redirectUri"),
            scope: m.text("scope"),
            audience: m.text("audience"),
            http_timeout_ms: number("httpTimeoutMs"),
            endpoints,
            allow_insecure_requests: m.flag("allowInsecureRequests"),
            leeway: number("leeway"),
            id_token_signing_algs: m.texts("idTokenSigningAlgs"),
            pushed_authorization_requests: m.flag("pushedAuthorizationRequests"),
            api_parameter: m.text("apiParameter"),
            ..ClientOptions::default()
        };
        let method = m.text("clientAuthMethod");
        let secret = m.text("clientSecret");
        let mode = m.text("mode");
        let app_origin = m.text("appOrigin");
        let post_logout = m.text("postLogoutRedirectUri");
        let dpop = m.flag("dpop");
        if let Some(name) = m.wrong().or(ep.wrong()) {
            return Err(invalid(msg!("`{name}` is not of its type")));
        }
        let config = ClientConfig::from_options(client)?;
        // The private key's public facts (`alg`, `kid`): the driver holds the key.
        let key = o.get("privateKey").and_then(Value::as_object);
        let alg = key.and_then(|k| k.get("alg")).and_then(Value::as_str);
        let kid = key
            .and_then(|k| k.get("kid"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let auth = ClientAuth::from_options(method.as_deref(), secret, alg, kid)?;
        if matches!(auth, ClientAuth::PrivateKeyJwt { .. }) && key.is_none() {
            return Err(invalid(
                "private_key_jwt needs `privateKey`: the client's private JWK",
            ));
        }
        let mode = match mode.as_deref() {
            None | Some("bff") => Mode::Bff,
            Some("token-mediating") => Mode::TokenMediating,
            Some(other) => {
                return Err(invalid(msg!(
                    "`mode` must be \"bff\" or \"token-mediating\", not {}",
                    json::quote(other)
                )))
            }
        };
        let app_origin = app_origin.ok_or_else(|| {
            invalid("`appOrigin` is required: the origin of the app's pages (CSRF checks and the cookie)")
        })?;
        let origin_ok = crate::uri::Uri::parse(&app_origin)
            .filter(|u| u.is_http())
            .and_then(|u| u.origin())
            .is_some_and(|o| o == app_origin);
        if !origin_ok {
            return Err(invalid(msg!(
                "`appOrigin` must be an origin such as https://app.example.com (no path, no slash), not {}",
                json::quote(&app_origin)
            )));
        }
        if dpop && mode == Mode::TokenMediating {
            return Err(invalid(
                "`dpop` binds the tokens to a key the backend keeps: in token-mediating mode the page, which gets the access tokens, would need it too (use BFF mode)",
            ));
        }
        let apis = match o.get("apis") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list.iter().map(api_of).collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(invalid("`apis` must be an array of { url }")),
        };
        Ok(Server {
            auth,
            mode,
            apis,
            app_origin,
            post_logout_redirect_uri: post_logout,
            idle_s: seconds(&o, "idleTimeout", DEFAULT_IDLE_S)?,
            absolute_s: seconds(&o, "absoluteTimeout", DEFAULT_ABSOLUTE_S)?,
            api_timeout_ms: match o.get("apiTimeoutMs") {
                None | Some(Value::Null) => PROXY_TIMEOUT_MS,
                Some(v) => v
                    .as_u64()
                    .filter(|t| (1..=600_000).contains(t))
                    .map(|t| t as u32)
                    .ok_or_else(|| {
                        invalid("`apiTimeoutMs` must be a whole number of milliseconds up to 600000")
                    })?,
            },
            dpop,
            nonces: Default::default(),
            flights: Default::default(),
            last_flight: Default::default(),
            metadata: static_metadata(&config),
            auth_methods: None,
            keys: None,
            keys_fetched_ms: 0,
            config,
        })
    }

    fn timeout(&self) -> u32 {
        self.config.http_timeout_ms
    }

    /// The discovery request, until the provider's metadata is known.
    pub fn discovery_request(&self) -> Option<HttpRequest> {
        self.metadata.is_none().then(|| {
            HttpRequest::document(
                &discovery_url(self.config.issuer()),
                Cache::NoCache,
                self.timeout(),
                code::INVALID_DISCOVERY,
            )
        })
    }

    /// The discovery document: the endpoints, and whether the provider
    /// takes this client's authentication method.
    pub fn discovered(&mut self, answer: HttpAnswer) -> Result<()> {
        let request = HttpRequest::document(
            &discovery_url(self.config.issuer()),
            Cache::NoCache,
            self.timeout(),
            code::INVALID_DISCOVERY,
        );
        let r = answer.response(&request)?;
        expect_ok(&r, &request)?;
        let m = parse_discovery_document(
            r.text(),
            self.config.issuer(),
            self.config.allow_insecure_requests,
        )?;
        let methods = json::object(r.text()).ok().and_then(|o| {
            json::strings(&o, "token_endpoint_auth_methods_supported")
                .ok()
                .flatten()
        });
        self.auth.check_supported(methods.as_deref())?;
        if self.dpop {
            proof::check_provider_support(m.dpop_signing_alg_values_supported.as_deref())?;
        }
        self.auth_methods = methods;
        self.metadata = Some(crate::discovery::apply_overrides(m, &self.config.endpoints));
        Ok(())
    }

    pub fn metadata(&self) -> Result<&ProviderMetadata> {
        self.metadata.as_ref().ok_or_else(|| {
            AuthError::new(
                code::INVALID_DISCOVERY,
                "the provider's endpoints are not known yet",
            )
        })
    }

    fn algs(&self) -> Vec<String> {
        let provider = self
            .metadata
            .as_ref()
            .and_then(|m| m.id_token_signing_alg_values_supported.as_deref());
        allowed_algs(self.config.id_token_signing_algs.as_deref(), provider)
    }

    /// The key set request, when the set in memory is missing or past its
    /// lifetime (`now_ms`), or (`again`) when a token named a key it lacks and
    /// it was not fetched in the last minute.
    pub fn key_set_request(&self, now_ms: u64, again: bool) -> Result<Option<HttpRequest>> {
        let stale = match &self.keys {
            Some((_, until)) => *until <= now_ms,
            None => true,
        };
        let refetch = again && now_ms.saturating_sub(self.keys_fetched_ms) > 60_000;
        if !stale && !refetch {
            return Ok(None);
        }
        let uri = self.metadata()?.jwks_uri.as_deref().ok_or_else(|| {
            AuthError::new(
                code::INVALID_DISCOVERY,
                "the provider names no jwks_uri (set `endpoints.jwks`)",
            )
        })?;
        let cache = if refetch { Cache::NoCache } else { Cache::Default };
        Ok(Some(HttpRequest::document(
            uri,
            cache,
            self.timeout(),
            code::INVALID_JWKS,
        )))
    }

    pub fn key_set(&mut self, answer: HttpAnswer, now_ms: u64) -> Result<()> {
        let uri = self.metadata()?.jwks_uri.clone().unwrap_or_default();
        let request = HttpRequest::document(&uri, Cache::Default, self.timeout(), code::INVALID_JWKS);
        let r = answer.response(&request)?;
        expect_ok(&r, &request)?;
        let set = parse_jwks(r.text())?;
        // At least a minute in memory, whatever the answer says: a busy
        // backend does not fetch the set for every login.
        let lifetime = key_set_lifetime_s(r.cache_control.as_deref(), self.config.jwks_max_age_s).max(60);
        self.keys = Some((set, now_ms + lifetime * 1000));
        self.keys_fetched_ms = now_ms;
        Ok(())
    }

    fn keys(&self) -> Result<&JwkSet> {
        self.keys
            .as_ref()
            .map(|(k, _)| k)
            .ok_or_else(|| AuthError::new(code::INVALID_JWKS, "the provider's key set is not known yet"))
    }

    // ---- client authentication

    /// The signing input of the client's assertion for the next request
    /// (`private_key_jwt` only: `jti` fresh, `aud` the issuer, which every
    /// endpoint of the provider accepts); `None` with a secret.
    pub fn assertion_input(&self, now_ms: u64) -> Result<Option<String>> {
        match &self.auth {
            ClientAuth::PrivateKeyJwt { alg, kid } => Ok(Some(assertion_signing_input(
                alg,
                kid.as_deref(),
                &self.config.client_id,
                self.config.issuer(),
                &crate::random::token()?,
                now_ms / 1000,
            ))),
            _ => Ok(None),
        }
    }

    /// A POST to `url` of `params`, authenticated as this client; `client_id`
    /// once, whatever the method (RFC 9126 §2.1 wants it in a pushed request).
    fn authenticated(
        &self,
        url: &str,
        params: &[(&str, &str)],
        assertion: Option<&str>,
        invalid: &'static str,
    ) -> Result<HttpRequest> {
        let c = credentials(&self.auth, &self.config.client_id, assertion)?;
        let mut all: Vec<(&str, &str)> = params
            .iter()
            .filter(|(k, _)| *k != "client_id")
            .copied()
            .collect();
        all.push(("client_id", &self.config.client_id));
        for (k, v) in c.body.iter().filter(|(k, _)| *k != "client_id") {
            all.push((k, v));
        }
        let body = encode(url, TokenRequestEncoding::Form, &all);
        Ok(HttpRequest {
            content_type: Some(body.content_type),
            body: Some(body.body),
            authorization: c.authorization,
            ..HttpRequest::secret("POST", url, self.timeout(), invalid)
        })
    }

    // ---- login

    /// A login: its pending transaction (to keep by its `state`, tied to
    /// the browser by the login cookie's value `binding`), and the URL, or
    /// (PAR) the parameters to push first.
    /// With `dpop`, `proof_key` is the key the driver made for this login
    /// (a private P-256 JWK): the code is bound to it (RFC 9449 §10,
    /// `dpop_jkt`), and so are the session's tokens.
    pub fn login(
        &self,
        return_to: Option<&str>,
        prompt: Option<String>,
        now_ms: u64,
        proof_key: Option<&str>,
    ) -> Result<LoginStart> {
        let return_to = return_to.map(|r| self.return_path(r)).transpose()?;
        let opts = AuthorizeOptions {
            app_state: return_to.map(|r| json::quote(&r)),
            prompt,
            ..AuthorizeOptions::default()
        };
        let proof_key = match (self.dpop, proof_key) {
            (true, Some(k)) => Some(ProofKey::from_jwk(k)?),
            (true, None) => return Err(invalid("`dpop` is on: the login needs its key")),
            (false, _) => None,
        };
        let jkt = proof_key.as_ref().map(|k| k.public().thumbprint());
        let (tx, params) = authorization_request(&self.config, opts, now_ms, jkt)?;
        let binding = crate::random::token()?;
        let record = PendingLogin {
            binding_hash: digest(&binding),
            tx,
            proof_key,
        };
        let m = self.metadata()?;
        let push = crate::par::pushed_request_endpoint(&self.config, m)?.map(str::to_string);
        let url = match push {
            Some(_) => None,
            None => Some(authorization_url(&m.authorization_endpoint, &params)?),
        };
        Ok(LoginStart {
            state: record.tx.state.clone(),
            stored: record.to_stored(),
            binding,
            url,
            push_params: params,
        })
    }

    /// The pushed authorization request (RFC 9126 §2: authenticated as at
    /// the token endpoint).
    pub fn push_request(&self, start: &LoginStart, assertion: Option<&str>) -> Result<HttpRequest> {
        let m = self.metadata()?;
        let endpoint = crate::par::pushed_request_endpoint(&self.config, m)?
            .ok_or_else(|| invalid("pushed authorization requests are not in use"))?;
        let params: Vec<(&str, &str)> = start
            .push_params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.authenticated(endpoint, &params, assertion, code::INVALID_PAR_RESPONSE)
    }

    pub fn pushed(&self, answer: HttpAnswer) -> Result<String> {
        let m = self.metadata()?;
        let endpoint = m
            .pushed_authorization_request_endpoint
            .clone()
            .unwrap_or_default();
        let r = answer.response(&HttpRequest::secret(
            "POST",
            &endpoint,
            self.timeout(),
            code::INVALID_PAR_RESPONSE,
        ))?;
        let request_uri = crate::par::parse_pushed_response(r.status, r.text())?;
        crate::par::authorization_url(&m.authorization_endpoint, &self.config.client_id, &request_uri)
    }

    /// `returnTo` of a login: a path of the app (never another origin).
    fn return_path(&self, return_to: &str) -> Result<String> {
        crate::callback::return_address(return_to, &[&self.app_origin, "/"].concat()).ok_or_else(|| {
            invalid(msg!(
                "`returnTo` must be a path of the app, not {}",
                json::quote(return_to)
            ))
        })
    }

    /// The callback's `state`, to find its pending login by.
    pub fn callback_state(&self, url: &str) -> Result<String> {
        let response = parse_callback_url(url)?;
        response
            .state
            .filter(|s| !s.is_empty())
            .ok_or_else(|| AuthError::new(code::INVALID_CALLBACK, "the callback has no `state`"))
    }

    /// The callback against its pending login (`stored`, none: unknown or
    /// spent `state`) and the browser's login cookie: the code exchange,
    /// authenticated as this client. RFC 9700 §4.7.1: the login must be
    /// the one this browser started (else an attacker's code could sign the
    /// user in as the attacker).
    pub fn callback(
        &self,
        url: &str,
        stored: Option<&str>,
        binding: Option<&str>,
        now_ms: u64,
        assertion: Option<&str>,
    ) -> Result<(PendingLogin, HttpRequest)> {
        let (pending, code) = self.checked_callback(url, stored, binding, now_ms)?;
        let request = self.exchange_request(&pending, &code, assertion)?;
        Ok((pending, request))
    }

    /// Where a refused callback sends the browser: back to the app with the
    /// error's code in the fragment (`#auth_error=state_mismatch`), which
    /// the page's client throws (the user is not left on a JSON page; the
    /// fragment never reaches a server log).
    pub fn callback_failed(&self, code: &str, reason: Option<&str>) -> String {
        let mut pairs = vec![("auth_error", code)];
        if let Some(r) = reason {
            pairs.push(("auth_error_reason", r));
        }
        [self.app_origin.as_str(), "/#", &crate::uri::form_encode(&pairs)].concat()
    }

    /// [`Server::callback`]'s checks: the pending login and the code.
    pub fn checked_callback(
        &self,
        url: &str,
        stored: Option<&str>,
        binding: Option<&str>,
        now_ms: u64,
    ) -> Result<(PendingLogin, AuthorizationCode)> {
        let response = parse_callback_url(url)?;
        let pending = stored
            .map(PendingLogin::from_stored)
            .transpose()?
            .filter(|p| !p.tx.is_expired(now_ms))
            .ok_or_else(|| {
                AuthError::new(
                    code::MISSING_TRANSACTION,
                    "no pending login has this state: it was used, expired, or never started here",
                )
            })?;
        let same_state = response
            .state
            .as_deref()
            .is_some_and(|s| constant_time_eq(s.as_bytes(), pending.tx.state.as_bytes()));
        let same_browser =
            binding.is_some_and(|b| constant_time_eq(digest(b).as_bytes(), pending.binding_hash.as_bytes()));
        if !same_state || !same_browser {
            return Err(AuthError::new(
                code::STATE_MISMATCH,
                "this callback is not the login this browser started (its state or its login cookie does not match)",
            ));
        }
        let m = self.metadata()?;
        let code = validate_authorization_response(
            response,
            &pending.tx,
            self.config.issuer(),
            m.authorization_response_iss_parameter_supported,
        )?;
        Ok((pending, code))
    }

    /// The code exchange (RFC 6749 §4.1.3 with PKCE), authenticated as this
    /// client; made again for a retry (a client assertion is used once).
    pub fn exchange_request(
        &self,
        pending: &PendingLogin,
        code: &AuthorizationCode,
        assertion: Option<&str>,
    ) -> Result<HttpRequest> {
        let m = self.metadata()?;
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", pending.tx.redirect_uri.as_str()),
            ("code_verifier", pending.tx.code_verifier.expose()),
        ];
        params.extend(self.token_resource());
        self.authenticated(
            &m.token_endpoint,
            &params,
            assertion,
            code::INVALID_TOKEN_RESPONSE,
        )
    }

    /// The token response (the code is spent: whatever follows keeps it).
    pub fn exchanged(&self, pending: PendingLogin, answer: HttpAnswer, now_ms: u64) -> Result<Exchange> {
        let m = self.metadata()?;
        let r = answer.response(&HttpRequest::secret(
            "POST",
            &m.token_endpoint,
            self.timeout(),
            code::INVALID_TOKEN_RESPONSE,
        ))?;
        let tokens =
            parse_token_response(r.status, r.text(), now_ms, true, self.config.default_expires_in_s)?;
        self.check_binding(&tokens.token_type, r.status)?;
        Ok(Exchange {
            pending,
            tokens,
            unverified: None,
        })
    }

    /// The ID token's signature to check, with the key set in memory (again
    /// after [`Server::keys_again`] fetched it anew), then [`Server::established`].
    pub fn id_token_check(&self, x: &mut Exchange) -> Result<SignatureCheck> {
        let raw = x
            .tokens
            .id_token
            .as_ref()
            .map(|t| t.expose().to_string())
            .unwrap_or_default();
        let (check, unverified) = begin_verification(&raw, self.keys()?, &self.algs())?;
        x.unverified = Some(unverified);
        Ok(check)
    }

    /// A new session from a verified login: OpenID Connect Core §3.1.3.7,
    /// with the `nonce` and `max_age` of its pending login.
    pub fn established(
        &self,
        x: Exchange,
        signature: std::result::Result<bool, String>,
        now_ms: u64,
    ) -> Result<(ServerSession, Option<String>)> {
        let algs = self.algs();
        let e = Expected {
            issuer: self.config.issuer(),
            client_id: &self.config.client_id,
            nonce: Some(&x.pending.tx.nonce),
            max_age: x.pending.tx.max_age,
            algs: &algs,
            leeway_s: self.config.leeway_s,
            now_s: now_ms / 1000,
            trusted_audiences: &self.config.trusted_audiences,
            check_expiry: true,
        };
        let unverified = x.unverified.ok_or_else(|| {
            AuthError::new(code::INVALID_ID_TOKEN, "the ID token was not checked").with_reason("signature")
        })?;
        let token = finish_verification(unverified, signature, &e)?;
        let sid = token
            .claims
            .get("sid")
            .and_then(Value::as_str)
            .map(str::to_string);
        let return_to = x
            .pending
            .tx
            .app_state
            .as_deref()
            .and_then(|a| json::parse(a).ok())
            .and_then(|v| v.as_str().map(str::to_string));
        let session = ServerSession {
            sub: token.sub,
            sid,
            claims: token.claims,
            id_token: token.raw,
            access_token: x.tokens.access_token,
            token_type: x.tokens.token_type,
            expires_at_ms: x.tokens.expires_at_ms,
            refresh_token: x.tokens.refresh_token,
            proof_key: x.pending.proof_key,
            token_at_ms: now_ms,
            created_at_ms: now_ms,
            last_seen_ms: now_ms,
        };
        Ok((session, return_to))
    }

    /// A key or signature failure when the key set was not fetched just
    /// now: fetch it again once (the provider may have rotated its keys).
    pub fn keys_again(&self, e: &AuthError, now_ms: u64) -> bool {
        matches!(e.reason(), Some("kid") | Some("signature"))
            && now_ms.saturating_sub(self.keys_fetched_ms) > 60_000
    }

    // ---- sessions

    /// Whether `s` still lives (`now_ms`): its idle and absolute lifetimes.
    pub fn live(&self, s: &ServerSession, now_ms: u64) -> Result<()> {
        let idle = now_ms.saturating_sub(s.last_seen_ms) > self.idle_s * 1000;
        let old = now_ms.saturating_sub(s.created_at_ms) > self.absolute_s * 1000;
        if idle || old {
            return Err(AuthError::new(
                cs::NOT_SIGNED_IN,
                if idle {
                    "the session ended after a time without use: log in again"
                } else {
                    "the session reached its longest lifetime: log in again"
                },
            ));
        }
        Ok(())
    }

    /// How long the store keeps the session from this write (ms): its idle
    /// lifetime and the minute a touch may lag (a session nobody uses
    /// leaves the store soon after it ended, not at its absolute end),
    /// never past its absolute end.
    pub fn store_ttl_ms(&self, s: &ServerSession, now_ms: u64) -> u64 {
        let idle = self.idle_s * 1000 + TOUCH_EVERY_MS;
        let left = (s.created_at_ms + self.absolute_s * 1000).saturating_sub(now_ms);
        idle.min(left).max(1)
    }

    /// The session's remaining life, for its cookie's `Max-Age` (seconds):
    /// its absolute lifetime (the idle one is the store's to enforce).
    pub fn cookie_max_age(&self, s: &ServerSession, now_ms: u64) -> u64 {
        (s.created_at_ms + self.absolute_s * 1000).saturating_sub(now_ms) / 1000
    }

    /// A request used the session: whether to write it back with its new
    /// `last_seen_ms` (at most once a minute: a busy page writes little).
    pub fn touch(&self, s: &mut ServerSession, now_ms: u64) -> bool {
        if now_ms.saturating_sub(s.last_seen_ms) < TOUCH_EVERY_MS {
            return false;
        }
        s.last_seen_ms = now_ms;
        true
    }

    /// What the browser may know (`GET /session`): the user's claims, the
    /// mode, and in BFF mode the APIs it may call through the backend.
    pub fn session_info(&self, s: Option<&ServerSession>) -> Value {
        let mut o = Map::new();
        o.insert("isAuthenticated".into(), s.is_some().into());
        if let Some(s) = s {
            o.insert("user".into(), Value::Object(s.claims.clone()));
        }
        o.insert(
            "mode".into(),
            (if self.mode == Mode::Bff {
                "bff"
            } else {
                "token-mediating"
            })
            .into(),
        );
        if self.mode == Mode::Bff {
            o.insert(
                "apis".into(),
                Value::Array(self.apis.iter().map(|a| a.url.as_str().into()).collect()),
            );
        }
        Value::Object(o)
    }

    /// What a call that needs the access token does: use it, or refresh it
    /// first (no refresh token, expired: the session is over).
    pub fn access_plan(&self, s: &ServerSession, now_ms: u64) -> Result<Plan> {
        // Refreshed `leeway` before it expires; a token that lives less than
        // twice that, at half its life (else every call would refresh it).
        let fresh = s.expires_at_ms.is_none_or(|t| {
            let margin = (self.config.leeway_s * 1000).min(t.saturating_sub(s.token_at_ms) / 2);
            t > now_ms + margin
        });
        if fresh {
            return Ok(Plan::Use);
        }
        if s.refresh_token.is_some() {
            Ok(Plan::Refresh)
        } else {
            Err(AuthError::new(
                cs::NOT_SIGNED_IN,
                "the access token expired and there is no refresh token: log in again",
            ))
        }
    }

    /// The API the session's token is for, named at the token endpoint too
    /// when it is an RFC 8707 resource (§2.2: the client "MAY" name it there;
    /// providers that audience-restrict by request, oidc-provider among them,
    /// issue the token for it only then). Auth0's `audience` is named at login only.
    fn token_resource(&self) -> Option<(&'static str, &str)> {
        match self.config.api_parameter {
            crate::config::ApiParameter::Resource => self.config.audience.as_deref().map(|a| ("resource", a)),
            crate::config::ApiParameter::Audience => None,
        }
    }

    /// The WebCrypto algorithm the driver signs client assertions with
    /// (`private_key_jwt`, the key's `alg`), and DPoP proofs with (ES256).
    pub fn signing_algorithms(&self) -> (Option<WebCrypto>, Option<WebCrypto>) {
        let assertion = match &self.auth {
            ClientAuth::PrivateKeyJwt { alg, .. } => web_crypto(alg),
            _ => None,
        };
        (assertion, self.dpop.then(|| web_crypto(proof::ALG)).flatten())
    }

    /// The refresh a call needs: one per session at a time in this process
    /// (a rotating refresh token is sent once); the calls that come while it
    /// flies join it.
    pub fn refresh_flight(&self, session_key: &str) -> Flight {
        if let Some(id) = self.flights.borrow().get(session_key) {
            return Flight::Join(*id);
        }
        let id = self.last_flight.get() + 1;
        self.last_flight.set(id);
        self.flights.borrow_mut().insert(session_key.to_string(), id);
        Flight::Start(id)
    }

    /// The flight `id` landed (done or failed): the next call that needs a
    /// refresh starts a new one. A stale id ends nothing.
    pub fn flight_landed(&self, id: u64) {
        self.flights.borrow_mut().retain(|_, f| *f != id);
    }

    pub fn refresh_request(&self, s: &ServerSession, assertion: Option<&str>) -> Result<HttpRequest> {
        let rt = s
            .refresh_token
            .as_ref()
            .ok_or_else(|| AuthError::new(cs::NOT_SIGNED_IN, "there is no refresh token"))?;
        let m = self.metadata()?;
        let mut params = vec![("grant_type", "refresh_token"), ("refresh_token", rt.expose())];
        params.extend(self.token_resource());
        self.authenticated(
            &m.token_endpoint,
            &params,
            assertion,
            code::INVALID_TOKEN_RESPONSE,
        )
    }

    /// The refresh response: the session with its new tokens (RFC 6749 §6:
    /// a new refresh token replaces the old). An ID token it brings is not
    /// taken up: the claims stay those verified at login. `invalid_grant`:
    /// the grant is gone, and so is the session.
    pub fn refreshed(&self, s: &ServerSession, answer: HttpAnswer, now_ms: u64) -> Result<ServerSession> {
        let m = self.metadata()?;
        let r = answer.response(&HttpRequest::secret(
            "POST",
            &m.token_endpoint,
            self.timeout(),
            code::INVALID_TOKEN_RESPONSE,
        ))?;
        let new = parse_token_response(
            r.status,
            r.text(),
            now_ms,
            false,
            self.config.default_expires_in_s,
        )
        .map_err(|e| {
            if e.server().is_some_and(|s| s.error == "invalid_grant") {
                AuthError::new(
                    cs::NOT_SIGNED_IN,
                    "the provider ended the grant (invalid_grant): log in again",
                )
            } else {
                e
            }
        })?;
        self.check_binding(&new.token_type, r.status)?;
        let mut next = s.clone();
        next.access_token = new.access_token;
        next.token_type = new.token_type;
        next.expires_at_ms = new.expires_at_ms;
        next.token_at_ms = now_ms;
        if new.refresh_token.is_some() {
            next.refresh_token = new.refresh_token;
        }
        Ok(next)
    }

    // ---- DPoP (RFC 9449)

    /// §5: with `dpop`, the tokens must come back bound (`token_type`
    /// DPoP); without it, a bound token is one the backend could not use.
    fn check_binding(&self, token_type: &str, status: u16) -> Result<()> {
        if self.dpop {
            return proof::check_token_type(token_type, status);
        }
        if token_type.eq_ignore_ascii_case("dpop") {
            return Err(AuthError::new(
                code::INVALID_TOKEN_RESPONSE,
                "the provider bound the tokens to a key (token_type DPoP) although the backend sent no proof: set `dpop: true`",
            )
            .with_status(status));
        }
        Ok(())
    }

    /// The proof of a token request (§4: `htm` POST, `htu` the endpoint)
    /// by `key` (the pending login's or the session's private JWK), with the
    /// server's latest nonce.
    pub fn token_proof(&self, key: &str, url: &str, now_ms: u64) -> Result<String> {
        self.proof_input(&ProofKey::from_jwk(key)?, "POST", url, None, now_ms)
    }

    /// The proxied call's `Authorization` header, and with a bound token the
    /// proof to sign with the session's key (§7.1: `ath`, the call's method
    /// and URL).
    pub fn api_authorization(
        &self,
        s: &ServerSession,
        method: &str,
        url: &str,
        now_ms: u64,
    ) -> Result<(String, Option<String>)> {
        let token = s.access_token.expose();
        match &s.proof_key {
            Some(k) => Ok((
                ["DPoP ", token].concat(),
                Some(self.proof_input(k, method, url, Some(token), now_ms)?),
            )),
            None => Ok((["Bearer ", token].concat(), None)),
        }
    }

    fn proof_input(
        &self,
        key: &ProofKey,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        now_ms: u64,
    ) -> Result<String> {
        let jti = crate::random::token()?;
        let nonce = proof::nonce_key(url).and_then(|o| self.nonces.borrow().get(&o).cloned());
        proof::signing_input(
            key.public(),
            &proof::Claims {
                htm: method,
                url,
                iat_s: now_ms / 1000,
                jti: &jti,
                nonce: nonce.as_deref(),
                access_token,
            },
        )
    }

    /// An answer to a request sent with a proof: keeps the server's new
    /// nonce (§8.2: it may send one with any answer), and says whether to
    /// send the request once more with it: the server asked for a nonce
    /// (a token endpoint: 400 `use_dpop_nonce`, §8; a resource: 401 with
    /// `WWW-Authenticate: DPoP error="use_dpop_nonce"`, §9) and gave one.
    pub fn nonce_retry(&self, url: &str, answer: &HttpAnswer, attempt: u32) -> bool {
        let HttpAnswer::Response(r) = answer else {
            return false;
        };
        let fresh = r.dpop_nonce.as_deref().and_then(proof::valid_nonce);
        let Some(origin) = proof::nonce_key(url) else {
            return false;
        };
        let known = self.nonces.borrow().get(&origin).map(String::as_str) == fresh;
        if let (Some(n), false) = (fresh, known) {
            self.nonces.borrow_mut().insert(origin, n.to_string());
        }
        let token_endpoint_asks = r.status == 400
            && json::object(r.text())
                .ok()
                .and_then(|o| {
                    o.get("error")
                        .and_then(Value::as_str)
                        .map(|e| e == "use_dpop_nonce")
                })
                .unwrap_or(false);
        let asks =
            token_endpoint_asks || proof::resource_asks_for_nonce(r.status, r.www_authenticate.as_deref());
        attempt == 0 && asks && fresh.is_some()
    }

    /// `/token` (token-mediating mode): what the browser may have.
    pub fn mediated_token(&self, s: &ServerSession, now_ms: u64) -> Result<Value> {
        if self.mode != Mode::TokenMediating {
            return Err(AuthError::new(
                cs::NOT_IN_THIS_MODE,
                "tokens are handed to the browser only in token-mediating mode",
            ));
        }
        let mut o = Map::new();
        o.insert("access_token".into(), s.access_token.expose().into());
        o.insert("token_type".into(), s.token_type.as_str().into());
        if let Some(t) = s.expires_at_ms {
            o.insert("expires_in".into(), (t.saturating_sub(now_ms) / 1000).into());
        }
        Ok(Value::Object(o))
    }

    // ---- the proxy (BFF mode)

    /// Where a proxied call goes: `target` (the URL the app named) must
    /// start with a configured API's URL, as a browser reads both (no `..`
    /// leaving it, no other origin); anything else is refused.
    pub fn proxy_target(&self, target: &str) -> Result<usize> {
        if self.mode != Mode::Bff {
            return Err(AuthError::new(
                cs::NOT_IN_THIS_MODE,
                "APIs are called through the backend only in BFF mode",
            ));
        }
        let refused = || {
            AuthError::new(
                cs::API_NOT_CONFIGURED,
                msg!("{} is not under an API this backend calls", json::quote(target)),
            )
        };
        let normalized = crate::uri::request_target(target).ok_or_else(refused)?;
        let query_ok = !target.contains('#');
        self.apis
            .iter()
            .position(|a| {
                crate::uri::request_target(&a.url).is_some_and(|base| {
                    let base = base.trim_end_matches('/');
                    normalized == base
                        || normalized
                            .strip_prefix(base)
                            .is_some_and(|rest| rest.starts_with('/'))
                })
            })
            .filter(|_| query_ok)
            .ok_or_else(refused)
    }

    /// Which of the browser's request headers go to the API: never its
    /// cookies or credentials, nor what the connection sets itself.
    pub fn forwarded_header(name: &str) -> bool {
        const DROPPED: &[&str] = &[
            "cookie",
            "authorization",
            "host",
            "connection",
            "content-length",
            "origin",
            "referer",
            "x-csrf",
            "dpop",
            "proxy-authorization",
            "te",
            "upgrade",
            "keep-alive",
            "transfer-encoding",
        ];
        let n = name.to_ascii_lowercase();
        !DROPPED.contains(&n.as_str()) && !n.starts_with("sec-") && !n.starts_with("proxy-")
    }

    /// Which of the API's answer headers go back to the browser: never its
    /// cookies (they would be the app's origin's, set by a third party), its
    /// CORS grants (the page calls its own origin), nor what the body's
    /// new framing replaces (the proxy answers the decoded body whole).
    pub fn returned_header(name: &str) -> bool {
        const DROPPED: &[&str] = &[
            "set-cookie",
            "set-cookie2",
            "content-encoding",
            "content-length",
            "transfer-encoding",
            "connection",
            "keep-alive",
            "www-authenticate",
            "dpop-nonce",
        ];
        let n = name.to_ascii_lowercase();
        !DROPPED.contains(&n.as_str()) && !n.starts_with("access-control-") && !n.starts_with("proxy-")
    }

    /// The session secret (`secret`, its length in characters; none: not
    /// given): required with a shared store, and never short (it keys the
    /// sessions' encryption); the memory store may make its own.
    pub fn check_secret(given: Option<usize>, local_store: bool) -> Result<()> {
        match given {
            None if local_store => Ok(()),
            Some(n) if n >= 32 => Ok(()),
            _ => Err(invalid(
                "`secret` (32 characters or more) is required with a shared store: it encrypts the sessions at rest",
            )),
        }
    }

    // ---- CSRF

    /// A request that changes something or reaches an API must come from
    /// the app's own pages: the custom header (a cross-site form or image
    /// cannot set it; a cross-site fetch with it is preflighted and refused)
    /// and, when the browser names it, the app's origin.
    pub fn check_csrf(
        &self,
        csrf_header: Option<&str>,
        origin: Option<&str>,
        fetch_site: Option<&str>,
    ) -> Result<()> {
        let refused = |why: &str| AuthError::new(cs::CSRF_REFUSED, msg!("refused as cross-site: {why}"));
        if csrf_header != Some("1") {
            return Err(refused("the request has no `X-CSRF: 1` header"));
        }
        if origin.is_some_and(|o| o != self.app_origin) {
            return Err(refused("it comes from another origin"));
        }
        if fetch_site.is_some_and(|s| s != "same-origin" && s != "none")
            && origin != Some(self.app_origin.as_str())
        {
            return Err(refused("the browser says it is cross-site"));
        }
        Ok(())
    }

    // ---- logout

    /// Where the browser goes after the session here is ended: the
    /// provider's end-session endpoint (with the ID token as hint and the
    /// return URI), or the app; and the refresh token to revoke.
    pub fn logout(
        &self,
        s: Option<&ServerSession>,
        assertion: Option<&str>,
    ) -> Result<(String, Option<HttpRequest>)> {
        let m = self.metadata()?;
        let home = [&self.app_origin, "/"].concat();
        let url = match &m.end_session_endpoint {
            Some(_) => crate::logout::logout_url(
                &self.config,
                m,
                s.map(|s| s.id_token.expose()),
                self.post_logout_redirect_uri.as_deref(),
                Some(&self.app_origin),
            )?,
            None => self.post_logout_redirect_uri.clone().unwrap_or(home),
        };
        let revoke = match (s.and_then(|s| s.refresh_token.as_ref()), &m.revocation_endpoint) {
            (Some(rt), Some(endpoint)) => Some(self.authenticated(
                endpoint,
                &[("token", rt.expose()), ("token_type_hint", "refresh_token")],
                assertion,
                code::REVOCATION_FAILED,
            )?),
            _ => None,
        };
        Ok((url, revoke))
    }

    // ---- back-channel logout

    /// The `logout_token` of the provider's POST (form-encoded body).
    pub fn logout_token_check(&self, body: &str) -> Result<(SignatureCheck, UnverifiedLogout)> {
        let pairs = crate::uri::form_decode_pairs(body);
        let token = pairs
            .iter()
            .find(|(k, _)| k == "logout_token")
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| {
                AuthError::new(code::INVALID_LOGOUT_TOKEN, "the request has no logout_token")
                    .with_reason("malformed")
            })?;
        backchannel::begin(token, self.keys()?, &self.algs())
    }

    pub fn logout_event(
        &self,
        u: UnverifiedLogout,
        signature: std::result::Result<bool, String>,
        now_ms: u64,
    ) -> Result<LogoutEvent> {
        let algs = self.algs();
        backchannel::finish(
            u,
            signature,
            &backchannel::Expected {
                issuer: self.config.issuer(),
                client_id: &self.config.client_id,
                algs: &algs,
                leeway_s: self.config.leeway_s,
                now_s: now_ms / 1000,
            },
        )
    }

    /// The index keys a session is kept under besides its id, and those a
    /// Logout Token names: its `sid`, else every session of its `sub`.
    pub fn index_keys(&self, s: &ServerSession) -> Vec<String> {
        let mut keys = vec![self.sub_key(&s.sub)];
        if let Some(sid) = &s.sid {
            keys.push(self.sid_key(sid));
        }
        keys
    }

    pub fn logout_keys(&self, e: &LogoutEvent) -> Vec<String> {
        match (&e.sid, &e.sub) {
            (Some(sid), _) => vec![self.sid_key(sid)],
            (None, Some(sub)) => vec![self.sub_key(sub)],
            (None, None) => Vec::new(),
        }
    }

    fn sid_key(&self, sid: &str) -> String {
        ["sid:", &digest(&[self.config.issuer(), " ", sid].concat())].concat()
    }

    fn sub_key(&self, sub: &str) -> String {
        ["sub:", &digest(&[self.config.issuer(), " ", sub].concat())].concat()
    }

    // ---- cookies and store keys

    /// The session cookie: HttpOnly, Secure, SameSite=Lax (the provider's
    /// redirect back to the callback is a top-level cross-site navigation,
    /// which must carry the login cookie; Lax never sends it with a
    /// cross-site POST or fetch), `__Host-` (Path=/, no Domain).
    pub fn session_cookie(&self, id: &str, max_age_s: u64) -> String {
        cookie(SESSION_COOKIE, id, max_age_s)
    }

    pub fn login_cookie(&self, binding: &str) -> String {
        cookie(LOGIN_COOKIE, binding, 600)
    }

    pub fn expired_cookie(name: &str) -> String {
        cookie(name, "", 0)
    }

    /// A cookie's value in a `Cookie` header: one this backend could have
    /// made (43 base64url characters), else none; a header past 8 KiB is refused.
    pub fn read_cookie(header: Option<&str>, name: &str) -> Result<Option<String>> {
        let Some(h) = header else { return Ok(None) };
        if h.len() > 8192 {
            return Err(AuthError::new(
                cs::INVALID_SESSION_COOKIE,
                "the Cookie header is larger than 8 KiB",
            ));
        }
        let value = h
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v);
        match value {
            None => Ok(None),
            Some(v) if v.len() == COOKIE_ID_LEN && crate::b64::decode(v).is_some() => Ok(Some(v.to_string())),
            Some(_) => Err(AuthError::new(
                cs::INVALID_SESSION_COOKIE,
                "the session cookie is not one this backend made",
            )),
        }
    }

    /// Where a session is kept: by a digest of its id (a copy of the store
    /// gives no cookie), and where a pending login and a Logout Token's jti are.
    pub fn session_key(id: &str) -> String {
        ["session:", &digest(id)].concat()
    }

    pub fn login_key(state: &str) -> String {
        ["login:", &digest(state)].concat()
    }

    pub fn jti_key(&self, jti: &str) -> String {
        ["jti:", &digest(&[self.config.issuer(), " ", jti].concat())].concat()
    }

    /// Whether a failed refresh ends the session: only when the provider
    /// ended the grant (`invalid_grant`, made `not_signed_in` by
    /// [`Server::refreshed`]). An outage, a timeout, a server error keep it:
    /// the next call tries again.
    pub fn ends_session(code: &str) -> bool {
        code == cs::NOT_SIGNED_IN
    }

    /// The HTTP status of an error a route answers with.
    pub fn status_of(e: &AuthError) -> u16 {
        match e.code() {
            cs::CSRF_REFUSED => 403,
            cs::NOT_SIGNED_IN => 401,
            cs::API_NOT_CONFIGURED | cs::NOT_IN_THIS_MODE => 404,
            cs::STORE_UNAVAILABLE => 503,
            cs::UPSTREAM_FAILED => 502,
            code::TIMEOUT => 504,
            code::NETWORK_ERROR | code::INVALID_DISCOVERY | code::INVALID_JWKS => 502,
            code::INVALID_TOKEN_RESPONSE => 502,
            _ => 400,
        }
    }
}

fn api_of(v: &Value) -> Result<Api> {
    let o = v
        .as_object()
        .ok_or_else(|| invalid("each of `apis` must be an object { url }"))?;
    // One token per session: an API's own `audience` would be ignored, so it is refused.
    if let Some(k) = o.keys().find(|k| k.as_str() != "url") {
        return Err(invalid(msg!(
            "each of `apis` is {{ url }}: {} is not an option there (the session holds one access token: its `audience` is the server's option)",
            json::quote(k)
        )));
    }
    let mut m = Members::new(o);
    let url = m.text("url");
    if m.wrong().is_some() {
        return Err(invalid("each of `apis` must be { url: string }"));
    }
    let url = url.ok_or_else(|| invalid("each of `apis` needs its `url`"))?;
    let ok = crate::uri::Uri::parse(&url)
        .is_some_and(|u| u.is_http() && u.query.is_none() && u.fragment.is_none())
        && crate::uri::request_target(&url).is_some();
    if !ok {
        return Err(invalid(msg!(
            "an API's `url` must be an http(s) URL without query or fragment, not {}",
            json::quote(&url)
        )));
    }
    Ok(Api { url })
}

fn cookie(name: &str, value: &str, max_age_s: u64) -> String {
    [
        name,
        "=",
        value,
        "; Max-Age=",
        &json::decimal(max_age_s),
        "; Path=/; Secure; HttpOnly; SameSite=Lax",
    ]
    .concat()
}

/// SHA-256, base64url: what names a secret where the secret is not kept.
fn digest(value: &str) -> String {
    crate::b64::encode(Sha256::digest(value.as_bytes()))
}

/// A login under way: its transaction and the digest of the login
/// cookie that ties it to one browser.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingLogin {
    pub tx: Transaction,
    binding_hash: String,
    /// With `dpop`: the key the login's tokens will be bound to.
    pub proof_key: Option<ProofKey>,
}

impl PendingLogin {
    pub fn to_stored(&self) -> String {
        let mut o = Map::new();
        o.insert("tx".into(), self.tx.to_stored().into());
        o.insert("binding".into(), self.binding_hash.as_str().into());
        json::put(&mut o, "dpop", self.proof_key.as_ref().map(ProofKey::jwk));
        json::to_string(&Value::Object(o))
    }

    pub fn from_stored(text: &str) -> Result<PendingLogin> {
        let bad = || {
            AuthError::new(
                code::MISSING_TRANSACTION,
                "the pending login kept here is not readable",
            )
        };
        let o = json::object(text).map_err(|_| bad())?;
        let tx = o.get("tx").and_then(Value::as_str).ok_or_else(bad)?;
        let binding_hash = o
            .get("binding")
            .and_then(Value::as_str)
            .ok_or_else(bad)?
            .to_string();
        let proof_key = match o.get("dpop") {
            None => None,
            Some(v) => Some(ProofKey::from_jwk(v.as_str().ok_or_else(bad)?).map_err(|_| bad())?),
        };
        Ok(PendingLogin {
            tx: Transaction::from_stored(tx)?,
            binding_hash,
            proof_key,
        })
    }
}

/// What [`Server::login`] starts.
#[derive(Debug)]
pub struct LoginStart {
    pub state: String,
    /// The pending login as kept (under [`Server::login_key`] of `state`).
    pub stored: String,
    /// The login cookie's value.
    pub binding: String,
    /// Where to send the browser; none: push `push_params` first.
    pub url: Option<String>,
    pub push_params: Vec<(String, String)>,
}

/// A code exchange whose ID token is being verified.
#[derive(Debug)]
pub struct Exchange {
    pending: PendingLogin,
    tokens: TokenSet,
    unverified: Option<Unverified>,
}

/// A call that needs a refresh: it starts the session's refresh, or joins
/// the one in flight (its result is this call's too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flight {
    Start(u64),
    Join(u64),
}

/// What a call that needs the access token does first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    Use,
    Refresh,
}

/// One user's session, kept by the backend's store (which encrypts it).
#[derive(Clone, Debug, PartialEq)]
pub struct ServerSession {
    pub sub: String,
    /// The provider's session id (OIDC Front/Back-Channel Logout), when it gave one.
    pub sid: Option<String>,
    pub claims: Map<String, Value>,
    pub id_token: IdToken,
    pub access_token: AccessToken,
    pub token_type: String,
    pub expires_at_ms: Option<u64>,
    pub refresh_token: Option<RefreshToken>,
    /// With `dpop`: the key the tokens are bound to.
    pub proof_key: Option<ProofKey>,
    /// When the access token was obtained (its lifetime: `expires_at_ms` minus this).
    pub token_at_ms: u64,
    pub created_at_ms: u64,
    pub last_seen_ms: u64,
}

const SESSION_VERSION: u64 = 1;

impl ServerSession {
    pub fn to_stored(&self) -> String {
        let mut o = Map::new();
        o.insert("v".into(), SESSION_VERSION.into());
        o.insert("sub".into(), self.sub.as_str().into());
        json::put(&mut o, "sid", self.sid.as_deref());
        o.insert("claims".into(), Value::Object(self.claims.clone()));
        o.insert("id_token".into(), self.id_token.expose().into());
        o.insert("access_token".into(), self.access_token.expose().into());
        o.insert("token_type".into(), self.token_type.as_str().into());
        json::put(&mut o, "expires_at_ms", self.expires_at_ms);
        json::put(
            &mut o,
            "refresh_token",
            self.refresh_token.as_ref().map(|t| t.expose()),
        );
        json::put(&mut o, "dpop", self.proof_key.as_ref().map(ProofKey::jwk));
        o.insert("token_at_ms".into(), self.token_at_ms.into());
        o.insert("created_at_ms".into(), self.created_at_ms.into());
        o.insert("last_seen_ms".into(), self.last_seen_ms.into());
        json::to_string(&Value::Object(o))
    }

    /// A session read back from the store (decrypted by the driver with the
    /// server's key: what comes here was written by this backend, or fails).
    pub fn from_stored(text: &str) -> Result<ServerSession> {
        let bad = || {
            AuthError::new(
                cs::NOT_SIGNED_IN,
                "the session kept for this cookie is not readable: log in again",
            )
        };
        let o = json::object(text).map_err(|_| bad())?;
        if o.get("v").and_then(Value::as_u64) != Some(SESSION_VERSION) {
            return Err(bad());
        }
        let mut m = Members::new(&o);
        let (sub, sid, id_token, access_token, token_type, refresh_token, dpop) = (
            m.text("sub"),
            m.text("sid"),
            m.text("id_token"),
            m.text("access_token"),
            m.text("token_type"),
            m.text("refresh_token"),
            m.text("dpop"),
        );
        let proof_key = dpop
            .map(|k| ProofKey::from_jwk(&k))
            .transpose()
            .map_err(|_| bad())?;
        let claims = o.get("claims").and_then(Value::as_object).cloned();
        let u = |n: &str| o.get(n).and_then(Value::as_u64);
        match (
            m.wrong(),
            sub,
            id_token,
            access_token,
            token_type,
            claims,
            u("created_at_ms"),
            u("last_seen_ms"),
        ) {
            (
                None,
                Some(sub),
                Some(id_token),
                Some(access_token),
                Some(token_type),
                Some(claims),
                Some(created),
                Some(seen),
            ) => Ok(ServerSession {
                sub,
                sid,
                claims,
                id_token: IdToken::new(id_token),
                access_token: AccessToken::new(access_token),
                token_type,
                expires_at_ms: u("expires_at_ms"),
                refresh_token: refresh_token.map(RefreshToken::new),
                proof_key,
                token_at_ms: u("token_at_ms").unwrap_or(created),
                created_at_ms: created,
                last_seen_ms: seen,
            }),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpResponse;
    use crate::test_support::{private_jwk, sign};
    use serde_json::{json, Value as Json};

    const ISS: &str = "https://id.example.com";
    const APP: &str = "https://app.example.com";
    const NOW: u64 = 1_800_000_000_000;
    /// A P-256 private JWK (RFC 9449's example key, with a private part).
    const PROOF_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","d":"dCcr5JvHsYaJyWFkxRhRA8lRqKNxvgAT8ZW5pmXRbHU"}"#;

    fn options(extra: Json) -> String {
        let mut o = json!({
            "issuer": ISS, "clientId": "app", "clientSecret": "s3cret", "redirectUri": format!("{APP}/auth/callback"),
            "postLogoutRedirectUri": format!("{APP}/"), "appOrigin": APP, "scope": "openid profile offline_access",
            "apis": [{"url": "https://api.example.com/v1/"}],
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                o.as_object_mut().unwrap().remove(k);
            } else {
                o[k] = v.clone();
            }
        }
        o.to_string()
    }

    fn ok(status: u16, body: impl Into<String>) -> HttpAnswer {
        HttpAnswer::Response(HttpResponse {
            status,
            body: Some(body.into()),
            ..HttpResponse::default()
        })
    }

    fn discovery(extra: Json) -> String {
        let mut d = json!({
            "issuer": ISS, "authorization_endpoint": format!("{ISS}/auth"), "token_endpoint": format!("{ISS}/token"),
            "jwks_uri": format!("{ISS}/jwks"), "end_session_endpoint": format!("{ISS}/session/end"),
            "revocation_endpoint": format!("{ISS}/token/revocation"), "authorization_response_iss_parameter_supported": true,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        });
        for (k, v) in extra.as_object().unwrap() {
            d[k] = v.clone();
        }
        d.to_string()
    }

    fn keys() -> String {
        let public = |name: &str| {
            let mut k = private_jwk(name);
            for p in ["d", "p", "q", "dp", "dq", "qi"] {
                k.as_object_mut().unwrap().remove(p);
            }
            k
        };
        json!({ "keys": [public("rsa"), public("ec")] }).to_string()
    }

    fn server(extra: Json) -> Server {
        let mut s = Server::from_options_json(&options(extra)).unwrap();
        s.discovered(ok(200, discovery(json!({})))).unwrap();
        s.key_set(ok(200, keys()), NOW).unwrap();
        s
    }

    fn form(body: &str) -> Vec<(String, String)> {
        crate::uri::form_decode_pairs(body)
    }

    fn param(r: &HttpRequest, name: &str) -> Option<String> {
        form(r.body.as_deref().unwrap_or_default())
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    fn query(url: &str, name: &str) -> Option<String> {
        crate::uri::Uri::parse(url)
            .unwrap()
            .query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// A login to its callback URL; the provider's `iss` as given.
    fn login(s: &Server) -> (LoginStart, String) {
        let key = s.dpop.then_some(PROOF_KEY);
        let start = s.login(Some("/orders?x=1"), None, NOW, key).unwrap();
        let url = start.url.clone().unwrap();
        let state = query(&url, "state").unwrap();
        (
            start,
            format!(
                "{APP}/auth/callback?code=c1&state={state}&iss={}",
                crate::uri::form_encode(&[("x", ISS)]).trim_start_matches("x=")
            ),
        )
    }

    fn id_token(nonce: &str, extra: Json) -> String {
        let mut c = json!({"iss": ISS, "aud": "app", "sub": "alice", "sid": "sid-1", "iat": NOW / 1000 - 5, "exp": NOW / 1000 + 600, "nonce": nonce, "name": "Alice"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        sign("rsa", json!({}), &c)
    }

    fn signed_in(s: &Server) -> ServerSession {
        let (start, callback) = login(s);
        let (pending, _) = s
            .callback(&callback, Some(&start.stored), Some(&start.binding), NOW, None)
            .unwrap();
        let nonce = pending.tx.nonce.clone();
        let body = json!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 300, "refresh_token": "rt-1", "id_token": id_token(&nonce, json!({}))});
        let mut x = s.exchanged(pending, ok(200, body.to_string()), NOW).unwrap();
        let check = s.id_token_check(&mut x).unwrap();
        let valid = crate::crypto::verify_signature(&check);
        s.established(x, valid, NOW).unwrap().0
    }

    /// The claims of a proof's signing input.
    fn proof_claims(input: &str) -> (Json, Json) {
        use base64::Engine as _;
        let part = |i: usize| {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(input.split('.').nth(i).unwrap())
                .unwrap();
            serde_json::from_slice::<Json>(&bytes).unwrap()
        };
        (part(0), part(1))
    }

    fn with_nonce(status: u16, body: &str, nonce: Option<&str>, challenge: Option<&str>) -> HttpAnswer {
        HttpAnswer::Response(HttpResponse {
            status,
            body: Some(body.into()),
            dpop_nonce: nonce.map(str::to_string),
            www_authenticate: challenge.map(str::to_string),
            ..HttpResponse::default()
        })
    }

    #[test]
    fn dpop_binds_the_code_the_tokens_and_the_proxied_calls_to_the_sessions_key() {
        let s = server(json!({"dpop": true}));
        let thumbprint = ProofKey::from_jwk(PROOF_KEY).unwrap().public().thumbprint();
        // RFC 9449 §10: the code is bound to the key.
        let (start, cb) = login(&s);
        assert_eq!(
            query(start.url.as_deref().unwrap(), "dpop_jkt"),
            Some(thumbprint.clone())
        );
        assert!(
            s.login(None, None, NOW, None).is_err(),
            "no login without its key"
        );
        let (pending, code) = s
            .checked_callback(&cb, Some(&start.stored), Some(&start.binding), NOW)
            .unwrap();
        let key = pending.proof_key.clone().unwrap();
        assert_eq!(
            key.public().thumbprint(),
            thumbprint,
            "kept with the pending login"
        );
        assert!(s.exchange_request(&pending, &code, None).is_ok());
        // The token request's proof: §4.2.
        let (header, claims) = proof_claims(&s.token_proof(key.jwk(), &format!("{ISS}/token"), NOW).unwrap());
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["jwk"].get("d"), None, "never the private part");
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["htu"], format!("{ISS}/token"));
        assert_eq!(claims["iat"], NOW / 1000);
        assert_eq!(claims.get("nonce"), None);
        // §5: a Bearer answer to a request with a proof is refused.
        let nonce = pending.tx.nonce.clone();
        let answer = |tt: &str| {
            ok(
                200,
                json!({"access_token": "at-1", "token_type": tt, "expires_in": 300, "refresh_token": "rt-1", "id_token": id_token(&nonce, json!({}))}).to_string(),
            )
        };
        assert_eq!(
            s.exchanged(pending.clone(), answer("Bearer"), NOW)
                .unwrap_err()
                .code(),
            code::INVALID_TOKEN_RESPONSE
        );
        let mut x = s.exchanged(pending, answer("DPoP"), NOW).unwrap();
        let check = s.id_token_check(&mut x).unwrap();
        let session = s
            .established(x, crate::crypto::verify_signature(&check), NOW)
            .unwrap()
            .0;
        // Kept with the session (sealed by the driver), read back by any instance.
        let again = ServerSession::from_stored(&session.to_stored()).unwrap();
        assert_eq!(
            again.proof_key.as_ref().map(|k| k.public().thumbprint()),
            Some(thumbprint)
        );
        // The proxied call: DPoP scheme, a proof with `ath` (§7.1), the call's method and URL.
        let (authorization, input) = s
            .api_authorization(&again, "PUT", "https://api.example.com/v1/orders/7?x=1", NOW)
            .unwrap();
        assert_eq!(authorization, "DPoP at-1");
        let (_, claims) = proof_claims(&input.unwrap());
        assert_eq!(claims["htm"], "PUT");
        assert_eq!(claims["htu"], "https://api.example.com/v1/orders/7");
        assert_eq!(claims["ath"], proof::access_token_hash("at-1"));
        // The refresh: a bound token again, or refused.
        assert!(s.refreshed(&again, answer("Bearer"), NOW).is_err());
        assert!(s
            .refreshed(&again, answer("DPoP"), NOW)
            .unwrap()
            .proof_key
            .is_some());
        // Without `dpop`: Bearer, no proof; a bound token is refused.
        let plain = server(json!({}));
        let session = signed_in(&plain);
        let (authorization, input) = plain
            .api_authorization(&session, "GET", "https://api.example.com/v1/x", NOW)
            .unwrap();
        assert_eq!((authorization.as_str(), input), ("Bearer at-1", None));
        assert!(plain.refreshed(&session, answer("DPoP"), NOW).is_err());
    }

    #[test]
    fn dpop_nonces_are_kept_by_server_and_asked_for_once() {
        let s = server(json!({"dpop": true}));
        let token = format!("{ISS}/token");
        let api = "https://api.example.com/v1/orders";
        let asks = r#"{"error":"use_dpop_nonce","error_description":"nonce required"}"#;
        // §8: the token endpoint asks (400 use_dpop_nonce) and gives one: once more, with it.
        assert!(s.nonce_retry(&token, &with_nonce(400, asks, Some("n-1"), None), 0));
        assert!(
            !s.nonce_retry(&token, &with_nonce(400, asks, Some("n-2"), None), 1),
            "once"
        );
        let (_, claims) = proof_claims(&s.token_proof(PROOF_KEY, &token, NOW).unwrap());
        assert_eq!(claims["nonce"], "n-2", "the latest nonce of that server");
        // Asked without giving one, or another error: no retry.
        assert!(!s.nonce_retry(&token, &with_nonce(400, asks, None, None), 0));
        // A nonce that is not NQCHAR is not kept.
        assert!(!s.nonce_retry(&token, &with_nonce(400, asks, Some("bad nonce\""), None), 0));
        // §9: a resource asks with 401 and its challenge; its nonce is its own.
        let challenge = Some(r#"DPoP error="use_dpop_nonce", algs="ES256""#);
        assert!(s.nonce_retry(api, &with_nonce(401, "", Some("api-1"), challenge), 0));
        assert!(!s.nonce_retry(api, &with_nonce(401, "", Some("api-2"), Some("Bearer")), 0));
        let session = ServerSession {
            proof_key: ProofKey::from_jwk(PROOF_KEY).ok(),
            ..signed_in(&server(json!({})))
        };
        let (_, input) = s.api_authorization(&session, "GET", api, NOW).unwrap();
        assert_eq!(proof_claims(&input.unwrap()).1["nonce"], "api-2");
        let (_, claims) = proof_claims(&s.token_proof(PROOF_KEY, &token, NOW).unwrap());
        assert_eq!(claims["nonce"], "n-2", "the provider's is unchanged");
        // Any answer may bring the next nonce (§8.2): kept, no retry.
        assert!(!s.nonce_retry(
            &token,
            &with_nonce(400, r#"{"error":"invalid_grant"}"#, Some("n-3"), None),
            0
        ));
        assert!(!s.nonce_retry(&token, &with_nonce(200, "{}", Some("n-4"), None), 0));
        let (_, claims) = proof_claims(&s.token_proof(PROOF_KEY, &token, NOW).unwrap());
        assert_eq!(claims["nonce"], "n-4");
    }

    #[test]
    fn dpop_is_for_bff_mode_and_providers_that_take_es256() {
        let e = Server::from_options_json(&options(json!({"dpop": true, "mode": "token-mediating"})))
            .unwrap_err();
        assert_eq!(e.code(), code::INVALID_CONFIG);
        let mut s = Server::from_options_json(&options(json!({"dpop": true}))).unwrap();
        let e = s
            .discovered(ok(
                200,
                discovery(json!({"dpop_signing_alg_values_supported": ["RS256"]})),
            ))
            .unwrap_err();
        assert_eq!(e.code(), code::INVALID_CONFIG);
        assert!(s
            .discovered(ok(
                200,
                discovery(json!({"dpop_signing_alg_values_supported": ["ES256"]}))
            ))
            .is_ok());
        // A pending login or a session whose key is broken is not read.
        let (start, _) = login(&server(json!({"dpop": true})));
        let broken = start.stored.replace(r#"\"kty\":\"EC\""#, r#"\"kty\":\"RSA\""#);
        assert_ne!(broken, start.stored);
        assert_eq!(
            PendingLogin::from_stored(&broken).unwrap_err().code(),
            code::MISSING_TRANSACTION
        );
    }

    #[test]
    fn options_are_checked_with_reasons() {
        let e = |extra: Json| {
            Server::from_options_json(&options(extra))
                .unwrap_err()
                .message()
                .to_string()
        };
        assert!(e(json!({"appOrigin": null})).contains("`appOrigin` is required"));
        assert!(e(json!({"appOrigin": "https://app.example.com/"})).contains("no slash"));
        assert!(e(json!({"mode": "spa"})).contains("`mode`"));
        assert!(e(json!({"clientSecret": null})).contains("`clientSecret` is required"));
        assert!(
            e(json!({"clientAuthMethod": "private_key_jwt", "clientSecret": null})).contains("`privateKey`")
        );
        assert!(e(json!({"apis": [{"url": "https://api.example.com/?q=1"}]})).contains("without query"));
        assert!(e(json!({"apis": [{"url": "javascript:alert(1)"}]})).contains("http(s) URL"));
        assert!(
            e(json!({"apis": [{"url": "https://api.example.com/", "audience": "x"}]}))
                .contains("not an option there")
        );
        assert!(e(json!({"client_secret": "x"})).contains("did you mean `clientSecret`"));
        assert!(e(json!({"idleTimeout": -1})).contains("`idleTimeout`"));
        let s = Server::from_options_json(&options(json!({"mode": "token-mediating", "idleTimeout": 60})))
            .unwrap();
        assert_eq!(
            (s.mode, s.idle_s, s.absolute_s),
            (Mode::TokenMediating, 60, DEFAULT_ABSOLUTE_S)
        );
    }

    #[test]
    fn the_provider_must_take_the_clients_authentication() {
        let mut s =
            Server::from_options_json(&options(json!({"clientAuthMethod": "client_secret_post"}))).unwrap();
        let d = discovery(json!({"token_endpoint_auth_methods_supported": ["client_secret_basic"]}));
        assert_eq!(s.discovered(ok(200, d)).unwrap_err().code(), code::INVALID_CONFIG);
        let mut basic = Server::from_options_json(&options(json!({}))).unwrap();
        let mut without = serde_json::from_str::<Json>(&discovery(json!({}))).unwrap();
        without
            .as_object_mut()
            .unwrap()
            .remove("token_endpoint_auth_methods_supported");
        assert!(
            basic.discovered(ok(200, without.to_string())).is_ok(),
            "client_secret_basic is the default"
        );
    }

    #[test]
    fn a_login_is_exchanged_once_by_the_browser_that_started_it() {
        let s = server(json!({}));
        let (start, callback) = login(&s);
        let url = start.url.clone().unwrap();
        assert_eq!(query(&url, "code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(
            query(&url, "redirect_uri").as_deref(),
            Some("https://app.example.com/auth/callback")
        );
        assert_eq!(s.callback_state(&callback).unwrap(), start.state);
        // Another browser (no cookie, another cookie), or no pending login.
        for (stored, binding) in [
            (Some(start.stored.as_str()), None),
            (Some(start.stored.as_str()), Some("A".repeat(43))),
        ] {
            let e = s
                .callback(&callback, stored, binding.as_deref(), NOW, None)
                .unwrap_err();
            assert_eq!(e.code(), code::STATE_MISMATCH);
        }
        let e = s
            .callback(&callback, None, Some(&start.binding), NOW, None)
            .unwrap_err();
        assert_eq!(e.code(), code::MISSING_TRANSACTION);
        let later = NOW + crate::transaction::TRANSACTION_TTL_MS + 1;
        assert_eq!(
            s.callback(&callback, Some(&start.stored), Some(&start.binding), later, None)
                .unwrap_err()
                .code(),
            code::MISSING_TRANSACTION
        );
        // Another login's state with this browser's cookie.
        let (other, _) = login(&s);
        assert_eq!(
            s.callback(&callback, Some(&other.stored), Some(&start.binding), NOW, None)
                .unwrap_err()
                .code(),
            code::STATE_MISMATCH
        );
        // RFC 9207: another issuer's response, or none from a provider that always sends it.
        let mix = callback.replace("iss=https", "iss=http");
        assert_eq!(
            s.callback(&mix, Some(&start.stored), Some(&start.binding), NOW, None)
                .unwrap_err()
                .code(),
            code::ISSUER_MISMATCH
        );
        let no_iss = callback.split("&iss=").next().unwrap().to_string();
        assert_eq!(
            s.callback(&no_iss, Some(&start.stored), Some(&start.binding), NOW, None)
                .unwrap_err()
                .code(),
            code::ISSUER_MISMATCH
        );
        // The right one: the exchange, as a confidential client (HTTP Basic), with PKCE.
        let (_, request) = s
            .callback(&callback, Some(&start.stored), Some(&start.binding), NOW, None)
            .unwrap();
        assert_eq!(request.url, format!("{ISS}/token"));
        assert_eq!(
            request.authorization.as_deref(),
            Some(crate::client_auth::basic_authorization("app", "s3cret").as_str())
        );
        assert_eq!(
            param(&request, "grant_type").as_deref(),
            Some("authorization_code")
        );
        assert_eq!(param(&request, "code").as_deref(), Some("c1"));
        assert_eq!(param(&request, "client_id").as_deref(), Some("app"));
        assert!(param(&request, "code_verifier").is_some_and(|v| v.len() == 43));
        assert_eq!(
            param(&request, "client_secret"),
            None,
            "the secret travels in the header only"
        );
        assert_eq!(request.redirects, crate::http::Redirects::Refuse);
    }

    #[test]
    fn an_rfc_8707_resource_is_named_at_login_and_at_the_token_endpoint() {
        const API: &str = "https://api.example.com/";
        let rs = server(json!({"audience": API, "apiParameter": "resource"}));
        let (start, cb) = login(&rs);
        assert_eq!(
            query(start.url.as_deref().unwrap(), "resource").as_deref(),
            Some(API)
        );
        assert_eq!(query(start.url.as_deref().unwrap(), "audience"), None);
        let (_, r) = rs
            .callback(&cb, Some(&start.stored), Some(&start.binding), NOW, None)
            .unwrap();
        assert_eq!(param(&r, "resource").as_deref(), Some(API));
        let session = signed_in(&rs);
        let r = rs.refresh_request(&session, None).unwrap();
        assert_eq!(param(&r, "resource").as_deref(), Some(API));
        // Auth0's `audience`: at login only.
        let au = server(json!({"audience": API}));
        let (start, cb) = login(&au);
        assert_eq!(
            query(start.url.as_deref().unwrap(), "audience").as_deref(),
            Some(API)
        );
        let (_, r) = au
            .callback(&cb, Some(&start.stored), Some(&start.binding), NOW, None)
            .unwrap();
        assert_eq!(param(&r, "resource"), None);
        assert_eq!(param(&r, "audience"), None);
        let r = au.refresh_request(&signed_in(&au), None).unwrap();
        assert_eq!(param(&r, "resource"), None);
    }

    #[test]
    fn a_refused_callback_goes_back_to_the_app_with_its_code() {
        let s = server(json!({}));
        assert_eq!(
            s.callback_failed(code::STATE_MISMATCH, None),
            format!("{APP}/#auth_error=state_mismatch")
        );
        assert_eq!(
            s.callback_failed(code::INVALID_ID_TOKEN, Some("nonce")),
            format!("{APP}/#auth_error=invalid_id_token&auth_error_reason=nonce")
        );
    }

    #[test]
    fn the_other_authentication_methods() {
        let post = server(json!({"clientAuthMethod": "client_secret_post"}));
        let (start, cb) = login(&post);
        let (_, r) = post
            .callback(&cb, Some(&start.stored), Some(&start.binding), NOW, None)
            .unwrap();
        assert_eq!(r.authorization, None);
        assert_eq!(param(&r, "client_secret").as_deref(), Some("s3cret"));
        let jwt = server(
            json!({"clientAuthMethod": "private_key_jwt", "clientSecret": null, "privateKey": {"alg": "ES256", "kid": "k1"}}),
        );
        let (start, cb) = login(&jwt);
        assert!(
            jwt.callback(&cb, Some(&start.stored), Some(&start.binding), NOW, None)
                .is_err(),
            "never sent unsigned"
        );
        let input = jwt.assertion_input(NOW).unwrap().unwrap();
        let (_, r) = jwt
            .callback(
                &cb,
                Some(&start.stored),
                Some(&start.binding),
                NOW,
                Some(&format!("{input}.sig")),
            )
            .unwrap();
        assert_eq!(
            param(&r, "client_assertion").as_deref(),
            Some(format!("{input}.sig").as_str())
        );
        assert_eq!(
            param(&r, "client_assertion_type").as_deref(),
            Some(crate::client_auth::JWT_BEARER)
        );
        assert_eq!(post.assertion_input(NOW).unwrap(), None);
    }

    #[test]
    fn the_session_is_the_verified_id_tokens_and_lives_as_configured() {
        let s = server(json!({"idleTimeout": 600, "absoluteTimeout": 3600}));
        let session = signed_in(&s);
        assert_eq!(
            (session.sub.as_str(), session.sid.as_deref()),
            ("alice", Some("sid-1"))
        );
        assert_eq!(session.claims["name"], "Alice");
        // Kept and read back; anything else is no session.
        assert_eq!(ServerSession::from_stored(&session.to_stored()).unwrap(), session);
        for bad in [
            "",
            "{}",
            &session.to_stored().replace("\"v\":1", "\"v\":2"),
            &session.to_stored().replace("\"sub\"", "\"who\""),
        ] {
            assert_eq!(
                ServerSession::from_stored(bad).unwrap_err().code(),
                cs::NOT_SIGNED_IN,
                "{bad}"
            );
        }
        assert!(s.live(&session, NOW + 599_000).is_ok());
        assert_eq!(
            s.live(&session, NOW + 601_000).unwrap_err().code(),
            cs::NOT_SIGNED_IN
        );
        let mut used = session.clone();
        for t in (1..=7).map(|i| NOW + i * 500_000) {
            if t < NOW + 3_600_000 {
                assert!(s.live(&used, t).is_ok());
                assert!(s.touch(&mut used, t));
            }
        }
        let soon = used.last_seen_ms + 1000;
        assert!(!s.touch(&mut used, soon), "written back at most once a minute");
        assert!(s
            .live(&used, NOW + 3_601_000)
            .unwrap_err()
            .message()
            .contains("longest lifetime"));
        assert_eq!(s.cookie_max_age(&session, NOW + 600_000), 3000);
    }

    #[test]
    fn an_id_token_that_fails_a_check_makes_no_session() {
        let s = server(json!({}));
        for (extra, reason) in [
            (json!({"nonce": "other"}), "nonce"),
            (json!({"aud": "other"}), "aud"),
            (json!({"iss": "https://evil.example.com"}), "iss"),
            (json!({"exp": NOW / 1000 - 3600}), "exp"),
        ] {
            let (start, cb) = login(&s);
            let (pending, _) = s
                .callback(&cb, Some(&start.stored), Some(&start.binding), NOW, None)
                .unwrap();
            let nonce = pending.tx.nonce.clone();
            let mut c = json!({"nonce": nonce});
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            let body = json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token(&nonce, c)});
            let mut x = s.exchanged(pending, ok(200, body.to_string()), NOW).unwrap();
            let check = s.id_token_check(&mut x).unwrap();
            let e = s
                .established(x, crate::crypto::verify_signature(&check), NOW)
                .unwrap_err();
            assert_eq!(e.reason(), Some(reason), "{extra}");
        }
        // A token endpoint error keeps the provider's words.
        let (start, cb) = login(&s);
        let (pending, _) = s
            .callback(&cb, Some(&start.stored), Some(&start.binding), NOW, None)
            .unwrap();
        let e = s
            .exchanged(pending, ok(400, r#"{"error":"invalid_grant"}"#), NOW)
            .unwrap_err();
        assert_eq!(e.server().unwrap().error, "invalid_grant");
    }

    #[test]
    fn the_store_keeps_a_session_its_idle_lifetime_never_past_its_absolute_end() {
        let s = server(json!({"idleTimeout": 600, "absoluteTimeout": 3600}));
        let session = signed_in(&s);
        assert_eq!(
            s.store_ttl_ms(&session, NOW),
            660_000,
            "idle + the touch's minute"
        );
        assert_eq!(
            s.store_ttl_ms(&session, NOW + 3_300_000),
            300_000,
            "5 minutes of life left"
        );
        assert_eq!(s.store_ttl_ms(&session, NOW + 4_000_000), 1, "over: gone at once");
        // Touched at most once a minute: the store's TTL outlives the idle check.
        let mut used = session.clone();
        assert!(!s.touch(&mut used, NOW + 59_000));
        assert!(s.touch(&mut used, NOW + 61_000));
        assert_eq!(used.last_seen_ms, NOW + 61_000);
    }

    #[test]
    fn the_driver_signs_with_the_algorithms_the_core_names() {
        let (a, p) = server(json!({})).signing_algorithms();
        assert_eq!((a, p), (None, None));
        let jwt = |alg: &str| {
            server(json!({"clientAuthMethod": "private_key_jwt", "clientSecret": null, "privateKey": {"alg": alg}, "dpop": true}))
                .signing_algorithms()
        };
        let (a, p) = jwt("PS256");
        let a = a.unwrap();
        assert_eq!((a.name, a.hash, a.salt), ("RSA-PSS", "SHA-256", 32));
        assert_eq!(p.map(|p| (p.name, p.curve)), Some(("ECDSA", Some("P-256"))));
        assert_eq!(jwt("ES256").0.map(|a| a.curve), Some(Some("P-256")));
        assert_eq!(jwt("RS256").0.map(|a| a.name), Some("RSASSA-PKCS1-v1_5"));
    }

    #[test]
    fn one_refresh_per_session_in_flight_the_others_join_it() {
        let s = server(json!({}));
        let Flight::Start(a) = s.refresh_flight("session:a") else {
            panic!("the first call starts it")
        };
        assert_eq!(
            s.refresh_flight("session:a"),
            Flight::Join(a),
            "a second call joins"
        );
        assert_eq!(s.refresh_flight("session:a"), Flight::Join(a));
        let Flight::Start(b) = s.refresh_flight("session:b") else {
            panic!("another session's refresh is its own")
        };
        assert_ne!(a, b);
        s.flight_landed(a);
        let Flight::Start(a2) = s.refresh_flight("session:a") else {
            panic!("after it landed, the next call starts a new one")
        };
        assert_ne!(a2, a);
        // A late landing of the old flight does not end the new one.
        s.flight_landed(a);
        assert_eq!(s.refresh_flight("session:a"), Flight::Join(a2));
        assert_eq!(s.refresh_flight("session:b"), Flight::Join(b));
    }

    #[test]
    fn the_access_token_is_used_refreshed_or_the_session_is_over() {
        let s = server(json!({}));
        let session = signed_in(&s);
        assert_eq!(s.access_plan(&session, NOW).unwrap(), Plan::Use);
        // 300 s: refreshed the leeway (60 s) before it expires.
        assert_eq!(s.access_plan(&session, NOW + 239_000).unwrap(), Plan::Use);
        assert_eq!(s.access_plan(&session, NOW + 241_000).unwrap(), Plan::Refresh);
        let later = NOW + 301_000;
        assert_eq!(s.access_plan(&session, later).unwrap(), Plan::Refresh);
        // A token that lives less than twice the leeway: at half its life,
        // not at every call (a just-refreshed one is used).
        let short = ServerSession {
            token_at_ms: later,
            expires_at_ms: Some(later + 4_000),
            ..session.clone()
        };
        assert_eq!(s.access_plan(&short, later + 100).unwrap(), Plan::Use);
        assert_eq!(s.access_plan(&short, later + 2_100).unwrap(), Plan::Refresh);
        let again = ServerSession::from_stored(&short.to_stored()).unwrap();
        assert_eq!(again.token_at_ms, later, "kept with the session");
        let r = s.refresh_request(&session, None).unwrap();
        assert_eq!(param(&r, "refresh_token").as_deref(), Some("rt-1"));
        assert!(r.authorization.is_some());
        // Rotated; an ID token in the answer does not replace the verified claims.
        let body = json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 300, "refresh_token": "rt-2", "id_token": "x.y.z"});
        let next = s.refreshed(&session, ok(200, body.to_string()), later).unwrap();
        assert_eq!(
            (
                next.access_token.expose(),
                next.refresh_token.as_ref().unwrap().expose()
            ),
            ("at-2", "rt-2")
        );
        assert_eq!(next.token_at_ms, later);
        assert_eq!(
            (next.claims.clone(), next.id_token.clone()),
            (session.claims.clone(), session.id_token.clone())
        );
        let kept = s
            .refreshed(
                &session,
                ok(200, r#"{"access_token":"at-3","token_type":"Bearer"}"#),
                later,
            )
            .unwrap();
        assert_eq!(kept.refresh_token.as_ref().unwrap().expose(), "rt-1");
        let gone = s
            .refreshed(&session, ok(400, r#"{"error":"invalid_grant"}"#), later)
            .unwrap_err();
        assert_eq!(gone.code(), cs::NOT_SIGNED_IN);
        assert!(
            Server::ends_session(gone.code()),
            "the grant is gone: so is the session"
        );
        // The provider down, slow or failing: the session stays for the next call.
        for answer in [
            HttpAnswer::Failed {
                timed_out: true,
                detail: "late".into(),
            },
            HttpAnswer::Failed {
                timed_out: false,
                detail: "refused".into(),
            },
            ok(503, "<html>down</html>"),
            ok(400, r#"{"error":"invalid_request"}"#),
        ] {
            let e = s.refreshed(&session, answer, later).unwrap_err();
            assert!(!Server::ends_session(e.code()), "{}", e.code());
        }
        let mut no_rt = session.clone();
        no_rt.refresh_token = None;
        assert_eq!(
            s.access_plan(&no_rt, later).unwrap_err().code(),
            cs::NOT_SIGNED_IN
        );
        // Only in token-mediating mode does the browser get the token, and never the refresh token.
        assert_eq!(
            s.mediated_token(&session, NOW).unwrap_err().code(),
            cs::NOT_IN_THIS_MODE
        );
        let tm = server(json!({"mode": "token-mediating"}));
        let t = tm.mediated_token(&session, NOW).unwrap();
        assert_eq!(t["access_token"], "at-1");
        assert_eq!(t.get("refresh_token"), None);
        assert_eq!(t["expires_in"].as_u64(), Some(300));
    }

    #[test]
    fn the_proxy_reaches_the_configured_apis_only() {
        let s = server(
            json!({"apis": [{"url": "https://api.example.com/v1/"}, {"url": "https://other.example.com"}]}),
        );
        assert_eq!(
            s.proxy_target("https://api.example.com/v1/orders?page=2")
                .unwrap(),
            0
        );
        assert_eq!(s.proxy_target("https://API.example.com:443/v1").unwrap(), 0);
        assert_eq!(s.proxy_target("https://other.example.com/anything").unwrap(), 1);
        for refused in [
            "https://api.example.com/v1x/orders",
            "https://api.example.com/v1/../admin",
            "https://api.example.com/v1/%2e%2e/admin",
            "https://api.example.com/v2/",
            "http://api.example.com/v1/orders",
            "https://api.example.com.evil.test/v1/",
            "https://evil.test/https://api.example.com/v1/",
            "https://api.example.com/v1/orders#frag",
            "/v1/orders",
            "javascript:alert(1)",
        ] {
            assert_eq!(
                s.proxy_target(refused).unwrap_err().code(),
                cs::API_NOT_CONFIGURED,
                "{refused}"
            );
        }
        let tm = server(json!({"mode": "token-mediating"}));
        assert_eq!(
            tm.proxy_target("https://api.example.com/v1/").unwrap_err().code(),
            cs::NOT_IN_THIS_MODE
        );
        for (h, go) in [
            ("accept", true),
            ("content-type", true),
            ("Cookie", false),
            ("authorization", false),
            ("sec-fetch-site", false),
            ("x-csrf", false),
            ("host", false),
        ] {
            assert_eq!(Server::forwarded_header(h), go, "{h}");
        }
        // The answer: no cookie of the API lands on the app's origin, no CORS grant, no stale framing;
        // the API's DPoP challenge is the backend's to answer, not the page's.
        for (h, back) in [
            ("content-type", true),
            ("cache-control", true),
            ("etag", true),
            ("Set-Cookie", false),
            ("access-control-allow-origin", false),
            ("content-encoding", false),
            ("content-length", false),
            ("www-authenticate", false),
            ("dpop-nonce", false),
        ] {
            assert_eq!(Server::returned_header(h), back, "{h}");
        }
    }

    #[test]
    fn the_session_secret_is_required_with_a_shared_store_and_never_short() {
        assert!(
            Server::check_secret(None, true).is_ok(),
            "the memory store makes its own"
        );
        assert_eq!(
            Server::check_secret(None, false).unwrap_err().code(),
            code::INVALID_CONFIG
        );
        assert_eq!(
            Server::check_secret(Some(31), true).unwrap_err().code(),
            code::INVALID_CONFIG
        );
        assert!(Server::check_secret(Some(32), false).is_ok());
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let s = server(json!({}));
        assert!(s.check_csrf(Some("1"), Some(APP), Some("same-origin")).is_ok());
        assert!(
            s.check_csrf(Some("1"), None, None).is_ok(),
            "an older browser that names neither"
        );
        for (header, origin, site) in [
            (None, Some(APP), Some("same-origin")),
            (Some("0"), Some(APP), None),
            (Some("1"), Some("https://evil.example"), Some("cross-site")),
            (Some("1"), Some("null"), None),
            (Some("1"), None, Some("cross-site")),
            (Some("1"), None, Some("same-site")),
        ] {
            let e = s.check_csrf(header, origin, site).unwrap_err();
            assert_eq!(
                (e.code(), Server::status_of(&e)),
                (cs::CSRF_REFUSED, 403),
                "{header:?} {origin:?} {site:?}"
            );
        }
    }

    #[test]
    fn cookies_are_host_only_secure_httponly_and_read_only_as_made() {
        let s = server(json!({}));
        let id = crate::random::token().unwrap();
        let c = s.session_cookie(&id, 3600);
        assert_eq!(
            c,
            format!("__Host-oidc-pkce={id}; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax")
        );
        assert!(Server::expired_cookie(SESSION_COOKIE).contains("Max-Age=0"));
        let header = format!("theme=dark; {SESSION_COOKIE}={id}; other=1");
        assert_eq!(
            Server::read_cookie(Some(&header), SESSION_COOKIE).unwrap(),
            Some(id.clone())
        );
        assert_eq!(
            Server::read_cookie(Some("theme=dark"), SESSION_COOKIE).unwrap(),
            None
        );
        assert_eq!(Server::read_cookie(None, SESSION_COOKIE).unwrap(), None);
        for forged in ["x", &"A".repeat(44), &"%".repeat(43), &format!("{}=", &id[..42])] {
            let h = format!("{SESSION_COOKIE}={forged}");
            assert_eq!(
                Server::read_cookie(Some(&h), SESSION_COOKIE).unwrap_err().code(),
                cs::INVALID_SESSION_COOKIE,
                "{forged}"
            );
        }
        assert!(Server::read_cookie(Some(&"a=b; ".repeat(2000)), SESSION_COOKIE).is_err());
        // Kept by a digest: the store never holds what the cookie says.
        assert!(!Server::session_key(&id).contains(&id));
    }

    #[test]
    fn logout_ends_at_the_provider_and_revokes_the_refresh_token() {
        let s = server(json!({}));
        let session = signed_in(&s);
        let (url, revoke) = s.logout(Some(&session), None).unwrap();
        assert!(url.starts_with(&format!("{ISS}/session/end?")));
        assert_eq!(
            query(&url, "id_token_hint").as_deref(),
            Some(session.id_token.expose())
        );
        assert_eq!(
            query(&url, "post_logout_redirect_uri").as_deref(),
            Some("https://app.example.com/")
        );
        let revoke = revoke.unwrap();
        assert_eq!(param(&revoke, "token").as_deref(), Some("rt-1"));
        assert!(revoke.authorization.is_some());
        let (url, revoke) = s.logout(None, None).unwrap();
        assert_eq!(query(&url, "id_token_hint"), None);
        assert!(revoke.is_none());
    }

    #[test]
    fn a_logout_token_ends_the_sessions_it_names() {
        let s = server(json!({}));
        let session = signed_in(&s);
        let token = sign(
            "rsa",
            json!({"typ": "logout+jwt"}),
            &json!({"iss": ISS, "aud": "app", "iat": NOW / 1000, "jti": "j1", "sid": "sid-1", "events": {crate::backchannel::EVENT: {}}}),
        );
        let body = crate::uri::form_encode(&[("logout_token", &token)]);
        let (check, u) = s.logout_token_check(&body).unwrap();
        let event = s
            .logout_event(u, crate::crypto::verify_signature(&check), NOW)
            .unwrap();
        assert_eq!(
            s.logout_keys(&event),
            vec![s.index_keys(&session)[1].clone()],
            "by sid"
        );
        let by_sub = LogoutEvent {
            sid: None,
            sub: Some("alice".into()),
            ..event.clone()
        };
        assert_eq!(s.logout_keys(&by_sub), vec![s.index_keys(&session)[0].clone()]);
        assert!(s.logout_token_check("").is_err());
        assert!(s.jti_key("j1") != s.jti_key("j2"));
    }
}
