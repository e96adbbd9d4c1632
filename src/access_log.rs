//! The access log: one line per completed request, HTTP/1 and HTTP/2 alike (error answers
//! the server produced itself and upgrades included), in the NCSA Common or Combined
//! format or as JSON lines, to stderr or a file.
//!
//! A worker formats the request's half of the line when the request starts (into a
//! recycled buffer: no allocation per field, none per line once warm), the status, bytes
//! and duration when the response ends, and hands the line to **one writer thread** over a
//! bounded channel with `try_send`: a worker never waits for the disk. A full queue drops
//! the line and counts it (`access_log.dropped` in the status endpoint). The writer writes
//! through a `BufWriter`, flushes whenever the queue is momentarily empty, reopens the file
//! on [`crate::ServerHandle::reopen_access_log`] (SIGUSR1 under [`crate::Server::run`]),
//! warns once on a write error and drops (and counts) lines until a reopen succeeds, and
//! drains the queue at shutdown.
//!
//! The options are always compiled; the writer and the formats need the `access-log`
//! feature (without it, a destination other than `Off` is a startup error).

use std::path::PathBuf;

/// Where access-log lines go (`Falconet:AccessLog:Destination`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AccessLogDestination {
    /// No access log (the library's default).
    #[default]
    Off,
    /// Standard error.
    Stderr,
    /// A file, opened for appending and created if missing; reopened on
    /// [`ServerHandle::reopen_access_log`](crate::ServerHandle::reopen_access_log).
    File(PathBuf),
}

/// The line format (`Falconet:AccessLog:Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AccessLogFormat {
    /// NCSA Common Log Format:
    /// `host ident authuser [dd/Mon/yyyy:HH:MM:SS +0000] "METHOD target PROTO" status bytes`
    /// (bytes `-` when none, as Apache's `%b`).
    Common,
    /// Common plus `"referer" "user-agent"` (the format of nginx's and Apache's
    /// `combined`); the default.
    #[default]
    Combined,
    /// One JSON object per line: `time` (RFC 3339, UTC, milliseconds), `remote`, `method`,
    /// `target`, `protocol`, `host`, `referer`, `user_agent`, `connection`, `stream`
    /// (HTTP/2), `tls` (`version`, `cipher`, `sni`, `alpn`, or null), `status`, `bytes`,
    /// `duration_ms`.
    Json,
}

/// Access-log settings ([`ServerOptions::access_log`](crate::ServerOptions::access_log);
/// the configuration section `Falconet:AccessLog`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogOptions {
    /// Where lines go. Default: [`AccessLogDestination::Off`].
    pub destination: AccessLogDestination,
    /// The line format. Default: [`AccessLogFormat::Combined`].
    pub format: AccessLogFormat,
    /// Lines that may wait for the writer; more are dropped and counted. Default: 1024.
    pub queue_capacity: usize,
}

impl Default for AccessLogOptions {
    fn default() -> Self {
        AccessLogOptions {
            destination: AccessLogDestination::Off,
            format: AccessLogFormat::Combined,
            queue_capacity: 1024,
        }
    }
}

impl AccessLogOptions {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.queue_capacity == 0 {
            return Err("Falconet:AccessLog:QueueSize must be at least 1".into());
        }
        if !cfg!(feature = "access-log") && self.destination != AccessLogDestination::Off {
            return Err(
                "Falconet:AccessLog: this build has no access log (cargo feature access-log)"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(feature = "access-log")]
pub(crate) use on::{AccessLog, Entry};

/// Without the feature the log and its entries cannot exist: every hook is dead code.
#[cfg(not(feature = "access-log"))]
pub(crate) use off::{AccessLog, Entry};

#[cfg(not(feature = "access-log"))]
mod off {
    pub(crate) enum AccessLog {}
    pub(crate) enum Entry {}

    impl AccessLog {
        pub(crate) fn begin(
            &self,
            _: std::time::Instant,
            _: Option<&http::request::Parts>,
            _: &crate::ConnectionInfo,
            _: Option<u32>,
        ) -> Box<Entry> {
            match *self {}
        }
        pub(crate) fn finish(&self, _: Box<Entry>, _: u16, _: u64) {
            match *self {}
        }
        pub(crate) fn reopen(&self) {
            match *self {}
        }
        pub(crate) fn close(&self) {
            match *self {}
        }
    }

    impl Entry {
        pub(crate) fn set_status(&mut self, _: u16) {
            match *self {}
        }
        pub(crate) fn status(&self) -> u16 {
            match *self {}
        }
        #[cfg_attr(not(feature = "http2"), allow(dead_code))]
        pub(crate) fn add_bytes(&mut self, _: u64) {
            match *self {}
        }
        #[cfg_attr(not(feature = "http2"), allow(dead_code))]
        pub(crate) fn bytes(&self) -> u64 {
            match *self {}
        }
    }
}

#[cfg(feature = "access-log")]
mod on {
    use std::fs::{File, OpenOptions};
    use std::io::{self, BufWriter, Write};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use crossbeam_channel::{Receiver, Sender};

    use super::{AccessLogDestination, AccessLogFormat, AccessLogOptions};
    use crate::request::Address;
    use crate::stats::Counters;
    use crate::ConnectionInfo;

    /// One request's line in the making, recycled through the writer.
    pub(crate) struct Entry {
        line: Vec<u8>,
        /// Where the status, bytes and duration go.
        mid: usize,
        started: Instant,
        status: u16,
        bytes: u64,
    }

    impl Entry {
        /// The response's status, once its head is decided.
        pub(crate) fn set_status(&mut self, status: u16) {
            self.status = status;
        }
        pub(crate) fn status(&self) -> u16 {
            self.status
        }
        /// Response body bytes sent, as they go out (HTTP/2).
        #[cfg_attr(not(feature = "http2"), allow(dead_code))]
        pub(crate) fn add_bytes(&mut self, n: u64) {
            self.bytes = self.bytes.saturating_add(n);
        }
        #[cfg_attr(not(feature = "http2"), allow(dead_code))]
        pub(crate) fn bytes(&self) -> u64 {
            self.bytes
        }
    }

    /// A message to the writer: a line, or `None` to look at the flags (reopen, stop). The
    /// writer gives entries back through a channel of the same type (always `Some`): one
    /// instantiation of the channel's code rather than two (about 4 KB of the binary).
    type Msg = Option<Box<Entry>>;

    /// Recycled entries kept for the workers; more are freed.
    const FREE: usize = 32;
    /// An entry whose buffer grew beyond this is freed instead of recycled.
    const KEEP: usize = 2048;

    #[derive(Default)]
    struct Flags {
        reopen: AtomicBool,
        stop: AtomicBool,
    }

    /// The running access log: the formats on the workers' side, the queue, the writer.
    pub(crate) struct AccessLog {
        format: AccessLogFormat,
        tx: Sender<Msg>,
        free: Receiver<Msg>,
        counters: Arc<Counters>,
        flags: Arc<Flags>,
        thread: Mutex<Option<JoinHandle<()>>>,
    }

    impl AccessLog {
        /// Opens the destination (an error names the file) and starts the writer; `None`
        /// when the log is off.
        pub(crate) fn start(
            options: &AccessLogOptions,
            counters: &Arc<Counters>,
        ) -> Result<Option<AccessLog>, crate::Error> {
            let (out, path): (Box<dyn Write + Send>, _) = match &options.destination {
                AccessLogDestination::Off => return Ok(None),
                AccessLogDestination::Stderr => (Box::new(io::stderr()), None),
                AccessLogDestination::File(p) => {
                    let f = open(p).map_err(|e| {
                        crate::Error::io(
                            format!("cannot open the access log {}: {e}", p.display()),
                            e,
                        )
                    })?;
                    (Box::new(f), Some(p.clone()))
                }
            };
            let (tx, rx) = crossbeam_channel::bounded(options.queue_capacity);
            let (free_tx, free) = crossbeam_channel::bounded(FREE);
            let flags = Arc::new(Flags::default());
            let mut w = Writer {
                out: BufWriter::with_capacity(8 * 1024, out),
                path,
                pending: 0,
                failed: false,
                counters: counters.clone(),
            };
            let f = flags.clone();
            let thread = std::thread::Builder::new()
                .name("falconet-access-log".into())
                .stack_size(64 * 1024)
                .spawn(move || w.run(rx, free_tx, &f))
                .map_err(|e| crate::Error::io(format!("cannot start the access log: {e}"), e))?;
            Ok(Some(AccessLog {
                format: options.format,
                tx,
                free,
                counters: counters.clone(),
                flags,
                thread: Mutex::new(Some(thread)),
            }))
        }

        /// Starts the line of a request whose head began arriving at `started`: `req`
        /// after trusted forwarded headers were applied (its client address is logged),
        /// or `None` when the server answered before it had a request (`"-"` pieces).
        pub(crate) fn begin(
            &self,
            started: Instant,
            req: Option<&http::request::Parts>,
            info: &ConnectionInfo,
            stream: Option<u32>,
        ) -> Box<Entry> {
            let mut e = self.free.try_recv().ok().flatten().unwrap_or_else(|| {
                Box::new(Entry {
                    line: Vec::with_capacity(256),
                    mid: 0,
                    started,
                    status: 0,
                    bytes: 0,
                })
            });
            e.line.clear();
            e.started = started;
            e.status = 0;
            e.bytes = 0;
            let client = req
                .and_then(|p| p.extensions.get::<crate::forwarded::Forwarded>())
                .and_then(|f| f.client.as_ref())
                .unwrap_or(info.remote_addr());
            let wall = SystemTime::now()
                .checked_sub(started.elapsed())
                .unwrap_or_else(SystemTime::now)
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let head = req.map(Head::of);
            // Writing into a Vec does not fail.
            e.mid = match self.format {
                AccessLogFormat::Json => json_begin(&mut e.line, wall, client, head, info, stream),
                f => ncsa_begin(
                    &mut e.line,
                    wall,
                    client,
                    head,
                    f == AccessLogFormat::Combined,
                ),
            }
            .unwrap_or(0);
            e
        }

        /// Ends the line with the response's status and body bytes and queues it; a
        /// full queue drops it (counted).
        pub(crate) fn finish(&self, mut e: Box<Entry>, status: u16, bytes: u64) {
            let micros = e.started.elapsed().as_micros() as u64;
            let mut tail = [0u8; 96];
            let n = {
                let mut t = &mut tail[..];
                let _ = match self.format {
                    AccessLogFormat::Json => write!(
                        t,
                        "\"status\":{status},\"bytes\":{bytes},\"duration_ms\":{}.{:03}}}",
                        micros / 1000,
                        micros % 1000
                    ),
                    _ if bytes == 0 => write!(t, "{status} -"),
                    _ => write!(t, "{status} {bytes}"),
                };
                96 - t.len()
            };
            let (mid, old) = (e.mid.min(e.line.len()), e.line.len());
            e.line.resize(old + n, 0);
            e.line.copy_within(mid..old, mid + n);
            e.line[mid..mid + n].copy_from_slice(&tail[..n]);
            e.line.push(b'\n');
            if self.tx.try_send(Some(e)).is_err() {
                self.counters
                    .access_log_dropped
                    .fetch_add(1, Ordering::Relaxed);
            }
        }

        /// Has the writer reopen its file before the next line it writes.
        pub(crate) fn reopen(&self) {
            self.flags.reopen.store(true, Ordering::Release);
            let _ = self.tx.try_send(None);
        }

        /// Lets the writer write and flush what is queued, then ends it (waiting up to a
        /// few seconds for a writer stuck on its destination).
        pub(crate) fn close(&self) {
            let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) else {
                return;
            };
            self.flags.stop.store(true, Ordering::Release);
            let until = Instant::now() + Duration::from_secs(5);
            let _ = self.tx.send_timeout(None, Duration::from_secs(5));
            while !t.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(2));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                log::warn!("the access log's writer is stuck on its destination; leaving it");
            }
        }
    }

    /// What the line shows of a request head.
    #[derive(Clone, Copy)]
    struct Head<'a> {
        method: &'a str,
        target: &'a str,
        version: &'static str,
        host: Option<&'a [u8]>,
        referer: Option<&'a [u8]>,
        user_agent: Option<&'a [u8]>,
    }

    impl<'a> Head<'a> {
        fn of(p: &'a http::request::Parts) -> Head<'a> {
            let h = |n: http::header::HeaderName| p.headers.get(n).map(|v| v.as_bytes());
            Head {
                method: p.method.as_str(),
                // HTTP/2's URI carries scheme and authority: the path is what is logged.
                target: match (p.uri.path_and_query(), p.uri.authority()) {
                    (Some(pq), _) => pq.as_str(),
                    (None, Some(a)) => a.as_str(),
                    (None, None) => "-",
                },
                version: match p.version {
                    http::Version::HTTP_09 => "HTTP/0.9",
                    http::Version::HTTP_10 => "HTTP/1.0",
                    http::Version::HTTP_2 => "HTTP/2.0",
                    http::Version::HTTP_3 => "HTTP/3.0",
                    _ => "HTTP/1.1",
                },
                host: h(http::header::HOST),
                referer: h(http::header::REFERER),
                user_agent: h(http::header::USER_AGENT),
            }
        }
    }

    fn ip(out: &mut Vec<u8>, a: &Address) -> io::Result<()> {
        match a {
            Address::Ip(a) => write!(out, "{}", a.ip()),
            Address::Unix(_) => {
                out.extend_from_slice(b"unix:");
                Ok(())
            }
        }
    }

    /// `host - - [05/Dec/2026:17:02:49 +0000] "GET / HTTP/1.1" ` and, for Combined,
    /// ` "referer" "user-agent"`; returns where the status goes (between the two).
    fn ncsa_begin(
        out: &mut Vec<u8>,
        wall: Duration,
        client: &Address,
        head: Option<Head<'_>>,
        combined: bool,
    ) -> io::Result<usize> {
        ip(out, client)?;
        let [y, mo, d, h, mi, s] = crate::date::civil(wall.as_secs());
        let mut t = *b"[dd/Mon/yyyy:HH:MM:SS +0000] \"";
        crate::date::two(&mut t[1..3], d);
        t[4..7].copy_from_slice(crate::date::MONTHS[(mo - 1) as usize]);
        crate::date::two(&mut t[8..10], y / 100 % 100);
        crate::date::two(&mut t[10..12], y % 100);
        crate::date::two(&mut t[13..15], h);
        crate::date::two(&mut t[16..18], mi);
        crate::date::two(&mut t[19..21], s);
        out.extend_from_slice(b" - - ");
        out.extend_from_slice(&t);
        match head {
            Some(r) => {
                ncsa_escape(out, r.method.as_bytes());
                out.push(b' ');
                ncsa_escape(out, r.target.as_bytes());
                out.push(b' ');
                out.extend_from_slice(r.version.as_bytes());
            }
            None => out.push(b'-'),
        }
        out.extend_from_slice(b"\" ");
        let mid = out.len();
        if combined {
            for v in [
                head.and_then(|r| r.referer),
                head.and_then(|r| r.user_agent),
            ] {
                out.extend_from_slice(b" \"");
                ncsa_escape(out, v.unwrap_or(b"-"));
                out.push(b'"');
            }
        }
        Ok(mid)
    }

    /// Apache's `ap_escape_logitem`: `"` and `\` backslashed, `\n` `\r` `\t` and
    /// other control or non-ASCII bytes as `\xHH`.
    pub(super) fn ncsa_escape(out: &mut Vec<u8>, bytes: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for &b in bytes {
            match b {
                b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x20..=0x7e => out.push(b),
                _ => out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]),
            }
        }
    }

    /// A JSON string, or `null`. Valid UTF-8 passes through; `"`, `\` and control
    /// characters are escaped; a byte that is not UTF-8 becomes `\u00HH` (its Latin-1
    /// reading), so the line stays valid JSON.
    pub(super) fn json_str(out: &mut Vec<u8>, s: Option<&[u8]>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let Some(s) = s else {
            out.extend_from_slice(b"null");
            return;
        };
        let u = |out: &mut Vec<u8>, b: u8| {
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        };
        out.push(b'"');
        for chunk in s.utf8_chunks() {
            for &b in chunk.valid().as_bytes() {
                match b {
                    b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    0..=0x1f | 0x7f => u(out, b),
                    _ => out.push(b),
                }
            }
            for &b in chunk.invalid() {
                u(out, b);
            }
        }
        out.push(b'"');
    }

    /// The JSON object up to (not including) the status.
    fn json_begin(
        out: &mut Vec<u8>,
        wall: Duration,
        client: &Address,
        head: Option<Head<'_>>,
        info: &ConnectionInfo,
        stream: Option<u32>,
    ) -> io::Result<usize> {
        let [y, mo, d, h, mi, s] = crate::date::civil(wall.as_secs());
        write!(
            out,
            "{{\"time\":\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z\",\"remote\":\"",
            wall.subsec_millis()
        )?;
        ip(out, client)?;
        out.extend_from_slice(b"\",\"method\":");
        json_str(out, head.map(|r| r.method.as_bytes()));
        out.extend_from_slice(b",\"target\":");
        json_str(out, head.map(|r| r.target.as_bytes()));
        out.extend_from_slice(b",\"protocol\":");
        json_str(out, head.map(|r| r.version.as_bytes()));
        out.extend_from_slice(b",\"host\":");
        json_str(out, head.and_then(|r| r.host));
        out.extend_from_slice(b",\"referer\":");
        json_str(out, head.and_then(|r| r.referer));
        out.extend_from_slice(b",\"user_agent\":");
        json_str(out, head.and_then(|r| r.user_agent));
        write!(out, ",\"connection\":{},\"stream\":", info.id())?;
        match stream {
            Some(s) => write!(out, "{s}")?,
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"tls\":");
        #[cfg(feature = "tls")]
        if let Some(t) = info.tls() {
            write!(out, "{{\"version\":\"{}\",\"cipher\":", t.version)?;
            json_str(out, Some(t.cipher_suite.as_bytes()));
            out.extend_from_slice(b",\"sni\":");
            json_str(out, t.server_name.as_deref().map(str::as_bytes));
            out.extend_from_slice(b",\"alpn\":");
            json_str(out, t.alpn.as_deref().map(str::as_bytes));
            out.extend_from_slice(b"},");
            return Ok(out.len());
        }
        out.extend_from_slice(b"null,");
        Ok(out.len())
    }

    fn open(p: &std::path::Path) -> io::Result<File> {
        OpenOptions::new().append(true).create(true).open(p)
    }

    /// The writer thread's state.
    struct Writer {
        out: BufWriter<Box<dyn Write + Send>>,
        path: Option<PathBuf>,
        /// Lines in `out`'s buffer, not yet flushed.
        pending: u64,
        /// A write failed: lines are dropped until a reopen succeeds.
        failed: bool,
        counters: Arc<Counters>,
    }

    impl Writer {
        fn run(&mut self, rx: Receiver<Msg>, free: Sender<Msg>, flags: &Flags) {
            while let Ok(msg) = rx.recv() {
                let mut msg = Some(msg);
                // What is queued now, then a flush.
                while let Some(m) = msg.take().or_else(|| rx.try_recv().ok()) {
                    if flags.reopen.swap(false, Ordering::AcqRel) {
                        self.reopen();
                    }
                    if let Some(mut e) = m {
                        self.write(&e.line);
                        if e.line.capacity() <= KEEP {
                            e.line.clear();
                            let _ = free.try_send(Some(e));
                        }
                    }
                }
                self.flush();
                if flags.stop.load(Ordering::Acquire) {
                    break;
                }
            }
            self.flush();
        }

        fn drop_lines(&self, n: u64) {
            self.counters
                .access_log_dropped
                .fetch_add(n, Ordering::Relaxed);
        }

        fn write(&mut self, line: &[u8]) {
            if self.failed {
                return self.drop_lines(1);
            }
            match self.out.write_all(line) {
                Ok(()) => self.pending += 1,
                Err(e) => self.fail(e, 1),
            }
        }

        fn flush(&mut self) {
            if self.failed || self.pending == 0 {
                return;
            }
            match self.out.flush() {
                Ok(()) => self.pending = 0,
                Err(e) => self.fail(e, 0),
            }
        }

        /// A write failed: warns (once until a reopen succeeds), forgets what is
        /// buffered and counts those lines as dropped.
        fn fail(&mut self, e: io::Error, extra: u64) {
            log::warn!(
                "access log: cannot write{}: {e}; dropping lines until it is reopened",
                self.path
                    .as_ref()
                    .map(|p| format!(" to {}", p.display()))
                    .unwrap_or_default()
            );
            self.drop_lines(self.pending + extra);
            self.pending = 0;
            self.failed = true;
            self.discard();
        }

        /// Throws away what the buffer holds, without writing it.
        fn discard(&mut self) {
            let out = std::mem::replace(
                &mut self.out,
                BufWriter::with_capacity(0, Box::new(io::sink())),
            );
            let (inner, _) = out.into_parts();
            self.out = BufWriter::with_capacity(8 * 1024, inner);
        }

        fn reopen(&mut self) {
            let Some(path) = self.path.clone() else {
                // Stderr: try again.
                self.failed = false;
                return;
            };
            match open(&path) {
                Ok(f) => {
                    self.flush();
                    if self.failed {
                        self.discard();
                    }
                    self.out = BufWriter::with_capacity(8 * 1024, Box::new(f));
                    self.failed = false;
                    log::info!("access log reopened: {}", path.display());
                }
                Err(e) => log::warn!("cannot reopen the access log {}: {e}", path.display()),
            }
        }
    }
}

#[cfg(all(test, feature = "access-log"))]
mod tests {
    use super::on::{json_str, ncsa_escape};
    use super::*;
    use crate::request::Address;
    use crate::stats::Counters;
    use std::sync::Arc;
    use std::time::Instant;

    fn ncsa(b: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        ncsa_escape(&mut v, b);
        v
    }

    fn json(b: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        json_str(&mut v, Some(b));
        v
    }

    #[test]
    fn ncsa_escaping_is_apache_s() {
        assert_eq!(ncsa(b"/a b?c=d"), b"/a b?c=d");
        assert_eq!(ncsa(b"say \"hi\" \\o/"), b"say \\\"hi\\\" \\\\o/");
        assert_eq!(ncsa(b"a\nb\rc\td"), b"a\\nb\\rc\\td");
        assert_eq!(ncsa(b"\x00\x1b\x7f"), b"\\x00\\x1b\\x7f");
        assert_eq!(ncsa("é".as_bytes()), b"\\xc3\\xa9");
        assert_eq!(ncsa(b"\xff\xfe"), b"\\xff\\xfe");
    }

    #[test]
    fn json_escaping() {
        assert_eq!(json(b"plain"), b"\"plain\"");
        assert_eq!(json(b"q\"b\\"), b"\"q\\\"b\\\\\"");
        assert_eq!(json(b"a\nb\x01\x7f"), b"\"a\\nb\\u0001\\u007f\"");
        assert_eq!(json("é€".as_bytes()), "\"é€\"".as_bytes());
        // Not UTF-8: each bad byte as \u00HH, the rest kept.
        assert_eq!(json(b"a\xffb\xc3"), b"\"a\\u00ffb\\u00c3\"");
        let mut v = Vec::new();
        json_str(&mut v, None);
        assert_eq!(v, b"null");
        let parsed: serde_json::Value = serde_json::from_slice(&json(b"x\xff\"\x02")).unwrap();
        assert_eq!(parsed, "x\u{ff}\"\u{2}");
    }

    fn info() -> crate::ConnectionInfo {
        crate::ConnectionInfo::new(
            7,
            Address::Ip("127.0.0.1:80".parse().unwrap()),
            Address::Ip("192.0.2.1:5555".parse().unwrap()),
            "test".into(),
        )
    }

    fn parts(raw: &[(&str, &[u8])]) -> http::request::Parts {
        let mut b = http::Request::builder()
            .method("GET")
            .uri("/p?q=1")
            .version(http::Version::HTTP_11);
        for (k, v) in raw {
            b = b.header(*k, http::HeaderValue::from_bytes(v).unwrap());
        }
        b.body(()).unwrap().into_parts().0
    }

    /// Formats one line through a real log writing to a file and reads it back.
    fn line(format: AccessLogFormat, req: Option<&http::request::Parts>, bytes: u64) -> String {
        let dir = std::env::temp_dir().join(format!(
            "falconet-alog-unit-{}-{:?}-{}",
            std::process::id(),
            format,
            bytes
        ));
        let _ = std::fs::remove_file(&dir);
        let options = AccessLogOptions {
            destination: AccessLogDestination::File(dir.clone()),
            format,
            queue_capacity: 4,
        };
        let counters = Arc::new(Counters::default());
        let log = AccessLog::start(&options, &counters).unwrap().unwrap();
        let e = log.begin(Instant::now(), req, &info(), None);
        log.finish(e, 200, bytes);
        log.close();
        let text = std::fs::read_to_string(&dir).unwrap();
        let _ = std::fs::remove_file(&dir);
        text
    }

    #[test]
    fn common_and_combined() {
        let p = parts(&[("referer", b"http://r/"), ("user-agent", b"ua \"x\"\xff")]);
        let c = line(AccessLogFormat::Common, Some(&p), 0);
        assert!(c.starts_with("192.0.2.1 - - ["), "{c}");
        assert!(
            c.ends_with(" +0000] \"GET /p?q=1 HTTP/1.1\" 200 -\n"),
            "{c}"
        );
        let c = line(AccessLogFormat::Combined, Some(&p), 12);
        assert!(
            c.ends_with("\"GET /p?q=1 HTTP/1.1\" 200 12 \"http://r/\" \"ua \\\"x\\\"\\xff\"\n"),
            "{c}"
        );
        let c = line(AccessLogFormat::Combined, None, 0);
        assert!(c.ends_with("] \"-\" 200 - \"-\" \"-\"\n"), "{c}");
        // [dd/Mon/yyyy:HH:MM:SS +0000]
        let date = &c[c.find('[').unwrap() + 1..c.find(']').unwrap()];
        assert_eq!(date.len(), 26, "{date}");
        assert_eq!(&date[2..3], "/");
        assert_eq!(&date[6..7], "/");
        assert_eq!(&date[11..12], ":");
    }

    #[test]
    fn json_lines() {
        let p = parts(&[("host", b"h:1"), ("user-agent", b"a\xffb")]);
        let j = line(AccessLogFormat::Json, Some(&p), 5);
        let v: serde_json::Value = serde_json::from_str(j.trim_end()).unwrap();
        assert_eq!(v["remote"], "192.0.2.1");
        assert_eq!(v["method"], "GET");
        assert_eq!(v["target"], "/p?q=1");
        assert_eq!(v["protocol"], "HTTP/1.1");
        assert_eq!(v["host"], "h:1");
        assert_eq!(v["referer"], serde_json::Value::Null);
        assert_eq!(v["user_agent"], "a\u{ff}b");
        assert_eq!(v["connection"], 7);
        assert_eq!(v["stream"], serde_json::Value::Null);
        assert_eq!(v["tls"], serde_json::Value::Null);
        assert_eq!(v["status"], 200);
        assert_eq!(v["bytes"], 5);
        assert!(v["duration_ms"].as_f64().unwrap() >= 0.0);
        let t = v["time"].as_str().unwrap();
        assert_eq!(t.len(), 24, "{t}");
        assert!(
            t.ends_with('Z') && &t[10..11] == "T" && &t[19..20] == ".",
            "{t}"
        );
        let j = line(AccessLogFormat::Json, None, 0);
        let v: serde_json::Value = serde_json::from_str(j.trim_end()).unwrap();
        assert_eq!(v["method"], serde_json::Value::Null);
        assert_eq!(v["target"], serde_json::Value::Null);
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let counters = Arc::new(Counters::default());
        let path = std::env::temp_dir().join(format!("falconet-alog-full-{}", std::process::id()));
        let options = AccessLogOptions {
            destination: AccessLogDestination::File(path.clone()),
            format: AccessLogFormat::Common,
            queue_capacity: 1,
        };
        let log = AccessLog::start(&options, &counters).unwrap().unwrap();
        for _ in 0..1000 {
            let e = log.begin(Instant::now(), None, &info(), None);
            log.finish(e, 400, 0);
        }
        log.close();
        let written = std::fs::read_to_string(&path).unwrap().lines().count() as u64;
        let dropped = counters
            .access_log_dropped
            .load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(written + dropped, 1000, "{written} + {dropped}");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn options_validate() {
        assert!(AccessLogOptions::default().validate().is_ok());
        let o = AccessLogOptions {
            queue_capacity: 0,
            ..Default::default()
        };
        assert!(o.validate().unwrap_err().contains("QueueSize"));
    }
}
