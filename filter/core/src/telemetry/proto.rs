//! The decision record as a serialized `google.protobuf.Struct`, and the arguments of Envoy's
//! `declare_property` foreign function that makes the host keep it typed.
//!
//! Hand-encoded protobuf wire format (no protobuf crate in the module): every length is computed
//! before anything is written, so one record is one allocation of exactly its size.

use super::members::{members, Field, MOST_MEMBERS};
use crate::config::Policy;
use crate::decision::Decision;

/// The filter-state name of the typed record (Envoy prefixes it with `wasm.`).
pub const RECORD_PROPERTY: &str = "workload_authz.record";

/// The type URL Envoy is told the record has.
pub const STRUCT_TYPE_URL: &str = "type.googleapis.com/google.protobuf.Struct";

/// `DeclarePropertyArguments.type`: `WasmType::Protobuf`.
const WASM_TYPE_PROTOBUF: u64 = 3;

/// `DeclarePropertyArguments.span`: `LifeSpan::DownstreamRequest`.
const LIFE_SPAN_DOWNSTREAM_REQUEST: u64 = 1;

/// Room for each member's sizes on the stack (checked against `members` at compile time).
const MAX_MEMBERS: usize = 24;
const _: () = assert!(MOST_MEMBERS <= MAX_MEMBERS);

/// Wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LENGTH_DELIMITED: u8 = 2;

impl Field<'_> {
    /// The encoded size of this `Value` message.
    fn size(&self) -> usize {
        match self {
            // null_value (1) = NULL_VALUE (0): key and a one-byte varint.
            Field::Null => 2,
            Field::Text(text) => delimited_size(text.len()),
            // number_value (2): key and eight bytes.
            Field::Number(_) => 9,
            Field::List(items) => delimited_size(list_size(items)),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Field::Null => {
                key(out, 1, VARINT);
                varint(out, 0);
            }
            Field::Text(text) => bytes(out, 3, text.as_bytes()),
            Field::Number(number) => {
                key(out, 2, FIXED64);
                // A JSON number in a Struct is a double; a TTL in seconds is exact in one.
                #[allow(clippy::cast_precision_loss)]
                out.extend_from_slice(&(*number as f64).to_le_bytes());
            }
            Field::List(items) => {
                key(out, 6, LENGTH_DELIMITED);
                varint(out, list_size(items) as u64);
                for item in items.iter() {
                    // ListValue.values (1), each a Value holding string_value (3).
                    key(out, 1, LENGTH_DELIMITED);
                    varint(out, delimited_size(item.len()) as u64);
                    bytes(out, 3, item.as_bytes());
                }
            }
        }
    }
}

/// The size of a `ListValue` of strings.
fn list_size(items: &[String]) -> usize {
    items
        .iter()
        .map(|item| delimited_size(delimited_size(item.len())))
        .sum()
}

/// The size of a length-delimited field of `len` bytes with a one-byte key.
#[inline(always)]
fn delimited_size(len: usize) -> usize {
    1 + varint_size(len as u64) + len
}

#[inline(always)]
fn varint_size(mut value: u64) -> usize {
    let mut size = 1;
    while value >= 0x80 {
        value >>= 7;
        size += 1;
    }
    size
}

#[inline(always)]
fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A field key (field numbers here are all below 16: one byte).
#[inline(always)]
fn key(out: &mut Vec<u8>, field: u8, wire_type: u8) {
    out.push((field << 3) | wire_type);
}

#[inline(always)]
fn bytes(out: &mut Vec<u8>, field: u8, value: &[u8]) {
    key(out, field, LENGTH_DELIMITED);
    varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// The decision record (the members of [`super::record`]) as a serialized
/// `google.protobuf.Struct`: what the filter writes to `workload_authz.record` in one host call.
pub fn record_struct(decision: &Decision, policy: &Policy) -> Vec<u8> {
    let fields = members(decision, policy);
    // Struct.fields (1) is a map: each entry { key (1): string, value (2): Value }. Each
    // member's sizes are computed once (a function call costs more under V8 than natively).
    let mut sizes = [(0usize, 0usize); MAX_MEMBERS];
    let mut total = 0;
    for ((name, value), slot) in fields.iter().zip(sizes.iter_mut()) {
        let value_size = value.size();
        let entry_size = delimited_size(name.len()) + delimited_size(value_size);
        *slot = (entry_size, value_size);
        total += delimited_size(entry_size);
    }
    let mut out = Vec::with_capacity(total);
    for ((name, value), (entry_size, value_size)) in fields.iter().zip(sizes) {
        key(&mut out, 1, LENGTH_DELIMITED);
        varint(&mut out, entry_size as u64);
        bytes(&mut out, 1, name.as_bytes());
        key(&mut out, 2, LENGTH_DELIMITED);
        varint(&mut out, value_size as u64);
        value.write(&mut out);
    }
    out
}

/// Envoy's `DeclarePropertyArguments` for the record: `name` (1), `readonly` (2) false,
/// `type` (3) Protobuf, `schema` (4) the `Struct` type URL, `span` (5) the downstream request.
pub fn declare_record_arguments() -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    bytes(&mut out, 1, RECORD_PROPERTY.as_bytes());
    key(&mut out, 3, VARINT);
    varint(&mut out, WASM_TYPE_PROTOBUF);
    bytes(&mut out, 4, STRUCT_TYPE_URL.as_bytes());
    key(&mut out, 5, VARINT);
    varint(&mut out, LIFE_SPAN_DOWNSTREAM_REQUEST);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_base_128_little_endian() {
        for (value, encoded) in [
            (0u64, vec![0u8]),
            (1, vec![1]),
            (127, vec![0x7f]),
            (128, vec![0x80, 0x01]),
            (300, vec![0xac, 0x02]),
        ] {
            let mut out = Vec::new();
            varint(&mut out, value);
            assert_eq!(out, encoded, "{value}");
            assert_eq!(varint_size(value), encoded.len(), "{value}");
        }
    }

    #[test]
    fn declare_arguments_name_type_schema_and_span() {
        let args = declare_record_arguments();
        let mut expected = vec![0x0a, 21];
        expected.extend_from_slice(b"workload_authz.record");
        expected.extend_from_slice(&[0x18, 3, 0x22, 42]);
        expected.extend_from_slice(b"type.googleapis.com/google.protobuf.Struct");
        expected.extend_from_slice(&[0x28, 1]);
        assert_eq!(args, expected);
    }
}
