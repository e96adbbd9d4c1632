//! End-to-end tests of endpoints: port 0, `localhost`, `*`, explicit IPv6, address in use,
//! Unix sockets (mode, stale files, live owners, cleanup), `https://`, several endpoints at
//! once. Only ever connects to 127.0.0.1 or ::1.

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use falconet::{
    Address, Body, EndpointOptions, ListenAddress, Request, RequestExt, Response, Server,
    ServerHandle, ServerOptions,
};
use support::*;

fn hello(_req: Request) -> Response {
    Response::new(Body::from("Hello, World!"))
}

/// Answers with the name of the endpoint the request arrived on.
fn endpoint_name(req: Request) -> Response {
    Response::new(Body::from(req.connection().endpoint().to_string()))
}

fn opts(endpoints: Vec<EndpointOptions>) -> ServerOptions {
    ServerOptions {
        endpoints,
        workers: 2,
        ..ServerOptions::default()
    }
}

fn start_handle(options: ServerOptions) -> ServerHandle {
    let _ = env_logger::builder().is_test(true).try_init();
    Server::new(options, hello).start().expect("server starts")
}

fn ip_addresses(h: &ServerHandle) -> Vec<SocketAddr> {
    h.addresses()
        .iter()
        .map(|a| match a {
            Address::Ip(a) => *a,
            other => panic!("expected an IP address, got {other:?}"),
        })
        .collect()
}

fn assert_hello(addr: SocketAddr) {
    let r = get_at(addr, "/");
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.body_str(), "Hello, World!");
}

fn unix_get(path: &std::path::Path) -> RawResponse {
    let mut s =
        UnixStream::connect(path).unwrap_or_else(|e| panic!("connect to {}: {e}", path.display()));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    roundtrip_on(
        &mut s,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .expect("a response over the Unix socket")
}

// ---------------------------------------------------------------------------------------
// Port 0 and the "Now listening on" log line.

#[test]
fn port_zero_reports_the_real_port() {
    let h = start_handle(opts(vec![EndpointOptions::ip(
        "127.0.0.1:0".parse().unwrap(),
    )]));
    let addr = h.local_addr().expect("a TCP address");
    assert_eq!(addr.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_ne!(addr.port(), 0);
    assert_eq!(h.addresses(), &[Address::Ip(addr)]);
    assert_eq!(h.urls(), &[format!("http://127.0.0.1:{}", addr.port())]);
    assert_hello(addr);
    assert!(h.shutdown(Duration::from_secs(5)));
}

#[test]
fn now_listening_log_line_names_the_real_port() {
    let mut cmd = support::example_command("hello");
    cmd.args(["--urls", "http://127.0.0.1:0"]);
    cmd.env("RUST_LOG", "info");
    cmd.env_remove("FALCONET_URLS");
    let mut child = ChildServer::spawn(cmd);
    let addr = child.wait_for_v4_port(Duration::from_secs(20));
    assert_ne!(addr.port(), 0);
    let line = child
        .wait_for_line("Now listening on: ", Duration::from_secs(1))
        .unwrap();
    assert!(
        line.trim_end().ends_with(&format!(
            "Now listening on: http://127.0.0.1:{}",
            addr.port()
        )),
        "{line}"
    );
    assert!(line.contains("INFO"), "logged at info level: {line}");
    assert_hello(addr);
}

// ---------------------------------------------------------------------------------------
// localhost, *, explicit IPv6.

#[test]
fn localhost_binds_v4_and_v6_loopback_on_one_port() {
    let ipv6 = has_ipv6_loopback();
    let h = start_handle(opts(vec![EndpointOptions::new(ListenAddress::Localhost(
        0,
    ))]));
    let addrs = ip_addresses(&h);
    let port = addrs[0].port();
    assert_ne!(port, 0);
    assert_eq!(
        addrs[0],
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        "{addrs:?}"
    );
    if ipv6 {
        assert_eq!(
            addrs,
            vec![
                SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
            ]
        );
        assert_eq!(h.urls().len(), 2);
        assert_eq!(h.urls()[1], format!("http://[::1]:{port}"));
        assert_hello(addrs[1]);
    } else {
        eprintln!("no IPv6 loopback: expecting 127.0.0.1 only");
        assert_eq!(addrs, vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))]);
    }
    assert_hello(addrs[0]);
    assert!(h.shutdown(Duration::from_secs(5)));
}

#[test]
fn localhost_url_parses_to_localhost() {
    let ep = EndpointOptions::from_url("http://localhost:0").unwrap();
    assert_eq!(ep.address, ListenAddress::Localhost(0));
    let ep = EndpointOptions::from_url("http://*:0").unwrap();
    assert_eq!(ep.address, ListenAddress::Any(0));
}

#[test]
fn any_binds_dual_stack() {
    let ipv6 = has_ipv6_loopback();
    let mut o = opts(Vec::new());
    o.urls = vec!["http://*:0".into()];
    let h = start_handle(o);
    let addrs = ip_addresses(&h);
    assert_eq!(addrs.len(), 1, "{addrs:?}");
    let port = addrs[0].port();
    assert_ne!(port, 0);
    assert!(addrs[0].ip().is_unspecified(), "{addrs:?}");
    if ipv6 {
        assert_eq!(addrs[0], SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)));
        assert_eq!(h.urls(), &[format!("http://[::]:{port}")]);
        assert_hello(SocketAddr::from((Ipv6Addr::LOCALHOST, port)));
    } else {
        eprintln!("no IPv6: expecting the 0.0.0.0 fallback");
        assert_eq!(addrs[0], SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)));
    }
    // Dual-stack: reachable over IPv4 too.
    assert_hello(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    assert!(h.shutdown(Duration::from_secs(5)));
}

#[test]
fn explicit_ipv6_loopback_is_ipv6_only() {
    if !has_ipv6_loopback() {
        eprintln!("no IPv6 loopback: [::1] must fail to bind");
        let e = Server::new(
            opts(vec![EndpointOptions::ip("[::1]:0".parse().unwrap())]),
            hello,
        )
        .start()
        .unwrap_err();
        assert!(e.is_bind(), "{e}");
        return;
    }
    let h = start_handle(opts(vec![
        EndpointOptions::from_url("http://[::1]:0").unwrap()
    ]));
    let addrs = ip_addresses(&h);
    assert_eq!(addrs.len(), 1, "{addrs:?}");
    let port = addrs[0].port();
    assert_eq!(addrs[0], SocketAddr::from((Ipv6Addr::LOCALHOST, port)));
    assert_eq!(h.urls(), &[format!("http://[::1]:{port}")]);
    assert_hello(addrs[0]);
    // Nothing of ours on the IPv4 side of that port.
    let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, port));
    assert!(v4.is_ok(), "127.0.0.1:{port} should be free: {v4:?}");
    drop(v4);
    assert!(h.shutdown(Duration::from_secs(5)));
}

#[test]
fn explicit_ipv6_unspecified_is_dual_mode() {
    if !has_ipv6_loopback() {
        return;
    }
    let h = start_handle(opts(vec![
        EndpointOptions::from_url("http://[::]:0").unwrap()
    ]));
    let addrs = ip_addresses(&h);
    let port = addrs[0].port();
    assert_eq!(addrs, vec![SocketAddr::from((Ipv6Addr::UNSPECIFIED, port))]);
    assert_hello(SocketAddr::from((Ipv6Addr::LOCALHOST, port)));
    // Kestrel binds IPAddress.IPv6Any with DualMode: IPv4 clients reach it too. (No other
    // socket can hold 127.0.0.1:PORT: it would have made the dual-mode bind fail.)
    assert_hello(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    assert!(h.shutdown(Duration::from_secs(5)));
}

/// Whether something listens on `[::1]:port`, proven by binding it ourselves (a listener
/// of ours there is released at once).
fn ipv6_loopback_port_taken(port: u16) -> bool {
    match TcpListener::bind((Ipv6Addr::LOCALHOST, port)) {
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => true,
        Err(e) => panic!("bind [::1]:{port}: {e}"),
    }
}

#[test]
fn unspecified_ipv4_binds_ipv4_only() {
    let ep = EndpointOptions::from_url("http://0.0.0.0:0").unwrap();
    assert_eq!(ep.address, ListenAddress::Ip("0.0.0.0:0".parse().unwrap()));
    if !has_ipv6_loopback() {
        eprintln!("no IPv6 loopback: checking the IPv4 side only");
    }
    // Another process may hold [::1] on the port the kernel gives us (it only checks the
    // IPv4 side): then try another port; a port free once the server is gone was ours.
    for attempt in 0.. {
        let h = start_handle(opts(vec![ep.clone()]));
        let addrs = ip_addresses(&h);
        assert_eq!(addrs.len(), 1, "one IPv4 socket: {addrs:?}");
        let port = addrs[0].port();
        assert_eq!(addrs[0], SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)));
        assert_eq!(h.urls(), &[format!("http://0.0.0.0:{port}")]);
        assert_hello(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
        if !has_ipv6_loopback() {
            assert!(h.shutdown(Duration::from_secs(5)));
            return;
        }
        if !ipv6_loopback_port_taken(port) {
            // Nothing listens on [::1]:PORT, so a connection there is refused.
            let e = std::net::TcpStream::connect((Ipv6Addr::LOCALHOST, port));
            assert!(e.is_err(), "[::1]:{port} must refuse: {e:?}");
            assert!(h.shutdown(Duration::from_secs(5)));
            return;
        }
        assert!(h.shutdown(Duration::from_secs(5)));
        assert!(
            ipv6_loopback_port_taken(port),
            "the server listened on [::1]:{port}: 0.0.0.0 must be IPv4 only"
        );
        assert!(attempt < 20, "[::1] taken by others on every port tried");
    }
}

// ---------------------------------------------------------------------------------------
// Bind failures.

#[test]
fn address_in_use_is_a_bind_error_naming_the_address() {
    let first = start_handle(opts(vec![EndpointOptions::ip(
        "127.0.0.1:0".parse().unwrap(),
    )]));
    let addr = first.local_addr().unwrap();
    let e = Server::new(opts(vec![EndpointOptions::ip(addr)]), hello)
        .start()
        .expect_err("the port is taken");
    assert!(e.is_bind(), "{e}");
    assert!(!e.is_config() && !e.is_io());
    assert_eq!(
        e.to_string(),
        format!(
            "Failed to bind to address http://127.0.0.1:{}: address already in use.",
            addr.port()
        )
    );
    assert!(std::error::Error::source(&e).is_some());
    // The first server is unaffected.
    assert_hello(addr);
    assert!(first.shutdown(Duration::from_secs(5)));
}

#[test]
fn address_in_use_via_url_is_a_bind_error() {
    let first = start_handle(opts(vec![EndpointOptions::ip(
        "127.0.0.1:0".parse().unwrap(),
    )]));
    let addr = first.local_addr().unwrap();
    let mut o = opts(Vec::new());
    o.urls = vec![format!("http://127.0.0.1:{}", addr.port())];
    let e = Server::new(o, hello).start().unwrap_err();
    assert!(e.is_bind(), "{e}");
    assert!(e.to_string().contains("address already in use"), "{e}");
    assert!(first.shutdown(Duration::from_secs(5)));
}

#[test]
fn https_without_a_certificate_is_refused_at_startup() {
    // No development certificate either: point the per-user data directory at an empty one.
    let empty = support::TempDir::new("no-dev-cert");
    std::env::set_var("XDG_DATA_HOME", empty.path());
    let mut o = opts(Vec::new());
    o.urls = vec!["https://127.0.0.1:0".into()];
    let e = Server::new(o, hello).start().unwrap_err();
    assert!(e.is_config(), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("HTTPS"), "{msg}");
    #[cfg(feature = "tls")]
    {
        assert!(msg.contains("no server certificate"), "{msg}");
        assert!(msg.contains("falconet dev-certs"), "{msg}");
        assert!(msg.contains("Certificate"), "{msg}");
    }
    #[cfg(not(feature = "tls"))]
    assert!(msg.contains("`tls` feature"), "{msg}");

    // The same through EndpointOptions with the https scheme.
    let mut ep = EndpointOptions::ip("127.0.0.1:0".parse().unwrap());
    ep.scheme = falconet::Scheme::Https;
    let e = Server::new(opts(vec![ep]), hello).start().unwrap_err();
    assert!(e.is_config(), "{e}");
    assert!(e.to_string().contains("HTTPS"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Unix domain sockets.

#[test]
fn unix_socket_answers_and_shutdown_removes_the_file() {
    let dir = TempDir::new("unix");
    let path = dir.path().join("app.sock");
    let h = start_handle(opts(vec![EndpointOptions::unix(&path)]));
    assert_eq!(h.addresses(), &[Address::Unix(Some(path.clone()))]);
    assert_eq!(h.urls(), &[format!("http://unix:{}", path.display())]);
    assert_eq!(h.local_addr(), None);
    assert!(path.exists());
    for _ in 0..3 {
        let r = unix_get(&path);
        assert_eq!(r.status, 200, "{}", r.head);
        assert_eq!(r.body_str(), "Hello, World!");
    }
    assert!(h.shutdown(Duration::from_secs(5)));
    assert!(
        !path.exists(),
        "graceful shutdown removes the socket file {}",
        path.display()
    );
}

#[test]
fn unix_socket_mode_is_applied() {
    let dir = TempDir::new("mode");
    let path = dir.path().join("mode.sock");
    let mut ep = EndpointOptions::unix(&path);
    ep.unix_socket_mode = Some(0o600);
    let h = start_handle(opts(vec![ep]));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    assert_eq!(unix_get(&path).status, 200);
    assert!(h.shutdown(Duration::from_secs(5)));

    // And another mode, so 0o600 is not just the umask's result.
    let mut ep = EndpointOptions::unix(&path);
    ep.unix_socket_mode = Some(0o660);
    let h = start_handle(opts(vec![ep]));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660, "mode {mode:o}");
    assert!(h.shutdown(Duration::from_secs(5)));
}

#[test]
fn stale_unix_socket_file_is_replaced() {
    let dir = TempDir::new("stale");
    let path = dir.path().join("stale.sock");
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "dropping a UnixListener leaves its file");
    let h = start_handle(opts(vec![EndpointOptions::unix(&path)]));
    let r = unix_get(&path);
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(h.shutdown(Duration::from_secs(5)));
    assert!(!path.exists());
}

#[test]
fn unix_socket_in_use_is_an_error_and_the_file_is_kept() {
    let dir = TempDir::new("live");
    let path = dir.path().join("live.sock");
    let owner = UnixListener::bind(&path).unwrap();
    let e = Server::new(opts(vec![EndpointOptions::unix(&path)]), hello)
        .start()
        .expect_err("the socket has a live owner");
    assert!(e.is_bind(), "{e}");
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("address already in use"), "{msg}");
    assert!(
        path.exists(),
        "the live listener's file must not be removed"
    );
    // The owner still works: a client reaches it, not a server of ours.
    let _c = UnixStream::connect(&path).expect("the owner still listens");
    owner.set_nonblocking(true).unwrap();
    // Our probe during startup plus this connection wait in the owner's backlog.
    let mut accepted = 0;
    for _ in 0..50 {
        match owner.accept() {
            Ok(_) => accepted += 1,
            Err(_) if accepted > 0 => break,
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    assert!(accepted >= 1);
}

#[test]
fn path_that_is_not_a_socket_is_refused_and_kept() {
    let dir = TempDir::new("file");
    let path = dir.path().join("plain.sock");
    std::fs::write(&path, b"not a socket").unwrap();
    let e = Server::new(opts(vec![EndpointOptions::unix(&path)]), hello)
        .start()
        .unwrap_err();
    assert!(e.is_bind(), "{e}");
    assert!(e.to_string().contains("not a socket"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), b"not a socket");
}

#[test]
fn relative_unix_path_is_a_config_error() {
    let e = Server::new(opts(vec![EndpointOptions::unix("relative.sock")]), hello)
        .start()
        .unwrap_err();
    assert!(e.is_config(), "{e}");
    assert!(e.to_string().contains("must be absolute"), "{e}");
    assert!(!std::path::Path::new("relative.sock").exists());

    let e = EndpointOptions::from_url("http://unix:relative.sock").unwrap_err();
    assert!(e.is_config(), "{e}");
    assert!(e.to_string().contains("must be absolute"), "{e}");
}

#[test]
fn unix_url_parses_and_serves() {
    let ep = EndpointOptions::from_url("http://unix:/run/app.sock").unwrap();
    assert_eq!(ep.address, ListenAddress::Unix("/run/app.sock".into()));
    let ep = EndpointOptions::from_url("http://unix:/run/app.sock:/").unwrap();
    assert_eq!(ep.address, ListenAddress::Unix("/run/app.sock".into()));

    let dir = TempDir::new("url");
    let path = dir.path().join("url.sock");
    let mut o = opts(Vec::new());
    o.urls = vec![format!("http://unix:{}", path.display())];
    let h = start_handle(o);
    assert_eq!(unix_get(&path).status, 200);
    assert!(h.shutdown(Duration::from_secs(5)));
    assert!(!path.exists());
}

// ---------------------------------------------------------------------------------------
// Several endpoints at once.

#[test]
fn several_endpoints_each_answer_with_their_name() {
    let dir = TempDir::new("multi");
    let path = dir.path().join("multi.sock");
    let mut api = EndpointOptions::ip("127.0.0.1:0".parse().unwrap());
    api.name = Some("Api".into());
    let mut admin = EndpointOptions::ip("127.0.0.1:0".parse().unwrap());
    admin.name = Some("Admin".into());
    let mut sock = EndpointOptions::unix(&path);
    sock.name = Some("Sock".into());
    let unnamed = EndpointOptions::ip("127.0.0.1:0".parse().unwrap());
    let _ = env_logger::builder().is_test(true).try_init();
    let h = Server::new(opts(vec![api, admin, sock, unnamed]), endpoint_name)
        .start()
        .unwrap();
    assert_eq!(h.addresses().len(), 4, "{:?}", h.addresses());
    assert_eq!(h.urls().len(), 4);
    let a = ip_addresses_of(&h);
    assert_eq!(a.len(), 3);
    assert!(a[0].port() != a[1].port() && a[1].port() != a[2].port());
    // Twice round, to catch any mix-up between accept threads.
    for _ in 0..2 {
        let r = get_at(a[0], "/");
        assert_eq!((r.status, r.body_str().as_str()), (200, "Api"));
        let r = get_at(a[1], "/");
        assert_eq!((r.status, r.body_str().as_str()), (200, "Admin"));
        let r = unix_get(&path);
        assert_eq!((r.status, r.body_str().as_str()), (200, "Sock"));
        // An unnamed endpoint reports its URL.
        let r = get_at(a[2], "/");
        assert_eq!(r.status, 200);
        assert_eq!(r.body_str(), format!("http://127.0.0.1:{}", a[2].port()));
    }
    assert!(h.shutdown(Duration::from_secs(5)));
    assert!(!path.exists());
}

fn ip_addresses_of(h: &ServerHandle) -> Vec<SocketAddr> {
    h.addresses()
        .iter()
        .filter_map(|a| match a {
            Address::Ip(a) => Some(*a),
            _ => None,
        })
        .collect()
}

#[test]
fn a_bind_failure_in_a_later_endpoint_releases_the_earlier_ones() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap();
    let dir = TempDir::new("partial");
    let path = dir.path().join("partial.sock");
    let e = Server::new(
        opts(vec![
            EndpointOptions::unix(&path),
            EndpointOptions::ip(taken_addr),
        ]),
        hello,
    )
    .start()
    .unwrap_err();
    assert!(e.is_bind(), "{e}");
    assert!(e.to_string().contains(&taken_addr.to_string()), "{e}");
    // Nothing keeps serving on the Unix socket bound before the failure.
    let connected = UnixStream::connect(&path);
    assert!(
        connected.is_err(),
        "the Unix endpoint must not listen after a failed start"
    );
}

// ---------------------------------------------------------------------------------------
// SO_REUSEPORT (EndpointOptions::reuse_port) and systemd endpoints from code.

/// Answers with `tag`.
fn tagged(tag: &'static str) -> impl Fn(Request) -> Response + Send + Sync + 'static {
    move |_req: Request| Response::new(Body::from(tag))
}

fn reuse_port_endpoint(addr: SocketAddr) -> EndpointOptions {
    let mut ep = EndpointOptions::ip(addr);
    ep.reuse_port = true;
    ep
}

#[test]
fn reuse_port_lets_two_servers_share_a_port() {
    let _ = env_logger::builder().is_test(true).try_init();
    let a = Server::new(
        opts(vec![reuse_port_endpoint("127.0.0.1:0".parse().unwrap())]),
        tagged("A"),
    )
    .start()
    .expect("the first server starts");
    let addr = a.local_addr().unwrap();
    let b = Server::new(opts(vec![reuse_port_endpoint(addr)]), tagged("B"))
        .start()
        .expect("the second server starts on the same port with reuse_port");
    assert_eq!(b.local_addr(), Some(addr));
    // The kernel spreads connections over both listeners; every one is answered.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let r = get_at(addr, "/");
        assert_eq!(r.status, 200, "{}", r.head);
        seen.insert(r.body_str());
    }
    assert!(
        seen.iter().all(|t| t == "A" || t == "B"),
        "unexpected answers: {seen:?}"
    );
    // Once the first is gone the second takes every connection: it really listens.
    assert!(a.shutdown(Duration::from_secs(2)));
    for _ in 0..5 {
        let r = get_at(addr, "/");
        assert_eq!(r.status, 200, "{}", r.head);
        assert_eq!(r.body_str(), "B");
    }
    b.shutdown(Duration::from_secs(2));
}

#[test]
fn without_reuse_port_the_second_server_fails_to_bind() {
    let _ = env_logger::builder().is_test(true).try_init();
    let a = Server::new(
        opts(vec![reuse_port_endpoint("127.0.0.1:0".parse().unwrap())]),
        tagged("A"),
    )
    .start()
    .expect("the first server starts");
    let addr = a.local_addr().unwrap();
    // Every socket on the port must ask for SO_REUSEPORT: the first did, this one does not.
    let e = Server::new(opts(vec![EndpointOptions::ip(addr)]), tagged("B"))
        .start()
        .unwrap_err();
    assert!(e.is_bind(), "{e}");
    assert_eq!(
        e.to_string(),
        format!("Failed to bind to address http://{addr}: address already in use.")
    );
    a.shutdown(Duration::from_secs(2));

    // Neither asks: the default.
    let a = start_handle(opts(vec![EndpointOptions::ip(
        "127.0.0.1:0".parse().unwrap(),
    )]));
    let addr = a.local_addr().unwrap();
    let e = Server::new(opts(vec![EndpointOptions::ip(addr)]), hello)
        .start()
        .unwrap_err();
    assert!(e.is_bind(), "{e}");
    assert!(e.to_string().contains("address already in use"), "{e}");
    a.shutdown(Duration::from_secs(2));
}

/// In a test process no sockets come from systemd: a systemd endpoint is a startup error
/// that says so (and nothing else is left listening).
#[test]
fn systemd_endpoint_without_sockets_is_a_startup_error() {
    let _ = env_logger::builder().is_test(true).try_init();
    for ep in [
        EndpointOptions::systemd(None),
        EndpointOptions::systemd(Some("web")),
    ] {
        let e = Server::new(
            opts(vec![
                EndpointOptions::ip("127.0.0.1:0".parse().unwrap()),
                ep,
            ]),
            hello,
        )
        .start()
        .unwrap_err();
        assert!(e.is_config(), "{e}");
        assert!(
            e.to_string()
                .contains("no sockets were passed by systemd (LISTEN_FDS unset)"),
            "{e}"
        );
    }
}
