//! The little URI handling the protocol needs (RFC 3986): split a URI into its
//! parts, read its query, append parameters. A full WHATWG URL parser would
//! cost more bytes than the whole protocol core; nothing here needs one.

use crate::error::{code, AuthError, Result};

/// An absolute URI split as RFC 3986 Appendix B does it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uri<'a> {
    pub scheme: &'a str,
    pub authority: Option<&'a str>,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub fragment: Option<&'a str>,
}

impl<'a> Uri<'a> {
    /// Parses an absolute URI (`scheme:...`). Refuses white space and control
    /// characters anywhere, which a browser would strip or reject anyway.
    pub fn parse(s: &'a str) -> Option<Uri<'a>> {
        if s.bytes().any(|b| b <= 0x20 || b == 0x7f) {
            return None;
        }
        // (Split with split_once and get, never by indexing: a str index
        // that could panic links core's panic message formatting, ~2 KB
        // gzip of the browser module.)
        let (scheme, rest) = s.split_once(':')?;
        if !is_scheme(scheme) {
            return None;
        }
        let (rest, fragment) = match rest.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (rest, None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match rest.strip_prefix("//") {
            Some(r) => {
                let end = r.find('/').unwrap_or(r.len());
                (Some(r.get(..end)?), r.get(end..)?)
            }
            None => (None, rest),
        };
        Some(Uri {
            scheme,
            authority,
            path,
            query,
            fragment,
        })
    }

    /// The host, lower-cased by the caller if needed; IPv6 literals keep their brackets.
    pub fn host(&self) -> Option<&'a str> {
        let authority = self.authority?;
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if host_port.starts_with('[') {
            let end = host_port.find(']')?;
            return host_port.get(..=end);
        }
        Some(host_port.split(':').next().unwrap_or(host_port))
    }

    pub fn has_userinfo(&self) -> bool {
        self.authority.is_some_and(|a| a.contains('@'))
    }

    pub fn is_http(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("http") || self.scheme.eq_ignore_ascii_case("https")
    }

    /// The query's `name=value` pairs, percent- and `+`-decoded
    /// (application/x-www-form-urlencoded, as authorization responses are encoded).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query.map(form_decode_pairs).unwrap_or_default()
    }
}

// application/x-www-form-urlencoded, as the URL Standard (§5) defines it, in
// a few lines rather than the form_urlencoded crate (its `%00`..`%FF` table
// and lossy decoder cost ~1 KB gzip in the browser module). A property test
// holds both to the crate's output on any input.

/// Appends `s` form-encoded: `*-._` and ASCII alphanumerics as themselves,
/// space as `+`, every other byte as `%XX`.
pub fn form_encode_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        match b {
            b'*' | b'-' | b'.' | b'_' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

/// `name=value` pairs joined with `&`, each side form-encoded.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        form_encode_into(&mut out, k);
        out.push('=');
        form_encode_into(&mut out, v);
    }
    out
}

/// The `name=value` pairs of a form-encoded string: empty sequences skipped,
/// a sequence without `=` a name with an empty value, `+` a space, `%XX` a
/// byte (a `%` not followed by two hex digits stays as it is), and bytes that
/// are not UTF-8 replaced by U+FFFD.
pub fn form_decode_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let byte = match b[i] {
            b'+' => b' ',
            b'%' => match (
                b.get(i + 1).and_then(|&x| hex(x)),
                b.get(i + 2).and_then(|&x| hex(x)),
            ) {
                (Some(h), Some(l)) => {
                    i += 2;
                    (h * 16 + l) as u8
                }
                _ => b'%',
            },
            other => other,
        };
        out.push(byte);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Whether `needle` occurs in `haystack`: a plain window scan, for the short
/// texts this library searches (`str::contains(&str)` links the two-way
/// searcher, 1.5 KB gzip of the browser module).
pub fn contains(haystack: &str, needle: &str) -> bool {
    needle.is_empty()
        || haystack
            .as_bytes()
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
}

/// True for `localhost`, `*.localhost`, 127.0.0.0/8 and `[::1]` (RFC 8252 §7.3, RFC 6761).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") || host == "[::1]" {
        return true;
    }
    let octets: Vec<&str> = host.split('.').collect();
    octets.len() == 4 && octets[0] == "127" && octets.iter().all(|o| !o.is_empty() && o.parse::<u8>().is_ok())
}

/// An `http(s)` URL with a host, for endpoints and issuers.
pub fn parse_http_url<'a>(value: &'a str, what: &str) -> Result<Uri<'a>> {
    match Uri::parse(value) {
        Some(u) if u.is_http() && u.host().is_some_and(|h| !h.is_empty()) && !u.has_userinfo() => Ok(u),
        _ => Err(AuthError::new(
            code::INVALID_CONFIG,
            msg!("{what} must be an absolute http(s) URL"),
        )),
    }
}

/// Adds parameters to a URL's query. RFC 6749 §3.1: the endpoint URI "MAY
/// include an "application/x-www-form-urlencoded" formatted ... query
/// component, which MUST be retained when adding additional query parameters.
/// The endpoint URI MUST NOT include a fragment component."
pub fn append_query(base: &str, params: &[(&str, &str)]) -> Result<String> {
    let uri = parse_http_url(base, "the authorization endpoint")?;
    if uri.fragment.is_some() {
        return Err(AuthError::new(
            code::INVALID_CONFIG,
            "the authorization endpoint must not have a fragment (RFC 6749 §3.1)",
        ));
    }
    let mut out = String::from(base);
    let added = form_encode(params);
    match uri.query {
        None => out.push('?'),
        Some("") => {}
        Some(_) => out.push('&'),
    }
    out.push_str(&added);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_agrees_with_str_contains() {
        for (h, n) in [
            ("abc", ""),
            ("", ""),
            ("", "a"),
            ("https://x", "://"),
            ("tenant.com", "://"),
            ("aab", "ab"),
            ("é://", "://"),
            ("ab", "abc"),
        ] {
            assert_eq!(contains(h, n), h.contains(n), "{h:?} {n:?}");
        }
    }

    #[test]
    fn splits_http_and_custom_scheme_uris() {
        let u = Uri::parse("https://user@Example.com:8443/cb/x?code=a%20b&state=s#frag").unwrap();
        assert_eq!(u.scheme, "https");
        assert_eq!(u.authority, Some("user@Example.com:8443"));
        assert_eq!(u.host(), Some("Example.com"));
        assert_eq!(u.path, "/cb/x");
        assert_eq!(u.query, Some("code=a%20b&state=s"));
        assert_eq!(u.fragment, Some("frag"));
        assert!(u.has_userinfo());

        let c = Uri::parse("com.example.app://callback?code=x+y&state=z").unwrap();
        assert_eq!(c.scheme, "com.example.app");
        assert_eq!(c.host(), Some("callback"));
        assert_eq!(
            c.query_pairs(),
            vec![("code".into(), "x y".into()), ("state".into(), "z".into())]
        );

        let d = Uri::parse("com.example.app:/oauth2redirect?code=1").unwrap();
        assert_eq!(d.authority, None);
        assert_eq!(d.path, "/oauth2redirect");

        let v6 = Uri::parse("http://[::1]:3000/").unwrap();
        assert_eq!(v6.host(), Some("[::1]"));
    }

    #[test]
    fn refuses_relative_and_dirty_uris() {
        for bad in [
            "/callback?code=1",
            "callback",
            "1http://x",
            "https://a b/",
            "https://a/\n",
            "",
        ] {
            assert!(Uri::parse(bad).is_none(), "{bad:?}");
        }
        assert!(parse_http_url("ftp://x/", "x").is_err());
        assert!(parse_http_url("https:///path", "x").is_err());
        assert!(parse_http_url("https://u:p@host/", "x").is_err());
        assert!(parse_http_url("https://host", "x").is_ok());
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LOCALHOST",
            "app.localhost",
            "127.0.0.1",
            "127.255.0.9",
            "[::1]",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "127.0.0.1.evil.com",
            "128.0.0.1",
            "localhost.evil.com",
            "127.0.0",
            "[::2]",
            "127.0.0.256",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn append_query_keeps_the_existing_query_and_encodes() {
        assert_eq!(
            append_query("https://a/authorize", &[("x", "1 2&")]).unwrap(),
            "https://a/authorize?x=1+2%26"
        );
        assert_eq!(
            append_query("https://a/auth?tenant=t", &[("x", "/")]).unwrap(),
            "https://a/auth?tenant=t&x=%2F"
        );
        assert_eq!(
            append_query("https://a/auth?", &[("x", "y")]).unwrap(),
            "https://a/auth?x=y"
        );
        assert_eq!(
            append_query("https://a/auth#f", &[("x", "y")])
                .unwrap_err()
                .code(),
            code::INVALID_CONFIG
        );
    }
}
