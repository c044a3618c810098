//! The signed-in session: the tokens and the verified ID token, kept in
//! memory and, when the app asks, in `tokenStorage`. Read back from storage,
//! it is validated like network input and its ID token is verified again.

use crate::json::{Map, Value};

use crate::api::ApiToken;
use crate::error::{code, AuthError, Result};
use crate::id_token::{check_same_end_user, VerifiedIdToken};
use crate::json;
use crate::secret::{AccessToken, IdToken, RefreshToken};
use crate::token::TokenSet;

const VERSION: u8 = 1;

/// The prefix of every key a session is stored under. The driver guesses
/// from it which module a page needs first (js/driver/modules.js).
pub const SESSION_KEYS: &str = "oidc-pkce:session:";

/// The storage key of a client's session with one provider.
pub fn session_storage_key(issuer: &str, client_id: &str) -> String {
    [SESSION_KEYS, &crate::transaction::client_key(issuer, client_id)].concat()
}

/// Where versions before 0.1.1 kept the session: by client id alone. Read
/// once, moved to [`session_storage_key`] if it belongs to the issuer.
pub fn legacy_session_storage_key(client_id: &str) -> String {
    [SESSION_KEYS, &crate::transaction::key_part(client_id)].concat()
}

#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub tokens: TokenSet,
    pub id_token: VerifiedIdToken,
    /// DPoP: the thumbprint of the key the tokens are bound to (RFC 9449).
    pub dpop_jkt: Option<String>,
    /// Tokens for other APIs (or scopes), obtained for this session.
    pub apis: Vec<ApiToken>,
}

/// Claims about the authentication itself rather than about the user.
const PROTOCOL_CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "azp",
    "nonce",
    "auth_time",
    "at_hash",
    "c_hash",
    "acr",
    "amr",
    "sid",
    "s_hash",
    "cnf",
    "sub_jwk",
];

impl Session {
    /// A stored session whose ID token was verified again (`id_token`).
    pub fn from_stored(stored: StoredSession, id_token: VerifiedIdToken) -> Session {
        Session {
            tokens: stored.tokens,
            id_token,
            dpop_jkt: stored.dpop_jkt,
            apis: stored.apis,
        }
    }

    /// Signed in: the access token is still valid, or a refresh token can renew it.
    pub fn is_active(&self, now_ms: u64) -> bool {
        self.tokens.refresh_token.is_some() || self.tokens.expires_at_ms.is_none_or(|t| t > now_ms)
    }

    /// The profile claims (`sub`, `name`, `email`, `picture`, …).
    pub fn user(&self) -> Map<String, Value> {
        // Copied member by member (a repeated claim stays repeated: it
        // reads as its last value, here and in the JS object).
        let mut user = Map::new();
        for (k, v) in &self.id_token.claims {
            if !PROTOCOL_CLAIMS.contains(&k.as_str()) {
                user.push(k.clone(), v.clone());
            }
        }
        user
    }

    /// The tokens as `getTokens()` gives them to the app. The refresh token
    /// only with `expose_refresh_token` (the `exposeRefreshToken` option):
    /// the library is what uses it, and a script of the page that reads
    /// `getTokens()` (XSS) should not carry away a long-lived credential.
    pub fn tokens_for_app(&self, expose_refresh_token: bool) -> Map<String, Value> {
        let t = &self.tokens;
        let or_null = |v: Option<&str>| v.map_or(Value::Null, Into::into);
        let mut o = Map::new();
        o.insert("accessToken".into(), t.access_token.expose().into());
        o.insert("idToken".into(), or_null(t.id_token.as_ref().map(|t| t.expose())));
        if expose_refresh_token {
            o.insert(
                "refreshToken".into(),
                or_null(t.refresh_token.as_ref().map(|t| t.expose())),
            );
        }
        o.insert("tokenType".into(), t.token_type.as_str().into());
        o.insert(
            "expiresAt".into(),
            t.expires_at_ms.map_or(Value::Null, Into::into),
        );
        o.insert("scope".into(), or_null(t.scope.as_deref()));
        o
    }

    /// Silent renewal (`prompt=none`, for a session without a refresh
    /// token) may replace this session only with the same End-User's: see
    /// [`check_same_end_user`]. Otherwise `login_required`, whose `reason`
    /// names the claim that differs: the provider's session is someone
    /// else's now, and this one must sign in again (or stay as it is).
    pub fn check_renewal(&self, renewed: &VerifiedIdToken) -> Result<()> {
        check_same_end_user(&self.id_token, renewed).map_err(|e| e.recode(code::LOGIN_REQUIRED))
    }

    pub fn to_stored(&self, client_id: &str, issuer: &str) -> String {
        let t = &self.tokens;
        let mut o = json::Object::new();
        o.insert("v".into(), VERSION.into());
        o.insert("client_id".into(), client_id.into());
        o.insert("issuer".into(), issuer.into());
        o.insert("access_token".into(), t.access_token.expose().into());
        o.insert("id_token".into(), self.id_token.raw.expose().into());
        json::put(
            &mut o,
            "refresh_token",
            t.refresh_token.as_ref().map(|r| r.expose()),
        );
        o.insert("token_type".into(), t.token_type.as_str().into());
        json::put(&mut o, "expires_at_ms", t.expires_at_ms);
        json::put(&mut o, "scope", t.scope.as_deref());
        json::put(&mut o, "dpop_jkt", self.dpop_jkt.as_deref());
        if !self.apis.is_empty() {
            o.insert(
                "apis".into(),
                Value::Array(self.apis.iter().map(ApiToken::to_json).collect()),
            );
        }
        json::to_string(&Value::Object(o))
    }
}

/// HMAC-SHA256 (RFC 2104) of `data` under `key` (at most 64 bytes).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    for (k, b) in k.iter_mut().zip(key) {
        *k = *b;
    }
    let pad = |b: u8| k.map(|x| x ^ b);
    let inner = Sha256::digest([&pad(0x36)[..], data].concat());
    Sha256::digest([&pad(0x5c)[..], &inner[..]].concat()).into()
}

/// The member a sealed session ends with: `,"seal":"` and the HMAC's 43
/// base64url characters, then `"}`.
const SEAL: &[u8] = b",\"seal\":\"";
const MAC_CHARS: usize = 43;

/// A stored session's text with its seal: the HMAC of the text under this
/// origin's secret, kept where only the library writes it (IndexedDB). A
/// writer of Web Storage alone cannot make one: a session it wrote, or one
/// it put together from genuine parts (another user's tokens beside this
/// user's ID token), is not taken up.
pub fn seal(text: &str, secret: &[u8]) -> String {
    let mac = crate::b64::encode(hmac_sha256(secret, text.as_bytes()));
    let open = text.strip_suffix('}').unwrap_or(text);
    [open, ",\"seal\":\"", &mac, "\"}"].concat()
}

/// A sealed session's text and its seal, as written (not checked).
fn split_seal(sealed: &str) -> Option<(String, &[u8])> {
    let b = sealed.as_bytes();
    let mac_at = b.len().checked_sub(MAC_CHARS + 2)?;
    let at = mac_at.checked_sub(SEAL.len())?;
    if b.get(at..mac_at)? != SEAL || b.get(mac_at + MAC_CHARS..)? != b"\"}" {
        return None;
    }
    Some((
        [sealed.get(..at)?, "}"].concat(),
        b.get(mac_at..mac_at + MAC_CHARS)?,
    ))
}

/// The text a sealed session was sealed over, if its seal is this origin's.
pub fn unseal(sealed: &str, secret: &[u8]) -> Option<String> {
    let (text, mac) = split_seal(sealed)?;
    let want = crate::b64::encode(hmac_sha256(secret, text.as_bytes()));
    crate::secret::constant_time_eq(want.as_bytes(), mac).then_some(text)
}

/// A session read where sessions are not sealed (an adapter's store): a
/// sealed one is read without its seal, which cannot be checked there.
pub fn without_seal(stored: &str) -> String {
    split_seal(stored).map_or_else(|| stored.to_string(), |(text, _)| text)
}

/// The members a stored session may have (anything else: not written here).
const STORED_MEMBERS: &[&str] = &[
    "v",
    "client_id",
    "issuer",
    "access_token",
    "id_token",
    "refresh_token",
    "token_type",
    "expires_at_ms",
    "scope",
    "dpop_jkt",
    "apis",
];

/// A stored session before its ID token is verified again.
#[derive(Debug)]
pub struct StoredSession {
    pub tokens: TokenSet,
    pub id_token: IdToken,
    pub dpop_jkt: Option<String>,
    pub apis: Vec<ApiToken>,
}

/// Reads a stored session back. Anything this library would not have written
/// (or written for another client or issuer) is refused.
pub fn parse_stored_session(value: &str, client_id: &str, issuer: &str) -> Result<StoredSession> {
    let bad = |why: &str| {
        AuthError::new(
            code::STORAGE_ERROR,
            msg!("the stored session was unreadable ({why}) and was discarded"),
        )
    };
    let o = json::object(value)
        .ok()
        .filter(|o| json::only(o, STORED_MEMBERS))
        .ok_or_else(|| bad("not the JSON it should be"))?;
    let text = |name| json::string(&o, name).map_err(|_| bad("not the JSON it should be"));
    let required = |name| text(name)?.ok_or_else(|| bad("not the JSON it should be"));
    if json::uint(&o, "v") != Ok(Some(VERSION as u64)) {
        return Err(bad("unknown version"));
    }
    if required("client_id")? != client_id || required("issuer")? != issuer {
        return Err(bad("it belongs to another client or issuer"));
    }
    let (access_token, id_token) = (required("access_token")?, required("id_token")?);
    if access_token.is_empty() || id_token.is_empty() {
        return Err(bad("a token is missing"));
    }
    Ok(StoredSession {
        tokens: TokenSet {
            access_token: AccessToken::new(access_token),
            id_token: Some(IdToken::new(id_token.clone())),
            refresh_token: text("refresh_token")?.map(RefreshToken::new),
            token_type: required("token_type")?,
            expires_at_ms: json::uint(&o, "expires_at_ms").map_err(|_| bad("not the JSON it should be"))?,
            scope: text("scope")?,
        },
        id_token: IdToken::new(id_token),
        dpop_jkt: text("dpop_jkt")?,
        apis: match o.get("apis") {
            None => Vec::new(),
            Some(Value::Array(list)) => {
                let mut apis = Vec::new();
                for entry in list {
                    apis.push(ApiToken::from_json(entry).ok_or_else(|| bad("not the JSON it should be"))?);
                }
                apis
            }
            Some(_) => return Err(bad("not the JSON it should be")),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_guesses_the_module_from_the_keys_sessions_are_stored_under() {
        let driver = include_str!("../js/driver/modules.js");
        assert!(
            driver.contains(&format!("export const SESSION_KEYS = \"{SESSION_KEYS}\";")),
            "js/driver/modules.js names another prefix than the core"
        );
        assert!(session_storage_key("https://id.example.com", "app").starts_with(SESSION_KEYS));
        assert!(legacy_session_storage_key("app").starts_with(SESSION_KEYS));
        // No other key the core writes starts so: a pending login or a key
        // set alone is no reason to load the full module.
        for other in [
            crate::transaction::transaction_storage_prefix("https://id.example.com", "app"),
            crate::client::keys::key_set_storage_key("https://id.example.com/jwks"),
        ] {
            assert!(!other.starts_with(SESSION_KEYS), "{other}");
        }
    }

    fn session(refresh: bool, expires_at_ms: Option<u64>) -> Session {
        let claims: Map<String, Value> = crate::json::object(
            &serde_json::json!({
                "iss": "https://id", "sub": "alice", "aud": "app", "exp": 10, "iat": 1, "nonce": "n",
                "name": "Alice", "email": "a@example.com", "sid": "s"
            })
            .to_string(),
        )
        .unwrap();
        Session {
            tokens: TokenSet {
                access_token: AccessToken::new("at"),
                id_token: Some(IdToken::new("h.p.s")),
                refresh_token: refresh.then(|| RefreshToken::new("rt")),
                token_type: "Bearer".into(),
                expires_at_ms,
                scope: Some("openid".into()),
            },
            id_token: VerifiedIdToken {
                raw: IdToken::new("h.p.s"),
                claims,
                sub: "alice".into(),
                exp: 10,
            },
            dpop_jkt: None,
            apis: Vec::new(),
        }
    }

    #[test]
    fn the_refresh_token_reaches_the_app_only_when_exposed() {
        let s = session(true, Some(9));
        let hidden = s.tokens_for_app(false);
        assert!(hidden.get("refreshToken").is_none());
        assert_eq!(hidden.get("accessToken"), Some(&Value::from("at")));
        let exposed = s.tokens_for_app(true);
        assert_eq!(exposed.get("refreshToken"), Some(&Value::from("rt")));
        assert_eq!(
            session(false, None).tokens_for_app(true).get("refreshToken"),
            Some(&Value::Null)
        );
    }

    #[test]
    fn a_renewal_for_another_user_is_login_required_naming_the_claim() {
        let s = session(false, Some(9));
        let mut same = s.id_token.clone();
        same.claims.insert("auth_time".into(), 5u64.into());
        assert!(s.check_renewal(&same).is_ok());
        let mut bob = s.id_token.clone();
        bob.sub = "bob".into();
        bob.claims.insert("sub".into(), "bob".into());
        let e = s.check_renewal(&bob).unwrap_err();
        assert_eq!((e.code(), e.reason()), (code::LOGIN_REQUIRED, Some("sub")));
        let mut other_aud = s.id_token.clone();
        other_aud.claims.insert("aud".into(), "other".into());
        assert_eq!(s.check_renewal(&other_aud).unwrap_err().reason(), Some("aud"));
    }

    #[test]
    fn user_has_profile_claims_only() {
        let u = session(false, None).user();
        let mut keys: Vec<&str> = u.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["email", "name", "sub"]);
    }

    #[test]
    fn active_while_the_access_token_lives_or_can_be_refreshed() {
        assert!(session(false, Some(2_000)).is_active(1_000));
        assert!(!session(false, Some(2_000)).is_active(2_000));
        assert!(session(true, Some(2_000)).is_active(5_000));
        assert!(session(false, None).is_active(5_000));
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let hex = |b: [u8; 32]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        // Test case 2.
        assert_eq!(
            hex(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 1.
        assert_eq!(
            hex(hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn a_sealed_session_opens_with_its_secret_only_and_as_written() {
        let text = session(true, Some(9)).to_stored("app", "https://id");
        let sealed = seal(&text, b"secret of this origin");
        assert!(sealed.ends_with("\"}") && sealed.contains(",\"seal\":\""));
        assert_eq!(
            unseal(&sealed, b"secret of this origin").as_deref(),
            Some(text.as_str())
        );
        // Another origin's (or browser's) secret, no seal, a member changed, a seal moved.
        assert_eq!(unseal(&sealed, b"another secret"), None);
        assert_eq!(unseal(&text, b"secret of this origin"), None);
        assert_eq!(
            unseal(&sealed.replace("\"at\"", "\"bob's\""), b"secret of this origin"),
            None
        );
        let other = seal(
            &session(false, None).to_stored("app", "https://id"),
            b"secret of this origin",
        );
        let mac = &other[other.rfind(",\"seal\"").unwrap()..];
        let moved = [&sealed[..sealed.rfind(",\"seal\"").unwrap()], mac].concat();
        assert_eq!(unseal(&moved, b"secret of this origin"), None);
        assert_eq!(unseal("", b"s"), None);
        // Where sessions are not sealed, the seal is read past, unchecked.
        assert_eq!(without_seal(&sealed), text);
        assert_eq!(without_seal(&text), text);
        assert_eq!(unseal(",\"seal\":\"", b"s"), None);
    }

    #[test]
    fn round_trips_and_refuses_foreign_or_tampered_entries() {
        let s = session(true, Some(9));
        let stored = s.to_stored("app", "https://id");
        let back = parse_stored_session(&stored, "app", "https://id").unwrap();
        assert_eq!(back.tokens, s.tokens);
        assert_eq!(back.id_token.expose(), "h.p.s");
        assert!(parse_stored_session(&stored, "other", "https://id").is_err());
        assert!(parse_stored_session(&stored, "app", "https://evil").is_err());
        assert_eq!(back.dpop_jkt, None);
        let bound = Session {
            dpop_jkt: Some("jkt".into()),
            ..s.clone()
        };
        let back = parse_stored_session(&bound.to_stored("app", "https://id"), "app", "https://id").unwrap();
        assert_eq!(back.dpop_jkt.as_deref(), Some("jkt"));
        for bad in [
            "",
            "{}",
            "[]",
            &stored.replace("\"v\":1", "\"v\":9"),
            &stored.replace("\"scope\"", "\"x\":1,\"scope\""),
        ] {
            assert_eq!(
                parse_stored_session(bad, "app", "https://id").unwrap_err().code(),
                code::STORAGE_ERROR,
                "{bad}"
            );
        }
    }
}
