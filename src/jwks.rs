//! The provider's JSON Web Key Set (RFC 7517) and the choice of the key that
//! may verify a given ID token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use crate::crypto::MIN_RSA_BITS;
use crate::error::{code, AuthError, Result};
use crate::json;

/// One public key, with the members this library looks at.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    pub kid: Option<String>,
    #[serde(rename = "use")]
    pub use_: Option<String>,
    pub alg: Option<String>,
    pub key_ops: Option<Vec<String>>,
    pub n: Option<String>,
    pub e: Option<String>,
    pub crv: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
    /// Present only in private or symmetric keys, which a JWKS must never publish.
    pub d: Option<String>,
    pub k: Option<String>,
}

/// A parsed key set. Keys this library cannot read are left out, not fatal:
/// a set may hold encryption keys or key types of the future.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

pub fn parse_jwks(body: &str) -> Result<JwkSet> {
    let raw: RawSet = json::from_str(body).map_err(|e| {
        AuthError::new(
            code::INVALID_JWKS,
            format!("the JWKS is not a JSON object with `keys`: {e}"),
        )
    })?;
    let keys = raw
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
        .filter(|k| k.d.is_none() && k.k.is_none())
        .collect();
    Ok(JwkSet { keys })
}

/// Why no key could be chosen.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyChoice<'a> {
    Key(&'a Jwk),
    /// No key has the token's `kid` (or, without a `kid`, no key fits): the set may be
    /// stale after a key rotation, so it is worth fetching it again once.
    Unknown(String),
    /// Keys exist for the `kid` but none may verify this algorithm.
    Unfit(String),
    /// No `kid`, and several keys fit (OIDC Core §10.1: "If there are multiple
    /// keys in the referenced JWK Set document, a kid value MUST be provided").
    Ambiguous,
}

impl JwkSet {
    pub fn choose(&self, alg: &str, kid: Option<&str>) -> KeyChoice<'_> {
        match kid {
            Some(kid) => {
                let with_kid: Vec<&Jwk> = self
                    .keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid))
                    .collect();
                if with_kid.is_empty() {
                    return KeyChoice::Unknown(format!("no key in the JWKS has kid {kid:?}"));
                }
                let mut why = String::new();
                for k in with_kid {
                    match key_fits(k, alg) {
                        Ok(()) => return KeyChoice::Key(k),
                        Err(w) => why = w,
                    }
                }
                KeyChoice::Unfit(format!("the key with kid {kid:?} cannot verify {alg}: {why}"))
            }
            None => {
                let fitting: Vec<&Jwk> = self.keys.iter().filter(|k| key_fits(k, alg).is_ok()).collect();
                match fitting.as_slice() {
                    [one] => KeyChoice::Key(one),
                    [] => KeyChoice::Unknown(format!(
                        "the token has no kid and no key in the JWKS can verify {alg}"
                    )),
                    _ => KeyChoice::Ambiguous,
                }
            }
        }
    }
}

fn b64_len(v: &Option<String>) -> Option<Vec<u8>> {
    v.as_deref().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
}

/// RFC 7517 §4.2–4.4 and RFC 7518 §6: a key is used only for what it says it is for.
pub fn key_fits(k: &Jwk, alg: &str) -> std::result::Result<(), String> {
    if k.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err(format!(
            "its use is {:?}, not \"sig\"",
            k.use_.as_deref().unwrap_or_default()
        ));
    }
    if k.key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
    {
        return Err("its key_ops do not include \"verify\"".into());
    }
    if k.alg.as_deref().is_some_and(|a| a != alg) {
        return Err(format!("it is for {:?}", k.alg.as_deref().unwrap_or_default()));
    }
    match alg {
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => {
            if k.kty != "RSA" {
                return Err(format!("its kty is {:?}, not \"RSA\"", k.kty));
            }
            let n = b64_len(&k.n).ok_or("its modulus n is missing or not base64url")?;
            b64_len(&k.e).ok_or("its exponent e is missing or not base64url")?;
            let first = n.iter().position(|b| *b != 0).unwrap_or(n.len());
            let bits = (n.len() - first) * 8 - n.get(first).map_or(8, |b| b.leading_zeros() as usize);
            if bits < MIN_RSA_BITS {
                return Err(format!("its modulus has {bits} bits, fewer than {MIN_RSA_BITS}"));
            }
            Ok(())
        }
        "ES256" => {
            if k.kty != "EC" || k.crv.as_deref() != Some("P-256") {
                return Err("it is not an EC key on P-256".into());
            }
            match (b64_len(&k.x), b64_len(&k.y)) {
                (Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => Ok(()),
                _ => Err("its coordinates are not 32-byte base64url values".into()),
            }
        }
        _ => Err(format!("{alg} is not supported")),
    }
}

/// The jsonwebtoken key of a JWK that [`key_fits`].
pub fn decoding_key(k: &Jwk) -> Option<DecodingKey> {
    match k.kty.as_str() {
        "RSA" => DecodingKey::from_rsa_components(k.n.as_deref()?, k.e.as_deref()?).ok(),
        "EC" => DecodingKey::from_ec_components(k.x.as_deref()?, k.y.as_deref()?).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa(kid: &str, bits: usize) -> Jwk {
        let mut n = vec![0u8; bits / 8];
        n[0] = 0x80;
        Jwk {
            kty: "RSA".into(),
            kid: Some(kid.into()),
            n: Some(URL_SAFE_NO_PAD.encode(n)),
            e: Some("AQAB".into()),
            ..Default::default()
        }
    }

    fn ec(kid: &str) -> Jwk {
        Jwk {
            kty: "EC".into(),
            kid: Some(kid.into()),
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode([1u8; 32])),
            y: Some(URL_SAFE_NO_PAD.encode([2u8; 32])),
            ..Default::default()
        }
    }

    #[test]
    fn parses_sets_and_skips_unreadable_or_private_keys() {
        let body = r#"{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"},{"nonsense":1},
            {"kty":"oct","k":"c2VjcmV0"},{"kty":"RSA","kid":"p","n":"x","e":"AQAB","d":"private"}]}"#;
        let set = parse_jwks(body).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert_eq!(set.keys[0].kid.as_deref(), Some("a"));
        for bad in ["", "[]", "{}", r#"{"keys":5}"#] {
            assert_eq!(parse_jwks(bad).unwrap_err().code(), code::INVALID_JWKS, "{bad}");
        }
    }

    #[test]
    fn chooses_by_kid_and_fitness() {
        let set = JwkSet {
            keys: vec![rsa("r1", 2048), ec("e1"), rsa("weak", 1024)],
        };
        assert_eq!(set.choose("RS256", Some("r1")), KeyChoice::Key(&set.keys[0]));
        assert_eq!(set.choose("ES256", Some("e1")), KeyChoice::Key(&set.keys[1]));
        assert!(matches!(set.choose("RS256", Some("nope")), KeyChoice::Unknown(_)));
        assert!(matches!(set.choose("ES256", Some("r1")), KeyChoice::Unfit(_)));
        assert!(matches!(set.choose("RS256", Some("e1")), KeyChoice::Unfit(_)));
        match set.choose("RS256", Some("weak")) {
            KeyChoice::Unfit(why) => assert!(why.contains("1024 bits"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(set.choose("ES256", None), KeyChoice::Key(&set.keys[1]));
        let two = JwkSet {
            keys: vec![rsa("a", 2048), rsa("b", 4096)],
        };
        assert_eq!(two.choose("RS256", None), KeyChoice::Ambiguous);
        assert!(matches!(
            JwkSet::default().choose("RS256", None),
            KeyChoice::Unknown(_)
        ));
    }

    #[test]
    fn use_alg_and_key_ops_must_allow_verification() {
        let enc = Jwk {
            use_: Some("enc".into()),
            ..rsa("k", 2048)
        };
        assert!(key_fits(&enc, "RS256").unwrap_err().contains("enc"));
        let other_alg = Jwk {
            alg: Some("PS256".into()),
            ..rsa("k", 2048)
        };
        assert!(key_fits(&other_alg, "RS256").is_err());
        assert!(key_fits(&other_alg, "PS256").is_ok());
        let ops = Jwk {
            key_ops: Some(vec!["encrypt".into()]),
            ..rsa("k", 2048)
        };
        assert!(key_fits(&ops, "RS256").is_err());
        assert!(key_fits(&rsa("k", 2048), "HS256").is_err());
        let p384 = Jwk {
            crv: Some("P-384".into()),
            ..ec("e")
        };
        assert!(key_fits(&p384, "ES256").is_err());
    }
}
