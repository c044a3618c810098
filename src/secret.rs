//! Newtypes for secrets: their `Debug` says which secret it is, never its value.

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The secret itself: for the wire and for the app, never for logs.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "(<redacted {} bytes>)"), self.0.len())
            }
        }
    };
}

secret_string!(
    /// An authorization code (RFC 6749 §4.1.2), single use.
    AuthorizationCode
);
secret_string!(
    /// An access token (RFC 6749 §1.4).
    AccessToken
);
secret_string!(
    /// An ID token, a JWT (OpenID Connect Core §2).
    IdToken
);
secret_string!(
    /// A refresh token (RFC 6749 §1.5).
    RefreshToken
);
secret_string!(
    /// A confidential client's secret (RFC 6749 §2.3.1): a backend's, never a page's.
    ClientSecret
);

impl RefreshToken {
    /// What names it where it must not be kept itself (the page's table of
    /// operations in flight): its SHA-256, base64url.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        crate::b64::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// Equality whose time depends on the lengths only, not on where bytes differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let t = AccessToken::new("eyJsecret.value.here");
        let shown = format!("{t:?} {:?}", Some(RefreshToken::new("rt-secret")));
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("AccessToken(<redacted 20 bytes>)"), "{shown}");
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
