//! OpenID Connect Back-Channel Logout 1.0: the provider tells a backend,
//! server to server, that a session ended, with a signed Logout Token (§2.4)
//! POSTed as `logout_token` (§2.5). Validated as §2.6 says, in two halves
//! around the platform's signature check, like an ID token.

use crate::error::{code, AuthError, Result};
use crate::id_token::SignatureCheck;
use crate::json::{Map, Value};
use crate::jwks::{JwkSet, KeyChoice};

/// §2.4: the member of `events` that makes a JWT a Logout Token.
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How long after its `iat` a Logout Token is taken (seconds). The spec
/// leaves `exp` optional; a bound keeps a captured token from being replayed
/// once its `jti` has left the replay store, which keeps each for this long.
pub const MAX_AGE_S: u64 = 600;

/// Why a Logout Token was refused (the error's `reason`).
pub mod reason {
    pub const MALFORMED: &str = "malformed";
    pub const TYP: &str = "typ";
    pub const ALG: &str = "alg";
    pub const KID: &str = "kid";
    pub const SIGNATURE: &str = "signature";
    pub const ISS: &str = "iss";
    pub const AUD: &str = "aud";
    pub const IAT: &str = "iat";
    pub const EXP: &str = "exp";
    pub const JTI: &str = "jti";
    pub const EVENTS: &str = "events";
    pub const SUB_OR_SID: &str = "sub_or_sid";
    pub const NONCE: &str = "nonce";
    pub const REPLAYED: &str = "replayed";
}

fn fail(reason: &'static str, message: impl Into<String>) -> AuthError {
    AuthError::new(code::INVALID_LOGOUT_TOKEN, message).with_reason(reason)
}

/// What a valid Logout Token says: whose sessions end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutEvent {
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub jti: String,
    /// Until when its `jti` must be remembered (epoch seconds).
    pub remember_until_s: u64,
}

/// The first half: a token before its signature is checked.
#[derive(Debug)]
pub struct UnverifiedLogout {
    claims: Map<String, Value>,
}

/// What the provider's token must be, and what time it is.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub algs: &'a [String],
    pub leeway_s: u64,
    pub now_s: u64,
}

/// §2.6 steps 1–2: "If the Logout Token is encrypted, decrypt it" (this
/// library registers no encryption key: a JWE is refused), then "Validate
/// the Logout Token signature in the same way that an ID Token signature is
/// validated": the algorithm among the configured ones (never `none`, never
/// from the token), the key from the provider's set. And §2.4's explicit
/// typing: a `typ` other than `logout+jwt` (or plain `JWT`) is another
/// kind of token (an access token, `at+jwt`) used where it does not belong.
pub fn begin(token: &str, jwks: &JwkSet, algs: &[String]) -> Result<(SignatureCheck, UnverifiedLogout)> {
    let parts = crate::id_token::parse_jws(token, 16 * 1024).map_err(|(r, m)| fail(r, m))?;
    // (The header parsed already: a JSON object.)
    let header = parts
        .signing_input
        .split('.')
        .next()
        .and_then(crate::id_token::b64_json);
    match header.as_ref().and_then(|h| h.get("typ")) {
        None => {}
        Some(Value::String(t)) => {
            let t = t.to_ascii_lowercase();
            let t = t.strip_prefix("application/").unwrap_or(&t);
            if t != "logout+jwt" && t != "jwt" {
                return Err(fail(
                    reason::TYP,
                    msg!(
                        "the logout token's typ is {}, not logout+jwt",
                        crate::json::quote(t)
                    ),
                ));
            }
        }
        Some(_) => return Err(fail(reason::TYP, "the logout token's typ is not a string")),
    }
    let (alg, kid) = (parts.alg.as_str(), parts.kid.as_deref());
    if !algs.iter().any(|a| a == alg) {
        return Err(fail(
            reason::ALG,
            msg!(
                "the logout token is signed with {}, not one of {}",
                crate::json::quote(alg),
                crate::json::quote_list(algs)
            ),
        ));
    }
    let jwk = match jwks.choose(alg, kid) {
        KeyChoice::Key(k) => k.clone(),
        KeyChoice::Unknown(why) | KeyChoice::Unfit(why) => return Err(fail(reason::KID, why)),
        KeyChoice::Ambiguous => {
            return Err(fail(
                reason::KID,
                "the logout token has no kid and the key set has several keys that fit",
            ))
        }
    };
    let check = SignatureCheck {
        alg: alg.to_string(),
        jwk,
        signing_input: parts.signing_input.to_string(),
        signature: parts.signature.to_string(),
    };
    Ok((check, UnverifiedLogout { claims: parts.claims }))
}

fn number(c: &Map<String, Value>, name: &str) -> Option<Option<f64>> {
    match c.get(name) {
        None => Some(None),
        Some(Value::Number(n)) => n.as_f64().filter(|f| f.is_finite()).map(Some),
        Some(_) => None,
    }
}

fn text<'a>(c: &'a Map<String, Value>, name: &str) -> Option<Option<&'a str>> {
    match c.get(name) {
        None => Some(None),
        Some(Value::String(s)) if !s.is_empty() => Some(Some(s)),
        Some(_) => None,
    }
}

/// The second half, with the platform's answer: §2.6 steps 3–6.
pub fn finish(
    token: UnverifiedLogout,
    signature: std::result::Result<bool, String>,
    e: &Expected<'_>,
) -> Result<LogoutEvent> {
    crate::id_token::signature_verdict(signature, "logout token").map_err(|m| fail(reason::SIGNATURE, m))?;
    let c = &token.claims;
    // Step 3: "Validate the iss, aud, iat, and exp Claims in the same way they are validated in ID Tokens."
    if c.get("iss").and_then(Value::as_str) != Some(e.issuer) {
        return Err(fail(
            reason::ISS,
            msg!("the logout token's iss is not {}", crate::json::quote(e.issuer)),
        ));
    }
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => a == e.client_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(e.client_id)),
        _ => false,
    };
    if !aud_ok {
        return Err(fail(
            reason::AUD,
            msg!(
                "the logout token's aud does not name this client ({})",
                crate::json::quote(e.client_id)
            ),
        ));
    }
    let iat = match number(c, "iat") {
        Some(Some(iat)) => iat,
        _ => return Err(fail(reason::IAT, "the logout token has no numeric iat")),
    };
    let (now, leeway) = (e.now_s as f64, e.leeway_s as f64);
    if iat > now + leeway {
        return Err(fail(reason::IAT, "the logout token's iat is in the future"));
    }
    if iat + (MAX_AGE_S as f64) + leeway < now {
        return Err(fail(
            reason::IAT,
            msg!("the logout token was issued more than {MAX_AGE_S} seconds ago"),
        ));
    }
    match number(c, "exp") {
        Some(None) => {}
        Some(Some(exp)) if exp + leeway >= now => {}
        _ => return Err(fail(reason::EXP, "the logout token has expired")),
    }
    // §2.4: "jti REQUIRED. Unique identifier for the token".
    let jti = match text(c, "jti") {
        Some(Some(j)) => j.to_string(),
        _ => return Err(fail(reason::JTI, "the logout token has no jti")),
    };
    // Step 5: "Verify that the Logout Token contains an events Claim whose value is JSON
    // object containing the member name http://schemas.openid.net/event/backchannel-logout."
    let event_ok = matches!(c.get("events"), Some(Value::Object(events)) if matches!(events.get(EVENT), Some(Value::Object(_))));
    if !event_ok {
        return Err(fail(
            reason::EVENTS,
            "the logout token has no back-channel logout event: it is another kind of token",
        ));
    }
    // Step 4: "Verify that the Logout Token contains a sub Claim, a sid Claim, or both."
    let (Some(sub), Some(sid)) = (text(c, "sub"), text(c, "sid")) else {
        return Err(fail(
            reason::SUB_OR_SID,
            "the logout token's sub or sid is not a string",
        ));
    };
    if sub.is_none() && sid.is_none() {
        return Err(fail(
            reason::SUB_OR_SID,
            "the logout token names no sub and no sid",
        ));
    }
    // Step 6: "Verify that the Logout Token does not contain a nonce Claim."
    if c.get("nonce").is_some() {
        return Err(fail(
            reason::NONCE,
            "the logout token has a nonce: it is an ID token, not a logout token",
        ));
    }
    Ok(LogoutEvent {
        sub: sub.map(str::to_string),
        sid: sid.map(str::to_string),
        jti,
        remember_until_s: iat as u64 + MAX_AGE_S + e.leeway_s,
    })
}

/// Step 7: "Optionally verify that another Logout Token with the same jti
/// value has not been recently received." `seen`: the replay store already
/// held it.
pub fn check_replay(seen: bool) -> Result<()> {
    if seen {
        Err(fail(
            reason::REPLAYED,
            "this logout token (its jti) was received already",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{jwks, sign};
    use serde_json::{json, Value as Json};

    const ISS: &str = "https://id.example.com";
    const NOW: u64 = 1_800_000_000;

    fn claims() -> Json {
        json!({
            "iss": ISS, "aud": "app", "iat": NOW - 5, "exp": NOW + 115, "jti": "j-1",
            "sub": "alice", "sid": "s-1", "events": {EVENT: {}},
        })
    }

    fn with(changes: Json) -> Json {
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

    fn validate(token: &str) -> Result<LogoutEvent> {
        let algs = vec!["RS256".to_string(), "ES256".to_string()];
        let set = jwks(&["rsa", "ec"]);
        let (check, unverified) = begin(token, &set, &algs)?;
        let valid = crate::crypto::verify_signature(&check);
        finish(
            unverified,
            valid,
            &Expected {
                issuer: ISS,
                client_id: "app",
                algs: &algs,
                leeway_s: 30,
                now_s: NOW,
            },
        )
    }

    fn reason_of(token: &str) -> &'static str {
        let e = validate(token).unwrap_err();
        assert_eq!(e.code(), code::INVALID_LOGOUT_TOKEN);
        e.reason().unwrap()
    }

    #[test]
    fn a_valid_logout_token_names_the_sessions_that_end() {
        let typed = sign("rsa", json!({"typ": "logout+jwt"}), &claims());
        let event = validate(&typed).unwrap();
        assert_eq!(event.sub.as_deref(), Some("alice"));
        assert_eq!(event.sid.as_deref(), Some("s-1"));
        assert_eq!(event.jti, "j-1");
        assert_eq!(event.remember_until_s, NOW - 5 + MAX_AGE_S + 30);
        // sid alone, sub alone, an array aud, no exp, an ES256 key, typ JWT.
        for c in [
            with(json!({"sub": null})),
            with(json!({"sid": null})),
            with(json!({"aud": ["other", "app"]})),
            with(json!({"exp": null})),
        ] {
            assert!(validate(&sign("ec", json!({"typ": "JWT"}), &c)).is_ok(), "{c}");
        }
    }

    #[test]
    fn every_hostile_token_is_refused_with_its_reason() {
        let s = |header: Json, c: Json| sign("rsa", header, &c);
        for (token, want) in [
            (
                s(json!({}), with(json!({"iss": "https://evil.example.com"}))),
                reason::ISS,
            ),
            (s(json!({}), with(json!({"aud": "other"}))), reason::AUD),
            (s(json!({}), with(json!({"aud": null}))), reason::AUD),
            (s(json!({}), with(json!({"iat": null}))), reason::IAT),
            (s(json!({}), with(json!({"iat": NOW + 120}))), reason::IAT),
            (
                s(json!({}), with(json!({"iat": NOW - MAX_AGE_S - 60, "exp": null}))),
                reason::IAT,
            ),
            (s(json!({}), with(json!({"exp": NOW - 60}))), reason::EXP),
            (s(json!({}), with(json!({"jti": null}))), reason::JTI),
            (s(json!({}), with(json!({"jti": ""}))), reason::JTI),
            // No event: an ID token (with or without nonce) is not a logout token.
            (s(json!({}), with(json!({"events": null}))), reason::EVENTS),
            (
                s(json!({}), with(json!({"events": {"urn:other": {}}}))),
                reason::EVENTS,
            ),
            (
                s(json!({}), with(json!({"events": {EVENT: "yes"}}))),
                reason::EVENTS,
            ),
            (
                s(json!({}), with(json!({"sub": null, "sid": null}))),
                reason::SUB_OR_SID,
            ),
            (s(json!({}), with(json!({"sid": 7}))), reason::SUB_OR_SID),
            (s(json!({}), with(json!({"nonce": "n"}))), reason::NONCE),
            // Another kind of JWT, by its explicit type.
            (s(json!({"typ": "at+jwt"}), claims()), reason::TYP),
            (s(json!({"typ": "application/at+JWT"}), claims()), reason::TYP),
        ] {
            assert_eq!(reason_of(&token), want, "{token}");
        }
    }

    #[test]
    fn forged_or_unsigned_tokens_fail_before_any_claim_is_read() {
        let t = sign("rsa", json!({}), &claims());
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = crate::b64::encode(serde_json::to_vec(&with(json!({"sub": "bob"}))).unwrap());
        parts[1] = &forged;
        assert_eq!(reason_of(&parts.join(".")), reason::SIGNATURE);
        // Signed by a key the provider's set does not have under that kid.
        assert_eq!(
            reason_of(&sign("rsaRotated", json!({"kid": "rsa-1"}), &claims())),
            reason::SIGNATURE
        );
        assert_eq!(reason_of(&sign("rsaRotated", json!({}), &claims())), reason::KID);
        let unsigned = [&t[..t.rfind('.').unwrap()], ""].join(".");
        assert_eq!(reason_of(&unsigned), reason::ALG);
        for junk in ["", "a.b", "a.b.c.d.e", "x.y.z"] {
            assert_eq!(reason_of(junk), reason::MALFORMED, "{junk}");
        }
        assert_eq!(reason_of(&"a".repeat(20_000)), reason::MALFORMED);
        assert_eq!(
            reason_of(&sign("rsa", json!({"crit": ["x"]}), &claims())),
            reason::MALFORMED
        );
    }

    #[test]
    fn a_replayed_jti_is_refused() {
        assert!(check_replay(false).is_ok());
        assert_eq!(check_replay(true).unwrap_err().reason(), Some(reason::REPLAYED));
    }
}
