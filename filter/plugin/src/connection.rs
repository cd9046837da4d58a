//! Connection facts read from Envoy properties, lazily: each costs a host call, and most
//! requests need none of them.

use crate::host;
use std::cell::OnceCell;
use workload_authz_core::ConnectionInfo;

/// The connection of the current request.
#[derive(Default)]
pub struct HostConnection {
    source_address: OnceCell<Option<String>>,
    peer_uri_san: OnceCell<Option<String>>,
    peer_certificate_sha256_hex: OnceCell<Option<String>>,
}

impl ConnectionInfo for HostConnection {
    fn source_address(&self) -> Option<&str> {
        self.source_address
            .get_or_init(|| host::property_text(&["source", "address"]))
            .as_deref()
    }

    fn peer_uri_san(&self) -> Option<&str> {
        self.peer_uri_san
            .get_or_init(|| host::property_text(&["connection", "uri_san_peer_certificate"]))
            .as_deref()
            .filter(|san| !san.is_empty())
    }

    fn peer_certificate_sha256_hex(&self) -> Option<&str> {
        self.peer_certificate_sha256_hex
            .get_or_init(|| host::property_text(&["connection", "sha256_peer_certificate_digest"]))
            .as_deref()
            .filter(|digest| !digest.is_empty())
    }
}
