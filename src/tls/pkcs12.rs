//! Reading PKCS#12/PFX files (RFC 7292): the private key and the certificates, with the
//! password checked against the file's MAC.
//!
//! Only what a server certificate file needs, on the crypto the build already has for
//! encrypted PKCS#8 keys (`pkcs5`'s PBES2: PBKDF2 or scrypt with AES-CBC; SHA-1 and SHA-2):
//! OpenSSL 3's default files (PBES2 AES-256-CBC, MAC SHA-256), and legacy ones (`openssl
//! pkcs12 -legacy`, Windows, Java: 3DES or RC2 with the PKCS#12 key derivation, MAC
//! SHA-1). DER only, as OpenSSL, Windows, .NET and Java write it.

use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

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

const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
/// `[0] EXPLICIT` (constructed).
const EXPLICIT_0: u8 = 0xa0;
/// `[0] IMPLICIT OCTET STRING` (primitive).
const IMPLICIT_0: u8 = 0x80;

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
/// 1.2.840.113549.1.5.13, PBES2 (RFC 8018).
const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
/// 1.2.840.113549.1.12.1.N, the PKCS#12 PBE algorithms (RFC 7292, appendix C), without
/// the last arc.
const PBE_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];
/// 1.3.14.3.2.26, SHA-1.
const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
/// 2.16.840.1.101.3.4.2.N, the SHA-2 family, without the last arc.
const SHA2_PREFIX: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];

/// The most iterations a key derivation may ask for (OpenSSL writes 2,048; 1,000,000 is
/// already seconds of work on a small board).
const MAX_ITERATIONS: u32 = 10_000_000;

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

    /// The next TLV's tag, contents and whole encoding. Single-byte tags and definite
    /// lengths only (DER).
    fn read_tlv(&mut self) -> Result<(u8, &'a [u8], &'a [u8]), Error> {
        let whole = self.input;
        let malformed = || invalid("its DER encoding is invalid");
        let (&tag, rest) = self.input.split_first().ok_or_else(malformed)?;
        if tag & 0x1f == 0x1f {
            return Err(malformed());
        }
        let (&first, mut rest) = rest.split_first().ok_or_else(malformed)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 {
                return Err(invalid(
                    "it uses BER indefinite lengths; convert it to DER, e.g. with \
                     `openssl pkcs12 -in FILE -nodes | openssl pkcs12 -export -out NEW.pfx`",
                ));
            }
            if count > 4 {
                return Err(malformed());
            }
            let (bytes, after) = rest.split_at_checked(count).ok_or_else(malformed)?;
            rest = after;
            bytes
                .iter()
                .fold(0usize, |len, &b| (len << 8) | usize::from(b))
        };
        let (value, after) = rest.split_at_checked(len).ok_or_else(malformed)?;
        self.input = after;
        Ok((tag, value, &whole[..whole.len() - after.len()]))
    }

    /// The contents of the next TLV, which must have tag `tag`.
    fn read(&mut self, tag: u8) -> Result<&'a [u8], Error> {
        match self.read_tlv()? {
            (t, value, _) if t == tag => Ok(value),
            _ => Err(invalid("its structure is not PKCS#12")),
        }
    }

    /// The whole encoding of the next TLV, which must have tag `tag`.
    fn read_whole(&mut self, tag: u8) -> Result<&'a [u8], Error> {
        match self.read_tlv()? {
            (t, _, whole) if t == tag => Ok(whole),
            _ => Err(invalid("its structure is not PKCS#12")),
        }
    }

    /// A non-negative INTEGER that fits in a `u32`.
    fn read_u32(&mut self) -> Result<u32, Error> {
        let bytes = self.read(INTEGER)?;
        let bytes = match bytes {
            [0, rest @ ..] => rest,
            [b, ..] if b & 0x80 != 0 => return Err(invalid("a negative number")),
            _ => bytes,
        };
        if bytes.len() > 4 {
            return Err(invalid("a number out of range"));
        }
        Ok(bytes.iter().fold(0, |n, &b| (n << 8) | u32::from(b)))
    }
}

/// The hash functions PKCS#12 MACs and key derivations use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_oid(oid: &[u8]) -> Option<Hash> {
        match oid {
            SHA1 => Some(Hash::Sha1),
            [prefix @ .., last] if prefix == SHA2_PREFIX => match last {
                1 => Some(Hash::Sha256),
                2 => Some(Hash::Sha384),
                3 => Some(Hash::Sha512),
                4 => Some(Hash::Sha224),
                _ => None,
            },
            _ => None,
        }
    }

    /// The input block size in bytes (`v` in RFC 7292, appendix B).
    fn block_len(self) -> usize {
        match self {
            Hash::Sha384 | Hash::Sha512 => 128,
            _ => 64,
        }
    }

    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
        match self {
            Hash::Sha1 => run::<Sha1>(parts),
            Hash::Sha224 => run::<Sha224>(parts),
            Hash::Sha256 => run::<Sha256>(parts),
            Hash::Sha384 => run::<Sha384>(parts),
            Hash::Sha512 => run::<Sha512>(parts),
        }
    }

    /// HMAC (RFC 2104) of `message` under `key`.
    fn hmac(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        let block = self.block_len();
        let mut k = if key.len() > block {
            self.digest(&[key])
        } else {
            key.to_vec()
        };
        k.resize(block, 0);
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let inner = self.digest(&[&ipad, message]);
        self.digest(&[&opad, &inner])
    }

    /// The PKCS#12 key derivation (RFC 7292, appendix B.2): `len` bytes of purpose `id`
    /// (1 key, 2 IV, 3 MAC key) from `password` (BMPString with its two zero bytes).
    fn pkcs12_kdf(
        self,
        id: u8,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        len: usize,
    ) -> Vec<u8> {
        let v = self.block_len();
        let fill = |s: &[u8]| -> Vec<u8> {
            if s.is_empty() {
                return Vec::new();
            }
            s.iter()
                .copied()
                .cycle()
                .take(s.len().div_ceil(v) * v)
                .collect()
        };
        let d = vec![id; v];
        let mut i = fill(salt);
        i.extend(fill(password));
        let mut out = Vec::with_capacity(len);
        loop {
            let mut a = self.digest(&[&d, &i]);
            for _ in 1..iterations {
                a = self.digest(&[&a]);
            }
            out.extend_from_slice(&a);
            if out.len() >= len {
                out.truncate(len);
                return out;
            }
            // I_j = (I_j + B + 1) mod 2^(8v) for each v-byte block of I, B = A repeated.
            let b: Vec<u8> = a.iter().copied().cycle().take(v).collect();
            for block in i.chunks_mut(v) {
                let mut carry = 1u16;
                for (x, y) in block.iter_mut().zip(&b).rev() {
                    let sum = u16::from(*x) + u16::from(*y) + carry;
                    *x = sum as u8;
                    carry = sum >> 8;
                }
            }
        }
    }
}

/// The password as a BMPString (UTF-16 big-endian) with two terminating zero bytes, as
/// the PKCS#12 key derivation takes it.
fn bmp_password(password: &str) -> Vec<u8> {
    let mut out: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    out.extend([0, 0]);
    out
}

/// Decrypts `data` encrypted with the algorithm whose whole AlgorithmIdentifier is `alg`.
fn decrypt(alg: &[u8], data: &[u8], password: &str) -> Result<Vec<u8>, Error> {
    let mut r = Reader::new(Reader::new(alg).read(SEQUENCE)?);
    let oid = r.read(OID)?;
    if oid == PBES2 {
        let scheme = pkcs8::pkcs5::EncryptionScheme::try_from(alg)
            .map_err(|e| Error::Invalid(format!("its PBES2 parameters: {e}")))?;
        return scheme.decrypt(password, data).map_err(|e| match e {
            pkcs8::pkcs5::Error::DecryptFailed => Error::WrongPassword,
            e => Error::Invalid(e.to_string()),
        });
    }
    let Some((&n, prefix)) = oid.split_last() else {
        return Err(invalid("an empty algorithm identifier"));
    };
    if prefix != PBE_PREFIX {
        return Err(invalid("it is encrypted with an unsupported algorithm"));
    }
    let mut params = Reader::new(r.read(SEQUENCE)?);
    let salt = params.read(OCTET_STRING)?;
    let iterations = params.read_u32()?;
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(invalid(
            "its key derivation's iteration count is out of range",
        ));
    }
    let bmp = bmp_password(password);
    let derive = |id, len| Hash::Sha1.pkcs12_kdf(id, &bmp, salt, iterations, len);
    use cbc::cipher::block_padding::Pkcs7;
    use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
    let plain = match n {
        // pbeWithSHAAnd3-KeyTripleDES-CBC, pbeWithSHAAnd2-KeyTripleDES-CBC
        3 => cbc::Decryptor::<des::TdesEde3>::new_from_slices(&derive(1, 24), &derive(2, 8))
            .map(|c| c.decrypt_padded_vec::<Pkcs7>(data)),
        4 => cbc::Decryptor::<des::TdesEde2>::new_from_slices(&derive(1, 16), &derive(2, 8))
            .map(|c| c.decrypt_padded_vec::<Pkcs7>(data)),
        // pbeWithSHAAnd128BitRC2-CBC, pbewithSHAAnd40BitRC2-CBC
        5 | 6 => {
            let key = derive(1, if n == 5 { 16 } else { 5 });
            cbc::Decryptor::<rc2::Rc2>::new_from_slices(&key, &derive(2, 8))
                .map(|c| c.decrypt_padded_vec::<Pkcs7>(data))
        }
        _ => return Err(invalid("it is encrypted with RC4, which is not supported")),
    };
    plain
        .map_err(|_| invalid("a key of the wrong length"))?
        .map_err(|_| Error::WrongPassword)
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
            return values.read(OCTET_STRING).map(Some);
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
        let value = bag.read(EXPLICIT_0)?;
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
                    let cert = Reader::new(cert_bag.read(EXPLICIT_0)?).read(OCTET_STRING)?;
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
    let hash = Hash::from_oid(alg.read(OID)?)
        .ok_or_else(|| invalid("its MAC uses an unsupported algorithm"))?;
    let expected = digest_info.read(OCTET_STRING)?;
    let salt = r.read(OCTET_STRING)?;
    let iterations = if r.is_empty() { 1 } else { r.read_u32()? };
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(invalid("its MAC's iteration count is out of range"));
    }
    let out_len = hash.digest(&[]).len();
    let matches = |bmp: &[u8]| {
        let key = hash.pkcs12_kdf(3, bmp, salt, iterations, out_len);
        let mac = hash.hmac(&key, content);
        mac.len() == expected.len()
            && mac.iter().zip(expected).fold(0, |d, (a, b)| d | (a ^ b)) == 0
    };
    // An empty password is two zero bytes, or (some writers) no bytes at all.
    if matches(&bmp_password(password)) || (password.is_empty() && matches(&[])) {
        Ok(())
    } else {
        Err(Error::WrongPassword)
    }
}

/// The certificate's issuer and subject (their DER), for ordering a chain.
fn issuer_and_subject(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut c = Reader::new(Reader::new(cert).read(SEQUENCE).ok()?);
    let mut tbs = Reader::new(c.read(SEQUENCE).ok()?);
    if tbs.input.first() == Some(&EXPLICIT_0) {
        tbs.read(EXPLICIT_0).ok()?; // version
    }
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
    if pfx.read_u32()? != 3 {
        return Err(invalid("it is not a PKCS#12 version 3 file"));
    }
    let mut auth_safe = Reader::new(pfx.read(SEQUENCE)?);
    if auth_safe.read(OID)? != DATA {
        return Err(invalid(
            "it is protected with public keys, not a password, which is not supported",
        ));
    }
    let content = Reader::new(auth_safe.read(EXPLICIT_0)?).read(OCTET_STRING)?;
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
        let value = info.read(EXPLICIT_0)?;
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
            let data = content_info.read(IMPLICIT_0)?;
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

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 2202's and RFC 4231's first test cases.
    #[test]
    fn hmac_vectors() {
        let key = [0x0b; 20];
        assert_eq!(
            Hash::Sha1.hmac(&key, b"Hi There"),
            hex("b617318655057264e28bc0b6fb378c8ef146be00")
        );
        assert_eq!(
            Hash::Sha256.hmac(&key, b"Hi There"),
            hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        );
        // A key longer than the block is hashed first (RFC 4231, 4.7).
        assert_eq!(
            Hash::Sha512.hmac(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First"),
            hex("80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598")
        );
    }

    /// The PKCS#12 key derivation against OpenSSL's `PKCS12_key_gen_utf8` (password
    /// "smeg", the salt and counts of OpenSSL's own test vectors).
    #[test]
    fn pkcs12_kdf_vectors() {
        let salt = hex("0a58cf64530d823f");
        let pass = bmp_password("smeg");
        assert_eq!(
            Hash::Sha1.pkcs12_kdf(1, &pass, &salt, 1, 24),
            hex("8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3")
        );
        assert_eq!(
            Hash::Sha1.pkcs12_kdf(2, &pass, &salt, 1, 8),
            hex("79993dfe048d3b76")
        );
    }

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
