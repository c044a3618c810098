//! The token request (RFC 6749 §4.1.3, RFC 7636 §4.5) and response (RFC 6749
//! §5.1, §5.2; OIDC Core §3.1.3.3).

use crate::error::{code, http_error, AuthError, Result};
use crate::json;
use crate::secret::{AccessToken, AuthorizationCode, IdToken, RefreshToken};
use crate::transaction::Transaction;

/// How the token request body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRequestEncoding {
    /// `application/x-www-form-urlencoded`, as RFC 6749 §4.1.3 requires.
    Form,
    /// A JSON object, which Auth0 also accepts.
    Json,
}

/// A request ready for `fetch`: POST `body` with `content_type` to `url`.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub url: String,
    pub content_type: &'static str,
    pub body: String,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body holds the code and the verifier.
        f.debug_struct("TokenRequest")
            .field("url", &self.url)
            .field("content_type", &self.content_type)
            .field("body", &"<redacted>")
            .finish()
    }
}

/// The code exchange: `grant_type=authorization_code` with `client_id`,
/// `code_verifier`, `code` and the same `redirect_uri` as the authorization
/// request (RFC 6749 §4.1.3: "REQUIRED, if the "redirect_uri" parameter was
/// included in the authorization request ..., and their values MUST be identical").
pub fn authorization_code_request(
    token_endpoint: &str,
    encoding: TokenRequestEncoding,
    tx: &Transaction,
    code: &AuthorizationCode,
    resource: Option<&str>,
) -> TokenRequest {
    let mut params = vec![
        ("grant_type", "authorization_code"),
        ("client_id", tx.client_id.as_str()),
        ("code_verifier", tx.code_verifier.expose()),
        ("code", code.expose()),
        ("redirect_uri", tx.redirect_uri.as_str()),
    ];
    if let Some(r) = resource {
        params.push(("resource", r));
    }
    encode(token_endpoint, encoding, &params)
}

/// The refresh request (RFC 6749 §6): `grant_type=refresh_token`, `client_id`
/// (a public client identifies itself, §3.2.1), `refresh_token`, and `more`:
/// `scope` when a narrower one is asked for, the API's `audience` or
/// `resource` (RFC 8707 §2.2) for an API's token.
pub fn refresh_token_request(
    token_endpoint: &str,
    encoding: TokenRequestEncoding,
    client_id: &str,
    refresh_token: &RefreshToken,
    more: &[(&str, &str)],
) -> TokenRequest {
    let mut params = vec![
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("refresh_token", refresh_token.expose()),
    ];
    params.extend_from_slice(more);
    encode(token_endpoint, encoding, &params)
}

/// Token revocation (RFC 7009 §2.1): `token`, `token_type_hint`, and
/// `client_id` (a public client identifies itself, RFC 6749 §3.2.1). Always
/// form-encoded: §2.1 defines no other encoding.
pub fn revocation_request(endpoint: &str, client_id: &str, token: &str, hint: &str) -> TokenRequest {
    encode(
        endpoint,
        TokenRequestEncoding::Form,
        &[
            ("token", token),
            ("token_type_hint", hint),
            ("client_id", client_id),
        ],
    )
}

/// The session's tokens after a refresh: RFC 6749 §6, "The authorization server
/// MAY issue a new refresh token, in which case the client MUST discard the old
/// refresh token". Without a new one, the old one stays; likewise the ID token.
pub fn merge_refreshed(previous: &TokenSet, new: TokenSet) -> TokenSet {
    TokenSet {
        refresh_token: new.refresh_token.or_else(|| previous.refresh_token.clone()),
        id_token: new.id_token.or_else(|| previous.id_token.clone()),
        scope: new.scope.or_else(|| previous.scope.clone()),
        ..new
    }
}

pub(crate) fn encode(url: &str, encoding: TokenRequestEncoding, params: &[(&str, &str)]) -> TokenRequest {
    match encoding {
        TokenRequestEncoding::Form => TokenRequest {
            url: url.to_string(),
            content_type: "application/x-www-form-urlencoded",
            body: crate::uri::form_encode(params),
        },
        TokenRequestEncoding::Json => {
            // Inserted one by one: `collect` into the map would link a stable
            // sort of its own (~1.5 KB gzip).
            let mut map = crate::json::Object::new();
            for (k, v) in params {
                map.insert(k.to_string(), (*v).into());
            }
            TokenRequest {
                url: url.to_string(),
                content_type: "application/json",
                body: json::to_string(&json::Value::Object(map)),
            }
        }
    }
}

/// The tokens a successful response carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: AccessToken,
    pub id_token: Option<IdToken>,
    pub refresh_token: Option<RefreshToken>,
    pub token_type: String,
    /// Epoch milliseconds, from `expires_in`.
    pub expires_at_ms: Option<u64>,
    pub scope: Option<String>,
}

fn invalid(message: impl Into<String>, status: u16) -> AuthError {
    AuthError::new(code::INVALID_TOKEN_RESPONSE, message).with_status(status)
}

/// How long an access token is taken to live when the response has no
/// `expires_in` (RFC 6749 §5.1 only RECOMMENDS it): one hour, the app's
/// `defaultExpiresIn` otherwise. After that, `getAccessToken` refreshes.
pub const DEFAULT_EXPIRES_IN_S: u64 = 3600;

/// Reads a token endpoint response. `id_token_required`: OIDC Core §3.1.3.3,
/// an OpenID request's successful response carries an ID token.
/// `default_expires_in_s` stands in for a missing `expires_in`: a token of
/// unknown lifetime is never taken as fresh forever.
pub fn parse_token_response(
    status: u16,
    body: &str,
    now_ms: u64,
    id_token_required: bool,
    default_expires_in_s: u64,
) -> Result<TokenSet> {
    if !(200..300).contains(&status) {
        return Err(http_error(
            status,
            body,
            code::INVALID_TOKEN_RESPONSE,
            "token endpoint",
        ));
    }
    // Read as a JSON object (json::Value, which every parser here
    // shares) rather than a derived struct: a derive with an untagged enum for
    // `expires_in` pulled serde's buffering machinery into the module.
    let b = match json::parse(body) {
        Ok(json::Value::Object(m)) => m,
        Ok(_) => return Err(invalid("the token response is not a JSON object", status)),
        Err(e) => {
            return Err(invalid(
                msg!("the token response is not a JSON object: {e}"),
                status,
            ))
        }
    };
    if b.get("error").is_some_and(|e| !e.is_null()) {
        return Err(invalid(
            "the token response has both a 2xx status and an `error`",
            status,
        ));
    }
    // (Members are read with get, not taken with remove: BTreeMap's removal
    // and rebalancing code is 2.3 KB gzip of the browser module.)
    let string = |name: &str| -> Result<Option<String>> {
        match b.get(name) {
            None | Some(json::Value::Null) => Ok(None),
            Some(json::Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(invalid(
                msg!("`{name}` in the token response is not a non-empty string"),
                status,
            )),
        }
    };
    let access_token =
        string("access_token")?.ok_or_else(|| invalid("the token response has no `access_token`", status))?;
    let token_type =
        string("token_type")?.ok_or_else(|| invalid("the token response has no `token_type`", status))?;
    // RFC 6749 §7.1 / RFC 6750 / RFC 9449: the type is case-insensitive; this
    // client can use Bearer tokens (DPoP-bound ones are passed through).
    if !token_type.eq_ignore_ascii_case("bearer") && !token_type.eq_ignore_ascii_case("dpop") {
        return Err(invalid(
            msg!(
                "unsupported `token_type` {} (Bearer or DPoP expected)",
                json::quote(&token_type)
            ),
            status,
        ));
    }
    // (A string `expires_in` is read with the JSON number parser, not
    // `str::parse::<f64>`, whose tables would add ~10 KB gzip to the module.)
    // (Some providers send `"3600"`.)
    let expires_in = match b.get("expires_in") {
        None | Some(json::Value::Null) => Some(default_expires_in_s as f64),
        Some(json::Value::Number(n)) => n.as_f64(),
        Some(json::Value::String(t)) => json::parse(t.trim()).ok().and_then(|v| v.as_f64()),
        Some(_) => None,
    };
    let expires_in = match expires_in {
        Some(n) if n.is_finite() && n >= 0.0 => n,
        _ => return Err(invalid("`expires_in` is not a number of seconds", status)),
    };
    let id_token = string("id_token")?;
    if id_token_required && id_token.is_none() {
        return Err(invalid(
            "the token response has no `id_token` (OpenID Connect Core §3.1.3.3)",
            status,
        ));
    }
    Ok(TokenSet {
        access_token: AccessToken::new(access_token),
        id_token: id_token.map(IdToken::new),
        refresh_token: string("refresh_token")?.map(RefreshToken::new),
        token_type,
        expires_at_ms: Some(now_ms.saturating_add((expires_in * 1000.0).min(u64::MAX as f64 / 2.0) as u64)),
        // RFC 6749 §5.1 gives `scope` as scope-tokens, but a certified
        // provider (oidc-provider with resource indicators) answers `""` for
        // a token that carries no scope of the API it is for: read as a
        // granted scope that is empty, not as a malformed response.
        scope: match b.get("scope") {
            Some(json::Value::String(s)) if s.is_empty() => Some(String::new()),
            _ => string("scope")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pkce::CodeVerifier;

    fn tx() -> Transaction {
        Transaction {
            client_id: "my app".into(),
            issuer: "https://id".into(),
            redirect_uri: "com.example.app://callback".into(),
            state: "s".repeat(43),
            nonce: "n".repeat(43),
            code_verifier: CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap(),
            scope: "openid".into(),
            audience: None,
            max_age: None,
            app_state: None,
            created_at_ms: 0,
            dpop_jkt: None,
        }
    }

    #[test]
    fn form_request() {
        let r = authorization_code_request(
            "https://id/token",
            TokenRequestEncoding::Form,
            &tx(),
            &AuthorizationCode::new("c+1"),
            None,
        );
        assert_eq!(r.content_type, "application/x-www-form-urlencoded");
        assert_eq!(
            r.body,
            "grant_type=authorization_code&client_id=my+app&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk\
             &code=c%2B1&redirect_uri=com.example.app%3A%2F%2Fcallback"
        );
        assert!(!format!("{r:?}").contains("dBjft"));
    }

    #[test]
    fn json_request_is_auth0_shaped() {
        let r = authorization_code_request(
            "https://id/oauth/token",
            TokenRequestEncoding::Json,
            &tx(),
            &AuthorizationCode::new("c"),
            None,
        );
        assert_eq!(r.content_type, "application/json");
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"grant_type":"authorization_code","client_id":"my app",
                "code_verifier":"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk","code":"c",
                "redirect_uri":"com.example.app://callback"})
        );
    }

    #[test]
    fn parses_a_success() {
        let body = r#"{"access_token":"at","id_token":"a.b.c","refresh_token":"rt","token_type":"bearer","expires_in":3600,"scope":"openid offline_access"}"#;
        let t = parse_token_response(200, body, 1_000, true, 3600).unwrap();
        assert_eq!(t.access_token.expose(), "at");
        assert_eq!(t.id_token.unwrap().expose(), "a.b.c");
        assert_eq!(t.refresh_token.unwrap().expose(), "rt");
        assert_eq!(t.expires_at_ms, Some(3_601_000));
        assert_eq!(t.scope.as_deref(), Some("openid offline_access"));
        let s = parse_token_response(
            200,
            r#"{"access_token":"at","id_token":"x","token_type":"DPoP","expires_in":"60"}"#,
            0,
            true,
            3600,
        )
        .unwrap();
        assert_eq!(s.expires_at_ms, Some(60_000));
        assert_eq!(s.refresh_token, None);
        // An API's token that carries none of the scopes (oidc-provider with
        // resource indicators says `"scope":""`): an empty grant, read as such.
        let e = parse_token_response(
            200,
            r#"{"access_token":"at","token_type":"Bearer","scope":""}"#,
            0,
            false,
            3600,
        )
        .unwrap();
        assert_eq!(e.scope.as_deref(), Some(""));
        for (text, ms) in [(" 90 ", 90_000), ("1.5", 1_500), ("0", 0), ("1e2", 100_000)] {
            let body = format!(
                r#"{{"access_token":"at","id_token":"x","token_type":"Bearer","expires_in":"{text}"}}"#
            );
            assert_eq!(
                parse_token_response(200, &body, 0, true, 3600)
                    .unwrap()
                    .expires_at_ms,
                Some(ms),
                "{text}"
            );
        }
    }

    #[test]
    fn a_token_without_expires_in_gets_the_default_lifetime() {
        let body = r#"{"access_token":"at","id_token":"x","token_type":"Bearer"}"#;
        let t = parse_token_response(200, body, 5_000, true, DEFAULT_EXPIRES_IN_S).unwrap();
        assert_eq!(t.expires_at_ms, Some(5_000 + DEFAULT_EXPIRES_IN_S * 1000));
        let t = parse_token_response(200, body, 5_000, true, 30).unwrap();
        assert_eq!(t.expires_at_ms, Some(35_000));
    }

    #[test]
    fn refuses_unusable_successes() {
        for body in [
            "<html>oops</html>",
            "",
            "[]",
            r#"{"token_type":"Bearer","id_token":"x"}"#,
            r#"{"access_token":"","token_type":"Bearer","id_token":"x"}"#,
            r#"{"access_token":5,"token_type":"Bearer","id_token":"x"}"#,
            r#"{"access_token":"at","id_token":"x"}"#,
            r#"{"access_token":"at","token_type":"MAC","id_token":"x"}"#,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":-1,"id_token":"x"}"#,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":"soon","id_token":"x"}"#,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":"inf","id_token":"x"}"#,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":"-5","id_token":"x"}"#,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":"1e999","id_token":"x"}"#,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":true,"id_token":"x"}"#,
            r#"{"access_token":"at","token_type":"Bearer"}"#,
            r#"{"access_token":"at","token_type":"Bearer","id_token":"x","error":"invalid_grant"}"#,
            r#"{"access_token":"at","token_type":"Bearer","id_token":"x","scope":["openid"]}"#,
        ] {
            let e = parse_token_response(200, body, 0, true, 3600).unwrap_err();
            assert_eq!(e.code(), code::INVALID_TOKEN_RESPONSE, "{body}");
            assert_eq!(e.status(), Some(200));
        }
    }

    #[test]
    fn error_bodies_keep_the_servers_error() {
        let e = parse_token_response(
            400,
            r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#,
            0,
            true,
            3600,
        )
        .unwrap_err();
        assert_eq!(e.code(), "invalid_grant");
        assert_eq!(e.status(), Some(400));
        assert_eq!(
            e.server().unwrap().error_description.as_deref(),
            Some("grant request is invalid")
        );
        let e = parse_token_response(502, "Bad Gateway", 0, true, 3600).unwrap_err();
        assert_eq!(e.code(), code::INVALID_TOKEN_RESPONSE);
        assert_eq!(e.status(), Some(502));
    }

    #[test]
    fn refresh_request_and_merge() {
        let rt = RefreshToken::new("rt/1");
        let r = refresh_token_request(
            "https://id/token",
            TokenRequestEncoding::Form,
            "app",
            &rt,
            &[("scope", "openid email")],
        );
        assert_eq!(
            r.body,
            "grant_type=refresh_token&client_id=app&refresh_token=rt%2F1&scope=openid+email"
        );
        let j = refresh_token_request("https://id/token", TokenRequestEncoding::Json, "app", &rt, &[]);
        let v: serde_json::Value = serde_json::from_str(&j.body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"grant_type":"refresh_token","client_id":"app","refresh_token":"rt/1"})
        );

        let old = parse_token_response(200, r#"{"access_token":"a1","token_type":"Bearer","id_token":"i1","refresh_token":"r1","scope":"openid offline_access"}"#, 0, true, 3600).unwrap();
        let rotated = parse_token_response(
            200,
            r#"{"access_token":"a2","token_type":"Bearer","refresh_token":"r2","expires_in":60}"#,
            0,
            false,
            3600,
        )
        .unwrap();
        let m = merge_refreshed(&old, rotated);
        assert_eq!(m.access_token.expose(), "a2");
        assert_eq!(m.refresh_token.as_ref().unwrap().expose(), "r2");
        assert_eq!(m.id_token.as_ref().unwrap().expose(), "i1");
        assert_eq!(m.scope.as_deref(), Some("openid offline_access"));
        let kept = merge_refreshed(
            &old,
            parse_token_response(
                200,
                r#"{"access_token":"a3","token_type":"Bearer"}"#,
                0,
                false,
                3600,
            )
            .unwrap(),
        );
        assert_eq!(kept.refresh_token.unwrap().expose(), "r1");
    }

    #[test]
    fn revocation_request_is_rfc_7009() {
        let r = revocation_request("https://id/oauth/revoke", "my app", "rt/1", "refresh_token");
        assert_eq!(r.url, "https://id/oauth/revoke");
        assert_eq!(r.content_type, "application/x-www-form-urlencoded");
        assert_eq!(
            r.body,
            "token=rt%2F1&token_type_hint=refresh_token&client_id=my+app"
        );
        assert!(!format!("{r:?}").contains("rt%2F1"));
    }

    #[test]
    fn messages_never_echo_tokens() {
        let e = parse_token_response(
            200,
            r#"{"access_token":"SECRET-AT","token_type":"MAC","id_token":"x"}"#,
            0,
            true,
            3600,
        )
        .unwrap_err();
        assert!(!e.to_string().contains("SECRET"));
    }
}
