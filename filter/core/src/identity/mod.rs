//! Workload identity: SPIFFE IDs, delegation chains (RFC 8693 `act`), and the transport a token
//! must be bound to (mTLS peer SPIFFE ID, RFC 8705 `cnf.x5t#S256`).

pub mod actors;
pub mod binding;
pub mod spiffe;

/// Facts about the connection a request arrived on. The plugin reads them from Envoy properties
/// only when a check asks (they cost host calls); the CLI and tests pass what they like.
pub trait ConnectionInfo {
    /// `source.address` (the downstream address, `ip:port`).
    fn source_address(&self) -> Option<&str> {
        None
    }
    /// `connection.uri_san_peer_certificate`: the mTLS peer's URI SAN (its SPIFFE ID).
    fn peer_uri_san(&self) -> Option<&str> {
        None
    }
    /// `connection.sha256_peer_certificate_digest`: hex SHA-256 of the peer's certificate.
    fn peer_certificate_sha256_hex(&self) -> Option<&str> {
        None
    }
}

/// No connection facts (a plaintext connection seen by nobody).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoConnection;

impl ConnectionInfo for NoConnection {}

/// Connection facts given as plain values.
#[derive(Debug, Clone, Default)]
pub struct StaticConnection {
    /// `source.address`.
    pub source_address: Option<String>,
    /// The peer's URI SAN.
    pub peer_uri_san: Option<String>,
    /// Hex SHA-256 of the peer certificate.
    pub peer_certificate_sha256_hex: Option<String>,
}

impl ConnectionInfo for StaticConnection {
    fn source_address(&self) -> Option<&str> {
        self.source_address.as_deref()
    }
    fn peer_uri_san(&self) -> Option<&str> {
        self.peer_uri_san.as_deref()
    }
    fn peer_certificate_sha256_hex(&self) -> Option<&str> {
        self.peer_certificate_sha256_hex.as_deref()
    }
}
