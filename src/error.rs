//! Every failure of the library, with a stable machine-readable `code`.
//!
//! The codes are a public contract (listed in README.md). A server's own OAuth
//! `error` value (RFC 6749 §4.1.2.1 and §5.2) is passed through verbatim as the
//! code, with its `error_description` and, for HTTP responses, the status.
//!
//! Messages never contain secrets (codes, verifiers, tokens): they are written
//! here or copied from the server's `error_description`.

use std::borrow::Cow;
use std::fmt;

/// The stable codes this library itself produces.
pub mod code {
    /// The options given to `createAuthClient` (or a call) are not usable.
    pub const INVALID_CONFIG: &str = "invalid_config";
    /// The callback URL is not an authorization response we can accept.
    pub const INVALID_CALLBACK: &str = "invalid_callback";
    /// No pending login at all (also what a second use of a callback gets).
    pub const MISSING_TRANSACTION: &str = "missing_transaction";
    /// Pending logins exist, none with the callback's `state`.
    pub const STATE_MISMATCH: &str = "state_mismatch";
    /// An issuer identifier differs from the configured issuer.
    pub const ISSUER_MISMATCH: &str = "issuer_mismatch";
    /// The token endpoint's answer is not a usable token response.
    pub const INVALID_TOKEN_RESPONSE: &str = "invalid_token_response";
    /// The discovery document cannot be used.
    pub const INVALID_DISCOVERY: &str = "invalid_discovery";
    /// The provider's key set cannot be used.
    pub const INVALID_JWKS: &str = "invalid_jwks";
    /// An ID token failed a check; `reason` names which.
    pub const INVALID_ID_TOKEN: &str = "invalid_id_token";
    /// The userinfo response's `sub` is not the ID token's.
    pub const USERINFO_SUB_MISMATCH: &str = "userinfo_sub_mismatch";
    /// The userinfo endpoint's answer is not a usable JSON object.
    pub const INVALID_USERINFO_RESPONSE: &str = "invalid_userinfo_response";
    /// There is no session for this call (e.g. `fetchUserInfo` when signed out),
    /// or the provider refused the refresh token: the user must log in again.
    pub const LOGIN_REQUIRED: &str = "login_required";
    /// A refresh was needed and the session has no refresh token (ask for `offline_access`).
    pub const MISSING_REFRESH_TOKEN: &str = "missing_refresh_token";
    /// The request did not complete (offline, DNS, CORS, aborted).
    pub const NETWORK_ERROR: &str = "network_error";
    /// The request took longer than `httpTimeoutMs`.
    pub const TIMEOUT: &str = "timeout";
    /// Web Storage refused a read or a write.
    pub const STORAGE_ERROR: &str = "storage_error";
    /// The platform lacks something the library needs (no random source...).
    pub const UNSUPPORTED_PLATFORM: &str = "unsupported_platform";
    /// `loginWithPopup`: the browser did not open the popup (not called from a click?).
    pub const POPUP_BLOCKED: &str = "popup_blocked";
    /// `loginWithPopup`: the user closed the popup before the login completed.
    pub const POPUP_CLOSED: &str = "popup_closed";
    /// `loginWithPopup`: another popup login of this page is still open (it
    /// is brought to the front; this call opens nothing).
    pub const POPUP_IN_PROGRESS: &str = "popup_in_progress";
    /// `loginWithRedirect`: the app's `openUrl` promise was rejected (the
    /// user cancelled the auth session); no pending login is left.
    pub const LOGIN_CANCELLED: &str = "login_cancelled";
    /// The revocation endpoint answered with an error that is not an OAuth error body.
    pub const REVOCATION_FAILED: &str = "revocation_failed";
    /// The pushed authorization request endpoint (RFC 9126) answered without
    /// a usable `request_uri`, or with an error that is not an OAuth error body.
    pub const INVALID_PAR_RESPONSE: &str = "invalid_par_response";
    /// A back-channel Logout Token (OpenID Connect Back-Channel Logout 1.0)
    /// failed a check; `reason` names which. (`oidc-pkce/server` only.)
    pub const INVALID_LOGOUT_TOKEN: &str = "invalid_logout_token";
}

/// The library's error: a stable `code`, a human-readable message and, when a
/// server said so, its OAuth `error` fields.
///
/// One pointer wide: every `Result` of the library carries it, and the
/// browser module's futures move, match and drop those results at each step
/// (boxed: 7.4 KB gzip less of .wasm than the 40-byte struct inline).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthError(Box<Fields>);

#[derive(Clone, PartialEq, Eq)]
struct Fields {
    code: Cow<'static, str>,
    message: String,
    server: Option<Box<ServerError>>,
    status: Option<u16>,
    reason: Option<&'static str>,
}

/// The OAuth error fields a server sent (RFC 6749 §4.1.2.1, §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    pub error: String,
    pub error_description: Option<String>,
    pub error_uri: Option<String>,
}

impl AuthError {
    /// An error of one of the library's own codes (see [`code`]).
    /// (Built with the `terse` feature, the message is left out: see `msg!`.)
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        #[cfg(feature = "terse")]
        let message = {
            let _ = message;
            ""
        };
        AuthError(Box::new(Fields {
            code: Cow::Borrowed(code),
            message: message.into(),
            server: None,
            status: None,
            reason: None,
        }))
    }

    /// An error a server reported with an OAuth `error` value: the value
    /// becomes the code, verbatim, when it is made of the characters RFC 6749
    /// allows (`%x20-21 / %x23-5B / %x5D-7E`); otherwise `fallback_code` is used.
    pub fn from_server(server: ServerError, status: Option<u16>, fallback_code: &'static str) -> Self {
        let valid =
            !server.error.is_empty() && server.error.len() <= 256 && server.error.bytes().all(is_error_char);
        let code = if valid {
            Cow::Owned(server.error.clone())
        } else {
            Cow::Borrowed(fallback_code)
        };
        let message = match &server.error_description {
            Some(d) if valid => msg!("{}: {}", server.error, d),
            _ if valid => msg!("the server answered with error {}", server.error),
            _ => msg!("the server answered with an error value that is not a valid OAuth error code"),
        };
        AuthError(Box::new(Fields {
            code,
            message,
            server: Some(Box::new(server)),
            status,
            reason: None,
        }))
    }

    /// The same error under another of the library's codes, keeping the
    /// server's `error`, `error_description` and status.
    pub fn recode(mut self, code: &'static str) -> Self {
        self.0.code = Cow::Borrowed(code);
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        self
    }

    /// Which check failed, for `invalid_id_token` (see `id_token::reason`).
    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.0.reason = Some(reason);
        self
    }

    pub fn reason(&self) -> Option<&'static str> {
        self.0.reason
    }

    pub fn code(&self) -> &str {
        &self.0.code
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn server(&self) -> Option<&ServerError> {
        self.0.server.as_deref()
    }

    pub fn status(&self) -> Option<u16> {
        self.0.status
    }
}

/// An HTTP error answer of an endpoint: the server's OAuth error when the body
/// is one (RFC 6749 §5.2: JSON with `error`, optionally `error_description` and
/// `error_uri`), else `fallback_code` naming the endpoint and status.
pub fn http_error(status: u16, body: &str, fallback_code: &'static str, endpoint: &str) -> AuthError {
    use crate::json;
    // `error` a string; `error_description` and `error_uri` strings when present.
    let read = |o: &json::Object| -> Option<ServerError> {
        Some(ServerError {
            error: json::string(o, "error").ok()??,
            error_description: json::string(o, "error_description").ok()?,
            error_uri: json::string(o, "error_uri").ok()?,
        })
    };
    match json::object(body).ok().as_ref().and_then(read) {
        Some(e) => AuthError::from_server(e, Some(status), fallback_code),
        None => AuthError::new(
            fallback_code,
            msg!("the {endpoint} answered HTTP {status} without an OAuth error body"),
        )
        .with_status(status),
    }
}

/// RFC 6749 Appendix A.7: `error = 1*NQSCHAR`, and NQSCHAR excludes `"` and `\`.
fn is_error_char(b: u8) -> bool {
    matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthError")
            .field("code", &self.0.code)
            .field("message", &self.0.message)
            .field("server", &self.0.server)
            .field("status", &self.0.status)
            .field("reason", &self.0.reason)
            .finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0.message, self.0.code)
    }
}

impl std::error::Error for AuthError {}

pub type Result<T, E = AuthError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn server(error: &str, description: Option<&str>) -> ServerError {
        ServerError {
            error: error.into(),
            error_description: description.map(Into::into),
            error_uri: None,
        }
    }

    #[test]
    fn server_error_value_becomes_the_code_verbatim() {
        let e = AuthError::from_server(
            server("invalid_grant", Some("grant request is invalid")),
            Some(400),
            code::INVALID_TOKEN_RESPONSE,
        );
        assert_eq!(e.code(), "invalid_grant");
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.message(), "invalid_grant: grant request is invalid");
        assert_eq!(e.server().map(|s| s.error.as_str()), Some("invalid_grant"));
    }

    #[test]
    fn server_error_value_outside_the_rfc_charset_is_not_used_as_code() {
        for bad in ["", "has\"quote", "back\\slash", "new\nline", "é"] {
            let e = AuthError::from_server(server(bad, Some("x")), None, code::INVALID_CALLBACK);
            assert_eq!(e.code(), code::INVALID_CALLBACK, "{bad:?}");
        }
    }

    #[test]
    fn display_names_message_and_code() {
        let e = AuthError::new(code::STATE_MISMATCH, "no pending login has this state");
        assert_eq!(e.to_string(), "no pending login has this state (state_mismatch)");
    }
}
