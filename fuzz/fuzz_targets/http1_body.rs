//! HTTP/1 body decoders, Content-Length and chunked (src/http1/body.rs).
//!
//! The input is fed twice: whole, and split into pieces at fuzzer-chosen offsets (one byte
//! at a time in between, as a dripping client sends it). Invariants: both runs give the same
//! payload, the same outcome (done, error status or needs more) and the same trailers; a
//! Content-Length body never yields more than its length, a chunked one never more than
//! the chunk sizes its framing declared (checked by an independent reading of the framing
//! for bodies that completed) and never more than its input; `consumed` never exceeds what
//! was given and the payload is a run of the input consumed; a finished decoder consumes
//! nothing more.
#![no_main]

use falconet::fuzzing::{BodyDecoder, Framing};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq)]
struct Run {
    payload: Vec<u8>,
    consumed: usize,
    outcome: Result<bool, u16>,
    trailers: Option<http::HeaderMap>,
}

fn run(framing: Framing, limits: (usize, usize, usize), pieces: &[&[u8]]) -> Run {
    let mut d = BodyDecoder::new(framing, limits.0, limits.1, limits.2);
    let mut payload = Vec::new();
    let mut consumed = 0usize;
    let mut pending: Vec<u8> = Vec::new();
    let mut outcome = Ok(d.is_done());
    'outer: for piece in pieces {
        pending.extend_from_slice(piece);
        loop {
            match d.decode(&pending) {
                Ok((n, p)) => {
                    assert!(n <= pending.len(), "consumed {n} of {}", pending.len());
                    assert!(p.len() <= n, "payload {} from {n} bytes", p.len());
                    if !p.is_empty() {
                        // The payload is a subslice of the consumed input.
                        let start = p.as_ptr() as usize - pending.as_ptr() as usize;
                        assert!(start + p.len() <= n);
                    }
                    payload.extend_from_slice(p);
                    consumed += n;
                    pending.drain(..n);
                    if d.is_done() {
                        outcome = Ok(true);
                        break 'outer;
                    }
                    if n == 0 {
                        break;
                    }
                }
                Err(status) => {
                    // An error sticks.
                    assert_eq!(d.decode(b"0\r\n\r\n"), Err(status));
                    outcome = Err(status);
                    break 'outer;
                }
            }
        }
    }
    if d.is_done() {
        assert_eq!(d.decode(b"0\r\n\r\nmore"), Ok((0, &b""[..])));
    }
    Run {
        payload,
        consumed,
        outcome,
        trailers: d.take_trailers(),
    }
}

/// The sum of the chunk sizes of a complete chunked body, read loosely (sizes only).
fn declared_chunk_total(input: &[u8]) -> Option<u128> {
    let mut pos = 0;
    let mut total: u128 = 0;
    loop {
        let digits = input[pos..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let size =
            u128::from_str_radix(std::str::from_utf8(&input[pos..pos + digits]).ok()?, 16).ok()?;
        let line_end = input[pos..].windows(2).position(|w| w == b"\r\n")?;
        pos += line_end + 2;
        if size == 0 {
            return Some(total);
        }
        total += size;
        pos = pos
            .checked_add(usize::try_from(size).ok()?)?
            .checked_add(2)?;
        if pos > input.len() {
            return None;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, input) = data.split_at(4);
    let framing = match head[0] & 3 {
        0 | 1 => Framing::Chunked,
        2 => Framing::Length(u64::from(u16::from_le_bytes([head[1], head[2]]))),
        _ => Framing::Length(u64::MAX - u64::from(head[1])),
    };
    let limits = match head[0] >> 2 & 3 {
        0 => (4096, 32768, 100),
        1 => (0, 0, 0),
        2 => (5, 20, 1),
        _ => (64, 100, 3),
    };
    // Split points: every (head[3] % 17 + 1)-th byte, offset by head[1].
    let step = usize::from(head[3] % 17) + 1;
    let offset = usize::from(head[1]) % step;
    let mut pieces: Vec<&[u8]> = Vec::new();
    let mut at = 0;
    let mut cut = offset;
    while at < input.len() {
        let end = cut.clamp(at + 1, input.len());
        pieces.push(&input[at..end]);
        at = end;
        cut += step;
    }
    let whole = run(framing, limits, &[input]);
    let split = run(framing, limits, &pieces);
    // After an error, how much of the input the pieces before it took does not matter.
    if whole.outcome.is_err() {
        assert_eq!(
            (&whole.payload, whole.outcome),
            (&split.payload, split.outcome)
        );
    } else {
        assert_eq!(whole, split, "split into {} pieces", pieces.len());
    }

    assert!(whole.consumed <= input.len());
    assert!(whole.payload.len() <= whole.consumed);
    match framing {
        Framing::Length(n) => {
            assert!(whole.payload.len() as u64 <= n);
            assert_eq!(whole.payload.len(), whole.consumed);
            assert_eq!(whole.outcome == Ok(true), whole.payload.len() as u64 == n);
        }
        Framing::Chunked => {
            if whole.outcome == Ok(true) {
                let declared = declared_chunk_total(&input[..whole.consumed]);
                assert_eq!(declared, Some(whole.payload.len() as u128));
            }
        }
        Framing::None => {}
    }
});
