//! The pure-Rust signature verifier (feature `rust-verifier`): a verify-only
//! `CryptoProvider` for jsonwebtoken over RustCrypto, RS256/384/512,
//! PS256/384/512 (`rsa`) and ES256 (`p256`). Signing is never needed by a
//! relying party and is refused.
//!
//! The browser package verifies with `crypto.subtle` and does not carry this
//! code in its main module; the `verifier/` crate builds it as a second module,
//! fetched only where `crypto.subtle` is missing (an http LAN dev server).
//! Host tests and fuzzing use it directly.

use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use rsa::traits::SignatureScheme;
use rsa::{BigUint, Pkcs1v15Sign, Pss, RsaPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::Verifier;

use crate::error::Result;
use crate::id_token::{begin_verification, finish_verification, Expected, SignatureCheck, VerifiedIdToken};
use crate::jwks::{Jwk, JwkSet};

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: |_, _| Err(ErrorKind::UnsupportedAlgorithm.into()),
    verifier_factory,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: |_| Err(ErrorKind::UnsupportedAlgorithm.into()),
        rsa_pub_components_from_public_key: |_| Err(ErrorKind::UnsupportedAlgorithm.into()),
        ec_pub_components_from_private_key: |_, _| Err(ErrorKind::UnsupportedAlgorithm.into()),
        ed_pub_components_from_private_key: |_, _| Err(ErrorKind::UnsupportedAlgorithm.into()),
        compute_digest: |_, _| Err(ErrorKind::UnsupportedAlgorithm.into()),
    },
};

/// Verifies an ID token's signature with this verifier, then every claim
/// (`id_token`'s two halves around it).
pub fn verify_id_token(token: &str, jwks: &JwkSet, expected: &Expected<'_>) -> Result<VerifiedIdToken> {
    let (check, unverified) = begin_verification(token, jwks, expected.algs)?;
    finish_verification(unverified, verify_signature(&check), expected)
}

/// Makes this provider jsonwebtoken's process default (idempotent; the first
/// provider installed stays, and only this crate installs one).
pub fn install() {
    let _ = PROVIDER.install_default();
}

/// Checks a JWS signature: `Ok(false)` when it does not verify, `Err` when it
/// cannot be checked (a key the library cannot build, a signature that is not
/// base64url).
pub fn verify_signature(check: &SignatureCheck) -> Result<bool, String> {
    install();
    let key = decoding_key(&check.jwk).ok_or("the chosen JWK cannot be read as a key")?;
    let alg: Algorithm = check
        .alg
        .parse()
        .map_err(|_| format!("unsupported alg {:?}", check.alg))?;
    jsonwebtoken::crypto::verify(&check.signature, check.signing_input.as_bytes(), &key, alg)
        .map_err(|e| e.to_string())
}

/// The jsonwebtoken key of a JWK that [`crate::jwks::key_fits`].
fn decoding_key(k: &Jwk) -> Option<DecodingKey> {
    match k.kty.as_str() {
        "RSA" => DecodingKey::from_rsa_components(k.n.as_deref()?, k.e.as_deref()?).ok(),
        "EC" => DecodingKey::from_ec_components(k.x.as_deref()?, k.y.as_deref()?).ok(),
        _ => None,
    }
}

fn verifier_factory(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    let kind = match alg {
        Algorithm::RS256 => Kind::Pkcs1(HashAlg::Sha256),
        Algorithm::RS384 => Kind::Pkcs1(HashAlg::Sha384),
        Algorithm::RS512 => Kind::Pkcs1(HashAlg::Sha512),
        Algorithm::PS256 => Kind::Pss(HashAlg::Sha256),
        Algorithm::PS384 => Kind::Pss(HashAlg::Sha384),
        Algorithm::PS512 => Kind::Pss(HashAlg::Sha512),
        Algorithm::ES256 => {
            let point = key.try_get_as_bytes()?;
            let vk =
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| ErrorKind::InvalidEcdsaKey)?;
            return Ok(Box::new(Es256(vk)));
        }
        _ => return Err(ErrorKind::UnsupportedAlgorithm.into()),
    };
    let DecodingKeyKind::RsaModulusExponent { n, e } = key.kind() else {
        return Err(ErrorKind::InvalidKeyFormat.into());
    };
    let public = RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e))
        .map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()))?;
    Ok(Box::new(Rsa {
        alg: *alg,
        kind,
        public,
    }))
}

#[derive(Clone, Copy)]
enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Clone, Copy)]
enum Kind {
    Pkcs1(HashAlg),
    Pss(HashAlg),
}

struct Rsa {
    alg: Algorithm,
    kind: Kind,
    public: RsaPublicKey,
}

fn rsa_verify<S: SignatureScheme>(
    key: &RsaPublicKey,
    scheme: S,
    hashed: &[u8],
    sig: &[u8],
) -> signature::Result<()> {
    key.verify(scheme, hashed, sig)
        .map_err(|_| signature::Error::new())
}

impl Verifier<Vec<u8>> for Rsa {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> signature::Result<()> {
        let k = &self.public;
        match self.kind {
            Kind::Pkcs1(HashAlg::Sha256) => {
                rsa_verify(k, Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(msg), sig)
            }
            Kind::Pkcs1(HashAlg::Sha384) => {
                rsa_verify(k, Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(msg), sig)
            }
            Kind::Pkcs1(HashAlg::Sha512) => {
                rsa_verify(k, Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(msg), sig)
            }
            Kind::Pss(HashAlg::Sha256) => rsa_verify(k, Pss::new::<Sha256>(), &Sha256::digest(msg), sig),
            Kind::Pss(HashAlg::Sha384) => rsa_verify(k, Pss::new::<Sha384>(), &Sha384::digest(msg), sig),
            Kind::Pss(HashAlg::Sha512) => rsa_verify(k, Pss::new::<Sha512>(), &Sha512::digest(msg), sig),
        }
    }
}

impl JwtVerifier for Rsa {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

struct Es256(p256::ecdsa::VerifyingKey);

impl Verifier<Vec<u8>> for Es256 {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> signature::Result<()> {
        // JWS ES256 signatures are R || S, 64 bytes (RFC 7518 §3.4).
        let sig = p256::ecdsa::Signature::from_slice(sig)?;
        self.0.verify(msg, &sig)
    }
}

impl JwtVerifier for Es256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}
