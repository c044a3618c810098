//! The UserInfo response (OIDC Core §5.3.2) and its `sub` check.

use crate::json::{Map, Value};

use crate::error::{code, http_error, AuthError, Result};
use crate::json;
use crate::secret::constant_time_eq;

/// OIDC Core §5.3.2: "The sub Claim in the UserInfo Response MUST be verified
/// to exactly match the sub Claim in the ID Token; if they do not match, the
/// UserInfo Response values MUST NOT be used."
pub fn parse_userinfo_response(status: u16, body: &str, expected_sub: &str) -> Result<Map<String, Value>> {
    if !(200..300).contains(&status) {
        return Err(http_error(
            status,
            body,
            code::INVALID_USERINFO_RESPONSE,
            "userinfo endpoint",
        ));
    }
    let claims: Map<String, Value> = json::object(body).map_err(|_| {
        AuthError::new(
            code::INVALID_USERINFO_RESPONSE,
            "the userinfo response is not a JSON object (signed or encrypted userinfo is not supported)",
        )
        .with_status(status)
    })?;
    match claims.get("sub") {
        Some(Value::String(sub)) if constant_time_eq(sub.as_bytes(), expected_sub.as_bytes()) => Ok(claims),
        _ => Err(AuthError::new(
            code::USERINFO_SUB_MISMATCH,
            "the userinfo response is about another subject than the ID token",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_must_match() {
        let ok = parse_userinfo_response(200, r#"{"sub":"alice","email":"a@example.com"}"#, "alice").unwrap();
        assert_eq!(ok["email"], "a@example.com");
        for body in [r#"{"sub":"bob"}"#, r#"{"email":"x"}"#, r#"{"sub":5}"#] {
            assert_eq!(
                parse_userinfo_response(200, body, "alice").unwrap_err().code(),
                code::USERINFO_SUB_MISMATCH
            );
        }
    }

    #[test]
    fn errors() {
        let e = parse_userinfo_response(
            401,
            r#"{"error":"invalid_token","error_description":"expired"}"#,
            "a",
        )
        .unwrap_err();
        assert_eq!((e.code(), e.status()), ("invalid_token", Some(401)));
        let e = parse_userinfo_response(500, "oops", "a").unwrap_err();
        assert_eq!(
            (e.code(), e.status()),
            (code::INVALID_USERINFO_RESPONSE, Some(500))
        );
        let e = parse_userinfo_response(200, "eyJhbGciOi.x.y", "a").unwrap_err();
        assert_eq!(e.code(), code::INVALID_USERINFO_RESPONSE);
    }
}
