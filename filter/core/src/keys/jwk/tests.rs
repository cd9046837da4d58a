//! Unit tests of `jwk`.

use super::*;
use serde_json::json;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn ec_jwk() -> Value {
    use jwt_simple::prelude::{ECDSAP256PublicKeyLike, ES256KeyPair};
    let pair = ES256KeyPair::generate();
    let point = pair.public_key().public_key().to_bytes_uncompressed();
    json!({"kty": "EC", "crv": "P-256", "kid": "k1",
           "x": b64(&point[1..33]), "y": b64(&point[33..65])})
}

#[test]
fn parses_an_ec_key() {
    let jwk = parse_jwk(&ec_jwk()).unwrap();
    assert_eq!(jwk.kid.as_deref(), Some("k1"));
    assert_eq!(jwk.key.family(), KeyFamily::EcP256);
    assert!(jwk.fits(Algorithm::Es256));
    assert!(!jwk.fits(Algorithm::Es384));
    assert!(!jwk.fits(Algorithm::Rs256));
}

#[test]
fn rejects_a_point_off_the_curve() {
    let mut jwk = ec_jwk();
    jwk["y"] = json!(b64(&[7u8; 32]));
    assert_eq!(parse_jwk(&jwk), Err(JwkError::InvalidKey));
}

#[test]
fn rejects_small_rsa_keys() {
    let n = vec![0xC1u8; 128]; // 1024 bits
    let jwk = json!({"kty": "RSA", "n": b64(&n), "e": "AQAB"});
    assert_eq!(parse_jwk(&jwk), Err(JwkError::RsaTooSmall(1024)));
}

#[test]
fn rsa_limits_are_named() {
    let n = vec![0xC1u8; 1024]; // 8192 bits
    let jwk = json!({"kty": "RSA", "n": b64(&n), "e": "AQAB"});
    assert_eq!(parse_jwk(&jwk), Err(JwkError::RsaTooLarge(8192)));
    let message = JwkError::RsaTooLarge(8192).to_string();
    assert!(message.contains("4096-bit maximum"), "{message}");
    let n = vec![0xC1u8; 256]; // 2048 bits
    let jwk = json!({"kty": "RSA", "n": b64(&n), "e": "Aw"}); // e = 3
    assert_eq!(parse_jwk(&jwk), Err(JwkError::BadExponent));
    assert!(JwkError::BadExponent.to_string().contains("65537"));
}

#[test]
fn private_members_key_ops_and_kid_types_are_refused() {
    for member in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
        let mut jwk = ec_jwk();
        jwk[member] = json!("AAAA");
        assert_eq!(
            parse_jwk(&jwk),
            Err(JwkError::PrivateMember(member)),
            "{member}"
        );
    }
    assert!(JwkError::PrivateMember("d").to_string().contains("private"));
    for ops in [json!(["sign"]), json!([]), json!("verify"), json!([1])] {
        let mut jwk = ec_jwk();
        jwk["key_ops"] = ops.clone();
        assert_eq!(parse_jwk(&jwk), Err(JwkError::NotForVerification), "{ops}");
    }
    let mut jwk = ec_jwk();
    jwk["key_ops"] = json!(["verify", "encrypt"]);
    assert!(parse_jwk(&jwk).is_ok());
    for kid in [json!(7), json!(null), json!(["k1"])] {
        let mut jwk = ec_jwk();
        jwk["kid"] = kid.clone();
        assert_eq!(parse_jwk(&jwk), Err(JwkError::KidNotString), "{kid}");
    }
    assert!(JwkError::KidNotString.to_string().contains("kid"));
}

#[test]
fn pinned_alg_must_fit_the_key() {
    let mut jwk = ec_jwk();
    jwk["alg"] = json!("RS256");
    assert_eq!(parse_jwk(&jwk), Err(JwkError::BadAlgorithm("RS256".into())));
    jwk["alg"] = json!("HS256");
    assert_eq!(parse_jwk(&jwk), Err(JwkError::BadAlgorithm("HS256".into())));
    jwk["alg"] = json!("ES256");
    assert_eq!(parse_jwk(&jwk).unwrap().alg, Some(Algorithm::Es256));
}

#[test]
fn encryption_keys_and_symmetric_keys_are_not_used() {
    let mut jwk = ec_jwk();
    jwk["use"] = json!("enc");
    assert_eq!(
        parse_jwk(&jwk),
        Err(JwkError::NotForSignatures("enc".into()))
    );
    let oct = json!({"kty": "oct", "k": "c2VjcmV0"});
    assert_eq!(
        parse_jwk(&oct),
        Err(JwkError::UnsupportedType("oct".into()))
    );
}

#[test]
fn reads_the_envoy_and_istio_vector_key_sets() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors");
    for (file, expected) in [
        ("envoy/public_key_jwks.json", 3usize),
        ("envoy/es256_public_key_jwks.json", 1),
        ("istio_samples/jwks.json", 1),
        ("istio_e2e/jwks.json", 1),
    ] {
        let Ok(text) = std::fs::read_to_string(format!("{root}/{file}")) else {
            panic!("shared vectors missing: {root}/{file}");
        };
        let parsed = parse_jwks(&text).unwrap();
        assert_eq!(parsed.keys.len(), expected, "{file}: {:?}", parsed.rejected);
    }
}

#[test]
fn limits_bound_size_and_key_count() {
    let doc = json!({"keys": [ec_jwk(), ec_jwk(), ec_jwk()]}).to_string();
    let two = JwksLimits {
        max_bytes: 100_000,
        max_keys: 2,
    };
    assert_eq!(
        parse_jwks_limited(&doc, &two),
        Err(JwksError::TooManyKeys(2))
    );
    let tiny = JwksLimits {
        max_bytes: 10,
        max_keys: 10,
    };
    assert_eq!(
        parse_jwks_limited(&doc, &tiny),
        Err(JwksError::TooLarge(10))
    );
    assert_eq!(parse_jwks(&doc).unwrap().keys.len(), 3);
}

#[test]
fn a_document_without_keys_is_refused() {
    assert_eq!(parse_jwks("{}"), Err(JwksError::NoKeysArray));
    assert!(matches!(parse_jwks("nope"), Err(JwksError::NotJson(_))));
}

#[test]
fn keys_for_another_purpose_are_set_aside_not_refused() {
    let point = |kid: &str, usage: &str| {
        use jwt_simple::prelude::ECDSAP256PublicKeyLike;
        let pair = jwt_simple::prelude::ES256KeyPair::generate();
        let p = pair.public_key().public_key().to_bytes_uncompressed();
        serde_json::json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": usage,
            "x": URL_SAFE_NO_PAD.encode(&p[1..33]), "y": URL_SAFE_NO_PAD.encode(&p[33..65])})
    };
    let doc = serde_json::json!({"keys": [
        point("a", "sig"), point("b", "x509-svid"), point("c", "enc"), point("d", "jwt-svid"),
        point("e", "other"),
    ]});
    let parsed = parse_jwks(&doc.to_string()).unwrap();
    let kids: Vec<_> = parsed
        .keys
        .iter()
        .map(|k| k.kid.as_deref().unwrap())
        .collect();
    assert_eq!(kids, ["a", "d"]);
    assert_eq!(
        parsed.ignored,
        vec![(1, "x509-svid".to_string()), (2, "enc".to_string())]
    );
    assert_eq!(
        parsed.rejected,
        vec![(4, JwkError::NotForSignatures("other".to_string()))]
    );
}

#[test]
fn rejects_an_even_rsa_modulus_and_weak_or_invalid_ed25519_keys() {
    let mut n = vec![0xC1u8; 256]; // 2048 bits
    let odd = json!({"kty": "RSA", "n": b64(&n), "e": "AQAB"});
    assert!(parse_jwk(&odd).is_ok());
    if let Some(last) = n.last_mut() {
        *last = 0xC0;
    }
    let even = json!({"kty": "RSA", "n": b64(&n), "e": "AQAB"});
    assert_eq!(parse_jwk(&even), Err(JwkError::InvalidKey));

    let okp = |x: &[u8]| json!({"kty": "OKP", "crv": "Ed25519", "x": b64(x)});
    // RFC 8032's first test key is a valid point of large order.
    let good = [
        0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07,
        0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07,
        0x51, 0x1a,
    ];
    assert!(parse_jwk(&okp(&good)).is_ok());
    // The identity (y = 1) is of small order: a weak key.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(parse_jwk(&okp(&identity)), Err(JwkError::InvalidKey));
    // y = 2 is not the encoding of any curve point.
    let mut off_curve = [0u8; 32];
    off_curve[0] = 2;
    assert_eq!(parse_jwk(&okp(&off_curve)), Err(JwkError::InvalidKey));
}
