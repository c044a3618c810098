//! Test-only helpers: sign JWTs with the fixed keys of tests/fixtures.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rsa::{BigUint, RsaPrivateKey};
use serde_json::Value;
use sha2::Sha256;
use signature::{SignatureEncoding, Signer};

use crate::jwks::{Jwk, JwkSet};

// The pure-Rust verifier, for tests that verify whole tokens.
pub use crate::crypto::verify_id_token;

const KEYS: &str = include_str!("../tests/fixtures/signing-keys.json");

pub fn private_jwk(name: &str) -> Value {
    let all: Value = serde_json::from_str(KEYS).unwrap();
    all[name].clone()
}

fn b64u(v: &Value, member: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(v[member].as_str().unwrap()).unwrap()
}

/// The public half of a fixture key, as a provider publishes it.
pub fn public_jwk(name: &str) -> Jwk {
    let mut v = private_jwk(name);
    let o = v.as_object_mut().unwrap();
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        o.remove(private);
    }
    serde_json::from_value(v).unwrap()
}

pub fn jwks(names: &[&str]) -> JwkSet {
    JwkSet {
        keys: names.iter().map(|n| public_jwk(n)).collect(),
    }
}

fn encode(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// Signs `claims` with fixture key `name` (RS256 or ES256 by key type), with `header` members added.
pub fn sign(name: &str, header: Value, claims: &Value) -> String {
    let key = private_jwk(name);
    let mut h = serde_json::json!({"typ": "JWT", "alg": key["alg"], "kid": key["kid"]});
    for (k, v) in header.as_object().unwrap() {
        h[k] = v.clone();
    }
    let input = format!("{}.{}", encode(&h), encode(claims));
    let sig = if key["kty"] == "RSA" {
        let n = BigUint::from_bytes_be(&b64u(&key, "n"));
        let e = BigUint::from_bytes_be(&b64u(&key, "e"));
        let d = BigUint::from_bytes_be(&b64u(&key, "d"));
        let primes = vec![
            BigUint::from_bytes_be(&b64u(&key, "p")),
            BigUint::from_bytes_be(&b64u(&key, "q")),
        ];
        let private = RsaPrivateKey::from_components(n, e, d, primes).unwrap();
        rsa::pkcs1v15::SigningKey::<Sha256>::new(private)
            .sign(input.as_bytes())
            .to_vec()
    } else {
        let sk = p256::ecdsa::SigningKey::from_slice(&b64u(&key, "d")).unwrap();
        let sig: p256::ecdsa::Signature = sk.sign(input.as_bytes());
        sig.to_vec()
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

pub fn hs256_with(secret: &[u8], claims: &Value, kid: &str) -> String {
    use sha2::Digest;
    // HMAC-SHA256 by hand (RFC 2104), enough for a forged token.
    let h = serde_json::json!({"alg": "HS256", "kid": kid});
    let input = format!("{}.{}", encode(&h), encode(claims));
    let mut k = [0u8; 64];
    if secret.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(secret));
    } else {
        k[..secret.len()].copy_from_slice(secret);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::digest([ipad.as_slice(), input.as_bytes()].concat());
    let mac = Sha256::digest([opad.as_slice(), inner.as_slice()].concat());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac))
}

pub fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.",
        encode(&serde_json::json!({"alg": "none"})),
        encode(claims)
    )
}
