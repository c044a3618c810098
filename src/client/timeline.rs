//! Time: which operations are in flight, who joins whom, and whether a
//! result still applies to the session it started from.
//!
//! **Generations.** Every change of the session is recorded ([`Change`]): an
//! update of the same session (a refresh, a renewal, an API's token, another
//! tab's refresh), its replacement (a login, a restored session, another
//! tab's sign-in) or its end (logout, sign-out here or in another tab, a
//! refresh token the provider refused). An operation notes where the session
//! stood when it began ([`Since`]) and its result is adopted only if what
//! happened meanwhile allows it: a value read from storage only if nothing
//! changed since the read; a renewal only on the session it renewed; a
//! refresh only on the session that still holds the refresh token it sent;
//! a login only if no logout came after it began. An ending is final for
//! every operation in flight.
//!
//! **Flights.** Before an operation that must not run twice at once, the
//! driver asks [`begin`]: start it, join the one under way (its outcome is
//! this one's), or wait until it ends and plan again; it reports the end
//! ([`end`]), and keeps only the promise of each flight. The table is the
//! page's: clients of the same provider and client id made twice in one page
//! share it. Refreshes are one at a time per refresh token whatever the API
//! (with or without Web Locks, which order tabs); the calls for the same
//! token join; silent renewals join per token; a callback's `state` is
//! claimed once per page; another tab's changes are followed one at a time.

use std::cell::RefCell;

/// Where the session stood when an operation began: the generation then
/// (see [`Timeline::since`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Since(pub u64);

/// What happened to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The same session, newer tokens.
    Updated,
    /// Another session (or one where there was none).
    Replaced,
    /// No session any more.
    Ended,
}

/// The session's history as far as operations in flight need it.
#[derive(Debug, Default)]
pub struct Timeline {
    /// Counts every change.
    generation: u64,
    /// The generation the current session began at.
    session: u64,
    /// The generation of the last ending.
    ended: u64,
}

impl Timeline {
    pub fn since(&self) -> Since {
        Since(self.generation)
    }

    pub fn record(&mut self, change: Change) {
        self.generation += 1;
        match change {
            Change::Updated => {}
            Change::Replaced => self.session = self.generation,
            Change::Ended => {
                self.session = self.generation;
                self.ended = self.generation;
            }
        }
    }

    /// Nothing changed since `s`: a value read then is still the truth.
    pub fn unchanged(&self, s: Since) -> bool {
        self.generation == s.0
    }

    /// The session is still the one of `s` (perhaps with newer tokens): it
    /// began then or before.
    pub fn same_session(&self, s: Since) -> bool {
        self.session <= s.0
    }

    /// A logout (or any ending) came after `s`: final for what began before it.
    pub fn ended_since(&self, s: Since) -> bool {
        self.ended > s.0
    }
}

/// Operations that must not run twice at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A refresh grant: `key` is the refresh token's digest, `part` the token asked for.
    Refresh,
    /// A silent renewal: `part` the token asked for (one client's).
    Renewal,
    /// A callback: `key` is its `state`, claimed once per page.
    Callback,
    /// Following another tab's change (one client's).
    Follow,
}

/// What [`begin`] decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Begin {
    /// Run it, and [`end`] flight `id` when it is over.
    Start(u32),
    /// The same operation is under way: its outcome is this one's.
    Join(u32),
    /// Another one holds what this one needs: wait for it to end, then plan again.
    After(u32),
    /// Claimed already by flight `id` (a callback): this one must not run at all.
    Taken(u32),
}

#[derive(Debug)]
struct Flight {
    id: u32,
    owner: u32,
    family: String,
    kind: Kind,
    key: String,
    part: String,
}

/// The page's table of operations in flight.
#[derive(Default)]
pub struct Flights {
    next: u32,
    live: Vec<Flight>,
    /// The last owner id given out.
    owners: u32,
}

thread_local! {
    static FLIGHTS: RefCell<Flights> = RefCell::new(Flights::default());
}

/// A new client's id in this page (an owner of flights).
pub fn new_owner() -> u32 {
    FLIGHTS.with(|f| {
        let mut f = f.borrow_mut();
        f.owners += 1;
        f.owners
    })
}

/// Who is asking: a client (`owner`) of a provider and client id (`family`).
#[derive(Clone, Debug)]
pub struct Asker {
    pub owner: u32,
    pub family: String,
}

/// Asks to run an operation of `kind` on `key` for the token `part` (see [`Kind`]).
pub fn begin(asker: &Asker, kind: Kind, key: &str, part: &str) -> Begin {
    FLIGHTS.with(|f| {
        let mut f = f.borrow_mut();
        let found = f.live.iter().find(|x| {
            x.kind == kind
                && match kind {
                    Kind::Refresh | Kind::Callback => x.family == asker.family && x.key == key,
                    Kind::Renewal => x.owner == asker.owner && x.part == part,
                    Kind::Follow => x.owner == asker.owner,
                }
        });
        if let Some(x) = found {
            let joins =
                matches!(kind, Kind::Refresh | Kind::Renewal) && x.owner == asker.owner && x.part == part;
            return match kind {
                Kind::Callback => Begin::Taken(x.id),
                _ if joins => Begin::Join(x.id),
                _ => Begin::After(x.id),
            };
        }
        f.next += 1;
        let id = f.next;
        f.live.push(Flight {
            id,
            owner: asker.owner,
            family: asker.family.clone(),
            kind,
            key: key.to_string(),
            part: part.to_string(),
        });
        Begin::Start(id)
    })
}

/// Flight `id` is over (whatever its outcome).
pub fn end(id: u32) {
    FLIGHTS.with(|f| f.borrow_mut().live.retain(|x| x.id != id));
}

/// Whether flight `id` is still under way.
pub fn in_flight(id: u32) -> bool {
    FLIGHTS.with(|f| f.borrow().live.iter().any(|x| x.id == id))
}

/// A callback's claim: the page's until it is dropped.
#[derive(Debug)]
pub struct Claim(u32);

impl Claim {
    /// Claims `state` for `asker`'s provider and client id; `None` when
    /// another call of the page holds it.
    pub fn take(asker: &Asker, state: &str) -> Option<Claim> {
        match begin(asker, Kind::Callback, state, "") {
            Begin::Start(id) => Some(Claim(id)),
            _ => None,
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        end(self.0);
    }
}

/// Tests: a new page.
#[cfg(test)]
pub(crate) fn new_page() {
    FLIGHTS.with(|f| *f.borrow_mut() = Flights::default());
}

/// Tests: this page's flights exchanged with another page's.
#[cfg(test)]
pub(crate) fn swap_flights(other: &mut Flights) {
    FLIGHTS.with(|f| std::mem::swap(&mut *f.borrow_mut(), other));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asker(owner: u32, family: &str) -> Asker {
        Asker {
            owner,
            family: family.into(),
        }
    }

    #[test]
    fn generations_tell_an_update_from_a_replacement_and_an_ending() {
        let mut t = Timeline::default();
        let start = t.since();
        assert!(t.unchanged(start) && t.same_session(start) && !t.ended_since(start));
        t.record(Change::Updated);
        assert!(!t.unchanged(start), "a read made before is stale");
        assert!(t.same_session(start), "a renewal still applies");
        t.record(Change::Replaced);
        assert!(!t.same_session(start));
        assert!(!t.ended_since(start), "a replacement is not an ending");
        let before_logout = t.since();
        t.record(Change::Ended);
        assert!(t.ended_since(before_logout) && t.ended_since(start));
        let after = t.since();
        t.record(Change::Replaced);
        assert!(
            !t.ended_since(after),
            "a login after the logout is not undone by it"
        );
        let new_session = t.since();
        t.record(Change::Updated);
        assert!(t.same_session(new_session) && !t.same_session(after));
    }

    #[test]
    fn refreshes_join_per_token_and_wait_for_another_api_of_the_same_refresh_token() {
        new_page();
        let a = asker(1, "idp:app");
        let Begin::Start(first) = begin(&a, Kind::Refresh, "rt1", "") else {
            panic!("the first refresh starts")
        };
        // The same token: joins; another API with the same refresh token: after it.
        assert_eq!(begin(&a, Kind::Refresh, "rt1", ""), Begin::Join(first));
        assert_eq!(begin(&a, Kind::Refresh, "rt1", "orders"), Begin::After(first));
        // Another client of the same provider and client id, same refresh token: after it too.
        assert_eq!(
            begin(&asker(2, "idp:app"), Kind::Refresh, "rt1", ""),
            Begin::After(first)
        );
        // Another provider or client id: its own flight.
        assert!(matches!(
            begin(&asker(3, "idp:other"), Kind::Refresh, "rt1", ""),
            Begin::Start(_)
        ));
        // Another refresh token (the rotated one): its own flight.
        assert!(matches!(
            begin(&a, Kind::Refresh, "rt2", "orders"),
            Begin::Start(_)
        ));
        end(first);
        assert!(!in_flight(first));
        assert!(matches!(
            begin(&a, Kind::Refresh, "rt1", "orders"),
            Begin::Start(_)
        ));
    }

    #[test]
    fn a_callback_is_claimed_once_per_page_across_clients_of_the_same_family() {
        new_page();
        let claim = Claim::take(&asker(1, "idp:app"), "s1").expect("the first claim");
        assert!(Claim::take(&asker(1, "idp:app"), "s1").is_none());
        assert!(Claim::take(&asker(2, "idp:app"), "s1").is_none());
        assert!(Claim::take(&asker(3, "idp:other"), "s1").is_some());
        assert!(Claim::take(&asker(1, "idp:app"), "s2").is_some());
        drop(claim);
        assert!(
            Claim::take(&asker(2, "idp:app"), "s1").is_some(),
            "released when dropped"
        );
    }

    #[test]
    fn renewals_join_per_client_and_token_and_follows_run_one_after_the_other() {
        new_page();
        let me = asker(1, "idp:app");
        let Begin::Start(renewal) = begin(&me, Kind::Renewal, "", "") else {
            panic!()
        };
        assert_eq!(begin(&me, Kind::Renewal, "", ""), Begin::Join(renewal));
        assert!(matches!(begin(&me, Kind::Renewal, "", "orders"), Begin::Start(_)));
        assert!(matches!(
            begin(&asker(2, "idp:app"), Kind::Renewal, "", ""),
            Begin::Start(_)
        ));
        let Begin::Start(follow) = begin(&me, Kind::Follow, "", "") else {
            panic!()
        };
        assert_eq!(begin(&me, Kind::Follow, "", ""), Begin::After(follow));
        assert!(matches!(
            begin(&asker(2, "idp:app"), Kind::Follow, "", ""),
            Begin::Start(_)
        ));
    }
}
