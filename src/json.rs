//! JSON from outside (token endpoint, discovery, storage, ID tokens) is read
//! through here: a size cap, then this module's own RFC 8259 parser into
//! [`Value`] (the one value type of the crate, src/json/value.rs).
//!
//! Why a parser of its own: serde_json's `Deserializer`, with its error type,
//! messages and float tables, was 8.4 KB gzip of the browser module (measured),
//! for documents that are only ever read as a `Value`. It is checked against serde_json on every
//! input of the property tests and of the `json` fuzz target
//! ([`check_against_serde_json`]): the same documents accepted, the same
//! values (numbers outside the exact fast path within 1e-14 relative, as
//! serde_json itself is within an ulp there).

mod value;

pub use value::{decimal, Map, Number, Value};

/// The most bytes of a response body or stored entry this library will parse.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// How many arrays and objects may nest (127: serde_json's limit too).
const MAX_DEPTH: usize = 127;

/// Parses `body` as one JSON value (RFC 8259), size-capped.
pub fn parse(body: &str) -> Result<Value, String> {
    parse_with(body, LoneSurrogates::Refuse)
}

/// Whether `text` is one JSON value (RFC 8259) that [`parse`] reads back,
/// lone surrogates allowed: the app's own JSON (`appState` as
/// `JSON.stringify` writes it), which may escape a lone surrogate
/// (`"\ud800"`, well-formed JSON text whose string is not Unicode, §8.2).
/// The text is kept as the app wrote it; only its shape is checked here.
pub fn is_app_json(text: &str) -> bool {
    parse_with(text, LoneSurrogates::Replace).is_ok()
}

/// What a `\uD800`-style escape that is not half of a pair does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LoneSurrogates {
    /// Refused, as serde_json refuses it: JSON from outside.
    Refuse,
    /// Read as U+FFFD: the app's own JSON, only checked.
    Replace,
}

fn parse_with(body: &str, lone_surrogates: LoneSurrogates) -> Result<Value, String> {
    if body.len() > MAX_BODY_BYTES {
        return Err(msg!(
            "{} bytes is more than the {} allowed",
            body.len(),
            MAX_BODY_BYTES
        ));
    }
    let mut p = Parser {
        src: body,
        at: 0,
        lone_surrogates,
    };
    let v = p.value(0)?;
    p.space();
    if p.at != body.len() {
        return Err(p.fail("trailing characters"));
    }
    Ok(v)
}

struct Parser<'a> {
    src: &'a str,
    at: usize,
    lone_surrogates: LoneSurrogates,
}

impl<'a> Parser<'a> {
    fn fail(&self, what: &str) -> String {
        msg!("{what} at byte {} of the JSON text", self.at)
    }

    // The parser only ever stops at ASCII bytes, so these slices are whole
    // characters; `get` rather than indexing keeps core's panic formatting
    // out of the browser module.
    fn rest(&self, skip: usize) -> &'a str {
        self.src.get(self.at + skip..).unwrap_or_default()
    }

    fn since(&self, start: usize) -> &'a str {
        self.src.get(start..self.at).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.at).copied()
    }

    /// RFC 8259 §2: `ws = *( %x20 / %x09 / %x0A / %x0D )`.
    fn space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.space();
        let found = self.peek() == Some(b);
        self.at += found as usize;
        found
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        self.space();
        let open = self.peek();
        if matches!(open, Some(b'[' | b'{')) {
            if depth >= MAX_DEPTH {
                return Err(self.fail("nested too deeply"));
            }
            self.at += 1;
        }
        match open {
            Some(b'{') => {
                let mut o = Object::new();
                if self.eat(b'}') {
                    return Ok(Value::Object(o));
                }
                loop {
                    self.space();
                    if self.peek() != Some(b'"') {
                        return Err(self.fail("expected a member name"));
                    }
                    let name = self.string()?;
                    if !self.eat(b':') {
                        return Err(self.fail("expected `:`"));
                    }
                    // Appended as written: a repeated name reads as its
                    // last value (as serde_json and JSON.parse do), and
                    // parsing stays linear in the members.
                    o.push(name, self.value(depth + 1)?);
                    if !self.eat(b',') {
                        return match self.eat(b'}') {
                            true => Ok(Value::Object(o)),
                            false => Err(self.fail("expected `,` or `}`")),
                        };
                    }
                }
            }
            Some(b'[') => {
                let mut a = Vec::new();
                if self.eat(b']') {
                    return Ok(Value::Array(a));
                }
                loop {
                    a.push(self.value(depth + 1)?);
                    if !self.eat(b',') {
                        return match self.eat(b']') {
                            true => Ok(Value::Array(a)),
                            false => Err(self.fail("expected `,` or `]`")),
                        };
                    }
                }
            }
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => {
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.rest(0).starts_with(word) {
                        self.at += word.len();
                        return Ok(v);
                    }
                }
                Err(self.fail("expected a value"))
            }
        }
    }

    /// RFC 8259 §7, from the opening quote.
    fn string(&mut self) -> Result<String, String> {
        self.at += 1;
        let mut out = String::new();
        let mut run = self.at;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.fail("unterminated string"));
            };
            if b < 0x20 {
                return Err(self.fail("control character in a string"));
            }
            if b != b'"' && b != b'\\' {
                self.at += 1;
                continue;
            }
            // Only at ASCII bytes: `run..at` is whole UTF-8 characters.
            out.push_str(self.src.get(run..self.at).unwrap_or_default());
            self.at += 1;
            if b == b'"' {
                return Ok(out);
            }
            let c = match self.peek() {
                Some(b'"') => '"',
                Some(b'\\') => '\\',
                Some(b'/') => '/',
                Some(b'b') => '\u{8}',
                Some(b'f') => '\u{c}',
                Some(b'n') => '\n',
                Some(b'r') => '\r',
                Some(b't') => '\t',
                Some(b'u') => {
                    let hi = self.hex4()?;
                    let lone = |p: &Self| match p.lone_surrogates {
                        LoneSurrogates::Replace => Ok(0xFFFD),
                        LoneSurrogates::Refuse => Err(p.fail("lone surrogate")),
                    };
                    let code = match hi {
                        // A UTF-16 surrogate pair: `\uD83D\uDE00`.
                        0xD800..=0xDBFF if self.rest(1).starts_with("\\u") => {
                            let at = self.at;
                            self.at += 2;
                            match self.hex4()? {
                                lo @ 0xDC00..=0xDFFF => 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00),
                                _ => {
                                    // Not a pair: the first stands alone, the
                                    // second escape is read on its own.
                                    self.at = at;
                                    lone(self)?
                                }
                            }
                        }
                        0xD800..=0xDFFF => lone(self)?,
                        c => c,
                    };
                    char::from_u32(code).ok_or_else(|| self.fail("bad escape"))?
                }
                _ => return Err(self.fail("bad escape")),
            };
            out.push(c);
            self.at += 1;
            run = self.at;
        }
    }

    /// The four hex digits after `\u` (`at` on the `u`; left on the last digit).
    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .src
            .get(self.at + 1..self.at + 5)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
        let code = digits.and_then(|d| u32::from_str_radix(d, 16).ok());
        self.at += 4;
        code.ok_or_else(|| self.fail("bad \\u escape"))
    }

    /// RFC 8259 §6: `[ minus ] int [ frac ] [ exp ]`, kept as written.
    fn number(&mut self) -> Result<Value, String> {
        let start = self.at;
        self.at += (self.peek() == Some(b'-')) as usize;
        let int_start = self.at;
        self.digits();
        let int = self.since(int_start);
        if int.is_empty() || (int.len() > 1 && int.starts_with('0')) {
            return Err(self.fail("invalid number"));
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            let s = self.at;
            self.digits();
            if s == self.at {
                return Err(self.fail("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            self.at += matches!(self.peek(), Some(b'+' | b'-')) as usize;
            let s = self.at;
            self.digits();
            if s == self.at {
                return Err(self.fail("invalid number"));
            }
        }
        let n = Number::from_checked(self.since(start));
        // (serde_json refuses what no f64 can hold, 1e400; so does this.)
        match n.as_f64() {
            Some(_) => Ok(Value::Number(n)),
            None => Err(self.fail("number out of range")),
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
    }
}

/// `int.frac × 10^exp` as an f64: exact when the significant digits fit in
/// 2^53 and the power of ten is exact (|exp| ≤ 22, Clinger's fast path, which
/// every number of an OAuth or OpenID document is); otherwise within a few
/// parts in 10^16 (serde_json without `float_roundtrip` is not exact either).
fn decimal_to_f64(int: &str, frac: &str, exp: i64) -> f64 {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
        1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    // Up to 19 significant digits in a u64; the rest only move the exponent.
    let mut m: u64 = 0;
    let mut e = exp - frac.len() as i64;
    for b in int.bytes().chain(frac.bytes()) {
        if m < 1_000_000_000_000_000_000 {
            m = m * 10 + (b - b'0') as u64;
        } else {
            e += 1;
        }
    }
    if m == 0 {
        return 0.0;
    }
    if e > 400 {
        return f64::INFINITY;
    }
    if e < -420 {
        return 0.0;
    }
    let mut f = m as f64;
    while e > 22 {
        f *= 1e22;
        e -= 22;
    }
    while e < -22 {
        f /= 1e22;
        e += 22;
    }
    if e >= 0 {
        f * POW10[e as usize]
    } else {
        f / POW10[(-e) as usize]
    }
}

/// `["a", "b"]`: strings listed in a message.
pub fn quote_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

/// `v` as compact JSON text: members in order, numbers as they were
/// written (a property test checks that serde_json reads it back as the
/// same document).
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write(&mut out, v);
    out
}

/// `s` as a JSON string literal (also how messages quote outside values).
pub fn quote(s: &str) -> String {
    let mut out = String::new();
    write_str(&mut out, s);
    out
}

fn write(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n.as_text()),
        Value::String(s) => write_str(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, x);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write(out, x);
            }
            out.push('}');
        }
    }
}

/// RFC 8259 §7: `"` and `\\` escaped, control characters as short escapes
/// or `\\u00xx`, everything else as itself.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    // Runs of characters that need no escape are copied whole (a key's
    // modulus is hundreds of them); `run` and `i` are at ASCII bytes, so the
    // slices are whole characters.
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(run..i).unwrap_or_default());
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(s.get(run..).unwrap_or_default());
    out.push('"');
}

/// The differential check of the property tests and the `json` fuzz target:
/// [`parse`] and `serde_json::from_str` accept the same texts and read the
/// same values. (Host tooling; never called by the browser module, so not in it.)
#[doc(hidden)]
pub fn check_against_serde_json(text: &str) -> Result<(), String> {
    let ours = parse(text);
    let theirs = serde_json::from_str::<serde_json::Value>(text).map_err(|e| e.to_string());
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) if same(a, b) => Ok(()),
        (Err(_), Err(_)) => Ok(()),
        // At the edge of f64's range one side may round to infinity (an
        // error) where the other stays finite.
        (Err(e), Ok(v)) if e.contains("out of range") && huge_theirs(v) => Ok(()),
        (Ok(v), Err(e)) if e.contains("out of range") && huge_ours(v) => Ok(()),
        _ => Err(format!("{text:?}: ours {ours:?}, serde_json {theirs:?}")),
    }
}

/// The same document: numbers equal (as integers, or as floats within
/// 1e-14), objects with the same names reading the same values.
fn same(a: &Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as S;
    match (a, b) {
        (Value::Null, S::Null) => true,
        (Value::Bool(x), S::Bool(y)) => x == y,
        (Value::String(x), S::String(y)) => x == y,
        (Value::Number(x), S::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            x == y || (x - y).abs() <= 1e-14 * x.abs().max(y.abs()) || x.abs().max(y.abs()) < 1e-290
        }
        (Value::Number(x), S::Number(y)) => x.as_u64() == y.as_u64() && x.as_i64() == y.as_i64(),
        (Value::Array(x), S::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Object(x), S::Object(y)) => {
            let names: Vec<&String> = x.keys().collect();
            let distinct = names
                .iter()
                .enumerate()
                .filter(|(i, k)| !names[i + 1..].contains(k))
                .count();
            distinct == y.len() && y.iter().all(|(k, v)| x.get(k).is_some_and(|xv| same(xv, v)))
        }
        _ => false,
    }
}

fn huge_ours(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_f64().is_some_and(|f| f.abs() > 1.79e308),
        Value::Array(a) => a.iter().any(huge_ours),
        Value::Object(o) => o.values().any(huge_ours),
        _ => false,
    }
}

fn huge_theirs(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f.abs() > 1.79e308),
        serde_json::Value::Array(a) => a.iter().any(huge_theirs),
        serde_json::Value::Object(o) => o.values().any(huge_theirs),
        _ => false,
    }
}

/// A JSON object from outside, read member by member (one `Value` parser
/// serves every document: each derived struct would add its own visitor to
/// the browser module).
pub type Object = Map;

/// Parses `body` as a JSON object (size-capped like [`parse`]).
pub fn object(body: &str) -> Result<Object, String> {
    match parse(body)? {
        Value::Object(m) => Ok(m),
        _ => Err("not a JSON object".into()),
    }
}

/// A member that must be a string when present: `Ok(None)` when absent or
/// `null`, `Err(name)` for any other type.
pub fn string<'a>(o: &Object, name: &'a str) -> Result<Option<String>, &'a str> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(name),
    }
}

/// A member that must be an array of strings when present.
pub fn strings<'a>(o: &Object, name: &'a str) -> Result<Option<Vec<String>>, &'a str> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or(name),
        Some(_) => Err(name),
    }
}

/// A member that must be a whole number from 0 when present.
pub fn uint<'a>(o: &Object, name: &'a str) -> Result<Option<u64>, &'a str> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or(name),
    }
}

/// The object has no member but `known` (what a derive's
/// `deny_unknown_fields` checked): for state this library wrote itself.
pub fn only(o: &Object, known: &[&str]) -> bool {
    o.keys().all(|k| known.contains(&k.as_str()))
}

/// Sets `name` to `value` unless it is `None` (the writing side of [`string`]).
pub fn put(o: &mut Object, name: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        o.insert(name.into(), v.into());
    }
}

/// Reads many values keeping the first error: each read that fails gives its
/// type's default, and the caller asks for the first error once. (A struct of
/// `?` reads makes the error path of each read drop every member read before
/// it: measured 0.5 KB gzip of drop code for the options, 0.4 KB for the
/// discovery document.) The JSON reader is [`Members`]; the options
/// reader adds its methods in src/wasm/.
pub struct FirstError<E>(Option<E>);

impl<E> Default for FirstError<E> {
    fn default() -> Self {
        FirstError(None)
    }
}

impl<E> FirstError<E> {
    pub fn keep<T: Default>(&mut self, read: std::result::Result<T, E>) -> T {
        read.unwrap_or_else(|e| {
            self.0.get_or_insert(e);
            T::default()
        })
    }

    /// The first error so far.
    pub fn first(&self) -> Option<&E> {
        self.0.as_ref()
    }

    /// `value`, or the first error.
    pub fn finish<T>(self, value: T) -> std::result::Result<T, E> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

/// Reads members of one object by type, keeping the name of the first one
/// of the wrong type ([`FirstError`]): a reader reads them all,
/// then asks [`Members::wrong`] once.
pub struct Members<'o> {
    o: &'o Object,
    first: FirstError<&'static str>,
}

impl<'o> Members<'o> {
    pub fn new(o: &'o Object) -> Self {
        Members {
            o,
            first: Default::default(),
        }
    }

    /// [`string`]: `None` when absent, null or of the wrong type.
    pub fn text(&mut self, name: &'static str) -> Option<String> {
        self.first.keep(string(self.o, name))
    }

    /// [`strings`].
    pub fn texts(&mut self, name: &'static str) -> Option<Vec<String>> {
        self.first.keep(strings(self.o, name))
    }

    /// [`flag`].
    pub fn flag(&mut self, name: &'static str) -> bool {
        self.first.keep(flag(self.o, name))
    }

    /// The first member of the wrong type, if any.
    pub fn wrong(&self) -> Option<&'static str> {
        self.first.first().copied()
    }
}

/// A member that must be a boolean when present (`false` when absent).
pub fn flag<'a>(o: &Object, name: &'a str) -> Result<bool, &'a str> {
    match o.get(name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(name),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn caps_size_and_depth() {
        let big = format!("\"{}\"", "a".repeat(super::MAX_BODY_BYTES));
        assert!(super::parse(&big).unwrap_err().contains("allowed"));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(super::parse(&deep).is_err());
        let nested = |n| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(super::parse(&nested(127)).is_ok());
        assert!(super::parse(&nested(128)).is_err());
        assert_eq!(super::parse(" 7 ").unwrap().as_u64(), Some(7));
    }

    #[test]
    fn app_json_may_escape_lone_surrogates_outside_json_may_not() {
        for text in [
            r#""\ud800""#,
            r#"{"\udfff":["a\ud83d","\ude00b"],"ok":"\ud83d\ude00"}"#,
            r#""\ud800\u0041""#,
            r#""\ud800\ud800""#,
        ] {
            assert!(super::is_app_json(text), "{text}");
            assert!(super::parse(text).is_err(), "{text}");
        }
        assert_eq!(
            super::parse(r#""\ud83d\ude00""#).unwrap(),
            super::Value::String("\u{1f600}".into())
        );
        for bad in ["", "{", r#""\ud80""#, r#""\uzzzz""#, "undefined"] {
            assert!(!super::is_app_json(bad), "{bad}");
        }
    }

    #[test]
    fn members_by_type() {
        let o =
            super::object(r#"{"s":"x","n":null,"a":["p","q"],"b":true,"bad":1,"mixed":["p",1]}"#).unwrap();
        assert_eq!(super::string(&o, "s"), Ok(Some("x".into())));
        assert_eq!(super::string(&o, "n"), Ok(None));
        assert_eq!(super::string(&o, "absent"), Ok(None));
        assert_eq!(super::string(&o, "bad"), Err("bad"));
        assert_eq!(super::strings(&o, "a"), Ok(Some(vec!["p".into(), "q".into()])));
        assert_eq!(super::strings(&o, "mixed"), Err("mixed"));
        assert_eq!(super::flag(&o, "b"), Ok(true));
        assert_eq!(super::flag(&o, "absent"), Ok(false));
        assert_eq!(super::flag(&o, "bad"), Err("bad"));
        assert!(super::object("[1]").is_err());
        assert!(super::object("{").is_err());
    }

    #[test]
    fn members_keep_the_first_wrong_type() {
        let o = super::object(r#"{"s":"x","n":3,"b":true,"a":["p"],"bad":1,"worse":"y"}"#).unwrap();
        let mut m = super::Members::new(&o);
        assert_eq!(m.text("s"), Some("x".into()));
        assert!(m.flag("b"));
        assert_eq!(m.texts("a"), Some(vec!["p".into()]));
        assert_eq!(m.wrong(), None);
        assert_eq!(m.text("bad"), None);
        assert!(!m.flag("worse"));
        assert_eq!(m.text("absent"), None);
        assert_eq!(m.wrong(), Some("bad"));
    }
}
