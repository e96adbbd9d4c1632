//! The development certificate: `falconet dev-certs` creates a self-signed certificate
//! for `localhost`, `127.0.0.1` and `::1` (rcgen) in a per-user data directory.
//!
//! OWNED BY THE CERTS HELPER: the signatures below are the interface; fill in the bodies.

use std::path::PathBuf;

use super::CertificateSource;

/// The per-user directory of the development certificate:
/// `$XDG_DATA_HOME/falconet/dev-certs`, else `$HOME/.local/share/falconet/dev-certs`.
pub fn dev_cert_dir() -> Option<PathBuf> {
    todo!("certs helper")
}

/// The development certificate, when `falconet dev-certs` has created one (and it has not
/// expired).
pub fn dev_certificate() -> Option<CertificateSource> {
    todo!("certs helper")
}

/// Runs `falconet dev-certs [--check] [--clean] [--force] [--trust]` with the arguments
/// after `dev-certs`; prints what it did and returns the process exit code.
pub fn run_dev_certs_command(args: &[String]) -> i32 {
    let _ = args;
    todo!("certs helper")
}
