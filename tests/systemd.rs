//! systemd integration, end to end with the `falconet` binary: socket activation
//! (`LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`, descriptors from 3 on) and readiness
//! notification (`NOTIFY_SOCKET`).
//!
//! Socket activation is staged by a small python3 launcher that does what systemd does:
//! it creates the sockets (127.0.0.1 port 0, or a Unix socket in a temp dir), writes their
//! addresses to a report file, moves them to descriptors 3, 4, ... without close-on-exec,
//! sets `LISTEN_PID` to its own pid and `exec`s the binary, which keeps that pid.
//! (std's `Command` can neither place a descriptor at 3 nor know the pid before `exec`
//! without `unsafe`.) A missing python3 fails the tests with a message saying so.
//!
//! The binary runs through `FALCONET_TEST_RUNNER` when set (qemu for cross builds).

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{ChildServer, TempDir};

/// Does what systemd does for a socket unit, then `exec`s the command after the spec.
///
/// argv[1]: JSON `{"report": PATH, "pid": "self"|"other", "names": bool,
///                 "sockets": [{"kind": "tcp"|"unix"|"udp"|"unlistened", "name": N,
///                              "path": P}]}`
const LAUNCHER: &str = r#"
import fcntl, json, os, socket, sys

spec = json.loads(sys.argv[1])
cmd = sys.argv[2:]
socks = []
report = []
for s in spec["sockets"]:
    kind = s["kind"]
    if kind == "unix":
        so = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        so.bind(s["path"])
        so.listen(64)
        report.append(s["path"])
    else:
        typ = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
        so = socket.socket(socket.AF_INET, typ)
        so.bind(("127.0.0.1", 0))
        if kind == "tcp":
            so.listen(64)
        host, port = so.getsockname()
        report.append("%s:%d" % (host, port))
    socks.append(so)

tmp = spec["report"] + ".tmp"
with open(tmp, "w") as f:
    json.dump(report, f)
os.rename(tmp, spec["report"])

# Park copies above the target range, then place them at 3, 4, ... (dup2 leaves them
# inheritable: no close-on-exec, as systemd passes them).
high = [fcntl.fcntl(so.fileno(), fcntl.F_DUPFD_CLOEXEC, 100) for so in socks]
for i, h in enumerate(high):
    os.dup2(h, 3 + i)
    os.close(h)

env = dict(os.environ)
env["LISTEN_FDS"] = str(len(socks))
env["LISTEN_PID"] = str(os.getpid()) if spec["pid"] == "self" else "1"
if spec["names"]:
    env["LISTEN_FDNAMES"] = ":".join(s["name"] for s in spec["sockets"])
else:
    env.pop("LISTEN_FDNAMES", None)
os.execvpe(cmd[0], cmd, env)
"#;

/// The falconet binary, if it was built (feature `appliance`).
fn binary() -> Option<&'static str> {
    let bin = option_env!("CARGO_BIN_EXE_falconet");
    if bin.is_none() {
        eprintln!("skipping: the falconet binary is not built (feature appliance)");
    }
    bin
}

/// Whether python3 runs here.
fn have_python() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import fcntl, socket"])
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 (with fcntl and socket) is needed to stage socket activation; install it \
         (Debian: apt-get install python3-minimal)"
    );
    ok
}

/// The words that run the binary: the test runner (if any), then the binary.
fn binary_words(bin: &str) -> Vec<String> {
    let mut words = support::test_runner();
    words.push(bin.to_string());
    words
}

/// A command for the binary with a clean environment for these tests.
fn falconet(bin: &str, args: &[&str]) -> Command {
    let words = binary_words(bin);
    let mut cmd = Command::new(&words[0]);
    cmd.args(&words[1..]).args(args);
    clean_env(&mut cmd);
    cmd
}

fn clean_env(cmd: &mut Command) {
    for v in [
        "FALCONET_URLS",
        "LISTEN_FDS",
        "LISTEN_PID",
        "LISTEN_FDNAMES",
        "NOTIFY_SOCKET",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("RUST_LOG", "info");
}

/// One socket for the launcher to pass.
struct Sock {
    kind: &'static str,
    name: &'static str,
    path: Option<PathBuf>,
}

fn tcp(name: &'static str) -> Sock {
    Sock {
        kind: "tcp",
        name,
        path: None,
    }
}

fn unix(name: &'static str, path: &Path) -> Sock {
    Sock {
        kind: "unix",
        name,
        path: Some(path.to_path_buf()),
    }
}

/// A binary started through the launcher, and the addresses of the sockets it was passed
/// (`host:port` or a Unix socket path), in descriptor order from 3.
struct Activated {
    server: ChildServer,
    addresses: Vec<String>,
}

/// Starts the binary with `args` as systemd would with `sockets` (`LISTEN_PID` another
/// process unless `our_pid`; `LISTEN_FDNAMES` only when `names`).
fn activate(
    bin: &str,
    dir: &TempDir,
    sockets: &[Sock],
    our_pid: bool,
    names: bool,
    args: &[&str],
) -> Activated {
    let script = dir.path().join("launcher.py");
    std::fs::write(&script, LAUNCHER).unwrap();
    let report = dir.path().join("report.json");
    let spec = serde_json::json!({
        "report": report,
        "pid": if our_pid { "self" } else { "other" },
        "names": names,
        "sockets": sockets.iter().map(|s| serde_json::json!({
            "kind": s.kind,
            "name": s.name,
            "path": s.path,
        })).collect::<Vec<_>>(),
    });
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg(spec.to_string())
        .args(binary_words(bin))
        .args(args);
    clean_env(&mut cmd);
    let mut server = ChildServer::spawn(cmd);
    let deadline = Instant::now() + Duration::from_secs(30);
    let addresses: Vec<String> = loop {
        if let Ok(text) = std::fs::read_to_string(&report) {
            break serde_json::from_str(&text).expect("the launcher's report");
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!(
                "the launcher exited with {status} before binding; stderr:\n{}",
                server.stderr()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no report from the launcher within 30 s; stderr:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    Activated { server, addresses }
}

/// The `flags:` of `/proc/<pid>/fdinfo/<fd>` (octal in the file).
fn fd_flags(pid: u32, fd: i32) -> u32 {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/fdinfo/{fd}: {e}"));
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .expect("a flags: line");
    u32::from_str_radix(flags.trim(), 8).expect("octal flags")
}

const O_CLOEXEC: u32 = 0o2000000;

/// What the socket at `fd` of process `pid` is (`socket:[inode]`).
fn fd_target(pid: u32, fd: i32) -> String {
    std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn get_unix(path: &Path) -> support::RawResponse {
    let mut s =
        UnixStream::connect(path).unwrap_or_else(|e| panic!("connect to {}: {e}", path.display()));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    support::roundtrip_on(
        &mut s,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .expect("a response over the Unix socket")
}

fn sigterm(server: &ChildServer) {
    use rustix::process::{kill_process, Pid, Signal};
    kill_process(Pid::from_child(&server.child), Signal::TERM).expect("send SIGTERM");
}

/// Waits (at most `within`) for the child to exit; its status.
fn wait_exit(server: &mut ChildServer, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = server.child.try_wait().expect("try_wait") {
            // Let the stderr reader collect the last lines.
            std::thread::sleep(Duration::from_millis(100));
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit within {within:?}; stderr:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_line(server: &mut ChildServer, needle: &str) -> String {
    server
        .wait_for_line(needle, Duration::from_secs(20))
        .unwrap_or_else(|| panic!("no log line with {needle:?}; stderr:\n{}", server.stderr()))
}

// ---------------------------------------------------------------------------------------
// Socket activation.

/// The binary, started with a TCP socket (fd 3, "web") and a Unix socket (fd 4, "local")
/// and no URLs, listens on both (the `http://systemd` default), says so, serves on them,
/// marks both close-on-exec, and leaves the Unix socket file (systemd's) at shutdown.
#[test]
fn activated_binary_serves_every_passed_socket_by_default() {
    let Some(bin) = binary() else { return };
    if !have_python() {
        return;
    }
    let dir = TempDir::new("sd-default");
    let sock_path = dir.path().join("activated.sock");
    let Activated {
        mut server,
        addresses,
    } = activate(
        bin,
        &dir,
        &[tcp("web"), unix("local", &sock_path)],
        true,
        true,
        &[],
    );
    let addr: SocketAddr = addresses[0].parse().unwrap();
    wait_line(&mut server, &format!("Now listening on: http://{addr}"));
    wait_line(
        &mut server,
        &format!("Now listening on: http://unix:{}", sock_path.display()),
    );
    let log = server.stderr();
    assert!(
        log.contains(&format!(
            "Using the file descriptor 3 ('web') passed by systemd: http://{addr}"
        )),
        "{log}"
    );
    assert!(
        log.contains("Using the file descriptor 4 ('local') passed by systemd"),
        "{log}"
    );
    assert!(
        log.contains("Started by systemd socket activation"),
        "{log}"
    );
    assert!(!log.contains("localhost:5000"), "{log}");

    let r = support::get_at(addr, "/");
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(r.body_str().contains("falconet"), "{}", r.body_str());
    let r = get_unix(&sock_path);
    assert_eq!(r.status, 200, "{}", r.head);

    // Close-on-exec: the listening sockets, passed without it, now have it, so a child
    // process of the server does not inherit them (Kestrel's issue 29189).
    let pid = server.child.id();
    for fd in [3, 4] {
        assert!(
            fd_target(pid, fd).starts_with("socket:"),
            "fd {fd} of the server is {:?}",
            fd_target(pid, fd)
        );
        let flags = fd_flags(pid, fd);
        assert_ne!(
            flags & O_CLOEXEC,
            0,
            "fd {fd} is not close-on-exec (flags {flags:o})"
        );
    }

    sigterm(&server);
    let status = wait_exit(&mut server, Duration::from_secs(10));
    assert!(status.success(), "{status}; stderr:\n{}", server.stderr());
    assert!(
        sock_path.exists(),
        "the server removed the Unix socket file systemd created"
    );
}

/// `http://systemd:NAME` takes only the sockets of that name; a socket nobody uses is
/// reported.
#[test]
fn named_endpoint_takes_its_socket_only() {
    let Some(bin) = binary() else { return };
    if !have_python() {
        return;
    }
    let dir = TempDir::new("sd-named");
    let sock_path = dir.path().join("named.sock");
    let Activated { mut server, .. } = activate(
        bin,
        &dir,
        &[tcp("web"), unix("local", &sock_path)],
        true,
        true,
        &["--urls", "http://systemd:local"],
    );
    wait_line(
        &mut server,
        &format!("Now listening on: http://unix:{}", sock_path.display()),
    );
    let warning = wait_line(&mut server, "no endpoint uses");
    assert!(warning.contains("'web'"), "{warning}");
    assert!(
        !server
            .stderr()
            .contains("Now listening on: http://127.0.0.1"),
        "{}",
        server.stderr()
    );
    let r = get_unix(&sock_path);
    assert_eq!(r.status, 200, "{}", r.head);
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(10)).success());
}

/// Without `LISTEN_FDNAMES` every socket is named `unknown` and `http://systemd` takes it.
#[test]
fn sockets_without_names_are_unknown() {
    let Some(bin) = binary() else { return };
    if !have_python() {
        return;
    }
    let dir = TempDir::new("sd-unnamed");
    let Activated {
        mut server,
        addresses,
    } = activate(
        bin,
        &dir,
        &[tcp("ignored")],
        true,
        false,
        &["--urls", "http://systemd"],
    );
    let addr: SocketAddr = addresses[0].parse().unwrap();
    wait_line(&mut server, &format!("Now listening on: http://{addr}"));
    assert!(
        server
            .stderr()
            .contains("Using the file descriptor 3 ('unknown')"),
        "{}",
        server.stderr()
    );
    assert_eq!(support::get_at(addr, "/").status, 200);
}

/// `http://systemd` without sockets from systemd is a startup error saying so.
#[test]
fn systemd_url_without_sockets_fails_at_startup() {
    let Some(bin) = binary() else { return };
    let mut server = ChildServer::spawn(falconet(bin, &["--urls", "http://systemd"]));
    let status = wait_exit(&mut server, Duration::from_secs(20));
    assert!(!status.success());
    let log = server.stderr();
    assert!(
        log.contains("no sockets were passed by systemd (LISTEN_FDS unset)"),
        "{log}"
    );
}

/// `LISTEN_PID` of another process: the variables were inherited, the descriptors are not
/// ours. Nothing is adopted.
#[test]
fn listen_pid_of_another_process_is_ignored() {
    let Some(bin) = binary() else { return };
    if !have_python() {
        return;
    }
    let dir = TempDir::new("sd-otherpid");
    let Activated { mut server, .. } = activate(
        bin,
        &dir,
        &[tcp("web")],
        false,
        true,
        &["--urls", "http://systemd"],
    );
    let status = wait_exit(&mut server, Duration::from_secs(20));
    assert!(!status.success());
    let log = server.stderr();
    assert!(log.contains("LISTEN_FDS is set for process 1"), "{log}");
    assert!(log.contains("no sockets were passed by systemd"), "{log}");
}

/// A datagram socket (ListenDatagram=) or a socket that is not listening (what a socket
/// unit with Accept=yes passes) is refused at startup with a message saying why.
#[test]
fn unusable_sockets_are_refused() {
    let Some(bin) = binary() else { return };
    if !have_python() {
        return;
    }
    for (kind, needle) in [
        ("udp", "is not a stream socket"),
        ("unlistened", "is not a listening socket"),
    ] {
        let dir = TempDir::new("sd-unusable");
        let sock = Sock {
            kind,
            name: "bad",
            path: None,
        };
        let Activated { mut server, .. } = activate(bin, &dir, &[sock], true, true, &[]);
        let status = wait_exit(&mut server, Duration::from_secs(20));
        assert!(!status.success(), "{kind}");
        let log = server.stderr();
        assert!(
            log.contains("file descriptor 3 ('bad') passed by systemd") && log.contains(needle),
            "{kind}: {log}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Readiness notification.

/// Receives one datagram within `within`.
fn recv_state(rx: &UnixDatagram, within: Duration, server: &ChildServer) -> String {
    rx.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 4096];
    let n = rx.recv(&mut buf).unwrap_or_else(|e| {
        panic!(
            "no notification within {within:?} ({e}); stderr:\n{}",
            server.stderr()
        )
    });
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn has_line(state: &str, line: &str) -> bool {
    state.lines().any(|l| l == line)
}

/// With `NOTIFY_SOCKET` set the binary sends `READY=1` once it listens and `STOPPING=1`
/// when SIGTERM starts the shutdown.
fn ready_and_stopping(notify_socket: &str, rx: &UnixDatagram) {
    let Some(bin) = binary() else { return };
    let mut cmd = falconet(bin, &["--urls", "http://127.0.0.1:0"]);
    cmd.env("NOTIFY_SOCKET", notify_socket);
    let mut server = ChildServer::spawn(cmd);
    let ready = recv_state(rx, Duration::from_secs(20), &server);
    assert!(has_line(&ready, "READY=1"), "{ready:?}");
    // READY=1 came after the endpoint was bound: it is listening and logged it.
    let addr = server.wait_for_v4_port(Duration::from_secs(5));
    assert!(ready.contains(&format!("http://{addr}")), "{ready:?}");
    assert_eq!(support::get_at(addr, "/").status, 200);

    sigterm(&server);
    let stopping = recv_state(rx, Duration::from_secs(10), &server);
    assert!(has_line(&stopping, "STOPPING=1"), "{stopping:?}");
    let status = wait_exit(&mut server, Duration::from_secs(10));
    assert!(status.success(), "{status}; stderr:\n{}", server.stderr());
}

#[test]
fn notify_socket_path_gets_ready_and_stopping() {
    let dir = TempDir::new("sd-notify");
    let path = dir.path().join("notify.sock");
    let rx = UnixDatagram::bind(&path).expect("bind the notify socket");
    ready_and_stopping(path.to_str().unwrap(), &rx);
}

#[test]
fn notify_socket_abstract_gets_ready_and_stopping() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!(
        "falconet-test-notify-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let rx = UnixDatagram::bind_addr(&addr).expect("bind the abstract notify socket");
    ready_and_stopping(&format!("@{name}"), &rx);
}

/// Without NOTIFY_SOCKET nothing is sent and nothing fails.
#[test]
fn without_notify_socket_the_binary_runs_as_before() {
    let Some(bin) = binary() else { return };
    let mut server = ChildServer::spawn(falconet(bin, &["--urls", "http://127.0.0.1:0"]));
    let addr = server.wait_for_v4_port(Duration::from_secs(20));
    assert_eq!(support::get_at(addr, "/").status, 200);
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(10)).success());
    let log = server.stderr();
    assert!(!log.contains("notify systemd"), "{log}");
    let _ = std::io::stderr().flush();
}
