//! The pending login ("transaction"): what the client must remember between
//! sending the browser to the provider and the callback. Stored as JSON under
//! a key made of the client id and the `state`, so that two logins in two tabs
//! do not clobber each other. Read back, it is validated like network input.

use crate::error::{code, AuthError, Result};
use crate::json;
use crate::pkce::CodeVerifier;
use crate::secret::constant_time_eq;

/// A pending login expires after 10 minutes.
pub const TRANSACTION_TTL_MS: u64 = 10 * 60 * 1000;
const PREFIX: &str = "oidc-pkce:tx:";
const VERSION: u8 = 1;

#[derive(Clone, Debug, PartialEq)]
pub struct Transaction {
    pub client_id: String,
    pub issuer: String,
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    pub code_verifier: CodeVerifier,
    pub scope: String,
    pub audience: Option<String>,
    pub max_age: Option<u64>,
    /// The app's own value as the JSON text `JSON.stringify` made of it,
    /// handed back by the callback exactly (object keys in the app's order).
    pub app_state: Option<String>,
    pub created_at_ms: u64,
    /// With DPoP: the thumbprint of the key named in the authorization
    /// request (`dpop_jkt`), which must sign the code exchange.
    pub dpop_jkt: Option<String>,
}

/// The members a stored transaction may have (anything else: not written
/// here). `app_state` is the app's state as written before 0.1.1 (a parsed
/// value), read only; `app_state_json` is the JSON text written since.
const STORED_MEMBERS: &[&str] = &[
    "v",
    "client_id",
    "issuer",
    "redirect_uri",
    "state",
    "nonce",
    "code_verifier",
    "scope",
    "audience",
    "max_age",
    "app_state_json",
    "app_state",
    "created_at_ms",
    "dpop_jkt",
];

/// A client id or issuer as a storage key part: percent-encoded, so it
/// cannot contain the ':' separator.
pub fn key_part(value: &str) -> String {
    let mut out = String::new();
    crate::uri::form_encode_into(&mut out, value);
    out
}

/// What names one client of one provider in storage keys: `{issuer}:{client id}`,
/// each percent-encoded. Two providers with the same client id on one origin
/// thus never read or overwrite each other's entries.
pub fn client_key(issuer: &str, client_id: &str) -> String {
    [key_part(issuer), key_part(client_id)].join(":")
}

/// The storage key prefix of one client's transactions.
pub fn transaction_storage_prefix(issuer: &str, client_id: &str) -> String {
    [PREFIX, &client_key(issuer, client_id), ":"].concat()
}

impl Transaction {
    pub fn transaction_storage_key(&self) -> String {
        transaction_storage_prefix(&self.issuer, &self.client_id) + &self.state
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.created_at_ms) > TRANSACTION_TTL_MS || self.created_at_ms > now_ms + 60_000
    }

    pub fn to_stored(&self) -> String {
        let mut o = json::Object::new();
        o.insert("v".into(), VERSION.into());
        for (name, value) in [
            ("client_id", &self.client_id),
            ("issuer", &self.issuer),
            ("redirect_uri", &self.redirect_uri),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("scope", &self.scope),
        ] {
            o.insert(name.into(), value.as_str().into());
        }
        o.insert("code_verifier".into(), self.code_verifier.expose().into());
        json::put(&mut o, "audience", self.audience.as_deref());
        json::put(&mut o, "max_age", self.max_age);
        json::put(&mut o, "app_state_json", self.app_state.as_deref());
        o.insert("created_at_ms".into(), self.created_at_ms.into());
        json::put(&mut o, "dpop_jkt", self.dpop_jkt.as_deref());
        json::to_string(&json::Value::Object(o))
    }

    /// Reads a stored transaction back, refusing anything it would not have written.
    pub fn from_stored(value: &str) -> Result<Self> {
        let garbage = |why: &str| {
            AuthError::new(
                code::MISSING_TRANSACTION,
                msg!("the stored login transaction was unreadable ({why}) and was discarded; start the login again"),
            )
        };
        let unreadable = || garbage("not the JSON it should be");
        let o = json::object(value)
            .ok()
            .filter(|o| json::only(o, STORED_MEMBERS))
            .ok_or_else(unreadable)?;
        let text = |name| json::string(&o, name).map_err(|_| unreadable());
        let required = |name| text(name)?.ok_or_else(unreadable);
        if json::uint(&o, "v") != Ok(Some(VERSION as u64)) {
            return Err(garbage("unknown version"));
        }
        let code_verifier =
            CodeVerifier::parse(&required("code_verifier")?).map_err(|_| garbage("bad code_verifier"))?;
        let (state, nonce) = (required("state")?, required("nonce")?);
        if !is_random_token(&state) || !is_random_token(&nonce) {
            return Err(garbage("bad state or nonce"));
        }
        let legacy = o.get("app_state").filter(|v| !v.is_null());
        let app_state = match (text("app_state_json")?, legacy) {
            (Some(text), None) if json::is_app_json(&text) => Some(text),
            (Some(_), None) => return Err(garbage("bad appState")),
            (None, old) => old.map(json::to_string),
            (Some(_), Some(_)) => return Err(garbage("appState twice")),
        };
        let number = |name| json::uint(&o, name).map_err(|_| unreadable());
        Ok(Transaction {
            client_id: required("client_id")?,
            issuer: required("issuer")?,
            redirect_uri: required("redirect_uri")?,
            state,
            nonce,
            code_verifier,
            scope: required("scope")?,
            audience: text("audience")?,
            max_age: number("max_age")?,
            app_state,
            created_at_ms: number("created_at_ms")?.ok_or_else(unreadable)?,
            dpop_jkt: text("dpop_jkt")?,
        })
    }
}

/// What [`random::token`](crate::random::token) makes: 43 base64url characters (256 bits).
fn is_random_token(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Which stored transaction a callback's `state` designates.
#[derive(Debug, PartialEq, Eq)]
pub enum StateLookup {
    /// The storage key of the transaction with that state.
    Found(String),
    /// Pending logins exist, none with that state.
    Mismatch,
    /// No pending login of this client at all.
    NoneStored,
}

/// Finds the transaction for `state` among the storage `keys` (those under
/// `prefix`, the client's [`transaction_storage_prefix`]). Every state is compared in constant
/// time, so timing does not tell how much of a guessed state was right.
pub fn find_by_state<'a>(
    keys: impl IntoIterator<Item = &'a str>,
    prefix: &str,
    state: Option<&str>,
) -> StateLookup {
    let mut any = false;
    let mut found = None;
    for key in keys {
        if let Some(stored_state) = key.strip_prefix(prefix) {
            any = true;
            if let Some(state) = state {
                if constant_time_eq(stored_state.as_bytes(), state.as_bytes()) {
                    found = Some(key.to_string());
                }
            }
        }
    }
    match (found, any) {
        (Some(key), _) => StateLookup::Found(key),
        (None, true) => StateLookup::Mismatch,
        (None, false) => StateLookup::NoneStored,
    }
}

/// The keys under `prefix` (one client's [`transaction_storage_prefix`]) of transactions that
/// are past their lifetime or unreadable.
pub fn stale_keys<'a>(
    entries: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    prefix: &str,
    now_ms: u64,
) -> Vec<String> {
    entries
        .into_iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .filter(|(_, v)| {
            v.and_then(|v| Transaction::from_stored(v).ok())
                .is_none_or(|t| t.is_expired(now_ms))
        })
        .map(|(k, _)| k.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(state: &str, created_at_ms: u64) -> Transaction {
        Transaction {
            client_id: "app:1".into(),
            issuer: "https://id.example.com".into(),
            redirect_uri: "https://app.example.com/cb".into(),
            state: state.into(),
            nonce: "n".repeat(43),
            code_verifier: CodeVerifier::from_random_bytes(&[1; 32]),
            scope: "openid".into(),
            audience: None,
            max_age: Some(300),
            app_state: Some(r#"{"returnTo":"/inbox","n":[1,2]}"#.into()),
            created_at_ms,
            dpop_jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into()),
        }
    }

    #[test]
    fn round_trips_through_storage() {
        let t = sample(&"s".repeat(43), 1_000);
        let back = Transaction::from_stored(&t.to_stored()).unwrap();
        assert_eq!(back, t);
        assert_eq!(
            t.transaction_storage_key(),
            format!(
                "oidc-pkce:tx:https%3A%2F%2Fid.example.com:app%3A1:{}",
                "s".repeat(43)
            )
        );
    }

    #[test]
    fn app_state_comes_back_as_the_app_wrote_it() {
        let mut t = sample(&"s".repeat(43), 1_000);
        t.app_state = Some(r#"{"z":1,"returnTo":"/x","a":{"y":2,"b":3}}"#.into());
        let back = Transaction::from_stored(&t.to_stored()).unwrap();
        assert_eq!(
            back.app_state.as_deref(),
            Some(r#"{"z":1,"returnTo":"/x","a":{"y":2,"b":3}}"#)
        );
        // Written by an earlier version: a parsed value.
        let old = t.to_stored().replace(
            r#""app_state_json":"{\"z\":1,\"returnTo\":\"/x\",\"a\":{\"y\":2,\"b\":3}}""#,
            r#""app_state":{"n":5}"#,
        );
        assert!(old.contains(r#""app_state":{"n":5}"#), "{old}");
        assert_eq!(
            Transaction::from_stored(&old).unwrap().app_state.as_deref(),
            Some(r#"{"n":5}"#)
        );
        // What JSON.stringify writes of a lone surrogate comes back as written.
        t.app_state = Some(r#"{"s":"\ud800","\udfff":["a\ud83d"]}"#.into());
        let back = Transaction::from_stored(&t.to_stored()).unwrap();
        assert_eq!(back.app_state, t.app_state);
        // Not JSON: refused like any tampered entry.
        let bad = t.to_stored().replace(r#"\"s\":"#, "oops");
        assert_eq!(
            Transaction::from_stored(&bad).unwrap_err().code(),
            code::MISSING_TRANSACTION
        );
    }

    #[test]
    fn tampered_or_garbage_entries_are_refused() {
        let good = sample(&"s".repeat(43), 1_000).to_stored();
        let cases = [
            "".to_string(),
            "{}".to_string(),
            "null".to_string(),
            good.replace("\"v\":1", "\"v\":2"),
            good.replace(&"s".repeat(43), "short"),
            good.replace("\"scope\"", "\"extra\":1,\"scope\""),
            good.replace(CodeVerifier::from_random_bytes(&[1; 32]).expose(), "x"),
        ];
        for bad in cases {
            assert_eq!(
                Transaction::from_stored(&bad).unwrap_err().code(),
                code::MISSING_TRANSACTION,
                "{bad}"
            );
        }
    }

    #[test]
    fn expiry_after_ten_minutes() {
        let t = sample(&"s".repeat(43), 1_000_000);
        assert!(!t.is_expired(1_000_000 + TRANSACTION_TTL_MS));
        assert!(t.is_expired(1_000_000 + TRANSACTION_TTL_MS + 1));
        // Created far in the future: a clock jump or a forged entry.
        assert!(t.is_expired(1_000_000 - 120_000));
    }

    #[test]
    fn lookup_by_state() {
        let iss = "https://id";
        let mine = transaction_storage_prefix(iss, "app:1");
        let a = format!("{mine}{}", "a".repeat(43));
        let b = format!("{mine}{}", "b".repeat(43));
        let other = format!("{}{}", transaction_storage_prefix(iss, "other"), "c".repeat(43));
        let other_issuer = format!(
            "{}{}",
            transaction_storage_prefix("https://id2", "app:1"),
            "d".repeat(43)
        );
        let keys = [
            a.as_str(),
            b.as_str(),
            other.as_str(),
            other_issuer.as_str(),
            "unrelated",
        ];
        assert_eq!(
            find_by_state(keys, &mine, Some(&"b".repeat(43))),
            StateLookup::Found(b.clone())
        );
        assert_eq!(
            find_by_state(keys, &mine, Some(&"c".repeat(43))),
            StateLookup::Mismatch
        );
        assert_eq!(
            find_by_state(keys, &mine, Some(&"d".repeat(43))),
            StateLookup::Mismatch
        );
        assert_eq!(find_by_state(keys, &mine, None), StateLookup::Mismatch);
        assert_eq!(
            find_by_state(
                keys,
                &transaction_storage_prefix(iss, "app"),
                Some(&"a".repeat(43))
            ),
            StateLookup::NoneStored
        );
        assert_eq!(
            find_by_state(["unrelated"], &mine, Some("x")),
            StateLookup::NoneStored
        );
    }

    #[test]
    fn stale_entries_are_found() {
        let fresh = sample(&"f".repeat(43), 10_000_000);
        let old = sample(&"o".repeat(43), 1_000);
        let (fs, os) = (fresh.to_stored(), old.to_stored());
        let (fk, ok) = (fresh.transaction_storage_key(), old.transaction_storage_key());
        let prefix = transaction_storage_prefix("https://id.example.com", "app:1");
        let garbage_key = format!("{prefix}{}", "g".repeat(43));
        let entries = [
            (fk.as_str(), Some(fs.as_str())),
            (ok.as_str(), Some(os.as_str())),
            (garbage_key.as_str(), Some("garbage")),
            ("someone-else", Some("x")),
        ];
        let mut stale = stale_keys(entries, &prefix, 10_000_000);
        stale.sort();
        let mut want = vec![garbage_key, ok];
        want.sort();
        assert_eq!(stale, want);
    }
}
