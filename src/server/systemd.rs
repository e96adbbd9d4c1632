//! systemd integration without libsystemd: socket activation (the `sd_listen_fds`
//! protocol) and service notification (the `sd_notify` protocol).
//!
//! Socket activation: systemd starts the service with its listening sockets already open
//! as file descriptors 3, 4, ... and says so in the environment: `LISTEN_PID` (the pid the
//! sockets are meant for), `LISTEN_FDS` (how many) and `LISTEN_FDNAMES` (their
//! `FileDescriptorName=`s, `:`-separated). See sd_listen_fds(3).
//!
//! Notification: with `Type=notify` systemd sets `NOTIFY_SOCKET` to a Unix datagram socket
//! (a path, or `@name` for the abstract namespace) and waits for `READY=1`. See
//! sd_notify(3).
//!
//! This is the crate's only module with `unsafe` code: adopting the inherited descriptors
//! as [`OwnedFd`]s, which no safe API can do. Everything else goes through rustix and std.

use std::ffi::OsStr;
use std::io;
use std::net::TcpListener;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::io::{fcntl_setfd, FdFlags};
use rustix::net::{getsockname, sockopt, AddressFamily, SocketType};

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: RawFd = 3;

/// The environment variables of socket activation, removed once read.
const LISTEN_VARS: [&str; 3] = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"];

/// Set by the first [`take_listen_fds`]: the descriptors are adopted at most once.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// A listening socket passed by systemd.
#[derive(Debug)]
pub(crate) struct InheritedSocket {
    /// The descriptor number it was passed as (for messages).
    pub(crate) fd: RawFd,
    /// Its `FileDescriptorName=` (`unknown` when systemd passed no names).
    pub(crate) name: String,
    /// The socket, close-on-exec and still in the mode systemd left it (blocking).
    pub(crate) listener: InheritedListener,
}

/// The kinds of inherited socket falconet serves on.
#[derive(Debug)]
pub(crate) enum InheritedListener {
    /// A TCP socket (IPv4 or IPv6).
    Tcp(TcpListener),
    /// A Unix domain stream socket.
    Unix(UnixListener),
}

/// What the environment says was passed to this process.
#[derive(Debug, PartialEq, Eq)]
enum Passed {
    /// `LISTEN_FDS` unset, zero, or no `LISTEN_PID`.
    Nothing,
    /// `LISTEN_PID` names another process: the variables were inherited, the sockets are
    /// not meant for us.
    OtherProcess(u32),
    /// `names.len()` descriptors from 3 on, named.
    Sockets(Vec<String>),
}

/// Reads the socket-activation variables (already fetched) for the process `our_pid`,
/// following sd_listen_fds(3): a `LISTEN_PID` of another process means nothing is ours;
/// malformed values and a name count that differs from `LISTEN_FDS` are errors.
fn parse_env(
    pid: Option<&OsStr>,
    fds: Option<&OsStr>,
    names: Option<&OsStr>,
    our_pid: u32,
) -> io::Result<Passed> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    let text = |name: &str, v: &OsStr| -> io::Result<String> {
        v.to_str()
            .map(|s| s.trim().to_string())
            .ok_or_else(|| invalid(format!("{name} is not valid UTF-8")))
    };
    let Some(fds) = fds else {
        return Ok(Passed::Nothing);
    };
    let Some(pid) = pid else {
        return Ok(Passed::Nothing);
    };
    let pid_text = text("LISTEN_PID", pid)?;
    let pid: u32 = pid_text
        .parse()
        .map_err(|_| invalid(format!("LISTEN_PID='{pid_text}' is not a process id")))?;
    if pid != our_pid {
        return Ok(Passed::OtherProcess(pid));
    }
    let fds_text = text("LISTEN_FDS", fds)?;
    let count: u32 = fds_text
        .parse()
        .ok()
        .filter(|&n| n <= (i32::MAX - LISTEN_FDS_START) as u32)
        .ok_or_else(|| {
            invalid(format!(
                "LISTEN_FDS='{fds_text}' is not a number of file descriptors"
            ))
        })?;
    if count == 0 {
        return Ok(Passed::Nothing);
    }
    let names = match names {
        Some(v) => {
            let names: Vec<String> = text("LISTEN_FDNAMES", v)?
                .split(':')
                .map(String::from)
                .collect();
            if names.len() != count as usize {
                return Err(invalid(format!(
                    "LISTEN_FDNAMES has {} name(s) but LISTEN_FDS is {count}",
                    names.len()
                )));
            }
            names
        }
        // systemd's name for a descriptor without one.
        None => vec!["unknown".to_string(); count as usize],
    };
    Ok(Passed::Sockets(names))
}

/// Takes the listening sockets systemd passed to this process (sd_listen_fds(3)):
/// descriptors 3 to 3 + `LISTEN_FDS` - 1 when `LISTEN_PID` is this process, named by
/// `LISTEN_FDNAMES`.
///
/// Each descriptor is marked close-on-exec at once (systemd passes them without it, and a
/// child process started by a handler must not inherit a listening socket: Kestrel's issue
/// 29189), then checked: a listening (`SO_ACCEPTCONN`) stream (`SO_TYPE`) socket whose
/// address family (`getsockname`) is IPv4, IPv6 or Unix. `LISTEN_PID`, `LISTEN_FDS` and
/// `LISTEN_FDNAMES` are removed from the environment in every case, so that child
/// processes do not take them for theirs. Like any change of the environment, this should
/// happen before the program starts threads that read the environment through C.
///
/// Only the first call in a process takes anything; later calls return an empty list.
///
/// # Errors
///
/// Malformed variables, a descriptor that is not open, or one that is not a listening
/// TCP or Unix stream socket (say a `ListenDatagram=` socket, or a connection from a
/// socket unit with `Accept=yes`). Descriptors already adopted are closed.
pub(crate) fn take_listen_fds() -> io::Result<Vec<InheritedSocket>> {
    if TAKEN.swap(true, Ordering::AcqRel) {
        return Ok(Vec::new());
    }
    let vars: Vec<_> = LISTEN_VARS.iter().map(std::env::var_os).collect();
    for v in LISTEN_VARS {
        std::env::remove_var(v);
    }
    let passed = parse_env(
        vars[0].as_deref(),
        vars[1].as_deref(),
        vars[2].as_deref(),
        std::process::id(),
    )?;
    let names = match passed {
        Passed::Nothing => return Ok(Vec::new()),
        Passed::OtherProcess(pid) => {
            log::warn!(
                "LISTEN_FDS is set for process {pid}, not this one ({}): ignoring it (the \
                 variables were inherited from a parent)",
                std::process::id()
            );
            return Ok(Vec::new());
        }
        Passed::Sockets(names) => names,
    };
    let fds = LISTEN_FDS_START..LISTEN_FDS_START + names.len() as RawFd;
    // First mark every descriptor close-on-exec, which also proves that each is open,
    // before adopting any: on an error none is closed that was not checked.
    for fd in fds.clone() {
        // SAFETY: the borrow lives for this one fcntl call. `fd` is in the range systemd
        // passed to this process (LISTEN_PID is ours), so it is open and nothing in the
        // process owns it yet (TAKEN guarantees a single taker); were LISTEN_FDS wrong and
        // `fd` not open, fcntl fails with EBADF, which is reported below.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        fcntl_setfd(borrowed, FdFlags::CLOEXEC).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "LISTEN_FDS={} but file descriptor {fd} is not usable: {e}",
                    names.len()
                ),
            )
        })?;
    }
    let mut owned = Vec::with_capacity(names.len());
    for (fd, name) in fds.zip(names) {
        // SAFETY: `fd` is open (fcntl succeeded above) and was passed to this process by
        // systemd for its exclusive use; TAKEN makes this the only place in the process
        // that adopts it, and each number is adopted once, so the OwnedFd is its sole
        // owner and closes it exactly once.
        let fd_owned = unsafe { OwnedFd::from_raw_fd(fd) };
        owned.push((fd, name, fd_owned));
    }
    owned
        .into_iter()
        .map(|(fd, name, socket)| {
            let listener = classify(socket).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("file descriptor {fd} ('{name}') passed by systemd {e}"),
                )
            })?;
            Ok(InheritedSocket { fd, name, listener })
        })
        .collect()
}

/// Checks that `socket` is a listening TCP or Unix stream socket. The error message
/// continues "file descriptor N ('name') passed by systemd ...".
fn classify(socket: OwnedFd) -> io::Result<InheritedListener> {
    let unsupported = |msg: &str| io::Error::new(io::ErrorKind::InvalidInput, msg.to_string());
    match sockopt::socket_type(&socket) {
        Ok(t) if t == SocketType::STREAM => {}
        Ok(_) => {
            return Err(unsupported(
                "is not a stream socket: use ListenStream= in the socket unit (not \
                 ListenDatagram= or ListenSequentialPacket=)",
            ))
        }
        Err(rustix::io::Errno::NOTSOCK) => {
            return Err(unsupported(
                "is not a socket: use ListenStream= in the socket unit (not ListenFIFO= or \
                 others)",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    if !sockopt::socket_acceptconn(&socket)? {
        return Err(unsupported(
            "is not a listening socket: falconet accepts connections itself, so the socket \
             unit needs Accept=no (the default)",
        ));
    }
    match getsockname(&socket)?.address_family() {
        AddressFamily::INET | AddressFamily::INET6 => {
            Ok(InheritedListener::Tcp(TcpListener::from(socket)))
        }
        AddressFamily::UNIX => Ok(InheritedListener::Unix(UnixListener::from(socket))),
        other => Err(unsupported(&format!(
            "has an unsupported address family ({}); falconet serves on TCP and Unix sockets",
            other.as_raw()
        ))),
    }
}

/// Sends a state change to systemd's service manager (the sd_notify(3) protocol), for
/// services with `Type=notify` (or `notify-reload`) or a watchdog.
///
/// `state` is one or more newline-separated `KEY=VALUE` assignments, for example:
///
/// - `READY=1`: startup is finished, every endpoint is listening;
/// - `STOPPING=1`: shutdown has begun;
/// - `RELOADING=1` followed by `\nMONOTONIC_USEC=<CLOCK_MONOTONIC in µs>`: reloading
///   configuration (send `READY=1` when done);
/// - `STATUS=<text>`: a line shown by `systemctl status`;
/// - `WATCHDOG=1`: the keep-alive ping when `WatchdogSec=` is set.
///
/// The message goes to the Unix datagram socket named by `NOTIFY_SOCKET`: a path, or
/// `@name` for the abstract namespace. [`Server::run`](crate::Server::run) sends
/// `READY=1` once every endpoint is bound and `STOPPING=1` when shutdown begins; programs
/// that use [`Server::start`](crate::Server::start) send them themselves.
///
/// Returns `Ok(false)` without sending anything when `NOTIFY_SOCKET` is unset or empty
/// (the process was not started by systemd with notification), `Ok(true)` once sent.
///
/// ```no_run
/// // After the server is listening:
/// falconet::notify_systemd("READY=1\nSTATUS=Serving").unwrap();
/// ```
///
/// # Errors
///
/// An empty `state`, a `NOTIFY_SOCKET` that is neither an absolute path nor `@name` (such
/// as systemd's `vsock:` addresses, not supported), or a failure to send.
pub fn notify(state: &str) -> io::Result<bool> {
    notify_to(std::env::var_os("NOTIFY_SOCKET").as_deref(), state)
}

/// [`notify`] with the value of `NOTIFY_SOCKET` given.
fn notify_to(socket: Option<&OsStr>, state: &str) -> io::Result<bool> {
    let Some(socket) = socket.filter(|s| !s.is_empty()) else {
        return Ok(false);
    };
    if state.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the notification state is empty (expected e.g. READY=1)",
        ));
    }
    let sock = UnixDatagram::unbound()?;
    let bytes = socket.as_bytes();
    let sent = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        sock.send_to_addr(state.as_bytes(), &addr)?
    } else if bytes.starts_with(b"/") {
        sock.send_to(state.as_bytes(), socket)?
    } else {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "NOTIFY_SOCKET='{}' is not supported: expected an absolute path or @name",
                socket.to_string_lossy()
            ),
        ));
    };
    if sent != state.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "the notification was truncated",
        ));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<&OsStr> {
        Some(OsStr::new(s))
    }

    #[test]
    fn nothing_without_listen_fds_or_pid() {
        assert_eq!(parse_env(None, None, None, 7).unwrap(), Passed::Nothing);
        assert_eq!(parse_env(os("7"), None, None, 7).unwrap(), Passed::Nothing);
        assert_eq!(parse_env(None, os("2"), None, 7).unwrap(), Passed::Nothing);
        assert_eq!(
            parse_env(os("7"), os("0"), None, 7).unwrap(),
            Passed::Nothing
        );
    }

    #[test]
    fn another_process_pid_means_not_ours() {
        assert_eq!(
            parse_env(os("8"), os("2"), os("a:b"), 7).unwrap(),
            Passed::OtherProcess(8)
        );
    }

    #[test]
    fn names_default_to_unknown() {
        assert_eq!(
            parse_env(os("7"), os("2"), None, 7).unwrap(),
            Passed::Sockets(vec!["unknown".into(), "unknown".into()])
        );
        assert_eq!(
            parse_env(os(" 7 "), os("3"), os("http:https:"), 7).unwrap(),
            Passed::Sockets(vec!["http".into(), "https".into(), "".into()])
        );
    }

    #[test]
    fn malformed_variables_are_errors() {
        for (pid, fds, names, needle) in [
            ("x", "1", None, "LISTEN_PID='x'"),
            ("-7", "1", None, "LISTEN_PID"),
            ("7", "one", None, "LISTEN_FDS='one'"),
            ("7", "-1", None, "LISTEN_FDS"),
            ("7", "2147483645", None, "LISTEN_FDS"),
            (
                "7",
                "2",
                Some("a"),
                "LISTEN_FDNAMES has 1 name(s) but LISTEN_FDS is 2",
            ),
            ("7", "1", Some("a:b"), "LISTEN_FDNAMES has 2"),
        ] {
            let e = parse_env(os(pid), os(fds), names.map(OsStr::new), 7).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
            assert!(e.to_string().contains(needle), "{e}");
        }
        let bad = OsStr::from_bytes(b"\xff");
        assert!(parse_env(Some(bad), os("1"), None, 7).is_err());
        assert!(parse_env(os("7"), Some(bad), None, 7).is_err());
        assert!(parse_env(os("7"), os("1"), Some(bad), 7).is_err());
    }

    #[test]
    fn notify_without_socket_sends_nothing() {
        assert!(!notify_to(None, "READY=1").unwrap());
        assert!(!notify_to(os(""), "READY=1").unwrap());
    }

    #[test]
    fn notify_refuses_unsupported_addresses_and_empty_states() {
        let e = notify_to(os("vsock:2:1234"), "READY=1").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        assert!(e.to_string().contains("vsock:2:1234"), "{e}");
        let e = notify_to(os("/run/x"), "").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn notify_sends_to_a_path_and_an_abstract_name() {
        use std::os::linux::net::SocketAddrExt;
        let dir = std::env::temp_dir().join(format!(
            "falconet-notify-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("notify.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        assert!(notify_to(Some(path.as_os_str()), "READY=1\nSTATUS=ok").unwrap());
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=ok");
        std::fs::remove_dir_all(&dir).unwrap();

        let name = format!("falconet-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let env = format!("@{name}");
        assert!(notify_to(os(&env), "STOPPING=1").unwrap());
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");

        // Nobody listening: an error, not a silent success.
        let gone = dir.join("gone.sock");
        assert!(notify_to(Some(gone.as_os_str()), "READY=1").is_err());
    }
}
