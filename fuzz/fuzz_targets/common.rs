// Shared by the fuzz targets: the test keys' public halves, and fixed expectations.
#![allow(dead_code)]

pub const ISS: &str = "https://id.example.com";
pub const CLIENT: &str = "app";
/// A fixed clock, so that the seed tokens stay valid.
pub const NOW_S: u64 = 1_800_000_000;

pub fn public_jwks_json() -> String {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/fixtures/signing-keys.json")).unwrap_or_default();
    let mut keys = Vec::new();
    if let Some(obj) = all.as_object() {
        for (_, k) in obj {
            let mut k = k.clone();
            if let Some(m) = k.as_object_mut() {
                for private in ["d", "p", "q", "dp", "dq", "qi"] {
                    m.remove(private);
                }
            }
            keys.push(k);
        }
    }
    serde_json::json!({ "keys": keys }).to_string()
}
