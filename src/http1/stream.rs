//! Synchronous I/O for handlers that opted in: the request body streamed from the
//! connection ([`Incoming`]) and a response written by the handler ([`CellWriter`]).
//!
//! While such a handler runs, its connection sits in a shared cell so that the body
//! reader and the response writer (which the handler may use together, say to echo)
//! each borrow it for one call at a time.

use std::io::{self, IoSlice, Write};
use std::sync::MutexGuard;

use super::state::{read_body_blocking, Cell, Lent};
use crate::io::RateTimer;
use crate::limits::MinDataRate;

fn lock(cell: &Cell) -> MutexGuard<'_, Option<Box<Lent>>> {
    cell.lock().unwrap_or_else(|e| e.into_inner())
}

fn finished() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the request has completed; its body can no longer be read",
    )
}

/// A request body read from the connection as the handler reads it.
pub(crate) struct Incoming {
    cell: Cell,
    content_length: Option<u64>,
}

impl Incoming {
    pub(crate) fn new(cell: Cell, content_length: Option<u64>) -> Self {
        Incoming {
            cell,
            content_length,
        }
    }
}

impl crate::body::Streamed for Incoming {
    fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut g = lock(&self.cell);
        let conn = g.as_mut().ok_or_else(finished)?;
        if let Some(b) = conn.s.core.body.as_mut().filter(|b| !b.started) {
            if let (Some(cl), Some(max)) = (self.content_length, b.max) {
                if cl > max {
                    // Refused from Content-Length before reading: no 100 Continue.
                    b.error = Some(super::error::RequestError::BodyTooLarge);
                }
            }
        }
        let Lent { l, s } = &mut **conn;
        read_body_blocking(l, s, buf)
    }

    fn set_max_size(&mut self, max: Option<u64>) -> io::Result<()> {
        let mut g = lock(&self.cell);
        let conn = g.as_mut().ok_or_else(finished)?;
        match conn.s.core.body.as_mut() {
            Some(b) if !b.started => {
                b.max = max;
                if let (Some(cl), Some(m)) = (self.content_length, max) {
                    if cl > m {
                        b.error = Some(super::error::RequestError::BodyTooLarge);
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "request body too large",
                        ));
                    }
                }
                Ok(())
            }
            _ => Err(io::Error::other(
                "the request body size limit cannot change after reading has started",
            )),
        }
    }

    fn set_min_data_rate(&mut self, rate: Option<MinDataRate>) {
        if let Some(conn) = lock(&self.cell).as_mut() {
            if let Some(b) = conn.s.core.body.as_mut() {
                b.rate.set_rate(rate);
            }
        }
    }

    fn trailers(&self) -> Option<http::HeaderMap> {
        lock(&self.cell)
            .as_ref()
            .and_then(|c| c.s.core.body.as_ref().and_then(|b| b.trailers.clone()))
    }
}

/// The response body writer handed to a [`crate::Body::from_writer`] callback: buffers up
/// to MaxResponseBufferSize, then writes a chunk under MinResponseDataRate.
///
/// The response head waits in the connection's write buffer until the first bytes go out
/// (a full buffer, a flush, or the end), as Kestrel starts a response at its first write
/// or flush: a callback that reads the request body before writing gets `100 Continue`
/// sent to a client that asked for it, and one that fails before writing can still be
/// answered with an error status.
pub(crate) struct CellWriter {
    cell: Cell,
    chunked: bool,
    send: bool,
    buf: Vec<u8>,
    cap: usize,
    timer: RateTimer,
    /// Body bytes written (the access log's).
    sent: u64,
}

impl CellWriter {
    pub(crate) fn new(
        cell: Cell,
        chunked: bool,
        send: bool,
        cap: usize,
        rate: Option<MinDataRate>,
    ) -> Self {
        CellWriter {
            cell,
            chunked,
            send,
            buf: Vec::new(),
            cap,
            timer: RateTimer::new(rate),
            sent: 0,
        }
    }

    /// Writes the head if it still waits, what is buffered, and (`last`) the last chunk.
    fn emit(&mut self, last: bool) -> io::Result<()> {
        if !self.send {
            self.buf.clear();
        }
        let mut g = lock(&self.cell);
        let conn = g.as_mut().ok_or_else(finished)?;
        let Lent { l, s } = &mut **conn;
        if !l.wbuf.is_empty() {
            // The head goes out now (or the attempt is made): no 100 Continue may
            // follow, and no error status replace it.
            s.response_started = true;
        }
        // Head, chunk and last chunk in one vectored write: one system call (one TLS
        // record) where they fit, not a segment each.
        let framed = self.chunked && !self.buf.is_empty();
        let (line, len) = super::encode::chunk_line(self.buf.len());
        let mut parts = [
            IoSlice::new(&l.wbuf),
            IoSlice::new(if framed { &line[..len] } else { &[] }),
            IoSlice::new(&self.buf),
            IoSlice::new(if framed { b"\r\n" } else { &[] }),
            IoSlice::new(if last && self.chunked {
                b"0\r\n\r\n"
            } else {
                &[]
            }),
        ];
        l.io.write_all_parts(&mut parts, &mut self.timer)?;
        l.wbuf.clear();
        self.sent += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Body bytes written so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// Writes the head if it still waits, what is buffered, and the last chunk.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        self.emit(true)
    }
}

impl Write for CellWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= self.cap {
            self.emit(false)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit(false)
    }
}
