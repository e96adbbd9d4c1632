//! HTTPS redirection and HSTS (ServerOptions::https_redirection and ::hsts), checked with
//! curl as a user would: a server with a plain and an HTTPS endpoint, each on port 0.
//!
//! curl must be installed (`.ci/run` installs it); a missing tool fails the test.
#![cfg(feature = "tls")]

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use falconet::{
    Address, Body, EndpointOptions, HstsOptions, HttpsRedirectionOptions, Request, RequestExt,
    Response, Server, ServerHandle, ServerOptions,
};

fn data(name: &str) -> String {
    format!("{}/tests/data/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn app(req: Request) -> Response {
    Response::new(Body::from(format!(
        "{} {} {}",
        req.scheme(),
        req.method(),
        req.uri().path_and_query().map_or("/", |p| p.as_str())
    )))
}

/// A plain and an HTTPS endpoint (certificate for a.example.org), both on 127.0.0.1:0.
fn start(redirection: HttpsRedirectionOptions, hsts: HstsOptions) -> (ServerHandle, u16, u16) {
    start_with(redirection, hsts, app)
}

fn start_with(
    redirection: HttpsRedirectionOptions,
    hsts: HstsOptions,
    handler: impl falconet::Handler,
) -> (ServerHandle, u16, u16) {
    serve(options(redirection, hsts), handler)
}

fn options(redirection: HttpsRedirectionOptions, hsts: HstsOptions) -> ServerOptions {
    let https = support::https_endpoint_a_example_org();
    ServerOptions {
        endpoints: vec![EndpointOptions::ip("127.0.0.1:0".parse().unwrap()), https],
        workers: 2,
        https_redirection: redirection,
        hsts,
        ..ServerOptions::default()
    }
}

/// Starts `options` (a plain endpoint, then an HTTPS one); returns both ports.
fn serve(options: ServerOptions, handler: impl falconet::Handler) -> (ServerHandle, u16, u16) {
    support::capture_logs();
    let handle = Server::new(options, handler)
        .start()
        .expect("server starts");
    let port = |i: usize| match &handle.addresses()[i] {
        Address::Ip(a) => a.port(),
        other => panic!("{other:?}"),
    };
    let (plain, tls) = (port(0), port(1));
    (handle, plain, tls)
}

/// curl's status line, headers (lowercase names) and body for `url`; `host` is resolved to
/// 127.0.0.1 for both ports.
fn curl(
    url: &str,
    host: &str,
    ports: [u16; 2],
    extra: &[&str],
) -> (u16, Vec<(String, String)>, String) {
    support::require_tool("curl", "curl");
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-i", "--max-time", "10", "--cacert", &data("ca.crt")]);
    for p in ports {
        cmd.args(["--resolve", &format!("{host}:{p}:127.0.0.1")]);
    }
    cmd.args(extra).arg(url);
    let out = cmd.output().expect("curl runs");
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    // With -L, the heads of every response come first: the last one is the answer.
    let (mut head, mut body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    while body.starts_with("HTTP/") {
        (head, body) = body.split_once("\r\n\r\n").unwrap_or((body, ""));
    }
    let (status, headers) = support::parse_head(head);
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn on() -> (HttpsRedirectionOptions, HstsOptions) {
    (
        HttpsRedirectionOptions {
            enabled: Some(true),
            ..Default::default()
        },
        HstsOptions {
            enabled: Some(true),
            ..Default::default()
        },
    )
}

#[test]
fn plain_http_is_redirected_to_the_https_port_and_curl_follows() {
    let (r, h) = on();
    let (handle, plain, tls) = start(r, h);
    let host = "a.example.org";
    let url = format!("http://{host}:{plain}/items/7?x=1&y=%20z");
    let (status, headers, body) = curl(&url, host, [plain, tls], &[]);
    assert_eq!(status, 307, "{headers:?}");
    assert_eq!(
        header(&headers, "location"),
        Some(format!("https://{host}:{tls}/items/7?x=1&y=%20z").as_str())
    );
    assert_eq!(body, "", "a redirect has no body");
    assert_eq!(
        header(&headers, "strict-transport-security"),
        None,
        "never over HTTP"
    );
    // 307 keeps the method and the body: curl -L re-posts to the HTTPS endpoint.
    let (status, headers, body) = curl(&url, host, [plain, tls], &["-L", "-d", "v=1"]);
    assert_eq!(status, 200, "{headers:?}");
    assert_eq!(body, "https POST /items/7?x=1&y=%20z");
    assert_eq!(
        header(&headers, "strict-transport-security"),
        Some("max-age=2592000")
    );
    handle.shutdown(Duration::from_secs(2));
}

#[test]
fn hsts_options_and_localhost_exclusion() {
    let (r, _) = on();
    let h = HstsOptions {
        enabled: Some(true),
        max_age: Duration::from_secs(31_536_000),
        include_subdomains: true,
        preload: true,
        ..Default::default()
    };
    let (handle, plain, tls) = start(r, h);
    let (status, headers, _) = curl(
        &format!("https://a.example.org:{tls}/"),
        "a.example.org",
        [plain, tls],
        &[],
    );
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "strict-transport-security"),
        Some("max-age=31536000; includeSubDomains; preload")
    );
    // localhost is excluded by default (the certificate does not name it: -k).
    let (status, headers, _) = curl(
        &format!("https://localhost:{tls}/"),
        "localhost",
        [plain, tls],
        &["-k"],
    );
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "strict-transport-security"), None);
    // A plain request to localhost is still redirected (only HSTS excludes it).
    let (status, headers, _) = curl(
        &format!("http://localhost:{plain}/a"),
        "localhost",
        [plain, tls],
        &[],
    );
    assert_eq!(status, 307);
    assert_eq!(
        header(&headers, "location"),
        Some(format!("https://localhost:{tls}/a").as_str())
    );
    handle.shutdown(Duration::from_secs(2));
}

#[test]
fn off_by_default_and_308_when_asked() {
    let (handle, plain, tls) = start(HttpsRedirectionOptions::default(), HstsOptions::default());
    let (status, headers, body) = curl(
        &format!("http://a.example.org:{plain}/x"),
        "a.example.org",
        [plain, tls],
        &[],
    );
    assert_eq!(status, 200);
    assert_eq!(body, "http GET /x");
    let (_, headers_tls, _) = curl(
        &format!("https://a.example.org:{tls}/x"),
        "a.example.org",
        [plain, tls],
        &[],
    );
    assert_eq!(header(&headers_tls, "strict-transport-security"), None);
    assert_eq!(header(&headers, "location"), None);
    handle.shutdown(Duration::from_secs(2));

    let (handle, plain, tls) = start(
        HttpsRedirectionOptions {
            enabled: Some(true),
            redirect_status_code: 308,
            https_port: Some(443),
        },
        HstsOptions::default(),
    );
    let (status, headers, _) = curl(
        &format!("http://a.example.org:{plain}/x"),
        "a.example.org",
        [plain, tls],
        &[],
    );
    assert_eq!(status, 308);
    assert_eq!(
        header(&headers, "location"),
        Some("https://a.example.org/x")
    );
    handle.shutdown(Duration::from_secs(2));
}

/// A request without Host (HTTP/1.0) names no host to redirect to: it is served as is.
#[test]
fn no_host_no_redirect() {
    let (r, h) = on();
    let (handle, plain, _) = start(r, h);
    let addr: SocketAddr = format!("127.0.0.1:{plain}").parse().unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let resp = support::roundtrip_on(&mut s, b"GET /q HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body_str(), "http GET /q");
    handle.shutdown(Duration::from_secs(2));
}

/// AllowedHosts is checked before the redirect: a host it refuses gets 400, never a
/// Location pointing at it; an allowed one is redirected.
#[test]
fn a_host_allowed_hosts_refuses_is_not_redirected_to() {
    let (r, h) = on();
    let mut o = options(r, h);
    o.allowed_hosts = vec!["a.example.org".into()];
    let (handle, plain, tls) = serve(o, app);
    let addr: SocketAddr = format!("127.0.0.1:{plain}").parse().unwrap();
    let ask = |host: &str| {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let req = format!("GET /p?q=1 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        support::roundtrip_on(&mut s, req.as_bytes()).expect("an answer")
    };
    let refused = ask("evil.example");
    assert_eq!(refused.status, 400);
    assert_eq!(refused.header("location"), None);
    let allowed = ask("a.example.org");
    assert_eq!(allowed.status, 307);
    assert_eq!(
        allowed.header("location"),
        Some(format!("https://a.example.org:{tls}/p?q=1").as_str())
    );
    handle.shutdown(Duration::from_secs(2));
}

// ---------------------------------------------------------------------------------------
// A browser: headless Chromium follows the redirect, keeps the HSTS policy and upgrades a
// later plain-HTTP navigation by itself.

/// The page a browser gets: `/after` says over which scheme it was asked for; any other
/// path navigates (by script, after the response and its headers were taken in) to
/// `http://` + the same host and port + `/after`.
fn browser_app(req: Request) -> Response {
    let html = if req.uri().path() == "/after" {
        format!("<!doctype html><p id=\"r\">after over {}</p>", req.scheme())
    } else {
        "<!doctype html><p>start</p>\
         <script>location.href = 'http://' + location.host + '/after';</script>"
            .to_string()
    };
    let mut resp = Response::new(Body::from(html));
    resp.headers_mut().insert(
        "content-type",
        falconet::http::HeaderValue::from_static("text/html"),
    );
    resp
}

/// The SHA-256 of a certificate's public key (SPKI), base64, as Chromium's
/// `--ignore-certificate-errors-spki-list` takes it (openssl computes it). Chromium then
/// treats the test certificate as valid, and so keeps the HSTS policy it sends, which it
/// does not on a connection whose certificate it did not accept (RFC 6797 §8.1).
fn spki_sha256(cert: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl x509 -in '{cert}' -pubkey -noout | openssl pkey -pubin -outform der \
             | openssl dgst -sha256 -binary | base64"
        ))
        .output()
        .expect("openssl runs (Debian: apt-get install openssl)");
    let b64 = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(out.status.success() && b64.len() == 44, "openssl: {out:?}");
    b64
}

/// Headless Chromium opens `url`, with a.example.org resolved to 127.0.0.1 and the test
/// certificate accepted, and prints the DOM of the page it ends on.
fn chromium_dom(url: &str) -> String {
    let flags = [
        "--host-resolver-rules=MAP a.example.org 127.0.0.1".to_string(),
        "--virtual-time-budget=10000".to_string(),
        format!(
            "--ignore-certificate-errors-spki-list={}",
            spki_sha256(&data("a.example.org.crt"))
        ),
    ];
    support::chromium_dom(url, &flags)
}

#[test]
fn chromium_follows_the_redirect_and_keeps_the_hsts_policy() {
    // With both on: http://…:plain/ is redirected to https://…:tls/, whose response
    // carries HSTS; the page's script then navigates to http://…:tls/after, which Chromium
    // upgrades to https by itself (the same host and port), so the TLS endpoint serves it.
    let (r, h) = on();
    let (handle, plain, _) = start_with(r, h, browser_app);
    let dom = chromium_dom(&format!("http://a.example.org:{plain}/start"));
    assert!(
        dom.contains("<p id=\"r\">after over https</p>"),
        "{}",
        &dom[..dom.len().min(2000)]
    );
    handle.shutdown(Duration::from_secs(2));

    // The control: without HSTS the same navigation goes out as plain HTTP to the TLS
    // endpoint, which cannot answer it: Chromium ends on its error page for that URL
    // (ERR_INVALID_HTTP_RESPONSE), never on "after".
    let (handle, plain, tls) = start_with(on().0, HstsOptions::default(), browser_app);
    let dom = chromium_dom(&format!("http://a.example.org:{plain}/start"));
    assert!(
        !dom.contains("after over") && dom.contains(&format!("a.example.org:{tls}/after")),
        "without HSTS: {}",
        &dom[..dom.len().min(2000)]
    );
    handle.shutdown(Duration::from_secs(2));
}
