//! The certificate and key loaders (src/tls/): PEM chains and keys (PKCS#8, PKCS#1, SEC1,
//! encrypted PKCS#8), PKCS#12 files, and the hand-written DER reader, PBES2/PKCS#12
//! decryption and base64 under them (src/tls/der.rs, pkcs12.rs, pbe.rs, certs.rs).
//!
//! Fuzz builds skip the PKCS#12 MAC's verdict and cap the KDF work (see fuzz/README.md),
//! so that changed contents reach the code that reads them.
//!
//! Invariants: no panic, no unbounded allocation or work on any input, with any password;
//! failures are errors with a message; a decrypted PKCS#8 key is one whole DER SEQUENCE;
//! a PKCS#12 file that reads gives a key and a non-empty chain; base64 that decodes
//! re-encodes to the same bytes; no strict prefix of a certificate the X.509 reader reads
//! reads too.
#![no_main]

use falconet::fuzzing::tls;
use libfuzzer_sys::fuzz_target;

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// A whole DER SEQUENCE (definite length) and nothing after it.
fn is_one_sequence(der: &[u8]) -> bool {
    let [0x30, first, rest @ ..] = der else {
        return false;
    };
    let (len, rest) = if *first < 0x80 {
        (usize::from(*first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return false;
        }
        (
            rest[..n]
                .iter()
                .fold(0usize, |l, &b| l << 8 | usize::from(b)),
            &rest[n..],
        )
    };
    rest.len() == len
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let password = ["falconet", "", "wrong", "p\u{e4}ss"][usize::from(sel >> 4 & 3)];
    match sel & 7 {
        0 => {
            if let Err(e) = tls::load_file(rest, Some(password)) {
                assert!(!e.is_empty());
            }
        }
        1 => {
            let (chain, key) = match rest.iter().position(|&b| b == 0) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => rest.split_at(rest.len() / 2),
            };
            let pw = (sel & 0x40 != 0).then_some(password);
            if let Err(e) = tls::load_pem(chain, key, pw) {
                assert!(!e.is_empty());
            }
        }
        2 => {
            if let Ok(plain) = tls::decrypt_private_key_info(rest, password) {
                assert!(is_one_sequence(&plain), "decrypted key is not one SEQUENCE");
            }
        }
        3 => match tls::read_pkcs12(rest, password) {
            Ok((key, chain)) => {
                assert!(!key.is_empty());
                assert!(!chain.is_empty(), "a PKCS#12 read without a certificate");
                assert!(chain.iter().all(|c| !c.is_empty()));
            }
            Err(e) => assert!(!e.is_empty()),
        },
        4 => {
            if let Some(out) = tls::pem_contents(rest) {
                let again = format!("-----BEGIN X-----\n{}\n-----END X-----\n", b64(&out));
                assert_eq!(tls::pem_contents(again.as_bytes()), Some(out));
            }
        }
        5 => {
            // DER has definite lengths: a strict prefix of a certificate that reads is
            // never a certificate too.
            if tls::x509(rest).is_some() {
                for cut in [rest.len() - 1, rest.len() / 2] {
                    assert_eq!(tls::x509(&rest[..cut]), None, "a prefix of {cut} reads");
                }
            }
        }
        _ => {
            // A PEM key file around a DER body, encrypted: the PEM path to the decryptor.
            let mut pem = b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n".to_vec();
            pem.extend_from_slice(b64(rest).as_bytes());
            pem.extend_from_slice(b"\n-----END ENCRYPTED PRIVATE KEY-----\n");
            let _ = tls::load_pem(b"", &pem, Some(password));
            let _ = tls::load_file(&pem, Some(password));
        }
    }
});
