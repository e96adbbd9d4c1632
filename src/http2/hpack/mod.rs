//! HPACK, header compression for HTTP/2 (RFC 7541), sans-I/O.
//!
//! * [`Decoder`] turns header blocks into [`HeaderField`]s, keeping the peer's dynamic table,
//!   and enforces our limits: the table size we advertise (SETTINGS_HEADER_TABLE_SIZE), a cap
//!   on each string, and the header list size (SETTINGS_MAX_HEADER_LIST_SIZE).
//! * [`Encoder`] turns header fields into header blocks, using the static and dynamic tables
//!   and Huffman coding when it is shorter.
//! * `huffman` is the Appendix B code; `table` the static table and the dynamic table.
//!
//! Tested with the examples of RFC 7541 Appendix C and the hpack-test-case stories
//! (`tests/data/hpack/`, MIT licence, see the LICENSE file there).

mod decoder;
mod encoder;
mod huffman;
mod table;

use bytes::Bytes;

// The connection driver (to come) is the user of these re-exports.
#[allow(unused_imports)]
pub(crate) use decoder::Decoder;
#[allow(unused_imports)]
pub(crate) use encoder::Encoder;

/// The initial dynamic table size of both sides, SETTINGS_HEADER_TABLE_SIZE's default
/// (RFC 9113 §6.5.2).
pub(crate) const DEFAULT_TABLE_SIZE: usize = 4096;

/// One decoded header field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderField {
    pub(crate) name: Bytes,
    pub(crate) value: Bytes,
    /// The field came as a "literal never indexed" (RFC 7541 §6.2.3): an intermediary that
    /// re-encodes it must also use the never-indexed representation.
    pub(crate) sensitive: bool,
}

impl HeaderField {
    /// The field's size for SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2): name and value
    /// lengths plus 32.
    pub(crate) fn size(&self) -> usize {
        table::entry_size(&self.name, &self.value)
    }
}

/// Why a header block could not be decoded.
///
/// Every variant except [`HeaderListTooLarge`](DecoderError::HeaderListTooLarge) is a
/// connection error of type COMPRESSION_ERROR (RFC 9113 §4.3): the decoder's dynamic table
/// may now disagree with the peer's, so the connection cannot go on.
///
/// `HeaderListTooLarge` is not a compression error: the decoder still processed the whole
/// block and its table is in sync with the peer's, so the driver can refuse just this stream
/// (431 Request Header Fields Too Large, or RST_STREAM) and keep the connection.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecoderError {
    /// An integer (RFC 7541 §5.1) does not fit in 32 bits or has too many continuation bytes.
    IntegerOverflow,
    /// The block ends in the middle of a representation, integer or string.
    Truncated,
    /// Index 0, or an index beyond the static and dynamic tables (RFC 7541 §2.3.3).
    InvalidIndex,
    /// A Huffman string contains EOS, or its padding is longer than 7 bits or not all ones
    /// (RFC 7541 §5.2).
    InvalidHuffman,
    /// A dynamic table size update after the first field representation of a block
    /// (RFC 7541 §4.2).
    MisplacedSizeUpdate,
    /// A dynamic table size update above the limit we advertised in
    /// SETTINGS_HEADER_TABLE_SIZE (RFC 7541 §6.3).
    SizeUpdateTooLarge,
    /// We lowered SETTINGS_HEADER_TABLE_SIZE below the table's current maximum size and the
    /// next block did not start with a dynamic table size update (RFC 7541 §4.2).
    MissingSizeUpdate,
    /// A string (compressed or decoded) longer than the decoder's cap
    /// (see [`Decoder::set_max_string_len`]).
    StringTooLong,
    /// The decoded header list is larger than the `max_header_list_size` the caller passed,
    /// counting name + value + 32 per field (RFC 9113 §6.5.2). Not a COMPRESSION_ERROR: see
    /// the type's documentation.
    HeaderListTooLarge,
}

impl DecoderError {
    /// Whether this error is a connection error of type COMPRESSION_ERROR (all but
    /// [`HeaderListTooLarge`](DecoderError::HeaderListTooLarge)).
    #[cfg(test)]
    pub(crate) fn is_compression_error(self) -> bool {
        !matches!(self, DecoderError::HeaderListTooLarge)
    }
}

impl std::fmt::Display for DecoderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DecoderError::IntegerOverflow => "HPACK integer overflow",
            DecoderError::Truncated => "HPACK block truncated",
            DecoderError::InvalidIndex => "HPACK invalid table index",
            DecoderError::InvalidHuffman => "HPACK invalid Huffman string",
            DecoderError::MisplacedSizeUpdate => {
                "HPACK dynamic table size update not at the start of a block"
            }
            DecoderError::SizeUpdateTooLarge => "HPACK dynamic table size update above the limit",
            DecoderError::MissingSizeUpdate => "HPACK missing dynamic table size update",
            DecoderError::StringTooLong => "HPACK string too long",
            DecoderError::HeaderListTooLarge => "header list too large",
        })
    }
}

impl std::error::Error for DecoderError {}

#[cfg(test)]
mod tests {
    //! Whole-layer tests: RFC 7541 Appendix C, the hpack-test-case stories, encoder round
    //! trips, malformed input.

    use super::*;

    use crate::http2::testing::Rng;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        assert!(s.len().is_multiple_of(2), "odd hex length");
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode_all(
        d: &mut Decoder,
        block: &[u8],
        max_list: usize,
    ) -> Result<Vec<HeaderField>, DecoderError> {
        let mut out = Vec::new();
        d.decode(block, max_list, |f| {
            out.push(f);
            Ok(())
        })?;
        Ok(out)
    }

    /// Owned (name, value) pairs.
    type Fields = Vec<(Vec<u8>, Vec<u8>)>;

    fn pairs(fields: &[HeaderField]) -> Fields {
        fields
            .iter()
            .map(|f| (f.name.to_vec(), f.value.to_vec()))
            .collect()
    }

    fn owned(fields: &[(&str, &str)]) -> Fields {
        fields
            .iter()
            .map(|&(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    fn encode(e: &mut Encoder, fields: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        e.encode(fields.iter().map(|(n, v)| (n, v, false)), &mut out);
        out
    }

    /// Dynamic table contents, newest first, and size.
    fn table_of(d: &Decoder) -> (Fields, usize) {
        let entries = d
            .table_for_tests()
            .iter()
            .map(|e| (e.name.to_vec(), e.value.to_vec()))
            .collect();
        (entries, d.table_for_tests().size())
    }

    /// One RFC 7541 Appendix C sequence: (wire, fields, expected table, table size).
    type Example<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a [(&'a str, &'a str)],
        usize,
    );

    /// Decodes the example's blocks in one context, checking fields and the table after each;
    /// if `encode_huffman` is given, also checks our encoder produces the same bytes.
    fn run_example(table_size: usize, blocks: &[Example<'_>], encode_huffman: Option<bool>) {
        let mut d = Decoder::new(table_size);
        let mut e = Encoder::new(table_size);
        if let Some(huffman) = encode_huffman {
            e.set_use_huffman(huffman);
        }
        for (i, &(wire, fields, table, size)) in blocks.iter().enumerate() {
            let wire = hex(wire);
            let got = decode_all(&mut d, &wire, usize::MAX).unwrap();
            assert_eq!(pairs(&got), owned(fields), "block {i}");
            assert_eq!(table_of(&d), (owned(table), size), "block {i}");
            if encode_huffman.is_some() {
                assert_eq!(encode(&mut e, &owned(fields)), wire, "encoding block {i}");
            }
        }
    }

    #[test]
    fn rfc_c2_literal_representations() {
        // C.2.1 Literal Header Field with Indexing.
        run_example(
            4096,
            &[(
                "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
                &[("custom-key", "custom-header")],
                &[("custom-key", "custom-header")],
                55,
            )],
            Some(false),
        );
        // C.2.2 Literal Header Field without Indexing. (Our encoder would index it.)
        run_example(
            4096,
            &[(
                "040c 2f73 616d 706c 652f 7061 7468",
                &[(":path", "/sample/path")],
                &[],
                0,
            )],
            None,
        );
        // C.2.3 Literal Header Field Never Indexed.
        let mut d = Decoder::new(4096);
        let wire = hex("1008 7061 7373 776f 7264 0673 6563 7265 74");
        let got = decode_all(&mut d, &wire, usize::MAX).unwrap();
        assert_eq!(
            got,
            [HeaderField {
                name: "password".into(),
                value: "secret".into(),
                sensitive: true
            }]
        );
        assert_eq!(table_of(&d), (vec![], 0));
        let mut e = Encoder::new(4096);
        e.set_use_huffman(false);
        let mut out = Vec::new();
        e.encode([("password", "secret", true)], &mut out);
        assert_eq!(out, wire);
        // C.2.4 Indexed Header Field.
        run_example(4096, &[("82", &[(":method", "GET")], &[], 0)], Some(true));
    }

    const C3_FIELDS_1: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
    ];
    const C3_FIELDS_2: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
        ("cache-control", "no-cache"),
    ];
    const C3_FIELDS_3: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/index.html"),
        (":authority", "www.example.com"),
        ("custom-key", "custom-value"),
    ];
    const C3_TABLE_1: &[(&str, &str)] = &[(":authority", "www.example.com")];
    const C3_TABLE_2: &[(&str, &str)] = &[
        ("cache-control", "no-cache"),
        (":authority", "www.example.com"),
    ];
    const C3_TABLE_3: &[(&str, &str)] = &[
        ("custom-key", "custom-value"),
        ("cache-control", "no-cache"),
        (":authority", "www.example.com"),
    ];

    #[test]
    fn rfc_c3_requests_without_huffman() {
        run_example(
            4096,
            &[
                (
                    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                    C3_FIELDS_1,
                    C3_TABLE_1,
                    57,
                ),
                (
                    "8286 84be 5808 6e6f 2d63 6163 6865",
                    C3_FIELDS_2,
                    C3_TABLE_2,
                    110,
                ),
                (
                    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
                    C3_FIELDS_3,
                    C3_TABLE_3,
                    164,
                ),
            ],
            Some(false),
        );
    }

    #[test]
    fn rfc_c4_requests_with_huffman() {
        run_example(
            4096,
            &[
                (
                    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
                    C3_FIELDS_1,
                    C3_TABLE_1,
                    57,
                ),
                (
                    "8286 84be 5886 a8eb 1064 9cbf",
                    C3_FIELDS_2,
                    C3_TABLE_2,
                    110,
                ),
                (
                    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
                    C3_FIELDS_3,
                    C3_TABLE_3,
                    164,
                ),
            ],
            Some(true),
        );
    }

    const C5_FIELDS_1: &[(&str, &str)] = &[
        (":status", "302"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ];
    const C5_FIELDS_2: &[(&str, &str)] = &[
        (":status", "307"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ];
    const C5_FIELDS_3: &[(&str, &str)] = &[
        (":status", "200"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
        ("location", "https://www.example.com"),
        ("content-encoding", "gzip"),
        (
            "set-cookie",
            "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
        ),
    ];
    const C5_TABLE_1: &[(&str, &str)] = &[
        ("location", "https://www.example.com"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("cache-control", "private"),
        (":status", "302"),
    ];
    const C5_TABLE_2: &[(&str, &str)] = &[
        (":status", "307"),
        ("location", "https://www.example.com"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("cache-control", "private"),
    ];
    const C5_TABLE_3: &[(&str, &str)] = &[
        (
            "set-cookie",
            "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
        ),
        ("content-encoding", "gzip"),
        ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
    ];

    #[test]
    fn rfc_c5_responses_without_huffman() {
        run_example(
            256,
            &[
                (
                    "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230
                     3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65
                     7861 6d70 6c65 2e63 6f6d",
                    C5_FIELDS_1,
                    C5_TABLE_1,
                    222,
                ),
                ("4803 3330 37c1 c0bf", C5_FIELDS_2, C5_TABLE_2, 222),
                (
                    "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220
                     474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157
                     454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076
                     6572 7369 6f6e 3d31",
                    C5_FIELDS_3,
                    C5_TABLE_3,
                    215,
                ),
            ],
            Some(false),
        );
    }

    const C6_WIRE_1: &str =
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0
         82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3";
    const C6_WIRE_3: &str =
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b
         d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587
         3160 65c0 03ed 4ee5 b106 3d50 07";

    #[test]
    fn rfc_c6_responses_with_huffman() {
        run_example(
            256,
            &[
                (C6_WIRE_1, C5_FIELDS_1, C5_TABLE_1, 222),
                ("4883 640e ffc1 c0bf", C5_FIELDS_2, C5_TABLE_2, 222),
                (C6_WIRE_3, C5_FIELDS_3, C5_TABLE_3, 215),
            ],
            None,
        );
        // Our encoder makes the RFC's choices except for "307", whose Huffman form is as long
        // as the raw string (3 bytes): we send it raw, the RFC Huffman-codes every string.
        let mut e = Encoder::new(256);
        for (fields, wire) in [
            (C5_FIELDS_1, C6_WIRE_1),
            (C5_FIELDS_2, "4803 3330 37c1 c0bf"),
            (C5_FIELDS_3, C6_WIRE_3),
        ] {
            assert_eq!(encode(&mut e, &owned(fields)), hex(wire));
        }
    }

    // ---- hpack-test-case stories ----

    struct Case {
        header_table_size: Option<usize>,
        wire: Vec<u8>,
        headers: Fields,
    }

    /// The committed subset (20 stories per implementation, 1.7 MB), or the whole
    /// hpack-test-case collection (27 MB) when `HPACK_TEST_CASE_DIR` points at it.
    fn data_dir() -> std::path::PathBuf {
        match std::env::var_os("HPACK_TEST_CASE_DIR") {
            Some(d) => std::path::PathBuf::from(d),
            None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hpack"),
        }
    }

    /// The stories of one implementation directory, sorted by name: (file name, cases).
    fn stories(dir: &str) -> Vec<(String, Vec<Case>)> {
        let path = data_dir().join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no stories in {}", path.display());
        files
            .into_iter()
            .map(|file| {
                let text = std::fs::read_to_string(&file).unwrap();
                let json: serde_json::Value = serde_json::from_str(&text).unwrap();
                let cases = json["cases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|case| Case {
                        header_table_size: case
                            .get("header_table_size")
                            .and_then(|v| v.as_u64())
                            .map(|v| v as usize),
                        wire: case
                            .get("wire")
                            .and_then(|w| w.as_str())
                            .map(hex)
                            .unwrap_or_default(),
                        headers: case["headers"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|h| {
                                let h = h.as_object().unwrap();
                                assert_eq!(h.len(), 1);
                                let (name, value) = h.iter().next().unwrap();
                                (
                                    name.as_bytes().to_vec(),
                                    value.as_str().unwrap().as_bytes().to_vec(),
                                )
                            })
                            .collect(),
                    })
                    .collect();
                (
                    file.file_name().unwrap().to_string_lossy().into_owned(),
                    cases,
                )
            })
            .collect()
    }

    fn list_size(headers: &[(Vec<u8>, Vec<u8>)]) -> usize {
        headers.iter().map(|(n, v)| n.len() + v.len() + 32).sum()
    }

    /// Decodes every case of every story of `dir`, one decoder per story. A second decoder
    /// decodes every other case with a header list limit one byte too small, to check that
    /// the limit is enforced and leaves the dynamic table in sync. Returns the number of cases.
    fn check_stories(dir: &str) -> usize {
        let mut count = 0;
        for (file, cases) in stories(dir) {
            let mut d = Decoder::new(DEFAULT_TABLE_SIZE);
            let mut limited = Decoder::new(DEFAULT_TABLE_SIZE);
            for (i, case) in cases.iter().enumerate() {
                if let Some(size) = case.header_table_size {
                    d.set_max_table_size_limit(size);
                    limited.set_max_table_size_limit(size);
                }
                let got = decode_all(&mut d, &case.wire, usize::MAX)
                    .unwrap_or_else(|e| panic!("{dir}/{file} case {i}: {e:?}"));
                assert_eq!(pairs(&got), case.headers, "{dir}/{file} case {i}");
                assert!(got.iter().all(|f| !f.sensitive) || dir != "raw-data");

                let exact = list_size(&case.headers);
                if i % 2 == 0 && exact > 0 {
                    assert_eq!(
                        decode_all(&mut limited, &case.wire, exact - 1),
                        Err(DecoderError::HeaderListTooLarge),
                        "{dir}/{file} case {i}"
                    );
                } else {
                    let got = decode_all(&mut limited, &case.wire, exact)
                        .unwrap_or_else(|e| panic!("{dir}/{file} case {i} (limited): {e:?}"));
                    assert_eq!(pairs(&got), case.headers, "{dir}/{file} case {i} (limited)");
                }
                count += 1;
            }
        }
        count
    }

    #[test]
    fn stories_nghttp2() {
        assert!(check_stories("nghttp2") > 0);
    }

    #[test]
    fn stories_nghttp2_change_table_size() {
        assert!(check_stories("nghttp2-change-table-size") > 0);
    }

    #[test]
    fn stories_go_hpack() {
        assert!(check_stories("go-hpack") > 0);
    }

    #[test]
    fn stories_python_hpack() {
        assert!(check_stories("python-hpack") > 0);
    }

    #[test]
    fn stories_haskell_http2_linear_huffman() {
        assert!(check_stories("haskell-http2-linear-huffman") > 0);
    }

    #[test]
    fn stories_swift_nio_hpack_huffman() {
        assert!(check_stories("swift-nio-hpack-huffman") > 0);
    }

    // ---- encoder round trips ----

    /// Encodes every raw-data story with our encoder and decodes it with our decoder.
    /// `sizes` is the table size to switch both sides to before each case (cycled), if any.
    fn round_trip_raw_data(table_size: usize, huffman: bool, sizes: &[usize]) -> usize {
        let mut bytes = 0;
        for (file, cases) in stories("raw-data") {
            let mut e = Encoder::new(table_size);
            e.set_use_huffman(huffman);
            let mut d = Decoder::new(table_size);
            for (i, case) in cases.iter().enumerate() {
                if !sizes.is_empty() {
                    let size = sizes[i % sizes.len()];
                    e.update_max_table_size(size);
                    d.set_max_table_size_limit(size);
                }
                let wire = encode(&mut e, &case.headers);
                bytes += wire.len();
                let got = decode_all(&mut d, &wire, usize::MAX)
                    .unwrap_or_else(|err| panic!("raw-data/{file} case {i}: {err:?}"));
                assert_eq!(pairs(&got), case.headers, "raw-data/{file} case {i}");
                assert_eq!(d.max_table_size(), e.table_for_tests().max_size());
                assert_eq!(d.table_for_tests().size(), e.table_for_tests().size());
            }
        }
        bytes
    }

    #[test]
    fn round_trip_raw_data_default() {
        let huffman = round_trip_raw_data(4096, true, &[]);
        let plain = round_trip_raw_data(4096, false, &[]);
        let no_table = round_trip_raw_data(0, true, &[]);
        // Sanity: Huffman and the dynamic table both make the output smaller.
        assert!(huffman < plain, "{huffman} < {plain}");
        assert!(huffman < no_table, "{huffman} < {no_table}");
    }

    #[test]
    fn round_trip_raw_data_small_table() {
        round_trip_raw_data(256, true, &[]);
    }

    #[test]
    fn round_trip_raw_data_table_size_changes() {
        round_trip_raw_data(4096, true, &[4096, 1024, 0, 300, 4096, 64, 2048]);
    }

    #[test]
    fn round_trip_size_change_down_then_up_between_blocks() {
        let mut e = Encoder::new(4096);
        let mut d = Decoder::new(4096);
        let fields = owned(&[("x-one", "1"), ("x-two", "2"), (":path", "/a")]);
        let wire = encode(&mut e, &fields);
        assert_eq!(
            pairs(&decode_all(&mut d, &wire, usize::MAX).unwrap()),
            fields
        );
        // Our SETTINGS goes down to 0 then up to 4096 before the next block: the encoder must
        // signal 0 (emptying both tables) then 4096.
        e.update_max_table_size(0);
        d.set_max_table_size_limit(0);
        e.update_max_table_size(4096);
        d.set_max_table_size_limit(4096);
        let wire = encode(&mut e, &fields);
        assert_eq!(wire[..4], [0x20, 0x3f, 0xe1, 0x1f]);
        assert_eq!(
            pairs(&decode_all(&mut d, &wire, usize::MAX).unwrap()),
            fields
        );
        assert_eq!(
            table_of(&d).0,
            fields.iter().rev().cloned().collect::<Vec<_>>()
        );
    }

    #[test]
    fn round_trip_random_fields() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut e = Encoder::new(4096);
        let mut d = Decoder::new(4096);
        for round in 0..2000 {
            if rng.below(10) == 0 {
                let size = [0, 1, 33, 100, 512, 4096][rng.below(6)];
                e.update_max_table_size(size);
                d.set_max_table_size_limit(size);
            }
            let n = rng.below(8);
            let fields: Vec<(Vec<u8>, Vec<u8>, bool)> = (0..n)
                .map(|_| {
                    let name = if rng.below(3) == 0 {
                        table::STATIC_TABLE[rng.below(61)].0.as_bytes().to_vec()
                    } else {
                        let len = rng.below(12);
                        rng.bytes(len)
                    };
                    let len = rng.below(40);
                    let value = if rng.below(2) == 0 {
                        rng.bytes(len)
                    } else {
                        (0..len)
                            .map(|_| b"abcdefgh0123/-. "[rng.below(16)])
                            .collect()
                    };
                    (name, value, rng.below(5) == 0)
                })
                .collect();
            let mut wire = Vec::new();
            e.encode(fields.iter().map(|(n, v, s)| (n, v, *s)), &mut wire);
            let got = decode_all(&mut d, &wire, usize::MAX)
                .unwrap_or_else(|err| panic!("round {round}: {err:?}"));
            assert_eq!(got.len(), fields.len(), "round {round}");
            for (g, (n, v, s)) in got.iter().zip(&fields) {
                assert_eq!(
                    (&g.name[..], &g.value[..]),
                    (&n[..], &v[..]),
                    "round {round}"
                );
                // Sensitive fields arrive as never indexed.
                if *s {
                    assert!(g.sensitive, "round {round}");
                }
            }
            assert_eq!(d.table_for_tests().size(), e.table_for_tests().size());
        }
    }

    // ---- malformed input ----

    fn decode_err(block: &[u8]) -> DecoderError {
        decode_all(&mut Decoder::new(DEFAULT_TABLE_SIZE), block, usize::MAX).unwrap_err()
    }

    #[test]
    fn every_error_from_bytes() {
        use DecoderError::*;
        // Integer overflow: an index past 2^32, and one with endless continuation bytes.
        assert_eq!(
            decode_err(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]),
            IntegerOverflow
        );
        assert_eq!(
            decode_err(&[0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
            IntegerOverflow
        );
        assert_eq!(
            decode_err(&[0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x7f]),
            IntegerOverflow
        );
        // Truncated: in an integer, before a string, inside a string.
        assert_eq!(decode_err(&[0xff]), Truncated);
        assert_eq!(decode_err(&[0xff, 0x80]), Truncated);
        assert_eq!(decode_err(&[0x40]), Truncated);
        assert_eq!(decode_err(&[0x40, 0x05, b'a']), Truncated);
        assert_eq!(decode_err(&[0x00, 0x01, b'a']), Truncated);
        assert_eq!(decode_err(&[0x04, 0x82, 0x64]), Truncated);
        // Invalid index: 0, beyond the static table with an empty dynamic table, as a name.
        assert_eq!(decode_err(&[0x80]), InvalidIndex);
        assert_eq!(decode_err(&[0xbe]), InvalidIndex);
        assert_eq!(decode_err(&[0x7e, 0x01, b'x']), InvalidIndex);
        assert_eq!(decode_err(&[0x1f, 0x30, 0x00]), InvalidIndex);
        // Invalid Huffman: padding of zeros, EOS, padding of 8 ones.
        assert_eq!(decode_err(&[0x00, 0x81, 0x00, 0x00]), InvalidHuffman);
        assert_eq!(
            decode_err(&[0x00, 0x01, b'a', 0x84, 0xff, 0xff, 0xff, 0xff]),
            InvalidHuffman
        );
        assert_eq!(decode_err(&[0x40, 0x82, 0x1f, 0xff, 0x00]), InvalidHuffman);
        // Size update after a field, and above the limit of 4096.
        assert_eq!(decode_err(&[0x82, 0x20]), MisplacedSizeUpdate);
        assert_eq!(decode_err(&[0x3f, 0xe2, 0x1f]), SizeUpdateTooLarge);
        // Missing size update after our limit went below the table's size.
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE);
        d.set_max_table_size_limit(1024);
        assert_eq!(
            decode_all(&mut d, &[0x82], usize::MAX),
            Err(MissingSizeUpdate)
        );
        // A string declared longer than 16 KiB (127 + 0x4001 bytes).
        assert_eq!(decode_err(&[0x00, 0x7f, 0x82, 0x80, 0x01]), StringTooLong);
        // Header list too large: one field of 42 bytes against 41.
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE);
        assert_eq!(decode_all(&mut d, &[0x82], 41), Err(HeaderListTooLarge));
        assert_eq!(decode_all(&mut d, &[0x82], 42).unwrap().len(), 1);

        assert!(IntegerOverflow.is_compression_error());
        assert!(!HeaderListTooLarge.is_compression_error());
    }

    #[test]
    fn emit_error_stops_decoding() {
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE);
        let mut seen = 0;
        let r = d.decode(&[0x82, 0x84, 0x86], usize::MAX, |_| {
            seen += 1;
            if seen == 2 {
                Err(DecoderError::HeaderListTooLarge)
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err(DecoderError::HeaderListTooLarge));
        assert_eq!(seen, 2);
    }

    /// Random bytes, and story blocks with random corruption: the decoder must return
    /// (Ok or Err) without panicking, and its table must stay within its limits.
    #[test]
    fn fuzz_decoder_never_panics() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let mut d = Decoder::new(DEFAULT_TABLE_SIZE);
        let check = |d: &mut Decoder, block: &[u8], rng: &mut Rng| {
            let max_list = [usize::MAX, 0, 100, 4096][rng.below(4)];
            let mut total = 0usize;
            let r = d.decode(block, max_list, |f| {
                total += f.size();
                Ok(())
            });
            assert!(total <= max_list);
            let t = d.table_for_tests();
            assert!(t.size() <= t.max_size() && t.max_size() <= DEFAULT_TABLE_SIZE);
            if matches!(r, Err(e) if e.is_compression_error()) {
                // The connection would end: start a new one.
                *d = Decoder::new(DEFAULT_TABLE_SIZE);
            }
        };
        for _ in 0..30_000 {
            let len = rng.below(48);
            let mut block = rng.bytes(len);
            // Bias towards plausible prefixes: small string lengths and indices.
            for b in block.iter_mut() {
                if rng.below(4) == 0 {
                    *b &= 0x8f;
                }
            }
            check(&mut d, &block, &mut rng);
        }
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        for dir in ["nghttp2", "swift-nio-hpack-huffman", "python-hpack"] {
            for (_, cases) in stories(dir).into_iter().take(3) {
                blocks.extend(cases.into_iter().map(|c| c.wire));
            }
        }
        for _ in 0..20_000 {
            let mut block = blocks[rng.below(blocks.len())].clone();
            if block.is_empty() {
                continue;
            }
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(block.len());
                match rng.below(3) {
                    0 => block[i] ^= 1 << rng.below(8),
                    1 => block[i] = rng.next() as u8,
                    _ => block.truncate(i),
                }
                if block.is_empty() {
                    break;
                }
            }
            check(&mut d, &block, &mut rng);
        }
    }

    /// The state-machine Huffman decoder agrees with a bit-by-bit decoder built directly from
    /// the (code, length) table, on random inputs (mostly invalid) and valid encodings.
    #[test]
    fn fuzz_huffman_against_bitwise_reference() {
        fn reference(src: &[u8]) -> Result<Vec<u8>, DecoderError> {
            let mut out = Vec::new();
            let (mut code, mut len) = (0u32, 0u8);
            for i in 0..src.len() * 8 {
                let bit = (src[i / 8] >> (7 - i % 8)) & 1;
                code = (code << 1) | u32::from(bit);
                len += 1;
                if let Some(sym) = huffman::CODES.iter().position(|&c| c == (code, len)) {
                    if sym == 256 {
                        return Err(DecoderError::InvalidHuffman);
                    }
                    out.push(sym as u8);
                    (code, len) = (0, 0);
                }
            }
            // Leftover bits must be fewer than 8 and all ones.
            if len > 7 || code != (1 << len) - 1 {
                return Err(DecoderError::InvalidHuffman);
            }
            Ok(out)
        }
        let mut rng = Rng(42);
        for round in 0..3000 {
            let len = rng.below(12);
            let mut src = rng.bytes(len);
            if round % 2 == 0 {
                // Mostly ones: exercises the long codes, EOS and padding.
                for b in src.iter_mut() {
                    *b |= rng.next() as u8;
                }
            }
            let mut got = Vec::new();
            let got = huffman::decode(&src, &mut got).map(|()| got);
            assert_eq!(got, reference(&src), "{src:02x?}");

            let len = rng.below(10);
            let plain = rng.bytes(len);
            let mut enc = Vec::new();
            huffman::encode(&plain, &mut enc);
            assert_eq!(reference(&enc), Ok(plain));
        }
    }
}
