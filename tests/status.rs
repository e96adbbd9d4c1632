//! The status endpoint and `ServerHandle::stats`: counters driven by real traffic over
//! real sockets, served as JSON and Prometheus text, optionally on an endpoint of its own.

mod support;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use falconet::{Body, EndpointOptions, Request, Response, ServerOptions, StatusOptions};
use support::{RawClient, TempDir, TestServer};

fn app(req: Request) -> Response {
    if req.uri().path() == "/missing" {
        let mut r = Response::new(Body::from("no"));
        *r.status_mut() = falconet::http::StatusCode::NOT_FOUND;
        return r;
    }
    Response::new(Body::from("app"))
}

fn start(options: ServerOptions) -> TestServer {
    support::capture_logs();
    support::start(options, app)
}

fn with_status(path: &str) -> ServerOptions {
    let mut o = support::options();
    o.status = StatusOptions {
        path: Some(path.into()),
        endpoint: None,
    };
    o
}

fn get(server: &TestServer, path: &str, extra: &str) -> support::RawResponse {
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n");
    support::roundtrip(server, req.as_bytes())
}

fn json(server: &TestServer) -> serde_json::Value {
    let r = get(server, "/status", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn json_counts_requests_responses_and_refusals() {
    let mut options = with_status("/status");
    options.limits.max_request_headers_total_size = 1024;
    let server = start(options);
    assert_eq!(get(&server, "/", "").status, 200);
    assert_eq!(get(&server, "/missing", "").status, 404);
    let big = format!("X-Big: {}\r\n", "a".repeat(2000));
    assert_eq!(get(&server, "/", &big).status, 431);
    let mut c = server.connect();
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(support::read_response(&mut c, false).unwrap().status, 200);

    let v = json(&server);
    assert!(v["uptime_seconds"].as_f64().unwrap() >= 0.0);
    assert!(
        v["requests"]["by_protocol"]["http/1.1"].as_u64().unwrap() >= 3,
        "{v}"
    );
    assert_eq!(v["requests"]["by_protocol"]["http/1.0"], 1, "{v}");
    assert_eq!(v["responses"]["2xx"], 2, "{v}");
    assert_eq!(v["responses"]["4xx"], 2, "{v}");
    assert_eq!(v["refused"]["MaxRequestHeadersTotalSize"], 1, "{v}");
    let ep = &v["endpoints"][0];
    assert!(ep["name"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert!(ep["connections_total"].as_u64().unwrap() >= 5, "{v}");
    assert!(ep["connections_open"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["workers"]["total"], 2);
    // The status request itself is running on a worker.
    assert!(v["workers"]["busy"].as_u64().unwrap() >= 1, "{v}");
    // The handler never saw /status; the library's snapshot agrees with the endpoint.
    let s = server.handle.stats();
    assert_eq!(s.responses_by_class[3], 2);
    // HEAD works, other methods do not.
    let r = support::roundtrip(&server, b"HEAD /status HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 200);
    let r = support::roundtrip(
        &server,
        b"POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
}

#[test]
fn prometheus_text_on_request() {
    let server = start(with_status("/status"));
    assert_eq!(get(&server, "/", "").status, 200);
    for (path, extra) in [
        ("/status?format=prometheus", ""),
        (
            "/status",
            "Accept: text/plain;version=0.0.4;q=0.3,*/*;q=0.1\r\n",
        ),
    ] {
        let r = get(&server, path, extra);
        assert_eq!(r.status, 200);
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        let t = r.body_str();
        assert!(t.contains("# TYPE falconet_requests_total counter"), "{t}");
        let line = t
            .lines()
            .find(|l| l.starts_with("falconet_requests_total{protocol=\"http/1.1\"}"))
            .unwrap();
        let n: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(n >= 1, "{line}");
        assert!(
            t.contains("falconet_timeouts_total{kind=\"handshake\"} 0"),
            "{t}"
        );
    }
}

#[test]
fn off_by_default_and_per_endpoint() {
    let server = start(support::options());
    assert_eq!(get(&server, "/status", "").body_str(), "app");

    // Status only on an admin Unix socket; the public endpoint passes /status to the app.
    let dir = TempDir::new("status-admin");
    let sock = dir.path().join("admin.sock");
    let mut options = support::options();
    let mut admin = EndpointOptions::unix(&sock);
    admin.name = Some("Admin".into());
    options.endpoints.push(admin);
    options.status = StatusOptions {
        path: Some("/status".into()),
        endpoint: Some("Admin".into()),
    };
    let server = start(options);
    assert_eq!(get(&server, "/status", "").body_str(), "app");
    let mut u = UnixStream::connect(&sock).unwrap();
    u.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    u.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let r = support::read_response_from(&mut u, false).unwrap();
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let names: Vec<&str> = v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Admin"), "{names:?}");
}

#[test]
fn timeouts_are_counted_by_kind() {
    let mut options = support::options();
    options.limits.keep_alive_timeout = Duration::from_millis(300);
    options.limits.request_headers_timeout = Duration::from_millis(300);
    let server = start(options);
    // Keep-alive: a connection that says nothing.
    let mut idle = server.connect();
    // Headers: half a request head.
    let mut half = RawClient::connect(&server);
    half.send(b"GET / HTTP/1.1\r\nHost: x\r\n");
    assert!(support::closed_within(&mut idle, Duration::from_secs(5)));
    assert!(half.response(false).is_some_and(|r| r.status == 408));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = server.handle.stats();
        let t: std::collections::HashMap<_, _> = s.timeouts.iter().copied().collect();
        if t["keep_alive"] >= 1 && t["headers"] >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{:?}", s.timeouts);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn connection_limit_refusals_and_busy_workers() {
    let mut options = support::options();
    options.limits.max_concurrent_connections = Some(1);
    let gate = Arc::new(Barrier::new(2));
    let g = gate.clone();
    support::capture_logs();
    let server = support::start(options, move |_req: Request| {
        g.wait();
        Response::new(Body::from("done"))
    });
    let mut first = RawClient::connect(&server);
    first.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    // While the handler waits, one worker is busy.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.handle.stats().workers_busy < 1 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    // A second connection is over MaxConcurrentConnections: closed and counted.
    let mut second = server.connect();
    assert!(support::closed_within(&mut second, Duration::from_secs(5)));
    let s = server.handle.stats();
    let refused: std::collections::HashMap<_, _> = s.refused.iter().copied().collect();
    assert_eq!(refused["MaxConcurrentConnections"], 1);
    assert_eq!(s.connections_open, 1);
    gate.wait();
    assert_eq!(first.response(false).unwrap().body_str(), "done");
}

#[cfg(feature = "json-config")]
#[test]
fn status_from_the_config_file() {
    let mut options = ServerOptions::default();
    falconet::config::apply_json(
        &mut options,
        r#"{"Falconet": {"Status": {"Path": "/_status", "Endpoint": "Admin"}}}"#,
    )
    .unwrap();
    assert_eq!(options.status.path.as_deref(), Some("/_status"));
    assert_eq!(options.status.endpoint.as_deref(), Some("Admin"));
    let e = falconet::config::apply_json(
        &mut options,
        r#"{"Falconet": {"Status": {"Path": "status"}}}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("Falconet:Status:Path"), "{e}");
}

/// Parses Prometheus text with the reference parser (Python's `prometheus_client`) and
/// returns every sample as `name{label="value",...}` with its value, labels sorted. Fails
/// when python3 or the module is missing, or when the parser rejects the text.
fn parse_prometheus(text: &str) -> Vec<(String, f64)> {
    use std::process::{Command, Stdio};
    const SCRIPT: &str = r#"
import sys
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError as e:
    print("MISSING " + str(e))
    sys.exit(3)
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
        print("%s{%s} %r" % (s.name, labels, s.value))
"#;
    let child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = child.unwrap_or_else(|e| {
        panic!(
            "python3 is not installed ({e}); this test parses the Prometheus output with \
             prometheus_client (Debian: apt-get install python3 python3-prometheus-client)"
        )
    });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.starts_with("MISSING"),
        "python3 cannot import prometheus_client ({}); this test parses the Prometheus \
         output with it (Debian: apt-get install python3-prometheus-client, or \
         python3 -m pip install prometheus_client)",
        stdout.trim()
    );
    assert!(
        out.status.success(),
        "prometheus_client rejects the output: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse().unwrap())
        })
        .collect()
}

/// A named endpoint on `localhost` is two sockets (127.0.0.1 and ::1) under one name: the
/// Prometheus output still has each series once (the endpoint's sockets summed), as a
/// scrape requires, and the JSON lists the endpoint once.
#[test]
fn prometheus_series_are_unique_for_an_endpoint_with_two_sockets() {
    let mut options = with_status("/metrics");
    let mut http = EndpointOptions::new(falconet::ListenAddress::Localhost(0));
    http.name = Some("Http".into());
    options.endpoints = vec![http];
    if !support::has_ipv6_loopback() {
        // Without ::1, `localhost` is one socket: a second one under the same name.
        let mut second = EndpointOptions::ip("127.0.0.1:0".parse().unwrap());
        second.name = Some("Http".into());
        options.endpoints.push(second);
    }
    let server = start(options);
    let addrs: Vec<std::net::SocketAddr> = server
        .handle
        .addresses()
        .iter()
        .map(|a| match a {
            falconet::Address::Ip(a) => *a,
            other => panic!("expected an IP address, got {other:?}"),
        })
        .collect();
    assert_eq!(addrs.len(), 2, "{addrs:?}");
    for addr in &addrs {
        assert_eq!(support::get_at(*addr, "/").status, 200);
    }

    let r = support::get_at(addrs[1], "/metrics?format=prometheus");
    assert_eq!(r.status, 200);
    let text = r.body_str();
    let samples = parse_prometheus(&text);
    let mut seen = std::collections::HashSet::new();
    for (series, _) in &samples {
        assert!(
            seen.insert(series.clone()),
            "duplicate series {series}:\n{text}"
        );
    }
    let value = |series: &str| {
        samples
            .iter()
            .find(|(s, _)| s == series)
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
            .1
    };
    // Both sockets' connections, the one serving this request still open.
    assert!(
        value("falconet_connections_total{endpoint=\"Http\"}") >= 3.0,
        "{text}"
    );
    assert!(
        value("falconet_connections_open{endpoint=\"Http\"}") >= 1.0,
        "{text}"
    );
    assert!(value("falconet_requests_total{protocol=\"http/1.1\"}") >= 2.0);

    let r = support::get_at(addrs[0], "/metrics");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let endpoints = v["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 1, "{v}");
    assert_eq!(endpoints[0]["name"], "Http", "{v}");
    assert!(
        endpoints[0]["connections_total"].as_u64().unwrap() >= 4,
        "{v}"
    );
}
