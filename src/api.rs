//! Access tokens for the APIs an app calls besides the session's own: one per
//! (API, scope), asked for with the refresh token (RFC 6749 §6) or by silent
//! authentication, and kept with the session. An API is named to the provider
//! by Auth0's `audience` parameter or by RFC 8707's `resource`.

use crate::config::{check_resource, normalize_scope, ApiParameter, ClientConfig};
use crate::error::{code, AuthError, Result};
use crate::json::{self, Map, Value};
use crate::secret::AccessToken;
use crate::token::TokenSet;

/// How many API tokens a session keeps (the oldest goes first).
pub const MAX_API_TOKENS: usize = 16;

/// Which token an app asks for: an API (its audience or resource) and a scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub audience: Option<String>,
    pub scope: Option<String>,
}

impl ApiKey {
    /// What `getAccessToken({ audience, scope })` asks for; `None`: the
    /// session's own token (no audience or the client's, and no scope or the
    /// client's).
    pub fn asked(
        config: &ClientConfig,
        audience: Option<&str>,
        scope: Option<&str>,
    ) -> Result<Option<ApiKey>> {
        let audience = audience.filter(|a| !a.is_empty());
        if let (Some(a), ApiParameter::Resource) = (audience, config.api_parameter) {
            check_resource(a, "`audience`")?;
        }
        let audience = audience.filter(|a| Some(*a) != config.audience.as_deref());
        // A scope is a set (RFC 6749 §3.3): one key for any order of its words.
        let scope = scope
            .filter(|s| !s.trim().is_empty())
            .map(sorted_scope)
            .filter(|s| *s != sorted_scope(&config.scope));
        Ok((audience.is_some() || scope.is_some()).then(|| ApiKey {
            audience: audience.map(str::to_string),
            scope,
        }))
    }

    /// The key as the driver carries it between the core's steps.
    pub fn to_text(&self) -> String {
        json::to_string(&self.to_json())
    }

    pub fn from_text(text: &str) -> Result<ApiKey> {
        json::object(text)
            .ok()
            .and_then(|o| ApiKey::from_json(&o))
            .ok_or_else(|| AuthError::new(code::INVALID_CONFIG, "not an API key of this library"))
    }

    fn to_json(&self) -> Value {
        let mut o = Map::new();
        json::put(&mut o, "audience", self.audience.as_deref());
        json::put(&mut o, "scope", self.scope.as_deref());
        Value::Object(o)
    }

    fn from_json(o: &Map<String, Value>) -> Option<ApiKey> {
        Some(ApiKey {
            audience: json::string(o, "audience").ok()?,
            scope: json::string(o, "scope").ok()?,
        })
    }

    /// The parameters that ask the provider for this API's token.
    pub fn params<'a>(&'a self, config: &'a ClientConfig) -> Vec<(&'static str, &'a str)> {
        let mut params = Vec::new();
        let audience = self.audience.as_ref().or(config.audience.as_ref());
        if let Some(a) = audience {
            params.push((config.api_parameter.name(), a.as_str()));
        }
        if let Some(s) = &self.scope {
            params.push(("scope", s.as_str()));
        }
        params
    }
}

/// The scope with `openid` (as every request of this client has it), its
/// words in one order.
fn sorted_scope(scope: &str) -> String {
    let normalized = normalize_scope(scope);
    // By insertion: a scope has a few words, and slice sorting would link
    // a sort implementation of its own into the module (~6 KB gzip).
    let mut words: Vec<&str> = Vec::new();
    for w in normalized.split(' ') {
        let at = words.iter().position(|x| *x > w).unwrap_or(words.len());
        words.insert(at, w);
    }
    words.join(" ")
}

/// An access token for an API, kept with the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub key: ApiKey,
    pub access_token: AccessToken,
    pub token_type: String,
    pub expires_at_ms: Option<u64>,
    /// The scope granted, when the response says.
    pub scope: Option<String>,
}

impl ApiToken {
    pub fn new(key: ApiKey, tokens: &TokenSet) -> ApiToken {
        ApiToken {
            key,
            access_token: tokens.access_token.clone(),
            token_type: tokens.token_type.clone(),
            expires_at_ms: tokens.expires_at_ms,
            scope: tokens.scope.clone(),
        }
    }

    /// More than `leeway_ms` left.
    pub fn is_fresh(&self, now_ms: u64, leeway_ms: u64) -> bool {
        self.expires_at_ms.is_none_or(|t| t > now_ms + leeway_ms)
    }

    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("key".into(), self.key.to_json());
        o.insert("access_token".into(), self.access_token.expose().into());
        o.insert("token_type".into(), self.token_type.as_str().into());
        json::put(&mut o, "expires_at_ms", self.expires_at_ms);
        json::put(&mut o, "scope", self.scope.as_deref());
        Value::Object(o)
    }

    /// One stored entry; `None` for anything this library would not have written.
    pub fn from_json(v: &Value) -> Option<ApiToken> {
        let Value::Object(o) = v else { return None };
        if !json::only(
            o,
            &["key", "access_token", "token_type", "expires_at_ms", "scope"],
        ) {
            return None;
        }
        let Some(Value::Object(key)) = o.get("key") else {
            return None;
        };
        let access_token = json::string(o, "access_token").ok()??;
        if access_token.is_empty() {
            return None;
        }
        Some(ApiToken {
            key: ApiKey::from_json(key)?,
            access_token: AccessToken::new(access_token),
            token_type: json::string(o, "token_type").ok()??,
            expires_at_ms: json::uint(o, "expires_at_ms").ok()?,
            scope: json::string(o, "scope").ok()?,
        })
    }
}

/// Keeps `token` in `list`, in place of the one for the same key; the oldest
/// goes when there are more than [`MAX_API_TOKENS`].
pub fn keep(list: &mut Vec<ApiToken>, token: ApiToken) {
    list.retain(|t| t.key != token.key);
    list.push(token);
    if list.len() > MAX_API_TOKENS {
        list.remove(0);
    }
}

/// The token kept for `key`.
pub fn find<'a>(list: &'a [ApiToken], key: &ApiKey) -> Option<&'a ApiToken> {
    list.iter().find(|t| t.key == *key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientOptions;

    fn config(parameter: Option<&str>, audience: Option<&str>) -> ClientConfig {
        ClientConfig::from_options(ClientOptions {
            issuer: Some("https://id.example.com".into()),
            client_id: Some("app".into()),
            redirect_uri: Some("https://app.example.com/cb".into()),
            audience: audience.map(Into::into),
            api_parameter: parameter.map(Into::into),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn the_sessions_own_token_is_not_an_api_key() {
        let c = config(None, Some("https://api.example.com"));
        assert_eq!(ApiKey::asked(&c, None, None).unwrap(), None);
        assert_eq!(
            ApiKey::asked(&c, Some("https://api.example.com"), None).unwrap(),
            None
        );
        assert_eq!(ApiKey::asked(&c, Some(""), Some(" ")).unwrap(), None);
        // The client's scope, written another way, is the client's scope.
        assert_eq!(ApiKey::asked(&c, None, Some("email profile")).unwrap(), None);
        let other = ApiKey::asked(&c, Some("https://orders"), None).unwrap().unwrap();
        assert_eq!(other.audience.as_deref(), Some("https://orders"));
        let narrower = ApiKey::asked(&c, None, Some("read:orders")).unwrap().unwrap();
        assert_eq!(narrower.scope.as_deref(), Some("openid read:orders"));
        assert_eq!(narrower.audience, None);
        assert_eq!(
            narrower.params(&c),
            [
                ("audience", "https://api.example.com"),
                ("scope", "openid read:orders")
            ]
        );
        assert_eq!(ApiKey::from_text(&other.to_text()).unwrap(), other);
        assert!(ApiKey::from_text("[]").is_err());
    }

    #[test]
    fn resource_indicators_are_absolute_uris_without_a_fragment() {
        let c = config(Some("resource"), None);
        let k = ApiKey::asked(&c, Some("https://orders.example.com/"), None)
            .unwrap()
            .unwrap();
        assert_eq!(k.params(&c), [("resource", "https://orders.example.com/")]);
        for bad in ["orders", "/orders", "https://orders.example.com/#x"] {
            assert_eq!(
                ApiKey::asked(&c, Some(bad), None).unwrap_err().code(),
                code::INVALID_CONFIG,
                "{bad}"
            );
        }
        assert_eq!(
            ApiParameter::from_option(Some("aud")).unwrap_err().code(),
            code::INVALID_CONFIG
        );
    }

    #[test]
    fn tokens_are_kept_one_per_key_and_read_back_strictly() {
        let c = config(None, None);
        let key = |a: &str| ApiKey::asked(&c, Some(a), None).unwrap().unwrap();
        let token = |a: &str, at: &str| ApiToken {
            key: key(a),
            access_token: AccessToken::new(at),
            token_type: "Bearer".into(),
            expires_at_ms: Some(10_000),
            scope: None,
        };
        let mut list = Vec::new();
        keep(&mut list, token("https://a", "1"));
        keep(&mut list, token("https://b", "2"));
        keep(&mut list, token("https://a", "3"));
        assert_eq!(list.len(), 2);
        assert_eq!(find(&list, &key("https://a")).unwrap().access_token.expose(), "3");
        for i in 0..MAX_API_TOKENS + 3 {
            keep(&mut list, token(&format!("https://x{i}"), "t"));
        }
        assert_eq!(list.len(), MAX_API_TOKENS);
        assert!(find(&list, &key("https://a")).is_none(), "the oldest went first");
        let t = token("https://a", "at");
        assert_eq!(ApiToken::from_json(&t.to_json()), Some(t.clone()));
        assert!(t.is_fresh(5_000, 1_000) && !t.is_fresh(9_500, 1_000));
        let mut extra = t.to_json();
        if let Value::Object(o) = &mut extra {
            o.insert("x".into(), 1u64.into());
        }
        assert_eq!(ApiToken::from_json(&extra), None);
        let mut empty = t.clone();
        empty.access_token = AccessToken::new("");
        assert_eq!(ApiToken::from_json(&empty.to_json()), None);
    }
}
