//! Loading server certificates and keys (PEM chains with PKCS#8, PKCS#1 or SEC1 keys,
//! encrypted PKCS#8 with a password, PKCS#12/PFX behind the `tls-pkcs12` feature), the
//! checks Kestrel makes at startup (key matches certificate, EKU allows serverAuth), and
//! CA bundles for client-certificate validation.
//!
//! OWNED BY THE CERTS HELPER: the signatures below are the interface; fill in the bodies.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::sign::CertifiedKey;
use rustls_pki_types::CertificateDer;

use crate::Error;

/// Where a certificate comes from: files on disk (Kestrel's `CertificateConfig`).
///
/// - `path` + `key_path`: a PEM certificate chain and a PEM key (PKCS#8, PKCS#1 or SEC1;
///   an encrypted PKCS#8 key needs `password`).
/// - `path` + `password` without `key_path`: a PKCS#12/PFX file (feature `tls-pkcs12`).
/// - `path` alone: a PEM file holding both the chain and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateSource {
    /// The certificate chain (PEM) or PKCS#12 file.
    pub path: PathBuf,
    /// The private key (PEM). Default: `None`.
    pub key_path: Option<PathBuf>,
    /// Password of an encrypted PKCS#8 key or of a PKCS#12 file. Default: `None`.
    pub password: Option<String>,
}

impl CertificateSource {
    /// A PEM certificate chain and a PEM key file.
    pub fn pem(path: impl Into<PathBuf>, key_path: impl Into<PathBuf>) -> Self {
        CertificateSource {
            path: path.into(),
            key_path: Some(key_path.into()),
            password: None,
        }
    }

    /// A PKCS#12/PFX file and its password.
    pub fn pkcs12(path: impl Into<PathBuf>, password: impl Into<String>) -> Self {
        CertificateSource {
            path: path.into(),
            key_path: None,
            password: Some(password.into()),
        }
    }

    /// The same source with a password (for an encrypted PKCS#8 key).
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }
}

/// A server certificate chain with its private key, ready for handshakes.
#[derive(Clone)]
pub struct Certificate {
    pub(crate) key: Arc<CertifiedKey>,
    pub(crate) source: Option<CertificateSource>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("chain_len", &self.key.cert.len())
            .field("source", &self.source)
            .finish()
    }
}

impl Certificate {
    /// Loads a certificate from files. Errors name the file and say what is wrong
    /// (missing file, wrong password, key that does not match the certificate, a
    /// certificate whose Extended Key Usage excludes serverAuth).
    pub fn load(source: &CertificateSource) -> Result<Certificate, Error> {
        let _ = source;
        todo!("certs helper")
    }

    /// A certificate from a PEM chain and a PEM key in memory.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Certificate, Error> {
        let _ = (chain_pem, key_pem);
        todo!("certs helper")
    }

    /// The certificate chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.key.cert
    }

    /// The files this certificate was loaded from, if any (watched for rotation).
    pub fn source(&self) -> Option<&CertificateSource> {
        self.source.as_ref()
    }
}

/// Loads `source` for the endpoint named `endpoint`: the same as [`Certificate::load`], with
/// the endpoint's name in the error message (`The certificate of endpoint "Https" ...`).
pub(crate) fn load_for_endpoint(
    source: &CertificateSource,
    endpoint: &str,
) -> Result<Certificate, Error> {
    let _ = (source, endpoint);
    todo!("certs helper")
}

/// Reads a PEM bundle of CA certificates for client-certificate validation; errors name
/// the endpoint and the file.
pub(crate) fn load_ca_bundle(
    path: &Path,
    endpoint: &str,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let _ = (path, endpoint);
    todo!("certs helper")
}
