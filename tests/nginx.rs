//! falconet behind the real nginx: forwarded headers over a Unix-socket upstream, two
//! instances behind one round-robin `upstream` with fail-over, and large bodies both ways.
//!
//! nginx must be installed (`apt-get install nginx`); without it these tests fail and say
//! so. Each test starts its own nginx in the foreground (`master_process off`), with its
//! configuration, pid file, temp directories and sockets in a fresh temp directory, its
//! error log on stderr (shown when a test fails), listening on 127.0.0.1 on a port picked
//! at run time. The nginx configuration is the one README.md's "Behind nginx" shows.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use falconet::{
    Body, EndpointOptions, ForwardedHeadersOptions, Request, RequestExt, Response, Server,
    ServerHandle, ServerOptions,
};
use support::TempDir;

/// The nginx binary: `nginx` in PATH, else /usr/sbin/nginx. Panics (the test fails) when
/// neither exists.
fn nginx_binary() -> PathBuf {
    let in_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("nginx"))
            .find(|p| p.is_file())
    });
    let found = in_path.or_else(|| {
        let p = PathBuf::from("/usr/sbin/nginx");
        p.is_file().then_some(p)
    });
    found.unwrap_or_else(|| {
        panic!(
            "nginx is not installed (not in PATH, not /usr/sbin/nginx): these end-to-end tests \
             need it. Install it with `apt-get install nginx` (or nginx-light), then rerun."
        )
    })
}

/// One upstream location's proxy settings, as README.md recommends.
fn proxy_settings(upstream: &str, forwarded_proto: &str) -> String {
    format!(
        "            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto {forwarded_proto};
            proxy_next_upstream error timeout;
"
    )
}

/// nginx.conf for a server on 127.0.0.1:`port` proxying to `upstream_servers` (lines such
/// as `server unix:/path.sock;`), with an extra location `/https/` that says
/// `X-Forwarded-Proto: https` as nginx terminating TLS would.
fn nginx_conf(dir: &Path, port: u16, upstream_servers: &str) -> String {
    let d = dir.display();
    let main = proxy_settings("falconet", "$scheme");
    let https = proxy_settings("falconet", "https");
    format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log stderr notice;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body_temp;
    proxy_temp_path {d}/proxy_temp;
    fastcgi_temp_path {d}/fastcgi_temp;
    uwsgi_temp_path {d}/uwsgi_temp;
    scgi_temp_path {d}/scgi_temp;

    upstream falconet {{
{upstream_servers}        keepalive 16;
    }}

    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 30m;
        location / {{
{main}        }}
        location /https/ {{
{https}        }}
    }}
}}
"
    )
}

/// A running nginx, killed and reaped when dropped.
struct Nginx {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl Nginx {
    /// Starts nginx in `dir` proxying to `upstream_servers`, on a free port; retries with
    /// another port if the picked one was taken in the meantime. Waits (at most 10 s per
    /// attempt) until it has bound its port.
    fn start(dir: &Path, upstream_servers: &str) -> Nginx {
        let binary = nginx_binary();
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let port = {
                let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
                l.local_addr().unwrap().port()
            };
            let conf = dir.join("nginx.conf");
            std::fs::write(&conf, nginx_conf(dir, port, upstream_servers)).unwrap();
            let pid_file = dir.join("nginx.pid");
            let _ = std::fs::remove_file(&pid_file);
            let mut child = Command::new(&binary)
                .arg("-p")
                .arg(dir)
                .arg("-c")
                .arg(&conf)
                .args(["-e", "stderr"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
            let stderr = Arc::new(Mutex::new(String::new()));
            let pipe = child.stderr.take().unwrap();
            let sink = stderr.clone();
            let reader = std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    eprintln!("nginx: {line}");
                    sink.lock().unwrap().push_str(&(line + "\n"));
                }
            });
            let mut nginx = Nginx {
                child,
                port,
                stderr,
                stderr_reader: Some(reader),
            };
            match nginx.wait_ready(&pid_file, Duration::from_secs(10)) {
                Ok(()) => return nginx,
                Err(e) if e.contains("Address already in use") => last_error = e,
                Err(e) => panic!("nginx did not start: {e}"),
            }
        }
        panic!("nginx did not start on any of 5 ports: {last_error}");
    }

    /// Ready when nginx has written its pid file (it does so after binding its sockets)
    /// and accepts a TCP connection on its port while still running.
    fn wait_ready(&mut self, pid_file: &Path, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // The pipe is closed now: collect all of stderr.
                if let Some(r) = self.stderr_reader.take() {
                    let _ = r.join();
                }
                return Err(format!(
                    "nginx exited ({status}); stderr:\n{}",
                    self.stderr.lock().unwrap()
                ));
            }
            if pid_file.exists()
                && TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
                && self.child.try_wait().ok().flatten().is_none()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "nginx not ready within {within:?}; stderr:\n{}",
                    self.stderr.lock().unwrap()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A falconet instance on a Unix socket, shut down when dropped.
struct Falconet {
    handle: ServerHandle,
    socket: PathBuf,
}

impl Falconet {
    fn start(
        socket: PathBuf,
        forwarded: ForwardedHeadersOptions,
        handler: impl Fn(Request) -> Response + Send + Sync + 'static,
    ) -> Falconet {
        let _ = env_logger::builder().is_test(true).try_init();
        let options = ServerOptions {
            endpoints: vec![EndpointOptions::unix(&socket)],
            workers: 4,
            forwarded_headers: forwarded,
            ..ServerOptions::default()
        };
        let handle = Server::new(options, handler)
            .start()
            .expect("falconet starts");
        Falconet { handle, socket }
    }

    /// `server unix:PATH;` for nginx's upstream block.
    fn upstream_line(&self) -> String {
        format!("        server unix:{};\n", self.socket.display())
    }
}

impl Drop for Falconet {
    fn drop(&mut self) {
        self.handle.shutdown(Duration::from_secs(2));
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

/// Forwarding on for both headers, everything else at its default (trusted: loopback and
/// Unix-socket peers; ForwardLimit 1).
fn forwarding_on() -> ForwardedHeadersOptions {
    ForwardedHeadersOptions {
        forward_for: true,
        forward_proto: true,
        ..ForwardedHeadersOptions::default()
    }
}

/// Answers with what it learnt about the client, one `key=value` per line.
fn echo_client(req: Request) -> Response {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string()
    };
    Response::new(Body::from(format!(
        "client={}\nscheme={}\nremote={}\nxff={}\nxfp={}\nxof={}\nxop={}\n",
        req.client_addr(),
        req.scheme(),
        req.connection().remote_addr(),
        header("x-forwarded-for"),
        header("x-forwarded-proto"),
        header("x-original-for"),
        header("x-original-proto"),
    )))
}

/// GETs `url` (with extra `headers`) and parses [`echo_client`]'s answer.
fn client_info(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
) -> std::collections::HashMap<String, String> {
    let mut req = agent.get(url);
    for (n, v) in headers {
        req = req.set(n, v);
    }
    let body = req
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .into_string()
        .unwrap();
    body.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn forwarded_headers_through_nginx_over_a_unix_socket() {
    let dir = TempDir::new("nginx-fwd");
    let app = Falconet::start(dir.path().join("app.sock"), forwarding_on(), echo_client);
    let nginx = Nginx::start(dir.path(), &app.upstream_line());
    let agent = agent();

    // Several requests on one client connection, so nginx reuses its upstream keep-alive
    // connections too.
    for _ in 0..3 {
        let info = client_info(&agent, &nginx.url("/"), &[]);
        assert_eq!(info["client"], "127.0.0.1:0", "{info:?}");
        assert_eq!(info["scheme"], "http", "{info:?}");
        assert!(info["remote"].starts_with("unix:"), "{info:?}");
        // Applied entries are removed; the original scheme is kept. A Unix-socket peer has
        // no IP address, so there is no X-Original-For.
        assert_eq!(info["xff"], "-", "{info:?}");
        assert_eq!(info["xfp"], "-", "{info:?}");
        assert_eq!(info["xof"], "-", "{info:?}");
        assert_eq!(info["xop"], "http", "{info:?}");
    }

    // nginx terminating TLS says https.
    let info = client_info(&agent, &nginx.url("/https/"), &[]);
    assert_eq!(info["scheme"], "https", "{info:?}");
    assert_eq!(info["client"], "127.0.0.1:0", "{info:?}");
    assert_eq!(info["xop"], "http", "{info:?}");

    // A client that spoofs X-Forwarded-For: nginx appends the real address, and only that
    // rightmost entry is believed (ForwardLimit 1). What the client wrote stays visible.
    let info = client_info(
        &agent,
        &nginx.url("/"),
        &[
            ("X-Forwarded-For", "6.6.6.6"),
            ("X-Forwarded-Proto", "https"),
        ],
    );
    assert_eq!(info["client"], "127.0.0.1:0", "{info:?}");
    assert_eq!(info["xff"], "6.6.6.6", "{info:?}");
    // nginx replaces X-Forwarded-Proto with $scheme: the client cannot claim https.
    assert_eq!(info["scheme"], "http", "{info:?}");
}

#[test]
fn forwarding_disabled_the_handler_sees_the_unix_peer() {
    let dir = TempDir::new("nginx-nofwd");
    let app = Falconet::start(
        dir.path().join("app.sock"),
        ForwardedHeadersOptions::default(),
        echo_client,
    );
    let nginx = Nginx::start(dir.path(), &app.upstream_line());
    let info = client_info(
        &agent(),
        &nginx.url("/https/"),
        &[("X-Forwarded-For", "6.6.6.6")],
    );
    assert!(info["client"].starts_with("unix:"), "{info:?}");
    assert_eq!(info["client"], info["remote"], "{info:?}");
    assert_eq!(info["scheme"], "http", "{info:?}");
    // The headers reach the handler untouched.
    assert_eq!(info["xff"], "6.6.6.6, 127.0.0.1", "{info:?}");
    assert_eq!(info["xfp"], "https", "{info:?}");
    assert_eq!(info["xof"], "-", "{info:?}");
    assert_eq!(info["xop"], "-", "{info:?}");
}

#[test]
fn forwarding_over_loopback_tcp_trusts_only_known_proxies() {
    // nginx -> falconet over TCP on 127.0.0.1: the peer is an IP address, trusted through
    // the default KnownNetworks (127.0.0.0/8).
    let dir = TempDir::new("nginx-tcp");
    let start = |forwarded: ForwardedHeadersOptions| {
        let options = ServerOptions {
            endpoints: vec![EndpointOptions::ip("127.0.0.1:0".parse().unwrap())],
            workers: 2,
            forwarded_headers: forwarded,
            ..ServerOptions::default()
        };
        let handle = Server::new(options, echo_client).start().unwrap();
        let addr = handle.local_addr().unwrap();
        (handle, addr)
    };
    let (trusting, addr) = start(forwarding_on());
    {
        let nginx = Nginx::start(dir.path(), &format!("        server {addr};\n"));
        let info = client_info(&agent(), &nginx.url("/"), &[("X-Forwarded-For", "6.6.6.6")]);
        assert_eq!(info["client"], "127.0.0.1:0", "{info:?}");
        assert_eq!(info["xff"], "6.6.6.6", "{info:?}");
        // The proxy's own address and port are kept.
        assert!(info["xof"].starts_with("127.0.0.1:"), "{info:?}");
        assert_eq!(info["xof"], info["remote"], "{info:?}");
    }
    trusting.shutdown(Duration::from_secs(2));

    // Only 10.0.0.1 is trusted: nginx on 127.0.0.1 is not, so nothing is applied.
    let (strict, addr) = start(ForwardedHeadersOptions {
        known_proxies: vec!["10.0.0.1".parse().unwrap()],
        known_networks: vec![],
        ..forwarding_on()
    });
    let nginx = Nginx::start(dir.path(), &format!("        server {addr};\n"));
    let info = client_info(&agent(), &nginx.url("/"), &[("X-Forwarded-For", "6.6.6.6")]);
    assert_eq!(info["client"], info["remote"], "{info:?}");
    assert_ne!(info["client"], "127.0.0.1:0", "{info:?}");
    assert_eq!(info["xff"], "6.6.6.6, 127.0.0.1", "{info:?}");
    assert_eq!(info["xof"], "-", "{info:?}");
    drop(nginx);
    strict.shutdown(Duration::from_secs(2));
}

#[test]
fn two_instances_round_robin_and_fail_over() {
    let dir = TempDir::new("nginx-rr");
    let instance = |id: &'static str| {
        Falconet::start(
            dir.path().join(format!("{id}.sock")),
            forwarding_on(),
            move |_req: Request| Response::new(Body::from(id)),
        )
    };
    let a = instance("a");
    let b = instance("b");
    let nginx = Nginx::start(
        dir.path(),
        &format!("{}{}", a.upstream_line(), b.upstream_line()),
    );
    let agent = agent();
    let get = || {
        agent
            .get(&nginx.url("/"))
            .call()
            .unwrap_or_else(|e| panic!("GET through nginx: {e}"))
            .into_string()
            .unwrap()
    };
    let mut counts = std::collections::HashMap::new();
    for _ in 0..40 {
        *counts.entry(get()).or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert!(counts["a"] >= 10 && counts["b"] >= 10, "{counts:?}");

    // Stop one instance gracefully: nginx fails over (proxy_next_upstream error) and
    // every request still succeeds.
    assert!(
        a.handle.shutdown(Duration::from_secs(5)),
        "graceful shutdown"
    );
    for i in 0..20 {
        assert_eq!(get(), "b", "request {i} after instance a stopped");
    }
}

/// A deterministic, not-too-regular byte pattern.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn large_bodies_through_nginx_arrive_intact() {
    const RESPONSE: usize = 5 * 1024 * 1024;
    const REQUEST: usize = 1024 * 1024;
    let dir = TempDir::new("nginx-big");
    let app = Falconet::start(
        dir.path().join("app.sock"),
        forwarding_on(),
        |req: Request| match req.uri().path() {
            // Streamed: the server pulls from a reader, chunked on the wire.
            "/big" => Response::new(Body::from_reader(
                std::io::Cursor::new(pattern(RESPONSE)),
                None,
            )),
            _ => Response::new(Body::from(req.body().as_bytes().unwrap_or(b"").to_vec())),
        },
    );
    let nginx = Nginx::start(dir.path(), &app.upstream_line());
    let agent = agent();

    let resp = agent.get(&nginx.url("/big")).call().expect("GET /big");
    let mut got = Vec::new();
    resp.into_reader()
        .take(RESPONSE as u64 + 1)
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got.len(), RESPONSE);
    assert!(got == pattern(RESPONSE), "the 5 MiB response differs");

    let sent = pattern(REQUEST + 7)[7..].to_vec();
    // With Content-Length.
    let resp = agent
        .post(&nginx.url("/echo"))
        .send_bytes(&sent)
        .expect("POST /echo");
    let mut got = Vec::new();
    resp.into_reader().read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), REQUEST);
    assert!(got == sent, "the 1 MiB request body differs");
    // Chunked (nginx buffers it and sends it on with a length).
    let resp = agent
        .post(&nginx.url("/echo"))
        .send(std::io::Cursor::new(sent.clone()))
        .expect("chunked POST /echo");
    let mut got = Vec::new();
    resp.into_reader().read_to_end(&mut got).unwrap();
    assert!(got == sent, "the chunked 1 MiB request body differs");
}
