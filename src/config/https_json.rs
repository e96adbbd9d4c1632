//! The HTTPS keys of the JSON configuration (Kestrel's schema): `Certificate`, `Sni`,
//! `SslProtocols`, `ClientCertificateMode`, `Certificates:Default`, plus falconet's
//! `ClientCertificateCA` (a PEM bundle; Kestrel validates against the OS store) and
//! `HandshakeTimeout`.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::json::{bad, duration, object, protocols, string, unknown};
use crate::tls::{CertificateSource, ClientCertificateMode, HttpsOptions, SniOptions, TlsVersion};
use crate::Error;

type Object = Map<String, Value>;

/// `Certificate` (or `Certificates:Default`): `Path`, `KeyPath`, `Password`. Store-based
/// keys (`Subject`, `Store`, `Location`, `AllowInvalid`) are Windows/.NET certificate store
/// settings and refused with an explanation.
pub(crate) fn certificate(v: &Value, path: &str) -> Result<Option<CertificateSource>, Error> {
    let Some(map) = object(v, path)? else {
        return Ok(None);
    };
    let mut file = None;
    let mut key = None;
    let mut password = None;
    for (k, v) in map {
        match k.to_ascii_lowercase().as_str() {
            "path" => file = string(v, &format!("{path}:Path"))?.map(PathBuf::from),
            "keypath" => key = string(v, &format!("{path}:KeyPath"))?.map(PathBuf::from),
            "password" => password = string(v, &format!("{path}:Password"))?.map(str::to_string),
            "subject" | "store" | "location" | "allowinvalid" => {
                return Err(Error::config(format!(
                    "{path}:{k}: certificate stores are not supported; give the certificate as \
                     files with {path}:Path and {path}:KeyPath (PEM) or {path}:Path and \
                     {path}:Password (PKCS#12)"
                )))
            }
            _ => {
                return Err(Error::config(format!(
                    "{path}: unknown key '{k}'; expected Path, KeyPath and Password"
                )))
            }
        }
    }
    let Some(file) = file.filter(|p| !p.as_os_str().is_empty()) else {
        if key.is_none() && password.is_none() {
            return Ok(None);
        }
        return Err(Error::config(format!(
            "{path}:Path is missing: the certificate file is required"
        )));
    };
    Ok(Some(CertificateSource {
        path: file,
        key_path: key.filter(|p| !p.as_os_str().is_empty()),
        password,
    }))
}

/// `SslProtocols`: an array or comma-separated string of `Tls12`, `Tls13` (`None` and
/// `Default` mean both). TLS 1.0/1.1 are refused.
pub(crate) fn ssl_protocols(v: &Value, path: &str) -> Result<Option<Vec<TlsVersion>>, Error> {
    const EXPECTED: &str = r#"expected ["Tls12", "Tls13"], "Tls12", "Tls13" or "None""#;
    let parts: Vec<String> = match v {
        Value::Null => return Ok(None),
        Value::String(s) => s.split(',').map(|p| p.trim().to_string()).collect(),
        Value::Array(items) => {
            let mut out = Vec::new();
            for i in items {
                match i {
                    Value::String(s) => out.push(s.trim().to_string()),
                    _ => return Err(bad(v, path, EXPECTED)),
                }
            }
            out
        }
        _ => return Err(bad(v, path, EXPECTED)),
    };
    let mut out = Vec::new();
    for p in parts.iter().filter(|p| !p.is_empty()) {
        match p.to_ascii_lowercase().as_str() {
            "tls12" => out.push(TlsVersion::Tls12),
            "tls13" => out.push(TlsVersion::Tls13),
            "none" | "default" => {
                out.push(TlsVersion::Tls12);
                out.push(TlsVersion::Tls13);
            }
            "tls" | "tls11" | "ssl2" | "ssl3" => {
                return Err(bad(
                    v,
                    path,
                    "TLS 1.1 and older are not supported (insecure); use Tls12 and/or Tls13",
                ))
            }
            _ => return Err(bad(v, path, EXPECTED)),
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    out.dedup();
    Ok(Some(out))
}

pub(crate) fn client_mode(v: &Value, path: &str) -> Result<Option<ClientCertificateMode>, Error> {
    const EXPECTED: &str = "expected NoCertificate, AllowCertificate or RequireCertificate";
    let Some(s) = string(v, path).map_err(|_| bad(v, path, EXPECTED))? else {
        return Ok(None);
    };
    Ok(Some(match s.trim().to_ascii_lowercase().as_str() {
        "" => return Ok(None),
        "nocertificate" => ClientCertificateMode::NoCertificate,
        "allowcertificate" => ClientCertificateMode::AllowCertificate,
        "requirecertificate" => ClientCertificateMode::RequireCertificate,
        "delaycertificate" => {
            return Err(bad(
                v,
                path,
                "DelayCertificate (renegotiation) is not supported; use AllowCertificate or \
                 RequireCertificate",
            ))
        }
        _ => return Err(bad(v, path, EXPECTED)),
    }))
}

/// One `Sni:<name>` entry.
fn sni_entry(v: &Value, path: &str, w: &mut Vec<String>) -> Result<SniOptions, Error> {
    let mut out = SniOptions::default();
    let Some(map) = object(v, path)? else {
        return Ok(out);
    };
    for (k, v) in map {
        let p = format!("{path}:{k}");
        match k.to_ascii_lowercase().as_str() {
            "certificate" => out.certificate = certificate(v, &p)?,
            "protocols" => out.protocols = protocols(v, &p, w)?,
            "sslprotocols" => out.ssl_protocols = ssl_protocols(v, &p)?,
            "clientcertificatemode" => out.client_certificate_mode = client_mode(v, &p)?,
            _ => w.push(unknown(path, k)),
        }
    }
    Ok(out)
}

/// Applies one HTTPS key of an endpoint (`Certificate`, `Sni`, ...) to `https`. Returns
/// `false` when `key` is not an HTTPS key.
pub(crate) fn endpoint_key(
    https: &mut HttpsOptions,
    key: &str,
    v: &Value,
    p: &str,
    w: &mut Vec<String>,
) -> Result<bool, Error> {
    let path = format!("{p}:{key}");
    match key.to_ascii_lowercase().as_str() {
        "certificate" => https.certificate = certificate(v, &path)?,
        "sslprotocols" => https.ssl_protocols = ssl_protocols(v, &path)?,
        "clientcertificatemode" => https.client_certificate_mode = client_mode(v, &path)?,
        "clientcertificateca" => {
            https.client_certificate_ca = string(v, &path)?
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        }
        "handshaketimeout" => https.handshake_timeout = duration(v, &path)?,
        "sni" => {
            https.sni.clear();
            if let Some(map) = object(v, &path)? {
                for (name, entry) in map {
                    let e = sni_entry(entry, &format!("{path}:{name}"), w)?;
                    https.sni.push((name.clone(), e));
                }
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `Kestrel:Certificates`: `Default` is used; other named entries are ignored with a warning.
pub(crate) fn certificates(
    map: &Object,
    default: &mut Option<CertificateSource>,
    w: &mut Vec<String>,
) -> Result<(), Error> {
    for (k, v) in map {
        if k.eq_ignore_ascii_case("default") {
            *default = certificate(v, "Kestrel:Certificates:Default")?;
        } else {
            w.push(format!(
                "Configuration key 'Kestrel:Certificates:{k}' has no effect: only \
                 Kestrel:Certificates:Default is used"
            ));
        }
    }
    Ok(())
}
