//! HTTPS with rustls: certificates, SNI, client certificates and the TLS handshake, run
//! on a worker under [`HttpsOptions::handshake_timeout`] and parked in the poller while the
//! client is slow, like any other read.
//!
//! The options follow Kestrel's `HttpsConnectionAdapterOptions` and its configuration
//! schema (`Certificate`, `Sni`, `SslProtocols`, `ClientCertificateMode`).

pub mod certs;
mod der;
#[cfg(feature = "dev-certs")]
pub mod devcert;
pub(crate) mod endpoint;
mod pbe;
#[cfg(feature = "tls-pkcs12")]
mod pkcs12;
pub(crate) mod reload;
pub(crate) mod trust_store;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[cfg(fuzzing)]
pub(crate) use certs::{fuzz_load, fuzz_x509};
pub use certs::{Certificate, CertificateSource};

/// `pbe::decrypt_private_key_info` for `crate::fuzzing`.
#[cfg(fuzzing)]
pub(crate) fn fuzz_decrypt_private_key_info(der: &[u8], password: &str) -> Result<Vec<u8>, String> {
    pbe::decrypt_private_key_info(der, password).map_err(|e| format!("{e:?}"))
}

/// `pbe::pem_contents` for `crate::fuzzing`.
#[cfg(fuzzing)]
pub(crate) fn fuzz_pem_contents(block: &[u8]) -> Option<Vec<u8>> {
    pbe::pem_contents(block)
}

/// `pkcs12::read` for `crate::fuzzing`.
#[cfg(all(fuzzing, feature = "tls-pkcs12"))]
pub(crate) fn fuzz_read_pkcs12(
    bytes: &[u8],
    password: &str,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), String> {
    pkcs12::read(bytes, password)
        .map(|c| (c.key, c.chain))
        .map_err(|e| format!("{e:?}"))
}
pub use rustls_pki_types::CertificateDer;

use crate::options::Protocols;
use crate::request::ConnectionInfo;

/// A TLS protocol version (Kestrel's `SslProtocols`). TLS 1.0 and 1.1 are not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        })
    }
}

/// Whether clients are asked for a certificate (Kestrel's `ClientCertificateMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientCertificateMode {
    /// No client certificate is requested. The default.
    #[default]
    NoCertificate,
    /// A certificate is requested; a client without one is still served, a client with
    /// one that fails validation is refused.
    AllowCertificate,
    /// A valid client certificate is required; the handshake fails without one.
    RequireCertificate,
}

/// Picks the certificate for a handshake from the client's server name (SNI), which is
/// `None` when the client sent none (Kestrel's `ServerCertificateSelector`). Returning
/// `None` refuses the handshake.
pub type CertificateSelector = Arc<dyn Fn(Option<&str>) -> Option<Certificate> + Send + Sync>;

/// Validates a client's certificate chain (leaf first) in code (Kestrel's
/// `ClientCertificateValidation`). It runs after the CA bundle's check when one is
/// configured, and instead of it otherwise (the system trust store is then not used).
/// `true` accepts the certificate.
pub type ClientCertificateValidator = Arc<dyn Fn(&[CertificateDer<'static>]) -> bool + Send + Sync>;

/// Runs after every successful handshake, before any request is read (Kestrel's
/// `OnAuthenticate` / TLS connection filter). `Err(reason)` closes the connection and logs
/// the reason at info.
pub type TlsFilter = Arc<dyn Fn(&TlsInfo, &ConnectionInfo) -> Result<(), String> + Send + Sync>;

/// What a TLS handshake negotiated; handlers find it in
/// [`ConnectionInfo::tls`](crate::ConnectionInfo::tls).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The protocol version.
    pub version: TlsVersion,
    /// The cipher suite's IANA name, e.g. `TLS13_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    /// The ALPN protocol chosen, e.g. `http/1.1`; `None` when the client offered none.
    pub alpn: Option<String>,
    /// The server name the client asked for (SNI), if it sent one.
    pub server_name: Option<String>,
    /// The client's certificate chain, leaf first; empty when it sent none.
    pub client_certificates: Vec<CertificateDer<'static>>,
}

/// Per-server-name settings of an HTTPS endpoint (Kestrel's `Sni` section). Unset fields
/// fall back to the endpoint's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SniOptions {
    /// The certificate for this name. Default: the endpoint's.
    pub certificate: Option<CertificateSource>,
    /// HTTP versions offered through ALPN for this name. Default: the endpoint's.
    pub protocols: Option<Protocols>,
    /// TLS versions for this name. Default: the endpoint's.
    pub ssl_protocols: Option<Vec<TlsVersion>>,
    /// Client certificate mode for this name. Default: the endpoint's.
    pub client_certificate_mode: Option<ClientCertificateMode>,
    /// A PEM bundle of CAs that client certificates for this name must chain to (the
    /// config file's `Sni:<name>:ClientCertificateCA`, a falconet key). Default: the
    /// endpoint's.
    pub client_certificate_ca: Option<PathBuf>,
}

/// HTTPS settings of an endpoint (Kestrel's `HttpsConnectionAdapterOptions`), also used
/// as the server-wide defaults ([`ServerOptions::https_defaults`](crate::ServerOptions)).
///
/// Certificate precedence for a handshake: the [`sni`](Self::sni) entry matching the
/// client's server name, then [`certificate_selector`](Self::certificate_selector), then
/// [`server_certificate`](Self::server_certificate), then [`certificate`](Self::certificate),
/// then [`ServerOptions::default_certificate`](crate::ServerOptions) (`Certificates:Default`),
/// then the development certificate (`falconet dev-certs`).
#[derive(Clone, Default)]
pub struct HttpsOptions {
    /// Certificate files (the config file's `Certificate`). Watched: when they change, new
    /// handshakes use the new certificate. Default: `None`.
    pub certificate: Option<CertificateSource>,
    /// A certificate loaded in code (Kestrel's `ServerCertificate`). Default: `None`.
    pub server_certificate: Option<Certificate>,
    /// Picks a certificate per handshake from the server name. Default: `None`.
    pub certificate_selector: Option<CertificateSelector>,
    /// Per-server-name settings (the config file's `Sni`): keys are exact names
    /// (`a.example.org`), wildcards (`*.example.org`, the longest wins) or `*`, which also
    /// catches clients that send no server name. An exact name beats a wildcard. With
    /// entries present, a client whose name matches none is refused. Default: empty.
    pub sni: Vec<(String, SniOptions)>,
    /// TLS versions allowed. Default: `None`: the server-wide default, else TLS 1.2 and 1.3.
    pub ssl_protocols: Option<Vec<TlsVersion>>,
    /// Whether client certificates are requested. Default: `None`: the server-wide default,
    /// else [`ClientCertificateMode::NoCertificate`].
    pub client_certificate_mode: Option<ClientCertificateMode>,
    /// A PEM bundle of CAs that client certificates must chain to (the config file's
    /// `ClientCertificateCA`, a falconet key). Default: `None`: the server-wide default,
    /// else, unless [`client_certificate_validation`](Self::client_certificate_validation)
    /// is set, the system's trust store as in Kestrel (`SSL_CERT_FILE` / `SSL_CERT_DIR`
    /// when set, else the distribution's CA bundle such as
    /// `/etc/ssl/certs/ca-certificates.crt`, else `/etc/ssl/certs`; the one used is logged
    /// at info).
    pub client_certificate_ca: Option<PathBuf>,
    /// Validates client certificates in code. Default: `None`.
    pub client_certificate_validation: Option<ClientCertificateValidator>,
    /// Sees each completed handshake and may refuse it. Default: `None`.
    pub on_authenticate: Option<TlsFilter>,
    /// How long a client has to complete the handshake. Default: `None`: the server-wide
    /// default, else 10 s (Kestrel's HandshakeTimeout).
    pub handshake_timeout: Option<Duration>,
}

/// The handshake timeout when none is configured: 10 s, as in Kestrel.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl HttpsOptions {
    /// HTTPS options that serve `certificate`.
    pub fn with_certificate(certificate: Certificate) -> Self {
        HttpsOptions {
            server_certificate: Some(certificate),
            ..Default::default()
        }
    }

    /// Whether any certificate-related setting is present (an `http` endpoint with one is
    /// a startup error, as in Kestrel).
    pub(crate) fn has_settings(&self) -> bool {
        self.certificate.is_some()
            || self.server_certificate.is_some()
            || self.certificate_selector.is_some()
            || !self.sni.is_empty()
            || self.ssl_protocols.is_some()
            || self.client_certificate_mode.is_some()
            || self.client_certificate_ca.is_some()
            || self.client_certificate_validation.is_some()
            || self.on_authenticate.is_some()
            || self.handshake_timeout.is_some()
    }
}

fn same_arc<T: ?Sized>(a: &Option<Arc<T>>, b: &Option<Arc<T>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}

impl PartialEq for HttpsOptions {
    /// Data fields compare by value; certificates and callbacks by identity.
    fn eq(&self, o: &Self) -> bool {
        self.certificate == o.certificate
            && match (&self.server_certificate, &o.server_certificate) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(&a.key, &b.key),
                _ => false,
            }
            && same_arc(&self.certificate_selector, &o.certificate_selector)
            && self.sni == o.sni
            && self.ssl_protocols == o.ssl_protocols
            && self.client_certificate_mode == o.client_certificate_mode
            && self.client_certificate_ca == o.client_certificate_ca
            && same_arc(
                &self.client_certificate_validation,
                &o.client_certificate_validation,
            )
            && same_arc(&self.on_authenticate, &o.on_authenticate)
            && self.handshake_timeout == o.handshake_timeout
    }
}

impl Eq for HttpsOptions {}

impl fmt::Debug for HttpsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpsOptions")
            .field("certificate", &self.certificate)
            .field("server_certificate", &self.server_certificate)
            .field("certificate_selector", &self.certificate_selector.is_some())
            .field("sni", &self.sni)
            .field("ssl_protocols", &self.ssl_protocols)
            .field("client_certificate_mode", &self.client_certificate_mode)
            .field("client_certificate_ca", &self.client_certificate_ca)
            .field(
                "client_certificate_validation",
                &self.client_certificate_validation.is_some(),
            )
            .field("on_authenticate", &self.on_authenticate.is_some())
            .field("handshake_timeout", &self.handshake_timeout)
            .finish()
    }
}
