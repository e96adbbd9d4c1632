//! HPACK (src/http2/hpack): the decoder on arbitrary blocks, and encoder → decoder round
//! trips of arbitrary header lists with table size changes.
//!
//! Invariants: the dynamic table never holds more than its maximum size, its size is the
//! sum of its entries, and its maximum never exceeds the limit we advertised; decoded
//! lists stay within max_header_list_size (HeaderListTooLarge otherwise); a round trip
//! yields exactly the list encoded (names, values, never-indexed flags), block after block,
//! and both sides' tables agree.
#![no_main]

use falconet::fuzzing::http2::{Decoder, Encoder};
use libfuzzer_sys::fuzz_target;

fn check_table(t: (usize, usize, usize), limit: usize) {
    let (size, max, sum) = t;
    assert!(size <= max, "table holds {size} > max {max}");
    assert_eq!(size, sum, "table size is not the sum of its entries");
    assert!(max <= limit, "table max {max} above the limit {limit}");
}

fn decode_only(data: &[u8]) {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let limit = [4096, 0, 100, 65536][usize::from(sel & 3)];
    let list_max = [usize::MAX, 200, 4096, 0][usize::from(sel >> 2 & 3)];
    let mut dec = Decoder::new(4096.min(limit.max(4096)));
    dec.set_max_table_size_limit(limit);
    if sel & 16 != 0 {
        dec.set_max_string_len(64);
    }
    let limit = limit.max(4096); // the table may still be at 4096 until an update
    while let Some((&len, after)) = rest.split_first() {
        let n = usize::from(len).min(after.len());
        let (block, after) = after.split_at(n);
        rest = after;
        match dec.decode(block, list_max) {
            Ok(fields) => {
                let total: usize = fields.iter().map(|(n, v, _)| n.len() + v.len() + 32).sum();
                assert!(total <= list_max, "list of {total} over {list_max}");
                check_table(dec.table(), limit);
            }
            Err((e, _)) if e.contains("HeaderListTooLarge") => check_table(dec.table(), limit),
            Err(_) => {
                // A compression error ends the connection: the table is not to be used.
                check_table(dec.table(), limit);
                return;
            }
        }
    }
}

fn round_trip(data: &[u8]) {
    let mut enc = Encoder::new(4096);
    let mut dec = Decoder::new(4096);
    dec.set_max_table_size_limit(65536);
    dec.set_max_string_len(usize::MAX);
    let mut fields: Vec<(Vec<u8>, Vec<u8>, bool)> = Vec::new();
    let mut i = 0;
    let byte = |i: &mut usize| -> u8 {
        let b = data.get(*i).copied().unwrap_or(0);
        *i += 1;
        b
    };
    let flush = |enc: &mut Encoder, dec: &mut Decoder, fields: &mut Vec<_>| {
        let mut block = Vec::new();
        enc.encode(fields, &mut block);
        let got = dec
            .decode(&block, usize::MAX)
            .expect("our own block must decode");
        let got: Vec<(Vec<u8>, Vec<u8>, bool)> = got
            .into_iter()
            .map(|(n, v, s)| (n.to_vec(), v.to_vec(), s))
            .collect();
        // The encoder may send more fields never-indexed than asked (its policy for
        // short cookies and credentials), never fewer.
        assert_eq!(
            got.len(),
            fields.len(),
            "round trip changed the list's length"
        );
        for (g, f) in got.iter().zip(fields.iter()) {
            assert_eq!((&g.0, &g.1), (&f.0, &f.1), "round trip changed a field");
            assert!(g.2 || !f.2, "a sensitive field lost its never-indexed flag");
        }
        let (et, dt) = (enc.table(), dec.table());
        check_table(et, 65536);
        check_table(dt, 65536);
        assert_eq!(et.0, dt.0, "encoder and decoder tables differ in size");
        fields.clear();
    };
    while i < data.len() {
        let op = byte(&mut i);
        match op & 7 {
            0 => flush(&mut enc, &mut dec, &mut fields),
            1 => {
                let size = usize::from(u16::from_le_bytes([byte(&mut i), byte(&mut i)]));
                enc.update_max_table_size(size);
            }
            2 => enc.set_use_huffman(op & 8 != 0),
            _ => {
                let name_len = usize::from(byte(&mut i) % 24);
                let value_len = usize::from(byte(&mut i));
                let take = |i: &mut usize, n: usize| -> Vec<u8> {
                    let end = (*i + n).min(data.len());
                    let v = data.get(*i..end).unwrap_or(&[]).to_vec();
                    *i = end;
                    v
                };
                let name = take(&mut i, name_len);
                let value = take(&mut i, value_len);
                fields.push((name, value, op & 8 != 0));
            }
        }
    }
    flush(&mut enc, &mut dec, &mut fields);
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((&b, rest)) if b & 1 == 0 => decode_only(rest),
        Some((_, rest)) => round_trip(rest),
        None => {}
    }
});
