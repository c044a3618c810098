//! The provider's JSON Web Key Set (RFC 7517) and the choice of the key that
//! may verify a given ID token.

use serde::Deserialize;

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

impl Jwk {
    /// A key of a set, read member by member: `None` when `kty` is missing or
    /// a member this library reads has another type than the JWK's.
    fn from_object(o: &json::Object) -> Option<Jwk> {
        let s = |name| json::string(o, name).ok();
        Some(Jwk {
            kty: s("kty")??,
            kid: s("kid")?,
            use_: s("use")?,
            alg: s("alg")?,
            key_ops: json::strings(o, "key_ops").ok()?,
            n: s("n")?,
            e: s("e")?,
            crv: s("crv")?,
            x: s("x")?,
            y: s("y")?,
            d: s("d")?,
            k: s("k")?,
        })
    }
}

pub fn parse_jwks(body: &str) -> Result<JwkSet> {
    let set = json::object(body).map_err(|e| {
        AuthError::new(
            code::INVALID_JWKS,
            msg!("the JWKS is not a JSON object with `keys`: {e}"),
        )
    })?;
    let Some(crate::json::Value::Array(keys)) = set.get("keys") else {
        return Err(AuthError::new(
            code::INVALID_JWKS,
            "the JWKS is not a JSON object with `keys` (an array)",
        ));
    };
    let keys = keys
        .iter()
        .filter_map(|k| k.as_object().and_then(Jwk::from_object))
        .filter(|k| k.d.is_none() && k.k.is_none())
        .collect();
    Ok(JwkSet { keys })
}

/// The smallest RSA modulus accepted (NIST SP 800-131A; RFC 7518 §3.3: "A key of
/// size 2048 bits or larger MUST be used with these algorithms").
pub const MIN_RSA_BITS: usize = 2048;

/// How long a fetched key set is trusted when its response says nothing
/// (`Cache-Control` without `max-age`): 10 minutes, as jose's remote key sets.
pub const DEFAULT_KEY_SET_MAX_AGE_S: u64 = 600;
/// The longest a key set is ever trusted, whatever the response or the app says.
pub const MAX_KEY_SET_MAX_AGE_S: u64 = 24 * 3600;

/// How long a key set fetched with this `Cache-Control` header may be used:
/// the response's `max-age` (none at all for `no-store` or `no-cache`), else
/// the app's `jwksMaxAge`, else [`DEFAULT_KEY_SET_MAX_AGE_S`]; never more than
/// the app's `jwksMaxAge` nor 24 hours. A withdrawn key thus stops verifying
/// within this time.
pub fn key_set_lifetime_s(cache_control: Option<&str>, app_max_age_s: Option<u64>) -> u64 {
    let mut from_response = None;
    for directive in cache_control.unwrap_or_default().split(',') {
        let d = directive.trim().to_ascii_lowercase();
        if d == "no-store" || d == "no-cache" {
            return 0;
        }
        if let Some(v) = d.strip_prefix("max-age=") {
            let v = v.trim_matches('"');
            // RFC 9111 §1.2.2: a delta-seconds too large to represent is taken as very large.
            if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                from_response = Some(v.parse::<u64>().unwrap_or(u64::MAX));
            } else {
                return 0;
            }
        }
    }
    let chosen = from_response.unwrap_or(app_max_age_s.unwrap_or(DEFAULT_KEY_SET_MAX_AGE_S));
    chosen
        .min(app_max_age_s.unwrap_or(u64::MAX))
        .min(MAX_KEY_SET_MAX_AGE_S)
}

const STORED_KEY_SET_VERSION: u8 = 1;

/// A fetched key set as kept in `tokenStorage`: the body with the time it was
/// fetched and its lifetime.
pub fn stored_key_set(body: &str, fetched_at_ms: u64, lifetime_s: u64) -> String {
    // { v, fetched_at_ms, lifetime_s, jwks: the key set as the provider sent it }
    let mut o = json::Object::new();
    o.insert("v".into(), STORED_KEY_SET_VERSION.into());
    o.insert("fetched_at_ms".into(), fetched_at_ms.into());
    o.insert("lifetime_s".into(), lifetime_s.into());
    o.insert("jwks".into(), body.into());
    crate::json::to_string(&crate::json::Value::Object(o))
}

/// A key set read back from storage, if it is still within its lifetime.
/// Storage is input: an entry in another format, one claiming more than
/// 24 hours, or one fetched in the future (beyond a minute of clock skew)
/// is not used.
pub fn parse_stored_key_set(value: &str, now_ms: u64) -> Option<JwkSet> {
    let o = json::object(value)
        .ok()
        .filter(|o| json::only(o, &["v", "fetched_at_ms", "lifetime_s", "jwks"]))?;
    let number = |name| json::uint(&o, name).ok().flatten();
    let (fetched_at_ms, lifetime_s) = (number("fetched_at_ms")?, number("lifetime_s")?);
    if number("v") != Some(STORED_KEY_SET_VERSION as u64) || lifetime_s > MAX_KEY_SET_MAX_AGE_S {
        return None;
    }
    let expires_at_ms = fetched_at_ms.checked_add(lifetime_s.checked_mul(1000)?)?;
    if fetched_at_ms > now_ms.saturating_add(60_000) || now_ms >= expires_at_ms {
        return None;
    }
    parse_jwks(&json::string(&o, "jwks").ok()??).ok()
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
                    return KeyChoice::Unknown(msg!(
                        "no key in the JWKS has kid {}",
                        crate::json::quote(kid)
                    ));
                }
                let mut why = String::new();
                for k in with_kid {
                    match key_fits(k, alg) {
                        Ok(()) => return KeyChoice::Key(k),
                        Err(w) => why = w,
                    }
                }
                KeyChoice::Unfit(msg!(
                    "the key with kid {} cannot verify {alg}: {why}",
                    crate::json::quote(kid)
                ))
            }
            None => {
                let fitting: Vec<&Jwk> = self.keys.iter().filter(|k| key_fits(k, alg).is_ok()).collect();
                match fitting.as_slice() {
                    [one] => KeyChoice::Key(one),
                    [] => KeyChoice::Unknown(msg!(
                        "the token has no kid and no key in the JWKS can verify {alg}"
                    )),
                    _ => KeyChoice::Ambiguous,
                }
            }
        }
    }
}

fn b64_len(v: &Option<String>) -> Option<Vec<u8>> {
    v.as_deref().and_then(crate::b64::decode)
}

/// The bit length of a big-endian unsigned integer (leading zero bytes
/// allowed), or `None` when it is zero or empty. Checked arithmetic: `n` is
/// outside input.
fn modulus_bits(n: &[u8]) -> Option<usize> {
    let first = n.iter().position(|b| *b != 0)?;
    let top = n.get(first)?;
    let bytes = n.len().checked_sub(first)?;
    bytes.checked_mul(8)?.checked_sub(top.leading_zeros() as usize)
}

/// RFC 7517 §4.2–4.4 and RFC 7518 §6: a key is used only for what it says it is for.
pub fn key_fits(k: &Jwk, alg: &str) -> std::result::Result<(), String> {
    if k.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err(msg!(
            "its use is {}, not \"sig\"",
            crate::json::quote(k.use_.as_deref().unwrap_or_default())
        ));
    }
    if k.key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
    {
        return Err("its key_ops do not include \"verify\"".into());
    }
    if k.alg.as_deref().is_some_and(|a| a != alg) {
        return Err(msg!(
            "it is for {}",
            crate::json::quote(k.alg.as_deref().unwrap_or_default())
        ));
    }
    match alg {
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => {
            if k.kty != "RSA" {
                return Err(msg!("its kty is {}, not \"RSA\"", crate::json::quote(&k.kty)));
            }
            let n = b64_len(&k.n).ok_or("its modulus n is missing or not base64url")?;
            b64_len(&k.e).ok_or("its exponent e is missing or not base64url")?;
            let bits = modulus_bits(&n).ok_or("its modulus n is zero")?;
            if bits < MIN_RSA_BITS {
                return Err(msg!("its modulus has {bits} bits, fewer than {MIN_RSA_BITS}"));
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
        _ => Err(msg!("{alg} is not supported")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

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
    fn an_empty_or_zero_modulus_is_unfit_not_a_panic() {
        for n in ["", "AA", "AAAA", "AAAAAAAA"] {
            let k = Jwk {
                n: Some(n.into()),
                ..rsa("z", 2048)
            };
            assert!(key_fits(&k, "RS256").is_err(), "{n:?}");
            let set = JwkSet { keys: vec![k] };
            assert!(
                matches!(set.choose("RS256", Some("z")), KeyChoice::Unfit(_)),
                "{n:?}"
            );
        }
        assert_eq!(modulus_bits(&[0, 0, 0x80, 0]), Some(16));
        assert_eq!(modulus_bits(&[1]), Some(1));
        assert_eq!(modulus_bits(&[0; 300]), None);
    }

    #[test]
    fn key_set_lifetime_follows_cache_control_within_24_hours() {
        let day = MAX_KEY_SET_MAX_AGE_S;
        assert_eq!(key_set_lifetime_s(None, None), DEFAULT_KEY_SET_MAX_AGE_S);
        assert_eq!(key_set_lifetime_s(Some("public, max-age=300"), None), 300);
        assert_eq!(key_set_lifetime_s(Some("Max-Age=300"), None), 300);
        assert_eq!(key_set_lifetime_s(Some("max-age=999999999"), None), day);
        assert_eq!(
            key_set_lifetime_s(Some("max-age=99999999999999999999999"), None),
            day
        );
        assert_eq!(key_set_lifetime_s(Some("no-store"), None), 0);
        assert_eq!(key_set_lifetime_s(Some("max-age=60, no-cache"), None), 0);
        assert_eq!(key_set_lifetime_s(Some("max-age=-5"), None), 0);
        assert_eq!(
            key_set_lifetime_s(Some("public"), None),
            DEFAULT_KEY_SET_MAX_AGE_S
        );
        // The app's jwksMaxAge sets the default and caps the response's.
        assert_eq!(key_set_lifetime_s(None, Some(30)), 30);
        assert_eq!(key_set_lifetime_s(Some("max-age=3600"), Some(30)), 30);
        assert_eq!(key_set_lifetime_s(Some("max-age=10"), Some(30)), 10);
        assert_eq!(key_set_lifetime_s(None, Some(10 * day)), day);
    }

    #[test]
    fn stored_key_sets_expire_and_are_checked_like_input() {
        let body = r#"{"keys":[{"kty":"EC","kid":"e","crv":"P-256","x":"x","y":"y"}]}"#;
        let t0 = 1_800_000_000_000;
        let stored = stored_key_set(body, t0, 600);
        assert_eq!(parse_stored_key_set(&stored, t0).unwrap().keys.len(), 1);
        assert!(parse_stored_key_set(&stored, t0 + 599_999).is_some());
        assert!(parse_stored_key_set(&stored, t0 + 600_000).is_none());
        // Fetched "in the future", or claiming more than 24 h, or in the old format (a bare set).
        assert!(parse_stored_key_set(&stored, t0 - 120_000).is_none());
        assert!(parse_stored_key_set(&stored_key_set(body, t0, 2 * MAX_KEY_SET_MAX_AGE_S), t0).is_none());
        assert!(parse_stored_key_set(body, t0).is_none());
        assert!(parse_stored_key_set(&stored_key_set(body, u64::MAX, MAX_KEY_SET_MAX_AGE_S), t0).is_none());
        assert!(parse_stored_key_set(&stored_key_set("garbage", t0, 60), t0).is_none());
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
