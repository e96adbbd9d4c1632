//! Response compression (feature `compression`, `ServerOptions::response_compression`),
//! end to end with real clients: curl over HTTP/1.1 and HTTP/2 (h2c with prior knowledge),
//! bodies decoded independently by Python's `gzip` and `brotli` modules, raw sockets for
//! the streaming checks, and headless Chromium loading a compressed page.
//!
//! Needs `curl` (with brotli and HTTP/2, as Debian's), `python3` with `brotli`
//! (python3-brotli) and `chromium`; `.ci/run` installs them, and a missing tool fails its
//! test with a message naming the package.
#![cfg(all(feature = "compression", feature = "static-files", feature = "http2"))]

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use falconet::http::{header, HeaderValue, StatusCode};
use falconet::{
    Body, CompressionLevel, Request, Response, ResponseCompressionOptions, Router, ServerOptions,
    StaticFiles,
};

// ---------------------------------------------------------------------------------------
// The application and the server.

/// `n` bytes of text that compress well but not trivially (numbered lines).
fn text(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 64);
    let mut i = 0u64;
    while out.len() < n {
        out.extend_from_slice(
            format!(
                "line {i}: the quick brown fox {} jumps\n",
                i.wrapping_mul(7919) % 10007
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.truncate(n);
    out
}

fn typed(ct: &'static str, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    r
}

fn query_n(req: &Request) -> usize {
    falconet::Query::of(req)
        .get("n")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
}

/// A reader that yields `first` bytes of `text` in 16 KiB reads, then waits for the
/// test's go-ahead before yielding the rest (`total` bytes in all).
struct Gated {
    data: Vec<u8>,
    pos: usize,
    first: usize,
    gate: Option<mpsc::Receiver<()>>,
}

impl Read for Gated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.first {
            if let Some(gate) = self.gate.take() {
                let _ = gate.recv_timeout(Duration::from_secs(20));
            }
        }
        let end = if self.pos < self.first {
            self.first
        } else {
            self.data.len()
        };
        let n = buf.len().min(end - self.pos).min(16 * 1024);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Where the `/gated` and `/events` routes take their go-ahead channel from.
type Gates = Arc<Mutex<Vec<mpsc::Receiver<()>>>>;

fn app(root: &std::path::Path, gates: Gates) -> Router {
    let events = gates.clone();
    Router::new()
        .get("/text", |req: Request| {
            let mut r = typed("text/plain; charset=utf-8", text(query_n(&req)));
            r.headers_mut()
                .insert(header::ETAG, HeaderValue::from_static("\"v1\""));
            r.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("Origin"));
            r
        })
        .get("/json", |req: Request| {
            typed("application/json", text(query_n(&req)))
        })
        .get("/png", |_req: Request| typed("image/png", text(5000)))
        .get("/no-content", |_req: Request| {
            let mut r = typed("text/plain", Body::empty());
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        })
        .get("/not-modified", |_req: Request| {
            let mut r = typed("text/plain", Body::empty());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        })
        .get("/partial", |_req: Request| {
            let mut r = typed("text/plain", text(5000));
            *r.status_mut() = StatusCode::PARTIAL_CONTENT;
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_static("bytes 0-4999/10000"),
            );
            r
        })
        .get("/encoded", |_req: Request| {
            let mut r = typed("text/plain", text(5000));
            r.headers_mut().insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static("identity-x"),
            );
            r
        })
        .get("/no-transform", |_req: Request| {
            let mut r = typed("text/plain", text(5000));
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-transform"),
            );
            r
        })
        .get("/big-stream", |_req: Request| {
            // 4 MiB from a reader of unknown length, produced as it is read.
            let data = text(4 << 20);
            typed(
                "text/plain",
                Body::from_reader(std::io::Cursor::new(data), None),
            )
        })
        .get("/gated", move |_req: Request| {
            let gate = gates.lock().unwrap().pop();
            typed(
                "text/plain",
                Body::from_reader(
                    Gated {
                        data: text(4 << 20),
                        pos: 0,
                        first: 1 << 20,
                        gate,
                    },
                    Some(4 << 20),
                ),
            )
        })
        .get("/events", move |_req: Request| {
            // One short event, then nothing until the test says so.
            let gate = events.lock().unwrap().pop();
            let mut data = b"event 1: hello\n".to_vec();
            data.extend_from_slice(&text(3000));
            let len = data.len();
            typed(
                "text/plain",
                Body::from_reader(
                    Gated {
                        data,
                        pos: 0,
                        first: 15,
                        gate,
                    },
                    Some(len as u64),
                ),
            )
        })
        .fallback(StaticFiles::new(root).expect("static root"))
}

struct Fixture {
    server: support::TestServer,
    gates: Gates,
    _root: support::TempDir,
}

fn compression(enable_for_https: bool) -> ResponseCompressionOptions {
    ResponseCompressionOptions {
        enabled: true,
        enable_for_https,
        ..Default::default()
    }
}

fn fixture_with(options: ServerOptions) -> Fixture {
    let root = support::TempDir::new("compression");
    let p = root.path();
    std::fs::write(p.join("app.js"), text(5000)).unwrap();
    std::fs::write(p.join("app.js.br"), b"BR-PRECOMPRESSED").unwrap();
    std::fs::write(p.join("app.js.gz"), b"GZ-PRECOMPRESSED").unwrap();
    std::fs::write(p.join("site.css"), text(100_000)).unwrap();
    std::fs::write(p.join("small.css"), text(500)).unwrap();
    std::fs::write(
        p.join("page.html"),
        format!(
            "<!doctype html><html><head><title>compressed</title></head><body>\
             <div id=\"out\">waiting</div><pre id=\"pad\">{}</pre><p id=\"end\">the end</p>\
             <script>document.getElementById('out').textContent = 'script ran ' + (40 + 2);\
             </script></body></html>",
            String::from_utf8(text(20_000)).unwrap()
        ),
    )
    .unwrap();
    let gates: Gates = Arc::default();
    let server = support::start(options, app(p, gates.clone()));
    Fixture {
        server,
        gates,
        _root: root,
    }
}

fn fixture() -> Fixture {
    fixture_with(ServerOptions {
        response_compression: compression(false),
        ..support::options()
    })
}

// ---------------------------------------------------------------------------------------
// Clients.

struct Got {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// curl's answer for `url` with `extra` arguments: status, headers and raw body bytes
/// (decoded only when `extra` says `--compressed`).
fn curl(url: &str, extra: &[&str]) -> Got {
    support::require_tool("curl", "curl");
    let dir = support::TempDir::new("curl-head");
    let head_file = dir.path().join("head");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-D"])
        .arg(&head_file)
        .args(extra)
        .arg(url)
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl {extra:?} {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = std::fs::read_to_string(&head_file).unwrap();
    // With a 100 or a redirect several heads are written: the last one is the answer.
    let last = head
        .trim_end()
        .rsplit("\r\n\r\n")
        .next()
        .unwrap_or("")
        .to_string();
    let (status, headers) = support::parse_head(&last);
    Got {
        status,
        headers,
        body: out.stdout,
    }
}

/// Decodes `data` with Python's `gzip` or `brotli` module (independent of the encoders).
fn python_decode(coding: &str, data: &[u8]) -> Vec<u8> {
    support::require_tool("python3", "python3");
    let script = "import sys, gzip\n\
                  d = sys.stdin.buffer.read()\n\
                  if sys.argv[1] == 'gzip':\n    out = gzip.decompress(d)\n\
                  else:\n    import brotli\n    out = brotli.decompress(d)\n\
                  sys.stdout.buffer.write(out)\n";
    let mut child = Command::new("python3")
        .args(["-c", script, coding])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = data.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("No module named 'brotli'"),
        "python3 has no brotli module (Debian: apt-get install python3-brotli)"
    );
    assert!(
        out.status.success(),
        "python3 could not decode {coding}: {err}"
    );
    out.stdout
}

/// Decodes the start of a stream (a prefix that ends after a flush), with Python's zlib
/// or brotli incremental decoders.
fn python_decode_prefix(coding: &str, data: &[u8]) -> Vec<u8> {
    let script = "import sys, zlib\n\
                  d = sys.stdin.buffer.read()\n\
                  if sys.argv[1] == 'gzip':\n    out = zlib.decompressobj(31).decompress(d)\n\
                  else:\n    import brotli\n    out = brotli.Decompressor().process(d)\n\
                  sys.stdout.buffer.write(out)\n";
    let mut child = Command::new("python3")
        .args(["-c", script, coding])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python3 could not decode a {coding} prefix: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Both protocols curl speaks to the server's cleartext endpoint.
const PROTOCOLS: [&str; 2] = ["--http1.1", "--http2-prior-knowledge"];

// ---------------------------------------------------------------------------------------
// Negotiation and headers.

#[test]
fn negotiation_over_http1_and_http2() {
    let f = fixture();
    let url = f.server.url("/text?n=20000");
    let want = text(20_000);
    for proto in PROTOCOLS {
        // (Accept-Encoding, the coding expected)
        for (accept, expect) in [
            ("gzip, deflate, br", Some("br")),
            ("br;q=0.5, gzip;q=0.8", Some("gzip")),
            ("gzip", Some("gzip")),
            ("br", Some("br")),
            ("br;q=0, gzip", Some("gzip")),
            ("*", Some("br")),
            ("br;q=0, *;q=0.3", Some("gzip")),
            ("gzip;q=0.5, identity", None),
            ("gzip;q=0, br;q=0", None),
            ("deflate, zstd", None),
            ("", None),
        ] {
            let ae = format!("Accept-Encoding: {accept}");
            let got = curl(&url, &[proto, "-H", &ae]);
            let what = format!("{proto} {accept:?}");
            assert_eq!(got.status, 200, "{what}");
            assert_eq!(got.header("content-encoding"), expect, "{what}");
            // Vary: the application's Origin kept, Accept-Encoding added once.
            let vary = got.all("vary").join(", ").to_ascii_lowercase();
            assert_eq!(vary.matches("accept-encoding").count(), 1, "{what}: {vary}");
            assert!(vary.contains("origin"), "{what}: {vary}");
            match expect {
                Some(coding) => {
                    // Bytes are compressed at once: the length is the compressed one.
                    let len = got.body.len().to_string();
                    assert_eq!(got.header("content-length"), Some(len.as_str()), "{what}");
                    assert_eq!(got.header("etag"), Some("W/\"v1\""), "{what}");
                    assert!(
                        got.body.len() < want.len() / 3,
                        "{what}: {}",
                        got.body.len()
                    );
                    assert_eq!(python_decode(coding, &got.body), want, "{what}");
                }
                None => {
                    assert_eq!(got.header("etag"), Some("\"v1\""), "{what}");
                    assert_eq!(got.body, want, "{what}");
                }
            }
        }
        // Without Accept-Encoding: identity, still varying.
        let got = curl(&url, &[proto]);
        assert_eq!(got.header("content-encoding"), None);
        assert!(got.all("vary").join(",").contains("Accept-Encoding"));
        assert_eq!(got.header("content-length"), Some("20000"));
        assert_eq!(got.body, want);
        // curl --compressed decodes what it asked for (it offers br and gzip).
        let got = curl(&f.server.url("/json?n=50000"), &[proto, "--compressed"]);
        assert_eq!(got.header("content-encoding"), Some("br"), "{proto}");
        assert_eq!(got.body, text(50_000), "{proto}");
    }
}

#[test]
fn what_is_never_compressed() {
    let f = fixture();
    for proto in PROTOCOLS {
        let ae = ["-H", "Accept-Encoding: br, gzip"];
        let with = |path: &str, more: &[&str]| {
            let mut args = vec![proto];
            args.extend_from_slice(&ae);
            args.extend_from_slice(more);
            curl(&f.server.url(path), &args)
        };
        // Small bodies (below MinimumSize, 860 B): as they are, but varying.
        let got = with("/text?n=859", &[]);
        assert_eq!(got.header("content-encoding"), None, "{proto}");
        assert_eq!(got.header("content-length"), Some("859"));
        assert_eq!(got.body, text(859));
        let got = with("/text?n=860", &[]);
        assert_eq!(
            got.header("content-encoding"),
            Some("br"),
            "{proto}: 860 B is enough"
        );
        // A type that is not compressible: untouched, no Vary.
        let got = with("/png", &[]);
        assert_eq!(got.header("content-encoding"), None);
        assert_eq!(got.header("vary"), None);
        assert_eq!(got.body, text(5000));
        // HEAD: the identity head (its length), only Vary added.
        let got = with("/text?n=5000", &["-I"]);
        assert_eq!(got.status, 200);
        assert_eq!(got.header("content-encoding"), None, "{proto} HEAD");
        assert_eq!(got.header("content-length"), Some("5000"), "{proto} HEAD");
        // 204, 304, 206 + Content-Range, an existing Content-Encoding, no-transform.
        for (path, status) in [
            ("/no-content", 204),
            ("/not-modified", 304),
            ("/partial", 206),
            ("/encoded", 200),
            ("/no-transform", 200),
        ] {
            let got = with(path, &[]);
            assert_eq!(got.status, status, "{proto} {path}");
            let ce = got.header("content-encoding");
            assert!(
                ce.is_none() || ce == Some("identity-x"),
                "{proto} {path}: {ce:?}"
            );
            assert_eq!(got.header("vary"), None, "{proto} {path}");
            if status != 204 && status != 304 {
                assert_eq!(got.body, text(5000), "{proto} {path}");
            }
        }
    }
}

#[test]
fn static_files_precompressed_siblings_win_and_others_are_compressed() {
    let f = fixture();
    for proto in PROTOCOLS {
        // A .br/.gz sibling is served as it is, byte for byte.
        for (accept, body) in [("br", "BR-PRECOMPRESSED"), ("gzip", "GZ-PRECOMPRESSED")] {
            let ae = format!("Accept-Encoding: {accept}");
            let got = curl(&f.server.url("/app.js"), &[proto, "-H", &ae]);
            assert_eq!(got.header("content-encoding"), Some(accept), "{proto}");
            assert_eq!(got.body, body.as_bytes(), "{proto} {accept}");
            assert_eq!(got.header("content-length"), Some("16"), "{proto}");
            let vary = got.all("vary").join(",");
            assert_eq!(vary.matches("Accept-Encoding").count(), 1, "{vary}");
        }
        // A file without a sibling is compressed as a stream; its ETag made weak, its
        // ranges no longer advertised.
        let got = curl(
            &f.server.url("/site.css"),
            &[proto, "-H", "Accept-Encoding: gzip"],
        );
        assert_eq!(got.header("content-encoding"), Some("gzip"), "{proto}");
        assert_eq!(got.header("content-length"), None);
        assert_eq!(got.header("accept-ranges"), None);
        assert!(got.header("etag").unwrap().starts_with("W/\""));
        assert_eq!(python_decode("gzip", &got.body), text(100_000));
        // A small file (known length below the minimum) keeps sendfile and its length.
        let got = curl(
            &f.server.url("/small.css"),
            &[proto, "-H", "Accept-Encoding: gzip"],
        );
        assert_eq!(got.header("content-encoding"), None);
        assert_eq!(got.header("content-length"), Some("500"));
        // A range request is answered 206 from the file, not compressed.
        let got = curl(
            &f.server.url("/site.css"),
            &[proto, "-H", "Accept-Encoding: gzip", "-r", "0-99"],
        );
        assert_eq!(got.status, 206);
        assert_eq!(got.header("content-encoding"), None);
        assert_eq!(got.body, text(100)[..]);
    }
}

#[test]
fn big_reader_bodies_are_compressed_as_a_stream_over_both_protocols() {
    let f = fixture();
    for proto in PROTOCOLS {
        for coding in ["br", "gzip"] {
            let ae = format!("Accept-Encoding: {coding}");
            let got = curl(&f.server.url("/big-stream"), &[proto, "-H", &ae]);
            assert_eq!(got.header("content-encoding"), Some(coding), "{proto}");
            assert_eq!(got.header("content-length"), None, "{proto}");
            if proto == "--http1.1" {
                assert_eq!(got.header("transfer-encoding"), Some("chunked"));
            }
            assert_eq!(
                python_decode(coding, &got.body),
                text(4 << 20),
                "{proto} {coding}"
            );
        }
    }
}

/// A chunked HTTP/1.1 response read from a raw socket bit by bit.
struct Chunked {
    raw: Vec<u8>,
}

impl Chunked {
    /// Reads until `enough(body so far)` holds, the last chunk arrived, or `within`
    /// passed; returns the head, the de-chunked body bytes so far and whether the last
    /// chunk arrived.
    fn until(
        &mut self,
        s: &mut TcpStream,
        within: Duration,
        enough: impl Fn(&[u8]) -> bool,
    ) -> (String, Vec<u8>, bool) {
        let deadline = Instant::now() + within;
        let mut buf = [0u8; 65536];
        loop {
            let end = support::find(&self.raw, b"\r\n\r\n");
            if let Some(end) = end {
                let head = String::from_utf8_lossy(&self.raw[..end]).to_string();
                let (body, done) = dechunk(&self.raw[end + 4..]);
                if done || enough(&body) || Instant::now() >= deadline {
                    return (head, body, done);
                }
            } else if Instant::now() >= deadline {
                return (String::new(), Vec::new(), false);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            s.set_read_timeout(Some(
                left.clamp(Duration::from_millis(1), Duration::from_millis(200)),
            ))
            .unwrap();
            match s.read(&mut buf) {
                Ok(0) => std::thread::sleep(Duration::from_millis(10)),
                Ok(n) => self.raw.extend_from_slice(&buf[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }
}

/// The data of the complete chunks in `b`, and whether the last chunk was seen.
fn dechunk(mut b: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(eol) = support::find(b, b"\r\n") else {
            return (out, false);
        };
        let size = std::str::from_utf8(&b[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap().trim(), 16).ok())
            .expect("chunk size");
        if size == 0 {
            return (out, true);
        }
        if b.len() < eol + 2 + size + 2 {
            return (out, false);
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
}

fn get(s: &mut TcpStream, path: &str, accept: &str) {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\nAccept-Encoding: {accept}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
}

#[test]
fn streams_are_not_buffered_whole() {
    let f = fixture();
    for coding in ["gzip", "br"] {
        // The reader yields 1 MiB, then blocks until we let it go on (4 MiB in all).
        let (go, gate) = mpsc::channel();
        f.gates.lock().unwrap().push(gate);
        let mut s = f.server.connect();
        get(&mut s, "/gated", coding);
        let mut r = Chunked { raw: Vec::new() };
        let (head, early, done) = r.until(&mut s, Duration::from_secs(10), |b| b.len() > 1000);
        assert!(
            !done,
            "{coding}: the whole body came before the reader was released"
        );
        assert!(
            head.to_ascii_lowercase()
                .contains(&format!("content-encoding: {coding}")),
            "{head}"
        );
        assert!(
            early.len() > 1000,
            "{coding}: only {} compressed bytes arrived while the reader waited: the server \
             buffers the stream",
            early.len()
        );
        go.send(()).unwrap();
        let (_, body, done) = r.until(&mut s, Duration::from_secs(20), |_| false);
        assert!(done, "{coding}: the stream did not end");
        assert!(body.len() >= early.len());
        assert_eq!(python_decode(coding, &body), text(4 << 20), "{coding}");
    }
}

#[test]
fn a_pausing_reader_is_flushed_so_its_first_bytes_decode_at_once() {
    let f = fixture();
    for coding in ["gzip", "br"] {
        let (go, gate) = mpsc::channel();
        f.gates.lock().unwrap().push(gate);
        let mut s = f.server.connect();
        get(&mut s, "/events", coding);
        // 15 bytes, then the reader waits: they must arrive decodable.
        let mut r = Chunked { raw: Vec::new() };
        let (head, body, done) = r.until(&mut s, Duration::from_secs(10), |b| !b.is_empty());
        assert!(
            !done && !body.is_empty(),
            "{coding}: nothing arrived: {head}"
        );
        let decoded = python_decode_prefix(coding, &body);
        assert_eq!(decoded, b"event 1: hello\n", "{coding}");
        go.send(()).unwrap();
        drop(s);
    }
}

// ---------------------------------------------------------------------------------------
// HTTPS (BREACH): off unless EnableForHttps.

#[cfg(feature = "tls")]
#[test]
fn https_is_not_compressed_unless_enabled() {
    use falconet::tls::{Certificate, CertificateSource};
    use falconet::EndpointOptions;
    let data = |n: &str| format!("{}/tests/data/tls/{n}", env!("CARGO_MANIFEST_DIR"));
    let cert = Certificate::load(&CertificateSource::pem(
        data("a.example.org.crt"),
        data("a.example.org.key"),
    ))
    .unwrap();
    for enable in [false, true] {
        let options = ServerOptions {
            endpoints: vec![EndpointOptions::https(
                "127.0.0.1:0".parse().unwrap(),
                cert.clone(),
            )],
            response_compression: compression(enable),
            ..support::options()
        };
        let f = fixture_with(options);
        let port = f.server.addr.port();
        let url = format!("https://a.example.org:{port}/text?n=20000");
        let resolve = format!("a.example.org:{port}:127.0.0.1");
        for proto in ["--http1.1", "--http2"] {
            let got = curl(
                &url,
                &[
                    proto,
                    "--cacert",
                    &data("ca.crt"),
                    "--resolve",
                    &resolve,
                    "--compressed",
                ],
            );
            assert_eq!(got.status, 200);
            assert_eq!(got.body, text(20_000), "{proto}");
            if enable {
                assert_eq!(got.header("content-encoding"), Some("br"), "{proto}");
            } else {
                assert_eq!(got.header("content-encoding"), None, "{proto}");
                let vary = got.all("vary").join(",");
                assert!(!vary.contains("Accept-Encoding"), "{proto}: {vary}");
            }
        }
    }
}

#[test]
fn levels_all_decode() {
    for level in [
        CompressionLevel::Fastest,
        CompressionLevel::Optimal,
        CompressionLevel::SmallestSize,
    ] {
        let f = fixture_with(ServerOptions {
            response_compression: ResponseCompressionOptions {
                level,
                ..compression(false)
            },
            ..support::options()
        });
        for coding in ["br", "gzip"] {
            let ae = format!("Accept-Encoding: {coding}");
            let got = curl(&f.server.url("/json?n=200000"), &["-H", &ae]);
            assert_eq!(got.header("content-encoding"), Some(coding), "{level:?}");
            assert_eq!(python_decode(coding, &got.body), text(200_000), "{level:?}");
        }
    }
}

#[test]
fn off_by_default() {
    let f = fixture_with(support::options());
    let got = curl(&f.server.url("/text?n=20000"), &["--compressed"]);
    assert_eq!(got.header("content-encoding"), None);
    assert_eq!(got.header("vary"), Some("Origin"));
    assert_eq!(got.body, text(20_000));
}

// ---------------------------------------------------------------------------------------
// A browser engine: headless Chromium loads a compressed page and runs its script.

/// A TCP relay in front of `to` that records every byte the server sends.
fn recording_relay(to: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<Vec<u8>>> = Arc::default();
    let record = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let Ok(mut server) = TcpStream::connect(to) else {
                return;
            };
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
                let _ = s2.shutdown(std::net::Shutdown::Write);
            });
            let record = record.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                loop {
                    match server.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            record.lock().unwrap().extend_from_slice(&buf[..n]);
                            if client.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = client.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (addr, seen)
}

#[test]
fn headless_chromium_renders_a_compressed_page() {
    let f = fixture();
    let (relay, seen) = recording_relay(f.server.addr);
    let dom = support::chromium_dom(&format!("http://{relay}/page.html"), &[]);
    // The DOM after the script ran: the page arrived whole and decoded.
    assert!(
        dom.contains("<div id=\"out\">script ran 42</div>"),
        "{}",
        &dom[..dom.len().min(2000)]
    );
    assert!(dom.contains("<p id=\"end\">the end</p>"));
    assert!(dom.contains(&String::from_utf8(text(20_000)).unwrap()[19_000..]));
    // And what went over the wire for it was compressed.
    let wire = String::from_utf8_lossy(&seen.lock().unwrap()).to_ascii_lowercase();
    let head = wire
        .split("\r\n\r\n")
        .find(|h| h.starts_with("http/1.1 200") && h.contains("content-type: text/html"))
        .unwrap_or_else(|| panic!("no 200 text/html head went to chromium"));
    assert!(
        head.contains("content-encoding: br") || head.contains("content-encoding: gzip"),
        "{head}"
    );
    eprintln!("chromium was sent:\n{head}");
    assert!(head.contains("vary: accept-encoding"), "{head}");
}
