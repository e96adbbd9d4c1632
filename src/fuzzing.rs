//! Thin entry points into crate-internal code for the fuzz targets in `fuzz/`.
//!
//! Compiled only with `--cfg fuzzing` (the cfg cargo-fuzz sets, and `fuzz/run.sh`), never in
//! a normal build: nothing here is part of falconet's API. Each wrapper forwards to the
//! sans-I/O code it names and turns internal types into plain ones the targets can inspect.
#![allow(missing_docs)]

use bytes::Bytes;
use http::HeaderMap;
use std::time::{Duration, Instant};

use crate::limits::{Limits, MinDataRate};

/// How a request body is delimited (`http1::head::Framing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(u64),
    Chunked,
}

impl From<crate::http1::head::Framing> for Framing {
    fn from(f: crate::http1::head::Framing) -> Framing {
        use crate::http1::head::Framing as F;
        match f {
            F::None => Framing::None,
            F::Length(n) => Framing::Length(n),
            F::Chunked => Framing::Chunked,
        }
    }
}

impl From<Framing> for crate::http1::head::Framing {
    fn from(f: Framing) -> crate::http1::head::Framing {
        use crate::http1::head::Framing as F;
        match f {
            Framing::None => F::None,
            Framing::Length(n) => F::Length(n),
            Framing::Chunked => F::Chunked,
        }
    }
}

/// A parsed HTTP/1 request head (`http1::head::RequestHead`).
#[derive(Debug)]
pub struct Head {
    pub method: http::Method,
    pub target: http::Uri,
    pub version: http::Version,
    pub headers: HeaderMap,
    pub framing: Framing,
    pub keep_alive: bool,
    pub expect_continue: bool,
    pub upgrade: bool,
    pub host: Option<Bytes>,
}

impl From<crate::http1::head::RequestHead> for Head {
    fn from(h: crate::http1::head::RequestHead) -> Head {
        Head {
            method: h.method,
            target: h.target,
            version: h.version,
            headers: h.headers,
            framing: h.framing.into(),
            keep_alive: h.keep_alive,
            expect_continue: h.expect_continue,
            upgrade: h.upgrade,
            host: h.host,
        }
    }
}

/// Caps of one request head.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    pub max_request_line_size: usize,
    pub max_headers_total_size: usize,
    pub max_header_count: usize,
    pub allow_bare_lf: bool,
}

impl From<HeadLimits> for crate::http1::head::HeadLimits {
    fn from(l: HeadLimits) -> Self {
        crate::http1::head::HeadLimits {
            max_request_line_size: l.max_request_line_size,
            max_headers_total_size: l.max_headers_total_size,
            max_header_count: l.max_header_count,
            allow_bare_lf: l.allow_bare_lf,
        }
    }
}

/// How many empty lines the head parser skips before a request line.
pub const MAX_LEADING_EMPTY_LINES: usize = crate::http1::head::MAX_LEADING_EMPTY_LINES;

/// `http1::head::parse_head`; the error is the status it answers.
pub fn parse_head(buf: &[u8], limits: HeadLimits) -> Result<Option<(Head, usize)>, u16> {
    crate::http1::head::parse_head(buf, &limits.into())
        .map(|o| o.map(|(h, n)| (h.into(), n)))
        .map_err(|e| e.status())
}

/// `http1::body::BodyDecoder`.
#[derive(Debug)]
pub struct BodyDecoder(crate::http1::body::BodyDecoder);

impl BodyDecoder {
    pub fn new(
        framing: Framing,
        max_chunk_extension_size: usize,
        max_trailers_size: usize,
        max_trailer_count: usize,
    ) -> BodyDecoder {
        BodyDecoder(crate::http1::body::BodyDecoder::new(
            framing.into(),
            crate::http1::body::ChunkedLimits {
                max_chunk_extension_size,
                max_trailers_size,
                max_trailer_count,
            },
        ))
    }

    /// Consumed bytes and payload, or the status the error answers.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, &'a [u8]), u16> {
        self.0.decode(input).map_err(|e| e.status())
    }

    pub fn is_done(&self) -> bool {
        self.0.is_done()
    }

    pub fn take_trailers(&mut self) -> Option<HeaderMap> {
        self.0.take_trailers()
    }
}

/// `http1::core::Connection`, the sans-I/O HTTP/1 connection.
#[derive(Debug)]
pub struct Http1Connection(crate::http1::core::Connection);

/// Where an HTTP/1 connection is (`http1::core::Phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Idle,
    Head,
    Body,
    Writing,
}

impl Http1Connection {
    pub fn new(limits: &Limits, allow_bare_lf: bool, now: Instant) -> Http1Connection {
        let cfg = crate::http1::core::Config::new(limits, allow_bare_lf);
        Http1Connection(crate::http1::core::Connection::new(cfg, now, None))
    }

    /// The head limits the connection parses under.
    pub fn head_limits(limits: &Limits) -> HeadLimits {
        let h = crate::http1::core::Config::new(limits, false).head;
        HeadLimits {
            max_request_line_size: h.max_request_line_size,
            max_headers_total_size: h.max_headers_total_size,
            max_header_count: h.max_header_count,
            allow_bare_lf: h.allow_bare_lf,
        }
    }

    pub fn phase(&self) -> Phase {
        use crate::http1::core::Phase as P;
        match self.0.phase() {
            P::Idle => Phase::Idle,
            P::Head => Phase::Head,
            P::Body => Phase::Body,
            P::Writing => Phase::Writing,
        }
    }

    pub fn recv_head(&mut self, input: &[u8], now: Instant) -> Result<Option<(Head, usize)>, u16> {
        self.0
            .recv_head(input, now)
            .map(|o| o.map(|(h, n)| (h.into(), n)))
            .map_err(|e| e.status())
    }

    pub fn begin_body(
        &mut self,
        framing: Framing,
        max: Option<u64>,
        rate: Option<MinDataRate>,
        expect_continue: bool,
    ) {
        self.0.begin_body(crate::http1::core::BodySpec {
            framing: framing.into(),
            max,
            rate,
            response_rate: None,
            expect_continue,
        });
    }

    pub fn take_continue(&mut self, body_buffered: bool) -> bool {
        self.0.take_continue(body_buffered).is_some()
    }

    pub fn received(&mut self, n: usize) {
        self.0.received(n);
    }

    pub fn waited(&mut self, d: Duration) {
        self.0.waited(d);
    }

    pub fn recv_body(
        &mut self,
        input: &[u8],
        out: &mut dyn FnMut(&[u8]),
        limit: usize,
    ) -> Result<(usize, usize), u16> {
        self.0.recv_body(input, out, limit).map_err(|e| e.status())
    }

    pub fn body_done(&self) -> bool {
        self.0.body_done()
    }

    pub fn writing(&mut self) {
        self.0.writing();
    }

    pub fn response_done(&mut self, now: Instant) {
        self.0.response_done(now);
    }

    pub fn wait_deadline(&self, now: Instant) -> Result<Instant, u16> {
        self.0.wait_deadline(now).map_err(|e| e.status())
    }
}

/// HTTP/2: frames, HPACK and the sans-I/O connection.
#[cfg(feature = "http2")]
pub mod http2 {
    use bytes::{Bytes, BytesMut};
    use http::{HeaderMap, StatusCode};
    use std::time::Instant;

    use crate::http2::conn::{ConnSettings, Event};
    use crate::http2::frame::{self, ErrorCode, StreamId};
    use crate::http2::hpack;
    use crate::limits::Limits;

    /// One decoded frame: its `Debug` text and its encoding by the frame layer.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DecodedFrame {
        pub debug: String,
        pub encoded: Vec<u8>,
        pub stream_id: u32,
    }

    /// The frame layer's decoder (`frame::decode_frame_bytes`) on the start of `buf`:
    /// `Ok(None)` incomplete; `Err` the frame error's `Debug` text and the frame's length.
    pub fn decode_frame(
        buf: &mut BytesMut,
        max_frame_size: u32,
    ) -> Result<Option<DecodedFrame>, (String, usize)> {
        match frame::decode_frame_bytes(buf, max_frame_size) {
            Ok(None) => Ok(None),
            Ok(Some(f)) => {
                let mut encoded = Vec::new();
                f.encode(&mut encoded);
                Ok(Some(DecodedFrame {
                    debug: format!("{f:?}"),
                    encoded,
                    stream_id: f.stream_id().value(),
                }))
            }
            Err(e) => Err((format!("{e:?}"), e.frame_len())),
        }
    }

    /// `hpack::Decoder`.
    pub struct Decoder(hpack::Decoder);

    /// A decoded header field: name, value, never-indexed.
    pub type Field = (Bytes, Bytes, bool);

    impl Decoder {
        pub fn new(max_table_size: usize) -> Decoder {
            Decoder(hpack::Decoder::new(max_table_size))
        }

        pub fn set_max_table_size_limit(&mut self, limit: usize) {
            self.0.set_max_table_size_limit(limit);
        }

        pub fn set_max_string_len(&mut self, max: usize) {
            self.0.set_max_string_len(max);
        }

        /// Decodes one block; `Err` the error's `Debug` text and the fields emitted before it.
        pub fn decode(
            &mut self,
            block: &[u8],
            max_header_list_size: usize,
        ) -> Result<Vec<Field>, (String, Vec<Field>)> {
            let mut fields = Vec::new();
            let r = self.0.decode(block, max_header_list_size, |f| {
                fields.push((f.name, f.value, f.sensitive));
                Ok(())
            });
            match r {
                Ok(()) => Ok(fields),
                Err(e) => Err((format!("{e:?}"), fields)),
            }
        }

        /// The dynamic table: (size in RFC 7541 octets, maximum size, sum of its entries).
        pub fn table(&self) -> (usize, usize, usize) {
            let t = self.0.table_for_tests();
            (t.size(), t.max_size(), t.iter().map(|e| e.size()).sum())
        }
    }

    /// `hpack::Encoder`.
    pub struct Encoder(hpack::Encoder);

    impl Encoder {
        pub fn new(max_table_size: usize) -> Encoder {
            Encoder(hpack::Encoder::new(max_table_size))
        }

        pub fn update_max_table_size(&mut self, max_size: usize) {
            self.0.update_max_table_size(max_size);
        }

        pub fn set_use_huffman(&mut self, use_huffman: bool) {
            self.0.set_use_huffman(use_huffman);
        }

        pub fn encode(&mut self, fields: &[(Vec<u8>, Vec<u8>, bool)], out: &mut Vec<u8>) {
            self.0.encode(
                fields
                    .iter()
                    .map(|(n, v, s)| (n.as_slice(), v.as_slice(), *s)),
                out,
            );
        }

        /// The dynamic table: (size, maximum size, sum of its entries).
        pub fn table(&self) -> (usize, usize, usize) {
            let t = self.0.table_for_tests();
            (t.size(), t.max_size(), t.iter().map(|e| e.size()).sum())
        }
    }

    /// What the connection hands the driver (`conn::Event`).
    #[derive(Debug)]
    pub enum H2Event {
        Request {
            id: u32,
            head: http::request::Parts,
            body: Bytes,
            trailers: Option<HeaderMap>,
        },
        Reset {
            id: u32,
            code: u32,
        },
        /// The connection answered the stream itself (431, 413).
        Answered {
            id: u32,
            status: u16,
        },
    }

    /// The settings of a connection: `ConnSettings::from_limits` with the knobs a target
    /// varies.
    #[derive(Debug, Clone)]
    pub struct Settings {
        pub max_concurrent_streams: u32,
        pub max_frame_size: u32,
        pub max_header_list_size: u32,
        pub initial_connection_window: u32,
        pub initial_stream_window: u32,
        pub max_request_body_size: Option<u64>,
        pub max_request_body_buffer: usize,
        pub header_table_size: u32,
        pub allow_response_header_compression: bool,
    }

    impl Settings {
        pub fn from_limits(limits: &Limits) -> Settings {
            let s = ConnSettings::from_limits(limits);
            Settings {
                max_concurrent_streams: s.max_concurrent_streams,
                max_frame_size: s.max_frame_size,
                max_header_list_size: s.max_header_list_size,
                initial_connection_window: s.initial_connection_window,
                initial_stream_window: s.initial_stream_window,
                max_request_body_size: s.max_request_body_size,
                max_request_body_buffer: s.max_request_body_buffer,
                header_table_size: s.header_table_size,
                allow_response_header_compression: s.allow_response_header_compression,
            }
        }
    }

    /// The connection's buffers, for the targets' bounds.
    #[derive(Debug, Clone, Copy)]
    pub struct Buffered {
        /// Octets read and not yet decoded (a partial frame).
        pub read_buf: usize,
        /// Request body octets held (receiving and queued requests).
        pub body: usize,
        /// Encoded control frames waiting for `poll_output`.
        pub control: usize,
        /// An open header block's fragment.
        pub header_block: usize,
    }

    /// `http2::conn::Connection`.
    pub struct Connection(crate::http2::conn::Connection);

    impl Connection {
        pub fn new(settings: &Settings, limits: &Limits, now: Instant) -> Connection {
            let mut s = ConnSettings::from_limits(limits);
            s.max_concurrent_streams = settings.max_concurrent_streams;
            s.max_frame_size = settings.max_frame_size;
            s.max_header_list_size = settings.max_header_list_size;
            s.initial_connection_window = settings.initial_connection_window;
            s.initial_stream_window = settings.initial_stream_window;
            s.max_request_body_size = settings.max_request_body_size;
            s.max_request_body_buffer = settings.max_request_body_buffer;
            s.header_table_size = settings.header_table_size;
            s.allow_response_header_compression = settings.allow_response_header_compression;
            Connection(crate::http2::conn::Connection::new(s, now))
        }

        /// `Err`: the connection error's `Debug` text.
        pub fn recv(&mut self, bytes: &[u8], now: Instant) -> Result<(), String> {
            self.0.recv(bytes, now).map_err(|e| format!("{e:?}"))
        }

        pub fn poll_event(&mut self) -> Option<H2Event> {
            Some(match self.0.poll_event()? {
                Event::Request {
                    id,
                    head,
                    body,
                    trailers,
                } => H2Event::Request {
                    id: id.value(),
                    head,
                    body,
                    trailers,
                },
                Event::Reset { id, code } => H2Event::Reset {
                    id: id.value(),
                    code: code.to_u32(),
                },
                Event::Answered { id, status, .. } => H2Event::Answered {
                    id: id.value(),
                    status: status.as_u16(),
                },
            })
        }

        pub fn poll_output(&mut self, out: &mut Vec<u8>) -> bool {
            self.0.poll_output(out)
        }

        pub fn wants_write(&self) -> bool {
            self.0.wants_write()
        }

        pub fn send_headers(&mut self, id: u32, status: u16, headers: &HeaderMap, end: bool) {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            self.0.send_headers(StreamId::new(id), status, headers, end);
        }

        pub fn send_data(&mut self, id: u32, data: Bytes, end: bool) {
            self.0.send_data(StreamId::new(id), data, end);
        }

        pub fn send_trailers(&mut self, id: u32, trailers: &HeaderMap) {
            self.0.send_trailers(StreamId::new(id), trailers);
        }

        pub fn reset(&mut self, id: u32, code: u32) {
            self.0.reset(StreamId::new(id), ErrorCode::from_u32(code));
        }

        pub fn queued_data(&self, id: u32) -> usize {
            self.0.queued_data(StreamId::new(id))
        }

        pub fn queued_data_total(&self) -> usize {
            self.0.queued_data_total()
        }

        pub fn shutdown(&mut self, now: Instant) {
            self.0.shutdown(now);
        }

        pub fn active_streams(&self) -> usize {
            self.0.active_streams()
        }

        pub fn is_closed(&self) -> bool {
            self.0.is_closed()
        }

        pub fn next_timeout(&self) -> Option<Instant> {
            self.0.next_timeout()
        }

        pub fn handle_timeout(&mut self, now: Instant) -> Result<(), String> {
            self.0.handle_timeout(now).map_err(|e| format!("{e:?}"))
        }

        pub fn max_header_block(&self) -> usize {
            self.0.max_header_block()
        }

        pub fn buffered(&self) -> Buffered {
            let (read_buf, body, control, header_block) = self.0.fuzz_buffered();
            Buffered {
                read_buf,
                body,
                control,
                header_block,
            }
        }
    }
}

/// `config::urls::parse_url`: `Err` the error's text.
pub fn parse_url(url: &str) -> Result<String, String> {
    crate::config::urls::parse_url(url)
        .map(|ep| crate::config::urls::describe(&ep))
        .map_err(|e| e.to_string())
}

/// The configuration layers without files: `env` as the process environment, applied to
/// default options.
pub fn config_from_env(env: &[(String, String)]) -> Result<Vec<String>, String> {
    let env: Vec<(std::ffi::OsString, std::ffi::OsString)> =
        env.iter().map(|(k, v)| (k.into(), v.into())).collect();
    let cwd = std::path::Path::new("/nonexistent/falconet-fuzz");
    let cfg = crate::config::Configuration::read_from(&[], cwd, &env).map_err(|e| e.to_string())?;
    let mut options = crate::ServerOptions::default();
    cfg.apply(&mut options).map_err(|e| e.to_string())
}

/// Two JSON documents merged as the configuration layers merge them, then applied.
#[cfg(feature = "json-config")]
pub fn merged_json(base: &str, overlay: &str) -> Result<Vec<String>, String> {
    use serde_json::Value;
    let base = crate::config::json::parse_document(base).map_err(|e| e.to_string())?;
    let overlay = crate::config::json::parse_document(overlay).map_err(|e| e.to_string())?;
    let mut doc = Value::Object(base);
    crate::config::merge(&mut doc, Value::Object(overlay));
    let Value::Object(root) = doc else {
        return Err("merge gave a non-object".into());
    };
    crate::config::json::check_duplicates_deep(&root).map_err(|e| e.to_string())?;
    let mut options = crate::ServerOptions::default();
    crate::config::json::apply_document(&mut options, &root).map_err(|e| e.to_string())
}

/// `forwarded::parse_network`.
pub fn parse_network(s: &str) -> Option<(std::net::IpAddr, u8)> {
    crate::forwarded::parse_network(s)
}

/// What `forwarded::apply` changed: the client address and scheme it applied.
pub fn apply_forwarded(
    options: &crate::ForwardedHeadersOptions,
    remote: &crate::Address,
    https: bool,
    headers: &mut HeaderMap,
) -> Option<(Option<crate::Address>, Option<String>)> {
    let scheme = if https { "https" } else { "http" };
    crate::forwarded::apply(options, remote, scheme, headers)
        .map(|f| (f.client, f.scheme.map(|s| s.into_owned())))
}

/// TLS certificate and key loaders, on bytes instead of files.
#[cfg(feature = "tls")]
pub mod tls {
    /// A PEM chain and a PEM key (Certificate `Path` + `KeyPath`).
    pub fn load_pem(chain: &[u8], key: &[u8], password: Option<&str>) -> Result<(), String> {
        crate::tls::fuzz_load(chain, Some(key), password)
    }

    /// One file: PEM with chain and key, or PKCS#12 (Certificate `Path` alone).
    pub fn load_file(bytes: &[u8], password: Option<&str>) -> Result<(), String> {
        crate::tls::fuzz_load(bytes, None, password)
    }

    /// `pbe::decrypt_private_key_info`: the PKCS#8 DER it decrypts to.
    pub fn decrypt_private_key_info(der: &[u8], password: &str) -> Result<Vec<u8>, String> {
        crate::tls::fuzz_decrypt_private_key_info(der, password)
    }

    /// `pbe::pem_contents`.
    pub fn pem_contents(block: &[u8]) -> Option<Vec<u8>> {
        crate::tls::fuzz_pem_contents(block)
    }

    /// `pkcs12::read`: the key (PKCS#8 DER) and the chain.
    #[cfg(feature = "tls-pkcs12")]
    pub fn read_pkcs12(bytes: &[u8], password: &str) -> Result<(Vec<u8>, Vec<Vec<u8>>), String> {
        crate::tls::fuzz_read_pkcs12(bytes, password)
    }

    /// The X.509 reader of `certs` (validity and extended key usage of a DER certificate).
    pub fn x509(cert: &[u8]) -> Option<String> {
        crate::tls::fuzz_x509(cert)
    }
}
