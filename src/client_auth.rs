//! How a confidential client authenticates at the token and revocation
//! endpoints (RFC 6749 §2.3, OpenID Connect Core §9): a secret in the
//! `Authorization` header or in the body, or a JWT the client signs with its
//! private key (RFC 7523). A backend (`oidc-pkce/server`) is such a client;
//! the browser's client is public and only names itself (`client_id`).

use crate::error::{code, AuthError, Result};
use crate::json;
use crate::secret::ClientSecret;

/// `token_endpoint_auth_method` (OIDC Core §9; RFC 7591 §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with the client id and secret.
    SecretBasic(ClientSecret),
    /// `client_secret_post`: `client_id` and `client_secret` in the body.
    SecretPost(ClientSecret),
    /// `private_key_jwt`: a JWT signed with the client's key (`alg` RS256,
    /// PS256 or ES256; `kid` names the key in the client's registered set).
    PrivateKeyJwt { alg: String, kid: Option<String> },
}

/// The `client_assertion_type` of RFC 7523 §2.2.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The algorithms a client's private key may sign with (what WebCrypto signs).
const ASSERTION_ALGS: &[&str] = &["RS256", "PS256", "ES256"];

impl ClientAuth {
    /// The server's options: `clientSecret` (with `clientAuthMethod`
    /// `client_secret_basic`, the default with a secret, or
    /// `client_secret_post`), or `clientAuthMethod: "private_key_jwt"` with
    /// the key's `alg` and `kid`.
    pub fn from_options(
        method: Option<&str>,
        secret: Option<String>,
        alg: Option<&str>,
        kid: Option<String>,
    ) -> Result<ClientAuth> {
        let invalid = |m: String| AuthError::new(code::INVALID_CONFIG, m);
        let given = secret.is_some();
        let secret = || {
            secret
                .clone()
                .filter(|s| !s.is_empty())
                .map(ClientSecret::new)
                .ok_or_else(|| {
                    invalid(msg!(
                        "`clientSecret` is required with clientAuthMethod {}",
                        json::quote(method.unwrap_or("client_secret_basic"))
                    ))
                })
        };
        match method {
            None | Some("client_secret_basic") => Ok(ClientAuth::SecretBasic(secret()?)),
            Some("client_secret_post") => Ok(ClientAuth::SecretPost(secret()?)),
            Some("private_key_jwt") => {
                let alg = alg.unwrap_or("RS256");
                if !ASSERTION_ALGS.contains(&alg) {
                    return Err(invalid(msg!(
                        "the private key's `alg` must be one of {}, not {}",
                        json::quote_list(ASSERTION_ALGS),
                        json::quote(alg)
                    )));
                }
                if given {
                    return Err(invalid(msg!("`clientSecret` is not used with private_key_jwt: leave it out")));
                }
                Ok(ClientAuth::PrivateKeyJwt { alg: alg.to_string(), kid })
            }
            Some(other) => Err(invalid(msg!(
                "`clientAuthMethod` must be \"client_secret_basic\", \"client_secret_post\" or \"private_key_jwt\", not {}",
                json::quote(other)
            ))),
        }
    }

    /// The method's name, as discovery lists it.
    pub fn name(&self) -> &'static str {
        match self {
            ClientAuth::SecretBasic(_) => "client_secret_basic",
            ClientAuth::SecretPost(_) => "client_secret_post",
            ClientAuth::PrivateKeyJwt { .. } => "private_key_jwt",
        }
    }

    /// OIDC Discovery's `token_endpoint_auth_methods_supported` ("If omitted,
    /// the default is client_secret_basic"): the provider must accept ours.
    pub fn check_supported(&self, supported: Option<&[String]>) -> Result<()> {
        let name = self.name();
        let ok = match supported {
            None => name == "client_secret_basic",
            Some(list) => list.iter().any(|m| m == name),
        };
        if ok {
            Ok(())
        } else {
            Err(AuthError::new(
                code::INVALID_CONFIG,
                msg!(
                    "the provider does not accept {name} at its token endpoint (it lists {})",
                    supported.map_or("client_secret_basic only (the default)".into(), json::quote_list)
                ),
            ))
        }
    }
}

/// What authenticates one request: members for the body, and the
/// `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub body: Vec<(&'static str, String)>,
    pub authorization: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// RFC 6749 §2.3.1: "The client identifier is encoded using the
/// application/x-www-form-urlencoded encoding algorithm ..., and the encoded
/// value is used as the username; the client password is encoded using the
/// same algorithm and used as the password" (then RFC 7617's Basic scheme).
pub fn basic_authorization(client_id: &str, secret: &str) -> String {
    let mut user_pass = String::new();
    crate::uri::form_encode_into(&mut user_pass, client_id);
    user_pass.push(':');
    crate::uri::form_encode_into(&mut user_pass, secret);
    ["Basic ", &crate::b64::encode_std(user_pass.as_bytes())].concat()
}

/// The claims of a `private_key_jwt` assertion (OIDC Core §9; RFC 7523
/// §3): `iss` and `sub` the client id, `aud` the endpoint it is sent to,
/// `jti` unique, `iat`, and `exp` one minute later ("The JWT MUST contain an
/// "exp" (expiration time) claim that limits the time window during which
/// the JWT can be used").
pub fn assertion_signing_input(
    alg: &str,
    kid: Option<&str>,
    client_id: &str,
    audience: &str,
    jti: &str,
    now_s: u64,
) -> String {
    let mut header = [r#"{"alg":"#, &json::quote(alg), r#","typ":"JWT""#].concat();
    if let Some(k) = kid {
        header.push_str(r#","kid":"#);
        header.push_str(&json::quote(k));
    }
    header.push('}');
    let payload = [
        r#"{"iss":"#,
        &json::quote(client_id),
        r#","sub":"#,
        &json::quote(client_id),
        r#","aud":"#,
        &json::quote(audience),
        r#","jti":"#,
        &json::quote(jti),
        r#","iat":"#,
        &json::decimal(now_s),
        r#","exp":"#,
        &json::decimal(now_s + 60),
        "}",
    ]
    .concat();
    [
        crate::b64::encode(header.as_bytes()),
        ".".into(),
        crate::b64::encode(payload.as_bytes()),
    ]
    .concat()
}

/// The credentials of `auth` for a request; for `private_key_jwt`, the
/// signed `assertion` (the signing input of [`assertion_signing_input`], a
/// dot, and the signature) must be given.
pub fn credentials(auth: &ClientAuth, client_id: &str, assertion: Option<&str>) -> Result<Credentials> {
    Ok(match auth {
        ClientAuth::SecretBasic(secret) => Credentials {
            body: Vec::new(),
            authorization: Some(basic_authorization(client_id, secret.expose())),
        },
        ClientAuth::SecretPost(secret) => Credentials {
            body: vec![
                ("client_id", client_id.to_string()),
                ("client_secret", secret.expose().to_string()),
            ],
            authorization: None,
        },
        ClientAuth::PrivateKeyJwt { .. } => {
            let jwt = assertion.filter(|a| a.split('.').count() == 3).ok_or_else(|| {
                AuthError::new(
                    code::INVALID_CONFIG,
                    "private_key_jwt: the client assertion was not signed",
                )
            })?;
            Credentials {
                body: vec![
                    ("client_id", client_id.to_string()),
                    ("client_assertion_type", JWT_BEARER.to_string()),
                    ("client_assertion", jwt.to_string()),
                ],
                authorization: None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;

    #[test]
    fn basic_encodes_each_part_form_urlencoded_then_base64() {
        // RFC 6749 §2.3.1 with characters that need encoding: `:` in the id
        // would otherwise split the pair; a space is `+`.
        let h = basic_authorization("my app:1", "s3cr%t é");
        let decoded = String::from_utf8(STANDARD.decode(h.strip_prefix("Basic ").unwrap()).unwrap()).unwrap();
        assert_eq!(decoded, "my+app%3A1:s3cr%25t+%C3%A9");
        assert_eq!(
            basic_authorization("app", "secret"),
            ["Basic ", &STANDARD.encode("app:secret")].concat()
        );
    }

    #[test]
    fn each_method_puts_its_credentials_where_the_spec_says() {
        let secret = || Some("s".to_string());
        let basic = ClientAuth::from_options(None, secret(), None, None).unwrap();
        let c = credentials(&basic, "app", None).unwrap();
        assert!(c.body.is_empty());
        assert_eq!(c.authorization.as_deref(), Some("Basic YXBwOnM="));
        let post = ClientAuth::from_options(Some("client_secret_post"), secret(), None, None).unwrap();
        let c = credentials(&post, "app", None).unwrap();
        assert_eq!(
            c.body,
            vec![
                ("client_id", "app".to_string()),
                ("client_secret", "s".to_string())
            ]
        );
        assert_eq!(c.authorization, None);
        let jwt = ClientAuth::from_options(Some("private_key_jwt"), None, Some("ES256"), Some("k1".into()))
            .unwrap();
        // Unsigned: refused, never sent without its assertion.
        assert!(credentials(&jwt, "app", None).is_err());
        assert!(credentials(&jwt, "app", Some("not-a-jwt")).is_err());
        let c = credentials(&jwt, "app", Some("a.b.c")).unwrap();
        assert_eq!(c.body[1], ("client_assertion_type", JWT_BEARER.to_string()));
        assert_eq!(c.body[2], ("client_assertion", "a.b.c".to_string()));
        // Debug never shows a secret.
        assert_eq!(format!("{c:?}"), "Credentials(<redacted>)");
        assert_eq!(
            format!("{basic:?}"),
            "SecretBasic(ClientSecret(<redacted 1 bytes>))"
        );
    }

    #[test]
    fn options_refused_with_reasons() {
        let e = |m: Option<&str>, s: Option<&str>, alg: Option<&str>| {
            ClientAuth::from_options(m, s.map(str::to_string), alg, None).unwrap_err()
        };
        assert!(e(None, None, None)
            .message()
            .contains("`clientSecret` is required"));
        assert!(e(Some("client_secret_post"), Some(""), None)
            .message()
            .contains("required"));
        assert!(e(Some("private_key_jwt"), None, Some("HS256"))
            .message()
            .contains("`alg`"));
        assert!(e(Some("private_key_jwt"), Some("s"), None)
            .message()
            .contains("not used"));
        assert!(e(Some("tls_client_auth"), Some("s"), None)
            .message()
            .contains("clientAuthMethod"));
        for c in [e(None, None, None), e(Some("x"), None, None)] {
            assert_eq!(c.code(), code::INVALID_CONFIG);
        }
    }

    #[test]
    fn the_provider_must_accept_the_method() {
        let basic = ClientAuth::SecretBasic(ClientSecret::new("s"));
        assert!(basic.check_supported(None).is_ok(), "the discovery default");
        let post = ClientAuth::SecretPost(ClientSecret::new("s"));
        assert!(post.check_supported(None).is_err());
        let list = vec!["private_key_jwt".to_string(), "client_secret_post".to_string()];
        assert!(post.check_supported(Some(&list)).is_ok());
        assert!(basic.check_supported(Some(&list)).is_err());
    }

    #[test]
    fn the_assertion_names_the_client_and_the_endpoint_for_one_minute() {
        let input = assertion_signing_input(
            "ES256",
            Some("k1"),
            "app",
            "https://id.example.com/token",
            "j1",
            1000,
        );
        let (h, p) = input.split_once('.').unwrap();
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
        let payload: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": "k1"})
        );
        assert_eq!(
            payload,
            serde_json::json!({"iss": "app", "sub": "app", "aud": "https://id.example.com/token", "jti": "j1", "iat": 1000, "exp": 1060})
        );
        // A client id with a quote stays one JSON string.
        let odd = assertion_signing_input("RS256", None, "a\"b", "https://x/t", "j", 1);
        let (_, p) = odd.split_once('.').unwrap();
        let payload: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
        assert_eq!(payload["iss"], "a\"b");
    }
}
