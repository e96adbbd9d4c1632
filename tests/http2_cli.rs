//! HTTP/2 checked with the tools users have: `curl --http2-prior-knowledge` against the
//! `hello` example (h2c), `curl --http2` over TLS with ALPN against an in-process server,
//! and nghttp2's `nghttp` (Debian: nghttp2-client). A missing tool fails the test with a
//! message saying what to install.
#![cfg(all(feature = "http2", feature = "tls"))]

mod support;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use falconet::tls::{Certificate, HttpsOptions};
use falconet::{Body, EndpointOptions, Request, RequestExt, Response, Scheme, ServerOptions};

fn tool(name: &str, package: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{name}` is not installed; these tests need it (Debian: apt-get install {package})"
    );
    Command::new(name)
}

fn run(mut cmd: Command) -> Output {
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = child.id();
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    while !waiter.is_finished() {
        if Instant::now() > deadline {
            let _ = Command::new("kill").arg(id.to_string()).status();
            panic!("{cmd:?} did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    waiter.join().unwrap()
}

fn handler(req: Request) -> Response {
    Response::new(Body::from(format!(
        "{:?} {} tls={}",
        req.version(),
        req.uri().path(),
        req.connection().is_tls()
    )))
}

#[test]
fn curl_prior_knowledge_against_the_hello_example() {
    let mut child = support::ChildServer::spawn({
        let mut c = support::example_command("hello");
        c.args(["--urls", "http://127.0.0.1:0"])
            .env("RUST_LOG", "info");
        c
    });
    let addr = child.wait_for_v4_port(Duration::from_secs(30));
    let mut c = tool("curl", "curl");
    c.args(["-sS", "--max-time", "10", "--http2-prior-knowledge"])
        .args(["-w", "\\n%{http_version}"])
        .arg(format!("http://{addr}/"));
    let o = run(c);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.trim_end().ends_with("\n2"), "{out}");
    assert!(out.contains("Hello"), "{out}");
}

#[test]
fn nghttp_against_h2c() {
    support::capture_logs();
    let server = support::start(support::options(), handler);
    let mut c = tool("nghttp", "nghttp2-client");
    c.args(["-n", "-v", "-t", "10"])
        .arg(format!("http://{}/one", server.addr))
        .arg(format!("http://{}/two", server.addr));
    let o = run(c);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Two streams, each answered 200, and a clean SETTINGS exchange.
    assert_eq!(out.matches(":status: 200").count(), 2, "{out}");
    assert!(out.contains("recv SETTINGS frame"), "{out}");
    assert!(
        out.contains("SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100"),
        "{out}"
    );
    let mut c = tool("nghttp", "nghttp2-client");
    c.args(["-t", "10"])
        .arg(format!("http://{}/body", server.addr));
    let o = run(c);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "HTTP/2.0 /body tls=false"
    );
}

#[test]
fn curl_http2_over_tls_with_alpn() {
    let dir = support::TempDir::new("h2-tls");
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "falconet h2 test ca");
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    let ca = rcgen::CertifiedIssuer::self_signed(p, key).unwrap();
    let mut lp = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    lp.distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    lp.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let lk = rcgen::KeyPair::generate().unwrap();
    let leaf = lp.signed_by(&lk, &ca).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let cert = Certificate::from_pem(leaf.pem().as_bytes(), lk.serialize_pem().as_bytes()).unwrap();
    let mut ep = EndpointOptions::ip("127.0.0.1:0".parse().unwrap());
    ep.scheme = Scheme::Https;
    ep.https = HttpsOptions::with_certificate(cert);
    support::capture_logs();
    let server = support::start(
        ServerOptions {
            endpoints: vec![ep],
            workers: 2,
            ..ServerOptions::default()
        },
        handler,
    );
    let port = server.addr.port();
    let curl = |extra: &[&str]| {
        let mut c = tool("curl", "curl");
        c.args(["-sS", "--max-time", "10", "--cacert"])
            .arg(dir.path().join("ca.pem"))
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .args(["-w", "\\n%{http_version}"])
            .args(extra)
            .arg(format!("https://localhost:{port}/tls"));
        run(c)
    };
    let o = curl(&["--http2"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{out} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(out, "HTTP/2.0 /tls tls=true\n2");
    // A client that offers only http/1.1 gets HTTP/1.1 on the same endpoint.
    let o = curl(&["--http1.1"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "HTTP/1.1 /tls tls=true\n1.1"
    );
}
