//! Password-based decryption of private keys and PKCS#12 contents.
//!
//! - PBES2 (RFC 8018) with PBKDF2 (HMAC-SHA-1, -SHA-256, -SHA-384 or -SHA-512) or scrypt
//!   (RFC 7914), and AES-128/192/256-CBC: what `openssl pkcs8 -topk8`, OpenSSL 3's
//!   `genpkey -aes-256-cbc` and OpenSSL 3's PKCS#12 files use.
//! - With the `tls-pkcs12` feature, PKCS#12's own PBE (RFC 7292, appendix B and C): 3DES
//!   or RC2 with the PKCS#12 key derivation, as in legacy PFX files.
//!
//! Hashing, HMAC and PBKDF2 come from `ring`, which rustls already links; AES-CBC from
//! the `aes` and `cbc` crates. Only decryption: falconet never writes encrypted keys.

use ring::pbkdf2;
#[cfg(feature = "tls-pkcs12")]
use ring::{digest, hmac};

use super::der::{self, Reader, OCTET_STRING, SEQUENCE};

/// Why decryption failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Error {
    /// Bad padding after decryption, or plaintext that is not DER: the password is wrong.
    WrongPassword,
    /// The parameters are malformed or not supported: the reason.
    Invalid(String),
}

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Error {
        Error::Invalid(
            match e {
                der::Error::Malformed => "its DER encoding is invalid",
                der::Error::IndefiniteLength => {
                    "it uses BER indefinite lengths, not DER; convert it with OpenSSL"
                }
            }
            .into(),
        )
    }
}

fn invalid(what: impl Into<String>) -> Error {
    Error::Invalid(what.into())
}

/// 1.2.840.113549.1.5.13, PBES2.
const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
/// 1.2.840.113549.1.5.12, PBKDF2.
const PBKDF2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
/// 1.3.6.1.4.1.11591.4.11, scrypt.
const SCRYPT: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x04, 0x0b];
/// 1.2.840.113549.2.N, the HMAC PRFs (7 SHA-1, 8 SHA-224, 9 SHA-256, 10 SHA-384, 11
/// SHA-512), without the last arc.
const HMAC_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02];
/// 2.16.840.1.101.3.4.1.N, AES (2 AES-128-CBC, 22 AES-192-CBC, 42 AES-256-CBC), without
/// the last arc.
const AES_PREFIX: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01];
/// 1.2.840.113549.1.12.1.N, the PKCS#12 PBE algorithms, without the last arc.
#[cfg(feature = "tls-pkcs12")]
const PKCS12_PBE_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];

/// The most PBKDF2 or PKCS#12 KDF iterations accepted (OpenSSL writes 2,048 or 600,000 in
/// newer versions; 10,000,000 is already minutes of work on a small board).
/// Fuzz builds allow fewer, so that one input cannot take seconds.
const MAX_ITERATIONS: u64 = if cfg!(fuzzing) { 20_000 } else { 10_000_000 };
/// The most memory scrypt may ask for (OpenSSL's default is 16 MiB: N = 16384, r = 8).
/// Counted as scrypt allocates it: the table V (128·r·N octets) and the p blocks B
/// (128·r·p), plus two working blocks. Fuzz builds allow 32 MiB, so that one input cannot
/// take seconds.
const MAX_SCRYPT_MEMORY: u64 = if cfg!(fuzzing) { 32 << 20 } else { 256 << 20 };

/// Decrypts `data` with the scheme of AlgorithmIdentifier `alg` (its whole encoding).
pub(super) fn decrypt(alg: &[u8], data: &[u8], password: &str) -> Result<Vec<u8>, Error> {
    let (oid, params) = Reader::new(alg).read_algorithm()?;
    if oid == PBES2 {
        return pbes2(params, data, password);
    }
    #[cfg(feature = "tls-pkcs12")]
    if let Some((&n, PKCS12_PBE_PREFIX)) = oid.split_last() {
        return pkcs12_pbe(n, params, data, password);
    }
    Err(invalid(
        "it is encrypted with an unsupported scheme (PBES2 with AES-CBC is supported)",
    ))
}

/// Decrypts a PKCS#8 `EncryptedPrivateKeyInfo` (RFC 5958) to the PKCS#8 `PrivateKeyInfo`.
pub(super) fn decrypt_private_key_info(der: &[u8], password: &str) -> Result<Vec<u8>, Error> {
    let mut outer = Reader::new(der);
    let mut info = Reader::new(outer.read(SEQUENCE)?);
    let alg = info.read_whole(SEQUENCE)?;
    let data = info.read(OCTET_STRING)?;
    if !info.is_empty() || !outer.is_empty() {
        return Err(der::Error::Malformed.into());
    }
    let plain = decrypt(alg, data, password)?;
    // A wrong password gives bad padding, or (1 time in ~256) good padding around
    // garbage that is not a PrivateKeyInfo.
    let mut r = Reader::new(&plain);
    match (r.read(SEQUENCE), r.is_empty()) {
        (Ok(_), true) => Ok(plain),
        _ => Err(Error::WrongPassword),
    }
}

/// The contents of a PEM block (`-----BEGIN ...-----` to `-----END ...-----`), base64
/// decoded; `None` if it is not valid base64.
pub(super) fn pem_contents(block: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(block).ok()?;
    let mut out = Vec::with_capacity(block.len() * 3 / 4);
    let (mut acc, mut bits, mut padding) = (0u32, 0u32, 0usize);
    for line in text.lines().map(str::trim) {
        if line.starts_with("-----") || line.is_empty() {
            continue;
        }
        for c in line.bytes() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' => {
                    padding += 1;
                    continue;
                }
                _ => return None,
            };
            if padding > 0 {
                return None; // data after padding
            }
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
    }
    (padding <= 2).then_some(out)
}

/// PBES2 (RFC 8018, 6.2): the key from PBKDF2 or scrypt, then AES-CBC.
fn pbes2(params: &[u8], data: &[u8], password: &str) -> Result<Vec<u8>, Error> {
    let mut p = Reader::new(Reader::new(params).read(SEQUENCE)?);
    let (kdf, kdf_params) = p.read_algorithm()?;
    let (cipher, cipher_params) = p.read_algorithm()?;
    let key_len = match cipher.split_last() {
        Some((2, AES_PREFIX)) => 16,
        Some((22, AES_PREFIX)) => 24,
        Some((42, AES_PREFIX)) => 32,
        _ => return Err(invalid("its PBES2 cipher is not supported (AES-CBC is)")),
    };
    let iv = Reader::new(cipher_params).read(OCTET_STRING)?;
    let mut key = vec![0; key_len];
    let mut k = Reader::new(Reader::new(kdf_params).read(SEQUENCE)?);
    let salt = k.read(OCTET_STRING)?;
    let password = password.as_bytes();
    if kdf == PBKDF2 {
        let iterations = k.read_u64()?;
        if k.peek_tag() == Some(der::INTEGER) && k.read_u64()? != key_len as u64 {
            return Err(invalid("its PBKDF2 key length does not fit the cipher"));
        }
        let prf = if k.is_empty() {
            pbkdf2::PBKDF2_HMAC_SHA1
        } else {
            match k.read_algorithm()?.0.split_last() {
                Some((7, HMAC_PREFIX)) => pbkdf2::PBKDF2_HMAC_SHA1,
                Some((9, HMAC_PREFIX)) => pbkdf2::PBKDF2_HMAC_SHA256,
                Some((10, HMAC_PREFIX)) => pbkdf2::PBKDF2_HMAC_SHA384,
                Some((11, HMAC_PREFIX)) => pbkdf2::PBKDF2_HMAC_SHA512,
                _ => return Err(invalid("its PBKDF2 hash is not supported (SHA-1 or SHA-2)")),
            }
        };
        let iterations = iterations
            .try_into()
            .ok()
            .filter(|&n: &u32| u64::from(n) <= MAX_ITERATIONS)
            .and_then(std::num::NonZeroU32::new)
            .ok_or_else(|| invalid("its PBKDF2 iteration count is out of range"))?;
        pbkdf2::derive(prf, iterations, salt, password, &mut key);
    } else if kdf == SCRYPT {
        let (n, r, p) = (k.read_u64()?, k.read_u64()?, k.read_u64()?);
        scrypt(password, salt, n, r, p, &mut key)?;
    } else {
        return Err(invalid(
            "its PBES2 key derivation is not supported (PBKDF2 or scrypt)",
        ));
    }
    aes_cbc_decrypt(&key, iv, data)
}

fn aes_cbc_decrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, Error> {
    use cbc::cipher::block_padding::Pkcs7;
    use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
    let bad_iv = || invalid("its AES-CBC IV is not 16 bytes");
    let plain = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(|_| bad_iv())?
            .decrypt_padded_vec::<Pkcs7>(data),
        24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
            .map_err(|_| bad_iv())?
            .decrypt_padded_vec::<Pkcs7>(data),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map_err(|_| bad_iv())?
            .decrypt_padded_vec::<Pkcs7>(data),
    };
    plain.map_err(|_| Error::WrongPassword)
}

/// scrypt (RFC 7914) into `out`.
fn scrypt(
    password: &[u8],
    salt: &[u8],
    n: u64,
    r: u64,
    p: u64,
    out: &mut [u8],
) -> Result<(), Error> {
    // V (N blocks), B (p blocks) and two blocks of scratch, each of 128·r octets: p counts
    // too (a small N with a huge r and p = 16 asked for 16 times the cap in B alone).
    let memory = n
        .checked_add(p)
        .and_then(|blocks| blocks.checked_add(2))
        .and_then(|blocks| blocks.checked_mul(r))
        .and_then(|x| x.checked_mul(128));
    if n < 2
        || !n.is_power_of_two()
        || r == 0
        || p == 0
        || p > 16
        || memory.is_none_or(|m| m > MAX_SCRYPT_MEMORY)
    {
        return Err(invalid("its scrypt parameters are out of range"));
    }
    let (n, r, p) = (n as usize, r as usize, p as usize);
    let one = std::num::NonZeroU32::MIN;
    let mut b = vec![0u8; p * 128 * r];
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, one, salt, password, &mut b);
    let mut v = vec![0u32; n * 32 * r];
    for chunk in b.chunks_mut(128 * r) {
        let mut x: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let mut scratch = vec![0u32; 32 * r];
        for i in 0..n {
            v[i * 32 * r..(i + 1) * 32 * r].copy_from_slice(&x);
            block_mix(&x, &mut scratch, r);
            std::mem::swap(&mut x, &mut scratch);
        }
        for _ in 0..n {
            let last = &x[(2 * r - 1) * 16..];
            let j = (u64::from(last[0]) | (u64::from(last[1]) << 32)) as usize & (n - 1);
            for (a, b) in x.iter_mut().zip(&v[j * 32 * r..(j + 1) * 32 * r]) {
                *a ^= b;
            }
            block_mix(&x, &mut scratch, r);
            std::mem::swap(&mut x, &mut scratch);
        }
        for (dst, w) in chunk.chunks_mut(4).zip(&x) {
            dst.copy_from_slice(&w.to_le_bytes());
        }
    }
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, one, &b, password, out);
    Ok(())
}

/// scrypt's BlockMix with Salsa20/8 over 2r 64-byte blocks (as words).
fn block_mix(input: &[u32], out: &mut [u32], r: usize) {
    let mut x = [0u32; 16];
    x.copy_from_slice(&input[(2 * r - 1) * 16..]);
    for i in 0..2 * r {
        for (a, b) in x.iter_mut().zip(&input[i * 16..(i + 1) * 16]) {
            *a ^= b;
        }
        salsa20_8(&mut x);
        // Even blocks to the first half, odd ones to the second.
        let at = (i / 2 + (i % 2) * r) * 16;
        out[at..at + 16].copy_from_slice(&x);
    }
}

fn salsa20_8(b: &mut [u32; 16]) {
    let mut x = *b;
    let mut quarter = |a: usize, b: usize, c: usize, d: usize| {
        x[b] ^= x[a].wrapping_add(x[d]).rotate_left(7);
        x[c] ^= x[b].wrapping_add(x[a]).rotate_left(9);
        x[d] ^= x[c].wrapping_add(x[b]).rotate_left(13);
        x[a] ^= x[d].wrapping_add(x[c]).rotate_left(18);
    };
    for _ in 0..4 {
        quarter(0, 4, 8, 12);
        quarter(5, 9, 13, 1);
        quarter(10, 14, 2, 6);
        quarter(15, 3, 7, 11);
        quarter(0, 1, 2, 3);
        quarter(5, 6, 7, 4);
        quarter(10, 11, 8, 9);
        quarter(15, 12, 13, 14);
    }
    for (a, x) in b.iter_mut().zip(x) {
        *a = a.wrapping_add(x);
    }
}

/// The hashes PKCS#12 MACs and key derivations use.
#[cfg(feature = "tls-pkcs12")]
#[derive(Debug, Clone, Copy)]
pub(super) struct Hash {
    digest: &'static digest::Algorithm,
    hmac: hmac::Algorithm,
}

#[cfg(feature = "tls-pkcs12")]
impl Hash {
    pub(super) const SHA1: Hash = Hash {
        digest: &digest::SHA1_FOR_LEGACY_USE_ONLY,
        hmac: hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
    };

    /// The hash of a DigestInfo's AlgorithmIdentifier OID: SHA-1 or SHA-256/384/512.
    pub(super) fn from_oid(oid: &[u8]) -> Option<Hash> {
        const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
        const SHA2_PREFIX: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
        let (digest, hmac) = match oid.split_last() {
            _ if oid == SHA1 => return Some(Hash::SHA1),
            Some((1, SHA2_PREFIX)) => (&digest::SHA256, hmac::HMAC_SHA256),
            Some((2, SHA2_PREFIX)) => (&digest::SHA384, hmac::HMAC_SHA384),
            Some((3, SHA2_PREFIX)) => (&digest::SHA512, hmac::HMAC_SHA512),
            _ => return None,
        };
        Some(Hash { digest, hmac })
    }

    pub(super) fn output_len(self) -> usize {
        self.digest.output_len()
    }

    /// Whether `tag` is the HMAC of `message` under `key` (in constant time).
    pub(super) fn verify_hmac(self, key: &[u8], message: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&hmac::Key::new(self.hmac, key), message, tag).is_ok()
    }

    /// The PKCS#12 key derivation (RFC 7292, appendix B.2): `len` bytes of purpose `id`
    /// (1 key, 2 IV, 3 MAC key) from `password` (BMPString with its two zero bytes).
    pub(super) fn pkcs12_kdf(
        self,
        id: u8,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        len: usize,
    ) -> Vec<u8> {
        let v = self.digest.block_len();
        let fill = |s: &[u8]| -> Vec<u8> {
            let target = s.len().div_ceil(v) * v;
            s.iter().copied().cycle().take(target).collect()
        };
        let mut i = fill(salt);
        i.extend(fill(password));
        let mut out = Vec::with_capacity(len);
        loop {
            let mut ctx = digest::Context::new(self.digest);
            ctx.update(&vec![id; v]);
            ctx.update(&i);
            let mut a = ctx.finish();
            for _ in 1..iterations {
                a = digest::digest(self.digest, a.as_ref());
            }
            out.extend_from_slice(a.as_ref());
            if out.len() >= len {
                out.truncate(len);
                return out;
            }
            // I_j = (I_j + B + 1) mod 2^(8v) for each v-byte block of I, B = A repeated.
            let b: Vec<u8> = a.as_ref().iter().copied().cycle().take(v).collect();
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
#[cfg(feature = "tls-pkcs12")]
pub(super) fn bmp_password(password: &str) -> Vec<u8> {
    let mut out: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    out.extend([0, 0]);
    out
}

/// An iteration count read from DER, checked.
#[cfg(feature = "tls-pkcs12")]
pub(super) fn iterations(n: u64) -> Result<u32, Error> {
    u32::try_from(n)
        .ok()
        .filter(|&n| n > 0 && u64::from(n) <= MAX_ITERATIONS)
        .ok_or_else(|| invalid("its iteration count is out of range"))
}

/// PKCS#12's PBE (RFC 7292, appendix C): algorithm `n` of 1.2.840.113549.1.12.1.
#[cfg(feature = "tls-pkcs12")]
fn pkcs12_pbe(n: u8, params: &[u8], data: &[u8], password: &str) -> Result<Vec<u8>, Error> {
    use cbc::cipher::block_padding::Pkcs7;
    use cbc::cipher::{BlockModeDecrypt, KeyIvInit};

    let mut p = Reader::new(Reader::new(params).read(SEQUENCE)?);
    let salt = p.read(OCTET_STRING)?;
    let iterations = iterations(p.read_u64()?)?;
    let bmp = bmp_password(password);
    let derive = |id, len| Hash::SHA1.pkcs12_kdf(id, &bmp, salt, iterations, len);
    let iv = derive(2, 8);
    let plain = match n {
        // pbeWithSHAAnd3-KeyTripleDES-CBC, pbeWithSHAAnd2-KeyTripleDES-CBC
        3 => cbc::Decryptor::<des::TdesEde3>::new_from_slices(&derive(1, 24), &iv)
            .map(|c| c.decrypt_padded_vec::<Pkcs7>(data)),
        4 => cbc::Decryptor::<des::TdesEde2>::new_from_slices(&derive(1, 16), &iv)
            .map(|c| c.decrypt_padded_vec::<Pkcs7>(data)),
        // pbeWithSHAAnd128BitRC2-CBC, pbewithSHAAnd40BitRC2-CBC
        5 | 6 => {
            let key = derive(1, if n == 5 { 16 } else { 5 });
            cbc::Decryptor::<rc2::Rc2>::new_from_slices(&key, &iv)
                .map(|c| c.decrypt_padded_vec::<Pkcs7>(data))
        }
        _ => return Err(invalid("it is encrypted with RC4, which is not supported")),
    };
    plain
        .map_err(|_| invalid("a key of the wrong length"))?
        .map_err(|_| Error::WrongPassword)
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

    /// RFC 7914, section 12 (the first two vectors; the others take too long unoptimised).
    #[test]
    fn scrypt_vectors() {
        let mut out = [0; 64];
        scrypt(b"", b"", 16, 1, 1, &mut out).unwrap();
        assert_eq!(
            out.to_vec(),
            hex(
                "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442\
                 fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"
            )
        );
        scrypt(b"password", b"NaCl", 1024, 8, 16, &mut out).unwrap();
        assert_eq!(
            out.to_vec(),
            hex(
                "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
                 2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
            )
        );
        assert!(
            scrypt(b"", b"", 15, 1, 1, &mut out).is_err(),
            "N not a power of 2"
        );
        assert!(
            scrypt(b"", b"", 1 << 30, 8, 1, &mut out).is_err(),
            "too much memory"
        );
    }

    /// The memory cap counts B (p·128·r octets), not only V: N = 2, r = 2^20, p = 16 kept
    /// V at 256 MiB, within the cap, and then allocated 2 GiB for B (and hashed it for
    /// minutes). Found while writing the `tls` fuzz target.
    #[test]
    fn scrypt_memory_counts_every_block() {
        let mut out = [0; 32];
        let started = std::time::Instant::now();
        assert!(scrypt(b"", b"", 2, 1 << 20, 16, &mut out).is_err());
        assert!(
            scrypt(b"", b"", 1 << 20, 2, 1, &mut out).is_err(),
            "V + B over the cap"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn pem_base64() {
        let block = b"-----BEGIN X-----\nTWFu\nTWE=\n-----END X-----\n";
        assert_eq!(pem_contents(block).unwrap(), b"ManMa");
        assert_eq!(pem_contents(b"TQ==").unwrap(), b"M");
        assert_eq!(pem_contents(b"TQ=x"), None);
        assert_eq!(pem_contents(b"T!=="), None);
    }

    /// The PKCS#12 key derivation against the vectors of OpenSSL's and Bouncy Castle's
    /// tests (password "smeg").
    #[cfg(feature = "tls-pkcs12")]
    #[test]
    fn pkcs12_kdf_vectors() {
        let salt = hex("0a58cf64530d823f");
        let pass = bmp_password("smeg");
        assert_eq!(
            Hash::SHA1.pkcs12_kdf(1, &pass, &salt, 1, 24),
            hex("8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3")
        );
        assert_eq!(
            Hash::SHA1.pkcs12_kdf(2, &pass, &salt, 1, 8),
            hex("79993dfe048d3b76")
        );
    }
}
