//! DPoP in the browser (RFC 9449): the key, the proofs, the servers' nonces.
//!
//! The key pair is made by `crypto.subtle` with a non-extractable private key
//! and kept in IndexedDB (database `oidc-pkce-dpop`, store `keys`, one entry
//! per issuer and client id), whatever `tokenStorage` is: the key that signs
//! the code exchange after the redirect must be the one the authorization
//! request named, and the tokens stay bound to it across reloads. A script
//! of the page can ask it to sign, as it can use the tokens, but the private
//! key itself can never be read, so stolen tokens are useless elsewhere.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::client::{now_ms, Inner};
use super::http::{self, describe, Body, Credentials, Expect, HttpResponse};
use crate::dpop::{
    nonce_key, resource_asks_for_nonce, server_asks_for_nonce, signing_input, valid_nonce, Claims, PublicKey,
};
use crate::error::{code, http_error, AuthError, Result};
use crate::token::TokenRequest;
use crate::transaction::client_key;

#[wasm_bindgen(module = "/src/wasm/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = dpopSupported)]
    pub fn supported() -> bool;
    #[wasm_bindgen(js_name = dpopKey)]
    fn dpop_key(id: &str, create: bool) -> Promise;
    #[wasm_bindgen(js_name = dpopForget)]
    fn dpop_forget(id: &str) -> Promise;
    #[wasm_bindgen(js_name = dpopSign)]
    fn dpop_sign(id: &str, input: &str) -> Promise;
}

/// This browser's DPoP key, as far as Rust sees it: its public half. The
/// private `CryptoKey` stays in the glue, which signs with the key last read.
pub struct DpopKey {
    public: PublicKey,
    /// The JWK thumbprint (RFC 7638).
    pub jkt: String,
}

fn key_error(e: &JsValue) -> AuthError {
    AuthError::new(
        code::STORAGE_ERROR,
        msg!("the DPoP key could not be read, made or stored ({})", describe(e)),
    )
}

impl Inner {
    fn dpop_id(&self) -> String {
        client_key(self.config.issuer(), &self.config.client_id)
    }

    /// The key this client holds; with `create`, a new one when there is none.
    pub(super) async fn dpop_key(&self, create: bool) -> Result<Option<DpopKey>> {
        let found = JsFuture::from(dpop_key(&self.dpop_id(), create))
            .await
            .map_err(|e| key_error(&e))?;
        if !found.is_object() {
            return Ok(None);
        }
        let get = |name: &str| {
            js_sys::Reflect::get(&found, &name.into())
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        };
        let public = PublicKey::from_coordinates(&get("x"), &get("y"))?;
        Ok(Some(DpopKey {
            jkt: public.thumbprint(),
            public,
        }))
    }

    /// The key whose thumbprint is `jkt` (the one a login named, or a
    /// session's tokens are bound to); `login_required` when it is gone.
    pub(super) async fn dpop_key_for(&self, jkt: &str) -> Result<DpopKey> {
        match self.dpop_key(false).await? {
            Some(k) if k.jkt == jkt => Ok(k),
            _ => Err(AuthError::new(
                code::LOGIN_REQUIRED,
                "the DPoP key these tokens are bound to is gone (signed out in another tab, or site data cleared): log in again",
            )),
        }
    }

    /// `logout()`: the key goes too; the next login makes a new one.
    pub(super) async fn forget_dpop_key(&self) {
        if self.config.dpop {
            let _ = JsFuture::from(dpop_forget(&self.dpop_id())).await;
        }
    }

    /// The key the current session's tokens are bound to: `None` for Bearer
    /// tokens. A DPoP-bound token without the `dpop` option (a provider that
    /// binds without being asked) has no key here: refused, never sent as Bearer.
    pub(super) async fn session_key_binding(&self) -> Result<Option<DpopKey>> {
        let (bound, jkt) = match self.session.borrow().as_ref() {
            Some(s) => (
                s.tokens.token_type.eq_ignore_ascii_case("dpop"),
                s.dpop_jkt.clone(),
            ),
            None => return Err(AuthError::new(code::LOGIN_REQUIRED, "not signed in")),
        };
        match (bound, jkt) {
            (_, Some(jkt)) => Ok(Some(self.dpop_key_for(&jkt).await?)),
            (false, None) => Ok(None),
            (true, None) => Err(AuthError::new(
                code::UNSUPPORTED_PLATFORM,
                "the access token is DPoP-bound but the client has no key for it: set `dpop: true`",
            )),
        }
    }

    /// A DPoP proof (RFC 9449 §4) for `htm` `url`, with the nonce last given
    /// by that URL's server and, for a resource request, the token's hash.
    async fn dpop_proof(
        &self,
        key: &DpopKey,
        htm: &str,
        url: &str,
        access_token: Option<&str>,
    ) -> Result<String> {
        let jti = crate::random::token()?;
        let nonce = nonce_key(url).and_then(|o| {
            self.dpop_nonces
                .borrow()
                .iter()
                .find(|(k, _)| *k == o)
                .map(|(_, n)| n.clone())
        });
        let input = signing_input(
            &key.public,
            &Claims {
                htm,
                url,
                iat_s: now_ms() / 1000,
                jti: &jti,
                nonce: nonce.as_deref(),
                access_token,
            },
        )?;
        let signature = JsFuture::from(dpop_sign(&self.dpop_id(), &input))
            .await
            .map_err(|e| key_error(&e))?
            .as_string()
            .unwrap_or_default();
        Ok(format!("{input}.{signature}"))
    }

    /// Sends `target` with a proof of `key` when there is one: token
    /// requests (§5) with the proof alone; resource requests (§7) with
    /// `Authorization: DPoP` and a proof with `ath`, or `Authorization:
    /// Bearer` without a key. When the server asks for a nonce (§8: 400
    /// `use_dpop_nonce`; §9: 401 `WWW-Authenticate: DPoP
    /// error="use_dpop_nonce"`) and gave one, once more with it; the latest
    /// `DPoP-Nonce` of each server goes into the next proof to it. The last
    /// answer is returned, whatever its status.
    pub(super) async fn send_with_proof(
        &self,
        target: Target<'_>,
        key: Option<&DpopKey>,
    ) -> Result<HttpResponse> {
        let (method, url, token, body, expect) = match target {
            Target::Token(req, expect) => {
                let body = Body::Text {
                    content_type: req.content_type,
                    body: &req.body,
                };
                ("POST".to_string(), req.url.clone(), None, body, expect)
            }
            Target::Get(url, token, expect) => (
                "GET".to_string(),
                url.to_string(),
                Some(token),
                Body::None,
                expect,
            ),
            Target::App(r, token) => (r.method(), r.url(), Some(token), Body::App(r), Expect::secret("")),
        };
        let mut retried = false;
        loop {
            let proof = match key {
                Some(k) => Some(self.dpop_proof(k, &method, &url, token).await?),
                None => None,
            };
            let scheme = if key.is_some() { "DPoP" } else { "Bearer" };
            let authorization = token.map(|t| format!("{scheme} {t}"));
            let credentials = Credentials {
                authorization: authorization.as_deref(),
                dpop: proof.as_deref(),
            };
            let resp = http::send(
                &method,
                &url,
                body,
                credentials,
                self.config.http_timeout_ms,
                expect,
            )
            .await?;
            let asks = match token {
                None => {
                    resp.status == 400
                        && server_asks_for_nonce(&http_error(resp.status, &resp.body, expect.invalid, ""))
                }
                Some(_) => resource_asks_for_nonce(resp.status, resp.www_authenticate.as_deref()),
            };
            let fresh_nonce = match (nonce_key(&url), resp.dpop_nonce.as_deref().and_then(valid_nonce)) {
                (Some(origin), Some(n)) => {
                    let mut nonces = self.dpop_nonces.borrow_mut();
                    nonces.retain(|(k, _)| *k != origin);
                    nonces.push((origin, n.to_string()));
                    true
                }
                _ => false,
            };
            if key.is_none() || retried || !asks || !fresh_nonce {
                return Ok(resp);
            }
            retried = true;
        }
    }
}

/// A request that may carry a DPoP proof.
pub enum Target<'a> {
    /// A POST to the provider: token (code exchange, refresh), PAR, revocation
    /// (the last two never with a key).
    Token(&'a TokenRequest, Expect),
    /// A GET of a resource with the access token, its answer read whole (userinfo).
    Get(&'a str, &'a str, Expect),
    /// The app's request with the access token (`fetchWithAuth`).
    App(&'a web_sys::Request, &'a str),
}
