//! The static table (RFC 7541 Appendix A) and the dynamic table (RFC 7541 §4).

use std::collections::VecDeque;

use bytes::Bytes;

/// Per-entry overhead in the table size accounting (RFC 7541 §4.1).
pub(crate) const ENTRY_OVERHEAD: usize = 32;

/// The static table, RFC 7541 Appendix A. Index 1 is `STATIC_TABLE[0]`.
pub(crate) const STATIC_TABLE: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// Number of entries in the static table; dynamic indices start after it.
pub(crate) const STATIC_LEN: usize = STATIC_TABLE.len();

/// How a header field matches the static table, for the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StaticMatch {
    /// Name and value match the entry at this (1-based) index.
    Full(usize),
    /// Only the name matches, first at this (1-based) index.
    Name(usize),
    None,
}

/// Looks `name`/`value` up in the static table.
///
/// The table is small and its names are grouped, so a linear scan is cheap next to the
/// Huffman coding of the same field.
pub(crate) fn static_lookup(name: &[u8], value: &[u8]) -> StaticMatch {
    let mut name_match = None;
    for (i, &(n, v)) in STATIC_TABLE.iter().enumerate() {
        if n.as_bytes() == name {
            if v.as_bytes() == value {
                return StaticMatch::Full(i + 1);
            }
            name_match.get_or_insert(i + 1);
        } else if name_match.is_some() {
            // Entries with the same name are adjacent: no later full match is possible.
            break;
        }
    }
    match name_match {
        Some(i) => StaticMatch::Name(i),
        None => StaticMatch::None,
    }
}

/// One dynamic table entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) name: Bytes,
    pub(crate) value: Bytes,
}

impl Entry {
    /// The entry's size per RFC 7541 §4.1: name and value lengths plus 32.
    pub(crate) fn size(&self) -> usize {
        entry_size(&self.name, &self.value)
    }
}

/// Size of an entry with this name and value per RFC 7541 §4.1.
pub(crate) fn entry_size(name: &[u8], value: &[u8]) -> usize {
    name.len() + value.len() + ENTRY_OVERHEAD
}

/// The dynamic table (RFC 7541 §2.3.2, §4): newest entry first, evicted from the back.
///
/// Entries are kept in a `VecDeque` ring: insertion pushes at the front, eviction pops from the
/// back, and `get(0)` is dynamic index 1 (wire index `STATIC_LEN + 1`).
#[derive(Debug)]
pub(crate) struct DynamicTable {
    entries: VecDeque<Entry>,
    /// Sum of the entries' sizes (RFC 7541 §4.1).
    size: usize,
    /// The current maximum size (RFC 7541 §4.2), changed by dynamic table size updates.
    max_size: usize,
}

impl DynamicTable {
    pub(crate) fn new(max_size: usize) -> Self {
        DynamicTable {
            entries: VecDeque::new(),
            size: 0,
            max_size,
        }
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Current size per RFC 7541 §4.1.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Current maximum size.
    pub(crate) fn max_size(&self) -> usize {
        self.max_size
    }

    /// The entry at 0-based position `i`, newest first (dynamic index `i + 1`).
    pub(crate) fn get(&self, i: usize) -> Option<&Entry> {
        self.entries.get(i)
    }

    /// Iterates over the entries, newest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// Changes the maximum size, evicting entries until the table fits (RFC 7541 §4.3).
    pub(crate) fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    /// Removes every entry, keeping the maximum size: what adding an entry larger than the
    /// maximum size does (RFC 7541 §4.4).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.size = 0;
    }

    /// Adds an entry, evicting older entries to make room (RFC 7541 §4.4).
    ///
    /// An entry larger than the maximum size empties the table and is not added; this is not
    /// an error. Returns whether the entry was added.
    pub(crate) fn insert(&mut self, entry: Entry) -> bool {
        let size = entry.size();
        if size > self.max_size {
            self.clear();
            return false;
        }
        self.evict_to(self.max_size - size);
        self.size += size;
        self.entries.push_front(entry);
        true
    }

    /// Evicts the oldest entries until the size is at most `target`.
    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            match self.entries.pop_back() {
                Some(e) => self.size -= e.size(),
                None => {
                    debug_assert_eq!(self.size, 0);
                    self.size = 0;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &'static str, value: &'static str) -> Entry {
        Entry {
            name: Bytes::from_static(name.as_bytes()),
            value: Bytes::from_static(value.as_bytes()),
        }
    }

    #[test]
    fn static_table_spot_checks() {
        assert_eq!(STATIC_LEN, 61);
        assert_eq!(STATIC_TABLE[0], (":authority", ""));
        assert_eq!(STATIC_TABLE[1], (":method", "GET"));
        assert_eq!(STATIC_TABLE[15], ("accept-encoding", "gzip, deflate"));
        assert_eq!(STATIC_TABLE[31], ("cookie", ""));
        assert_eq!(STATIC_TABLE[54], ("set-cookie", ""));
        assert_eq!(STATIC_TABLE[58], ("vary", ""));
        assert_eq!(STATIC_TABLE[60], ("www-authenticate", ""));
    }

    #[test]
    fn static_lookup_finds_full_and_name_matches() {
        assert_eq!(static_lookup(b":method", b"GET"), StaticMatch::Full(2));
        assert_eq!(static_lookup(b":method", b"POST"), StaticMatch::Full(3));
        assert_eq!(static_lookup(b":method", b"PUT"), StaticMatch::Name(2));
        assert_eq!(static_lookup(b":status", b"500"), StaticMatch::Full(14));
        assert_eq!(static_lookup(b":status", b"418"), StaticMatch::Name(8));
        assert_eq!(static_lookup(b"cookie", b""), StaticMatch::Full(32));
        assert_eq!(
            static_lookup(b"www-authenticate", b"x"),
            StaticMatch::Name(61)
        );
        assert_eq!(static_lookup(b"x-custom", b""), StaticMatch::None);
    }

    #[test]
    fn size_accounting_and_eviction() {
        // Sizes from RFC 7541 C.3: ":authority: www.example.com" is 57 bytes.
        let mut t = DynamicTable::new(110);
        assert!(t.insert(entry(":authority", "www.example.com")));
        assert_eq!(t.size(), 57);
        assert!(t.insert(entry("cache-control", "no-cache")));
        assert_eq!(t.size(), 57 + 53);
        assert_eq!(t.len(), 2);
        // One more entry evicts the oldest.
        assert!(t.insert(entry("custom-key", "custom-value")));
        assert_eq!(t.len(), 2);
        assert_eq!(t.size(), 53 + 54);
        assert_eq!(t.get(0).unwrap().name, "custom-key");
        assert_eq!(t.get(1).unwrap().name, "cache-control");
        assert!(t.get(2).is_none());
    }

    #[test]
    fn oversized_entry_empties_table() {
        let mut t = DynamicTable::new(60);
        assert!(t.insert(entry("a", "b")));
        assert!(!t.insert(entry("long-name-long-name", "long-value-long-value")));
        assert_eq!(t.len(), 0);
        assert_eq!(t.size(), 0);
    }

    #[test]
    fn shrinking_evicts_and_zero_empties() {
        let mut t = DynamicTable::new(4096);
        for _ in 0..10 {
            t.insert(entry("name", "value")); // 41 bytes each
        }
        assert_eq!(t.size(), 410);
        t.set_max_size(100);
        assert_eq!(t.len(), 2);
        assert_eq!(t.size(), 82);
        t.set_max_size(0);
        assert_eq!(t.len(), 0);
        assert_eq!(t.size(), 0);
        assert!(!t.insert(entry("name", "value")));
        t.set_max_size(41);
        assert!(t.insert(entry("name", "value")));
        assert_eq!(t.size(), 41);
        assert_eq!(t.max_size(), 41);
    }
}
