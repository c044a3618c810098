//! JSON from outside (token endpoint, discovery, storage) is read through
//! here: a size cap before parsing; serde_json's own nesting limit (128) after.

use serde::de::DeserializeOwned;

/// The most bytes of a response body or stored entry this library will parse.
pub const MAX_BODY_BYTES: usize = 1 << 20;

pub fn from_str<T: DeserializeOwned>(body: &str) -> Result<T, String> {
    if body.len() > MAX_BODY_BYTES {
        return Err(format!(
            "{} bytes is more than the {} allowed",
            body.len(),
            MAX_BODY_BYTES
        ));
    }
    serde_json::from_str(body).map_err(|e| e.to_string())
}

/// A JSON object from outside, read member by member (one `Value` parser
/// serves every document: each derived struct would add its own visitor to
/// the browser module).
pub type Object = serde_json::Map<String, serde_json::Value>;

/// Parses `body` as a JSON object (size-capped like [`from_str`]).
pub fn object(body: &str) -> Result<Object, String> {
    match from_str::<serde_json::Value>(body)? {
        serde_json::Value::Object(m) => Ok(m),
        _ => Err("not a JSON object".into()),
    }
}

/// A member that must be a string when present: `Ok(None)` when absent or
/// `null`, `Err(name)` for any other type.
pub fn string<'a>(o: &Object, name: &'a str) -> Result<Option<String>, &'a str> {
    match o.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(name),
    }
}

/// A member that must be an array of strings when present.
pub fn strings<'a>(o: &Object, name: &'a str) -> Result<Option<Vec<String>>, &'a str> {
    match o.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Array(a)) => a
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
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or(name),
    }
}

/// The object has no member but `known` (what a derive's
/// `deny_unknown_fields` checked): for state this library wrote itself.
pub fn only(o: &Object, known: &[&str]) -> bool {
    o.keys().all(|k| known.contains(&k.as_str()))
}

/// Sets `name` to `value` unless it is `None` (the writing side of [`string`]).
pub fn put(o: &mut Object, name: &str, value: Option<impl Into<serde_json::Value>>) {
    if let Some(v) = value {
        o.insert(name.into(), v.into());
    }
}

/// A member that must be a boolean when present (`false` when absent).
pub fn flag<'a>(o: &Object, name: &'a str) -> Result<bool, &'a str> {
    match o.get(name) {
        None => Ok(false),
        Some(serde_json::Value::Bool(b)) => Ok(*b),
        Some(_) => Err(name),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn caps_size_and_depth() {
        let big = format!("\"{}\"", "a".repeat(super::MAX_BODY_BYTES));
        assert!(super::from_str::<String>(&big).unwrap_err().contains("allowed"));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(super::from_str::<serde_json::Value>(&deep).is_err());
        assert_eq!(super::from_str::<u8>("7").unwrap(), 7);
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
}
