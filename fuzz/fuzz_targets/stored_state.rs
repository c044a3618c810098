#![no_main]
//! What storage gives back: another script (or a bug) may have written anything there.
use libfuzzer_sys::fuzz_target;
use oidc_pkce::jwks::parse_stored_key_set;
use oidc_pkce::session::{parse_stored_session, seal, unseal, without_seal};
use oidc_pkce::transaction::{stale_keys, Transaction};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else { return };
    if let Ok(tx) = Transaction::from_stored(value) {
        // What it would write back must read back the same.
        assert_eq!(Transaction::from_stored(&tx.to_stored()).ok().as_ref(), Some(&tx));
        let _ = tx.is_expired(1_800_000_000_000);
    }
    let _ = stale_keys([("oidc-pkce:tx:i:app:x", Some(value))], "oidc-pkce:tx:i:app:", 1_800_000_000_000);
    let _ = parse_stored_session(value, "app", "https://id.example.com");
    let _ = parse_stored_key_set(value, 1_800_000_000_000);
    // The seal: what is sealed opens to itself with the same secret and not
    // with another; whatever is stored, without its seal, is never longer.
    let secret = [9u8; 32];
    let sealed = seal(value, &secret);
    if value.ends_with('}') {
        assert_eq!(unseal(&sealed, &secret).as_deref(), Some(value));
        assert_eq!(unseal(&sealed, &[8u8; 32]), None);
    }
    let _ = unseal(value, &secret);
    assert!(without_seal(value).len() <= value.len());
});
