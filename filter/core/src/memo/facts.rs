//! The connection facts a decision read, recorded while it is made and compared on reuse.

use crate::identity::ConnectionInfo;
use std::cell::Cell;

const SOURCE_ADDRESS: u8 = 1;
const PEER_URI_SAN: u8 = 2;
const PEER_CERTIFICATE: u8 = 4;

/// The facts a decision read (bits of `read`), with the values they had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ConnectionFacts {
    read: u8,
    source_address: Option<String>,
    peer_uri_san: Option<String>,
    peer_certificate: Option<String>,
}

impl ConnectionFacts {
    /// Whether every fact read then reads the same on `connection`.
    pub(super) fn still_hold(&self, connection: &dyn ConnectionInfo) -> bool {
        let same = |bit: u8, then: &Option<String>, now: Option<&str>| {
            self.read & bit == 0 || then.as_deref() == now
        };
        same(
            SOURCE_ADDRESS,
            &self.source_address,
            self.reads(SOURCE_ADDRESS)
                .then(|| connection.source_address())
                .flatten(),
        ) && same(
            PEER_URI_SAN,
            &self.peer_uri_san,
            self.reads(PEER_URI_SAN)
                .then(|| connection.peer_uri_san())
                .flatten(),
        ) && same(
            PEER_CERTIFICATE,
            &self.peer_certificate,
            self.reads(PEER_CERTIFICATE)
                .then(|| connection.peer_certificate_sha256_hex())
                .flatten(),
        )
    }

    fn reads(&self, bit: u8) -> bool {
        self.read & bit != 0
    }
}

/// A connection that notes which facts are read.
pub(super) struct Recording<'a> {
    inner: &'a dyn ConnectionInfo,
    read: Cell<u8>,
}

impl<'a> Recording<'a> {
    pub(super) fn new(inner: &'a dyn ConnectionInfo) -> Self {
        Recording {
            inner,
            read: Cell::new(0),
        }
    }

    /// The facts read so far, with their values.
    pub(super) fn facts(&self) -> ConnectionFacts {
        let read = self.read.get();
        let inner = self.inner;
        let value = |bit: u8, fact: &dyn Fn() -> Option<String>| {
            if read & bit == 0 {
                None
            } else {
                fact()
            }
        };
        ConnectionFacts {
            read,
            source_address: value(SOURCE_ADDRESS, &|| {
                inner.source_address().map(str::to_string)
            }),
            peer_uri_san: value(PEER_URI_SAN, &|| inner.peer_uri_san().map(str::to_string)),
            peer_certificate: value(PEER_CERTIFICATE, &|| {
                inner.peer_certificate_sha256_hex().map(str::to_string)
            }),
        }
    }

    fn note(&self, bit: u8) {
        self.read.set(self.read.get() | bit);
    }
}

impl ConnectionInfo for Recording<'_> {
    fn source_address(&self) -> Option<&str> {
        self.note(SOURCE_ADDRESS);
        self.inner.source_address()
    }

    fn peer_uri_san(&self) -> Option<&str> {
        self.note(PEER_URI_SAN);
        self.inner.peer_uri_san()
    }

    fn peer_certificate_sha256_hex(&self) -> Option<&str> {
        self.note(PEER_CERTIFICATE);
        self.inner.peer_certificate_sha256_hex()
    }
}
