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
}
