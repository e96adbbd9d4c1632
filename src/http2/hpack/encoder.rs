//! The HPACK encoder (RFC 7541 §3, §6).
//!
//! Strategy, per field:
//! 1. a field that must not be indexed (see below) is sent as a literal never indexed
//!    (§6.2.3), with its name as an index when the name is in a table;
//! 2. otherwise a full match in the static table, then in the dynamic table, is sent as an
//!    index (§6.1);
//! 3. otherwise the field is sent as a literal with incremental indexing (§6.2.1), name indexed
//!    when possible (static table first), unless the entry would not fit in the dynamic table at
//!    all (adding it would only empty the table): then as a literal without indexing (§6.2.2).
//!
//! Strings are Huffman-coded when that is strictly shorter (§5.2).
//!
//! Never indexed: fields the caller marks sensitive, and, following RFC 7541 §7.1.3 and
//! nghttp2, `authorization` and `proxy-authorization` always and `cookie` when its value is
//! shorter than 20 bytes (short, low-entropy values are the ones a compression-ratio attack
//! can guess). Names must already be lowercase (RFC 9113 §8.2.1); the encoder does not check.

use bytes::Bytes;

use super::huffman;
use super::table::{entry_size, static_lookup, DynamicTable, Entry, StaticMatch, STATIC_LEN};

/// Cookie values shorter than this are never indexed (nghttp2's rule).
const COOKIE_NEVER_INDEX_BELOW: usize = 20;

/// Encodes header blocks, keeping the dynamic table the peer's decoder mirrors.
#[derive(Debug)]
pub(crate) struct Encoder {
    table: DynamicTable,
    /// A size change not yet signalled: (smallest size since the last block, latest size).
    pending_size_update: Option<(usize, usize)>,
    use_huffman: bool,
}

impl Encoder {
    /// An encoder whose dynamic table has `max_table_size` as its maximum size: the size both
    /// sides start from (4096, SETTINGS_HEADER_TABLE_SIZE's default), so no size update is sent
    /// for it. To use another size, call [`update_max_table_size`](Self::update_max_table_size).
    pub(crate) fn new(max_table_size: usize) -> Self {
        Encoder {
            table: DynamicTable::new(max_table_size),
            pending_size_update: None,
            use_huffman: true,
        }
    }

    /// Changes the dynamic table's maximum size; the change is signalled at the start of the
    /// next block (RFC 7541 §4.2), preceded by the smallest size in between if that one is
    /// below both the previous and the latest size.
    ///
    /// `max_size` must not exceed the peer's SETTINGS_HEADER_TABLE_SIZE; the driver should pass
    /// the smaller of that and its own memory budget for the table.
    pub(crate) fn update_max_table_size(&mut self, max_size: usize) {
        self.pending_size_update = Some(match self.pending_size_update {
            Some((smallest, _)) => (smallest.min(max_size), max_size),
            None => (max_size, max_size),
        });
    }

    /// Whether strings are Huffman-coded when that is shorter. Default: true.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn set_use_huffman(&mut self, use_huffman: bool) {
        self.use_huffman = use_huffman;
    }

    /// Encodes one header block from `(name, value, sensitive)` triples, appending it to `out`.
    pub(crate) fn encode<I, N, V>(&mut self, fields: I, out: &mut Vec<u8>)
    where
        I: IntoIterator<Item = (N, V, bool)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        if let Some((smallest, latest)) = self.pending_size_update.take() {
            // The smallest size matters only if it evicted more than the latest one does.
            if smallest < latest && smallest < self.table.max_size() {
                encode_int(smallest, 5, 0x20, out);
                self.table.set_max_size(smallest);
            }
            encode_int(latest, 5, 0x20, out);
            self.table.set_max_size(latest);
        }
        for (name, value, sensitive) in fields {
            self.encode_field(name.as_ref(), value.as_ref(), sensitive, out);
        }
    }

    fn encode_field(&mut self, name: &[u8], value: &[u8], sensitive: bool, out: &mut Vec<u8>) {
        let never_index = sensitive || never_index_by_policy(name, value);

        let static_match = static_lookup(name, value);
        if let (StaticMatch::Full(index), false) = (static_match, never_index) {
            encode_int(index, 7, 0x80, out);
            return;
        }
        let (dynamic_full, dynamic_name) = self.dynamic_lookup(name, value);
        if let (Some(index), false) = (dynamic_full, never_index) {
            encode_int(index, 7, 0x80, out);
            return;
        }

        let name_index = match static_match {
            StaticMatch::Full(i) | StaticMatch::Name(i) => i,
            StaticMatch::None => dynamic_name.unwrap_or(0),
        };
        let add_to_table = !never_index && entry_size(name, value) <= self.table.max_size();
        let (prefix_bits, flags) = if add_to_table {
            (6, 0x40)
        } else if never_index {
            (4, 0x10)
        } else {
            (4, 0x00)
        };
        encode_int(name_index, prefix_bits, flags, out);
        if name_index == 0 {
            self.encode_string(name, out);
        }
        self.encode_string(value, out);

        if add_to_table {
            self.table.insert(Entry {
                name: Bytes::copy_from_slice(name),
                value: Bytes::copy_from_slice(value),
            });
        }
    }

    /// The dynamic table, for tests (and the fuzz targets).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn table_for_tests(&self) -> &DynamicTable {
        &self.table
    }

    /// Finds `name`/`value` in the dynamic table: the wire index of a full match and of the
    /// first name match. A linear scan: the table holds at most max_size / 32 entries
    /// (128 at the default 4096 bytes).
    fn dynamic_lookup(&self, name: &[u8], value: &[u8]) -> (Option<usize>, Option<usize>) {
        let mut name_match = None;
        for (i, entry) in self.table.iter().enumerate() {
            if entry.name == name {
                let index = STATIC_LEN + 1 + i;
                if entry.value == value {
                    return (Some(index), name_match.or(Some(index)));
                }
                name_match.get_or_insert(index);
            }
        }
        (None, name_match)
    }

    /// Appends a string literal (RFC 7541 §5.2), Huffman-coded if that is strictly shorter.
    fn encode_string(&self, s: &[u8], out: &mut Vec<u8>) {
        if self.use_huffman {
            let len = huffman::encoded_len(s);
            if len < s.len() {
                encode_int(len, 7, 0x80, out);
                huffman::encode(s, out);
                return;
            }
        }
        encode_int(s.len(), 7, 0x00, out);
        out.extend_from_slice(s);
    }
}

/// Fields never indexed whatever the caller says; see the module documentation.
fn never_index_by_policy(name: &[u8], value: &[u8]) -> bool {
    match name {
        b"authorization" | b"proxy-authorization" => true,
        b"cookie" => value.len() < COOKIE_NEVER_INDEX_BELOW,
        _ => false,
    }
}

/// Appends `value` as an integer with a `prefix_bits`-bit prefix (RFC 7541 §5.1), `flags`
/// filling the first byte's bits above the prefix.
pub(super) fn encode_int(value: usize, prefix_bits: u8, flags: u8, out: &mut Vec<u8>) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    let mut rest = value - max;
    while rest >= 0x80 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    out.push(rest as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(value: usize, prefix: u8, flags: u8) -> Vec<u8> {
        let mut out = Vec::new();
        encode_int(value, prefix, flags, &mut out);
        out
    }

    fn block(e: &mut Encoder, fields: &[(&str, &str, bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        e.encode(fields.iter().map(|&(n, v, s)| (n, v, s)), &mut out);
        out
    }

    #[test]
    fn integers_rfc_c1() {
        assert_eq!(int(10, 5, 0), [0x0a]);
        assert_eq!(int(1337, 5, 0), [0x1f, 0x9a, 0x0a]);
        assert_eq!(int(42, 8, 0), [42]);
        assert_eq!(int(31, 5, 0x20), [0x3f, 0x00]);
        assert_eq!(int(30, 5, 0x20), [0x3e]);
        assert_eq!(int(255, 8, 0), [0xff, 0x00]);
        assert_eq!(
            int(u32::MAX as usize, 5, 0),
            [0x1f, 0xe0, 0xff, 0xff, 0xff, 0x0f]
        );
    }

    #[test]
    fn integers_round_trip() {
        for prefix in 1..=8u8 {
            for value in (0..300).chain([1 << 14, 1 << 21, (1 << 28) + 5, u32::MAX as usize]) {
                let bytes = int(value, prefix, 0);
                let mut pos = 0;
                assert_eq!(
                    super::super::decoder::decode_int(&bytes, &mut pos, prefix),
                    Ok(value)
                );
                assert_eq!(pos, bytes.len());
            }
        }
    }

    #[test]
    fn static_full_match_is_indexed() {
        let mut e = Encoder::new(4096);
        assert_eq!(
            block(
                &mut e,
                &[(":method", "GET", false), (":status", "404", false)]
            ),
            [0x82, 0x8d]
        );
        assert_eq!(e.table.len(), 0);
    }

    #[test]
    fn dynamic_full_match_is_indexed() {
        let mut e = Encoder::new(4096);
        e.set_use_huffman(false);
        let first = block(&mut e, &[("x-a", "1", false)]);
        assert_eq!(first, b"\x40\x03x-a\x011");
        assert_eq!(block(&mut e, &[("x-a", "1", false)]), [0xbe]);
        // Same name, other value: name by dynamic index.
        assert_eq!(block(&mut e, &[("x-a", "2", false)]), b"\x7e\x012");
    }

    #[test]
    fn sensitive_is_never_indexed() {
        let mut e = Encoder::new(4096);
        e.set_use_huffman(false);
        // Even a static full match goes out as a literal never indexed, name indexed.
        assert_eq!(block(&mut e, &[(":method", "GET", true)]), b"\x12\x03GET");
        assert_eq!(
            block(&mut e, &[("x-secret", "s", true)]),
            b"\x10\x08x-secret\x01s"
        );
        assert_eq!(e.table.len(), 0);
        // A field in the dynamic table, when sensitive, is not sent as an index.
        block(&mut e, &[("x-a", "1", false)]);
        assert_eq!(block(&mut e, &[("x-a", "1", true)]), b"\x1f\x2f\x011");
    }

    #[test]
    fn never_index_policy() {
        let mut e = Encoder::new(4096);
        e.set_use_huffman(false);
        assert_eq!(
            block(&mut e, &[("authorization", "Basic x", false)]),
            b"\x1f\x08\x07Basic x"
        );
        assert_eq!(
            block(&mut e, &[("cookie", "a=b", false)]),
            b"\x1f\x11\x03a=b"
        );
        assert_eq!(e.table.len(), 0);
        let long = "session=0123456789abcdef";
        let out = block(&mut e, &[("cookie", long, false)]);
        assert_eq!(out[0], 0x40 | 32);
        assert_eq!(e.table.len(), 1);
    }

    #[test]
    fn too_large_for_table_is_not_indexed() {
        let mut e = Encoder::new(40);
        e.set_use_huffman(false);
        block(&mut e, &[("a", "b", false)]);
        assert_eq!(e.table.len(), 1);
        // 32 + 1 + 8 = 41 > 40: without indexing, and the table keeps its entry.
        assert_eq!(
            block(&mut e, &[("a", "12345678", false)]),
            b"\x0f\x2f\x0812345678"
        );
        assert_eq!(e.table.len(), 1);
    }

    #[test]
    fn size_updates_are_signalled_once() {
        let mut e = Encoder::new(4096);
        e.update_max_table_size(100);
        assert_eq!(
            block(&mut e, &[(":method", "GET", false)]),
            [0x3f, 0x45, 0x82]
        );
        assert_eq!(block(&mut e, &[(":method", "GET", false)]), [0x82]);
        // Down then up: the smallest first, then the latest.
        e.update_max_table_size(0);
        e.update_max_table_size(50);
        e.update_max_table_size(4096);
        assert_eq!(block(&mut e, &[]), [0x20, 0x3f, 0xe1, 0x1f]);
        // Up only: one update.
        e.update_max_table_size(100);
        assert_eq!(block(&mut e, &[]), [0x3f, 0x45]);
        e.update_max_table_size(200);
        e.update_max_table_size(300);
        assert_eq!(block(&mut e, &[]), [0x3f, 0x8d, 0x02]);
    }

    #[test]
    fn huffman_only_when_shorter() {
        let mut e = Encoder::new(0);
        // "www.example.com" is shorter in Huffman (12 < 15).
        let out = block(&mut e, &[(":authority", "www.example.com", false)]);
        assert_eq!(out[..2], [0x01, 0x8c]);
        // "x" (7 bits) and "&&" (16 bits) are as long in Huffman as raw: sent raw.
        let out = block(&mut e, &[("x", "&&", false)]);
        assert_eq!(out, b"\x00\x01x\x02&&");
    }
}
