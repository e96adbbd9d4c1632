//! The development certificate: `falconet dev-certs` creates a self-signed certificate
//! for `localhost`, `127.0.0.1` and `::1` (an ECDSA P-256 key, made with `ring`) in a
//! per-user data directory.
//!
//! The certificate is its own trust anchor: clients are told to trust this one
//! certificate (`curl --cacert`, the system store, NSS). So it is an end-entity
//! certificate without a Basic Constraints or Key Usage extension: OpenSSL, NSS (trust
//! flags `C,,`) and webpki (rustls) all accept such a self-signed leaf as its own root,
//! while `CA:TRUE` makes webpki refuse it as a server certificate (`CaUsedAsEndEntity`)
//! and an explicit `CA:FALSE` makes NSS refuse it as an authority.
//! falconet prints how to trust it but never changes a trust store itself.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use super::certs::{self, civil_from_days, format_date};
use super::{Certificate, CertificateSource};

/// The certificate's file name in [`dev_cert_dir`].
const CERT_FILE: &str = "localhost.crt";
/// The key's file name in [`dev_cert_dir`].
const KEY_FILE: &str = "localhost.key";
/// How long a new development certificate is valid (from the day before it is made, so
/// that a clock slightly behind does not refuse it).
const VALIDITY_DAYS: i64 = 365;

/// The per-user directory of the development certificate:
/// `$XDG_DATA_HOME/falconet/dev-certs`, else `$HOME/.local/share/falconet/dev-certs`.
pub fn dev_cert_dir() -> Option<PathBuf> {
    dir_from(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
}

/// [`dev_cert_dir`] from the values of `XDG_DATA_HOME` and `HOME`. As the XDG Base
/// Directory specification says, an empty or relative `XDG_DATA_HOME` is ignored.
fn dir_from(xdg_data_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let data_home = match xdg_data_home.map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => PathBuf::from(home.filter(|home| !home.is_empty())?).join(".local/share"),
    };
    Some(data_home.join("falconet").join("dev-certs"))
}

/// The development certificate, when `falconet dev-certs` has created one (and it has not
/// expired).
pub fn dev_certificate() -> Option<CertificateSource> {
    certificate_in(&dev_cert_dir()?, SystemTime::now())
}

/// The certificate and key in `dir` if both exist and the certificate is valid at `now`.
/// Whether the key matches is left to [`Certificate::load`], which reports it clearly.
fn certificate_in(dir: &Path, now: SystemTime) -> Option<CertificateSource> {
    let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
    if !key.is_file() {
        return None;
    }
    let validity = read_validity(&cert)?;
    if now > validity.not_after {
        log::warn!(
            "The development certificate \"{}\" expired on {}; run `falconet dev-certs` to \
             make a new one",
            cert.display(),
            format_date(validity.not_after)
        );
        return None;
    }
    Some(CertificateSource::pem(cert, key))
}

/// The validity of the first certificate of a PEM file.
fn read_validity(path: &Path) -> Option<certs::Validity> {
    let der = CertificateDer::from_pem_file(path).ok()?;
    certs::validity(&der)
}

/// Runs `falconet dev-certs [--check] [--clean] [--force] [--trust]` with the arguments
/// after `dev-certs`; prints what it did and returns the process exit code.
///
/// Exit codes: 0 success (for `--check` and `--trust`: a valid certificate exists), 1
/// failure (for `--check` and `--trust`: none), 2 bad arguments.
pub fn run_dev_certs_command(args: &[String]) -> i32 {
    run(
        dev_cert_dir(),
        args,
        SystemTime::now(),
        &mut io::stdout().lock(),
        &mut io::stderr().lock(),
    )
}

const USAGE: &str = "\
Usage: falconet dev-certs [--check | --clean | --force | --trust | --help]

Creates a self-signed HTTPS development certificate for localhost, 127.0.0.1 and ::1,
valid for a year, in $XDG_DATA_HOME/falconet/dev-certs (default
$HOME/.local/share/falconet/dev-certs).

  (no option)  create the certificate unless a valid one exists; say how to trust it
  --force      create a new certificate even if a valid one exists
  --check      exit with 0 if a valid certificate exists, 1 if not
  --clean      remove the certificate and its key
  --trust      print how to make clients trust the certificate (falconet never
               changes trust stores itself); exit with 1 if there is no valid one
  --help       print this help
";

/// What the command was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create { force: bool },
    Check,
    Clean,
    Trust,
    Help,
}

fn parse_args(args: &[String]) -> Option<Action> {
    match args {
        [] => Some(Action::Create { force: false }),
        [arg] => match arg.as_str() {
            "--force" => Some(Action::Create { force: true }),
            "--check" => Some(Action::Check),
            "--clean" => Some(Action::Clean),
            "--trust" => Some(Action::Trust),
            "--help" | "-h" => Some(Action::Help),
            _ => None,
        },
        _ => None,
    }
}

/// What is in the development certificate directory.
#[derive(Debug)]
enum Status {
    /// Neither the certificate nor the key.
    Missing,
    /// Files that cannot be used: the reason.
    Invalid(String),
    /// A good certificate that expired at this time.
    Expired(SystemTime),
    /// A good certificate, valid until this time.
    Valid(SystemTime),
}

fn status(dir: &Path, now: SystemTime) -> Status {
    let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
    if !cert.exists() && !key.exists() {
        return Status::Missing;
    }
    if let Err(e) = Certificate::load(&CertificateSource::pem(&cert, &key)) {
        return Status::Invalid(e.to_string());
    }
    match read_validity(&cert) {
        None => Status::Invalid(format!(
            "The validity period of \"{}\" could not be read",
            cert.display()
        )),
        Some(validity) if now > validity.not_after => Status::Expired(validity.not_after),
        Some(validity) => Status::Valid(validity.not_after),
    }
}

/// [`run_dev_certs_command`] on directory `dir` at time `now`, printing to `out` and `err`.
fn run(
    dir: Option<PathBuf>,
    args: &[String],
    now: SystemTime,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    // Output that cannot be written (a closed pipe) does not change the exit code.
    let Some(action) = parse_args(args) else {
        let _ = writeln!(
            err,
            "falconet dev-certs: unknown arguments: {}\n",
            args.join(" ")
        );
        let _ = err.write_all(USAGE.as_bytes());
        return 2;
    };
    if action == Action::Help {
        let _ = out.write_all(USAGE.as_bytes());
        return 0;
    }
    let Some(dir) = dir else {
        let _ = writeln!(
            err,
            "falconet dev-certs: no directory for the development certificate: neither \
             XDG_DATA_HOME nor HOME is set"
        );
        return 1;
    };
    let cert = dir.join(CERT_FILE);
    match action {
        Action::Help => 0,
        Action::Check => match status(&dir, now) {
            Status::Valid(not_after) => {
                let _ = writeln!(
                    out,
                    "A valid development certificate exists: \"{}\" (valid until {}).",
                    cert.display(),
                    format_date(not_after)
                );
                0
            }
            other => {
                let _ = writeln!(
                    out,
                    "No valid development certificate: {}.",
                    describe(&other, &dir)
                );
                1
            }
        },
        Action::Trust => match status(&dir, now) {
            Status::Valid(_) => {
                let _ = out.write_all(trust_instructions(&cert).as_bytes());
                0
            }
            Status::Missing => {
                let _ = writeln!(
                    err,
                    "falconet dev-certs: there is no development certificate to trust in \"{}\": \
                     run `falconet dev-certs` to create one, then `falconet dev-certs --trust`.",
                    dir.display()
                );
                1
            }
            other => {
                let _ = writeln!(
                    err,
                    "falconet dev-certs: there is no valid development certificate to trust: {}; \
                     run `falconet dev-certs --force` to replace it, then `falconet dev-certs --trust`.",
                    describe(&other, &dir)
                );
                1
            }
        },
        Action::Clean => match clean(&dir) {
            Ok(true) => {
                let _ = writeln!(
                    out,
                    "Removed the development certificate and its key from \"{}\".\n\
                     If you made clients trust it, remove it there as well, for example:\n  \
                     sudo rm /usr/local/share/ca-certificates/falconet-dev.crt && sudo update-ca-certificates --fresh\n  \
                     certutil -d sql:$HOME/.pki/nssdb -D -n falconet-dev",
                    dir.display()
                );
                0
            }
            Ok(false) => {
                let _ = writeln!(
                    out,
                    "There is no development certificate in \"{}\".",
                    dir.display()
                );
                0
            }
            Err(e) => {
                let _ = writeln!(err, "falconet dev-certs: {e}");
                1
            }
        },
        Action::Create { force } => {
            let current = status(&dir, now);
            if let (false, Status::Valid(not_after)) = (force, &current) {
                let _ = writeln!(
                    out,
                    "A valid development certificate already exists (valid until {}):\n  \
                     certificate: {}\n  key:         {}\n\
                     Run `falconet dev-certs --force` to replace it.\n",
                    format_date(*not_after),
                    cert.display(),
                    dir.join(KEY_FILE).display()
                );
                let _ = out.write_all(trust_instructions(&cert).as_bytes());
                return 0;
            }
            if !matches!(current, Status::Missing | Status::Valid(_)) {
                let _ = writeln!(
                    out,
                    "Replacing the development certificate: {}.",
                    describe(&current, &dir)
                );
            }
            match create(&dir, now) {
                Ok(not_after) => {
                    let _ = writeln!(
                        out,
                        "Created a development certificate for localhost, 127.0.0.1 and ::1 \
                         (valid until {}):\n  certificate: {}\n  key:         {}\n",
                        format_date(not_after),
                        cert.display(),
                        dir.join(KEY_FILE).display()
                    );
                    let _ = out.write_all(trust_instructions(&cert).as_bytes());
                    0
                }
                Err(e) => {
                    let _ = writeln!(
                        err,
                        "falconet dev-certs: the development certificate could not be created \
                         in \"{}\": {e}",
                        dir.display()
                    );
                    1
                }
            }
        }
    }
}

/// Why there is no usable certificate, for messages.
fn describe(status: &Status, dir: &Path) -> String {
    match status {
        Status::Missing => format!("there is none in \"{}\"", dir.display()),
        Status::Invalid(reason) => reason.clone(),
        Status::Expired(at) => format!("the certificate expired on {}", format_date(*at)),
        Status::Valid(until) => format!("the certificate is valid until {}", format_date(*until)),
    }
}

/// How to make common clients trust the certificate at `cert`.
fn trust_instructions(cert: &Path) -> String {
    let path = shell_quote(cert);
    format!(
        "The certificate is self-signed: clients trust it only once told to\n\
         (falconet never changes trust stores itself).\n\
         - curl:\n    curl --cacert {path} https://localhost:5001/\n\
         - The system store of Debian and Ubuntu (OpenSSL, curl, most programs):\n    \
         sudo cp {path} /usr/local/share/ca-certificates/falconet-dev.crt\n    \
         sudo update-ca-certificates\n\
         - Firefox and Chrome: import the file as an authority in the browser's \
         certificate settings,\n  or with certutil (in libnss3-tools; each Firefox profile \
         has a database of its own):\n    \
         certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n falconet-dev -i {path}\n"
    )
}

/// `path` as one shell word.
fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Removes the certificate and key (and the directory if that leaves it empty); whether
/// there was anything to remove.
fn clean(dir: &Path) -> io::Result<bool> {
    let mut removed = false;
    for name in [CERT_FILE, KEY_FILE] {
        let path = dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => removed = true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("\"{}\" could not be removed: {e}", path.display()),
                ))
            }
        }
    }
    // Only an empty directory is removed; anything else the user put there stays.
    let _ = fs::remove_dir(dir);
    Ok(removed)
}

/// Makes a new certificate and key in `dir` (replacing any); returns when it expires.
fn create(dir: &Path, now: SystemTime) -> io::Result<SystemTime> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // `mode` applies only to directories it creates.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    let generated = generate(now)?;
    // Key first: a certificate never sits next to a key from an older run for long, and
    // an interrupted run leaves a mismatch that `--check` reports and a rerun repairs.
    write_file(&dir.join(KEY_FILE), generated.key_pem.as_bytes(), 0o600)?;
    write_file(&dir.join(CERT_FILE), generated.cert_pem.as_bytes(), 0o644)?;
    Ok(generated.not_after)
}

/// Writes `path` whole or not at all (a temporary file renamed over it), with `mode`.
fn write_file(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    let _ = fs::remove_file(&temporary);
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temporary)?;
        // The umask may have narrowed `mode`; a key must never be wider than 0600.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// A new certificate and its key, in PEM.
struct Generated {
    cert_pem: String,
    key_pem: String,
    not_after: SystemTime,
}

/// A self-signed ECDSA P-256 certificate for `localhost`, `127.0.0.1` and `::1`, valid
/// from the day before `now` for [`VALIDITY_DAYS`]; its key in PKCS#8.
///
/// Written here with `ring` (which rustls links anyway) rather than a certificate
/// library: one fixed certificate shape does not need one.
fn generate(now: SystemTime) -> Result<Generated, io::Error> {
    use ring::rand::{SecureRandom, SystemRandom};
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

    let failed = |what: &str| io::Error::other(format!("cannot {what}"));
    let rng = SystemRandom::new();
    let alg = &ECDSA_P256_SHA256_ASN1_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).map_err(|_| failed("generate a key"))?;
    let key = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng)
        .map_err(|_| failed("load the new key"))?;

    let today = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64 / 86_400);
    let last_day = today + VALIDITY_DAYS;
    let mut serial = [0u8; 16];
    rng.fill(&mut serial)
        .map_err(|_| failed("draw a serial number"))?;
    serial[0] = (serial[0] & 0x7f) | 0x40; // positive, and 16 bytes long

    // RFC 5280, 4.1. OIDs: ecdsa-with-SHA256, commonName, organizationName,
    // id-ecPublicKey, prime256v1, subjectAltName, extKeyUsage, id-kp-serverAuth.
    const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    const CN: &[u8] = &[0x55, 0x04, 0x03];
    const O: &[u8] = &[0x55, 0x04, 0x0a];
    const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const SAN: &[u8] = &[0x55, 0x1d, 0x11];
    const EKU: &[u8] = &[0x55, 0x1d, 0x25];
    const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
    let signature_alg = tlv(0x30, &tlv(0x06, ECDSA_SHA256));
    let attribute = |oid: &[u8], value: &str| {
        tlv(
            0x31,
            &tlv(
                0x30,
                &[tlv(0x06, oid), tlv(0x0c, value.as_bytes())].concat(),
            ),
        )
    };
    let name = tlv(
        0x30,
        &[
            attribute(CN, "localhost"),
            attribute(O, "falconet development certificate"),
        ]
        .concat(),
    );
    let validity = tlv(0x30, &[time(today - 1), time(last_day)].concat());
    let mut point = vec![0]; // BIT STRING: no unused bits
    point.extend_from_slice(key.public_key().as_ref());
    let spki = tlv(
        0x30,
        &[
            tlv(0x30, &[tlv(0x06, EC_PUBLIC_KEY), tlv(0x06, P256)].concat()),
            tlv(0x03, &point),
        ]
        .concat(),
    );
    let names = tlv(
        0x30,
        &[
            tlv(0x82, b"localhost"),    // dNSName
            tlv(0x87, &[127, 0, 0, 1]), // iPAddress
            tlv(0x87, &std::net::Ipv6Addr::LOCALHOST.octets()),
        ]
        .concat(),
    );
    let extension =
        |oid: &[u8], value: &[u8]| tlv(0x30, &[tlv(0x06, oid), tlv(0x04, value)].concat());
    // No Basic Constraints and no Key Usage: see the module's documentation.
    let extensions = tlv(
        0xa3,
        &tlv(
            0x30,
            &[
                extension(SAN, &names),
                extension(EKU, &tlv(0x30, &tlv(0x06, SERVER_AUTH))),
            ]
            .concat(),
        ),
    );
    let tbs = tlv(
        0x30,
        &[
            tlv(0xa0, &tlv(0x02, &[2])), // version 3
            tlv(0x02, &serial),
            signature_alg.clone(),
            name.clone(),
            validity,
            name,
            spki,
            extensions,
        ]
        .concat(),
    );
    let signature = key
        .sign(&rng, &tbs)
        .map_err(|_| failed("sign the certificate"))?;
    let mut bits = vec![0];
    bits.extend_from_slice(signature.as_ref());
    let cert = tlv(0x30, &[tbs, signature_alg, tlv(0x03, &bits)].concat());
    Ok(Generated {
        cert_pem: pem("CERTIFICATE", &cert),
        key_pem: pem("PRIVATE KEY", pkcs8.as_ref()),
        not_after: UNIX_EPOCH + Duration::from_secs(last_day as u64 * 86_400),
    })
}

/// A DER TLV.
fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let len = value.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
    out
}

/// Midnight UTC of `day` (days since 1970) as an X.509 Time: UTCTime until 2049,
/// GeneralizedTime from 2050 (RFC 5280, 4.1.2.5).
fn time(day: i64) -> Vec<u8> {
    let (y, m, d) = civil_from_days(day);
    if y < 2050 {
        tlv(
            0x17,
            format!("{:02}{m:02}{d:02}000000Z", y % 100).as_bytes(),
        )
    } else {
        tlv(0x18, format!("{y:04}{m:02}{d:02}000000Z").as_bytes())
    }
}

/// `der` as a PEM block with `label`.
fn pem(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut base64 = Vec::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            base64.push(if i <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * i)) as usize & 63]
            } else {
                b'='
            });
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in base64.chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::certs::tests::handshake;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("falconet-devcert-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Runs the command in `dir`: exit code, stdout, stderr.
    fn run_in(dir: &Path, args: &[&str], now: SystemTime) -> (i32, String, String) {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(Some(dir.to_path_buf()), &args, now, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directory() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            dir_from(os("/data"), os("/home/u")),
            Some(PathBuf::from("/data/falconet/dev-certs"))
        );
        assert_eq!(
            dir_from(None, os("/home/u")),
            Some(PathBuf::from("/home/u/.local/share/falconet/dev-certs"))
        );
        assert_eq!(
            dir_from(os(""), os("/home/u")),
            Some(PathBuf::from("/home/u/.local/share/falconet/dev-certs"))
        );
        assert_eq!(
            dir_from(os("relative"), os("/home/u")),
            Some(PathBuf::from("/home/u/.local/share/falconet/dev-certs"))
        );
        assert_eq!(dir_from(None, None), None);
        assert_eq!(dir_from(None, os("")), None);
    }

    #[test]
    fn create_check_force_clean() {
        let root = temp_dir("lifecycle");
        let dir = root.join("share/falconet/dev-certs");
        let now = SystemTime::now();
        let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));

        assert_eq!(run_in(&dir, &["--check"], now).0, 1);
        assert_eq!(certificate_in(&dir, now), None);

        let (code, out, err) = run_in(&dir, &[], now);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.starts_with("Created a development certificate"),
            "{out}"
        );
        assert!(out.contains(&cert.display().to_string()), "{out}");
        assert!(out.contains(&format!(
            "curl --cacert {} https://localhost:5001/",
            cert.display()
        )));
        assert!(out.contains("update-ca-certificates"), "{out}");
        assert!(out.contains("certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n falconet-dev"));
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&key), 0o600);
        assert_eq!(
            certificate_in(&dir, now),
            Some(CertificateSource::pem(&cert, &key))
        );

        let (code, out, _) = run_in(&dir, &["--check"], now);
        assert_eq!(code, 0);
        assert!(
            out.starts_with("A valid development certificate exists"),
            "{out}"
        );

        // A second run keeps the certificate.
        let first = fs::read(&cert).unwrap();
        let (code, out, _) = run_in(&dir, &[], now);
        assert_eq!(code, 0);
        assert!(
            out.starts_with("A valid development certificate already exists"),
            "{out}"
        );
        assert_eq!(fs::read(&cert).unwrap(), first);

        // --force replaces it.
        let (code, out, _) = run_in(&dir, &["--force"], now);
        assert_eq!(code, 0);
        assert!(out.starts_with("Created"), "{out}");
        assert_ne!(fs::read(&cert).unwrap(), first);
        assert_eq!(mode(&key), 0o600);
        assert_eq!(run_in(&dir, &["--check"], now).0, 0);

        let (code, out, _) = run_in(&dir, &["--trust"], now);
        assert_eq!(code, 0);
        assert!(out.contains("curl --cacert"), "{out}");
        assert!(!out.contains("Created"), "{out}");

        let (code, out, _) = run_in(&dir, &["--clean"], now);
        assert_eq!(code, 0);
        assert!(out.starts_with("Removed"), "{out}");
        assert!(!cert.exists() && !key.exists() && !dir.exists());
        assert_eq!(run_in(&dir, &["--check"], now).0, 1);
        let (code, out, _) = run_in(&dir, &["--clean"], now);
        assert_eq!(code, 0);
        assert!(
            out.starts_with("There is no development certificate"),
            "{out}"
        );
        let (code, out, err) = run_in(&dir, &["--trust"], now);
        assert_eq!(code, 1);
        assert_eq!(
            out, "",
            "no instructions for a certificate that does not exist"
        );
        assert!(
            err.starts_with("falconet dev-certs: there is no development certificate to trust"),
            "{err}"
        );

        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn expired_and_broken_certificates() {
        let dir = temp_dir("expired");
        let two_years_ago = SystemTime::now() - Duration::from_secs(2 * 365 * 86_400);
        assert_eq!(run_in(&dir, &[], two_years_ago).0, 0);
        let now = SystemTime::now();
        assert_eq!(certificate_in(&dir, now), None);
        let (code, out, _) = run_in(&dir, &["--check"], now);
        assert_eq!(code, 1);
        assert!(out.contains("the certificate expired on"), "{out}");
        // An expired certificate is not worth trusting.
        let (code, out, err) = run_in(&dir, &["--trust"], now);
        assert_eq!((code, out.as_str()), (1, ""));
        assert!(
            err.contains("no valid development certificate to trust: the certificate expired on")
                && err.contains("falconet dev-certs --force"),
            "{err}"
        );
        // Running again replaces the expired certificate.
        let (code, out, _) = run_in(&dir, &[], now);
        assert_eq!(code, 0);
        assert!(
            out.starts_with("Replacing the development certificate: the certificate expired on"),
            "{out}"
        );
        assert_eq!(run_in(&dir, &["--check"], now).0, 0);

        // A key that does not match.
        fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tls/other.key"),
            dir.join(KEY_FILE),
        )
        .unwrap();
        let (code, out, _) = run_in(&dir, &["--check"], now);
        assert_eq!(code, 1);
        assert!(out.contains("does not match the certificate"), "{out}");
        // Only the key.
        fs::remove_file(dir.join(CERT_FILE)).unwrap();
        let (code, out, _) = run_in(&dir, &["--check"], now);
        assert_eq!(code, 1);
        assert!(out.contains("could not be read: No such file"), "{out}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn arguments() {
        let dir = temp_dir("arguments");
        let now = SystemTime::now();
        let (code, out, _) = run_in(&dir, &["--help"], now);
        assert_eq!(
            (code, out.starts_with("Usage: falconet dev-certs")),
            (0, true)
        );
        for bad in [&["--bogus"][..], &["--check", "--clean"], &["force"]] {
            let (code, out, err) = run_in(&dir, bad, now);
            assert_eq!(code, 2, "{bad:?}");
            assert!(out.is_empty());
            assert!(
                err.starts_with("falconet dev-certs: unknown arguments: "),
                "{err}"
            );
            assert!(err.contains("Usage: falconet dev-certs"), "{err}");
        }
        // Nothing was created.
        assert!(!dir.join(CERT_FILE).exists());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(None, &[], now, &mut out, &mut err), 1);
        assert!(String::from_utf8(err)
            .unwrap()
            .contains("neither XDG_DATA_HOME nor HOME"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn generated_certificate() {
        let now = SystemTime::now();
        let generated = generate(now).unwrap();
        let certificate =
            Certificate::from_pem(generated.cert_pem.as_bytes(), generated.key_pem.as_bytes())
                .unwrap();
        assert!(generated.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let der = certificate.chain()[0].clone();
        let validity = certs::validity(&der).unwrap();
        assert!(validity.not_before < now);
        let days = validity.not_after.duration_since(now).unwrap().as_secs() / 86_400;
        assert!((364..=365).contains(&days), "{days}");
        assert_eq!(validity.not_after, generated.not_after);

        // webpki (a rustls client) accepts it with itself as the only root, for each of its
        // names and no other.
        for name in ["localhost", "127.0.0.1", "::1"] {
            handshake(&certificate, vec![der.clone()], name)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for name in ["example.com", "127.0.0.2"] {
            assert!(
                handshake(&certificate, vec![der.clone()], name).is_err(),
                "{name}"
            );
        }
        // Another development certificate is not trusted by this one.
        let other = generate(now).unwrap();
        let other_der = CertificateDer::from_pem_slice(other.cert_pem.as_bytes()).unwrap();
        assert!(handshake(&certificate, vec![other_der], "localhost").is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote(Path::new("/home/u/a.crt")), "/home/u/a.crt");
        assert_eq!(
            shell_quote(Path::new("/home/my dir/a.crt")),
            "'/home/my dir/a.crt'"
        );
        assert_eq!(shell_quote(Path::new("/it's")), r"'/it'\''s'");
    }
}
