//! The provider's endpoints and how far they are trusted: discovery (OpenID
//! Connect Discovery 1.0), the offline start from the document kept with a
//! session, and its confirmation once the provider answers again.

use std::cell::RefCell;

use super::keys::{Purpose, Verification};
use super::Adoption;
use super::{Client, Effects, Trust};
use crate::config::ProviderSource;
use crate::discovery::{
    apply_overrides, discovery_url, metadata_from_overrides, parse_discovery_document, static_metadata,
    ProviderMetadata,
};
use crate::error::{code, AuthError, Result};
use crate::http::{expect_ok, is_unreachable, Cache, HttpAnswer, HttpRequest};
use crate::id_token::allowed_algs;

thread_local! {
    /// Discovery documents, fetched once per page per issuer and per
    /// `allowInsecureRequests`: a document accepted with insecure endpoints
    /// allowed must not serve a client that does not allow them.
    static DISCOVERY: RefCell<Vec<((String, bool), ProviderMetadata)>> = const { RefCell::new(Vec::new()) };
}

/// Tests: this page's documents forgotten.
#[cfg(test)]
pub(crate) fn forget_documents() {
    DISCOVERY.with(|d| d.borrow_mut().clear());
}

/// Tests: this page's documents exchanged with another page's.
#[cfg(test)]
pub(crate) fn swap_documents(other: &mut Vec<((String, bool), ProviderMetadata)>) {
    DISCOVERY.with(|d| std::mem::swap(&mut *d.borrow_mut(), other));
}

/// What discovery's answer means.
#[derive(Debug, PartialEq, Eq)]
pub enum Discovered {
    /// The endpoints are known; `keep` is the document to keep beside the
    /// session (`tokenStorage` persists), for an offline start.
    Ready { keep: Option<(String, String)> },
    /// No answer, and a session may be stored: read these two keys (the
    /// session, the kept document) and hand them to [`Client::start_offline`].
    Offline {
        session_key: String,
        document_key: String,
    },
}

/// What confirming the endpoints of an offline start found.
#[derive(Debug)]
pub enum Confirmation {
    /// Confirmed: the session's ID token (if any) is to be verified again
    /// against the provider's key set ([`Purpose::Stored`]); a failure goes
    /// to [`Client::confirmation_failed`].
    Confirmed(Option<Box<Verification>>),
    /// Not confirmed: apply (the session and the kept document are dropped,
    /// or, offline still, nothing) and throw.
    Refused(Effects),
}

impl Client {
    /// The discovery request, or `None` when the endpoints are known without
    /// one (Auth0 `domain`, both login endpoints given, or this page's copy).
    pub fn discovery_request(&mut self) -> Result<Option<HttpRequest>> {
        let known = static_metadata(&self.config)
            .or_else(|| metadata_from_overrides(&self.config))
            .or_else(|| {
                DISCOVERY.with(|d| {
                    d.borrow()
                        .iter()
                        .find(|(k, _)| *k == self.discovery_cache_key())
                        .map(|(_, m)| apply_overrides(m.clone(), &self.config.endpoints))
                })
            });
        match known {
            Some(m) => {
                self.set_endpoints(m, Trust::Confirmed)?;
                Ok(None)
            }
            None => Ok(Some(self.discovery_document_request())),
        }
    }

    fn discovery_document_request(&self) -> HttpRequest {
        HttpRequest::document(
            &discovery_url(self.config.issuer()),
            Cache::NoStore,
            self.config.http_timeout_ms,
            code::INVALID_DISCOVERY,
        )
    }

    fn discovery_cache_key(&self) -> (String, bool) {
        (
            self.config.issuer().to_string(),
            self.config.allow_insecure_requests,
        )
    }

    /// The storage key of the discovery document kept with a session.
    pub fn discovery_storage_key(&self) -> String {
        [
            "oidc-pkce:discovery:",
            &crate::transaction::key_part(self.config.issuer()),
        ]
        .concat()
    }

    pub(crate) fn set_endpoints(&mut self, metadata: ProviderMetadata, trust: Trust) -> Result<()> {
        if self.config.dpop {
            crate::dpop::check_provider_support(metadata.dpop_signing_alg_values_supported.as_deref())?;
        }
        self.algs = allowed_algs(
            self.config.id_token_signing_algs.as_deref(),
            metadata.id_token_signing_alg_values_supported.as_deref(),
        );
        self.metadata = metadata;
        self.trust = trust;
        Ok(())
    }

    /// Reads the discovery answer. Checked like any input; kept in this page
    /// and, with a persistent `tokenStorage`, beside the session. No answer
    /// with a persistent `tokenStorage`: an offline start is tried.
    pub fn discovered(&mut self, answer: HttpAnswer) -> Result<Discovered> {
        let request = self.discovery_document_request();
        let offline_possible = answer.is_unanswered() && self.stores.persists();
        let document = answer.response(&request).and_then(|r| {
            expect_ok(&r, &request)?;
            let m = parse_discovery_document(
                r.text(),
                self.config.issuer(),
                self.config.allow_insecure_requests,
            )?;
            Ok((m, r.body.unwrap_or_default()))
        });
        match document {
            Ok((m, body)) => {
                let key = self.discovery_cache_key();
                DISCOVERY.with(|d| {
                    let mut d = d.borrow_mut();
                    d.retain(|(k, _)| *k != key);
                    d.push((key, m.clone()));
                });
                self.set_endpoints(apply_overrides(m, &self.config.endpoints), Trust::Confirmed)?;
                let keep = self
                    .stores
                    .persists()
                    .then(|| (self.discovery_storage_key(), body));
                Ok(Discovered::Ready { keep })
            }
            Err(e) if offline_possible => {
                self.unreachable = Some(e);
                Ok(Discovered::Offline {
                    session_key: self.session_storage_key(),
                    document_key: self.discovery_storage_key(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// An offline start: with a session stored, the kept document serves
    /// (read back like any input: the same checks as a fetched document),
    /// as storage until the provider confirms it ([`Trust::Kept`]).
    /// Otherwise discovery's own error.
    pub fn start_offline(&mut self, session: Option<&str>, document: Option<&str>) -> Result<()> {
        let unreachable = self
            .unreachable
            .take()
            .unwrap_or_else(|| AuthError::new(code::NETWORK_ERROR, "the provider gave no answer"));
        let kept = session.and(document).and_then(|doc| {
            parse_discovery_document(doc, self.config.issuer(), self.config.allow_insecure_requests).ok()
        });
        match kept {
            Some(m) => self.set_endpoints(apply_overrides(m, &self.config.endpoints), Trust::Kept),
            None => Err(unreachable),
        }
    }

    /// Before anything that sends the browser or a request to the provider's
    /// endpoints: `None` when they are confirmed; after an offline start, the
    /// discovery request whose answer must confirm them
    /// ([`Client::confirmed`]). Refused endpoints: `invalid_discovery`.
    pub fn confirmation_request(&self) -> Result<Option<HttpRequest>> {
        match self.trust {
            Trust::Kept if matches!(self.config.provider, ProviderSource::Issuer(_)) => {
                Ok(Some(self.discovery_document_request()))
            }
            Trust::Refused => Err(endpoints_refused()),
            _ => Ok(None),
        }
    }

    /// The provider answered discovery after an offline start. The same
    /// endpoints: confirmed, and the session is to be verified against the
    /// key set the provider serves now. No answer, or a 5xx: offline still,
    /// the session stays. Anything else (other endpoints, a document that
    /// fails its checks): the session and the kept document are dropped.
    pub fn confirmed(&mut self, answer: HttpAnswer) -> Confirmation {
        let request = self.discovery_document_request();
        let fresh = answer.response(&request).and_then(|r| {
            expect_ok(&r, &request)?;
            parse_discovery_document(
                r.text(),
                self.config.issuer(),
                self.config.allow_insecure_requests,
            )
        });
        let refusal = match fresh {
            Ok(m) => (apply_overrides(m, &self.config.endpoints) != self.metadata).then(endpoints_refused),
            Err(e) if is_unreachable(&e) || e.status().is_some_and(|s| s >= 500) => {
                return Confirmation::Refused(Effects::failing(e))
            }
            Err(e) => Some(e),
        };
        if let Some(e) = refusal {
            self.trust = Trust::Refused;
            let mut effects = self.forget_session();
            effects.remove.push(self.discovery_storage_key());
            effects.error = Some(e);
            return Confirmation::Refused(effects);
        }
        self.trust = Trust::Confirmed;
        let since = self.since();
        Confirmation::Confirmed(self.session.as_ref().map(|s| {
            Box::new(
                Verification::new(s.id_token.raw.expose(), Purpose::Stored).becomes(Adoption::Checked(since)),
            )
        }))
    }

    /// Verifying the session again after the endpoints were confirmed failed
    /// with `e` (the driver rethrows it after these effects): no answer from
    /// the key set's server, and the session is checked next time; anything
    /// else, and it is forgotten, if it is still the one checked (`v`).
    pub fn confirmation_failed(&mut self, e: &AuthError, v: &Verification) -> Effects {
        if is_unreachable(e) {
            self.trust = Trust::Kept;
            return Effects::default();
        }
        match v.adoption {
            Adoption::Checked(since) if !self.timeline.same_session(since) => Effects::default(),
            _ => self.forget_session(),
        }
    }

    /// The endpoints may send the browser somewhere now, without waiting for
    /// the provider (`buildLogoutUrl` is synchronous): only when confirmed.
    pub fn endpoints_confirmed(&self) -> Result<()> {
        match self.trust {
            Trust::Kept => Err(AuthError::new(
                code::NETWORK_ERROR,
                "the provider has not been reached since this page started offline: its endpoints are not confirmed yet",
            )),
            Trust::Refused => Err(endpoints_refused()),
            _ => Ok(()),
        }
    }
}

pub(crate) fn endpoints_refused() -> AuthError {
    AuthError::new(
        code::INVALID_DISCOVERY,
        "the provider's endpoints are not the ones kept with the session: the session was dropped; create the client again",
    )
}
