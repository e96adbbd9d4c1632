//! Binding endpoints (socket2): TCP over IPv4/IPv6, dual-stack `[::]`, `localhost` as two
//! sockets, and Unix domain sockets with stale-file cleanup.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, Socket, Type};

use crate::io::Transport;
use crate::options::{EndpointOptions, ListenAddress};
use crate::request::Address;
use crate::Error;

/// A bound, listening, non-blocking socket.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener, SocketAddr),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// The address actually bound (with the real port when 0 was asked for).
    pub(crate) fn address(&self) -> Address {
        match self {
            Listener::Tcp(_, a) => Address::Ip(*a),
            Listener::Unix(_, p) => Address::Unix(Some(p.clone())),
        }
    }

    /// The URL logged and reported for this listener.
    pub(crate) fn url(&self) -> String {
        match self {
            Listener::Tcp(_, a) => format!("http://{a}"),
            Listener::Unix(_, p) => format!("http://unix:{}", p.display()),
        }
    }

    /// Accepts one connection (non-blocking): the stream, its remote and local address.
    pub(crate) fn accept(&self) -> io::Result<(Transport, Address, Address)> {
        match self {
            Listener::Tcp(l, bound) => {
                let (s, remote) = l.accept()?;
                let local = if bound.ip().is_unspecified() {
                    s.local_addr().unwrap_or(*bound)
                } else {
                    *bound
                };
                s.set_nonblocking(true)?;
                let _ = s.set_nodelay(true);
                Ok((
                    Transport::Tcp(std::sync::Arc::new(s)),
                    Address::Ip(remote),
                    Address::Ip(local),
                ))
            }
            Listener::Unix(l, path) => {
                let (s, _) = l.accept()?;
                s.set_nonblocking(true)?;
                Ok((
                    Transport::Unix(std::sync::Arc::new(s)),
                    Address::Unix(None),
                    Address::Unix(Some(path.clone())),
                ))
            }
        }
    }

    /// Removes the socket file of a Unix listener (on graceful shutdown).
    pub(crate) fn cleanup(&self) {
        if let Listener::Unix(_, p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Listener::Tcp(l, _) => l.as_fd(),
            Listener::Unix(l, _) => l.as_fd(),
        }
    }
}

fn bind_error(url: &str, e: io::Error) -> Error {
    let msg = if e.kind() == io::ErrorKind::AddrInUse {
        format!("Failed to bind to address {url}: address already in use.")
    } else {
        format!("Failed to bind to address {url}: {e}")
    };
    Error::bind(msg, e)
}

fn url_of(addr: &SocketAddr) -> String {
    format!("http://{addr}")
}

/// Binds one TCP socket. `v6only` matters for IPv6 addresses only.
fn bind_tcp(
    addr: SocketAddr,
    v6only: bool,
    reuse_port: bool,
    backlog: u32,
) -> io::Result<Listener> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let socket = Socket::new(domain, Type::STREAM.cloexec(), None)?;
    // Lets a restarted server bind while old connections sit in TIME_WAIT; on Linux it
    // never allows two listeners on one port.
    socket.set_reuse_address(true)?;
    if reuse_port {
        // Several sockets (of this or other processes of the same user) on one port, each
        // with SO_REUSEPORT; the kernel spreads new connections across them.
        socket.set_reuse_port(true)?;
    }
    if addr.is_ipv6() {
        socket.set_only_v6(v6only)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog.min(i32::MAX as u32) as i32)?;
    socket.set_nonblocking(true)?;
    let listener: TcpListener = socket.into();
    let actual = listener.local_addr()?;
    Ok(Listener::Tcp(listener, actual))
}

/// Binds a Unix socket at `path`, removing a stale socket file left by a crashed process
/// but never one another process still listens on.
fn bind_unix(path: &Path, mode: Option<u32>, backlog: u32) -> Result<Listener, Error> {
    let url = format!("http://unix:{}", path.display());
    if !path.is_absolute() {
        return Err(Error::config(format!(
            "Invalid url: '{url}': the Unix socket path must be absolute"
        )));
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(Error::bind(
                format!("Failed to bind to address {url}: the path exists and is not a socket."),
                io::Error::from(io::ErrorKind::AlreadyExists),
            ));
        }
        match UnixStream::connect(path) {
            Ok(_) => {
                return Err(bind_error(&url, io::Error::from(io::ErrorKind::AddrInUse)));
            }
            Err(_) => {
                log::info!("Removing stale Unix socket file {}", path.display());
                std::fs::remove_file(path).map_err(|e| bind_error(&url, e))?;
            }
        }
    }
    let socket =
        Socket::new(Domain::UNIX, Type::STREAM.cloexec(), None).map_err(|e| bind_error(&url, e))?;
    let addr = SockAddr::unix(path).map_err(|e| bind_error(&url, e))?;
    socket.bind(&addr).map_err(|e| bind_error(&url, e))?;
    if let Some(mode) = mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| bind_error(&url, e))?;
    }
    socket
        .listen(backlog.min(i32::MAX as u32) as i32)
        .map_err(|e| bind_error(&url, e))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| bind_error(&url, e))?;
    Ok(Listener::Unix(socket.into(), path.to_path_buf()))
}

/// Binds every socket of one endpoint, following Kestrel's rules for each address kind.
pub(crate) fn bind(ep: &EndpointOptions, backlog: u32) -> Result<Vec<Listener>, Error> {
    let reuse = ep.reuse_port;
    match &ep.address {
        ListenAddress::Ip(addr) => {
            // An explicit IPv6 address is IPv6 only, as in Kestrel.
            let l =
                bind_tcp(*addr, true, reuse, backlog).map_err(|e| bind_error(&url_of(addr), e))?;
            Ok(vec![l])
        }
        ListenAddress::Localhost(port) => {
            let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, *port));
            let mut out = Vec::new();
            let mut errors = Vec::new();
            match bind_tcp(v4, true, reuse, backlog) {
                Ok(l) => out.push(l),
                Err(e) => errors.push(bind_error(&format!("http://localhost:{port}"), e)),
            }
            // With port 0 the IPv6 socket takes the port the IPv4 one got.
            let port6 = match out.first() {
                Some(Listener::Tcp(_, a)) => a.port(),
                _ => *port,
            };
            let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port6));
            match bind_tcp(v6, true, reuse, backlog) {
                Ok(l) => out.push(l),
                Err(e) => errors.push(bind_error(&url_of(&v6), e)),
            }
            if out.is_empty() {
                return Err(errors.remove(0));
            }
            for e in errors {
                log::warn!(
                    "Unable to bind to http://localhost:{port} on one loopback interface: {e}"
                );
            }
            Ok(out)
        }
        ListenAddress::Any(port) => {
            let any6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, *port));
            match bind_tcp(any6, false, reuse, backlog) {
                Ok(l) => Ok(vec![l]),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                    Err(bind_error(&url_of(&any6), e))
                }
                Err(e6) => {
                    log::debug!("IPv6 unavailable ({e6}); binding 0.0.0.0:{port} instead");
                    let any4 = SocketAddr::from((Ipv4Addr::UNSPECIFIED, *port));
                    let l = bind_tcp(any4, true, reuse, backlog)
                        .map_err(|e| bind_error(&url_of(&any4), e))?;
                    Ok(vec![l])
                }
            }
        }
        ListenAddress::Unix(path) => Ok(vec![bind_unix(path, ep.unix_socket_mode, backlog)?]),
    }
}
