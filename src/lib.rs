//! OAuth 2.0 Authorization Code + PKCE and OpenID Connect sign-in, as a
//! host-testable protocol core plus a thin WebAssembly facade (`wasm` module).
//!
//! The core does no I/O: it builds requests and judges responses. The `wasm`
//! module does the fetching, storing and navigating in the browser.

/// A message for the person reading an error; programs read its `code` (and
/// `reason`, `error`...). Built with the `terse` feature (the npm package's
/// production build) every message is left out, and with it everything only
/// messages need: the formatting is type-checked but never runs, so the
/// compiler drops it. Not for text a program reads (storage keys, URLs,
/// headers, JSON): that is `format!`.
macro_rules! msg {
    ($($arg:tt)*) => {{
        #[cfg(not(feature = "terse"))]
        let message = format!($($arg)*);
        #[cfg(feature = "terse")]
        let message = {
            if false {
                let _ = format!($($arg)*);
            }
            String::new()
        };
        message
    }};
}

pub mod api;
pub mod authorize;
pub mod b64;
pub mod backchannel;
pub mod callback;
pub mod client;
pub mod client_auth;
pub mod config;
#[cfg(feature = "rust-verifier")]
pub mod crypto;
pub mod discovery;
pub mod dpop;
pub mod error;
pub mod http;
pub mod id_token;
pub mod json;
pub mod jwks;
pub mod logout;
pub mod par;
pub mod pkce;
pub mod random;
pub mod secret;
pub mod server;
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
