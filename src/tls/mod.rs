//! HTTPS: certificates, SNI, client certificates, handshakes on workers.

pub mod certs;
#[cfg(feature = "dev-certs")]
pub mod devcert;

pub use certs::{Certificate, CertificateSource};
