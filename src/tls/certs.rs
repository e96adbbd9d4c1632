//! Loading server certificates and keys (PEM chains with PKCS#8, PKCS#1 or SEC1 keys,
//! encrypted PKCS#8 with a password, PKCS#12/PFX with the default `tls-pkcs12` feature), the
//! checks Kestrel makes at startup (key matches certificate, EKU allows serverAuth), and
//! CA bundles for client-certificate validation.
//!
//! Which format a file is in is decided by its content, not its name: a file holding
//! `-----BEGIN ` is PEM; any other file given without a key file is read as PKCS#12.
//! Every failure is a startup error whose message names the file and says what to do.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::sign::{CertifiedKey, SigningKey};
use rustls::InconsistentKeys;
use rustls_pki_types::pem::{self, PemObject, SectionKind};
use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};

use crate::Error;

/// Where a certificate comes from: files on disk (Kestrel's `CertificateConfig`).
///
/// - `path` + `key_path`: a PEM certificate chain and a PEM key (PKCS#8, PKCS#1 or SEC1;
///   an encrypted PKCS#8 key needs `password`).
/// - `path` + `password` without `key_path`: a PKCS#12/PFX file (feature `tls-pkcs12`, on
///   by default).
/// - `path` alone: a PEM file holding both the chain and the key.
///
/// Without `key_path`, the file's content decides: a PEM file holds the chain and the key
/// (an encrypted key takes `password`), anything else is read as PKCS#12 (with an empty
/// password when `password` is `None`).
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
        load_source(source).map_err(|problem| {
            Error::config(format!(
                "The certificate \"{}\" could not be loaded: {problem}",
                source.path.display()
            ))
        })
    }

    /// A certificate from a PEM chain and a PEM key in memory.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Certificate, Error> {
        let certificate = || -> Result<Certificate, Problem> {
            let chain = read_chain(chain_pem, Origin::ChainPem)?;
            let key = read_key(key_pem, Origin::KeyPem, None)?;
            let key = certify(chain, key, Origin::KeyPem)?;
            Ok(Certificate { key, source: None })
        };
        certificate().map_err(|problem| {
            Error::config(format!(
                "The PEM certificate could not be loaded: {problem}"
            ))
        })
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
// Called by the server's endpoint setup, which lands separately.
pub(crate) fn load_for_endpoint(
    source: &CertificateSource,
    endpoint: &str,
) -> Result<Certificate, Error> {
    load_source(source).map_err(|problem| {
        Error::config(format!(
            "The certificate of endpoint \"{endpoint}\" could not be loaded from \"{}\": {problem}",
            source.path.display()
        ))
    })
}

/// Reads a PEM bundle of CA certificates for client-certificate validation; errors name
/// the endpoint and the file.
// Called by the server's endpoint setup, which lands separately.
pub(crate) fn load_ca_bundle(
    path: &Path,
    endpoint: &str,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let fail = |reason: String| {
        Error::config(format!(
            "The client CA certificates of endpoint \"{endpoint}\" could not be loaded from \"{}\": {reason}",
            path.display()
        ))
    };
    let bytes =
        std::fs::read(path).map_err(|e| fail(format!("the file could not be read: {e}")))?;
    let certs = read_chain(&bytes, Origin::File).map_err(|p| fail(p.to_string()))?;
    // Each certificate must be usable as a trust anchor; say which one is not.
    for (i, cert) in certs.iter().enumerate() {
        if let Err(e) = rustls::RootCertStore::empty().add(cert.clone()) {
            return Err(fail(format!(
                "certificate #{} of the file is not a valid CA certificate: {e}",
                i + 1
            )));
        }
    }
    Ok(certs)
}

/// Where a certificate or key was read from, as the error message names it. The
/// certificate file's path is already in the message's first half, so it is "the file".
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    /// The certificate file (`path`), which may also hold the key.
    File,
    /// The key file (`key_path`).
    KeyFile(PathBuf),
    /// The chain given to [`Certificate::from_pem`].
    ChainPem,
    /// The key given to [`Certificate::from_pem`].
    KeyPem,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File => f.write_str("the file"),
            Origin::KeyFile(path) => write!(f, "the key file \"{}\"", path.display()),
            Origin::ChainPem => f.write_str("the certificate PEM"),
            Origin::KeyPem => f.write_str("the key PEM"),
        }
    }
}

/// Why a certificate could not be loaded: the second half of the error message.
#[derive(Debug)]
enum Problem {
    Read(Origin, io::Error),
    Pem(Origin, pem::Error),
    /// No certificate; `true` if the input is not PEM at all.
    NoCertificate(Origin, bool),
    /// No key; `true` if the input is not PEM at all.
    NoKey(Origin, bool),
    LegacyEncryptedKey(Origin),
    PasswordRequired(Origin),
    WrongPassword(Origin),
    BadEncryptedKey(Origin, String),
    UnusableKey(Origin, String),
    KeyMismatch {
        key: Origin,
        /// The 1-based position in the chain of a certificate the key does match.
        matches_chain_entry: Option<usize>,
    },
    MalformedCertificate(String),
    NotForServerAuth,
    #[cfg_attr(feature = "tls-pkcs12", allow(dead_code))]
    Pkcs12Unavailable,
    #[cfg_attr(not(feature = "tls-pkcs12"), allow(dead_code))]
    Pkcs12WrongPassword,
    #[cfg_attr(not(feature = "tls-pkcs12"), allow(dead_code))]
    Pkcs12(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Read(origin, e) => write!(f, "{origin} could not be read: {e}"),
            Problem::Pem(origin, e) => {
                write!(f, "{origin} is not valid PEM: ")?;
                match e {
                    pem::Error::MissingSectionEnd { end_marker } => write!(
                        f,
                        "a block has no \"-----END {}-----\" line",
                        String::from_utf8_lossy(end_marker)
                    ),
                    pem::Error::IllegalSectionStart { line } => write!(
                        f,
                        "\"{}\" is not a valid BEGIN line",
                        String::from_utf8_lossy(line).trim_end()
                    ),
                    pem::Error::Base64Decode(detail) => {
                        write!(f, "a block is not valid base64 ({detail})")
                    }
                    e => write!(f, "{e}"),
                }
            }
            Problem::NoCertificate(origin, not_pem) => {
                write!(
                    f,
                    "{origin} holds no certificate (no \"-----BEGIN CERTIFICATE-----\" block)"
                )?;
                if *not_pem {
                    f.write_str(
                        "; it is not PEM: convert a DER certificate with \
                         `openssl x509 -inform DER -in FILE.der -out FILE.pem`",
                    )?;
                }
                Ok(())
            }
            Problem::NoKey(origin, not_pem) => {
                write!(
                    f,
                    "{origin} holds no private key (no \"-----BEGIN PRIVATE KEY-----\", \
                     \"RSA PRIVATE KEY\", \"EC PRIVATE KEY\" or \"ENCRYPTED PRIVATE KEY\" block)"
                )?;
                if *not_pem {
                    f.write_str(
                        "; it is not PEM: convert a DER key with \
                         `openssl pkey -inform DER -in KEY.der -out KEY.pem`",
                    )?;
                } else if *origin == Origin::File {
                    f.write_str("; give the key's file as the certificate's key path (KeyPath)")?;
                }
                Ok(())
            }
            Problem::LegacyEncryptedKey(origin) => write!(
                f,
                "the private key in {origin} is encrypted in OpenSSL's legacy format \
                 (\"Proc-Type: 4,ENCRYPTED\"), which is not supported; convert it to encrypted \
                 PKCS#8 with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in OLD.key -out NEW.key`"
            ),
            Problem::PasswordRequired(origin) => write!(
                f,
                "the private key in {origin} is encrypted and no password was given \
                 (set the certificate's Password)"
            ),
            Problem::WrongPassword(origin) => write!(
                f,
                "the password is wrong: the encrypted private key in {origin} could not be \
                 decrypted with it"
            ),
            Problem::BadEncryptedKey(origin, detail) => write!(
                f,
                "the encrypted private key in {origin} could not be read ({detail}); supported \
                 is PBES2 (PBKDF2 or scrypt, with AES-CBC), as made by \
                 `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
            ),
            Problem::UnusableKey(origin, detail) => write!(
                f,
                "the private key in {origin} cannot be used ({detail}); supported are RSA \
                 (2048 bits or more), ECDSA P-256 and P-384, and Ed25519 keys"
            ),
            Problem::KeyMismatch {
                key,
                matches_chain_entry,
            } => {
                write!(
                    f,
                    "the private key in {key} does not match the certificate (the public key \
                     of the first certificate in the chain is another one)"
                )?;
                if let Some(n) = matches_chain_entry {
                    write!(
                        f,
                        "; the key matches certificate #{n} of the chain: put the server's own \
                         certificate first, then its issuers"
                    )?;
                }
                Ok(())
            }
            Problem::MalformedCertificate(detail) => {
                write!(f, "the certificate is malformed ({detail})")
            }
            Problem::NotForServerAuth => f.write_str(
                "the certificate cannot be used by a server: it has an Extended Key Usage \
                 extension, but the usages do not include Server Authentication \
                 (serverAuth, OID 1.3.6.1.5.5.7.3.1)",
            ),
            Problem::Pkcs12Unavailable => f.write_str(
                "the file is not PEM, so it would be a PKCS#12/PFX file, but this build has \
                 no PKCS#12 support: build falconet with the `tls-pkcs12` feature, or convert \
                 the file to PEM with `openssl pkcs12 -in FILE.pfx -nodes -out FILE.pem`",
            ),
            Problem::Pkcs12WrongPassword => f.write_str(
                "the password is wrong: the PKCS#12 file's integrity check failed with it",
            ),
            Problem::Pkcs12(detail) => {
                write!(f, "the file could not be read as PKCS#12/PFX: {detail}")
            }
        }
    }
}

/// [`Certificate::load`] without the message's first half.
fn load_source(source: &CertificateSource) -> Result<Certificate, Problem> {
    let bytes = std::fs::read(&source.path).map_err(|e| Problem::Read(Origin::File, e))?;
    let key = match &source.key_path {
        Some(key_path) => {
            let chain = read_chain(&bytes, Origin::File)?;
            let origin = Origin::KeyFile(key_path.clone());
            let key_bytes =
                std::fs::read(key_path).map_err(|e| Problem::Read(origin.clone(), e))?;
            let key = read_key(&key_bytes, origin.clone(), source.password.as_deref())?;
            certify(chain, key, origin)?
        }
        None if is_pem(&bytes) => {
            let chain = read_chain(&bytes, Origin::File)?;
            let key = read_key(&bytes, Origin::File, source.password.as_deref())?;
            certify(chain, key, Origin::File)?
        }
        None => read_pkcs12(&bytes, source.password.as_deref().unwrap_or(""))?,
    };
    Ok(Certificate {
        key,
        source: Some(source.clone()),
    })
}

/// [`load_source`] on bytes instead of files, for `crate::fuzzing`.
#[cfg(fuzzing)]
pub(crate) fn fuzz_load(
    bytes: &[u8],
    key: Option<&[u8]>,
    password: Option<&str>,
) -> Result<(), String> {
    let loaded = match key {
        Some(key_bytes) => read_chain(bytes, Origin::File).and_then(|chain| {
            let origin = Origin::KeyFile(PathBuf::from("key"));
            let key = read_key(key_bytes, origin.clone(), password)?;
            certify(chain, key, origin)
        }),
        None if is_pem(bytes) => read_chain(bytes, Origin::File).and_then(|chain| {
            let key = read_key(bytes, Origin::File, password)?;
            certify(chain, key, Origin::File)
        }),
        None => read_pkcs12(bytes, password.unwrap_or("")),
    };
    loaded.map(|_| ()).map_err(|p| p.to_string())
}

/// The X.509 reader on one DER certificate, for `crate::fuzzing`.
#[cfg(fuzzing)]
pub(crate) fn fuzz_x509(cert: &[u8]) -> Option<String> {
    let tbs = x509::TbsCertificate::parse(cert)?;
    let validity = tbs.validity().map(|v| (v.not_before, v.not_after));
    Some(format!("{:?} {validity:?}", tbs.allows_server_auth()))
}

/// Whether `bytes` is (or holds) PEM rather than DER.
fn is_pem(bytes: &[u8]) -> bool {
    find(bytes, b"-----BEGIN ").is_some()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// All the certificates of a PEM file, in order.
fn read_chain(bytes: &[u8], origin: Origin) -> Result<Vec<CertificateDer<'static>>, Problem> {
    let mut chain = Vec::new();
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        match section {
            Ok((SectionKind::Certificate, der)) => chain.push(CertificateDer::from(der)),
            Ok(_) => {}
            Err(e) => return Err(pem_problem(bytes, origin, e)),
        }
    }
    if chain.is_empty() {
        return Err(Problem::NoCertificate(origin, !is_pem(bytes)));
    }
    Ok(chain)
}

/// The problem of PEM that does not parse.
fn pem_problem(bytes: &[u8], origin: Origin, error: pem::Error) -> Problem {
    // OpenSSL's legacy key encryption puts headers inside the block, which the PEM
    // parser refuses as bad base64: say what it is instead.
    if find(bytes, b"Proc-Type: 4,ENCRYPTED").is_some() {
        Problem::LegacyEncryptedKey(origin)
    } else {
        Problem::Pem(origin, error)
    }
}

const ENCRYPTED_KEY_BEGIN: &[u8] = b"-----BEGIN ENCRYPTED PRIVATE KEY-----";
const ENCRYPTED_KEY_END: &[u8] = b"-----END ENCRYPTED PRIVATE KEY-----";

/// The first private key of a PEM file: PKCS#8, PKCS#1 or SEC1, or encrypted PKCS#8
/// decrypted with `password`.
fn read_key(
    bytes: &[u8],
    origin: Origin,
    password: Option<&str>,
) -> Result<PrivateKeyDer<'static>, Problem> {
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        let key = match section {
            Ok((SectionKind::PrivateKey, der)) => PrivatePkcs8KeyDer::from(der).into(),
            Ok((SectionKind::RsaPrivateKey, der)) => PrivatePkcs1KeyDer::from(der).into(),
            Ok((SectionKind::EcPrivateKey, der)) => PrivateSec1KeyDer::from(der).into(),
            Ok(_) => continue,
            Err(e) => return Err(pem_problem(bytes, origin, e)),
        };
        if password.is_some() {
            log::debug!("{origin} holds an unencrypted private key; its password is not used");
        }
        return Ok(key);
    }
    if let Some(start) = find(bytes, ENCRYPTED_KEY_BEGIN) {
        let block = &bytes[start..];
        let end = find(block, ENCRYPTED_KEY_END)
            .map(|end| end + ENCRYPTED_KEY_END.len())
            .ok_or_else(|| {
                Problem::BadEncryptedKey(origin.clone(), "its END line is missing".into())
            })?;
        return decrypt_key(&block[..end], origin, password);
    }
    Err(Problem::NoKey(origin, !is_pem(bytes)))
}

/// Decrypts one `ENCRYPTED PRIVATE KEY` PEM block (PKCS#8 `EncryptedPrivateKeyInfo`).
fn decrypt_key(
    block: &[u8],
    origin: Origin,
    password: Option<&str>,
) -> Result<PrivateKeyDer<'static>, Problem> {
    let der = super::pbe::pem_contents(block)
        .ok_or_else(|| Problem::BadEncryptedKey(origin.clone(), "its base64 is invalid".into()))?;
    let Some(password) = password else {
        return Err(Problem::PasswordRequired(origin));
    };
    match super::pbe::decrypt_private_key_info(&der, password) {
        Ok(plain) => Ok(PrivatePkcs8KeyDer::from(plain).into()),
        Err(super::pbe::Error::WrongPassword) => Err(Problem::WrongPassword(origin)),
        Err(super::pbe::Error::Invalid(reason)) => Err(Problem::BadEncryptedKey(origin, reason)),
    }
}

/// Checks that `key` belongs to the first certificate of `chain`, and that this
/// certificate may serve TLS; builds the `CertifiedKey` handshakes use.
fn certify(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    key_origin: Origin,
) -> Result<Arc<CertifiedKey>, Problem> {
    let provider = rustls::crypto::ring::default_provider();
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| Problem::UnusableKey(key_origin.clone(), e.to_string()))?;
    let certified = CertifiedKey::new(chain, Arc::clone(&signing_key));
    match certified.keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => {
            log::debug!("the key in {key_origin} cannot give its public key; not compared");
        }
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            return Err(Problem::KeyMismatch {
                key: key_origin,
                matches_chain_entry: matching_chain_entry(&certified.cert, &signing_key),
            });
        }
        Err(e) => return Err(Problem::MalformedCertificate(e.to_string())),
    }
    let leaf = &certified.cert[0];
    let tbs = x509::TbsCertificate::parse(leaf)
        .ok_or_else(|| Problem::MalformedCertificate("its DER encoding is invalid".into()))?;
    if !tbs
        .allows_server_auth()
        .ok_or_else(|| Problem::MalformedCertificate("its extensions are malformed".into()))?
    {
        return Err(Problem::NotForServerAuth);
    }
    if let Some(validity) = tbs.validity() {
        let now = SystemTime::now();
        if now > validity.not_after {
            log::warn!(
                "the certificate expired on {}: clients will refuse it",
                format_date(validity.not_after)
            );
        } else if now < validity.not_before {
            log::warn!(
                "the certificate is not valid before {}: clients will refuse it until then",
                format_date(validity.not_before)
            );
        }
    }
    Ok(Arc::new(certified))
}

/// The 1-based position of the first certificate after the leaf that `key` matches.
fn matching_chain_entry(
    chain: &[CertificateDer<'static>],
    key: &Arc<dyn SigningKey>,
) -> Option<usize> {
    (1..chain.len()).find_map(|i| {
        CertifiedKey::new(vec![chain[i].clone()], Arc::clone(key))
            .keys_match()
            .is_ok()
            .then_some(i + 1)
    })
}

/// A PKCS#12/PFX file: its key and the chain of the key's certificate.
#[cfg(feature = "tls-pkcs12")]
fn read_pkcs12(bytes: &[u8], password: &str) -> Result<Arc<CertifiedKey>, Problem> {
    use super::pkcs12::{read, Error};

    let contents = read(bytes, password).map_err(|e| match e {
        Error::WrongPassword => Problem::Pkcs12WrongPassword,
        Error::Invalid(detail) => Problem::Pkcs12(detail),
    })?;
    let certs = contents
        .chain
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    let key = PrivatePkcs8KeyDer::from(contents.key).into();
    certify(certs, key, Origin::File)
}

#[cfg(not(feature = "tls-pkcs12"))]
fn read_pkcs12(_bytes: &[u8], _password: &str) -> Result<Arc<CertifiedKey>, Problem> {
    Err(Problem::Pkcs12Unavailable)
}

/// When a certificate is valid (X.509 `Validity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    pub(crate) not_before: SystemTime,
    pub(crate) not_after: SystemTime,
}

/// The validity period of a DER certificate, or `None` if it cannot be read.
#[cfg_attr(not(feature = "dev-certs"), allow(dead_code))]
pub(crate) fn validity(cert: &[u8]) -> Option<Validity> {
    x509::TbsCertificate::parse(cert)?.validity()
}

/// `YYYY-MM-DD` (UTC) of a time, for messages.
pub(crate) fn format_date(time: SystemTime) -> String {
    let secs = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day counted from 1970-01-01 (inverse of [`days_from_civil`]).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Just enough X.509 to read a certificate's validity and Extended Key Usage, so that
/// these checks do not need an X.509 crate. Malformed input gives `None`, never a panic:
/// every length is checked against the bytes that are there.
mod x509 {
    use super::{days_from_civil, Duration, SystemTime, Validity, UNIX_EPOCH};

    const BOOLEAN: u8 = 0x01;
    const INTEGER: u8 = 0x02;
    const OCTET_STRING: u8 = 0x04;
    const OID: u8 = 0x06;
    const UTC_TIME: u8 = 0x17;
    const GENERALIZED_TIME: u8 = 0x18;
    const SEQUENCE: u8 = 0x30;
    /// `[0] EXPLICIT`: TBSCertificate's version.
    const VERSION: u8 = 0xa0;
    /// `[1] IMPLICIT` and `[2] IMPLICIT` BIT STRINGs: the unique identifiers.
    const ISSUER_UID: u8 = 0x81;
    const SUBJECT_UID: u8 = 0x82;
    /// `[3] EXPLICIT`: TBSCertificate's extensions.
    const EXTENSIONS: u8 = 0xa3;

    /// 2.5.29.37, id-ce-extKeyUsage.
    const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
    /// 1.3.6.1.5.5.7.3.1, id-kp-serverAuth.
    const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
    /// 2.5.29.37.0, anyExtendedKeyUsage.
    const ANY_EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

    /// Reads DER TLVs from a slice, front to back.
    struct Reader<'a> {
        input: &'a [u8],
    }

    impl<'a> Reader<'a> {
        fn new(input: &'a [u8]) -> Self {
            Reader { input }
        }

        fn is_empty(&self) -> bool {
            self.input.is_empty()
        }

        fn peek_tag(&self) -> Option<u8> {
            self.input.first().copied()
        }

        /// The next TLV's tag and contents. Only single-byte tags and definite lengths of
        /// up to 4 bytes, which is all X.509 needs.
        fn read_any(&mut self) -> Option<(u8, &'a [u8])> {
            let (&tag, rest) = self.input.split_first()?;
            if tag & 0x1f == 0x1f {
                return None; // high-tag-number form
            }
            let (&first, mut rest) = rest.split_first()?;
            let len = if first < 0x80 {
                usize::from(first)
            } else {
                let count = usize::from(first & 0x7f);
                if count == 0 || count > 4 {
                    return None; // indefinite length (BER only), or absurd
                }
                let (bytes, after) = rest.split_at_checked(count)?;
                rest = after;
                bytes.iter().try_fold(0usize, |len, &b| {
                    len.checked_mul(256)?.checked_add(usize::from(b))
                })?
            };
            let (value, after) = rest.split_at_checked(len)?;
            self.input = after;
            Some((tag, value))
        }

        /// The contents of the next TLV, which must have tag `tag`.
        fn read(&mut self, tag: u8) -> Option<&'a [u8]> {
            match self.read_any()? {
                (t, value) if t == tag => Some(value),
                _ => None,
            }
        }

        /// The contents of the next TLV if it has tag `tag`; nothing read otherwise.
        fn read_optional(&mut self, tag: u8) -> Option<Option<&'a [u8]>> {
            if self.peek_tag() == Some(tag) {
                self.read(tag).map(Some)
            } else {
                Some(None)
            }
        }
    }

    /// The parts of a certificate's TBSCertificate that falconet reads.
    pub(super) struct TbsCertificate<'a> {
        validity: &'a [u8],
        /// The contents of the `Extensions` SEQUENCE, if there is one.
        extensions: Option<&'a [u8]>,
    }

    impl<'a> TbsCertificate<'a> {
        /// Walks `Certificate` → `TBSCertificate` (RFC 5280, 4.1).
        pub(super) fn parse(cert: &'a [u8]) -> Option<Self> {
            let mut outer = Reader::new(cert);
            let certificate = outer.read(SEQUENCE)?;
            if !outer.is_empty() {
                return None;
            }
            let mut certificate = Reader::new(certificate);
            let mut tbs = Reader::new(certificate.read(SEQUENCE)?);
            tbs.read_optional(VERSION)?;
            tbs.read(INTEGER)?; // serialNumber
            tbs.read(SEQUENCE)?; // signature
            tbs.read(SEQUENCE)?; // issuer
            let validity = tbs.read(SEQUENCE)?;
            tbs.read(SEQUENCE)?; // subject
            tbs.read(SEQUENCE)?; // subjectPublicKeyInfo
            tbs.read_optional(ISSUER_UID)?;
            tbs.read_optional(SUBJECT_UID)?;
            let extensions = match tbs.read_optional(EXTENSIONS)? {
                Some(explicit) => {
                    let mut explicit = Reader::new(explicit);
                    let extensions = explicit.read(SEQUENCE)?;
                    if !explicit.is_empty() {
                        return None;
                    }
                    Some(extensions)
                }
                None => None,
            };
            if !tbs.is_empty() {
                return None;
            }
            Some(TbsCertificate {
                validity,
                extensions,
            })
        }

        /// Whether the certificate may authenticate a TLS server: it has no Extended Key
        /// Usage extension, or every one it has lists serverAuth or anyExtendedKeyUsage.
        /// `None` if the extensions are malformed.
        pub(super) fn allows_server_auth(&self) -> Option<bool> {
            let mut allowed = true;
            let mut extensions = Reader::new(self.extensions.unwrap_or(&[]));
            while !extensions.is_empty() {
                let mut extension = Reader::new(extensions.read(SEQUENCE)?);
                let id = extension.read(OID)?;
                extension.read_optional(BOOLEAN)?; // critical
                let value = extension.read(OCTET_STRING)?;
                if !extension.is_empty() {
                    return None;
                }
                if id != EXT_KEY_USAGE {
                    continue;
                }
                let mut value = Reader::new(value);
                let mut purposes = Reader::new(value.read(SEQUENCE)?);
                if !value.is_empty() {
                    return None;
                }
                let mut server = false;
                while !purposes.is_empty() {
                    let purpose = purposes.read(OID)?;
                    server |= purpose == SERVER_AUTH || purpose == ANY_EXT_KEY_USAGE;
                }
                allowed &= server;
            }
            Some(allowed)
        }

        /// `notBefore` and `notAfter`, or `None` if they are malformed.
        pub(super) fn validity(&self) -> Option<Validity> {
            let mut validity = Reader::new(self.validity);
            let not_before = read_time(&mut validity)?;
            let not_after = read_time(&mut validity)?;
            validity.is_empty().then_some(Validity {
                not_before,
                not_after,
            })
        }
    }

    /// A `Time`: UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ`, the only
    /// forms RFC 5280 allows.
    fn read_time(reader: &mut Reader<'_>) -> Option<SystemTime> {
        let (tag, value) = reader.read_any()?;
        let (year, rest) = match tag {
            UTC_TIME if value.len() == 13 => {
                let yy = i64::from(digits(&value[..2])?);
                (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &value[2..])
            }
            GENERALIZED_TIME if value.len() == 15 => (i64::from(digits(&value[..4])?), &value[4..]),
            _ => return None,
        };
        if rest[10] != b'Z' {
            return None;
        }
        let month = digits(&rest[0..2])?;
        let day = digits(&rest[2..4])?;
        let hour = digits(&rest[4..6])?;
        let minute = digits(&rest[6..8])?;
        let second = digits(&rest[8..10])?;
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let secs =
            days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
        if secs >= 0 {
            UNIX_EPOCH.checked_add(Duration::from_secs(secs as u64))
        } else {
            UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
        }
    }

    /// The value of a run of ASCII digits.
    fn digits(bytes: &[u8]) -> Option<u32> {
        bytes.iter().try_fold(0u32, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            if value.len() < 0x80 {
                out.push(value.len() as u8);
            } else {
                out.push(0x82);
                out.extend_from_slice(&(value.len() as u16).to_be_bytes());
            }
            out.extend_from_slice(value);
            out
        }

        fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
            tlv(SEQUENCE, &parts.concat())
        }

        fn eku_extension(purposes: &[&[u8]]) -> Vec<u8> {
            let list = seq(&purposes.iter().map(|p| tlv(OID, p)).collect::<Vec<_>>());
            seq(&[tlv(OID, EXT_KEY_USAGE), tlv(OCTET_STRING, &list)])
        }

        /// A structurally valid certificate (no real signature) with these extensions.
        fn cert(extensions: Option<Vec<u8>>) -> Vec<u8> {
            let mut tbs = vec![
                tlv(VERSION, &tlv(INTEGER, &[2])),
                tlv(INTEGER, &[1]),
                seq(&[tlv(OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])]),
                seq(&[]),
                seq(&[
                    tlv(UTC_TIME, b"250101000000Z"),
                    tlv(GENERALIZED_TIME, b"21240101000000Z"),
                ]),
                seq(&[]),
                seq(&[seq(&[]), tlv(0x03, &[0])]),
            ];
            if let Some(extensions) = extensions {
                tbs.push(tlv(EXTENSIONS, &extensions));
            }
            seq(&[seq(&tbs), seq(&[]), tlv(0x03, &[0])])
        }

        #[test]
        fn eku_rules() {
            let allows = |exts: Option<Vec<u8>>| {
                TbsCertificate::parse(&cert(exts))
                    .unwrap()
                    .allows_server_auth()
            };
            assert_eq!(allows(None), Some(true), "no extensions");
            assert_eq!(allows(Some(seq(&[]))), Some(true), "no EKU");
            assert_eq!(
                allows(Some(seq(&[eku_extension(&[SERVER_AUTH])]))),
                Some(true)
            );
            assert_eq!(
                allows(Some(seq(&[eku_extension(&[ANY_EXT_KEY_USAGE])]))),
                Some(true)
            );
            let client_auth: &[u8] = &[0x2b, 6, 1, 5, 5, 7, 3, 2];
            assert_eq!(
                allows(Some(seq(&[eku_extension(&[client_auth])]))),
                Some(false)
            );
            assert_eq!(
                allows(Some(seq(&[eku_extension(&[client_auth, SERVER_AUTH])]))),
                Some(true)
            );
            // A critical EKU extension reads the same.
            let critical = seq(&[
                tlv(OID, EXT_KEY_USAGE),
                tlv(BOOLEAN, &[0xff]),
                tlv(OCTET_STRING, &seq(&[tlv(OID, client_auth)])),
            ]);
            assert_eq!(allows(Some(seq(&[critical]))), Some(false));
            // An OID that only starts like serverAuth is not serverAuth.
            let longer: &[u8] = &[0x2b, 6, 1, 5, 5, 7, 3, 1, 1];
            assert_eq!(allows(Some(seq(&[eku_extension(&[longer])]))), Some(false));
        }

        #[test]
        fn validity_is_read() {
            let tbs_cert = cert(None);
            let tbs = TbsCertificate::parse(&tbs_cert).unwrap();
            let validity = tbs.validity().unwrap();
            assert_eq!(super::super::format_date(validity.not_before), "2025-01-01");
            assert_eq!(super::super::format_date(validity.not_after), "2124-01-01");
        }

        #[test]
        fn bad_times_are_refused() {
            for bad in [
                tlv(UTC_TIME, b"251301000000Z"),
                tlv(UTC_TIME, b"250101000000+"),
                tlv(UTC_TIME, b"2501010000Z"),
                tlv(GENERALIZED_TIME, b"20250101000000.5Z"),
                tlv(UTC_TIME, b"25x101000000Z"),
                tlv(INTEGER, b"250101000000Z"),
            ] {
                assert_eq!(read_time(&mut Reader::new(&bad)), None, "{bad:?}");
            }
        }

        #[test]
        fn lengths() {
            // Long form, 2 bytes.
            let long = tlv(OCTET_STRING, &[7; 300]);
            assert_eq!(
                Reader::new(&long).read(OCTET_STRING).map(<[u8]>::len),
                Some(300)
            );
            // Indefinite length, a length past the end, 5 length bytes, high tag number.
            for bad in [
                &[0x30, 0x80, 0, 0][..],
                &[0x04, 0x05, 1, 2],
                &[0x04, 0x85, 0, 0, 0, 0, 1, 0],
                &[0x04, 0x84, 0xff, 0xff, 0xff, 0xff],
                &[0x1f, 0x01, 0x00],
                &[0x04],
                &[],
            ] {
                assert_eq!(Reader::new(bad).read_any(), None, "{bad:?}");
            }
        }

        #[test]
        fn truncated_and_garbage_input_never_panics() {
            let with_eku = cert(Some(seq(&[eku_extension(&[SERVER_AUTH])])));
            for len in 0..with_eku.len() {
                let truncated = &with_eku[..len];
                if let Some(tbs) = TbsCertificate::parse(truncated) {
                    let _ = tbs.allows_server_auth();
                    let _ = tbs.validity();
                }
                // A truncated certificate's outer length no longer fits.
                assert!(TbsCertificate::parse(truncated).is_none(), "length {len}");
            }
            // Trailing bytes after the certificate.
            let mut trailing = with_eku.clone();
            trailing.push(0);
            assert!(TbsCertificate::parse(&trailing).is_none());
            // Every single-byte corruption, and pseudo-random garbage.
            for i in 0..with_eku.len() {
                for flip in [0x01, 0x80, 0xff] {
                    let mut bad = with_eku.clone();
                    bad[i] ^= flip;
                    if let Some(tbs) = TbsCertificate::parse(&bad) {
                        let _ = tbs.allows_server_auth();
                        let _ = tbs.validity();
                    }
                }
            }
            let mut state = 0x2545_f491_4f6c_dd1d_u64;
            for _ in 0..2000 {
                let len = (state % 200) as usize;
                let garbage: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state as u8
                    })
                    .collect();
                if let Some(tbs) = TbsCertificate::parse(&garbage) {
                    let _ = tbs.allows_server_auth();
                    let _ = tbs.validity();
                }
            }
        }

        #[test]
        fn malformed_extensions_are_reported() {
            // An EKU whose value is not a SEQUENCE of OIDs.
            let bad_value = seq(&[tlv(OID, EXT_KEY_USAGE), tlv(OCTET_STRING, &[0x30, 0x01])]);
            let c = cert(Some(seq(&[bad_value])));
            assert_eq!(
                TbsCertificate::parse(&c).unwrap().allows_server_auth(),
                None
            );
            // An extension that is not a SEQUENCE.
            let c = cert(Some(seq(&[tlv(OID, EXT_KEY_USAGE)])));
            assert_eq!(
                TbsCertificate::parse(&c).unwrap().allows_server_auth(),
                None
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A TLS handshake in memory between a rustls server presenting `cert` and a rustls
    /// client that trusts `roots` and connects to `server_name`.
    pub(crate) fn handshake(
        cert: &Certificate,
        roots: Vec<CertificateDer<'static>>,
        server_name: &str,
    ) -> Result<(), rustls::Error> {
        use rustls::server::{ClientHello, ResolvesServerCert};
        use rustls::{
            ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection,
        };

        #[derive(Debug)]
        struct Fixed(Arc<CertifiedKey>);
        impl ResolvesServerCert for Fixed {
            fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
                Some(Arc::clone(&self.0))
            }
        }

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut store = RootCertStore::empty();
        for root in roots {
            store.add(root)?;
        }
        let client_config = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(store)
            .with_no_client_auth();
        let server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Fixed(Arc::clone(&cert.key))));
        let name = rustls_pki_types::ServerName::try_from(server_name.to_string())
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        let mut client = ClientConnection::new(Arc::new(client_config), name)?;
        let mut server = ServerConnection::new(Arc::new(server_config))?;
        let mut buf = Vec::new();
        for _ in 0..10 {
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(());
            }
            buf.clear();
            client.write_tls(&mut buf).unwrap();
            let mut bytes = buf.as_slice();
            while !bytes.is_empty() {
                server.read_tls(&mut bytes).unwrap();
                server.process_new_packets()?;
            }
            buf.clear();
            server.write_tls(&mut buf).unwrap();
            let mut bytes = buf.as_slice();
            while !bytes.is_empty() {
                client.read_tls(&mut bytes).unwrap();
                client.process_new_packets()?;
            }
        }
        Err(rustls::Error::General(
            "the handshake did not finish".into(),
        ))
    }

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tls/");

    fn data(name: &str) -> PathBuf {
        PathBuf::from(DATA).join(name)
    }

    fn load(source: CertificateSource) -> Result<Certificate, String> {
        Certificate::load(&source).map_err(|e| {
            assert!(e.is_config(), "{e}");
            e.to_string()
        })
    }

    fn pem(cert: &str, key: &str) -> CertificateSource {
        CertificateSource::pem(data(cert), data(key))
    }

    fn load_err(source: CertificateSource) -> String {
        let message = load(source.clone()).unwrap_err();
        assert!(
            message.starts_with(&format!(
                "The certificate \"{}\" could not be loaded: ",
                source.path.display()
            )),
            "{message}"
        );
        message
    }

    /// A fresh directory under the system's temporary directory.
    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("falconet-certs-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn key_formats() {
        for (cert, key) in [
            ("localhost.crt", "localhost.key"),
            ("rsa.crt", "rsa-pkcs1.key"),
            ("rsa.crt", "rsa-pkcs8.key"),
            ("ec.crt", "ec-sec1.key"),
            ("a.example.org.crt", "a.example.org.key"),
            ("wildcard.example.org.crt", "wildcard.example.org.key"),
            ("default.example.crt", "default.example.key"),
        ] {
            let certificate = load(pem(cert, key)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(certificate.chain().len(), 1);
            assert_eq!(certificate.source(), Some(&pem(cert, key)));
        }
    }

    #[test]
    fn handshakes_with_loaded_certificates() {
        let ca = CertificateDer::from_pem_file(data("ca.crt")).unwrap();
        for (cert, key, name) in [
            ("localhost-chain.crt", "localhost.key", "localhost"),
            ("localhost.crt", "localhost.key", "127.0.0.1"),
            ("rsa.crt", "rsa-pkcs1.key", "localhost"),
            ("ec.crt", "ec-sec1.key", "localhost"),
            ("a.example.org.crt", "a.example.org.key", "a.example.org"),
            (
                "wildcard.example.org.crt",
                "wildcard.example.org.key",
                "b.example.org",
            ),
            (
                "default.example.crt",
                "default.example.key",
                "default.example",
            ),
        ] {
            let certificate = load(pem(cert, key)).unwrap();
            handshake(&certificate, vec![ca.clone()], name)
                .unwrap_or_else(|e| panic!("{cert} for {name}: {e}"));
        }
        let certificate = load(pem("a.example.org.crt", "a.example.org.key")).unwrap();
        assert!(handshake(&certificate, vec![ca], "b.example.org").is_err());
        let other_ca = CertificateDer::from_pem_file(data("other-ca.crt")).unwrap();
        assert!(handshake(&certificate, vec![other_ca], "a.example.org").is_err());
    }

    #[test]
    fn chain_leaf_first() {
        let certificate = load(pem("localhost-chain.crt", "localhost.key")).unwrap();
        let leaf = CertificateDer::from_pem_file(data("localhost.crt")).unwrap();
        let ca = CertificateDer::from_pem_file(data("ca.crt")).unwrap();
        assert_eq!(certificate.chain(), &[leaf, ca]);
    }

    #[test]
    fn chain_and_key_in_one_file() {
        let source = CertificateSource {
            path: data("localhost-combined.pem"),
            key_path: None,
            password: None,
        };
        assert_eq!(load(source).unwrap().chain().len(), 2);
    }

    #[test]
    fn one_file_without_a_key() {
        let source = CertificateSource {
            path: data("localhost.crt"),
            key_path: None,
            password: None,
        };
        let message = load_err(source);
        assert!(
            message.contains("the file holds no private key"),
            "{message}"
        );
        assert!(message.contains("KeyPath"), "{message}");
    }

    #[test]
    fn encrypted_pkcs8() {
        for key in [
            "localhost-encrypted.key",
            "localhost-encrypted-scrypt.key",
            "localhost-encrypted-sha1.key",
        ] {
            let source = pem("localhost.crt", key).with_password("falconet");
            load(source).unwrap_or_else(|e| panic!("{key}: {e}"));
        }
    }

    #[test]
    fn encrypted_pkcs8_without_password() {
        let message = load_err(pem("localhost.crt", "localhost-encrypted.key"));
        let key = data("localhost-encrypted.key");
        assert!(
            message.ends_with(&format!(
                "the private key in the key file \"{}\" is encrypted and no password was given \
                 (set the certificate's Password)",
                key.display()
            )),
            "{message}"
        );
    }

    #[test]
    fn encrypted_pkcs8_wrong_password() {
        for key in ["localhost-encrypted.key", "localhost-encrypted-scrypt.key"] {
            let message = load_err(pem("localhost.crt", key).with_password("wrong"));
            assert!(message.contains(": the password is wrong: "), "{message}");
            assert!(
                message.contains(&data(key).display().to_string()),
                "{message}"
            );
        }
    }

    #[test]
    fn encrypted_key_in_one_file() {
        let dir = temp_dir("combined-encrypted");
        let path = dir.join("combined.pem");
        let mut combined = std::fs::read(data("localhost-chain.crt")).unwrap();
        combined.extend(std::fs::read(data("localhost-encrypted.key")).unwrap());
        std::fs::write(&path, combined).unwrap();
        let source = CertificateSource {
            path: path.clone(),
            key_path: None,
            password: Some("falconet".into()),
        };
        assert_eq!(load(source).unwrap().chain().len(), 2);
        let source = CertificateSource {
            path,
            key_path: None,
            password: None,
        };
        assert!(load_err(source).contains("the private key in the file is encrypted"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn legacy_encrypted_key() {
        let source = pem("rsa.crt", "rsa-pkcs1-encrypted-legacy.key").with_password("falconet");
        let message = load_err(source);
        assert!(message.contains("OpenSSL's legacy format"), "{message}");
        assert!(message.contains("openssl pkcs8 -topk8"), "{message}");
    }

    #[test]
    fn legacy_encrypted_key_in_one_file() {
        let dir = temp_dir("combined-legacy");
        let path = dir.join("combined.pem");
        let mut combined = std::fs::read(data("rsa.crt")).unwrap();
        combined.extend(std::fs::read(data("rsa-pkcs1-encrypted-legacy.key")).unwrap());
        std::fs::write(&path, combined).unwrap();
        let source = CertificateSource {
            path,
            key_path: None,
            password: Some("falconet".into()),
        };
        let message = load_err(source);
        assert!(
            message.contains("the private key in the file is encrypted in OpenSSL's legacy format"),
            "{message}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_files() {
        let message = load_err(pem("missing.crt", "localhost.key"));
        assert!(
            message.ends_with("the file could not be read: No such file or directory (os error 2)"),
            "{message}"
        );
        let message = load_err(pem("localhost.crt", "missing.key"));
        assert!(
            message.ends_with(&format!(
                "the key file \"{}\" could not be read: No such file or directory (os error 2)",
                data("missing.key").display()
            )),
            "{message}"
        );
    }

    #[test]
    fn no_certificate_or_no_key() {
        let message = load_err(pem("localhost.key", "localhost.key"));
        assert!(
            message.ends_with(
                "the file holds no certificate (no \"-----BEGIN CERTIFICATE-----\" block)"
            ),
            "{message}"
        );
        let message = load_err(pem("localhost.crt", "localhost.crt"));
        assert!(
            message.contains(&format!(
                "the key file \"{}\" holds no private key",
                data("localhost.crt").display()
            )),
            "{message}"
        );
    }

    #[test]
    fn der_files() {
        let dir = temp_dir("der");
        let der = CertificateDer::from_pem_file(data("localhost.crt")).unwrap();
        let path = dir.join("localhost.der");
        std::fs::write(&path, &der).unwrap();
        let message = load_err(CertificateSource::pem(&path, data("localhost.key")));
        assert!(
            message.contains("it is not PEM: convert a DER certificate"),
            "{message}"
        );
        let message = load_err(CertificateSource::pem(data("localhost.crt"), &path));
        assert!(
            message.contains("it is not PEM: convert a DER key"),
            "{message}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_pem() {
        let dir = temp_dir("bad-pem");
        let path = dir.join("bad.crt");
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let message = load_err(CertificateSource::pem(&path, data("localhost.key")));
        assert!(
            message.contains("the file is not valid PEM: a block is not valid base64 ("),
            "{message}"
        );
        std::fs::write(&path, "-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
        let message = load_err(CertificateSource::pem(&path, data("localhost.key")));
        assert!(
            message.ends_with(
                "the file is not valid PEM: a block has no \"-----END CERTIFICATE-----\" line"
            ),
            "{message}"
        );
        std::fs::write(&path, "-----BEGIN CERTIFICATE----\n").unwrap();
        let message = load_err(CertificateSource::pem(&path, data("localhost.key")));
        assert!(
            message.ends_with(
                "the file is not valid PEM: \"-----BEGIN CERTIFICATE----\" is not a valid BEGIN line"
            ),
            "{message}"
        );
        // A well-formed PEM block whose contents are not a certificate.
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let message = load_err(CertificateSource::pem(&path, data("localhost.key")));
        assert!(
            message.contains("the certificate is malformed"),
            "{message}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn key_does_not_match() {
        let message = load_err(pem("localhost.crt", "other.key"));
        assert!(
            message.contains(&format!(
                "the private key in the key file \"{}\" does not match the certificate",
                data("other.key").display()
            )),
            "{message}"
        );
        assert!(!message.contains("matches certificate #"), "{message}");
        // The CA's key with the chain: the chain is in the wrong order for that key.
        let message = load_err(pem("localhost-chain.crt", "ca.key"));
        assert!(
            message.contains("the key matches certificate #2 of the chain"),
            "{message}"
        );
    }

    #[test]
    fn extended_key_usage() {
        let message = load_err(pem("clientauth-only.crt", "clientauth-only.key"));
        assert!(
            message.ends_with(
                "the certificate cannot be used by a server: it has an Extended Key Usage \
                 extension, but the usages do not include Server Authentication \
                 (serverAuth, OID 1.3.6.1.5.5.7.3.1)"
            ),
            "{message}"
        );
        load(pem("anyeku.crt", "anyeku.key")).unwrap();
        // No EKU at all (the CA certificate) is allowed.
        load(pem("ca.crt", "ca.key")).unwrap();
    }

    #[test]
    fn fixtures_eku_as_read() {
        let tbs_of = |name: &str| {
            let der = CertificateDer::from_pem_file(data(name)).unwrap();
            x509::TbsCertificate::parse(&der)
                .unwrap()
                .allows_server_auth()
        };
        assert_eq!(tbs_of("localhost.crt"), Some(true));
        assert_eq!(tbs_of("rsa.crt"), Some(true));
        assert_eq!(tbs_of("anyeku.crt"), Some(true));
        assert_eq!(tbs_of("ca.crt"), Some(true));
        assert_eq!(tbs_of("clientauth-only.crt"), Some(false));
        assert_eq!(tbs_of("client.crt"), Some(false));
        let der = CertificateDer::from_pem_file(data("localhost.crt")).unwrap();
        let validity = validity(&der).unwrap();
        assert!(validity.not_before < SystemTime::now());
        assert!(validity.not_after > SystemTime::now() + Duration::from_secs(86_400 * 36_000));
    }

    #[test]
    fn from_pem() {
        let chain = std::fs::read(data("localhost-chain.crt")).unwrap();
        let key = std::fs::read(data("localhost.key")).unwrap();
        let certificate = Certificate::from_pem(&chain, &key).unwrap();
        assert_eq!(certificate.chain().len(), 2);
        assert_eq!(certificate.source(), None);

        let other = std::fs::read(data("other.key")).unwrap();
        let message = Certificate::from_pem(&chain, &other)
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "The PEM certificate could not be loaded: the private key in the key PEM does not \
             match the certificate (the public key of the first certificate in the chain is \
             another one)"
        );
        let message = Certificate::from_pem(&key, &key).unwrap_err().to_string();
        assert!(
            message.contains("the certificate PEM holds no certificate"),
            "{message}"
        );
        let encrypted = std::fs::read(data("localhost-encrypted.key")).unwrap();
        let message = Certificate::from_pem(&chain, &encrypted)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("is encrypted and no password was given"),
            "{message}"
        );
        let clientauth = std::fs::read(data("clientauth-only.crt")).unwrap();
        let clientauth_key = std::fs::read(data("clientauth-only.key")).unwrap();
        let message = Certificate::from_pem(&clientauth, &clientauth_key)
            .unwrap_err()
            .to_string();
        assert!(message.contains("cannot be used by a server"), "{message}");
    }

    #[test]
    fn unusable_key() {
        let dir = temp_dir("unusable-key");
        let path = dir.join("ed448.key");
        // An Ed448 PKCS#8 key (`openssl genpkey -algorithm ed448`), which ring cannot use.
        std::fs::write(
            &path,
            "-----BEGIN PRIVATE KEY-----\n\
             MEcCAQAwBQYDK2VxBDsEOeTcDI44D3s9qCXeGJ7Kto2Y/DqEuFQYiA3i8naFhxq1\n\
             5zVZWTdVeECvWfebvPfzaYCSRbktuCE/Pg==\n\
             -----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let message = load_err(CertificateSource::pem(data("localhost.crt"), &path));
        assert!(message.contains("cannot be used ("), "{message}");
        assert!(message.contains("supported are RSA"), "{message}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn endpoint_messages() {
        let source = pem("localhost.crt", "other.key");
        let message = load_for_endpoint(&source, "Https").unwrap_err().to_string();
        assert!(
            message.starts_with(&format!(
                "The certificate of endpoint \"Https\" could not be loaded from \"{}\": the \
                 private key in the key file \"{}\" does not match",
                data("localhost.crt").display(),
                data("other.key").display()
            )),
            "{message}"
        );
        let ok = load_for_endpoint(&pem("localhost.crt", "localhost.key"), "Https").unwrap();
        assert_eq!(ok.chain().len(), 1);
    }

    #[test]
    fn ca_bundles() {
        let bundle = load_ca_bundle(&data("ca-bundle.pem"), "Https").unwrap();
        assert_eq!(
            bundle,
            vec![
                CertificateDer::from_pem_file(data("ca.crt")).unwrap(),
                CertificateDer::from_pem_file(data("client-ca.crt")).unwrap(),
            ]
        );
        assert_eq!(
            load_ca_bundle(&data("client-ca.crt"), "Https")
                .unwrap()
                .len(),
            1
        );

        let missing = data("missing-ca.crt");
        let message = load_ca_bundle(&missing, "Https").unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "The client CA certificates of endpoint \"Https\" could not be loaded from \
                 \"{}\": the file could not be read: No such file or directory (os error 2)",
                missing.display()
            )
        );
        let message = load_ca_bundle(&data("client.key"), "Https")
            .unwrap_err()
            .to_string();
        assert!(message.contains("of endpoint \"Https\""), "{message}");
        assert!(
            message.contains(&data("client.key").display().to_string()),
            "{message}"
        );
        assert!(
            message.ends_with(
                "the file holds no certificate (no \"-----BEGIN CERTIFICATE-----\" block)"
            ),
            "{message}"
        );

        let dir = temp_dir("bad-bundle");
        let path = dir.join("bundle.pem");
        let mut bytes = std::fs::read(data("ca.crt")).unwrap();
        bytes.extend(b"-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n");
        std::fs::write(&path, bytes).unwrap();
        let message = load_ca_bundle(&path, "Https").unwrap_err().to_string();
        assert!(
            message.contains("certificate #2 of the file is not a valid CA certificate"),
            "{message}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(feature = "tls-pkcs12")]
    #[test]
    fn pkcs12() {
        for name in ["localhost.pfx", "localhost-legacy.pfx"] {
            let certificate = load(CertificateSource::pkcs12(data(name), "falconet"))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let leaf = CertificateDer::from_pem_file(data("localhost.crt")).unwrap();
            let ca = CertificateDer::from_pem_file(data("ca.crt")).unwrap();
            assert_eq!(certificate.chain(), &[leaf, ca], "{name}");
        }
        // No password: an empty one.
        let source = CertificateSource {
            path: data("localhost-nopass.pfx"),
            key_path: None,
            password: None,
        };
        load(source).unwrap();
    }

    #[cfg(feature = "tls-pkcs12")]
    #[test]
    fn pkcs12_wrong_password() {
        for name in ["localhost.pfx", "localhost-legacy.pfx"] {
            let message = load_err(CertificateSource::pkcs12(data(name), "wrong"));
            assert!(
                message.ends_with(
                    "the password is wrong: the PKCS#12 file's integrity check failed with it"
                ),
                "{message}"
            );
        }
        let message = load_err(CertificateSource {
            path: data("localhost.pfx"),
            key_path: None,
            password: None,
        });
        assert!(message.contains("the password is wrong"), "{message}");
    }

    #[cfg(feature = "tls-pkcs12")]
    #[test]
    fn pkcs12_garbage() {
        let dir = temp_dir("pkcs12-garbage");
        let path = dir.join("garbage.pfx");
        std::fs::write(&path, [0x30, 0x03, 0x02, 0x01, 0x03]).unwrap();
        let message = load_err(CertificateSource::pkcs12(&path, "x"));
        assert!(
            message.contains("the file could not be read as PKCS#12/PFX: "),
            "{message}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(not(feature = "tls-pkcs12"))]
    #[test]
    fn pkcs12_needs_the_feature() {
        let message = load_err(CertificateSource::pkcs12(data("localhost.pfx"), "falconet"));
        assert!(message.contains("`tls-pkcs12` feature"), "{message}");
    }

    #[test]
    fn dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        for day in [-800_000, -1, 0, 59, 60, 10_000, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(
            format_date(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29"
        );
    }
}
