//! `Few`: a map of a handful of entries (the page's caches), a `Vec`
//! searched in order. In the browser module it replaces
//! `HashMap` (hashbrown, SipHash and its random keys) and a second `BTreeMap`
//! instantiation: 6.5 KB gzip less, measured; these maps hold an entry per
//! issuer, key-set URI or pending login.

pub(super) struct Few<K, V>(Vec<(K, V)>);

impl<K: PartialEq, V> Few<K, V> {
    pub const fn new() -> Self {
        Few(Vec::new())
    }

    pub fn get<Q: PartialEq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
    {
        self.0.iter().find(|(k, _)| k.borrow() == key).map(|(_, v)| v)
    }

    /// Sets `key` to `value`; `true` when the key was not there before.
    pub fn insert(&mut self, key: K, value: V) -> bool {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => {
                entry.1 = value;
                false
            }
            None => {
                self.0.push((key, value));
                true
            }
        }
    }

    pub fn remove<Q: PartialEq + ?Sized>(&mut self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
    {
        self.0.retain(|(k, _)| k.borrow() != key);
    }
}
