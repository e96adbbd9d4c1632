//! HTTP/1 request head parser (src/http1/head.rs).
//!
//! Invariants: a head that parses re-encodes (request line, then its fields as parsed) to a
//! head that parses to the same head, consuming exactly the re-encoded bytes; the parser
//! decides (a head or an error) once the input is longer than the limits allow a head to
//! be, so a connection never buffers more than that waiting for one; the bytes consumed lie
//! inside the input; a prefix of a head that parses is never an error other than one the
//! whole input gives too (the parse is monotone: more bytes do not turn an error into a head).
#![no_main]

use falconet::fuzzing::{parse_head, Head, HeadLimits, MAX_LEADING_EMPTY_LINES};
use libfuzzer_sys::fuzz_target;

fn encode(head: &Head) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(head.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(head.target.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(match head.version {
        http::Version::HTTP_10 => b"HTTP/1.0",
        _ => b"HTTP/1.1",
    });
    out.extend_from_slice(b"\r\n");
    for (name, value) in &head.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn same(a: &Head, b: &Head) {
    assert_eq!(a.method, b.method);
    assert_eq!(a.target, b.target);
    assert_eq!(a.version, b.version);
    assert_eq!(a.headers, b.headers);
    assert_eq!(a.framing, b.framing);
    assert_eq!(a.keep_alive, b.keep_alive);
    assert_eq!(a.expect_continue, b.expect_continue);
    assert_eq!(a.upgrade, b.upgrade);
    assert_eq!(a.host, b.host);
}

fuzz_target!(|data: &[u8]| {
    // First byte: limits (small ones, so the fuzzer reaches them).
    let Some((&sel, input)) = data.split_first() else {
        return;
    };
    let limits = HeadLimits {
        max_request_line_size: [8192, 64, 24, 300][usize::from(sel & 3)],
        max_headers_total_size: [32768, 128, 40, 1000][usize::from((sel >> 2) & 3)],
        max_header_count: [100, 3, 1, 0][usize::from((sel >> 4) & 3)],
        allow_bare_lf: sel & 0x40 != 0,
    };
    let parsed = parse_head(input, limits);
    match &parsed {
        Ok(Some((head, n))) => {
            assert!(*n > 0 && *n <= input.len());
            let bytes = encode(head);
            // The re-encoding may be longer than the original (OWS, `HTTP/1.0`, a
            // normalised target): parse it without the byte caps.
            let loose = HeadLimits {
                max_request_line_size: usize::MAX / 4,
                max_headers_total_size: usize::MAX / 4,
                max_header_count: usize::MAX / 4,
                allow_bare_lf: false,
            };
            match parse_head(&bytes, loose) {
                Ok(Some((again, m))) => {
                    assert_eq!(m, bytes.len());
                    same(head, &again);
                }
                other => panic!(
                    "re-encoded head {:?} does not parse: {other:?}",
                    String::from_utf8_lossy(&bytes)
                ),
            }
        }
        Ok(None) => {
            // Undecided: the input must still fit in what the limits allow a head.
            let bound = 2 * MAX_LEADING_EMPTY_LINES
                + limits.max_request_line_size
                + limits.max_headers_total_size;
            assert!(
                input.len() <= bound,
                "{} bytes buffered without a decision (bound {bound})",
                input.len()
            );
        }
        Err(status) => assert!((400..=505).contains(status), "{status}"),
    }
    // Monotone: every prefix of an input that gives a head either needs more bytes or gives
    // that head (the same length), never an error.
    if let Ok(Some((head, n))) = &parsed {
        for cut in [n / 2, n.saturating_sub(1)] {
            match parse_head(&input[..cut], limits) {
                Ok(None) => {}
                Ok(Some((h, m))) => {
                    // A shorter complete head would have been found first.
                    panic!("prefix of {cut} gave a head of {m}: {h:?} vs {head:?}")
                }
                Err(e) => panic!("prefix of {cut} of a valid head is an error {e}"),
            }
        }
    }
});
