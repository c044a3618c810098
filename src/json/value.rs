//! The crate's JSON value: what the parser in this module reads and the
//! writer writes. Objects keep their members in document order, a repeated
//! name answering with its last value (as `JSON.parse` does); numbers keep
//! the text they were written with and are read on demand, so a number goes
//! back out exactly as it came in.
//!
//! Why not serde_json's `Value`: with its `BTreeMap` (insertion, iteration
//! and cloning code) and its number formatting it was 4.8 KB gzip of the
//! browser module (measured), for documents of a few dozen members.

use std::fmt;

/// A JSON value.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Map),
}

/// A JSON number, as written (RFC 8259 §6 syntax, checked by the parser).
#[derive(Clone, Debug, PartialEq)]
pub struct Number(String);

/// A JSON object: members in order; `get` answers with a name's last member.
#[derive(Clone, Debug, Default)]
pub struct Map<K = String, V = Value>(Vec<(K, V)>);

static NULL: Value = Value::Null;

impl Number {
    /// A number the parser checked (`text` follows RFC 8259 §6 and is finite).
    pub(super) fn from_checked(text: &str) -> Number {
        Number(text.to_string())
    }

    fn digits(t: &str) -> Option<u64> {
        if t.is_empty() {
            return None;
        }
        t.bytes().try_fold(0u64, |m, b| match b {
            b'0'..=b'9' => m.checked_mul(10)?.checked_add((b - b'0') as u64),
            _ => None,
        })
    }

    /// A whole number from 0 written without fraction or exponent.
    pub fn as_u64(&self) -> Option<u64> {
        Self::digits(&self.0)
    }

    /// A whole number written without fraction or exponent that fits an
    /// i64 (`-0` is not: serde_json reads it as a float too).
    pub fn as_i64(&self) -> Option<i64> {
        match self.0.strip_prefix('-') {
            Some(d) => match Self::digits(d)? {
                0 => None,
                m if m <= 1 << 63 => Some(0i64.wrapping_sub(m as i64)),
                _ => None,
            },
            None => i64::try_from(Self::digits(&self.0)?).ok(),
        }
    }

    /// The number as an f64 (see `decimal_to_f64` for its exactness).
    pub fn as_f64(&self) -> Option<f64> {
        let t = self.0.as_str();
        let (negative, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (mantissa, exp) = match t.find(['e', 'E']) {
            Some(i) => (t.get(..i)?, t.get(i + 1..)?),
            None => (t, "0"),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let (minus, exp_digits) = match exp.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, exp.strip_prefix('+').unwrap_or(exp)),
        };
        let mut e: i64 = 0;
        for b in exp_digits.bytes() {
            e = (e * 10 + (b.wrapping_sub(b'0')) as i64).min(1_000_000);
        }
        let f = super::decimal_to_f64(int, frac, if minus { -e } else { e });
        let f = if negative { -f } else { f };
        f.is_finite().then_some(f)
    }

    /// Written with a fraction or an exponent, or too large for u64/i64.
    pub fn is_f64(&self) -> bool {
        self.as_u64().is_none() && self.as_i64().is_none()
    }
}

impl Number {
    /// The number as it was written.
    pub fn as_text(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Map {
    pub const fn new() -> Map {
        Map(Vec::new())
    }

    /// Sets `name`: replaces its member if there is one, else appends.
    pub fn insert(&mut self, name: String, value: Value) {
        match self.0.iter_mut().rev().find(|(k, _)| *k == name) {
            Some(member) => member.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// Appends a member, repeated names included (`get` reads the last):
    /// linear in the members, for copying a map from outside (the parser,
    /// the claims given to the app), where `insert` would be quadratic.
    pub fn push(&mut self, name: String, value: Value) {
        self.0.push((name, value));
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Every member in order (a repeated name as often as it was written).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Equal when every name reads the same value on both sides.
impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.keys().all(|k| self.get(k) == other.get(k)) && other.keys().all(|k| self.get(k) == other.get(k))
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Value)>,
        fn(&'a (String, Value)) -> (&'a String, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl IntoIterator for Map {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Map {
        let mut m = Map::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl std::ops::Index<&str> for Map {
    type Output = Value;
    fn index(&self, name: &str) -> &Value {
        self.get(name).unwrap_or(&NULL)
    }
}

impl Value {
    /// A member of an object (`None` for a missing one or a non-object).
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(o) => o.get(name),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }
}

impl std::ops::Index<&str> for Value {
    type Output = Value;
    fn index(&self, name: &str) -> &Value {
        self.get(name).unwrap_or(&NULL)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Value {
        Value::Number(Number(decimal(n)))
    }
}

/// `n` in decimal digits. (By hand: an integer's `Display` links core's
/// formatting machinery into the browser module, which has no other use for
/// it in the production build.)
pub fn decimal(mut n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits[at..].iter().map(|&d| d as char).collect()
}

impl From<u8> for Value {
    fn from(n: u8) -> Value {
        Value::from(n as u64)
    }
}
