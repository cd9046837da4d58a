//! Helpers shared by the bench's binaries (`mint-pool`, `dpop-proofs`).

pub mod dpop;
