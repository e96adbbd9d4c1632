//! The HPACK Huffman code (RFC 7541 §5.2 and Appendix B).
//!
//! [`CODES`] is the canonical table typed from Appendix B: `(code, bit length)` per symbol, the
//! code right-aligned. Everything else is derived from it:
//!
//! * the encoder packs codes MSB-first into a 64-bit accumulator and pads the last byte with the
//!   most significant bits of EOS (all ones);
//! * the decoder is a 4-bit state machine ([`decode_table`]) built from the same table by a
//!   `const fn`, on first use: a state is an internal node of the Huffman tree, each input nibble
//!   moves to the next node and emits at most one symbol (the shortest code is 5 bits long). It is
//!   built at run time rather than stored in the binary (12 KB of read-only data, on a binary
//!   that counts its kilobytes); the tree is still built at compile time too ([`TREE_CHECK`]),
//!   so a mistyped table fails the build.
//!
//! Decoding rejects, as §5.2 requires, an EOS symbol inside the string and padding that is longer
//! than 7 bits or not a prefix of EOS (not all ones).

use super::DecoderError;

/// `(code, bit length)` for symbols 0..=255 and EOS (256), from RFC 7541 Appendix B.
pub(crate) const CODES: [(u32, u8); 257] = [
    (0x1ff8, 13),
    (0x7fffd8, 23),
    (0xfffffe2, 28),
    (0xfffffe3, 28),
    (0xfffffe4, 28),
    (0xfffffe5, 28),
    (0xfffffe6, 28),
    (0xfffffe7, 28),
    (0xfffffe8, 28),
    (0xffffea, 24),
    (0x3ffffffc, 30),
    (0xfffffe9, 28),
    (0xfffffea, 28),
    (0x3ffffffd, 30),
    (0xfffffeb, 28),
    (0xfffffec, 28),
    (0xfffffed, 28),
    (0xfffffee, 28),
    (0xfffffef, 28),
    (0xffffff0, 28),
    (0xffffff1, 28),
    (0xffffff2, 28),
    (0x3ffffffe, 30),
    (0xffffff3, 28),
    (0xffffff4, 28),
    (0xffffff5, 28),
    (0xffffff6, 28),
    (0xffffff7, 28),
    (0xffffff8, 28),
    (0xffffff9, 28),
    (0xffffffa, 28),
    (0xffffffb, 28),
    (0x14, 6),     // ' ' (32)
    (0x3f8, 10),   // '!'
    (0x3f9, 10),   // '"'
    (0xffa, 12),   // '#'
    (0x1ff9, 13),  // '$'
    (0x15, 6),     // '%'
    (0xf8, 8),     // '&'
    (0x7fa, 11),   // '''
    (0x3fa, 10),   // '('
    (0x3fb, 10),   // ')'
    (0xf9, 8),     // '*'
    (0x7fb, 11),   // '+'
    (0xfa, 8),     // ','
    (0x16, 6),     // '-'
    (0x17, 6),     // '.'
    (0x18, 6),     // '/'
    (0x0, 5),      // '0' (48)
    (0x1, 5),      // '1'
    (0x2, 5),      // '2'
    (0x19, 6),     // '3'
    (0x1a, 6),     // '4'
    (0x1b, 6),     // '5'
    (0x1c, 6),     // '6'
    (0x1d, 6),     // '7'
    (0x1e, 6),     // '8'
    (0x1f, 6),     // '9'
    (0x5c, 7),     // ':'
    (0xfb, 8),     // ';'
    (0x7ffc, 15),  // '<'
    (0x20, 6),     // '='
    (0xffb, 12),   // '>'
    (0x3fc, 10),   // '?'
    (0x1ffa, 13),  // '@' (64)
    (0x21, 6),     // 'A'
    (0x5d, 7),     // 'B'
    (0x5e, 7),     // 'C'
    (0x5f, 7),     // 'D'
    (0x60, 7),     // 'E'
    (0x61, 7),     // 'F'
    (0x62, 7),     // 'G'
    (0x63, 7),     // 'H'
    (0x64, 7),     // 'I'
    (0x65, 7),     // 'J'
    (0x66, 7),     // 'K'
    (0x67, 7),     // 'L'
    (0x68, 7),     // 'M'
    (0x69, 7),     // 'N'
    (0x6a, 7),     // 'O'
    (0x6b, 7),     // 'P' (80)
    (0x6c, 7),     // 'Q'
    (0x6d, 7),     // 'R'
    (0x6e, 7),     // 'S'
    (0x6f, 7),     // 'T'
    (0x70, 7),     // 'U'
    (0x71, 7),     // 'V'
    (0x72, 7),     // 'W'
    (0xfc, 8),     // 'X'
    (0x73, 7),     // 'Y'
    (0xfd, 8),     // 'Z'
    (0x1ffb, 13),  // '['
    (0x7fff0, 19), // '\'
    (0x1ffc, 13),  // ']'
    (0x3ffc, 14),  // '^'
    (0x22, 6),     // '_'
    (0x7ffd, 15),  // '`' (96)
    (0x3, 5),      // 'a'
    (0x23, 6),     // 'b'
    (0x4, 5),      // 'c'
    (0x24, 6),     // 'd'
    (0x5, 5),      // 'e'
    (0x25, 6),     // 'f'
    (0x26, 6),     // 'g'
    (0x27, 6),     // 'h'
    (0x6, 5),      // 'i'
    (0x74, 7),     // 'j'
    (0x75, 7),     // 'k'
    (0x28, 6),     // 'l'
    (0x29, 6),     // 'm'
    (0x2a, 6),     // 'n'
    (0x7, 5),      // 'o'
    (0x2b, 6),     // 'p' (112)
    (0x76, 7),     // 'q'
    (0x2c, 6),     // 'r'
    (0x8, 5),      // 's'
    (0x9, 5),      // 't'
    (0x2d, 6),     // 'u'
    (0x77, 7),     // 'v'
    (0x78, 7),     // 'w'
    (0x79, 7),     // 'x'
    (0x7a, 7),     // 'y'
    (0x7b, 7),     // 'z'
    (0x7ffe, 15),  // '{'
    (0x7fc, 11),   // '|'
    (0x3ffd, 14),  // '}'
    (0x1ffd, 13),  // '~'
    (0xffffffc, 28),
    (0xfffe6, 20), // 128
    (0x3fffd2, 22),
    (0xfffe7, 20),
    (0xfffe8, 20),
    (0x3fffd3, 22),
    (0x3fffd4, 22),
    (0x3fffd5, 22),
    (0x7fffd9, 23),
    (0x3fffd6, 22),
    (0x7fffda, 23),
    (0x7fffdb, 23),
    (0x7fffdc, 23),
    (0x7fffdd, 23),
    (0x7fffde, 23),
    (0xffffeb, 24),
    (0x7fffdf, 23),
    (0xffffec, 24), // 144
    (0xffffed, 24),
    (0x3fffd7, 22),
    (0x7fffe0, 23),
    (0xffffee, 24),
    (0x7fffe1, 23),
    (0x7fffe2, 23),
    (0x7fffe3, 23),
    (0x7fffe4, 23),
    (0x1fffdc, 21),
    (0x3fffd8, 22),
    (0x7fffe5, 23),
    (0x3fffd9, 22),
    (0x7fffe6, 23),
    (0x7fffe7, 23),
    (0xffffef, 24),
    (0x3fffda, 22), // 160
    (0x1fffdd, 21),
    (0xfffe9, 20),
    (0x3fffdb, 22),
    (0x3fffdc, 22),
    (0x7fffe8, 23),
    (0x7fffe9, 23),
    (0x1fffde, 21),
    (0x7fffea, 23),
    (0x3fffdd, 22),
    (0x3fffde, 22),
    (0xfffff0, 24),
    (0x1fffdf, 21),
    (0x3fffdf, 22),
    (0x7fffeb, 23),
    (0x7fffec, 23),
    (0x1fffe0, 21), // 176
    (0x1fffe1, 21),
    (0x3fffe0, 22),
    (0x1fffe2, 21),
    (0x7fffed, 23),
    (0x3fffe1, 22),
    (0x7fffee, 23),
    (0x7fffef, 23),
    (0xfffea, 20),
    (0x3fffe2, 22),
    (0x3fffe3, 22),
    (0x3fffe4, 22),
    (0x7ffff0, 23),
    (0x3fffe5, 22),
    (0x3fffe6, 22),
    (0x7ffff1, 23),
    (0x3ffffe0, 26), // 192
    (0x3ffffe1, 26),
    (0xfffeb, 20),
    (0x7fff1, 19),
    (0x3fffe7, 22),
    (0x7ffff2, 23),
    (0x3fffe8, 22),
    (0x1ffffec, 25),
    (0x3ffffe2, 26),
    (0x3ffffe3, 26),
    (0x3ffffe4, 26),
    (0x7ffffde, 27),
    (0x7ffffdf, 27),
    (0x3ffffe5, 26),
    (0xfffff1, 24),
    (0x1ffffed, 25),
    (0x7fff2, 19), // 208
    (0x1fffe3, 21),
    (0x3ffffe6, 26),
    (0x7ffffe0, 27),
    (0x7ffffe1, 27),
    (0x3ffffe7, 26),
    (0x7ffffe2, 27),
    (0xfffff2, 24),
    (0x1fffe4, 21),
    (0x1fffe5, 21),
    (0x3ffffe8, 26),
    (0x3ffffe9, 26),
    (0xffffffd, 28),
    (0x7ffffe3, 27),
    (0x7ffffe4, 27),
    (0x7ffffe5, 27),
    (0xfffec, 20), // 224
    (0xfffff3, 24),
    (0xfffed, 20),
    (0x1fffe6, 21),
    (0x3fffe9, 22),
    (0x1fffe7, 21),
    (0x1fffe8, 21),
    (0x7ffff3, 23),
    (0x3fffea, 22),
    (0x3fffeb, 22),
    (0x1ffffee, 25),
    (0x1ffffef, 25),
    (0xfffff4, 24),
    (0xfffff5, 24),
    (0x3ffffea, 26),
    (0x7ffff4, 23),
    (0x3ffffeb, 26), // 240
    (0x7ffffe6, 27),
    (0x3ffffec, 26),
    (0x3ffffed, 26),
    (0x7ffffe7, 27),
    (0x7ffffe8, 27),
    (0x7ffffe9, 27),
    (0x7ffffea, 27),
    (0x7ffffeb, 27),
    (0xffffffe, 28),
    (0x7ffffec, 27),
    (0x7ffffed, 27),
    (0x7ffffee, 27),
    (0x7ffffef, 27),
    (0x7fffff0, 27),
    (0x3ffffee, 26),
    (0x3fffffff, 30), // EOS (256)
];

/// The EOS symbol's index in [`CODES`].
const EOS: usize = 256;

/// Length in bytes of `src` once Huffman-encoded (padding included).
pub(crate) fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src.iter().map(|&b| CODES[b as usize].1 as usize).sum();
    bits.div_ceil(8)
}

/// Appends the Huffman encoding of `src` to `dst`, padded with ones to a whole byte.
pub(crate) fn encode(src: &[u8], dst: &mut Vec<u8>) {
    dst.reserve(encoded_len(src));
    // Bits are accumulated MSB-first in the low `nbits` bits of `acc`. At most 7 bits remain
    // after a flush and a code is at most 30 bits long, so 37 bits never overflow a u64.
    let mut acc: u64 = 0;
    let mut nbits: u32 = 0;
    for &b in src {
        let (code, len) = CODES[b as usize];
        acc = (acc << len) | u64::from(code);
        nbits += u32::from(len);
        while nbits >= 8 {
            nbits -= 8;
            dst.push((acc >> nbits) as u8);
        }
        acc &= (1u64 << nbits) - 1;
    }
    if nbits > 0 {
        // Pad with the most significant bits of EOS, which are all ones.
        let pad = 8 - nbits;
        dst.push(((acc << pad) | ((1u64 << pad) - 1)) as u8);
    }
}

/// One transition of the decoding state machine.
#[derive(Clone, Copy)]
struct Transition {
    /// The state (internal tree node) reached after the nibble.
    next: u8,
    /// The symbol emitted during the nibble, if `flags & EMIT`.
    sym: u8,
    flags: u8,
}

/// A symbol was completed during this nibble.
const EMIT: u8 = 1;
/// The state reached is a valid place to stop: the bits since the last symbol are all ones
/// and fewer than 8 (a legal padding).
const ACCEPT: u8 = 2;
/// EOS was decoded during this nibble: the string is invalid.
const FAIL: u8 = 4;

/// Number of internal nodes of the tree: a complete binary tree with 257 leaves has 256.
const NODES: usize = 256;

/// A child pointer in the tree built by [`build_tree`]: internal node index, or `LEAF | symbol`.
const LEAF: u16 = 0x8000;

/// Builds the Huffman tree from [`CODES`]: `children[node][bit]`, node 0 the root.
const fn build_tree() -> [[u16; 2]; NODES] {
    // u16::MAX marks an unassigned child; a well-formed table assigns every one of them.
    let mut children = [[u16::MAX; 2]; NODES];
    let mut allocated = 1;
    let mut sym = 0;
    while sym < CODES.len() {
        let (code, len) = CODES[sym];
        let mut node = 0;
        let mut i = len;
        while i > 0 {
            i -= 1;
            let bit = ((code >> i) & 1) as usize;
            if i == 0 {
                assert!(
                    children[node][bit] == u16::MAX,
                    "Huffman code is not prefix-free"
                );
                children[node][bit] = LEAF | sym as u16;
            } else {
                let child = children[node][bit];
                if child == u16::MAX {
                    assert!(allocated < NODES, "Huffman table has too many nodes");
                    children[node][bit] = allocated as u16;
                    node = allocated;
                    allocated += 1;
                } else {
                    assert!(child & LEAF == 0, "Huffman code is not prefix-free");
                    node = child as usize;
                }
            }
        }
        sym += 1;
    }
    assert!(allocated == NODES, "Huffman code is not complete");
    children
}

/// Builds the 4-bit decoding state machine: `table[state * 16 + nibble]`.
const fn build_decode_table() -> [Transition; NODES * 16] {
    let children = build_tree();

    // For every internal node: is the path from the root all ones, and how deep is it?
    // Nodes are allocated in the order they are first reached, so a parent's index is always
    // below its children's and one forward pass sees every parent first.
    let mut all_ones = [false; NODES];
    let mut depth = [0u8; NODES];
    all_ones[0] = true;
    let mut node = 0;
    while node < NODES {
        let mut bit = 0;
        while bit < 2 {
            let child = children[node][bit];
            if child & LEAF == 0 {
                all_ones[child as usize] = all_ones[node] && bit == 1;
                depth[child as usize] = depth[node] + 1;
            }
            bit += 1;
        }
        node += 1;
    }

    let mut table = [Transition {
        next: 0,
        sym: 0,
        flags: 0,
    }; NODES * 16];
    let mut state = 0;
    while state < NODES {
        let mut nibble = 0;
        while nibble < 16 {
            let mut node = state;
            let mut sym = 0u8;
            let mut flags = 0u8;
            let mut i = 4;
            while i > 0 {
                i -= 1;
                let child = children[node][(nibble >> i) & 1];
                if child & LEAF != 0 {
                    let s = (child & !LEAF) as usize;
                    if s == EOS {
                        flags |= FAIL;
                    } else {
                        sym = s as u8;
                        flags |= EMIT;
                    }
                    node = 0;
                } else {
                    node = child as usize;
                }
            }
            if all_ones[node] && depth[node] < 8 {
                flags |= ACCEPT;
            }
            table[state * 16 + nibble] = Transition {
                next: node as u8,
                sym,
                flags,
            };
            nibble += 1;
        }
        state += 1;
    }
    table
}

/// Builds the tree at compile time, so that [`build_tree`]'s checks (prefix-free, complete)
/// fail the build on a mistyped [`CODES`]; nothing of it is stored in the binary.
const TREE_CHECK: [[u16; 2]; NODES] = build_tree();
const _: () = assert!(TREE_CHECK[0][0] != u16::MAX);

/// The decoding state machine, computed from [`CODES`] on first use (12 KB, once per process).
fn decode_table() -> &'static [Transition; NODES * 16] {
    static TABLE: std::sync::OnceLock<Box<[Transition; NODES * 16]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| Box::new(build_decode_table()))
}

/// Appends the decoding of the Huffman-encoded `src` to `dst`.
///
/// Errors with [`DecoderError::InvalidHuffman`] on an EOS symbol, on padding longer than
/// 7 bits, and on padding that is not all ones.
pub(crate) fn decode(src: &[u8], dst: &mut Vec<u8>) -> Result<(), DecoderError> {
    // Every symbol takes at least 5 bits, so the output is at most 8/5 of the input.
    dst.reserve(src.len() * 8 / 5);
    let mut state = 0usize;
    // The empty string is valid (no padding at all).
    let mut accept = true;
    let table = decode_table();
    for &byte in src {
        for nibble in [byte >> 4, byte & 0x0f] {
            let t = table[state * 16 + nibble as usize];
            if t.flags & FAIL != 0 {
                return Err(DecoderError::InvalidHuffman);
            }
            if t.flags & EMIT != 0 {
                dst.push(t.sym);
            }
            state = t.next as usize;
            accept = t.flags & ACCEPT != 0;
        }
    }
    if accept {
        Ok(())
    } else {
        Err(DecoderError::InvalidHuffman)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(src: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(src, &mut out);
        assert_eq!(out.len(), encoded_len(src));
        out
    }

    fn dec(src: &[u8]) -> Result<Vec<u8>, DecoderError> {
        let mut out = Vec::new();
        decode(src, &mut out).map(|()| out)
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Appendix B's code is canonical: sorted by (length, symbol), each code is the previous
    /// one plus one, shifted left by the growth in length. This checks every typed code
    /// against its length, so a typo in one of them cannot go unnoticed.
    #[test]
    fn table_is_canonical() {
        let mut order: Vec<usize> = (0..CODES.len()).collect();
        order.sort_by_key(|&s| (CODES[s].1, s));
        let (first_code, first_len) = CODES[order[0]];
        assert_eq!((first_code, first_len), (0, 5));
        let mut prev = (first_code, first_len);
        for &s in &order[1..] {
            let (code, len) = CODES[s];
            assert!(len >= prev.1);
            let expected = (prev.0 + 1) << (len - prev.1);
            assert_eq!(code, expected, "symbol {s}");
            assert!(code < (1 << len), "symbol {s}: code wider than its length");
            prev = (code, len);
        }
        // The last code (EOS) is all ones: the code is complete.
        assert_eq!(prev, (0x3fff_ffff, 30));
    }

    /// Kraft's equality: a complete prefix code has sum(2^-len) == 1.
    #[test]
    fn table_is_complete() {
        let sum: u64 = CODES.iter().map(|&(_, len)| 1u64 << (30 - len)).sum();
        assert_eq!(sum, 1 << 30);
    }

    /// A few lengths checked against Appendix B's printed rows independently of the
    /// canonical-order test.
    #[test]
    fn table_spot_checks() {
        assert_eq!(CODES[0], (0x1ff8, 13));
        assert_eq!(CODES[b'0' as usize], (0x0, 5));
        assert_eq!(CODES[b' ' as usize], (0x14, 6));
        assert_eq!(CODES[b'\\' as usize], (0x7fff0, 19));
        assert_eq!(CODES[b'~' as usize], (0x1ffd, 13));
        assert_eq!(CODES[10], (0x3fff_fffc, 30));
        assert_eq!(CODES[13], (0x3fff_fffd, 30));
        assert_eq!(CODES[22], (0x3fff_fffe, 30));
        assert_eq!(CODES[255], (0x3ff_ffee, 26));
    }

    #[test]
    fn every_symbol_round_trips() {
        for b in 0..=255u8 {
            let e = enc(&[b]);
            assert_eq!(dec(&e).unwrap(), vec![b], "symbol {b}");
            // Also surrounded by other symbols, to exercise every alignment.
            for prefix in 0..8 {
                let mut s = vec![b'a'; prefix];
                s.push(b);
                s.push(b'z');
                assert_eq!(dec(&enc(&s)).unwrap(), s, "symbol {b} after {prefix}");
            }
        }
        let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        assert_eq!(dec(&enc(&all)).unwrap(), all);
    }

    /// The Huffman strings of RFC 7541 C.4 (requests) and C.6 (responses).
    #[test]
    fn rfc_examples() {
        let cases: &[(&str, &str)] = &[
            ("www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"),
            ("no-cache", "a8eb 1064 9cbf"),
            ("custom-key", "25a8 49e9 5ba9 7d7f"),
            ("custom-value", "25a8 49e9 5bb8 e8b4 bf"),
            ("302", "6402"),
            ("private", "aec3 771a 4b"),
            ("Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"),
            ("https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"),
            ("307", "640e ff"),
            ("Mon, 21 Oct 2013 20:13:22 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff"),
            ("gzip", "9bd9 ab"),
            (
                "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
                "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
            ),
        ];
        for &(plain, wire) in cases {
            let wire = hex(wire);
            assert_eq!(enc(plain.as_bytes()), wire, "{plain}");
            assert_eq!(dec(&wire).unwrap(), plain.as_bytes(), "{plain}");
        }
    }

    #[test]
    fn empty_string() {
        assert_eq!(enc(b""), Vec::<u8>::new());
        assert_eq!(dec(b"").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn rejects_bad_padding() {
        // 'a' is 00011 (5 bits); padding 111 makes 0x1f.
        assert_eq!(dec(&[0x1f]).unwrap(), b"a");
        // Padding not all ones.
        assert_eq!(dec(&[0x1e]), Err(DecoderError::InvalidHuffman));
        assert_eq!(dec(&[0x18]), Err(DecoderError::InvalidHuffman));
        // 8 bits of padding (a whole extra byte of ones).
        assert_eq!(dec(&[0x1f, 0xff]), Err(DecoderError::InvalidHuffman));
        // A whole byte of ones on its own is padding longer than 7 bits.
        assert_eq!(dec(&[0xff]), Err(DecoderError::InvalidHuffman));
        // Padding of exactly 7 bits is fine: '0' (5 bits) + 'a'... use 3-bit prefix: '0','0','0'
        // are 15 bits, padding is 1 bit.
        assert_eq!(dec(&[0x00, 0x01]).unwrap(), b"000");
        // 'a' + 7 bits of padding would need a 1-bit symbol; instead 'aaa' (15 bits) + 1 one,
        // and 'a' 'a' 'a' 'a' 'a' 'a' 'a' 'a' (40 bits) + no padding.
        assert_eq!(dec(&enc(b"aaaaaaaa")).unwrap(), b"aaaaaaaa");
        // 6-bit code ' ' (010100) followed by 2 bits of padding, then a zero padding bit.
        assert_eq!(dec(&[0x53]).unwrap(), b" ");
        assert_eq!(dec(&[0x52]), Err(DecoderError::InvalidHuffman));
    }

    #[test]
    fn rejects_eos() {
        // EOS (30 ones) followed by 2 bits of padding.
        assert_eq!(
            dec(&[0xff, 0xff, 0xff, 0xff]),
            Err(DecoderError::InvalidHuffman)
        );
        // 'a' then EOS.
        let mut bits: u64 = 0b00011;
        bits = (bits << 30) | 0x3fff_ffff;
        bits = (bits << 5) | 0b11111; // pad to 40 bits
        let bytes: Vec<u8> = (0..5).rev().map(|i| (bits >> (i * 8)) as u8).collect();
        assert_eq!(dec(&bytes), Err(DecoderError::InvalidHuffman));
    }

    #[test]
    fn padding_of_seven_ones() {
        // 'a' + 'a' + 'a' + '0' + 'a' ... craft 25 bits ('a' x5) + 7 ones = 32 bits.
        let mut bits: u64 = 0;
        for _ in 0..5 {
            bits = (bits << 5) | 0b00011;
        }
        bits = (bits << 7) | 0x7f;
        let bytes: Vec<u8> = (0..4).rev().map(|i| (bits >> (i * 8)) as u8).collect();
        assert_eq!(dec(&bytes).unwrap(), b"aaaaa");
        assert_eq!(enc(b"aaaaa"), bytes);
    }
}
