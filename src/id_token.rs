//! ID token validation: the JWS signature against the provider's keys, then
//! every check of OpenID Connect Core 1.0 §3.1.3.7. A failure is an
//! `invalid_id_token` error whose `reason` names the check.

use crate::json::{Map, Value};

use crate::error::{code, AuthError, Result};
use crate::jwks::{Jwk, JwkSet, KeyChoice};
use crate::secret::constant_time_eq;
use crate::secret::IdToken;

/// The `reason` of an `invalid_id_token` error.
pub mod reason {
    pub const MALFORMED: &str = "malformed";
    pub const ALG: &str = "alg";
    pub const KID: &str = "kid";
    pub const SIGNATURE: &str = "signature";
    pub const ISS: &str = "iss";
    pub const AUD: &str = "aud";
    pub const AZP: &str = "azp";
    pub const EXP: &str = "exp";
    pub const IAT: &str = "iat";
    pub const NBF: &str = "nbf";
    pub const NONCE: &str = "nonce";
    pub const SUB: &str = "sub";
    pub const AUTH_TIME: &str = "auth_time";
}

/// The signing algorithms this library verifies (RFC 7518): with
/// `crypto.subtle` in the browser, with the pure-Rust verifier elsewhere.
pub const SUPPORTED_ALGS: &[&str] = &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256"];

/// Default clock-skew allowance, in seconds.
pub const DEFAULT_LEEWAY_S: u64 = 60;

fn fail(reason: &'static str, message: impl Into<String>) -> AuthError {
    AuthError::new(code::INVALID_ID_TOKEN, message).with_reason(reason)
}

/// What the token must say.
#[derive(Clone, Debug)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The `nonce` sent in the authentication request; `None` for a refreshed token.
    pub nonce: Option<&'a str>,
    /// The `max_age` sent, in seconds.
    pub max_age: Option<u64>,
    /// Signing algorithms allowed, never taken from the token itself.
    pub algs: &'a [String],
    pub leeway_s: u64,
    pub now_s: u64,
    /// Audiences besides `client_id` that the app trusts (`trustedAudiences`).
    pub trusted_audiences: &'a [String],
    /// False only when a stored session is read back: its ID token may have
    /// expired while the session lives on (a valid access or refresh token).
    pub check_expiry: bool,
}

/// A token that passed every check.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedIdToken {
    pub raw: IdToken,
    pub claims: Map<String, Value>,
    pub sub: String,
    pub exp: i64,
}

/// A compact JWS split and decoded (RFC 7515 §7.1), nothing trusted yet:
/// what an ID token and a Logout Token (`crate::backchannel`) both are.
pub(crate) struct Parts<'a> {
    pub alg: String,
    pub kid: Option<String>,
    /// `BASE64URL(header) "." BASE64URL(payload)`, what was signed (RFC 7515 §5.2).
    pub signing_input: &'a str,
    /// The third part, base64url.
    pub signature: &'a str,
    pub claims: Map<String, Value>,
}

/// A base64url part that must be a JSON object (UTF-8, RFC 8259 §8.1).
pub(crate) fn b64_json(part: &str) -> Option<Map<String, Value>> {
    let bytes = crate::b64::decode(part)?;
    crate::json::object(std::str::from_utf8(&bytes).ok()?).ok()
}

/// Splits and decodes a compact JWS (RFC 7515 §7.1) of at most
/// `max_bytes`, without trusting anything yet; a refusal is its reason
/// (`malformed`, `alg`, `signature`) and message, for the caller's error
/// code (which names the token).
pub(crate) fn parse_jws(
    token: &str,
    max_bytes: usize,
) -> std::result::Result<Parts<'_>, (&'static str, &'static str)> {
    if token.len() > max_bytes {
        return Err((reason::MALFORMED, "the token is larger than this library reads"));
    }
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err((
            reason::MALFORMED,
            "the token is not a JWS of three parts (a JWE or garbage?)",
        ));
    };
    if s.is_empty() {
        return Err((reason::ALG, "the token is unsigned"));
    }
    // (A JSON object, read like the payload: one parser for both.)
    let header = b64_json(h).ok_or((
        reason::MALFORMED,
        "the token's header is not a base64url JSON object",
    ))?;
    // RFC 7515 §4.1.11: unknown critical extensions make the JWS invalid; this
    // library understands none.
    if header.get("crit").is_some_and(|c| !c.is_null()) {
        return Err((reason::MALFORMED, "the token's header has `crit` extensions"));
    }
    let alg = match header.get("alg") {
        Some(Value::String(a)) => a.clone(),
        _ => return Err((reason::ALG, "the token's header has no `alg`")),
    };
    let kid = match header.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err((reason::MALFORMED, "the token's `kid` is not a string")),
    };
    let claims = b64_json(p).ok_or((
        reason::MALFORMED,
        "the token's payload is not a base64url JSON object",
    ))?;
    // RFC 7515 §7.1: the third part is BASE64URL(JWS Signature).
    if crate::b64::decode(s).is_none() {
        return Err((reason::SIGNATURE, "the token's signature is not base64url"));
    }
    Ok(Parts {
        alg,
        kid,
        signing_input: token.get(..h.len() + 1 + p.len()).unwrap_or_default(),
        signature: s,
        claims,
    })
}

fn parse(token: &str) -> Result<Parts<'_>> {
    parse_jws(token, crate::json::MAX_BODY_BYTES).map_err(|(r, m)| fail(r, m))
}

/// The signing algorithms to allow: the app's list, else the provider's
/// `id_token_signing_alg_values_supported`, else RS256 (OIDC Core §15.1 makes
/// it mandatory to implement), each only if this library can verify it.
pub fn allowed_algs(app: Option<&[String]>, provider: Option<&[String]>) -> Vec<String> {
    let default = ["RS256".to_string()];
    let list = app.or(provider).unwrap_or(&default);
    list.iter()
        .filter(|a| SUPPORTED_ALGS.contains(&a.as_str()))
        .cloned()
        .collect()
}

/// A JWS signature to check, by whichever verifier the platform has:
/// `crypto.subtle` in the browser, the pure-Rust one (feature `rust-verifier`)
/// in its own module where that is missing, and on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureCheck {
    pub alg: String,
    /// The provider's key chosen for the token (it fits `alg`: see [`crate::jwks::key_fits`]).
    pub jwk: Jwk,
    pub signing_input: String,
    /// The third part of the token, base64url (it decodes: checked when
    /// the token was split).
    pub signature: String,
}

impl SignatureCheck {
    /// As the drivers' `Check` (JSON): with the WebCrypto algorithm of its `alg`.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut check = Map::new();
        check.insert("alg".into(), self.alg.as_str().into());
        check.insert("jwk".into(), public_jwk(&self.jwk).into());
        check.insert("input".into(), self.signing_input.as_str().into());
        check.insert("signature".into(), self.signature.as_str().into());
        if let Some(w) = crate::id_token::web_crypto(&self.alg) {
            check.insert("params".into(), Value::Object(w.to_json()));
        }
        check
    }
}

/// The members of a key that verification needs, as JSON text (a JWK's
/// `alg`, `use` or `key_ops` were checked by the core; WebCrypto would
/// refuse some of them).
fn public_jwk(k: &crate::jwks::Jwk) -> String {
    let mut m = Map::new();
    m.insert("kty".into(), k.kty.as_str().into());
    for (name, value) in [
        ("n", &k.n),
        ("e", &k.e),
        ("crv", &k.crv),
        ("x", &k.x),
        ("y", &k.y),
    ] {
        crate::json::put(&mut m, name, value.as_deref());
    }
    crate::json::to_string(&Value::Object(m))
}

/// How WebCrypto (`crypto.subtle`) imports a key of `alg` and verifies
/// with it: one algorithm object for both (`importKey` and `verify` each
/// read the members their algorithm has: `name` and `hash`, `namedCurve`,
/// `saltLength`); `None` for an algorithm this library never verifies.
/// RFC 7518 §3.3 (RSASSA-PKCS1-v1_5), §3.5 (RSASSA-PSS: "the size of the
/// salt value is the same size as the hash function output"), §3.4 (ECDSA
/// P-256 with SHA-256).
pub fn web_crypto(alg: &str) -> Option<WebCrypto> {
    let (hash, salt) = match alg.get(2..)? {
        "256" => ("SHA-256", 32),
        "384" => ("SHA-384", 48),
        "512" => ("SHA-512", 64),
        _ => return None,
    };
    let (name, curve) = match alg.get(..2)? {
        "RS" => ("RSASSA-PKCS1-v1_5", None),
        "PS" => ("RSA-PSS", None),
        "ES" if salt == 32 => ("ECDSA", Some("P-256")),
        _ => return None,
    };
    Some(WebCrypto {
        name,
        hash,
        curve,
        salt,
    })
}

/// A WebCrypto algorithm object for a signature check (see [`web_crypto`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebCrypto {
    pub name: &'static str,
    pub hash: &'static str,
    /// ECDSA's `namedCurve`.
    pub curve: Option<&'static str>,
    /// RSA-PSS's `saltLength` (bytes).
    pub salt: u32,
}

impl WebCrypto {
    /// The algorithm object WebCrypto's `importKey`, `verify` and `sign` take.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), self.name.into());
        m.insert("hash".into(), self.hash.into());
        crate::json::put(&mut m, "namedCurve", self.curve);
        m.insert("saltLength".into(), u64::from(self.salt).into());
        m
    }
}

/// An ID token whose signature is being checked: nothing in it is trusted yet.
#[derive(Debug)]
pub struct Unverified {
    raw: IdToken,
    claims: Map<String, Value>,
}

/// The first half of verification: parses the token, checks its algorithm is
/// allowed, and chooses the provider's key. The signature is then checked by
/// the platform's verifier and the answer given to [`finish_verification`].
pub fn begin_verification(
    token: &str,
    jwks: &JwkSet,
    algs: &[String],
) -> Result<(SignatureCheck, Unverified)> {
    let parts = parse(token)?;
    let jwk = choose_key(&parts, jwks, algs)?;
    let check = SignatureCheck {
        alg: parts.alg.clone(),
        jwk: jwk.clone(),
        signing_input: parts.signing_input.to_string(),
        signature: parts.signature.to_string(),
    };
    Ok((
        check,
        Unverified {
            raw: IdToken::new(token),
            claims: parts.claims,
        },
    ))
}

/// The platform's answer for a JWS signature of `what` (an ID token, a
/// Logout Token): valid, or the message of the refusal (`Err` from the
/// platform: it could not check it).
pub fn signature_verdict(
    signature: std::result::Result<bool, String>,
    what: &str,
) -> std::result::Result<(), String> {
    match signature {
        Ok(true) => Ok(()),
        Ok(false) => Err(msg!(
            "the {what}'s signature does not verify with the provider's key"
        )),
        Err(why) => Err(msg!("the {what}'s signature could not be checked: {why}")),
    }
}

/// The second half: the verifier's answer for the signature (`Err` when it
/// could not check it), then every claim.
pub fn finish_verification(
    token: Unverified,
    signature: std::result::Result<bool, String>,
    expected: &Expected<'_>,
) -> Result<VerifiedIdToken> {
    signature_verdict(signature, "ID token").map_err(|m| fail(reason::SIGNATURE, m))?;
    let (sub, exp) = check_claims(&token.claims, expected)?;
    Ok(VerifiedIdToken {
        raw: token.raw,
        claims: token.claims,
        sub,
        exp,
    })
}

/// OIDC Core §3.1.3.7 step 6–7: "The Client MUST validate the signature of all
/// other ID Tokens according to JWS using the algorithm specified in the JWT alg
/// Header Parameter. The Client MUST use the keys provided by the Issuer." The
/// allowed algorithms come from configuration, never from the token: `none`
/// and HMAC (which would make the public key a shared secret) are never allowed.
fn choose_key<'k>(parts: &Parts<'_>, jwks: &'k JwkSet, algs: &[String]) -> Result<&'k Jwk> {
    if !algs.contains(&parts.alg) {
        return Err(fail(
            reason::ALG,
            msg!(
                "the ID token is signed with {}, which is not among the allowed {}",
                crate::json::quote(&parts.alg),
                crate::json::quote_list(algs)
            ),
        ));
    }
    match jwks.choose(&parts.alg, parts.kid.as_deref()) {
        KeyChoice::Key(k) => Ok(k),
        KeyChoice::Unknown(why) | KeyChoice::Unfit(why) => Err(fail(reason::KID, why)),
        KeyChoice::Ambiguous => Err(fail(
            reason::KID,
            "the ID token has no kid and the JWKS has several keys that fit",
        )),
    }
}

fn num(claims: &Map<String, Value>, name: &str) -> Option<Option<f64>> {
    match claims.get(name) {
        None => Some(None),
        Some(Value::Number(n)) => n.as_f64().filter(|f| f.is_finite()).map(Some),
        Some(_) => None,
    }
}

fn check_claims(c: &Map<String, Value>, e: &Expected<'_>) -> Result<(String, i64)> {
    // Step 2: "The Issuer Identifier for the OpenID Provider ... MUST exactly match the value of the iss (issuer) Claim."
    match c.get("iss") {
        Some(Value::String(iss)) if iss == e.issuer => {}
        other => {
            return Err(fail(
                reason::ISS,
                msg!(
                    "the ID token's iss is {}, not {}",
                    other.map_or("missing".into(), crate::json::to_string),
                    crate::json::quote(e.issuer)
                ),
            ))
        }
    }
    // Step 3: "The Client MUST validate that the aud (audience) Claim contains its
    // client_id value ... The ID Token MUST be rejected if the ID Token does not
    // list the Client as a valid audience".
    let aud: Vec<&str> = match c.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => {
            list.iter().filter_map(Value::as_str).collect()
        }
        _ => {
            return Err(fail(
                reason::AUD,
                "the ID token's aud is missing or not a string or array of strings",
            ))
        }
    };
    if !aud.contains(&e.client_id) {
        return Err(fail(
            reason::AUD,
            msg!(
                "the ID token's aud {} does not contain {}",
                crate::json::quote_list(&aud),
                crate::json::quote(e.client_id)
            ),
        ));
    }
    // Steps 4–5: "If the ID Token contains multiple audiences, the Client SHOULD
    // verify that an azp Claim is present. If an azp (authorized party) Claim
    // is present, the Client SHOULD verify that its client_id is the Claim Value."
    // Both are enforced.
    match c.get("azp") {
        None if aud.len() > 1 => {
            return Err(fail(reason::AZP, "the ID token has several audiences and no azp"));
        }
        None => {}
        Some(Value::String(azp)) if azp == e.client_id => {}
        Some(other) => {
            return Err(fail(
                reason::AZP,
                msg!(
                    "the ID token's azp is {}, not {}",
                    crate::json::to_string(other),
                    crate::json::quote(e.client_id)
                ),
            ))
        }
    }
    // Step 3 goes on (checked after azp, so that several audiences without
    // an azp are reported as that): "The ID Token MUST be rejected if ... it contains
    // additional audiences not trusted by the Client." Trusted: the ones the
    // app lists in `trustedAudiences`, none by default.
    if let Some(extra) = aud
        .iter()
        .find(|a| **a != e.client_id && !e.trusted_audiences.iter().any(|t| t == *a))
    {
        return Err(fail(
            reason::AUD,
            msg!(
                "the ID token's aud has {}, an audience this client does not trust (add it to `trustedAudiences` if it should be)",
                crate::json::quote(extra)
            ),
        ));
    }
    let now = e.now_s as f64;
    let leeway = e.leeway_s as f64;
    // Step 9: "The current time MUST be before the time represented by the exp
    // Claim (possibly allowing for some small leeway to account for clock skew)."
    let exp = match num(c, "exp") {
        Some(Some(exp)) => exp,
        _ => return Err(fail(reason::EXP, "the ID token has no numeric exp")),
    };
    if e.check_expiry && now >= exp + leeway {
        return Err(fail(reason::EXP, "the ID token has expired"));
    }
    // Step 10: "The iat Claim can be used to reject tokens that were issued too
    // far away from the current time". iat is REQUIRED (§2); one in the future
    // (beyond the leeway) is refused.
    match num(c, "iat") {
        Some(Some(iat)) if iat <= now + leeway => {}
        Some(Some(_)) => return Err(fail(reason::IAT, "the ID token was issued in the future (iat)")),
        _ => return Err(fail(reason::IAT, "the ID token has no numeric iat")),
    }
    // RFC 7519 §4.1.5: the JWT "MUST NOT be accepted for processing" before nbf.
    match num(c, "nbf") {
        Some(None) => {}
        Some(Some(nbf)) if nbf <= now + leeway => {}
        Some(Some(_)) => return Err(fail(reason::NBF, "the ID token is not valid yet (nbf)")),
        None => return Err(fail(reason::NBF, "the ID token's nbf is not a number")),
    }
    // Step 11: "If a nonce value was sent in the Authentication Request, a nonce
    // Claim MUST be present and its value checked to verify that it is the same
    // value as the one that was sent in the Authentication Request."
    if let Some(sent) = e.nonce {
        match c.get("nonce") {
            Some(Value::String(n)) if constant_time_eq(n.as_bytes(), sent.as_bytes()) => {}
            Some(_) => return Err(fail(reason::NONCE, "the ID token's nonce is not the one sent")),
            None => return Err(fail(reason::NONCE, "the ID token has no nonce, yet one was sent")),
        }
    }
    // §2: sub is REQUIRED, "It MUST NOT exceed 255 ASCII characters in length."
    let sub = match c.get("sub") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => s.clone(),
        _ => {
            return Err(fail(
                reason::SUB,
                "the ID token's sub is missing, empty or too long",
            ))
        }
    };
    // Step 13: "If the auth_time Claim was requested, either through a specific
    // request for this Claim or by using the max_age parameter, the Client SHOULD
    // check the auth_time Claim value and request re-authentication if it
    // determines too much time has elapsed since the last End-User authentication."
    if let Some(max_age) = e.max_age {
        match num(c, "auth_time") {
            Some(Some(t)) if t + max_age as f64 + leeway >= now => {}
            Some(Some(_)) => {
                return Err(fail(
                    reason::AUTH_TIME,
                    "the last authentication is older than maxAge",
                ))
            }
            _ => {
                return Err(fail(
                    reason::AUTH_TIME,
                    "maxAge was sent but the ID token has no auth_time",
                ))
            }
        }
    }
    Ok((sub, exp.floor() as i64))
}

/// The same End-User at the same provider and client: `iss`, `sub`, `aud`
/// and `azp` as in `previous`. What silent renewal (`prompt=none`) must find
/// in its new ID token before it may replace a session: the provider's
/// session may belong to someone else by now (another login in another
/// tab), and a renewal must never switch the user. Unlike a refresh (§12.2,
/// [`check_same_subject`]), it is a new authentication: its `auth_time` may
/// be newer.
pub fn check_same_end_user(previous: &VerifiedIdToken, new: &VerifiedIdToken) -> Result<()> {
    if previous.sub != new.sub {
        return Err(fail(reason::SUB, "the new ID token is for another subject"));
    }
    for (name, why) in [("iss", reason::ISS), ("aud", reason::AUD), ("azp", reason::AZP)] {
        if previous.claims.get(name) != new.claims.get(name) {
            return Err(fail(why, msg!("the new ID token has another {name}")));
        }
    }
    Ok(())
}

/// OIDC Core §12.2: a refresh response's ID token must describe the same
/// authentication as the session's one: "its iss Claim Value MUST be the same
/// as in the ID Token issued when the original authentication occurred, its
/// sub Claim Value MUST be the same ..., its aud Claim Value MUST be the same
/// ..., if the ID Token contains an auth_time Claim, its value MUST represent
/// the time of the original authentication - not the time that the new ID
/// token is issued, its azp Claim Value MUST be the same ...; if no azp Claim
/// was present in the original ID Token, one MUST NOT be present in the new
/// ID Token". A refreshed token without `auth_time` is allowed (the Claim is
/// conditional); one with it must carry the original's value.
pub fn check_same_subject(previous: &VerifiedIdToken, new: &VerifiedIdToken) -> Result<()> {
    check_same_end_user(previous, new)?;
    if let Some(t) = new.claims.get("auth_time") {
        if previous.claims.get("auth_time") != Some(t) {
            return Err(fail(
                reason::AUTH_TIME,
                "the refreshed ID token's auth_time is not the original authentication's",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{hs256_with, jwks, sign, unsigned, verify_id_token};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    // Tokens are built with serde_json (test tooling); what the library
    // reads is checked through its own Value.
    use serde_json::{json, Value};

    const ISS: &str = "https://id.example.com";
    const NOW: u64 = 1_800_000_000;
    const NONCE: &str = "n-0S6_WzA2Mj";

    fn claims() -> Value {
        json!({"iss": ISS, "sub": "alice", "aud": "app", "exp": NOW + 600, "iat": NOW - 5,
               "nonce": NONCE, "auth_time": NOW - 100, "name": "Alice"})
    }

    fn algs() -> Vec<String> {
        vec!["RS256".into(), "ES256".into()]
    }

    fn verify_with(token: &str, set: &JwkSet, max_age: Option<u64>) -> Result<VerifiedIdToken> {
        let algs = algs();
        let e = Expected {
            issuer: ISS,
            client_id: "app",
            nonce: Some(NONCE),
            max_age,
            algs: &algs,
            leeway_s: 60,
            now_s: NOW,
            trusted_audiences: &["api".to_string()],
            check_expiry: true,
        };
        verify_id_token(token, set, &e)
    }

    fn verify(token: &str) -> Result<VerifiedIdToken> {
        verify_with(token, &jwks(&["rsa", "ec"]), None)
    }

    fn reason_of(token: &str) -> &'static str {
        let e = verify(token).unwrap_err();
        assert_eq!(e.code(), code::INVALID_ID_TOKEN);
        e.reason().unwrap()
    }

    fn with(changes: Value) -> Value {
        let mut c = claims();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    #[test]
    fn valid_rs256_and_es256_tokens_verify() {
        for key in ["rsa", "ec"] {
            let t = verify(&sign(key, json!({}), &claims())).unwrap();
            assert_eq!(t.sub, "alice");
            assert_eq!(t.exp, (NOW + 600) as i64);
            assert_eq!(t.claims["name"], "Alice");
        }
    }

    #[test]
    fn a_tampered_payload_or_signature_fails_the_signature() {
        let t = sign("rsa", json!({}), &claims());
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        let forged = with(json!({"sub": "mallory"}));
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(reason_of(&parts.join(".")), reason::SIGNATURE);
        // Signed by another key under the known kid.
        let other = sign("rsaRotated", json!({"kid": "rsa-1"}), &claims());
        assert_eq!(reason_of(&other), reason::SIGNATURE);
        let es = sign("ec", json!({}), &claims());
        let bad_sig = format!("{}{}", &es[..es.len() - 4], "AAAA");
        assert_eq!(reason_of(&bad_sig), reason::SIGNATURE);
        // A third part that is not base64url (padding, the standard alphabet,
        // a stray byte) is refused before any key is looked at.
        for tail in ["=", "+/", "!"] {
            assert_eq!(reason_of(&format!("{es}{tail}")), reason::SIGNATURE, "{tail}");
        }
    }

    #[test]
    fn alg_none_and_hmac_with_the_public_key_are_refused() {
        assert_eq!(reason_of(&unsigned(&claims())), reason::ALG);
        let public_n = crate::test_support::public_jwk("rsa").n.unwrap();
        assert_eq!(
            reason_of(&hs256_with(public_n.as_bytes(), &claims(), "rsa-1")),
            reason::ALG
        );
        // An allowed alg the key does not fit: ES256 header on the RSA kid.
        assert_eq!(
            reason_of(&sign("ec", json!({"kid": "rsa-1"}), &claims())),
            reason::KID
        );
        // Not allowed by configuration even though the key would fit.
        let only_es = vec!["ES256".to_string()];
        let e = Expected {
            issuer: ISS,
            client_id: "app",
            nonce: Some(NONCE),
            max_age: None,
            algs: &only_es,
            leeway_s: 60,
            now_s: NOW,
            trusted_audiences: &[],
            check_expiry: true,
        };
        let err = verify_id_token(&sign("rsa", json!({}), &claims()), &jwks(&["rsa"]), &e).unwrap_err();
        assert_eq!(err.reason(), Some(reason::ALG));
    }

    #[test]
    fn unknown_kid_is_reason_kid_and_a_fresh_jwks_verifies() {
        // (Reason `kid` or `signature` makes the browser glue fetch the key set once more.)
        let t = sign("rsaRotated", json!({}), &claims());
        let old = jwks(&["rsa"]);
        assert_eq!(
            verify_with(&t, &old, None).unwrap_err().reason(),
            Some(reason::KID)
        );
        let fresh = jwks(&["rsa", "rsaRotated"]);
        assert!(verify_with(&t, &fresh, None).is_ok());
    }

    #[test]
    fn a_weak_rsa_key_is_refused() {
        let t = sign("rsaWeak", json!({}), &claims());
        let e = verify_with(&t, &jwks(&["rsaWeak"]), None).unwrap_err();
        assert_eq!(e.reason(), Some(reason::KID));
        assert!(e.message().contains("1024 bits"), "{}", e.message());
    }

    #[test]
    fn malformed_tokens() {
        for t in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.??.xx",
            &format!("{}.e30.sig", URL_SAFE_NO_PAD.encode("[1]")),
        ] {
            assert_eq!(reason_of(t), reason::MALFORMED, "{t:?}");
        }
        assert_eq!(
            reason_of(&sign("rsa", json!({"crit": ["exp"]}), &claims())),
            reason::MALFORMED
        );
    }

    #[test]
    fn every_claim_check_has_its_reason() {
        let cases: Vec<(Value, &str)> = vec![
            (json!({"iss": "https://evil.example.com"}), reason::ISS),
            (json!({"iss": null}), reason::ISS),
            (json!({"aud": "other"}), reason::AUD),
            (json!({"aud": ["other", 5]}), reason::AUD),
            (json!({"aud": null}), reason::AUD),
            (json!({"aud": ["app", "other"]}), reason::AZP),
            (json!({"aud": ["app", "other"], "azp": "other"}), reason::AZP),
            // §3.1.3.7 step 3: "additional audiences not trusted by the Client".
            (json!({"aud": ["app", "other"], "azp": "app"}), reason::AUD),
            (json!({"aud": ["app", "api", "other"], "azp": "app"}), reason::AUD),
            (json!({"aud": ["api"], "azp": "app"}), reason::AUD),
            (json!({"azp": "other"}), reason::AZP),
            (json!({"exp": NOW - 61}), reason::EXP),
            (json!({"exp": null}), reason::EXP),
            (json!({"exp": "tomorrow"}), reason::EXP),
            (json!({"iat": NOW + 61}), reason::IAT),
            (json!({"iat": null}), reason::IAT),
            (json!({"nbf": NOW + 61}), reason::NBF),
            (json!({"nbf": "soon"}), reason::NBF),
            (json!({"nonce": "other"}), reason::NONCE),
            (json!({"nonce": null}), reason::NONCE),
            (json!({"sub": null}), reason::SUB),
            (json!({"sub": ""}), reason::SUB),
            (json!({"sub": "x".repeat(256)}), reason::SUB),
        ];
        for (change, want) in cases {
            let t = sign("rsa", json!({}), &with(change.clone()));
            assert_eq!(reason_of(&t), want, "{change}");
        }
        // Within the leeway: accepted.
        for ok in [
            json!({"exp": NOW - 59}),
            json!({"iat": NOW + 59}),
            json!({"nbf": NOW + 59}),
            json!({"aud": ["app", "api"], "azp": "app"}),
            json!({"aud": ["app"]}),
        ] {
            assert!(verify(&sign("rsa", json!({}), &with(ok.clone()))).is_ok(), "{ok}");
        }
    }

    #[test]
    fn max_age_requires_a_recent_auth_time() {
        let set = jwks(&["rsa"]);
        let fresh = sign("rsa", json!({}), &claims());
        assert!(verify_with(&fresh, &set, Some(300)).is_ok());
        let stale = sign("rsa", json!({}), &with(json!({"auth_time": NOW - 1000})));
        assert_eq!(
            verify_with(&stale, &set, Some(300)).unwrap_err().reason(),
            Some(reason::AUTH_TIME)
        );
        let missing = sign("rsa", json!({}), &with(json!({"auth_time": null})));
        assert_eq!(
            verify_with(&missing, &set, Some(300)).unwrap_err().reason(),
            Some(reason::AUTH_TIME)
        );
        assert!(verify_with(&missing, &set, None).is_ok());
    }

    #[test]
    fn allowed_algs_come_from_config_never_the_token() {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert_eq!(allowed_algs(None, None), s(&["RS256"]));
        assert_eq!(
            allowed_algs(None, Some(&s(&["RS256", "HS256", "none", "ES256"]))),
            s(&["RS256", "ES256"])
        );
        assert_eq!(
            allowed_algs(Some(&s(&["ES256"])), Some(&s(&["RS256"]))),
            s(&["ES256"])
        );
    }

    #[test]
    fn a_refreshed_token_keeps_the_subject() {
        let a = verify(&sign("rsa", json!({}), &claims())).unwrap();
        let same = verify(&sign("rsa", json!({}), &with(json!({"iat": NOW})))).unwrap();
        assert!(check_same_subject(&a, &same).is_ok());
        let other = verify(&sign("rsa", json!({}), &with(json!({"sub": "bob"})))).unwrap();
        assert_eq!(
            check_same_subject(&a, &other).unwrap_err().reason(),
            Some(reason::SUB)
        );
    }

    #[test]
    fn silent_renewal_keeps_the_end_user() {
        let a = verify(&sign("rsa", json!({}), &claims())).unwrap();
        let renewed = |changes: Value| verify(&sign("rsa", json!({}), &with(changes))).unwrap();
        // A new authentication of the same user: a newer auth_time is fine.
        assert!(check_same_end_user(&a, &renewed(json!({"auth_time": NOW - 1, "iat": NOW}))).is_ok());
        for (changes, why) in [
            (json!({"sub": "bob"}), reason::SUB),
            (json!({"aud": ["app", "api"], "azp": "app"}), reason::AUD),
            (json!({"azp": "app"}), reason::AZP),
        ] {
            assert_eq!(
                check_same_end_user(&a, &renewed(changes.clone()))
                    .unwrap_err()
                    .reason(),
                Some(why),
                "{changes}"
            );
        }
        let mut other_issuer = renewed(json!({}));
        other_issuer
            .claims
            .insert("iss".into(), "https://other.example".into());
        assert_eq!(
            check_same_end_user(&a, &other_issuer).unwrap_err().reason(),
            Some(reason::ISS)
        );
    }

    #[test]
    fn a_refreshed_token_keeps_auth_time_and_azp() {
        let a = verify(&sign("rsa", json!({}), &claims())).unwrap();
        let refreshed = |changes: Value| verify(&sign("rsa", json!({}), &with(changes))).unwrap();
        // An earlier (or later) login claimed by the refreshed token.
        for t in [NOW - 5000, NOW - 10] {
            assert_eq!(
                check_same_subject(&a, &refreshed(json!({"auth_time": t})))
                    .unwrap_err()
                    .reason(),
                Some(reason::AUTH_TIME)
            );
        }
        // Without auth_time (the Claim is conditional): accepted.
        assert!(check_same_subject(&a, &refreshed(json!({"auth_time": null}))).is_ok());
        // The original had none, the refreshed one claims one.
        let no_auth_time = refreshed(json!({"auth_time": null}));
        assert_eq!(
            check_same_subject(&no_auth_time, &a).unwrap_err().reason(),
            Some(reason::AUTH_TIME)
        );
        // azp appears, disappears: refused; the same azp: accepted.
        let with_azp = refreshed(json!({"azp": "app"}));
        assert_eq!(
            check_same_subject(&a, &with_azp).unwrap_err().reason(),
            Some(reason::AZP)
        );
        assert_eq!(
            check_same_subject(&with_azp, &a).unwrap_err().reason(),
            Some(reason::AZP)
        );
        assert!(check_same_subject(&with_azp, &refreshed(json!({"azp": "app", "iat": NOW}))).is_ok());
        // Another aud (with the client still in it) is another token.
        let two = refreshed(json!({"aud": ["app", "api"], "azp": "app"}));
        assert_eq!(
            check_same_subject(&with_azp, &two).unwrap_err().reason(),
            Some(reason::AUD)
        );
    }

    #[test]
    fn web_crypto_parameters_follow_each_supported_algorithm() {
        for alg in SUPPORTED_ALGS {
            assert!(web_crypto(alg).is_some(), "{alg}");
        }
        let ps = web_crypto("PS384").unwrap();
        assert_eq!(
            (ps.name, ps.hash, ps.salt, ps.curve),
            ("RSA-PSS", "SHA-384", 48, None)
        );
        let es = web_crypto("ES256").unwrap();
        assert_eq!((es.name, es.hash, es.curve), ("ECDSA", "SHA-256", Some("P-256")));
        assert_eq!(web_crypto("RS512").unwrap().name, "RSASSA-PKCS1-v1_5");
        for other in ["ES384", "HS256", "none", "EdDSA", "RS", "", "RS2560", "ES512"] {
            assert!(web_crypto(other).is_none(), "{other}");
        }
    }
}
