//! Proof Key for Code Exchange (RFC 7636) with the S256 method.

use sha2::{Digest, Sha256};

use crate::error::{code, AuthError, Result};
use crate::random;

/// The only method this library sends. RFC 7636 §4.2: "If the client is
/// capable of using "S256", it MUST use "S256"".
pub const CODE_CHALLENGE_METHOD: &str = "S256";

/// A `code_verifier` (RFC 7636 §4.1). Secret: its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(String);

/// A `code_challenge` (RFC 7636 §4.2): public, sent in the authorization request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeVerifier {
    /// RFC 7636 §4.1: "It is RECOMMENDED that the output of a suitable random
    /// number generator be used to create a 32-octet sequence. The octet
    /// sequence is then base64url-encoded to produce a 43-octet URL safe string".
    pub fn generate() -> Result<Self> {
        Ok(Self::from_random_bytes(&random::bytes::<32>()?))
    }

    pub fn from_random_bytes(bytes: &[u8; 32]) -> Self {
        CodeVerifier(crate::b64::encode(bytes))
    }

    /// Accepts a verifier read back from storage or given by the app.
    /// RFC 7636 §4.1: `code-verifier = 43*128unreserved`,
    /// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`.
    pub fn parse(value: &str) -> Result<Self> {
        let ok_len = (43..=128).contains(&value.len());
        let ok_chars = value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if ok_len && ok_chars {
            Ok(CodeVerifier(value.to_string()))
        } else {
            Err(AuthError::new(
                code::INVALID_CONFIG,
                "a code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)",
            ))
        }
    }

    /// RFC 7636 §4.2: `code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`.
    pub fn challenge(&self) -> CodeChallenge {
        CodeChallenge(crate::b64::encode(Sha256::digest(self.0.as_bytes())))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier(<redacted>)")
    }
}

impl CodeChallenge {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B. (The issue text had a mistyped challenge; this is
    /// the RFC's value, which SHA-256 of the verifier gives.)
    #[test]
    fn rfc7636_appendix_b_vector() {
        let bytes: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105,
            214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        let verifier = CodeVerifier::from_random_bytes(&bytes);
        assert_eq!(verifier.expose(), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            verifier.challenge().as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let parsed = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(
            parsed.challenge().as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_verifiers_are_43_unreserved_chars_and_differ() {
        let a = CodeVerifier::generate().unwrap();
        let b = CodeVerifier::generate().unwrap();
        assert_eq!(a.expose().len(), 43);
        assert!(CodeVerifier::parse(a.expose()).is_ok());
        assert_ne!(a, b);
        assert_eq!(a.challenge().as_str().len(), 43);
    }

    #[test]
    fn parse_refuses_bad_verifiers() {
        for bad in [
            "short",
            &"a".repeat(129),
            &format!("{}+", "a".repeat(43)),
            &format!("{} ", "a".repeat(43)),
        ] {
            assert_eq!(
                CodeVerifier::parse(bad).unwrap_err().code(),
                code::INVALID_CONFIG,
                "{bad:?}"
            );
        }
        assert!(CodeVerifier::parse(&"~".repeat(128)).is_ok());
    }

    #[test]
    fn debug_is_redacted() {
        let v = CodeVerifier::from_random_bytes(&[7; 32]);
        assert_eq!(format!("{v:?}"), "CodeVerifier(<redacted>)");
    }
}
