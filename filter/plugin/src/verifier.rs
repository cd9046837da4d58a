//! Signature verification for the filter: Envoy's `verify_signature` foreign function (BoringSSL,
//! outside the sandbox) for RS*/ES* when the host offers it, the pure-Rust guest verifier for
//! everything else and for hosts without it. Both give the same verdict (a differential test
//! in integration/ proves it over good, tampered and malformed tokens).

use crate::host;
use proxy_wasm::types::Status;
use workload_authz_core::keys::{Algorithm, PublicKey};
use workload_authz_core::token::host_args::{host_arguments, host_result, HostArgsError};
use workload_authz_core::token::{Jws, SignatureVerifier, VerifyError};
use workload_authz_core::GuestVerifier;

const FUNCTION: &str = "verify_signature";

/// Whether the host exports `verify_signature`: called with empty arguments, a host that has it
/// answers `BadArgument` (no key), one that does not answers `NotFound`.
pub fn probe() -> bool {
    match host::foreign_function(FUNCTION, &[]) {
        Err(Status::NotFound) => false,
        Err(Status::BadArgument) | Ok(_) => true,
        Err(_) => false,
    }
}

/// The filter's verifier.
#[derive(Debug, Clone, Copy)]
pub struct FilterVerifier {
    /// Use the host for the algorithms it supports.
    pub host: bool,
}

impl SignatureVerifier for FilterVerifier {
    fn verify(&self, alg: Algorithm, key: &PublicKey, jws: &Jws<'_>) -> Result<(), VerifyError> {
        if self.host {
            match host_arguments(alg, key, jws) {
                Ok(arguments) => {
                    // No answer (a key the host cannot import): no verdict from it, ask the guest.
                    if let Ok(Some(answer)) = host::foreign_function(FUNCTION, &arguments) {
                        return match host_result(&answer) {
                            Some(true) => Ok(()),
                            _ => Err(VerifyError::Mismatch),
                        };
                    }
                }
                Err(HostArgsError::BadSignature) => return Err(VerifyError::Mismatch),
                Err(HostArgsError::NotHostAlgorithm) => {}
            }
        }
        GuestVerifier.verify(alg, key, jws)
    }
}
