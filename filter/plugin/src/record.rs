//! The typed decision record: `workload_authz.record` declared to Envoy as a
//! `google.protobuf.Struct`, so that one `proxy_set_property` per request carries the whole
//! record and access logs, RBAC CEL and other filters read it typed.

use crate::host;
use proxy_wasm::types::Status;
use workload_authz_core::telemetry::declare_record_arguments;

/// What the filter keeps beside a memoised decision, made on its first use and reused by every
/// request the decision is served to: its typed record, encoded, and its counters' ids.
#[derive(Debug, Default)]
pub struct Companion {
    /// The `google.protobuf.Struct` bytes of the record.
    pub record: std::cell::OnceCell<Vec<u8>>,
    /// The counters the decision increments.
    pub counters: std::cell::OnceCell<crate::metrics::CounterIds>,
}

/// Envoy's foreign function that gives a filter-state property a type.
const DECLARE_PROPERTY: &str = "declare_property";

/// Why the record cannot be typed on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclareError {
    /// The host has no `declare_property` (not Envoy, or an Envoy without it).
    Unsupported,
    /// The host refused the declaration with this status.
    Refused(Status),
}

impl std::fmt::Display for DeclareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeclareError::Unsupported => f.write_str("the host has no declare_property"),
            DeclareError::Refused(status) => write!(f, "the host refused it: {status:?}"),
        }
    }
}

/// Declares the record property for this root context. A second declaration of the same name
/// (Envoy answers `BadArgument`, keeping the first, which is ours and identical) counts as done.
pub fn declare() -> Result<(), DeclareError> {
    match host::foreign_function(DECLARE_PROPERTY, &declare_record_arguments()) {
        Ok(_) | Err(Status::BadArgument) => Ok(()),
        Err(Status::NotFound) => Err(DeclareError::Unsupported),
        Err(status) => Err(DeclareError::Refused(status)),
    }
}
