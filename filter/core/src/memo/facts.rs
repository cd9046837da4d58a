//! The connection facts a decision read, recorded while it is made and compared on reuse.

use crate::identity::ConnectionInfo;
use std::cell::Cell;

/// How one fact is read from a connection.
type Read = fn(&dyn ConnectionInfo) -> Option<&str>;

/// The facts, by position: bit `1 << i` of a read set names `FACTS[i]`.
const FACTS: [Read; 3] = [
    |c| c.source_address(),
    |c| c.peer_uri_san(),
    |c| c.peer_certificate_sha256_hex(),
];
const SOURCE_ADDRESS: u8 = 1 << 0;
const PEER_URI_SAN: u8 = 1 << 1;
const PEER_CERTIFICATE: u8 = 1 << 2;

/// The facts a decision read (bits of `read`), with the values they had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ConnectionFacts {
    read: u8,
    values: [Option<String>; 3],
}

impl ConnectionFacts {
    /// Whether every fact read then reads the same on `connection`.
    pub(super) fn still_hold(&self, connection: &dyn ConnectionInfo) -> bool {
        FACTS
            .iter()
            .zip(&self.values)
            .enumerate()
            .all(|(i, (fact, then))| {
                self.read & (1 << i) == 0 || then.as_deref() == fact(connection)
            })
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
        let mut values: [Option<String>; 3] = Default::default();
        for (i, (fact, value)) in FACTS.iter().zip(&mut values).enumerate() {
            if read & (1 << i) != 0 {
                *value = fact(self.inner).map(str::to_string);
            }
        }
        ConnectionFacts { read, values }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::StaticConnection;

    fn connection(facts: [&str; 3]) -> StaticConnection {
        StaticConnection {
            source_address: Some(facts[0].to_string()),
            peer_uri_san: Some(facts[1].to_string()),
            peer_certificate_sha256_hex: Some(facts[2].to_string()),
        }
    }

    #[test]
    fn each_fact_read_is_compared_and_no_other() {
        let then = connection(["a", "b", "c"]);
        for (i, fact) in FACTS.iter().enumerate() {
            let recording = Recording::new(&then);
            let _ = fact(&recording);
            let facts = recording.facts();
            assert!(facts.still_hold(&then), "fact {i}");
            for j in 0..3 {
                let mut changed = ["a", "b", "c"];
                changed[j] = "other";
                assert_eq!(
                    facts.still_hold(&connection(changed)),
                    i != j,
                    "read {i}, changed {j}"
                );
            }
        }
        let nothing = Recording::new(&then).facts();
        assert!(nothing.still_hold(&connection(["x", "y", "z"])));
    }
}
