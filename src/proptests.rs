//! Property tests: what the library writes, it reads back the same.

use proptest::prelude::*;

use crate::pkce::CodeVerifier;
use crate::secret::AuthorizationCode;
use crate::token::authorization_code_request;
use crate::token::TokenRequestEncoding;
use crate::transaction::Transaction;
use crate::uri::{append_query, Uri};

fn b64url(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

fn tx(
    client_id: String,
    redirect_uri: String,
    app_state: Option<String>,
    created: u64,
    bytes: [u8; 32],
) -> Transaction {
    Transaction {
        client_id,
        issuer: "https://id.example.com".into(),
        redirect_uri,
        state: "s".repeat(43),
        nonce: "n".repeat(43),
        code_verifier: CodeVerifier::from_random_bytes(&bytes),
        scope: "openid".into(),
        audience: None,
        max_age: Some(created % 1000),
        app_state: app_state.map(|s| serde_json::Value::String(s).to_string()),
        created_at_ms: created,
        dpop_jkt: None,
    }
}

proptest! {
    #[test]
    fn pkce_verifier_and_challenge(bytes in any::<[u8; 32]>()) {
        let v = CodeVerifier::from_random_bytes(&bytes);
        prop_assert_eq!(v.expose().len(), 43);
        prop_assert_eq!(b64url(v.expose()), bytes.to_vec());
        let parsed = CodeVerifier::parse(v.expose()).unwrap();
        prop_assert_eq!(&parsed, &v);
        use sha2::Digest;
        prop_assert_eq!(b64url(v.challenge().as_str()), sha2::Sha256::digest(v.expose().as_bytes()).to_vec());
    }

    #[test]
    fn authorize_url_parameters_read_back(params in proptest::collection::vec(("[a-z_]{1,12}", any::<String>()), 0..8)) {
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let url = append_query("https://id.example.com/authorize?tenant=t", &pairs).unwrap();
        let uri = Uri::parse(&url).unwrap();
        let mut want = vec![("tenant".to_string(), "t".to_string())];
        want.extend(params.iter().cloned());
        prop_assert_eq!(uri.query_pairs(), want);
        prop_assert_eq!(uri.fragment, None);
    }

    #[test]
    fn stored_transactions_read_back(
        client in "\\PC{1,40}",
        redirect in "[a-z]{1,10}://[a-z]{1,10}/\\PC{0,20}",
        app_state in proptest::option::of(any::<String>()),
        created in any::<u64>(),
        bytes in any::<[u8; 32]>(),
    ) {
        let t = tx(client, redirect, app_state, created, bytes);
        prop_assert_eq!(Transaction::from_stored(&t.to_stored()).unwrap(), t);
    }

    #[test]
    fn token_request_bodies_read_back(code in any::<String>(), redirect in any::<String>(), client in any::<String>()) {
        let t = tx(client.clone(), redirect.clone(), None, 0, [3; 32]);
        let r = authorization_code_request("https://id/token", TokenRequestEncoding::Form, &t, &AuthorizationCode::new(code.clone()), None);
        let got: Vec<(String, String)> = form_urlencoded::parse(r.body.as_bytes()).into_owned().collect();
        prop_assert_eq!(got, vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("client_id".to_string(), client.clone()),
            ("code_verifier".to_string(), t.code_verifier.expose().to_string()),
            ("code".to_string(), code.clone()),
            ("redirect_uri".to_string(), redirect.clone()),
        ]);
        let j = authorization_code_request("https://id/token", TokenRequestEncoding::Json, &t, &AuthorizationCode::new(code.clone()), None);
        let v: serde_json::Value = serde_json::from_str(&j.body).unwrap();
        prop_assert_eq!(v["code"].as_str(), Some(code.as_str()));
        prop_assert_eq!(v["redirect_uri"].as_str(), Some(redirect.as_str()));
    }

    /// src/b64.rs against the base64 crate: the same encoding of any bytes,
    /// and the same verdict (and bytes) on any string, valid or not.
    #[test]
    fn b64_agrees_with_the_base64_crate(bytes in proptest::collection::vec(any::<u8>(), 0..100), junk in "[A-Za-z0-9_=+/ -]{0,24}") {
        use base64::Engine as _;
        let reference = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let encoded = crate::b64::encode(&bytes);
        prop_assert_eq!(&encoded, &reference.encode(&bytes));
        prop_assert_eq!(crate::b64::decode(&encoded), Some(bytes.clone()));
        prop_assert_eq!(crate::b64::decode(&junk), reference.decode(&junk).ok(), "{}", junk);
        prop_assert_eq!(crate::b64::encode_std(&bytes), base64::engine::general_purpose::STANDARD.encode(&bytes));
    }

    /// src/json.rs against serde_json on token soup (mostly invalid JSON:
    /// every verdict must agree) ...
    #[test]
    fn json_parser_agrees_with_serde_json_on_any_text(pieces in proptest::collection::vec(json_piece(), 0..24)) {
        let text = pieces.concat();
        prop_assert_eq!(crate::json::check_against_serde_json(&text), Ok(()));
    }

    /// ... and on well-formed documents, whose values must be the same.
    #[test]
    fn json_parser_agrees_with_serde_json_on_documents(doc in json_document()) {
        // (Well-formed, so read, unless a number is beyond f64: 1e310.)
        let read = crate::json::parse(&doc);
        prop_assert!(read.is_ok() || read.unwrap_err().contains("out of range"), "{}", doc);
        prop_assert_eq!(crate::json::check_against_serde_json(&doc), Ok(()));
    }
}

proptest! {
    /// src/json.rs's writer: what it writes of a document, serde_json reads
    /// as that document (members in order, numbers as written); strings are
    /// quoted byte for byte as serde_json quotes them.
    #[test]
    fn json_writer_agrees_with_serde_json(doc in json_document(), s in any::<String>()) {
        if let (Ok(ours), Ok(theirs)) = (crate::json::parse(&doc), serde_json::from_str::<serde_json::Value>(&doc)) {
            let written = crate::json::to_string(&ours);
            prop_assert_eq!(serde_json::from_str::<serde_json::Value>(&written).ok(), Some(theirs), "{}", written);
            prop_assert_eq!(crate::json::parse(&written).ok(), Some(ours));
        }
        prop_assert_eq!(crate::json::quote(&s), serde_json::to_string(&s).unwrap());
        prop_assert_eq!(crate::json::parse(&crate::json::quote(&s)), Ok(crate::json::Value::String(s)));
    }
}

proptest! {
    /// src/uri.rs's form encoding against the form_urlencoded crate: the same
    /// text for any pairs, the same pairs from any text (broken escapes,
    /// bytes that are not UTF-8 once decoded, empty sequences).
    #[test]
    fn form_encoding_agrees_with_form_urlencoded(
        pairs in proptest::collection::vec((any::<String>(), any::<String>()), 0..4),
        text in "([a-zA-Z0-9=&+ %*._~-]|%[0-9a-fA-F]{2}|%[c-fC-F][0-9a-fA-F]|é){0,16}",
    ) {
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut theirs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &refs {
            theirs.append_pair(k, v);
        }
        let encoded = crate::uri::form_encode(&refs);
        prop_assert_eq!(&encoded, &theirs.finish());
        prop_assert_eq!(crate::uri::form_decode_pairs(&encoded), pairs);
        let reference: Vec<(String, String)> = form_urlencoded::parse(text.as_bytes()).into_owned().collect();
        prop_assert_eq!(crate::uri::form_decode_pairs(&text), reference, "{}", text);
    }
}

/// JSON tokens, broken tokens and the escapes and numbers that are hard to get right.
fn json_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "{", "}", "[", "]", ",", ":", " ", "\n\t", "true", "false", "null", "fals", "nul", "-", "1.",
            "1e", "01", "-0", "\"", "\\", "\u{1}", "é",
        ])
        .prop_map(str::to_string),
        json_string(),
        json_number(),
    ]
}

fn json_string() -> impl Strategy<Value = String> {
    r#""([a-z é€😀/]|\\["\\/bfnrtu]|\\u[0-9a-fA-F]{4}|\\u[dD][89abAB][0-9a-f]{2}\\u[dD][c-fC-F][0-9a-f]{2}|\\u[dD][c-f]00|\\x|\x01){0,5}""#
}

fn json_number() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?(0|[1-9][0-9]{0,5})(\\.[0-9]{1,6})?([eE][-+]?[0-9]{1,2})?",
        "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,24})?([eE][-+]?[0-9]{1,3})?",
        "-?(18446744073709551615|18446744073709551616|9223372036854775807|9223372036854775808|9223372036854775809)",
    ]
}

/// A string that is valid JSON (escapes and surrogate pairs included).
fn json_valid_string() -> impl Strategy<Value = String> {
    r#""([a-z é€😀/]|\\["\\/bfnrt]|\\u00[0-7][0-9a-f]|\\u[dD][89abAB][0-9a-f]{2}\\u[dD][c-fC-F][0-9a-f]{2}){0,5}""#
}

fn json_document() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        json_number(),
        json_valid_string(),
        prop::sample::select(vec!["true", "false", "null"]).prop_map(str::to_string),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            proptest::collection::vec((json_valid_string(), inner), 0..6).prop_map(|v| {
                let members: Vec<String> = v.into_iter().map(|(k, v)| format!("{k} : {v}")).collect();
                format!("{{ {} }}", members.join(",\n"))
            }),
        ]
    })
}
