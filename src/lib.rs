//! OAuth 2.0 Authorization Code + PKCE and OpenID Connect sign-in, as a
//! host-testable protocol core plus a thin WebAssembly facade (`wasm` module).
//!
//! The core does no I/O: it builds requests and judges responses. The `wasm`
//! module does the fetching, storing and navigating in the browser.

pub mod authorize;
pub mod b64;
pub mod callback;
pub mod config;
#[cfg(feature = "rust-verifier")]
pub mod crypto;
pub mod discovery;
pub mod dpop;
pub mod error;
pub mod id_token;
pub mod json;
pub mod jwks;
pub mod logout;
pub mod par;
pub mod pkce;
pub mod random;
pub mod secret;
pub mod session;
pub mod token;
pub mod transaction;
pub mod uri;
pub mod userinfo;

#[cfg(all(target_arch = "wasm32", feature = "browser"))]
pub mod wasm;

pub use error::{AuthError, Result};

#[cfg(test)]
mod test_support;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests;
