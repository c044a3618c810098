//! DPoP (RFC 9449): tokens bound to a key this browser holds, and the proofs
//! that show possession of it. The key itself (ES256, non-extractable, kept in
//! IndexedDB) lives in the platform glue; what a proof says, the thumbprint,
//! and how the servers' nonces are read are decided here.

use sha2::{Digest, Sha256};

use crate::error::{code, AuthError, Result};
use crate::uri::{request_target, Uri};

/// The one signature algorithm: ECDSA P-256 with SHA-256, which every
/// `crypto.subtle` has and every DPoP server accepts.
pub const ALG: &str = "ES256";

/// §4.2: "typ: with value dpop+jwt".
const TYP: &str = "dpop+jwt";

/// The public half of a P-256 key, as the coordinates of its JWK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    x: String,
    y: String,
}

impl PublicKey {
    /// The coordinates as `crypto.subtle.exportKey("jwk")` gives them: each
    /// must be 32 bytes of base64url (a P-256 field element).
    pub fn from_coordinates(x: &str, y: &str) -> Result<PublicKey> {
        let ok = |c: &str| crate::b64::decode(c).is_some_and(|b| b.len() == 32);
        if !ok(x) || !ok(y) {
            return Err(AuthError::new(
                code::UNSUPPORTED_PLATFORM,
                "the DPoP key is not a P-256 key",
            ));
        }
        Ok(PublicKey {
            x: x.to_string(),
            y: y.to_string(),
        })
    }

    /// The JWK with the required members only, in lexicographic order
    /// (RFC 7638 §3.2), which is also the proof's `jwk` header.
    fn jwk_json(&self) -> String {
        // x and y are base64url (checked above): nothing to escape.
        [
            r#"{"crv":"P-256","kty":"EC","x":""#,
            &self.x,
            r#"","y":""#,
            &self.y,
            r#""}"#,
        ]
        .concat()
    }

    /// The JWK SHA-256 thumbprint (RFC 7638 §3.1), base64url: the `dpop_jkt`
    /// of the authorization request (RFC 9449 §10) and the `cnf.jkt` of the
    /// tokens bound to this key.
    pub fn thumbprint(&self) -> String {
        crate::b64::encode(Sha256::digest(self.jwk_json().as_bytes()))
    }
}

/// A key whose private half the driver holds as a JWK (the backend's: it
/// keeps the key, sealed, with the pending login and then the session, so
/// that any instance that opens the session can prove possession). The core
/// reads the public coordinates; the JWK goes back to the driver to sign.
#[derive(Clone, PartialEq, Eq)]
pub struct ProofKey {
    public: PublicKey,
    jwk: String,
}

impl std::fmt::Debug for ProofKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofKey")
            .field("public", &self.public)
            .field("jwk", &"<redacted>")
            .finish()
    }
}

impl ProofKey {
    /// A P-256 private JWK as `crypto.subtle.exportKey("jwk")` gives it:
    /// `kty` EC, `crv` P-256, `x`, `y` and `d` of 32 bytes each.
    pub fn from_jwk(text: &str) -> Result<ProofKey> {
        let bad = || {
            AuthError::new(
                code::UNSUPPORTED_PLATFORM,
                "the DPoP key is not a private P-256 JWK",
            )
        };
        let o = crate::json::object(text).map_err(|_| bad())?;
        let s = |n: &str| o.get(n).and_then(crate::json::Value::as_str);
        let d_ok = s("d").and_then(crate::b64::decode).is_some_and(|b| b.len() == 32);
        if s("kty") != Some("EC") || s("crv") != Some("P-256") || !d_ok {
            return Err(bad());
        }
        let (Some(x), Some(y), Some(d)) = (s("x"), s("y"), s("d")) else {
            return Err(bad());
        };
        let public = PublicKey::from_coordinates(x, y)?;
        // Only the members a key needs, rewritten (base64url: nothing to escape).
        let jwk = [
            r#"{"kty":"EC","crv":"P-256","x":""#,
            x,
            r#"","y":""#,
            y,
            r#"","d":""#,
            d,
            r#""}"#,
        ]
        .concat();
        Ok(ProofKey { public, jwk })
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The private JWK, for the driver to import and sign with.
    pub fn jwk(&self) -> &str {
        &self.jwk
    }
}

/// §4.2, `htu`: "The HTTP target URI ..., without query and fragment parts",
/// as fetch will request it and the server will compare it (§4.3 check 9,
/// after RFC 3986 §6.2.2 and §6.2.3 normalization): see [`request_target`].
pub fn target_uri(url: &str) -> Result<String> {
    request_target(url).ok_or_else(|| {
        AuthError::new(
            code::INVALID_CONFIG,
            msg!(
                "{} is not an http(s) URL a DPoP proof can name (browsers read it differently)",
                crate::json::quote(url)
            ),
        )
    })
}

/// §4.2, `ath`: "hash of the access token ... the base64url encoding of the
/// SHA-256 hash of the ASCII encoding of the associated access token's value".
pub fn access_token_hash(access_token: &str) -> String {
    crate::b64::encode(Sha256::digest(access_token.as_bytes()))
}

/// What one proof says (§4.2).
pub struct Claims<'a> {
    /// The request's method, as sent.
    pub htm: &'a str,
    /// The request's URL; its query and fragment are left out here.
    pub url: &'a str,
    pub iat_s: u64,
    /// A unique identifier: 256 random bits.
    pub jti: &'a str,
    /// The server's latest `DPoP-Nonce` (§8, §9), when it gave one.
    pub nonce: Option<&'a str>,
    /// The access token the proof goes with (resource requests only).
    pub access_token: Option<&'a str>,
}

/// The proof's JWS signing input, `base64url(header) "." base64url(payload)`,
/// for `key` to sign (ES256: the R || S signature, as `crypto.subtle` makes it).
pub fn signing_input(key: &PublicKey, c: &Claims<'_>) -> Result<String> {
    let header = [
        r#"{"typ":""#,
        TYP,
        r#"","alg":""#,
        ALG,
        r#"","jwk":"#,
        &key.jwk_json(),
        "}",
    ]
    .concat();
    // JSON string literals (the method and URL come from the app).
    let text = crate::json::quote;
    let mut payload = [
        r#"{"jti":"#,
        &text(c.jti),
        r#","htm":"#,
        &text(c.htm),
        r#","htu":"#,
        &text(&target_uri(c.url)?),
        r#","iat":"#,
        &crate::json::decimal(c.iat_s),
    ]
    .concat();
    if let Some(n) = c.nonce {
        payload.push_str(r#","nonce":"#);
        payload.push_str(&text(n));
    }
    if let Some(t) = c.access_token {
        payload.push_str(r#","ath":""#);
        payload.push_str(&access_token_hash(t));
        payload.push('"');
    }
    payload.push('}');
    Ok([crate::b64::encode(header), crate::b64::encode(payload)].join("."))
}

/// A `DPoP-Nonce` header worth keeping: §8.1, `nonce = 1*NQCHAR`. Anything
/// else is ignored (it would only make the next proof fail).
pub fn valid_nonce(value: &str) -> Option<&str> {
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E));
    ok.then_some(value)
}

/// The key under which a server's nonce is kept: its origin (§8: "the nonce
/// ... to that server").
pub fn nonce_key(url: &str) -> Option<String> {
    Uri::parse(url)?.origin()
}

/// §9: a resource server asks for a nonce with a 401 whose challenge is
/// `DPoP error="use_dpop_nonce"`.
pub fn resource_asks_for_nonce(status: u16, www_authenticate: Option<&str>) -> bool {
    status == 401
        && www_authenticate.is_some_and(|h| {
            let h = h.to_ascii_lowercase();
            crate::uri::contains(&h, "dpop") && crate::uri::contains(&h, "use_dpop_nonce")
        })
}

/// §8: the authorization server asks for a nonce with a 400 and the error
/// `use_dpop_nonce`.
pub fn server_asks_for_nonce(e: &AuthError) -> bool {
    e.code() == "use_dpop_nonce"
}

/// §5: the tokens asked for with a proof must come back bound to the key.
/// A server that answers `Bearer` ignored the proof: taking its token as
/// bound would be the silent fallback to bearer tokens this option exists to
/// prevent.
pub fn check_token_type(token_type: &str, status: u16) -> Result<()> {
    if token_type.eq_ignore_ascii_case("dpop") {
        return Ok(());
    }
    Err(AuthError::new(
        code::INVALID_TOKEN_RESPONSE,
        msg!(
            "`dpop` is on but the token endpoint answered `token_type` {}, not DPoP: the provider \
             did not bind the tokens to this browser's key (does it support DPoP for this client?)",
            crate::json::quote(token_type)
        ),
    )
    .with_status(status))
}

/// With `dpop`, the provider must accept ES256 proofs when it says which it
/// accepts (RFC 9449 §5.1, `dpop_signing_alg_values_supported`).
pub fn check_provider_support(algs: Option<&[String]>) -> Result<()> {
    match algs {
        Some(a) if !a.iter().any(|x| x == ALG) => Err(AuthError::new(
            code::INVALID_CONFIG,
            msg!(
                "`dpop` is on but the provider accepts DPoP proofs signed with {} only, not ES256",
                crate::json::quote_list(a)
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    // The key of RFC 9449's examples (§4.1).
    fn key() -> PublicKey {
        PublicKey::from_coordinates(
            "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
        )
        .unwrap()
    }

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn thumbprint_is_rfc_9449s() {
        // RFC 9449 §6.1 and §10: the `jkt` of the examples' key.
        assert_eq!(key().thumbprint(), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    }

    #[test]
    fn a_proof_key_is_a_private_p256_jwk_and_its_debug_hides_it() {
        const X: &str = "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs";
        const Y: &str = "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA";
        const D: &str = "dCcr5JvHsYaJyWFkxRhRA8lRqKNxvgAT8ZW5pmXRbHU";
        let jwk = |kty: &str, crv: &str, d: &str| {
            format!(
                r#"{{"kty":"{kty}","crv":"{crv}","x":"{X}","y":"{Y}","d":"{d}","ext":true,"key_ops":["sign"]}}"#
            )
        };
        let k = ProofKey::from_jwk(&jwk("EC", "P-256", D)).unwrap();
        assert_eq!(k.public().thumbprint(), key().thumbprint());
        assert!(!k.jwk().contains("key_ops"), "only what a key needs");
        assert!(!format!("{k:?}").contains(D), "the private part is not in Debug");
        for bad in [
            jwk("RSA", "P-256", D),
            jwk("EC", "P-384", D),
            jwk("EC", "P-256", "AAAA"),
            "{}".into(),
            "x".into(),
        ] {
            assert!(ProofKey::from_jwk(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_keys_that_are_not_p256() {
        assert!(PublicKey::from_coordinates("AAAA", "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA").is_err());
        assert!(PublicKey::from_coordinates("l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs", "\"}").is_err());
    }

    #[test]
    fn proof_header_and_claims() {
        let input = signing_input(
            &key(),
            &Claims {
                htm: "POST",
                url: "https://server.example.com/token?x=1#f",
                iat_s: 1_562_262_616,
                jti: "e1j3V_bKic8-LAEB",
                nonce: Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"),
                access_token: None,
            },
        )
        .unwrap();
        let (h, p) = input.split_once('.').unwrap();
        let h = decode(h);
        assert_eq!(h["typ"], "dpop+jwt");
        assert_eq!(h["alg"], "ES256");
        assert_eq!(h["jwk"]["kty"], "EC");
        assert_eq!(h["jwk"]["x"], "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs");
        assert!(h["jwk"].get("d").is_none());
        let p = decode(p);
        assert_eq!(p["htm"], "POST");
        assert_eq!(p["htu"], "https://server.example.com/token");
        assert_eq!(p["iat"], 1_562_262_616);
        assert_eq!(p["jti"], "e1j3V_bKic8-LAEB");
        assert_eq!(p["nonce"], "eyJ7S_zG.eyJH0-Z.HX4w-7v");
        assert!(p.get("ath").is_none());
    }

    #[test]
    fn resource_proofs_carry_ath() {
        // RFC 9449 §7.1's example: the token and its `ath`.
        let input = signing_input(
            &key(),
            &Claims {
                htm: "GET",
                url: "https://resource.example.org/protectedresource",
                iat_s: 1,
                jti: "j",
                nonce: None,
                access_token: Some("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            },
        )
        .unwrap();
        let p = decode(input.split_once('.').unwrap().1);
        assert_eq!(p["ath"], "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
        assert!(p.get("nonce").is_none());
    }

    #[test]
    fn target_uri_drops_query_and_fragment() {
        assert_eq!(
            target_uri("http://127.0.0.1:9/a/b?c=d").unwrap(),
            "http://127.0.0.1:9/a/b"
        );
        assert!(target_uri("javascript:alert(1)").is_err());
    }

    #[test]
    fn nonces() {
        assert_eq!(
            valid_nonce("eyJ7S_zG.eyJH0-Z.HX4w-7v"),
            Some("eyJ7S_zG.eyJH0-Z.HX4w-7v")
        );
        assert_eq!(valid_nonce(""), None);
        assert_eq!(valid_nonce("a b"), None);
        assert_eq!(valid_nonce("a\"b"), None);
        assert_eq!(
            nonce_key("HTTPS://Server.Example.com:8443/token?x").as_deref(),
            Some("https://server.example.com:8443")
        );
        assert!(resource_asks_for_nonce(
            401,
            Some(
                r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#
            )
        ));
        assert!(!resource_asks_for_nonce(
            401,
            Some(r#"DPoP error="invalid_token""#)
        ));
        assert!(!resource_asks_for_nonce(
            400,
            Some(r#"DPoP error="use_dpop_nonce""#)
        ));
        assert!(!resource_asks_for_nonce(401, None));
    }

    #[test]
    fn tokens_must_come_back_bound() {
        assert!(check_token_type("DPoP", 200).is_ok());
        assert!(check_token_type("dpop", 200).is_ok());
        assert_eq!(
            check_token_type("Bearer", 200).unwrap_err().code(),
            code::INVALID_TOKEN_RESPONSE
        );
    }

    #[test]
    fn provider_must_take_es256() {
        assert!(check_provider_support(None).is_ok());
        assert!(check_provider_support(Some(&["ES256".into(), "EdDSA".into()])).is_ok());
        assert_eq!(
            check_provider_support(Some(&["EdDSA".into()]))
                .unwrap_err()
                .code(),
            code::INVALID_CONFIG
        );
    }
}
