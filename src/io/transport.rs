//! A connected socket: TCP or Unix, possibly with TLS on top; always in non-blocking mode
//! while the server owns it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

/// A connected stream socket. The socket is shared (`Arc`) with the server's registry of
/// open connections, which shuts sockets down when the shutdown timeout runs out.
#[derive(Debug)]
pub(crate) enum Transport {
    Tcp(Arc<TcpStream>),
    Unix(Arc<UnixStream>),
    #[cfg(feature = "tls")]
    Tls(Box<super::tls::TlsStream>),
}

impl Transport {
    /// Another handle on the underlying socket (for the registry of open connections).
    pub(crate) fn socket(&self) -> Transport {
        match self {
            Transport::Tcp(s) => Transport::Tcp(s.clone()),
            Transport::Unix(s) => Transport::Unix(s.clone()),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.sock.socket(),
        }
    }

    /// After a read of `got` bytes into a buffer of `asked`: whether the socket was empty
    /// then. A plain socket that returned fewer bytes than asked for was; over TLS, the
    /// plaintext must have run out and the last socket read must have come back short.
    pub(crate) fn drained_after(&self, got: usize, asked: usize) -> bool {
        if got == 0 || got >= asked {
            return false;
        }
        match self {
            Transport::Tcp(_) | Transport::Unix(_) => true,
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.socket_drained(),
        }
    }

    /// Forgets what the last read said of the socket's being empty (see
    /// [`TlsStream::forget_short`](super::tls::TlsStream::forget_short)); a plain
    /// socket keeps no such note.
    pub(crate) fn forget_drained(&mut self) {
        #[cfg(feature = "tls")]
        if let Transport::Tls(t) = self {
            t.forget_short();
        }
    }

    /// Whether bytes wait unread in the socket (a peek that does not block; the end of
    /// the stream and errors count as none).
    pub(crate) fn has_unread(&self) -> bool {
        let mut b = [0u8; 1];
        let fd = match self {
            Transport::Tcp(s) => s.as_fd(),
            Transport::Unix(s) => s.as_fd(),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => return t.sock.has_unread(),
        };
        let flags = rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::DONTWAIT;
        loop {
            match rustix::net::recv(fd, &mut b, flags) {
                Ok((n, _)) => return n > 0,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Whether reads go straight to the socket (no TLS layer).
    pub(crate) fn is_plain(&self) -> bool {
        match self {
            Transport::Tcp(_) | Transport::Unix(_) => true,
            #[cfg(feature = "tls")]
            Transport::Tls(_) => false,
        }
    }

    /// Whether encrypted bytes wait in the TLS layer to be written.
    pub(crate) fn pending_output(&self) -> bool {
        match self {
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.pending_output(),
            _ => false,
        }
    }

    /// Writes what the TLS layer buffered; `WouldBlock` when the socket is full.
    pub(crate) fn flush_output(&mut self) -> io::Result<()> {
        match self {
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.flush_output(),
            _ => Ok(()),
        }
    }

    /// Sends TLS's close_notify (a plain socket has nothing to send before it closes).
    pub(crate) fn close_notify(&mut self) {
        #[cfg(feature = "tls")]
        if let Transport::Tls(t) = self {
            t.close_notify();
        }
    }

    /// Ends the sending side: a TLS close_notify first, then a TCP FIN.
    pub(crate) fn shutdown_write(&mut self) {
        self.close_notify();
        let _ = self.shutdown(Shutdown::Write);
    }

    pub(crate) fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.set_nonblocking(on),
            Transport::Unix(s) => s.set_nonblocking(on),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.sock.set_nonblocking(on),
        }
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.shutdown(how),
            Transport::Unix(s) => s.shutdown(how),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.sock.shutdown(how),
        }
    }

    pub(crate) fn set_read_timeout(&self, t: Option<std::time::Duration>) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.set_read_timeout(t),
            Transport::Unix(s) => s.set_read_timeout(t),
            #[cfg(feature = "tls")]
            Transport::Tls(s) => s.sock.set_read_timeout(t),
        }
    }

    pub(crate) fn set_write_timeout(&self, t: Option<std::time::Duration>) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.set_write_timeout(t),
            Transport::Unix(s) => s.set_write_timeout(t),
            #[cfg(feature = "tls")]
            Transport::Tls(s) => s.sock.set_write_timeout(t),
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => (&**s).read(buf),
            Transport::Unix(s) => (&**s).read(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => (&**s).write(buf),
            Transport::Unix(s) => (&**s).write(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => (&**s).write_vectored(bufs),
            Transport::Unix(s) => (&**s).write_vectored(bufs),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_output()
    }
}

impl AsFd for Transport {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Transport::Tcp(s) => s.as_fd(),
            Transport::Unix(s) => s.as_fd(),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.sock.as_fd(),
        }
    }
}
