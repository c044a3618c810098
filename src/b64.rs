//! base64url without padding (RFC 4648 §5; RFC 7515 §2 "Base64url
//! Encoding"): what JWS parts, PKCE values, thumbprints and DPoP proofs use.
//! A few dozen lines here instead of the base64 crate's general engine, which
//! cost ~2 KB gzip of the browser module; the property tests check this
//! against that crate (the pure-Rust verifier and the tests still use it).

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub fn encode(input: impl AsRef<[u8]>) -> String {
    let input = input.as_ref();
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let byte = |i: usize| chunk.get(i).copied().unwrap_or(0) as u32;
        let n = byte(0) << 16 | byte(1) << 8 | byte(2);
        // 1, 2 or 3 bytes: 2, 3 or 4 characters.
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648 §4): what HTTP Basic credentials
/// use (RFC 7617 §2).
pub fn encode_std(input: impl AsRef<[u8]>) -> String {
    let mut out: String = encode(input)
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while out.len() % 4 != 0 {
        out.push('=');
    }
    out
}

fn sextet(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    } as u32)
}

/// Strict: only the URL-safe alphabet, no padding, no length that no
/// encoding has (4n + 1), and no set bits past the last byte (each byte
/// string has exactly one encoding).
pub fn decode(input: &str) -> Option<Vec<u8>> {
    let input = input.as_bytes();
    if input.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    for chunk in input.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= sextet(c)? << (18 - 6 * i);
        }
        let len = chunk.len() - 1;
        if len < 3 && n & ((1 << (24 - 8 * len)) - 1) != 0 {
            return None;
        }
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8][..len]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4648_vectors_in_the_url_alphabet() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain), encoded);
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
        }
        assert_eq!(encode([0xfb, 0xff, 0xfe]), "-__-");
    }

    #[test]
    fn refuses_what_no_encoder_writes() {
        for bad in ["Zg==", "Z", "Zh", "Zm9=", "Zm+v", "Zm/v", "Zm9 ", "Zm9vY", "é"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
