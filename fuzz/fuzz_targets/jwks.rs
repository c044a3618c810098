#![no_main]
//! Key sets from the provider: parsing, fitness checks, building verification keys.
use libfuzzer_sys::fuzz_target;
use oidc_pkce::crypto::verify_signature;
use oidc_pkce::id_token::SignatureCheck;
use oidc_pkce::jwks::{key_fits, parse_jwks};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else { return };
    let Ok(set) = parse_jwks(body) else { return };
    for alg in ["RS256", "PS512", "ES256", "HS256", "none"] {
        let _ = set.choose(alg, Some("rsa-1"));
        let _ = set.choose(alg, None);
        for k in &set.keys {
            if key_fits(k, alg).is_ok() {
                let check = SignatureCheck {
                    alg: alg.into(),
                    jwk: k.clone(),
                    signing_input: "e30.e30".into(),
                    signature: "AAAA".into(),
                };
                let _ = verify_signature(&check);
            }
        }
    }
});
