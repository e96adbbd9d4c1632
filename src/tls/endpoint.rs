//! One HTTPS endpoint's TLS setup, built at startup: a rustls `ServerConfig` per SNI entry
//! (each with its own certificate, TLS versions, ALPN list and client-certificate rule) and
//! the rule that picks one from the client's server name.
//!
//! The configs are built once; certificates inside them can change at run time (see
//! [`super::reload`]) because each config resolves its certificate through a
//! [`reload::CertSlot`](super::reload::CertSlot).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, UnixTime};

use super::reload::CertSlot;
use super::{
    certs, ClientCertificateMode, ClientCertificateValidator, HttpsOptions, TlsFilter, TlsVersion,
    DEFAULT_HANDSHAKE_TIMEOUT,
};
use crate::options::{EndpointOptions, Protocols, ServerOptions};
use crate::Error;

/// The TLS side of one HTTPS endpoint.
pub(crate) struct TlsEndpoint {
    /// The config for clients when no SNI entries are configured.
    default: Option<Arc<Configs>>,
    exact: HashMap<String, Arc<Configs>>,
    /// `(".example.org", config)`, longest suffix first.
    wildcards: Vec<(String, Arc<Configs>)>,
    any: Option<Arc<Configs>>,
    pub(crate) filter: Option<TlsFilter>,
    pub(crate) handshake_timeout: Duration,
    /// Certificates loaded from files, for the rotation watcher.
    pub(crate) slots: Vec<Arc<CertSlot>>,
}

impl std::fmt::Debug for TlsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsEndpoint")
            .field("sni_exact", &self.exact.keys().collect::<Vec<_>>())
            .field("handshake_timeout", &self.handshake_timeout)
            .finish()
    }
}

/// The rustls configs of one certificate setup, one per cipher suite policy.
///
/// The server picks the cipher suite (as Go's TLS server does): AES-128-GCM first, then
/// AES-256-GCM, then ChaCha20-Poly1305, each protocol version alike; AES-128-GCM is as
/// strong as a TLS suite needs and its SHA-256 key schedule runs on the CPU's SHA
/// instructions where AES-256-GCM's SHA-384 does not, which makes a handshake cheaper. A
/// client that puts ChaCha20-Poly1305 first (one without AES instructions, as many small
/// ARM devices) gets its own order instead.
pub(crate) struct Configs {
    server_order: Arc<ServerConfig>,
    client_order: Arc<ServerConfig>,
}

impl Configs {
    fn new(cfg: ServerConfig) -> Configs {
        let mut ours = cfg.clone();
        ours.ignore_client_order = true;
        let mut theirs = cfg;
        theirs.ignore_client_order = false;
        Configs {
            server_order: Arc::new(ours),
            client_order: Arc::new(theirs),
        }
    }

    /// The config for a client offering `suites` in its order of preference.
    pub(crate) fn pick(&self, suites: &[rustls::CipherSuite]) -> Arc<ServerConfig> {
        use rustls::CipherSuite as S;
        let chacha_first = matches!(
            suites.first(),
            Some(S::TLS13_CHACHA20_POLY1305_SHA256)
                | Some(S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
                | Some(S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256)
        );
        if chacha_first {
            self.client_order.clone()
        } else {
            self.server_order.clone()
        }
    }
}

/// The ring provider with the server's cipher suite preference (see [`Configs`]).
fn provider() -> CryptoProvider {
    let mut p = rustls::crypto::ring::default_provider();
    let rank = |s: &rustls::SupportedCipherSuite| {
        use rustls::CipherSuite as S;
        match s.suite() {
            S::TLS13_AES_128_GCM_SHA256 => 0,
            S::TLS13_AES_256_GCM_SHA384 => 1,
            S::TLS13_CHACHA20_POLY1305_SHA256 => 2,
            S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            | S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 3,
            S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
            | S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => 4,
            _ => 5,
        }
    };
    crate::small_sort::sort_by_key(&mut p.cipher_suites, rank);
    p
}

/// The ALPN protocols offered for an endpoint's `Protocols`.
/// The ALPN protocols offered for an endpoint's `Protocols`: `h2` first, then
/// `http/1.1`, as Kestrel offers them.
fn alpn_for(p: Protocols) -> Vec<Vec<u8>> {
    let h2 = cfg!(feature = "http2");
    match p {
        Protocols::Http2 if h2 => vec![b"h2".to_vec()],
        Protocols::Http1AndHttp2 if h2 => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        _ => vec![b"http/1.1".to_vec()],
    }
}

fn versions(v: &[TlsVersion]) -> Vec<&'static rustls::SupportedProtocolVersion> {
    let mut out = Vec::new();
    if v.contains(&TlsVersion::Tls13) {
        out.push(&rustls::version::TLS13);
    }
    if v.contains(&TlsVersion::Tls12) {
        out.push(&rustls::version::TLS12);
    }
    out
}

/// Resolves the certificate of a config: a watched file slot, a fixed in-memory
/// certificate, or the code's selector.
#[derive(Debug)]
enum Resolver {
    Slot(Arc<CertSlot>),
    Fixed(Arc<CertifiedKey>),
    Selector(SelectorResolver),
}

struct SelectorResolver(super::CertificateSelector);

impl std::fmt::Debug for SelectorResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CertificateSelector")
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        match self {
            Resolver::Slot(s) => Some(s.current()),
            Resolver::Fixed(k) => Some(k.clone()),
            Resolver::Selector(SelectorResolver(f)) => {
                let name = hello.server_name();
                let r = f(name).map(|c| c.key);
                if r.is_none() {
                    log::debug!(
                        "TLS handshake refused: the certificate selector returned no certificate \
                         for server name {name:?}"
                    );
                }
                r
            }
        }
    }
}

/// Validates client certificates with a CA bundle, a callback, or both.
struct ClientVerifier {
    webpki: Option<Arc<dyn ClientCertVerifier>>,
    callback: Option<ClientCertificateValidator>,
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl std::fmt::Debug for ClientVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientVerifier")
            .field("ca", &self.webpki.is_some())
            .field("callback", &self.callback.is_some())
            .field("mandatory", &self.mandatory)
            .finish()
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        match &self.webpki {
            Some(w) => w.root_hint_subjects(),
            None => &[],
        }
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if let Some(w) = &self.webpki {
            w.verify_client_cert(end_entity, intermediates, now)?;
        }
        if let Some(cb) = &self.callback {
            let mut chain = Vec::with_capacity(1 + intermediates.len());
            chain.push(end_entity.clone().into_owned());
            chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
            if !cb(&chain) {
                return Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ApplicationVerificationFailure,
                ));
            }
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Settings shared by the endpoint and its SNI entries, after defaults are applied.
struct Base {
    versions: Vec<TlsVersion>,
    mode: ClientCertificateMode,
    protocols: Protocols,
    /// An SNI entry's own client CA bundle; `None`: the endpoint's.
    ca: Option<Arc<RootCertStore>>,
}

struct Builder<'a> {
    name: &'a str,
    provider: Arc<CryptoProvider>,
    https: &'a HttpsOptions,
    /// The endpoint's client CA bundle (its own or the server-wide default).
    ca: Option<Arc<RootCertStore>>,
    /// The system trust store, loaded the first time a config of this endpoint needs it.
    system: Option<Arc<RootCertStore>>,
    slots: Vec<Arc<CertSlot>>,
}

/// Reads a client CA bundle into a root store; errors name the endpoint and the file.
fn load_roots(path: &std::path::Path, name: &str) -> Result<Arc<RootCertStore>, Error> {
    let mut roots = RootCertStore::empty();
    for c in certs::load_ca_bundle(path, name)? {
        roots.add(c).map_err(|e| {
            Error::config(format!(
                "The endpoint '{name}': a certificate in the client CA bundle '{}' cannot be \
                 used: {e}",
                path.display()
            ))
        })?;
    }
    Ok(Arc::new(roots))
}

impl Builder<'_> {
    /// The client certificate verifier for `mode`, checking chains against `ca` (an SNI
    /// entry's bundle, else the endpoint's), else with the code's callback alone, else
    /// against the system trust store, as Kestrel does.
    fn verifier(
        &mut self,
        mode: ClientCertificateMode,
        path: &str,
        ca: Option<Arc<RootCertStore>>,
    ) -> Result<Option<Arc<dyn ClientCertVerifier>>, Error> {
        if mode == ClientCertificateMode::NoCertificate {
            return Ok(None);
        }
        let callback = self.https.client_certificate_validation.clone();
        let ca = match ca.or_else(|| self.ca.clone()) {
            Some(ca) => Some(ca),
            None if callback.is_some() => None,
            None => Some(self.system_roots(path, mode)?),
        };
        let mandatory = mode == ClientCertificateMode::RequireCertificate;
        let webpki = match &ca {
            Some(roots) => {
                let mut b = WebPkiClientVerifier::builder_with_provider(
                    roots.clone(),
                    self.provider.clone(),
                );
                if !mandatory {
                    b = b.allow_unauthenticated();
                }
                Some(b.build().map_err(|e| {
                    Error::config(format!(
                        "The endpoint '{}': cannot use its client certificate CA bundle: {e}",
                        self.name
                    ))
                })?)
            }
            None => None,
        };
        Ok(Some(Arc::new(ClientVerifier {
            webpki,
            callback,
            mandatory,
            algorithms: self.provider.signature_verification_algorithms,
        })))
    }

    /// The system trust store, loaded (and logged) once per endpoint.
    fn system_roots(
        &mut self,
        path: &str,
        mode: ClientCertificateMode,
    ) -> Result<Arc<RootCertStore>, Error> {
        if let Some(roots) = &self.system {
            return Ok(roots.clone());
        }
        let store = super::trust_store::load(|k| std::env::var_os(k)).map_err(|e| {
            Error::config(format!(
                "The endpoint '{}' asks for client certificates ({path}: {mode:?}) without a \
                 CA bundle, so they are validated against the system trust store, but {e}. Set \
                 ClientCertificateCA to a PEM bundle of trusted CAs (config file) or \
                 HttpsOptions::client_certificate_validation (code)",
                self.name
            ))
        })?;
        log::info!(
            "Endpoint '{}' validates client certificates against the system trust store: {} \
             ({} CA certificates)",
            self.name,
            store.description,
            store.roots.len()
        );
        let roots = Arc::new(store.roots);
        self.system = Some(roots.clone());
        Ok(roots)
    }

    fn config(
        &mut self,
        base: &Base,
        resolver: Arc<dyn ResolvesServerCert>,
        path: &str,
    ) -> Result<Arc<Configs>, Error> {
        if base.versions.is_empty() {
            return Err(Error::config(format!(
                "The endpoint '{}' allows no TLS version ({path}:SslProtocols is empty); use \
                 [\"Tls12\", \"Tls13\"]",
                self.name
            )));
        }
        let builder = ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&versions(&base.versions))
            .map_err(|e| {
                Error::config(format!(
                    "The endpoint '{}': TLS setup failed: {e}",
                    self.name
                ))
            })?;
        let builder = match self.verifier(base.mode, path, base.ca.clone())? {
            Some(v) => builder.with_client_cert_verifier(v),
            None => builder.with_no_client_auth(),
        };
        let mut cfg = builder.with_cert_resolver(resolver);
        cfg.alpn_protocols = alpn_for(base.protocols);
        Ok(Arc::new(Configs::new(cfg)))
    }

    fn slot(&mut self, source: &super::CertificateSource) -> Result<Arc<CertSlot>, Error> {
        let slot = Arc::new(CertSlot::load(self.name, source.clone())?);
        self.slots.push(slot.clone());
        Ok(slot)
    }
}

impl TlsEndpoint {
    /// Builds the TLS setup of `ep` (named `name` in messages), applying the server-wide
    /// defaults. Every certificate error is a startup error naming the endpoint and file.
    pub(crate) fn build(
        ep: &EndpointOptions,
        name: &str,
        server: &ServerOptions,
    ) -> Result<TlsEndpoint, Error> {
        let https = &ep.https;
        let defaults = &server.https_defaults;
        let path = match &ep.name {
            Some(n) => format!("Kestrel:Endpoints:{n}"),
            None => "HttpsOptions".to_string(),
        };
        let provider = Arc::new(provider());
        let ca_path = https
            .client_certificate_ca
            .as_ref()
            .or(defaults.client_certificate_ca.as_ref());
        let ca = ca_path.map(|p| load_roots(p, name)).transpose()?;
        let mut b = Builder {
            name,
            provider,
            https,
            ca,
            system: None,
            slots: Vec::new(),
        };
        let base = Base {
            versions: https
                .ssl_protocols
                .clone()
                .or_else(|| defaults.ssl_protocols.clone())
                .unwrap_or_else(|| vec![TlsVersion::Tls12, TlsVersion::Tls13]),
            mode: https
                .client_certificate_mode
                .or(defaults.client_certificate_mode)
                .unwrap_or_default(),
            protocols: ep.protocols,
            ca: None,
        };

        // The endpoint's own certificate, in precedence order.
        let own: Option<Arc<dyn ResolvesServerCert>> =
            if let Some(sel) = &https.certificate_selector {
                Some(Arc::new(Resolver::Selector(SelectorResolver(sel.clone()))))
            } else if let Some(c) = &https.server_certificate {
                Some(Arc::new(Resolver::Fixed(c.key.clone())))
            } else if let Some(src) = https
                .certificate
                .as_ref()
                .or(server.default_certificate.as_ref())
            {
                Some(Arc::new(Resolver::Slot(b.slot(src)?)))
            } else {
                dev_certificate()
                    .map(|src| -> Result<Arc<dyn ResolvesServerCert>, Error> {
                        log::info!(
                            "Endpoint '{name}' uses the development certificate {}",
                            src.path.display()
                        );
                        Ok(Arc::new(Resolver::Slot(b.slot(&src)?)))
                    })
                    .transpose()?
            };
        let missing = || {
            Error::config(format!(
                "Unable to configure HTTPS endpoint '{name}': no server certificate was specified \
                 and the default development certificate could not be found. Set \
                 {path}:Certificate (Path and KeyPath) or Kestrel:Certificates:Default in the \
                 config file, give HttpsOptions a certificate in code, or create a development \
                 certificate with `falconet dev-certs`."
            ))
        };

        let mut ep_tls = TlsEndpoint {
            default: None,
            exact: HashMap::new(),
            wildcards: Vec::new(),
            any: None,
            filter: https
                .on_authenticate
                .clone()
                .or_else(|| defaults.on_authenticate.clone()),
            handshake_timeout: https
                .handshake_timeout
                .or(defaults.handshake_timeout)
                .unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT),
            slots: Vec::new(),
        };
        if https.sni.is_empty() {
            let resolver = own.ok_or_else(missing)?;
            ep_tls.default = Some(b.config(&base, resolver, &path)?);
        } else {
            for (key, sni) in &https.sni {
                let p = format!("{path}:Sni:{key}");
                let resolver: Arc<dyn ResolvesServerCert> = match &sni.certificate {
                    Some(src) => Arc::new(Resolver::Slot(b.slot(src)?)),
                    None => own.clone().ok_or_else(missing)?,
                };
                let entry_base = Base {
                    versions: sni
                        .ssl_protocols
                        .clone()
                        .unwrap_or_else(|| base.versions.clone()),
                    mode: sni.client_certificate_mode.unwrap_or(base.mode),
                    protocols: sni.protocols.unwrap_or(base.protocols),
                    ca: sni
                        .client_certificate_ca
                        .as_deref()
                        .map(|p| load_roots(p, name))
                        .transpose()?,
                };
                let cfg = b.config(&entry_base, resolver, &p)?;
                let key = key.trim().to_ascii_lowercase();
                if key == "*" {
                    ep_tls.any = Some(cfg);
                } else if let Some(suffix) = key.strip_prefix('*') {
                    if !suffix.starts_with('.') || suffix.contains('*') {
                        return Err(Error::config(format!(
                            "{p}: invalid server name pattern '{key}': use an exact name, \
                             '*.example.org' or '*'"
                        )));
                    }
                    ep_tls.wildcards.push((suffix.to_string(), cfg));
                } else if key.contains('*') || key.is_empty() {
                    return Err(Error::config(format!(
                        "{p}: invalid server name pattern '{key}': use an exact name, \
                         '*.example.org' or '*'"
                    )));
                } else {
                    ep_tls.exact.insert(key, cfg);
                }
            }
            crate::small_sort::sort_by_key(&mut ep_tls.wildcards, |w| std::cmp::Reverse(w.0.len()));
        }
        ep_tls.slots = b.slots;
        Ok(ep_tls)
    }

    /// The config for a client that asked for `server_name`; `None` refuses the handshake
    /// (SNI entries are configured and none matches).
    pub(crate) fn select(&self, server_name: Option<&str>) -> Option<Arc<Configs>> {
        if let Some(d) = &self.default {
            return Some(d.clone());
        }
        if let Some(name) = server_name {
            let name = name.to_ascii_lowercase();
            if let Some(c) = self.exact.get(&name) {
                return Some(c.clone());
            }
            for (suffix, c) in &self.wildcards {
                if name.len() > suffix.len() && name.ends_with(suffix.as_str()) {
                    return Some(c.clone());
                }
            }
        }
        self.any.clone()
    }
}

#[cfg(feature = "dev-certs")]
fn dev_certificate() -> Option<super::CertificateSource> {
    super::devcert::dev_certificate()
}

#[cfg(not(feature = "dev-certs"))]
fn dev_certificate() -> Option<super::CertificateSource> {
    None
}
