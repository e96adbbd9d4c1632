//! The HTTPS keys of the JSON configuration (Kestrel's schema): `Certificate`, `Sni`,
//! `SslProtocols`, `ClientCertificateMode`, `Certificates:Default`, plus falconet's
//! `ClientCertificateCA` (a PEM bundle of the CAs client certificates must chain to, on an
//! endpoint, in `EndpointDefaults` or in an `Sni` entry; without it they are validated
//! against the system trust store, as Kestrel does) and `HandshakeTimeout`.

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

/// `SslProtocols`: an array or comma-separated string of .NET's `SslProtocols` names.
/// `Tls12` and `Tls13` are offered (`None` and `Default` mean both, the system default).
/// `Tls` (1.0), `Tls11`, `Ssl2` and `Ssl3` cannot be offered (rustls implements TLS 1.2 and
/// 1.3 only): they are dropped with one warning naming them, as Microsoft's own samples
/// list `["Tls11", "Tls12"]`; only a list with no version left is an error.
pub(crate) fn ssl_protocols(
    v: &Value,
    path: &str,
    w: &mut Vec<String>,
) -> Result<Option<Vec<TlsVersion>>, Error> {
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
    let mut dropped: Vec<&str> = Vec::new();
    for p in parts.iter().filter(|p| !p.is_empty()) {
        match p.to_ascii_lowercase().as_str() {
            "tls12" => out.push(TlsVersion::Tls12),
            "tls13" => out.push(TlsVersion::Tls13),
            "none" | "default" => {
                out.push(TlsVersion::Tls12);
                out.push(TlsVersion::Tls13);
            }
            "tls" | "tls11" | "ssl2" | "ssl3" => dropped.push(p),
            _ => return Err(bad(v, path, EXPECTED)),
        }
    }
    if !dropped.is_empty() {
        let names = dropped.join(", ");
        if out.is_empty() {
            return Err(bad(
                v,
                path,
                &format!(
                    "no TLS version left that can be offered: {names} (TLS 1.1 and older) are                      not supported; use Tls12 and/or Tls13"
                ),
            ));
        }
        crate::small_sort::sort_by_key(&mut out, |v| *v as u8);
        out.dedup();
        let kept = out
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" and ");
        w.push(format!(
            "{path}: {names} ignored: TLS 1.1 and older are not supported; offering {kept}"
        ));
    }
    if out.is_empty() {
        return Ok(None);
    }
    crate::small_sort::sort_by_key(&mut out, |v| *v as u8);
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
            "sslprotocols" => out.ssl_protocols = ssl_protocols(v, &p, w)?,
            "clientcertificatemode" => out.client_certificate_mode = client_mode(v, &p)?,
            "clientcertificateca" => {
                out.client_certificate_ca =
                    string(v, &p)?.filter(|s| !s.is_empty()).map(PathBuf::from)
            }
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
        "sslprotocols" => https.ssl_protocols = ssl_protocols(v, &path, w)?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ssl(v: Value) -> (Result<Option<Vec<TlsVersion>>, Error>, Vec<String>) {
        let mut w = Vec::new();
        let r = ssl_protocols(&v, "Kestrel:Endpoints:E:SslProtocols", &mut w);
        (r, w)
    }

    #[test]
    fn ssl_protocols_drop_versions_rustls_cannot_offer_with_one_warning() {
        // Microsoft's SNI sample.
        let (r, w) = ssl(json!(["Tls11", "Tls12"]));
        assert_eq!(r.unwrap(), Some(vec![TlsVersion::Tls12]));
        assert_eq!(
            w,
            vec![
                "Kestrel:Endpoints:E:SslProtocols: Tls11 ignored: TLS 1.1 and older are not \
                 supported; offering TLSv1.2"
                    .to_string()
            ]
        );
        // Every unsupported name in one warning, as given; the string form too.
        let (r, w) = ssl(json!("Ssl3, Tls, Tls11, Tls13, Tls12"));
        assert_eq!(r.unwrap(), Some(vec![TlsVersion::Tls12, TlsVersion::Tls13]));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("Ssl3, Tls, Tls11 ignored"), "{w:?}");
        assert!(w[0].contains("TLSv1.2 and TLSv1.3"), "{w:?}");
        // Nothing left: refused, naming them.
        let (r, w) = ssl(json!(["Tls11", "ssl2"]));
        let e = r.unwrap_err().to_string();
        assert!(e.contains("Kestrel:Endpoints:E:SslProtocols"), "{e}");
        assert!(e.contains("Tls11, ssl2"), "{e}");
        assert!(w.is_empty());
        // Supported lists stay silent.
        let (r, w) = ssl(json!(["Tls13", "Tls12", "Tls13"]));
        assert_eq!(r.unwrap(), Some(vec![TlsVersion::Tls12, TlsVersion::Tls13]));
        assert!(w.is_empty(), "{w:?}");
        let (r, w) = ssl(json!("None"));
        assert_eq!(r.unwrap(), Some(vec![TlsVersion::Tls12, TlsVersion::Tls13]));
        assert!(w.is_empty());
        assert!(ssl(json!(["Tls14"])).0.is_err());
        assert_eq!(ssl(json!([])).0.unwrap(), None);
    }

    #[test]
    fn sni_entries_take_a_client_ca() {
        let mut https = HttpsOptions::default();
        let mut w = Vec::new();
        let sni = json!({
            "a.example.org": {
                "ClientCertificateMode": "RequireCertificate",
                "ClientCertificateCA": "/etc/falconet/clients.pem"
            },
            "*": {}
        });
        assert!(endpoint_key(&mut https, "Sni", &sni, "Kestrel:Endpoints:E", &mut w).unwrap());
        assert!(w.is_empty(), "{w:?}");
        let a = &https
            .sni
            .iter()
            .find(|(n, _)| n == "a.example.org")
            .unwrap()
            .1;
        assert_eq!(
            a.client_certificate_ca.as_deref(),
            Some(std::path::Path::new("/etc/falconet/clients.pem"))
        );
        assert_eq!(
            a.client_certificate_mode,
            Some(ClientCertificateMode::RequireCertificate)
        );
        let any = &https.sni.iter().find(|(n, _)| n == "*").unwrap().1;
        assert_eq!(any.client_certificate_ca, None);
    }
}
