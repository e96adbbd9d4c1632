//! Reading PKCS#12/PFX files (RFC 7292): the private key and the certificates, with the
//! password checked against the file's MAC.
//!
//! Only what a server certificate file needs, with the decryption encrypted PKCS#8 keys
//! use ([`super::pbe`]): OpenSSL 3's default files (PBES2 AES-256-CBC, MAC SHA-256), and
//! legacy ones (`openssl pkcs12 -legacy`, Windows, Java: 3DES or RC2 with the PKCS#12 key
//! derivation, MAC SHA-1). DER only, as OpenSSL, Windows, .NET and Java write it.

use super::der::{self, Reader, CONTEXT_0, INTEGER, OCTET_STRING, OID, PRIMITIVE_0, SEQUENCE, SET};
use super::pbe::{self, bmp_password, decrypt, Hash};

/// Why a file could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Error {
    /// The MAC does not match (or, in a file without one, decryption fails).
    WrongPassword,
    /// Anything else, for the message.
    Invalid(String),
}

/// What a PKCS#12 file holds for a server: its first private key (PKCS#8 DER) and the
/// certificate chain of that key, leaf first.
#[derive(Debug)]
pub(super) struct Contents {
    pub(super) key: Vec<u8>,
    pub(super) chain: Vec<Vec<u8>>,
}

fn invalid(what: &str) -> Error {
    Error::Invalid(what.to_string())
}

/// 1.2.840.113549.1.7.1, id-data.
const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
/// 1.2.840.113549.1.7.6, id-encryptedData.
const ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
/// 1.2.840.113549.1.12.10.1.N, the bag types (RFC 7292, 4.2), without the last arc.
const BAG_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01];
const KEY_BAG: u8 = 1;
const SHROUDED_KEY_BAG: u8 = 2;
const CERT_BAG: u8 = 3;
const SAFE_CONTENTS_BAG: u8 = 6;
/// 1.2.840.113549.1.9.22.1, x509Certificate (the CertBag type).
const X509_CERTIFICATE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
/// 1.2.840.113549.1.9.21, localKeyId (pairs a key with its certificate).
const LOCAL_KEY_ID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x15];
impl From<der::Error> for Error {
    fn from(e: der::Error) -> Error {
        Error::from(pbe::Error::from(e))
    }
}

impl From<pbe::Error> for Error {
    fn from(e: pbe::Error) -> Error {
        match e {
            pbe::Error::WrongPassword => Error::WrongPassword,
            pbe::Error::Invalid(reason) => Error::Invalid(reason),
        }
    }
}

/// A bag's `localKeyId` attribute, if it has one.
fn local_key_id(attributes: Option<&[u8]>) -> Result<Option<&[u8]>, Error> {
    let Some(attributes) = attributes else {
        return Ok(None);
    };
    let mut r = Reader::new(attributes);
    while !r.is_empty() {
        let mut attribute = Reader::new(r.read(SEQUENCE)?);
        if attribute.read(OID)? == LOCAL_KEY_ID {
            let mut values = Reader::new(attribute.read(SET)?);
            return Ok(Some(values.read(OCTET_STRING)?));
        }
    }
    Ok(None)
}

/// The keys and certificates found so far, each with its `localKeyId`.
#[derive(Default)]
struct Found<'a> {
    keys: Vec<(Vec<u8>, Option<&'a [u8]>)>,
    certs: Vec<(Vec<u8>, Option<&'a [u8]>)>,
}

/// Walks a SafeContents (RFC 7292, 4.2), collecting keys and certificates.
fn safe_contents<'a>(
    der: &'a [u8],
    password: &str,
    found: &mut Found<'a>,
    depth: u8,
) -> Result<(), Error> {
    if depth > 4 {
        return Err(invalid("its bags are nested too deeply"));
    }
    let mut bags = Reader::new(Reader::new(der).read(SEQUENCE)?);
    while !bags.is_empty() {
        let mut bag = Reader::new(bags.read(SEQUENCE)?);
        let bag_id = bag.read(OID)?;
        let value = bag.read(CONTEXT_0)?;
        let attributes = if bag.is_empty() {
            None
        } else {
            Some(bag.read(SET)?)
        };
        let id = local_key_id(attributes)?;
        let Some((&kind, prefix)) = bag_id.split_last() else {
            continue;
        };
        if prefix != BAG_PREFIX {
            continue;
        }
        match kind {
            KEY_BAG => found
                .keys
                .push((Reader::new(value).read_whole(SEQUENCE)?.to_vec(), id)),
            SHROUDED_KEY_BAG => {
                // EncryptedPrivateKeyInfo (RFC 5958).
                let mut info = Reader::new(Reader::new(value).read(SEQUENCE)?);
                let alg = info.read_whole(SEQUENCE)?;
                let data = info.read(OCTET_STRING)?;
                found.keys.push((decrypt(alg, data, password)?, id));
            }
            CERT_BAG => {
                let mut cert_bag = Reader::new(Reader::new(value).read(SEQUENCE)?);
                if cert_bag.read(OID)? == X509_CERTIFICATE {
                    let cert = Reader::new(cert_bag.read(CONTEXT_0)?).read(OCTET_STRING)?;
                    // One DER certificate (a SEQUENCE) and nothing else: an empty or cut
                    // one would otherwise go out to clients in the chain.
                    let mut one = Reader::new(cert);
                    let cert = one.read_whole(SEQUENCE)?;
                    if !one.is_empty() {
                        return Err(invalid(
                            "a certificate bag holds bytes after its certificate",
                        ));
                    }
                    found.certs.push((cert.to_vec(), id));
                }
            }
            SAFE_CONTENTS_BAG => safe_contents(value, password, found, depth + 1)?,
            _ => {} // CRLs, secrets
        }
    }
    Ok(())
}

/// Checks the PFX's MAC (RFC 7292, 5.1) over `content` with `password`.
fn verify_mac(mac_data: &[u8], content: &[u8], password: &str) -> Result<(), Error> {
    let mut r = Reader::new(mac_data);
    let mut digest_info = Reader::new(r.read(SEQUENCE)?);
    let mut alg = Reader::new(digest_info.read(SEQUENCE)?);
    let hash = Hash::from_oid(alg.read(OID)?).ok_or_else(|| {
        invalid("its MAC uses an unsupported algorithm (SHA-1, SHA-256, SHA-384 or SHA-512)")
    })?;
    let expected = digest_info.read(OCTET_STRING)?;
    let salt = r.read(OCTET_STRING)?;
    let iterations = if r.is_empty() {
        1
    } else {
        pbe::iterations(r.read_u64()?)?
    };
    let matches = |bmp: &[u8]| {
        let key = hash.pkcs12_kdf(3, bmp, salt, iterations, hash.output_len());
        hash.verify_hmac(&key, content, expected)
    };
    // An empty password is two zero bytes, or (some writers) no bytes at all.
    if matches(&bmp_password(password)) || (password.is_empty() && matches(&[])) {
        Ok(())
    } else if cfg!(fuzzing) {
        // Fuzz builds go on past a MAC that does not match, so that the fuzzer's changes
        // to the contents reach the code that reads them.
        Ok(())
    } else {
        Err(Error::WrongPassword)
    }
}

/// The certificate's issuer and subject (their DER), for ordering a chain.
fn issuer_and_subject(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut c = Reader::new(Reader::new(cert).read(SEQUENCE).ok()?);
    let mut tbs = Reader::new(c.read(SEQUENCE).ok()?);
    tbs.read_optional(CONTEXT_0).ok()?; // version
    tbs.read(INTEGER).ok()?; // serialNumber
    tbs.read(SEQUENCE).ok()?; // signature
    let issuer = tbs.read_whole(SEQUENCE).ok()?;
    tbs.read(SEQUENCE).ok()?; // validity
    let subject = tbs.read_whole(SEQUENCE).ok()?;
    Some((issuer, subject))
}

/// Reads a PKCS#12 file: its first private key and that key's certificate chain (the
/// certificate with the key's `localKeyId`, or the first one, then its issuers found in
/// the file).
pub(super) fn read(bytes: &[u8], password: &str) -> Result<Contents, Error> {
    let mut pfx = Reader::new(Reader::new(bytes).read(SEQUENCE)?);
    if pfx.read_u64()? != 3 {
        return Err(invalid("it is not a PKCS#12 version 3 file"));
    }
    let mut auth_safe = Reader::new(pfx.read(SEQUENCE)?);
    if auth_safe.read(OID)? != DATA {
        return Err(invalid(
            "it is protected with public keys, not a password, which is not supported",
        ));
    }
    let content = Reader::new(auth_safe.read(CONTEXT_0)?).read(OCTET_STRING)?;
    if pfx.is_empty() {
        log::debug!("the PKCS#12 file has no MAC: the password is not checked before decrypting");
    } else {
        verify_mac(pfx.read(SEQUENCE)?, content, password)?;
    }

    // AuthenticatedSafe: ContentInfos, plain or encrypted with the password.
    let mut found = Found::default();
    let mut decrypted = Vec::new();
    let mut infos = Reader::new(Reader::new(content).read(SEQUENCE)?);
    while !infos.is_empty() {
        let mut info = Reader::new(infos.read(SEQUENCE)?);
        let kind = info.read(OID)?;
        let value = info.read(CONTEXT_0)?;
        if kind == DATA {
            safe_contents(
                Reader::new(value).read(OCTET_STRING)?,
                password,
                &mut found,
                0,
            )?;
        } else if kind == ENCRYPTED_DATA {
            let mut encrypted = Reader::new(Reader::new(value).read(SEQUENCE)?);
            encrypted.read(INTEGER)?; // version
            let mut content_info = Reader::new(encrypted.read(SEQUENCE)?);
            content_info.read(OID)?;
            let alg = content_info.read_whole(SEQUENCE)?;
            let data = content_info.read(PRIMITIVE_0)?;
            decrypted.push(decrypt(alg, data, password)?);
        } else {
            return Err(invalid(
                "it holds data encrypted with public keys, which is not supported",
            ));
        }
    }
    let mut found_in_decrypted = Found::default();
    for plain in &decrypted {
        safe_contents(plain, password, &mut found_in_decrypted, 0)?;
    }
    let keys = found.keys.into_iter().chain(found_in_decrypted.keys);
    let mut certs: Vec<(Vec<u8>, Option<&[u8]>)> = found
        .certs
        .into_iter()
        .chain(found_in_decrypted.certs)
        .collect();
    let Some((key, key_id)) = keys.into_iter().next() else {
        return Err(invalid("it holds no private key"));
    };
    if certs.is_empty() {
        return Err(invalid("it holds no certificate"));
    }
    let leaf = key_id
        .and_then(|id| certs.iter().position(|(_, c)| *c == Some(id)))
        .unwrap_or(0);
    let mut chain = vec![certs.remove(leaf).0];
    // Then each certificate's issuer, while the file has it.
    while let Some((issuer, subject)) = chain.last().and_then(|c| issuer_and_subject(c)) {
        if issuer == subject {
            break; // self-signed: the root
        }
        let Some(next) = certs
            .iter()
            .position(|(c, _)| issuer_and_subject(c).is_some_and(|(_, s)| s == issuer))
        else {
            break;
        };
        chain.push(certs.remove(next).0);
    }
    Ok(Contents { key, chain })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl pkcs12 -export` variants beyond the default and `-legacy` files that
    /// `certs.rs` loads (tests/data/tls/README.md says how each was made).
    #[test]
    fn openssl_variants() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
        let pem = |name: &str| {
            use rustls_pki_types::pem::PemObject;
            rustls_pki_types::CertificateDer::from_pem_file(dir.join(name))
                .unwrap()
                .to_vec()
        };
        let (leaf, ca) = (pem("localhost.crt"), pem("ca.crt"));
        for name in [
            "localhost.pfx",
            "localhost-legacy.pfx",
            "localhost-sha512.pfx",
            "localhost-unencrypted.pfx",
            "localhost-3des-nomac.pfx",
        ] {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            let contents = read(&bytes, "falconet").unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(contents.chain, [leaf.clone(), ca.clone()], "{name}");
            assert_eq!(contents.key.first(), Some(&SEQUENCE), "{name}");
            // An unencrypted file still has its MAC; the one without a MAC fails to
            // decrypt (or, rarely, decrypts to garbage that is not DER).
            assert!(read(&bytes, "wrong").is_err(), "{name}");
        }
        let bytes = std::fs::read(dir.join("localhost-nopass.pfx")).unwrap();
        assert_eq!(read(&bytes, "").unwrap().chain.len(), 2);
        assert_eq!(read(&bytes, "x").unwrap_err(), Error::WrongPassword);
    }

    /// DER: `tag`, a length, `content`.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n @ 0..=127 => out.push(n as u8),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    /// A SafeContents with one certificate bag holding `cert`.
    fn cert_bag(cert: &[u8]) -> Vec<u8> {
        let mut bag_id = BAG_PREFIX.to_vec();
        bag_id.push(CERT_BAG);
        let bag = [
            tlv(OID, X509_CERTIFICATE),
            tlv(CONTEXT_0, &tlv(OCTET_STRING, cert)),
        ]
        .concat();
        let safe_bag = [tlv(OID, &bag_id), tlv(CONTEXT_0, &tlv(SEQUENCE, &bag))].concat();
        tlv(SEQUENCE, &tlv(SEQUENCE, &safe_bag))
    }

    /// Found by the `tls` fuzz target: a certificate bag with an empty certificate was
    /// read as a certificate of zero bytes, which would have gone out in the chain.
    #[test]
    fn a_certificate_bag_must_hold_one_certificate() {
        let read_bag = |cert: &[u8]| {
            let der = cert_bag(cert);
            let mut found = Found::default();
            safe_contents(&der, "", &mut found, 0).map(|()| {
                found
                    .certs
                    .iter()
                    .map(|(c, _)| c.clone())
                    .collect::<Vec<_>>()
            })
        };
        let cert = tlv(SEQUENCE, &tlv(SEQUENCE, b"\x02\x01\x01"));
        assert_eq!(read_bag(&cert), Ok(vec![cert.clone()]));
        for bad in [&b""[..], b"\x30", b"\x30\x05\x02\x01", b"\x04\x00"] {
            assert!(matches!(read_bag(bad), Err(Error::Invalid(_))), "{bad:?}");
        }
        let trailing = [cert.as_slice(), b"\x00\x00"].concat();
        assert!(matches!(read_bag(&trailing), Err(Error::Invalid(_))));
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for bytes in [
            &b""[..],
            b"\x30",
            b"\x30\x80\x00\x00",
            b"\x30\x03\x02\x01\x03",
            b"\x04\x00",
        ] {
            assert!(
                matches!(read(bytes, "x"), Err(Error::Invalid(_))),
                "{bytes:?}"
            );
        }
    }
}
