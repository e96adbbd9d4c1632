//! Binding endpoints (socket2): TCP over IPv4/IPv6 (`*` and host names as dual-stack `[::]`
//! falling back to `0.0.0.0`; an explicit `[::]` dual-mode, `0.0.0.0` IPv4 only, other
//! addresses only themselves), `localhost` as two sockets, Unix domain sockets with stale-file cleanup, `SO_REUSEPORT`, and the sockets
//! passed by systemd socket activation ([`Inherited`]).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, Socket, Type};

use super::systemd::{self, InheritedListener, InheritedSocket};
use crate::io::Transport;
use crate::options::{EndpointOptions, ListenAddress};
use crate::request::Address;
use crate::Error;

/// A bound, listening, non-blocking socket.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener, SocketAddr),
    /// A Unix socket, its path (`@name` for an abstract one), and whether the socket file
    /// is ours to remove at shutdown (not when systemd created it: it owns the file and
    /// passes the same socket to the next start).
    Unix(UnixListener, PathBuf, bool),
}

impl Listener {
    /// The address actually bound (with the real port when 0 was asked for).
    pub(crate) fn address(&self) -> Address {
        match self {
            Listener::Tcp(_, a) => Address::Ip(*a),
            Listener::Unix(_, p, _) => Address::Unix(Some(p.clone())),
        }
    }

    /// The URL logged and reported for this listener.
    pub(crate) fn url(&self) -> String {
        match self {
            Listener::Tcp(_, a) => format!("http://{a}"),
            Listener::Unix(_, p, _) => format!("http://unix:{}", p.display()),
        }
    }

    /// Accepts one connection (non-blocking): the stream, its remote and local address.
    pub(crate) fn accept(&self) -> io::Result<(Transport, Address, Address)> {
        match self {
            Listener::Tcp(l, bound) => {
                // accept4 with SOCK_NONBLOCK: no separate system call to make the new
                // socket non-blocking.
                let (fd, remote) = rustix::net::acceptfrom_with(
                    l,
                    rustix::net::SocketFlags::NONBLOCK | rustix::net::SocketFlags::CLOEXEC,
                )?;
                let s = std::net::TcpStream::from(fd);
                let remote = match remote.map(std::net::SocketAddr::try_from) {
                    Some(Ok(a)) => a,
                    _ => s.peer_addr()?,
                };
                let local = if bound.ip().is_unspecified() {
                    s.local_addr().unwrap_or(*bound)
                } else {
                    *bound
                };
                // TCP_NODELAY comes from the listener (bind_tcp, adopt): Linux copies it to
                // every connection the listener accepts, so no setsockopt here.
                Ok((
                    Transport::Tcp(std::sync::Arc::new(s)),
                    Address::Ip(remote),
                    Address::Ip(local),
                ))
            }
            Listener::Unix(l, path, _) => {
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

    /// Removes the socket file of a Unix listener this server created (on graceful
    /// shutdown).
    pub(crate) fn cleanup(&self) {
        if let Listener::Unix(_, p, true) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Listener::Tcp(l, _) => l.as_fd(),
            Listener::Unix(l, _, _) => l.as_fd(),
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
    // No Nagle delay on the connections (Kestrel's NoDelay, on by default): set on the
    // listener, it is inherited by each accepted socket (Linux copies the option at accept),
    // which saves a system call per connection.
    socket.set_nodelay(true)?;
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
    Ok(Listener::Unix(socket.into(), path.to_path_buf(), true))
}

/// Binds every socket of one endpoint, following Kestrel's rules for each address kind;
/// a [`ListenAddress::Systemd`] endpoint takes its sockets from `inherited`.
pub(crate) fn bind(
    ep: &EndpointOptions,
    backlog: u32,
    inherited: &mut Inherited,
) -> Result<Vec<Listener>, Error> {
    let reuse = ep.reuse_port;
    match &ep.address {
        ListenAddress::Ip(addr) => {
            // An explicit IPv6 address is IPv6 only, except `[::]`, which Kestrel binds
            // dual-mode (IPv4 clients too). `0.0.0.0` is an IPv4 socket: IPv4 only.
            let v6only = !addr.ip().is_unspecified();
            let l = bind_tcp(*addr, v6only, reuse, backlog)
                .map_err(|e| bind_error(&url_of(addr), e))?;
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
        ListenAddress::Systemd(name) => inherited.claim(name.as_deref()),
    }
}

/// The sockets passed by systemd, handed out to the endpoints that ask for them:
/// `http://systemd:NAME` takes the sockets named NAME, `http://systemd` every socket whose
/// name no endpoint asks for.
#[derive(Debug, Default)]
pub(crate) struct Inherited {
    /// Not yet claimed.
    sockets: Vec<InheritedSocket>,
    /// Every name, in order, for messages.
    names: Vec<String>,
    /// Names that `http://systemd:NAME` endpoints ask for.
    claimed_by_name: Vec<String>,
}

impl Inherited {
    /// Takes the sockets passed by systemd if any endpoint asks for them, and only then:
    /// a program that does not use socket activation leaves `LISTEN_FDS` alone.
    pub(crate) fn new(endpoints: &[EndpointOptions]) -> Result<Inherited, Error> {
        let mut claimed_by_name = Vec::new();
        let mut any = false;
        for ep in endpoints {
            if let ListenAddress::Systemd(name) = &ep.address {
                any = true;
                claimed_by_name.extend(name.clone());
            }
        }
        if !any {
            return Ok(Inherited::default());
        }
        let sockets = systemd::take_listen_fds().map_err(|e| {
            Error::bind(format!("Cannot use the sockets passed by systemd: {e}"), e)
        })?;
        Ok(Inherited {
            names: sockets.iter().map(|s| s.name.clone()).collect(),
            sockets,
            claimed_by_name,
        })
    }

    /// The listeners of endpoint `http://systemd` (`name` = `None`) or
    /// `http://systemd:NAME`.
    fn claim(&mut self, name: Option<&str>) -> Result<Vec<Listener>, Error> {
        let url = match name {
            Some(n) => format!("http://systemd:{n}"),
            None => "http://systemd".to_string(),
        };
        if self.names.is_empty() {
            return Err(Error::config(format!(
                "Cannot listen on {url}: no sockets were passed by systemd (LISTEN_FDS unset);                  start falconet from a systemd socket unit (ListenStream=, see                  cross/falconet.socket) or use another URL. The sockets are handed to the                  first server of a process only."
            )));
        }
        let wanted = |s: &InheritedSocket| match name {
            Some(n) => s.name == n,
            None => !self.claimed_by_name.contains(&s.name),
        };
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.sockets)
            .into_iter()
            .partition(wanted);
        self.sockets = rest;
        if mine.is_empty() {
            let names = self
                .names
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::config(match name {
                Some(n) if self.names.iter().any(|x| x == n) => format!(
                    "Cannot listen on {url}: the sockets named '{n}' passed by systemd are \
                     taken by another endpoint"
                ),
                Some(n) => format!(
                    "Cannot listen on {url}: systemd passed no socket named '{n}' \
                     (FileDescriptorName= in the socket unit); the names passed are {names}"
                ),
                None => format!(
                    "Cannot listen on {url}: every socket passed by systemd ({names}) is \
                     taken by an endpoint that names it"
                ),
            }));
        }
        mine.into_iter().map(adopt).collect()
    }

    /// Warns about sockets passed by systemd that no endpoint took; they are closed (the
    /// socket unit keeps its own copy).
    pub(crate) fn finish(self) {
        for s in self.sockets {
            log::warn!(
                "systemd passed a socket named '{}' (file descriptor {}) that no endpoint \
                 uses; listen on it with http://systemd:{} or http://systemd",
                s.name,
                s.fd,
                s.name
            );
        }
    }
}

/// Turns a socket passed by systemd into a non-blocking listener with its real address.
/// Its backlog and options are those the socket unit set.
fn adopt(s: InheritedSocket) -> Result<Listener, Error> {
    let what = format!("file descriptor {} ('{}') passed by systemd", s.fd, s.name);
    let err = |e: io::Error| Error::bind(format!("Cannot listen on the {what}: {e}"), e);
    let listener = match s.listener {
        InheritedListener::Tcp(l) => {
            l.set_nonblocking(true).map_err(err)?;
            // Inherited by the connections it accepts, as in bind_tcp. Best effort: a
            // socket the unit made that refuses the option still serves, with Nagle.
            let _ = socket2::SockRef::from(&l).set_nodelay(true);
            let addr = l.local_addr().map_err(err)?;
            Listener::Tcp(l, addr)
        }
        InheritedListener::Unix(l) => {
            use std::os::linux::net::SocketAddrExt;
            l.set_nonblocking(true).map_err(err)?;
            let addr = l.local_addr().map_err(err)?;
            let path = if let Some(p) = addr.as_pathname() {
                p.to_path_buf()
            } else if let Some(name) = addr.as_abstract_name() {
                PathBuf::from(format!("@{}", String::from_utf8_lossy(name)))
            } else {
                return Err(err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the Unix socket has no address",
                )));
            };
            // systemd owns the socket file: never removed at shutdown.
            Listener::Unix(l, path, false)
        }
    };
    log::info!("Using the {what}: {}", listener.url());
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Accepts one connection from `l`, waiting at most 5 s (the listener is non-blocking).
    fn accept_one(l: &Listener) -> Transport {
        let t0 = Instant::now();
        loop {
            match l.accept() {
                Ok((t, _, _)) => return t,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(t0.elapsed() < Duration::from_secs(5), "nothing to accept");
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    }

    fn nodelay(t: &Transport) -> bool {
        match t {
            Transport::Tcp(s) => s.nodelay().unwrap(),
            _ => panic!("not TCP"),
        }
    }

    /// Connections accepted from a bound listener and from an adopted one (as systemd
    /// passes it: blocking, without the option) have TCP_NODELAY, set on the listener only.
    #[test]
    fn accepted_connections_have_nodelay() {
        let bound = bind_tcp("127.0.0.1:0".parse().unwrap(), false, false, 16).unwrap();
        let Address::Ip(addr) = bound.address() else {
            panic!("not IP")
        };
        let _c = std::net::TcpStream::connect(addr).unwrap();
        assert!(nodelay(&accept_one(&bound)));

        let plain = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = plain.local_addr().unwrap();
        let adopted = adopt(InheritedSocket {
            fd: 3,
            name: "test".into(),
            listener: InheritedListener::Tcp(plain),
        })
        .unwrap();
        let _c = std::net::TcpStream::connect(addr).unwrap();
        assert!(nodelay(&accept_one(&adopted)));
    }
}
