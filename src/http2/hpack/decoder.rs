//! The HPACK decoder (RFC 7541 §3, §6).

use bytes::Bytes;

use super::huffman;
use super::table::{entry_size, DynamicTable, Entry, ENTRY_OVERHEAD, STATIC_LEN, STATIC_TABLE};
use super::{DecoderError, HeaderField};

/// Default cap on one string, compressed or decoded: 16 KiB, Kestrel's
/// `Http2Limits.MaxRequestHeaderFieldSize`. A larger name or value is a COMPRESSION_ERROR, as in
/// Kestrel; the header list as a whole is limited separately by `max_header_list_size`.
pub(crate) const DEFAULT_MAX_STRING_LEN: usize = 16 * 1024;

/// Integers larger than this are [`DecoderError::IntegerOverflow`]. No HPACK integer needs more:
/// table sizes are 32-bit SETTINGS values and string lengths are capped far below.
const MAX_INTEGER: u64 = u32::MAX as u64;

/// Decodes header blocks, keeping the dynamic table the peer's encoder builds.
///
/// One decoder per connection; blocks must be decoded in the order they arrive
/// (RFC 9113 §4.3), each one whole (HEADERS plus its CONTINUATIONs).
#[derive(Debug)]
pub(crate) struct Decoder {
    table: DynamicTable,
    /// SETTINGS_HEADER_TABLE_SIZE as we advertise it (and the peer acknowledged): the peer's
    /// size updates may not go above it.
    max_size_limit: usize,
    /// We lowered the limit below the table's maximum size: the next block must start with a
    /// size update (RFC 7541 §4.2).
    size_update_required: bool,
    /// Cap on one string, compressed and decoded.
    max_string_len: usize,
    /// Reused buffer for Huffman decoding, so a decoded string costs one exact allocation.
    scratch: Vec<u8>,
}

/// A string literal as it sits in the block, not decoded yet.
#[derive(Clone, Copy)]
struct RawString<'a> {
    huffman: bool,
    data: &'a [u8],
}

/// The name of a literal field: from a table, or a string literal.
enum Name<'a> {
    Indexed(Bytes),
    Literal(RawString<'a>),
}

impl Name<'_> {
    /// A lower bound of the name's decoded length.
    fn min_len(&self) -> usize {
        match self {
            Name::Indexed(name) => name.len(),
            Name::Literal(raw) => raw.min_len(),
        }
    }
}

impl RawString<'_> {
    /// A lower bound of the decoded length, known without decoding: Huffman codes are at most
    /// 30 bits long.
    fn min_len(&self) -> usize {
        if self.huffman {
            self.data.len() * 8 / 30
        } else {
            self.data.len()
        }
    }
}

impl Decoder {
    /// A decoder whose dynamic table and limit start at `max_table_size`: the
    /// SETTINGS_HEADER_TABLE_SIZE both sides start from (4096 unless already negotiated).
    pub(crate) fn new(max_table_size: usize) -> Self {
        Decoder {
            table: DynamicTable::new(max_table_size),
            max_size_limit: max_table_size,
            size_update_required: false,
            max_string_len: DEFAULT_MAX_STRING_LEN,
            scratch: Vec::new(),
        }
    }

    /// Sets the limit for the peer's dynamic table size updates: the SETTINGS_HEADER_TABLE_SIZE
    /// we advertise, to be called when the peer acknowledges the SETTINGS frame.
    ///
    /// If the limit is below the table's current maximum size, the next block must start with
    /// a size update that brings the table within it.
    pub(crate) fn set_max_table_size_limit(&mut self, limit: usize) {
        self.max_size_limit = limit;
        self.size_update_required = self.table.max_size() > limit;
    }

    /// Sets the cap on one string (name or value, compressed or decoded).
    /// Default: [`DEFAULT_MAX_STRING_LEN`] (16 KiB, Kestrel's `MaxRequestHeaderFieldSize`).
    pub(crate) fn set_max_string_len(&mut self, max: usize) {
        self.max_string_len = max;
    }

    /// The dynamic table's current maximum size, as the peer last set it.
    #[cfg(test)]
    pub(crate) fn max_table_size(&self) -> usize {
        self.table.max_size()
    }

    /// Decodes one complete header block, passing each field to `emit` in order.
    ///
    /// `max_header_list_size` bounds the decoded list, counting name + value + 32 per field
    /// (RFC 9113 §6.5.2); `usize::MAX` means no limit. Once the list goes over it, no more
    /// fields are emitted and no more strings are allocated, except those the dynamic table
    /// keeps (bounded by the table size), but the rest of the block is still parsed so that
    /// the dynamic table stays in sync with the peer's (RFC 9113 §4.3); the call then returns
    /// [`DecoderError::HeaderListTooLarge`], the fields already emitted are to be discarded,
    /// and the decoder can go on with the next block.
    ///
    /// Any other error leaves the dynamic table in an unknown state: the connection must end
    /// with COMPRESSION_ERROR. An error returned by `emit` stops decoding at once and is
    /// returned as is (the table is then out of sync as well).
    pub(crate) fn decode<F>(
        &mut self,
        block: &[u8],
        max_header_list_size: usize,
        mut emit: F,
    ) -> Result<(), DecoderError>
    where
        F: FnMut(HeaderField) -> Result<(), DecoderError>,
    {
        let mut pos = 0;
        // Size updates are allowed until the first field representation.
        let mut at_start = true;
        let mut list_size: usize = 0;
        let mut over_limit = false;

        if self.size_update_required && block.first().is_none_or(|&b| b & 0xe0 != 0x20) {
            return Err(DecoderError::MissingSizeUpdate);
        }

        while let Some(&first) = block.get(pos) {
            if first & 0x80 != 0 {
                // Indexed header field (§6.1): 1xxxxxxx.
                at_start = false;
                let index = decode_int(block, &mut pos, 7)?;
                let (name, value) = self.lookup(index)?;
                let size = entry_size(&name, &value);
                if !over_limit && account(&mut list_size, size, max_header_list_size) {
                    emit(HeaderField {
                        name,
                        value,
                        sensitive: false,
                    })?;
                } else {
                    over_limit = true;
                }
            } else if first & 0x20 != 0 && first & 0x40 == 0 {
                // Dynamic table size update (§6.3): 001xxxxx.
                if !at_start {
                    return Err(DecoderError::MisplacedSizeUpdate);
                }
                let size = decode_int(block, &mut pos, 5)?;
                if size > self.max_size_limit {
                    return Err(DecoderError::SizeUpdateTooLarge);
                }
                self.table.set_max_size(size);
                self.size_update_required = false;
            } else {
                // Literal header field (§6.2): with incremental indexing 01xxxxxx, without
                // indexing 0000xxxx, never indexed 0001xxxx.
                at_start = false;
                let indexing = first & 0x40 != 0;
                let sensitive = !indexing && first & 0x10 != 0;
                let prefix = if indexing { 6 } else { 4 };
                let name_index = decode_int(block, &mut pos, prefix)?;
                let name = if name_index == 0 {
                    Name::Literal(self.read_string(block, &mut pos)?)
                } else {
                    Name::Indexed(self.lookup(name_index)?.0)
                };
                let raw_value = self.read_string(block, &mut pos)?;

                // Known without decoding: would this field go over the limit anyway?
                if !over_limit
                    && list_size.saturating_add(entry_size_of(name.min_len(), raw_value.min_len()))
                        > max_header_list_size
                {
                    over_limit = true;
                }
                if over_limit {
                    // Nothing is emitted any more; strings are only validated, and allocated
                    // only for an entry that the dynamic table keeps (bounded by its size).
                    let name_len = match &name {
                        Name::Indexed(n) => n.len(),
                        Name::Literal(raw) => self.check_string(*raw)?,
                    };
                    let value_len = self.check_string(raw_value)?;
                    if !indexing {
                        continue;
                    }
                    if entry_size_of(name_len, value_len) > self.table.max_size() {
                        // Adding it would only empty the table (RFC 7541 §4.4).
                        self.table.clear();
                        continue;
                    }
                }

                let name = match name {
                    Name::Indexed(n) => n,
                    Name::Literal(raw) => self.materialize(raw)?,
                };
                let value = self.materialize(raw_value)?;
                if indexing {
                    self.table.insert(Entry {
                        name: name.clone(),
                        value: value.clone(),
                    });
                }
                if !over_limit
                    && account(
                        &mut list_size,
                        entry_size(&name, &value),
                        max_header_list_size,
                    )
                {
                    emit(HeaderField {
                        name,
                        value,
                        sensitive,
                    })?;
                } else {
                    over_limit = true;
                }
            }
        }

        if over_limit {
            Err(DecoderError::HeaderListTooLarge)
        } else {
            Ok(())
        }
    }

    /// The dynamic table, for tests (and the fuzz targets).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn table_for_tests(&self) -> &DynamicTable {
        &self.table
    }

    /// The name and value at `index` in the static and dynamic tables (RFC 7541 §2.3.3).
    fn lookup(&self, index: usize) -> Result<(Bytes, Bytes), DecoderError> {
        match index {
            0 => Err(DecoderError::InvalidIndex),
            i if i <= STATIC_LEN => {
                let (name, value) = STATIC_TABLE[i - 1];
                Ok((
                    Bytes::from_static(name.as_bytes()),
                    Bytes::from_static(value.as_bytes()),
                ))
            }
            i => {
                let entry = self
                    .table
                    .get(i - STATIC_LEN - 1)
                    .ok_or(DecoderError::InvalidIndex)?;
                Ok((entry.name.clone(), entry.value.clone()))
            }
        }
    }

    /// Reads a string literal's header and slices its data (RFC 7541 §5.2), without decoding.
    fn read_string<'a>(
        &self,
        block: &'a [u8],
        pos: &mut usize,
    ) -> Result<RawString<'a>, DecoderError> {
        let first = *block.get(*pos).ok_or(DecoderError::Truncated)?;
        let huffman = first & 0x80 != 0;
        let len = decode_int(block, pos, 7)?;
        if len > self.max_string_len {
            return Err(DecoderError::StringTooLong);
        }
        let data = block.get(*pos..*pos + len).ok_or(DecoderError::Truncated)?;
        *pos += len;
        Ok(RawString { huffman, data })
    }

    /// Validates a string without keeping it; returns its decoded length.
    fn check_string(&mut self, raw: RawString<'_>) -> Result<usize, DecoderError> {
        if raw.huffman {
            self.scratch.clear();
            huffman::decode(raw.data, &mut self.scratch)?;
            let len = self.scratch.len();
            if len > self.max_string_len {
                return Err(DecoderError::StringTooLong);
            }
            Ok(len)
        } else {
            Ok(raw.data.len())
        }
    }

    /// Decodes a string into its own exact-size buffer.
    fn materialize(&mut self, raw: RawString<'_>) -> Result<Bytes, DecoderError> {
        if raw.huffman {
            self.check_string(raw)?;
            Ok(Bytes::copy_from_slice(&self.scratch))
        } else {
            Ok(Bytes::copy_from_slice(raw.data))
        }
    }
}

/// An entry's (or field's) size from its name and value lengths (RFC 7541 §4.1).
fn entry_size_of(name_len: usize, value_len: usize) -> usize {
    name_len + value_len + ENTRY_OVERHEAD
}

/// Adds a field's size to the list size; false if it goes over `max`.
fn account(list_size: &mut usize, size: usize, max: usize) -> bool {
    match list_size.checked_add(size) {
        Some(total) if total <= max => {
            *list_size = total;
            true
        }
        _ => false,
    }
}

/// Decodes an integer with an `prefix_bits`-bit prefix starting at `block[*pos]`
/// (RFC 7541 §5.1), advancing `pos` past it.
pub(super) fn decode_int(
    block: &[u8],
    pos: &mut usize,
    prefix_bits: u8,
) -> Result<usize, DecoderError> {
    let mask = ((1u16 << prefix_bits) - 1) as u8;
    let first = *block.get(*pos).ok_or(DecoderError::Truncated)?;
    *pos += 1;
    let mut value = u64::from(first & mask);
    if value < u64::from(mask) {
        return Ok(value as usize);
    }
    let mut shift = 0u32;
    loop {
        let byte = *block.get(*pos).ok_or(DecoderError::Truncated)?;
        *pos += 1;
        // 2^N - 1 plus five continuation bytes already reach past 32 bits.
        if shift > 28 {
            return Err(DecoderError::IntegerOverflow);
        }
        value += u64::from(byte & 0x7f) << shift;
        if value > MAX_INTEGER {
            return Err(DecoderError::IntegerOverflow);
        }
        if byte & 0x80 == 0 {
            return usize::try_from(value).map_err(|_| DecoderError::IntegerOverflow);
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(bytes: &[u8], prefix: u8) -> Result<(usize, usize), DecoderError> {
        let mut pos = 0;
        decode_int(bytes, &mut pos, prefix).map(|v| (v, pos))
    }

    fn decode_all(
        d: &mut Decoder,
        block: &[u8],
        max: usize,
    ) -> Result<Vec<HeaderField>, DecoderError> {
        let mut out = Vec::new();
        d.decode(block, max, |f| {
            out.push(f);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn integers_rfc_c1() {
        // C.1.1: 10 with a 5-bit prefix.
        assert_eq!(int(&[0b0000_1010], 5), Ok((10, 1)));
        // C.1.2: 1337 with a 5-bit prefix.
        assert_eq!(
            int(&[0b0001_1111, 0b1001_1010, 0b0000_1010], 5),
            Ok((1337, 3))
        );
        // C.1.3: 42 with an 8-bit prefix.
        assert_eq!(int(&[42], 8), Ok((42, 1)));
        // Prefix bits above the prefix are ignored.
        assert_eq!(int(&[0xea], 5), Ok((10, 1)));
        // Exactly the prefix maximum needs a zero continuation byte.
        assert_eq!(int(&[0x1f, 0x00], 5), Ok((31, 2)));
    }

    #[test]
    fn integer_limits() {
        // u32::MAX fits: 2^32 - 1 - 31 = 0xFFFFFFE0.
        let v: u64 = u64::from(u32::MAX) - 31;
        let mut bytes = vec![0x1f];
        let mut rest = v;
        while rest >= 128 {
            bytes.push((rest as u8 & 0x7f) | 0x80);
            rest >>= 7;
        }
        bytes.push(rest as u8);
        assert_eq!(int(&bytes, 5), Ok((u32::MAX as usize, bytes.len())));
        // One more overflows.
        let mut bytes = vec![0x1f, 0xe1, 0xff, 0xff, 0xff, 0x0f];
        assert_eq!(int(&bytes, 5), Err(DecoderError::IntegerOverflow));
        // Endless zero continuation bytes overflow rather than loop.
        bytes = vec![0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
        assert_eq!(int(&bytes, 5), Err(DecoderError::IntegerOverflow));
        // Truncated.
        assert_eq!(int(&[0x1f, 0x80], 5), Err(DecoderError::Truncated));
        assert_eq!(int(&[], 5), Err(DecoderError::Truncated));
    }

    #[test]
    fn header_list_limit_keeps_table_in_sync() {
        // Block 1: literal with incremental indexing "custom-key: custom-value" (RFC C.3.?)
        // then an indexed field referring to it.
        let block: &[u8] = b"\x40\x0acustom-key\x0ccustom-value\xbe";
        let mut d = Decoder::new(4096);
        // 54 bytes per field: both fit in 108, not in 107.
        assert_eq!(decode_all(&mut d, block, 108).unwrap().len(), 2);
        let mut d = Decoder::new(4096);
        assert_eq!(
            decode_all(&mut d, block, 107),
            Err(DecoderError::HeaderListTooLarge)
        );
        // The table still got the entry: index 62 resolves in the next block.
        let fields = decode_all(&mut d, b"\xbe", 100).unwrap();
        assert_eq!(fields[0].name, "custom-key");
        assert_eq!(fields[0].value, "custom-value");
        // Over the limit from the first field: nothing emitted, entry still added.
        let mut d = Decoder::new(4096);
        let mut emitted = 0;
        let r = d.decode(block, 10, |_| {
            emitted += 1;
            Ok(())
        });
        assert_eq!(r, Err(DecoderError::HeaderListTooLarge));
        assert_eq!(emitted, 0);
        assert_eq!(decode_all(&mut d, b"\xbe", 100).unwrap().len(), 1);
    }

    #[test]
    fn header_list_limit_oversized_entry_clears_table_without_allocating() {
        let mut d = Decoder::new(100);
        decode_all(&mut d, b"\x40\x01a\x01b", usize::MAX).unwrap();
        assert_eq!(d.table.len(), 1);
        // An entry of 32 + 1 + 80 > 100 bytes, over the list limit too.
        let mut block = b"\x40\x01c\x50".to_vec();
        block.extend_from_slice(&[b'x'; 80]);
        assert_eq!(
            decode_all(&mut d, &block, 50),
            Err(DecoderError::HeaderListTooLarge)
        );
        assert_eq!(d.table.len(), 0);
        assert_eq!(d.table.max_size(), 100);
    }

    #[test]
    fn sensitive_flag() {
        // Never indexed, literal name "password": "secret".
        let block: &[u8] = b"\x10\x08password\x06secret";
        let mut d = Decoder::new(4096);
        let f = decode_all(&mut d, block, usize::MAX).unwrap();
        assert_eq!(
            f,
            vec![HeaderField {
                name: "password".into(),
                value: "secret".into(),
                sensitive: true
            }]
        );
        assert_eq!(d.table.len(), 0);
        // Without indexing: not sensitive, not stored.
        let f = decode_all(&mut d, b"\x00\x01a\x01b", usize::MAX).unwrap();
        assert!(!f[0].sensitive);
        assert_eq!(d.table.len(), 0);
    }

    #[test]
    fn string_cap() {
        let mut d = Decoder::new(4096);
        d.set_max_string_len(3);
        assert!(decode_all(&mut d, b"\x00\x03abc\x03def", usize::MAX).is_ok());
        assert_eq!(
            decode_all(&mut d, b"\x00\x04abcd\x00", usize::MAX),
            Err(DecoderError::StringTooLong)
        );
        // Huffman: 3 bytes on the wire ('a' x 4 = 20 bits) but 4 decoded.
        let mut huff = Vec::new();
        huffman::encode(b"aaaa", &mut huff);
        assert_eq!(huff.len(), 3);
        let mut block = vec![0x00, 0x83];
        block.extend_from_slice(&huff);
        block.push(0x00);
        assert_eq!(
            decode_all(&mut d, &block, usize::MAX),
            Err(DecoderError::StringTooLong)
        );
    }

    #[test]
    fn size_updates() {
        let mut d = Decoder::new(4096);
        // Two updates at the start are fine.
        assert!(decode_all(&mut d, b"\x20\x3f\xe1\x1f\x82", usize::MAX).is_ok());
        assert_eq!(d.max_table_size(), 4096);
        // Above the limit.
        assert_eq!(
            decode_all(&mut d, b"\x3f\xe2\x1f", usize::MAX),
            Err(DecoderError::SizeUpdateTooLarge)
        );
        // After a field.
        let mut d = Decoder::new(4096);
        assert_eq!(
            decode_all(&mut d, b"\x82\x20", usize::MAX),
            Err(DecoderError::MisplacedSizeUpdate)
        );
        // Lowering the limit requires an update in the next block.
        let mut d = Decoder::new(4096);
        d.set_max_table_size_limit(100);
        assert_eq!(
            decode_all(&mut d, b"\x82", usize::MAX),
            Err(DecoderError::MissingSizeUpdate)
        );
        let mut d = Decoder::new(4096);
        d.set_max_table_size_limit(100);
        assert_eq!(
            decode_all(&mut d, b"", usize::MAX),
            Err(DecoderError::MissingSizeUpdate)
        );
        let mut d = Decoder::new(4096);
        d.set_max_table_size_limit(100);
        assert!(decode_all(&mut d, b"\x3f\x45\x82", usize::MAX).is_ok());
        assert_eq!(d.max_table_size(), 100);
        // Raising the limit requires nothing.
        d.set_max_table_size_limit(8192);
        assert!(decode_all(&mut d, b"\x82", usize::MAX).is_ok());
        assert_eq!(d.max_table_size(), 100);
    }
}
