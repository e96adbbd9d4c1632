//! The system's trust store, for client certificates when no CA bundle is configured
//! (Kestrel validates them against the operating system's store).
//!
//! Found the way OpenSSL (and `rustls-native-certs`) find it on Linux: `SSL_CERT_FILE`
//! and/or `SSL_CERT_DIR` when set, and only them; otherwise the first CA bundle file of
//! the usual distributions that exists, then the directory `/etc/ssl/certs`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use rustls::RootCertStore;
use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::CertificateDer;

/// CA bundle files, in the order tried: Debian, Ubuntu, Alpine, Buildroot, Yocto;
/// Fedora, RHEL; openSUSE; the ca-trust extraction; OpenWrt, Alpine, BSDs.
const BUNDLE_FILES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/etc/pki/tls/cacert.pem",
];

/// The directory of individual CA files, tried when no bundle file exists.
const CERT_DIR: &str = "/etc/ssl/certs";

/// A loaded system trust store and where it came from, for the log.
#[derive(Debug)]
pub(crate) struct SystemTrustStore {
    /// The roots.
    pub(crate) roots: RootCertStore,
    /// Where they were read, e.g. `/etc/ssl/certs/ca-certificates.crt` or
    /// `SSL_CERT_FILE=/x.pem`.
    pub(crate) description: String,
}

/// Loads the system trust store; `env` looks up an environment variable (the process's
/// environment in the server, a fake one in tests). The error says where it looked.
pub(crate) fn load(env: impl Fn(&str) -> Option<OsString>) -> Result<SystemTrustStore, String> {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    let file = set("SSL_CERT_FILE").map(PathBuf::from);
    let dirs = set("SSL_CERT_DIR");
    if file.is_some() || dirs.is_some() {
        // As OpenSSL: the variables replace the built-in locations.
        let mut roots = RootCertStore::empty();
        let mut from = Vec::new();
        if let Some(f) = &file {
            let certs = read_file(f)
                .map_err(|e| format!("SSL_CERT_FILE={}: cannot read the file: {e}", f.display()))?;
            add(&mut roots, certs);
            from.push(format!("SSL_CERT_FILE={}", f.display()));
        }
        if let Some(d) = &dirs {
            for dir in std::env::split_paths(d) {
                add(&mut roots, read_dir(&dir));
            }
            from.push(format!("SSL_CERT_DIR={}", d.to_string_lossy()));
        }
        let description = from.join(", ");
        if roots.is_empty() {
            return Err(format!("{description}: no CA certificate found"));
        }
        return Ok(SystemTrustStore { roots, description });
    }
    for f in BUNDLE_FILES {
        let path = Path::new(f);
        if !path.is_file() {
            continue;
        }
        let mut roots = RootCertStore::empty();
        match read_file(path) {
            Ok(certs) => add(&mut roots, certs),
            Err(e) => log::debug!("System CA bundle {f} not used: {e}"),
        }
        if !roots.is_empty() {
            return Ok(SystemTrustStore {
                roots,
                description: f.to_string(),
            });
        }
    }
    let mut roots = RootCertStore::empty();
    add(&mut roots, read_dir(Path::new(CERT_DIR)));
    if !roots.is_empty() {
        return Ok(SystemTrustStore {
            roots,
            description: CERT_DIR.to_string(),
        });
    }
    Err(format!(
        "no system trust store found (looked for {} and the directory {CERT_DIR}; \
         SSL_CERT_FILE and SSL_CERT_DIR are not set)",
        BUNDLE_FILES.join(", ")
    ))
}

/// Adds the certificates usable as trust anchors; a system bundle may hold a few that are
/// not (unsupported algorithms, expired encodings): they are skipped, as OpenSSL does.
fn add(roots: &mut RootCertStore, certs: Vec<CertificateDer<'static>>) {
    let (_, ignored) = roots.add_parsable_certificates(certs);
    if ignored > 0 {
        log::debug!("{ignored} certificate(s) of the system trust store skipped (not usable)");
    }
}

/// The certificates of one PEM file.
fn read_file(path: &Path) -> std::io::Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path)?;
    Ok(<(SectionKind, Vec<u8>)>::pem_slice_iter(&bytes)
        .filter_map(|s| match s {
            Ok((SectionKind::Certificate, der)) => Some(CertificateDer::from(der)),
            _ => None,
        })
        .collect())
}

/// The certificates of every readable PEM file of a directory (OpenSSL's hashed
/// directory: `5ad8a5d6.0` links, `*.pem`, `*.crt`); unreadable entries are skipped.
fn read_dir(dir: &Path) -> Vec<CertificateDer<'static>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    crate::small_sort::sort_by(&mut paths, Ord::cmp);
    let mut out = Vec::new();
    for p in paths.iter().filter(|p| p.is_file()) {
        if let Ok(certs) = read_file(p) {
            out.extend(certs);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem(name: &str) -> String {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, name.to_string());
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().pem()
    }

    fn temp_dir(tag: &str) -> PathBuf {
        crate::testing::temp_dir(&format!("trust-{tag}"))
    }

    #[test]
    fn ssl_cert_file_and_dir_replace_the_built_in_locations() {
        let dir = temp_dir("env");
        let file = dir.join("bundle.pem");
        std::fs::write(&file, ca_pem("one") + &ca_pem("two")).unwrap();
        let certs = dir.join("certs");
        std::fs::create_dir(&certs).unwrap();
        std::fs::write(certs.join("a.pem"), ca_pem("three")).unwrap();
        std::fs::write(certs.join("junk.txt"), "not a certificate").unwrap();

        let env_file = file.clone();
        let s = load(|k| (k == "SSL_CERT_FILE").then(|| env_file.clone().into())).unwrap();
        assert_eq!(s.roots.len(), 2);
        assert_eq!(s.description, format!("SSL_CERT_FILE={}", file.display()));

        let env_dir = certs.clone();
        let s = load(|k| (k == "SSL_CERT_DIR").then(|| env_dir.clone().into())).unwrap();
        assert_eq!(s.roots.len(), 1);
        assert!(
            s.description.starts_with("SSL_CERT_DIR="),
            "{}",
            s.description
        );

        let (f, d) = (file.clone(), certs.clone());
        let s = load(|k| match k {
            "SSL_CERT_FILE" => Some(f.clone().into()),
            "SSL_CERT_DIR" => Some(d.clone().into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.roots.len(), 3);

        // Set but empty of certificates, or missing: an error naming the variable.
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let e = load(|k| (k == "SSL_CERT_FILE").then(|| empty.clone().into())).unwrap_err();
        assert!(
            e.contains("SSL_CERT_FILE=") && e.contains("no CA certificate"),
            "{e}"
        );
        let missing = dir.join("missing.pem");
        let e = load(|k| (k == "SSL_CERT_FILE").then(|| missing.clone().into())).unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_the_variables_the_system_bundle_is_used() {
        // Whatever this machine has: a bundle file of the list, the directory, or none.
        match load(|_| None) {
            Ok(s) => {
                assert!(!s.roots.is_empty());
                assert!(
                    BUNDLE_FILES.contains(&s.description.as_str()) || s.description == CERT_DIR,
                    "{}",
                    s.description
                );
                if Path::new(BUNDLE_FILES[0]).is_file() {
                    assert_eq!(s.description, BUNDLE_FILES[0]);
                }
            }
            Err(e) => assert!(e.contains("no system trust store found"), "{e}"),
        }
        // Empty variables count as unset.
        let a = load(|_| Some(OsString::new())).map(|s| s.description);
        let b = load(|_| None).map(|s| s.description);
        assert_eq!(a, b);
    }
}
