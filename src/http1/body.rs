//! Request body framing (sans-I/O): Content-Length and chunked (RFC 9112 §6, §7.1).
//!
//! [`BodyDecoder::decode`] consumes framing bytes and returns payload as subslices of the
//! caller's input, one contiguous run per call; it never copies payload. The chunked
//! decoder is an explicit byte-at-a-time state machine ([`ChunkedState`]), so input may be
//! split at any byte boundary.
//!
//! Strictness (request smuggling defence, cf. CVE-2025-55315): every line in chunked
//! framing must end in CRLF. A bare LF or a bare CR anywhere (size line, extension, after
//! chunk data, trailer) is `BadChunk`; an LF is never taken as the end of a line on its
//! own.
//!
//! Choices left open by the RFC:
//! - `max_trailers_size` counts the bytes of the trailer field lines including their
//!   CRLFs, not the final empty line (so a limit of 0 still accepts a body without
//!   trailers).
//! - `max_chunk_extension_size` counts every byte between the chunk-size digits and the
//!   CR of the size line (BWS, `;`, names, values).
//! - Trailer fields are collected as sent, including fields that RFC 9110 §6.5.1 forbids
//!   in trailers; it is up to the caller not to merge them into the header section.

use super::error::RequestError;
use super::head::{is_tchar, Framing};
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Caps on chunked framing that RFC 9112 leaves to the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkedLimits {
    pub max_chunk_extension_size: usize,
    pub max_trailers_size: usize,
    pub max_trailer_count: usize,
}

/// At most this many hex digits in a chunk-size, leading zeros included (16 hex digits
/// hold any u64).
const MAX_CHUNK_SIZE_DIGITS: u8 = 16;

/// Where the chunked decoder is inside the grammar of RFC 9112 §7.1:
///
/// ```text
/// chunked-body   = *chunk last-chunk trailer-section CRLF
/// chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
/// chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
/// trailer-section = *( field-line CRLF )
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkedState {
    /// Reading chunk-size hex digits.
    Size,
    /// BWS after the size or after a complete extension: only more BWS or `;` may follow.
    SizeBws,
    /// After `;`: BWS, then a chunk-ext-name.
    ExtPreName,
    /// Inside a chunk-ext-name.
    ExtName,
    /// BWS after a chunk-ext-name: `=` or `;` must follow.
    ExtNameBws,
    /// After `=`: BWS, then a token or a quoted-string.
    ExtPreValue,
    /// Inside a token chunk-ext-val.
    ExtToken,
    /// Inside a quoted-string chunk-ext-val.
    ExtQuoted,
    /// After a backslash in a quoted-string.
    ExtQuotedEscape,
    /// After the closing quote of a quoted-string.
    ExtAfterQuoted,
    /// Saw the CR ending the size line; LF must follow.
    SizeLf,
    /// Inside chunk-data.
    Data,
    /// After chunk-data: CR must follow.
    DataCr,
    /// After chunk-data CR: LF must follow.
    DataLf,
    /// At the start of a trailer line (a field, or the final empty line).
    TrailerStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// Saw the CR ending a trailer field line; LF must follow.
    TrailerLf,
    /// Saw the CR of the final empty line; LF must follow.
    EndLf,
    /// The body is complete.
    Done,
}

/// Decoder state for one framing kind.
#[derive(Debug)]
enum Kind {
    /// Content-Length framing with this many payload bytes left.
    Length { remaining: u64 },
    /// Chunked framing.
    Chunked(Box<Chunked>),
    /// The body is complete (or there was none).
    Done,
    /// A framing error was reported; every later call reports it again.
    Failed(RequestError),
}

/// State of the chunked decoder between calls.
#[derive(Debug)]
struct Chunked {
    state: ChunkedState,
    limits: ChunkedLimits,
    /// Value of the chunk-size read so far (and then the payload bytes left in the chunk).
    size: u64,
    /// Hex digits read in the current chunk-size.
    size_digits: u8,
    /// Extension bytes on the current size line.
    ext_len: usize,
    /// Trailer field bytes so far (lines including CRLF).
    trailers_len: usize,
    /// The trailer field line being read (without CRLF).
    line: Vec<u8>,
    /// Trailer fields collected so far.
    trailers: HeaderMap,
}

/// Decodes a request body.
#[derive(Debug)]
pub(crate) struct BodyDecoder {
    kind: Kind,
    /// Trailers of a finished chunked body, until taken.
    trailers: Option<HeaderMap>,
}

impl BodyDecoder {
    /// A decoder for `framing`; `Framing::None` and `Length(0)` are done at once.
    pub(crate) fn new(framing: Framing, limits: ChunkedLimits) -> Self {
        let kind = match framing {
            Framing::None | Framing::Length(0) => Kind::Done,
            Framing::Length(n) => Kind::Length { remaining: n },
            Framing::Chunked => Kind::Chunked(Box::new(Chunked {
                state: ChunkedState::Size,
                limits,
                size: 0,
                size_digits: 0,
                ext_len: 0,
                trailers_len: 0,
                line: Vec::new(),
                trailers: HeaderMap::new(),
            })),
        };
        BodyDecoder {
            kind,
            trailers: None,
        }
    }

    /// Consumes bytes from the start of `input`; returns how many and the payload found
    /// among them (a subslice of `input`, at most one contiguous run). `(0, [])` means
    /// more input is needed, or the body is done.
    pub(crate) fn decode<'a>(
        &mut self,
        input: &'a [u8],
    ) -> Result<(usize, &'a [u8]), RequestError> {
        match &mut self.kind {
            Kind::Done => Ok((0, &[])),
            Kind::Failed(e) => Err(*e),
            Kind::Length { remaining } => {
                let n = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                // n <= remaining, so this cannot underflow.
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.kind = Kind::Done;
                }
                let payload = input.get(..n).unwrap_or(&[]);
                Ok((n, payload))
            }
            Kind::Chunked(chunked) => match chunked.decode(input) {
                Ok(out) => {
                    if chunked.state == ChunkedState::Done {
                        if !chunked.trailers.is_empty() {
                            self.trailers = Some(std::mem::take(&mut chunked.trailers));
                        }
                        self.kind = Kind::Done;
                    }
                    Ok(out)
                }
                Err(e) => {
                    self.kind = Kind::Failed(e);
                    Err(e)
                }
            },
        }
    }

    /// Whether the whole body has been decoded.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.kind, Kind::Done)
    }

    /// The trailer fields of a finished chunked body, once; `None` if there were none.
    pub(crate) fn take_trailers(&mut self) -> Option<http::HeaderMap> {
        self.trailers.take()
    }
}

/// Whether `b` is qdtext or obs-text (RFC 9110 §5.6.4).
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff)
}

/// Whether `b` may follow a backslash in a quoted-pair (RFC 9110 §5.6.4).
fn is_quoted_pair_byte(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff)
}

/// Whether `b` may appear in a trailer field line after the name (RFC 9110 §5.5:
/// `:`, OWS, VCHAR, obs-text).
fn is_field_line_byte(b: u8) -> bool {
    matches!(b, b'\t' | b' '..=0x7e | 0x80..=0xff)
}

/// Strips SP/HTAB on both ends (RFC 9110 §5.5: OWS around a field value).
fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

impl Chunked {
    /// Runs the state machine over `input`; returns on the first payload run, at the
    /// end of the body, or when `input` is exhausted.
    fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, &'a [u8]), RequestError> {
        use ChunkedState::*;
        let mut pos = 0usize;
        while let Some(&b) = input.get(pos) {
            if self.state == Data {
                let rest = input.get(pos..).unwrap_or(&[]);
                let n = usize::try_from(self.size)
                    .unwrap_or(usize::MAX)
                    .min(rest.len());
                // n <= size, so this cannot underflow.
                self.size -= n as u64;
                if self.size == 0 {
                    self.state = DataCr;
                }
                return Ok((pos + n, rest.get(..n).unwrap_or(&[])));
            }
            self.step(b)?;
            pos += 1;
            if self.state == Done {
                break;
            }
        }
        Ok((pos, &[]))
    }

    /// Counts one byte of chunk extension against `max_chunk_extension_size`.
    fn count_ext(&mut self) -> Result<(), RequestError> {
        self.ext_len = self.ext_len.saturating_add(1);
        if self.ext_len > self.limits.max_chunk_extension_size {
            return Err(RequestError::BadChunk);
        }
        Ok(())
    }

    /// Counts one byte of trailer field line against `max_trailers_size`.
    fn count_trailer(&mut self) -> Result<(), RequestError> {
        self.trailers_len = self.trailers_len.saturating_add(1);
        if self.trailers_len > self.limits.max_trailers_size {
            return Err(RequestError::BadChunk);
        }
        Ok(())
    }

    /// Consumes one framing byte (never called in `Data` or `Done`).
    fn step(&mut self, b: u8) -> Result<(), RequestError> {
        use ChunkedState::*;
        let bad = Err(RequestError::BadChunk);
        match self.state {
            // chunk-size = 1*HEXDIG, capped at 16 digits.
            Size => match b {
                _ if b.is_ascii_hexdigit() => {
                    if self.size_digits >= MAX_CHUNK_SIZE_DIGITS {
                        return bad;
                    }
                    let digit = match b {
                        b'0'..=b'9' => b - b'0',
                        b'a'..=b'f' => b - b'a' + 10,
                        _ => b.wrapping_sub(b'A').wrapping_add(10),
                    };
                    self.size = self
                        .size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(u64::from(digit)))
                        .ok_or(RequestError::BadChunk)?;
                    self.size_digits += 1;
                }
                // Anything but a digit needs at least one digit before it.
                _ if self.size_digits == 0 => return bad,
                b' ' | b'\t' => {
                    self.count_ext()?;
                    self.state = SizeBws;
                }
                b';' => {
                    self.count_ext()?;
                    self.state = ExtPreName;
                }
                b'\r' => self.state = SizeLf,
                _ => return bad,
            },
            // BWS before ";" (RFC 9112 §7.1.1); trailing whitespace before CRLF is not
            // in the grammar.
            SizeBws => {
                self.count_ext()?;
                match b {
                    b' ' | b'\t' => {}
                    b';' => self.state = ExtPreName,
                    _ => return bad,
                }
            }
            ExtPreName => {
                self.count_ext()?;
                match b {
                    b' ' | b'\t' => {}
                    _ if is_tchar(b) => self.state = ExtName,
                    _ => return bad,
                }
            }
            ExtName => match b {
                b'\r' => self.state = SizeLf,
                _ => {
                    self.count_ext()?;
                    match b {
                        _ if is_tchar(b) => {}
                        b'=' => self.state = ExtPreValue,
                        b';' => self.state = ExtPreName,
                        b' ' | b'\t' => self.state = ExtNameBws,
                        _ => return bad,
                    }
                }
            },
            ExtNameBws => {
                self.count_ext()?;
                match b {
                    b' ' | b'\t' => {}
                    b'=' => self.state = ExtPreValue,
                    b';' => self.state = ExtPreName,
                    _ => return bad,
                }
            }
            ExtPreValue => {
                self.count_ext()?;
                match b {
                    b' ' | b'\t' => {}
                    b'"' => self.state = ExtQuoted,
                    _ if is_tchar(b) => self.state = ExtToken,
                    _ => return bad,
                }
            }
            ExtToken | ExtAfterQuoted => match b {
                b'\r' => self.state = SizeLf,
                _ => {
                    self.count_ext()?;
                    match b {
                        _ if self.state == ExtToken && is_tchar(b) => {}
                        b';' => self.state = ExtPreName,
                        b' ' | b'\t' => self.state = SizeBws,
                        _ => return bad,
                    }
                }
            },
            ExtQuoted => {
                self.count_ext()?;
                match b {
                    b'"' => self.state = ExtAfterQuoted,
                    b'\\' => self.state = ExtQuotedEscape,
                    _ if is_qdtext(b) => {}
                    _ => return bad,
                }
            }
            ExtQuotedEscape => {
                self.count_ext()?;
                if !is_quoted_pair_byte(b) {
                    return bad;
                }
                self.state = ExtQuoted;
            }
            SizeLf => {
                if b != b'\n' {
                    return bad;
                }
                self.ext_len = 0;
                self.size_digits = 0;
                self.state = if self.size == 0 { TrailerStart } else { Data };
            }
            // chunk-data is followed by exactly CRLF.
            DataCr => {
                if b != b'\r' {
                    return bad;
                }
                self.state = DataLf;
            }
            DataLf => {
                if b != b'\n' {
                    return bad;
                }
                self.size = 0;
                self.state = Size;
            }
            // trailer-section = *( field-line CRLF ), then the final CRLF.
            TrailerStart => match b {
                b'\r' => self.state = EndLf,
                // A field name must start the line (no obs-fold, no empty name).
                _ if is_tchar(b) => {
                    if self.trailers.len() >= self.limits.max_trailer_count {
                        return bad;
                    }
                    self.count_trailer()?;
                    self.line.clear();
                    self.line.push(b);
                    self.state = TrailerLine;
                }
                _ => return bad,
            },
            TrailerLine => {
                self.count_trailer()?;
                match b {
                    b'\r' => self.state = TrailerLf,
                    _ if is_field_line_byte(b) => self.line.push(b),
                    _ => return bad,
                }
            }
            TrailerLf => {
                self.count_trailer()?;
                if b != b'\n' {
                    return bad;
                }
                self.commit_trailer()?;
                self.state = TrailerStart;
            }
            EndLf => {
                if b != b'\n' {
                    return bad;
                }
                self.state = Done;
            }
            Data | Done => return bad,
        }
        Ok(())
    }

    /// Parses the buffered trailer line `name ":" OWS value OWS` into the trailer map.
    fn commit_trailer(&mut self) -> Result<(), RequestError> {
        let colon = self
            .line
            .iter()
            .position(|&b| b == b':')
            .ok_or(RequestError::BadChunk)?;
        let name = self.line.get(..colon).unwrap_or(&[]);
        // No whitespace (or anything else) between name and colon: tchar only.
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(RequestError::BadChunk);
        }
        let value = trim_ows(self.line.get(colon + 1..).unwrap_or(&[]));
        let name = HeaderName::from_bytes(name).map_err(|_| RequestError::BadChunk)?;
        let value = HeaderValue::from_bytes(value).map_err(|_| RequestError::BadChunk)?;
        self.trailers
            .try_append(name, value)
            .map_err(|_| RequestError::BadChunk)?;
        self.line.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ChunkedLimits {
        ChunkedLimits {
            max_chunk_extension_size: 64,
            max_trailers_size: 128,
            max_trailer_count: 4,
        }
    }

    /// Feeds `pieces` in order, looping like the caller; returns the payload and whether
    /// the body finished.
    fn feed(dec: &mut BodyDecoder, pieces: &[&[u8]]) -> Result<(Vec<u8>, usize), RequestError> {
        let mut out = Vec::new();
        let mut total = 0;
        for piece in pieces {
            let mut rest: &[u8] = piece;
            loop {
                if dec.is_done() {
                    break;
                }
                let (n, payload) = dec.decode(rest)?;
                out.extend_from_slice(payload);
                total += n;
                rest = &rest[n..];
                if n == 0 {
                    break;
                }
            }
        }
        Ok((out, total))
    }

    fn chunked(input: &[u8]) -> Result<(Vec<u8>, bool, usize), RequestError> {
        chunked_with(input, limits())
    }

    fn chunked_with(
        input: &[u8],
        l: ChunkedLimits,
    ) -> Result<(Vec<u8>, bool, usize), RequestError> {
        let mut dec = BodyDecoder::new(Framing::Chunked, l);
        let (out, n) = feed(&mut dec, &[input])?;
        Ok((out, dec.is_done(), n))
    }

    fn bad(input: &[u8]) {
        assert_eq!(
            chunked(input).map(|r| r.1),
            Err(RequestError::BadChunk),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }

    fn good(input: &[u8], payload: &[u8]) {
        let (out, done, n) = chunked(input)
            .unwrap_or_else(|e| panic!("{:?}: {e:?}", String::from_utf8_lossy(input)));
        assert!(done, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(n, input.len());
        assert_eq!(out, payload);
    }

    #[test]
    fn none_and_zero_length_are_done() {
        for f in [Framing::None, Framing::Length(0)] {
            let mut dec = BodyDecoder::new(f, limits());
            assert!(dec.is_done());
            assert_eq!(dec.decode(b"GET").unwrap(), (0, &b""[..]));
            assert!(dec.take_trailers().is_none());
        }
    }

    #[test]
    fn content_length() {
        let mut dec = BodyDecoder::new(Framing::Length(5), limits());
        assert!(!dec.is_done());
        assert_eq!(dec.decode(b"").unwrap(), (0, &b""[..]));
        assert_eq!(dec.decode(b"he").unwrap(), (2, &b"he"[..]));
        assert!(!dec.is_done());
        assert_eq!(dec.decode(b"lloGET /").unwrap(), (3, &b"llo"[..]));
        assert!(dec.is_done());
        assert_eq!(dec.decode(b"GET /").unwrap(), (0, &b""[..]));
    }

    #[test]
    fn content_length_huge() {
        let mut dec = BodyDecoder::new(Framing::Length(u64::MAX), limits());
        assert_eq!(dec.decode(b"abc").unwrap(), (3, &b"abc"[..]));
        assert!(!dec.is_done());
    }

    #[test]
    fn chunked_basic() {
        good(b"0\r\n\r\n", b"");
        good(b"5\r\nhello\r\n0\r\n\r\n", b"hello");
        good(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world");
        good(b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789");
        good(b"a\r\n0123456789\r\n000\r\n\r\n", b"0123456789");
    }

    #[test]
    fn chunked_stops_at_end() {
        let mut dec = BodyDecoder::new(Framing::Chunked, limits());
        let input = b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
        let (out, n) = feed(&mut dec, &[input]).unwrap();
        assert_eq!(out, b"abc");
        assert_eq!(n, 13);
        assert!(dec.is_done());
        assert_eq!(dec.decode(b"GET").unwrap(), (0, &b""[..]));
    }

    #[test]
    fn one_payload_run_per_call() {
        let mut dec = BodyDecoder::new(Framing::Chunked, limits());
        let input = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let (n, p) = dec.decode(input).unwrap();
        assert_eq!((n, p), (6, &b"abc"[..]));
        let (n2, p) = dec.decode(&input[n..]).unwrap();
        assert_eq!((n2, p), (7, &b"de"[..]));
        let (n3, p) = dec.decode(&input[n + n2..]).unwrap();
        assert_eq!((n3, p), (7, &b""[..]));
        assert!(dec.is_done());
    }

    #[test]
    fn chunk_size_limits() {
        // 16 digits (leading zeros count) are accepted.
        good(b"0000000000000001\r\nx\r\n0\r\n\r\n", b"x");
        good(b"000000000000000\r\n\r\n", b"");
        bad(b"00000000000000001\r\nx\r\n0\r\n\r\n");
        bad(b"10000000000000000\r\n");
        // Max u64 size is fine to announce.
        let mut dec = BodyDecoder::new(Framing::Chunked, limits());
        assert_eq!(
            dec.decode(b"ffffffffffffffff\r\nab").unwrap(),
            (20, &b"ab"[..])
        );
        // Empty or non-hex sizes.
        bad(b"\r\n\r\n");
        bad(b";a\r\n");
        bad(b" 5\r\nhello\r\n0\r\n\r\n");
        bad(b"g\r\n");
        bad(b"0x5\r\nhello\r\n0\r\n\r\n");
        bad(b"-5\r\n");
        bad(b"+5\r\n");
    }

    #[test]
    fn bare_lf_and_cr_rejected() {
        bad(b"5\nhello\r\n0\r\n\r\n");
        bad(b"5\r\nhello\n0\r\n\r\n");
        bad(b"5\r\nhello\r\n0\n\r\n");
        bad(b"5\r\nhello\r\n0\r\n\n");
        bad(b"5\rhello\r\n0\r\n\r\n");
        bad(b"5\r\nhello\r0\r\n\r\n");
        bad(b"5;a\nhello\r\n0\r\n\r\n");
        // CVE-2025-55315: an LF inside an extension must not end the line.
        bad(b"2;\nxx\r\n45\r\n0\r\n\r\n");
        bad(b"2;a=b\nxx\r\n0\r\n\r\n");
        bad(b"2;a=\"b\nc\"\r\nxx\r\n0\r\n\r\n");
        bad(b"0\r\nX: a\nY: b\r\n\r\n");
        bad(b"0\r\nX: a\rY: b\r\n\r\n");
    }

    #[test]
    fn data_must_be_followed_by_crlf() {
        bad(b"5\r\nhelloX\r\n0\r\n\r\n");
        bad(b"5\r\nhello world\r\n0\r\n\r\n");
        bad(b"5\r\nhel\r\n0\r\n\r\n");
    }

    #[test]
    fn extensions() {
        good(b"5;a\r\nhello\r\n0\r\n\r\n", b"hello");
        good(b"5;a=b\r\nhello\r\n0;last\r\n\r\n", b"hello");
        good(b"5 ;a\r\nhello\r\n0\r\n\r\n", b"hello");
        good(b"5\t; a = b ;c\r\nhello\r\n0\r\n\r\n", b"hello");
        good(b"5;a=\"b c;\\\"d\"\r\nhello\r\n0\r\n\r\n", b"hello");
        good(b"5;a=\"\" ;b\r\nhello\r\n0\r\n\r\n", b"hello");
        good(b"5;a;b;c=d\r\nhello\r\n0\r\n\r\n", b"hello");
        bad(b"5 \r\nhello\r\n0\r\n\r\n");
        bad(b"5;\r\nhello\r\n0\r\n\r\n");
        bad(b"5;a=\r\nhello\r\n0\r\n\r\n");
        bad(b"5;a \r\nhello\r\n0\r\n\r\n");
        bad(b"5;a=b \r\nhello\r\n0\r\n\r\n");
        bad(b"5;a=b c\r\nhello\r\n0\r\n\r\n");
        bad(b"5;a=\"b\r\nhello\r\n0\r\n\r\n");
        bad(b"5;a=\"b\"c\r\nhello\r\n0\r\n\r\n");
        bad(b"5;a(b\r\nhello\r\n0\r\n\r\n");
        bad(b"5;=b\r\nhello\r\n0\r\n\r\n");
        bad(b"5;a=b=c\r\nhello\r\n0\r\n\r\n");
        bad(b"5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n");
        bad(b"5;a\0\r\nhello\r\n0\r\n\r\n");
    }

    #[test]
    fn extension_size_limit() {
        let mut l = limits();
        // ";abc=def" is 8 bytes.
        l.max_chunk_extension_size = 8;
        assert!(
            chunked_with(b"1;abc=def\r\nx\r\n0;abc=def\r\n\r\n", l)
                .unwrap()
                .1
        );
        l.max_chunk_extension_size = 7;
        assert_eq!(
            chunked_with(b"1;abc=def\r\nx\r\n0\r\n\r\n", l),
            Err(RequestError::BadChunk)
        );
        // The limit is per line, not cumulative.
        l.max_chunk_extension_size = 2;
        assert!(
            chunked_with(b"1;a\r\nx\r\n1;b\r\ny\r\n0;c\r\n\r\n", l)
                .unwrap()
                .1
        );
        l.max_chunk_extension_size = 0;
        assert!(chunked_with(b"1\r\nx\r\n0\r\n\r\n", l).unwrap().1);
        assert_eq!(chunked_with(b"1;\r\n", l), Err(RequestError::BadChunk));
        assert_eq!(chunked_with(b"1 ", l), Err(RequestError::BadChunk));
    }

    #[test]
    fn trailers() {
        let mut dec = BodyDecoder::new(Framing::Chunked, limits());
        let input = b"3\r\nabc\r\n0\r\nX-Sum: 123 \r\nX-Sum:\t456\r\nY:\r\n\r\n";
        let (out, n) = feed(&mut dec, &[input]).unwrap();
        assert_eq!(out, b"abc");
        assert_eq!(n, input.len());
        assert!(dec.is_done());
        let t = dec.take_trailers().unwrap();
        let sums: Vec<_> = t.get_all("x-sum").iter().collect();
        assert_eq!(sums, ["123", "456"]);
        assert_eq!(t["y"], "");
        assert!(dec.take_trailers().is_none());

        let mut dec = BodyDecoder::new(Framing::Chunked, limits());
        feed(&mut dec, &[b"0\r\n\r\n"]).unwrap();
        assert!(dec.is_done());
        assert!(dec.take_trailers().is_none());
    }

    #[test]
    fn bad_trailers() {
        bad(b"0\r\n X: a\r\n\r\n");
        bad(b"0\r\nX : a\r\n\r\n");
        bad(b"0\r\n: a\r\n\r\n");
        bad(b"0\r\nX\r\n\r\n");
        bad(b"0\r\nX(: a\r\n\r\n");
        bad(b"0\r\nX: a\0\r\n\r\n");
        bad(b"0\r\nX: a\x7f\r\n\r\n");
        bad(b"0\r\nX: a\r\n\tb\r\n\r\n");
        bad(b"0\r\n\rx");
    }

    #[test]
    fn trailer_limits() {
        let input = b"0\r\nA: 1\r\nB: 2\r\n\r\n";
        let mut l = limits();
        // "A: 1\r\n" + "B: 2\r\n" = 12 bytes, 2 fields.
        l.max_trailers_size = 12;
        l.max_trailer_count = 2;
        assert!(chunked_with(input, l).unwrap().1);
        l.max_trailers_size = 11;
        assert_eq!(chunked_with(input, l), Err(RequestError::BadChunk));
        l.max_trailers_size = 12;
        l.max_trailer_count = 1;
        assert_eq!(chunked_with(input, l), Err(RequestError::BadChunk));
        // Limits of zero still allow an empty trailer section.
        l.max_trailers_size = 0;
        l.max_trailer_count = 0;
        assert!(chunked_with(b"0\r\n\r\n", l).unwrap().1);
        // Repeated names count as separate fields.
        l.max_trailers_size = 100;
        l.max_trailer_count = 1;
        assert_eq!(
            chunked_with(b"0\r\nA: 1\r\nA: 2\r\n\r\n", l),
            Err(RequestError::BadChunk)
        );
    }

    #[test]
    fn error_is_sticky() {
        let mut dec = BodyDecoder::new(Framing::Chunked, limits());
        assert_eq!(dec.decode(b"x"), Err(RequestError::BadChunk));
        assert_eq!(dec.decode(b"0\r\n\r\n"), Err(RequestError::BadChunk));
        assert!(!dec.is_done());
    }

    const SPLIT_BODY: &[u8] =
        b"5;ext=\"q;\\\"\"\r\nhello\r\n1\r\n \r\n0006 ; a = b\r\nworld!\r\n0;z\r\nT: v\r\nU: w x\r\n\r\n";

    #[test]
    fn one_byte_at_a_time() {
        let mut dec = BodyDecoder::new(Framing::Chunked, limits());
        let pieces: Vec<&[u8]> = SPLIT_BODY.chunks(1).collect();
        let (out, n) = feed(&mut dec, &pieces).unwrap();
        assert_eq!(out, b"hello world!");
        assert_eq!(n, SPLIT_BODY.len());
        assert!(dec.is_done());
        let t = dec.take_trailers().unwrap();
        assert_eq!(t["t"], "v");
        assert_eq!(t["u"], "w x");
    }

    #[test]
    fn every_two_way_split() {
        for i in 0..=SPLIT_BODY.len() {
            let mut dec = BodyDecoder::new(Framing::Chunked, limits());
            let (a, b) = SPLIT_BODY.split_at(i);
            let (out, n) = feed(&mut dec, &[a, b]).unwrap();
            assert_eq!(out, b"hello world!", "split at {i}");
            assert_eq!(n, SPLIT_BODY.len());
            assert!(dec.is_done());
            assert_eq!(dec.take_trailers().unwrap().len(), 2);
        }
    }

    #[test]
    fn every_two_way_split_content_length() {
        let body = b"hello world";
        for i in 0..=body.len() {
            let mut dec = BodyDecoder::new(Framing::Length(body.len() as u64), limits());
            let (a, b) = body.split_at(i);
            let (out, n) = feed(&mut dec, &[a, b, b"extra"]).unwrap();
            assert_eq!(out, body);
            assert_eq!(n, body.len());
            assert!(dec.is_done());
        }
    }

    #[test]
    fn bad_input_split_is_still_bad() {
        let input = b"2;\nxx\r\n0\r\n\r\n";
        for i in 0..=input.len() {
            let mut dec = BodyDecoder::new(Framing::Chunked, limits());
            let (a, b) = input.split_at(i);
            assert_eq!(
                feed(&mut dec, &[a, b]),
                Err(RequestError::BadChunk),
                "split at {i}"
            );
        }
    }

    #[test]
    fn no_panic_on_any_byte() {
        for b in 0..=255u8 {
            for prefix in [
                &b""[..],
                b"5",
                b"5;",
                b"5;a",
                b"5;a=",
                b"5;a=\"",
                b"5;a=\"\\",
                b"5\r",
                b"1\r\nx",
                b"1\r\nx\r",
                b"0\r\n",
                b"0\r\nA",
                b"0\r\nA:",
                b"0\r\nA: b\r",
                b"0\r\n\r",
            ] {
                let mut input = prefix.to_vec();
                input.push(b);
                let mut dec = BodyDecoder::new(Framing::Chunked, limits());
                let _ = feed(&mut dec, &[&input]);
            }
        }
    }

    #[test]
    fn pseudo_random_inputs_do_not_panic() {
        let alphabet = b"0123456789abcdefF;= \t\"\\\r\n:xX\x00\xff";
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (x >> 58) as usize;
            let mut buf = Vec::new();
            for _ in 0..len {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                buf.push(alphabet[(x >> 33) as usize % alphabet.len()]);
            }
            let mut dec = BodyDecoder::new(Framing::Chunked, limits());
            let _ = feed(&mut dec, &[&buf]);
        }
    }
}
