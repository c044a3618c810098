//! A stored session read back when the client is made (a reload, a new
//! page): validated like any input, its DPoP key still there, its ID token
//! verified again, still active. One that cannot serve is removed; one that
//! cannot be checked now (no answer from the provider) is kept for a later
//! page load.

use super::keys::Verification;
use super::timeline::{Change, Since};
use super::Adoption;
use super::{Adopted, Client, Effects};
use crate::error::AuthError;
use crate::http::is_unreachable;
use crate::id_token::VerifiedIdToken;
use crate::session::{legacy_session_storage_key, Session, StoredSession};

/// What a stored session leads to.
#[derive(Debug)]
pub enum Restore {
    /// Nothing to take up (apply the effects: a legacy entry removed).
    Nothing(Effects),
    /// Apply the effects (a legacy entry moved), check the DPoP key of this
    /// thumbprint if any, verify the ID token, then adopt it; a failure goes
    /// to [`Client::restore_failed`].
    Verify {
        effects: Effects,
        dpop_jkt: Option<String>,
        verification: Box<Verification>,
    },
}

impl Client {
    /// The storage keys to read: this client's session, and where versions
    /// before 0.1.1 kept it (by client id alone).
    pub fn restore_keys(&self) -> (String, String) {
        (
            self.session_storage_key(),
            legacy_session_storage_key(&self.config.client_id),
        )
    }

    /// The values read under [`Client::restore_keys`] (`since`: before the
    /// read). A legacy entry is read once and removed whatever it holds; if
    /// it is this issuer's, it moves under the issuer's key (when that has none).
    pub fn restore(&self, stored: Option<String>, legacy: Option<String>, since: Since) -> Restore {
        let (key, legacy_key) = self.restore_keys();
        let mut effects = Effects::default();
        if legacy.is_some() {
            effects.remove.push(legacy_key);
        }
        let legacy = legacy.filter(|l| self.parse_stored(l).is_ok());
        let stored = match (stored, legacy) {
            (Some(s), _) => s,
            (None, Some(l)) => {
                effects.set.push((key, l.clone()));
                l
            }
            (None, None) => return Restore::Nothing(effects),
        };
        match self.parse_stored(&stored) {
            Ok(parsed) => Restore::Verify {
                effects,
                dpop_jkt: parsed.dpop_jkt.clone(),
                verification: Box::new(Verification::of_stored(parsed, since, Adoption::Restored)),
            },
            Err(_) => {
                effects.remove.push(self.session_storage_key());
                Restore::Nothing(effects)
            }
        }
    }

    /// The stored session, verified: the session if still active (and
    /// nothing changed since it was read), else removed.
    pub(crate) fn adopt_restored(
        &mut self,
        stored: StoredSession,
        id_token: VerifiedIdToken,
        since: Since,
        now_ms: u64,
    ) -> Adopted {
        if !self.timeline.unchanged(since) {
            return Adopted::Stale;
        }
        let session = Session::from_stored(stored, id_token);
        if session.is_active(now_ms) {
            self.set_session(session, Change::Replaced);
            return Adopted::Applied(Effects::default(), None);
        }
        Adopted::Applied(
            Effects {
                remove: vec![self.session_storage_key()],
                ..Effects::default()
            },
            None,
        )
    }

    /// The stored session could not be taken up because of `e`: removed
    /// (tampered, foreign, its key gone), or kept when the provider only gave
    /// no answer. Never an error of the client's creation.
    pub fn restore_failed(&self, e: &AuthError) -> Effects {
        if is_unreachable(e) {
            return Effects::default();
        }
        Effects {
            remove: vec![self.session_storage_key()],
            ..Effects::default()
        }
    }
}
