//! A connected socket: TCP or Unix, always in non-blocking mode while the server owns it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

/// A connected stream socket. The socket is shared (`Arc`) with the server's registry of
/// open connections, which shuts sockets down when the shutdown timeout runs out.
#[derive(Debug, Clone)]
pub(crate) enum Transport {
    Tcp(Arc<TcpStream>),
    Unix(Arc<UnixStream>),
}

impl Transport {
    pub(crate) fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.set_nonblocking(on),
            Transport::Unix(s) => s.set_nonblocking(on),
        }
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.shutdown(how),
            Transport::Unix(s) => s.shutdown(how),
        }
    }

    pub(crate) fn set_read_timeout(&self, t: Option<std::time::Duration>) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.set_read_timeout(t),
            Transport::Unix(s) => s.set_read_timeout(t),
        }
    }

    pub(crate) fn set_write_timeout(&self, t: Option<std::time::Duration>) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.set_write_timeout(t),
            Transport::Unix(s) => s.set_write_timeout(t),
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => (&**s).read(buf),
            Transport::Unix(s) => (&**s).read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => (&**s).write(buf),
            Transport::Unix(s) => (&**s).write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => (&**s).write_vectored(bufs),
            Transport::Unix(s) => (&**s).write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsFd for Transport {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Transport::Tcp(s) => s.as_fd(),
            Transport::Unix(s) => s.as_fd(),
        }
    }
}
