//! [`Body`]: the body of a request or a response.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read, Write};

use crate::io::FileRegion;
use crate::limits::MinDataRate;

/// A request body streamed from its connection while the handler reads it (synchronous
/// I/O): implemented by the protocol driver that owns the connection.
pub(crate) trait Streamed: Send {
    /// Reads body bytes, waiting under the body's data rate.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// The declared length (`Content-Length`), if any.
    fn content_length(&self) -> Option<u64>;
    /// Changes MaxRequestBodySize for this request (before the body is read).
    fn set_max_size(&mut self, max: Option<u64>) -> io::Result<()>;
    /// Changes MinRequestBodyDataRate for this request.
    fn set_min_data_rate(&mut self, rate: Option<MinDataRate>);
    /// The trailer fields, once the body has been read to its end.
    fn trailers(&self) -> Option<http::HeaderMap>;
}

/// A callback that writes a response body with blocking writes (requires synchronous I/O).
pub(crate) type WriteFn = Box<dyn FnOnce(&mut dyn Write) -> io::Result<()> + Send>;

/// The body of a request or response.
///
/// A request body is, by default, read completely by the server before the handler runs
/// (under MaxRequestBodySize and MinRequestBodyDataRate); the handler reads it with
/// [`Body::as_bytes`] or as a [`std::io::Read`]. With synchronous I/O allowed, the request
/// body is instead streamed from the connection as the handler reads it.
///
/// A response body is bytes (`Body::from("text")`), a reader the server pulls from
/// ([`Body::from_reader`]), or, with synchronous I/O allowed, a callback that writes to
/// the connection ([`Body::from_writer`]).
pub struct Body {
    pub(crate) kind: Kind,
    /// Trailer fields of a request body that arrived whole (HTTP/2 trailers).
    pub(crate) trailers: Option<Box<http::HeaderMap>>,
}

pub(crate) enum Kind {
    Empty,
    Bytes {
        data: Cow<'static, [u8]>,
        pos: usize,
    },
    Reader {
        reader: Box<dyn Read + Send>,
        len: Option<u64>,
    },
    /// A region of a file: sent with sendfile(2) on plain TCP connections, read and
    /// copied elsewhere (TLS, Unix sockets, HTTP/2).
    File(FileRegion),
    Writer(WriteFn),
    Incoming(Box<dyn Streamed>),
    Upgrade(crate::upgrade::Pending),
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Body {
            kind: Kind::Empty,
            trailers: None,
        }
    }

    /// A body of static bytes, sent without copying or allocating.
    pub fn from_static(data: &'static [u8]) -> Self {
        Body {
            kind: Kind::Bytes {
                data: Cow::Borrowed(data),
                pos: 0,
            },
            trailers: None,
        }
    }

    /// A body the server reads from `reader` and writes to the connection, with
    /// `Content-Length: len` when the length is known and chunked otherwise. This does not
    /// need synchronous I/O: the server, not the handler, does the writing, under
    /// MinResponseDataRate.
    pub fn from_reader(reader: impl Read + Send + 'static, len: Option<u64>) -> Self {
        Body {
            kind: Kind::Reader {
                reader: Box::new(reader),
                len,
            },
            trailers: None,
        }
    }

    /// A body of `len` bytes of `file` from byte `offset` on, with `Content-Length: len`.
    /// On a plain TCP connection the kernel copies it to the socket (sendfile(2)), under the
    /// same deadlines and MinResponseDataRate as any body; over TLS, Unix sockets and
    /// HTTP/2 it is read and written like [`Body::from_reader`]. The file's own position is
    /// not used or changed. A file shorter than `offset + len` ends the connection once its
    /// data runs out, as a reader body shorter than its declared length does.
    pub fn from_file(file: std::fs::File, offset: u64, len: u64) -> Self {
        Body {
            kind: Kind::File(FileRegion {
                file,
                offset,
                remaining: len,
            }),
            trailers: None,
        }
    }

    /// A body written by `f` directly to the connection (chunked on HTTP/1.1, sent as it
    /// is written, in pieces of up to MaxResponseBufferSize or at each flush; on HTTP/2 the
    /// pieces after the first are 16 KiB, or MaxResponseBufferSize if smaller, and a write
    /// blocks once `f` is about three of those ahead of the client). Requires synchronous
    /// I/O (server-wide, per endpoint or per request); without it the server answers 500
    /// and logs why.
    ///
    /// As in Kestrel, the response starts with its first bytes: the head (on HTTP/2 the
    /// HEADERS frame) goes out with the first piece written, at the first `flush`, or when
    /// `f` returns. So `f` may read the request body before writing (a client that sent
    /// `Expect: 100-continue` gets `100 Continue` at the first read), and when `f` fails or
    /// panics before anything went out the client gets an error status instead (the request
    /// body's, such as 413, or 500); after that, HTTP/1 closes the connection and HTTP/2
    /// resets the stream with INTERNAL_ERROR, so the client sees the body cut short. On
    /// HTTP/2, a body that ends before its first piece went out is sent whole, with a
    /// Content-Length. A handler that wants its head sent at once calls `flush` first.
    pub fn from_writer(f: impl FnOnce(&mut dyn Write) -> io::Result<()> + Send + 'static) -> Self {
        Body {
            kind: Kind::Writer(Box::new(f)),
            trailers: None,
        }
    }

    /// The bytes of a buffered body; `None` for a streaming one.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Empty => Some(&[]),
            Kind::Bytes { data, pos } => Some(&data[*pos..]),
            _ => None,
        }
    }

    /// The length when known: the size of a buffered body, the declared length of a
    /// reader, the Content-Length of an incoming streamed body.
    pub fn len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Empty => Some(0),
            Kind::Bytes { data, pos } => Some((data.len() - pos) as u64),
            Kind::Reader { len, .. } => *len,
            Kind::File(f) => Some(f.remaining),
            Kind::Incoming(i) => i.content_length(),
            Kind::Writer(_) | Kind::Upgrade(_) => None,
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Reads the whole body into a vector (for a streamed request body this reads from
    /// the connection, under the body size limit and data rate).
    pub fn into_bytes(self) -> io::Result<Vec<u8>> {
        match self.kind {
            Kind::Empty => Ok(Vec::new()),
            Kind::Bytes { data, pos } => {
                let mut data = data.into_owned();
                data.drain(..pos);
                Ok(data)
            }
            other => {
                let mut out = Vec::new();
                Body {
                    kind: other,
                    trailers: None,
                }
                .read_to_end(&mut out)?;
                Ok(out)
            }
        }
    }

    /// Changes the maximum size of a streamed request body before its first byte is read
    /// (Kestrel's per-request MaxRequestBodySize). Fails once reading has started, and on
    /// bodies that are not streamed request bodies.
    pub fn set_max_size(&mut self, max: Option<u64>) -> io::Result<()> {
        match &mut self.kind {
            Kind::Incoming(i) => i.set_max_size(max),
            _ => Err(io::Error::other("not a streamed request body")),
        }
    }

    /// Changes the minimum data rate of a streamed request body (Kestrel's per-request
    /// MinRequestBodyDataRate); `None` disables it.
    pub fn set_min_data_rate(&mut self, rate: Option<MinDataRate>) -> io::Result<()> {
        match &mut self.kind {
            Kind::Incoming(i) => {
                i.set_min_data_rate(rate);
                Ok(())
            }
            _ => Err(io::Error::other("not a streamed request body")),
        }
    }

    /// Adds trailer fields to a response body (Kestrel's `DeclareTrailer` /
    /// `AppendTrailer`): sent after the body as an HTTP/2 HEADERS frame, or as chunked
    /// trailers on HTTP/1.1 when the client said `TE: trailers`; otherwise dropped, as the
    /// RFC allows.
    pub fn with_trailers(mut self, trailers: http::HeaderMap) -> Body {
        self.trailers = Some(Box::new(trailers));
        self
    }

    /// Trailer fields of a chunked request body, once it has been read to the end.
    pub fn trailers(&self) -> Option<http::HeaderMap> {
        match &self.kind {
            Kind::Incoming(i) => i.trailers(),
            _ => self.trailers.as_deref().cloned(),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Empty => "empty",
            Kind::Bytes { .. } => "bytes",
            Kind::Reader { .. } => "reader",
            Kind::File(_) => "file",
            Kind::Writer(_) => "writer",
            Kind::Incoming(_) => "incoming",
            Kind::Upgrade(_) => "upgrade",
        };
        f.debug_struct("Body")
            .field("kind", &kind)
            .field("len", &self.len())
            .finish()
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.kind {
            Kind::Empty => Ok(0),
            Kind::Bytes { data, pos } => {
                let n = buf.len().min(data.len() - *pos);
                buf[..n].copy_from_slice(&data[*pos..*pos + n]);
                *pos += n;
                Ok(n)
            }
            Kind::Reader { reader, .. } => reader.read(buf),
            Kind::File(f) => f.read(buf),
            Kind::Incoming(i) => i.read(buf),
            Kind::Writer(_) => Err(io::Error::other("a writer body cannot be read")),
            Kind::Upgrade(_) => Err(io::Error::other("an upgrade body cannot be read")),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(data: Vec<u8>) -> Self {
        Body {
            kind: Kind::Bytes {
                data: Cow::Owned(data),
                pos: 0,
            },
            trailers: None,
        }
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::from(s.into_bytes())
    }
}

impl From<&str> for Body {
    fn from(s: &str) -> Self {
        Body::from(s.as_bytes().to_vec())
    }
}

impl From<&[u8]> for Body {
    fn from(s: &[u8]) -> Self {
        Body::from(s.to_vec())
    }
}

impl From<()> for Body {
    fn from(_: ()) -> Self {
        Body::empty()
    }
}
