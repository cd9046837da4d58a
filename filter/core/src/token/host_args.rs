//! The arguments and result of Envoy's `verify_signature` foreign function (protobuf
//! `envoy.source.extensions.common.wasm.VerifySignatureArguments` / `VerifySignatureResult`),
//! encoded by hand: a handful of fields does not justify a protobuf crate in the module.
//!
//! The host verifies RS256/384/512 (PKCS#1 v1.5) and ES256/384 (ECDSA, DER signatures) with
//! BoringSSL; PS* and EdDSA stay in the guest.

use super::jws::Jws;
use crate::keys::{Algorithm, PublicKey};

/// The hash name the host takes for `alg`, when the host can verify `alg`.
pub fn host_hash(alg: Algorithm) -> Option<&'static str> {
    match alg {
        Algorithm::Rs256 | Algorithm::Es256 => Some("sha256"),
        Algorithm::Rs384 | Algorithm::Es384 => Some("sha384"),
        Algorithm::Rs512 => Some("sha512"),
        Algorithm::Ps256 | Algorithm::Ps384 | Algorithm::Ps512 | Algorithm::EdDsa => None,
    }
}

/// Why arguments could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostArgsError {
    /// The host does not verify this algorithm (or key type): use the guest.
    NotHostAlgorithm,
    /// The signature cannot be valid (an ECDSA signature of the wrong length): reject.
    BadSignature,
}

/// The serialized `VerifySignatureArguments` for `jws` under `alg` with `key`.
pub fn host_arguments(
    alg: Algorithm,
    key: &PublicKey,
    jws: &Jws<'_>,
) -> Result<Vec<u8>, HostArgsError> {
    let hash = host_hash(alg).ok_or(HostArgsError::NotHostAlgorithm)?;
    let (spki, signature) = match (alg, key) {
        (Algorithm::Rs256 | Algorithm::Rs384 | Algorithm::Rs512, PublicKey::Rsa { n, e }) => {
            (rsa_spki(n, e), jws.signature.clone())
        }
        (Algorithm::Es256, PublicKey::EcP256(point)) => {
            (ec_spki(P256_OID, point), ecdsa_der(&jws.signature, 32)?)
        }
        (Algorithm::Es384, PublicKey::EcP384(point)) => {
            (ec_spki(P384_OID, point), ecdsa_der(&jws.signature, 48)?)
        }
        _ => return Err(HostArgsError::NotHostAlgorithm),
    };
    let mut out = Vec::with_capacity(spki.len() + signature.len() + jws.signing_input.len() + 32);
    field(&mut out, 1, hash.as_bytes());
    field(&mut out, 2, &spki);
    field(&mut out, 3, &signature);
    field(&mut out, 4, jws.signing_input.as_bytes());
    Ok(out)
}

/// Reads `VerifySignatureResult.result` (field 1, a bool); `None` for a malformed message.
pub fn host_result(bytes: &[u8]) -> Option<bool> {
    let mut rest = bytes;
    let mut result = false;
    while !rest.is_empty() {
        let (tag, after) = varint(rest)?;
        rest = after;
        match (tag >> 3, tag & 7) {
            (1, 0) => {
                let (value, after) = varint(rest)?;
                result = value != 0;
                rest = after;
            }
            (_, 0) => rest = varint(rest)?.1,
            (_, 2) => {
                let (len, after) = varint(rest)?;
                rest = after.get(usize::try_from(len).ok()?..)?;
            }
            _ => return None,
        }
    }
    Some(result)
}

fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, bytes.get(i + 1..)?));
        }
    }
    None
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A length-delimited protobuf field.
fn field(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    put_varint(out, (number << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

// DER.

const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const P256_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_OID: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(body);
    out
}

/// A DER INTEGER from unsigned big-endian bytes (minimal, with a 0 byte if the top bit is set).
fn integer(value: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = match value.iter().position(|b| *b != 0) {
        Some(at) => value.get(at..).unwrap_or_default(),
        None => &[0],
    };
    let mut body = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(trimmed);
    tlv(0x02, &body)
}

fn bit_string(content: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(content.len() + 1);
    body.push(0);
    body.extend_from_slice(content);
    tlv(0x03, &body)
}

fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let algorithm = tlv(0x30, &[tlv(0x06, RSA_OID), vec![0x05, 0x00]].concat());
    let key = tlv(0x30, &[integer(n), integer(e)].concat());
    tlv(0x30, &[algorithm, bit_string(&key)].concat())
}

fn ec_spki(curve: &[u8], point: &[u8]) -> Vec<u8> {
    let algorithm = tlv(0x30, &[tlv(0x06, EC_OID), tlv(0x06, curve)].concat());
    tlv(0x30, &[algorithm, bit_string(point)].concat())
}

/// JOSE ECDSA signature (`r || s`, fixed width) to DER `SEQUENCE { r, s }`.
fn ecdsa_der(raw: &[u8], width: usize) -> Result<Vec<u8>, HostArgsError> {
    if raw.len() != 2 * width {
        return Err(HostArgsError::BadSignature);
    }
    let (r, s) = raw.split_at(width);
    Ok(tlv(0x30, &[integer(r), integer(s)].concat()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal_and_positive() {
        assert_eq!(integer(&[0, 0, 1]), vec![0x02, 0x01, 0x01]);
        assert_eq!(integer(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(&[0, 0]), vec![0x02, 0x01, 0x00]);
        assert_eq!(tlv(0x04, &[0u8; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0u8; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn results_are_read_and_malformed_ones_refused() {
        assert_eq!(host_result(&[0x08, 0x01]), Some(true));
        assert_eq!(
            host_result(&[0x08, 0x00, 0x12, 0x02, b'n', b'o']),
            Some(false)
        );
        assert_eq!(host_result(&[]), Some(false));
        assert_eq!(host_result(&[0x12, 0x05, b'x']), None);
        assert_eq!(host_result(&[0x0b]), None);
    }

    #[test]
    fn ecdsa_signatures_must_have_the_curve_width() {
        assert_eq!(ecdsa_der(&[1; 63], 32), Err(HostArgsError::BadSignature));
        let der = ecdsa_der(&[0xff; 64], 32).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(der.len(), 2 + 2 * (2 + 33));
        // r = s = 0 (CVE-2022-21449) encodes as zeros, which the host refuses.
        assert_eq!(
            ecdsa_der(&[0; 64], 32).unwrap(),
            vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]
        );
    }

    #[test]
    fn spki_of_an_rsa_key_parses_back() {
        use jwt_simple::prelude::*;
        let pair = RS256KeyPair::generate(2048).unwrap();
        let c = pair.public_key().to_components();
        let der = rsa_spki(&c.n, &c.e);
        let parsed = RS256PublicKey::from_der(&der).unwrap();
        assert_eq!(parsed.to_components().n, c.n);
        let ec = ES256KeyPair::generate();
        let point = ec.public_key().public_key().to_bytes_uncompressed();
        let der = ec_spki(P256_OID, &point);
        assert!(ES256PublicKey::from_der(&der).is_ok());
    }
}
