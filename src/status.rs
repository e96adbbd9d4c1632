//! The server's counters as a snapshot ([`ServerStats`], from
//! [`ServerHandle::stats`](crate::ServerHandle::stats)) and the optional status endpoint
//! that serves it as JSON or in Prometheus' text format ([`StatusOptions`]).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::handler::{Handler, Request, Response};
use crate::request::{Prepare, RequestExt};
use crate::stats::{Counters, EndpointCounters};
use crate::Body;

/// A duration written in seconds with three decimals (`12.345`), with integer arithmetic:
/// formatting an `f64` would link the standard library's float printing (about 12 KB of
/// the binary) for this one number.
struct Millis(Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0.as_secs(), self.0.subsec_millis())
    }
}

/// Where the status endpoint is served (off unless [`path`](Self::path) is set; the
/// config file's `Falconet:Status`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusOptions {
    /// The request path that answers with the status, e.g. `/status`. `GET` and `HEAD`
    /// only. JSON by default; Prometheus text with `?format=prometheus` or when the
    /// client's `Accept` prefers `text/plain` (as Prometheus scrapers send).
    /// Default: `None` (no status endpoint).
    pub path: Option<String>,
    /// Serve it only on this endpoint (its configured name, or its URL such as
    /// `http://unix:/run/falconet-admin.sock`); other endpoints pass the path to the
    /// handler. Default: `None` (every endpoint).
    pub endpoint: Option<String>,
}

/// Connections of one endpoint, over all of its sockets (`localhost` is two: 127.0.0.1
/// and ::1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointStats {
    /// The endpoint's name, or its URL.
    pub name: String,
    /// Connections open now.
    pub connections_open: u64,
    /// Connections accepted since start.
    pub connections_total: u64,
}

/// A snapshot of the server's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Time since the server started.
    pub uptime: Duration,
    /// Connections open now (not counting upgraded ones).
    pub connections_open: u64,
    /// Connections accepted since start.
    pub connections_total: u64,
    /// Upgraded connections (WebSockets) open now.
    pub upgraded_open: u64,
    /// Per endpoint, each name once, in the order the endpoints were configured.
    pub endpoints: Vec<EndpointStats>,
    /// Requests since start, all versions.
    pub requests_total: u64,
    /// Requests by protocol: `("http/1.0", n)`, `("http/1.1", n)`, `("h2", n)`.
    pub requests_by_protocol: Vec<(&'static str, u64)>,
    /// Responses by status class: index 0 is 1xx, 4 is 5xx.
    pub responses_by_class: [u64; 5],
    /// Connections and requests refused, by the limit that refused them
    /// (`("MaxConcurrentConnections", n)`, ...).
    pub refused: Vec<(&'static str, u64)>,
    /// Connections ended by a timeout, by kind (`("headers", n)`, `("keep_alive", n)`,
    /// `("body_rate", n)`, `("response_rate", n)`, `("handshake", n)`).
    pub timeouts: Vec<(&'static str, u64)>,
    /// TLS handshakes that failed (not counting timeouts).
    pub tls_handshake_failures: u64,
    /// Access-log lines dropped (the writer's queue was full or its destination failed).
    pub access_log_dropped: u64,
    /// Worker threads.
    pub workers: u64,
    /// Workers running a connection or a handler now.
    pub workers_busy: u64,
    /// Connections waiting in the pool's queue for a worker.
    pub queued: u64,
}

/// What a snapshot is taken from.
pub(crate) struct StatsSource {
    pub(crate) counters: Arc<Counters>,
    pub(crate) endpoints: Vec<(String, Arc<EndpointCounters>)>,
    pub(crate) workers: usize,
    /// How many jobs wait in the pool's queue.
    pub(crate) queue: Box<dyn Fn() -> usize + Send + Sync>,
    pub(crate) started: Instant,
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

impl StatsSource {
    /// One entry per endpoint, in the order they were configured: an endpoint with
    /// several sockets (`localhost` binds 127.0.0.1 and ::1) is counted once, over all
    /// of them, so that every name appears once in the JSON and every Prometheus series
    /// is unique.
    fn endpoint_stats(&self) -> Vec<EndpointStats> {
        let mut out: Vec<EndpointStats> = Vec::with_capacity(self.endpoints.len());
        for (name, e) in &self.endpoints {
            let (open, total) = (get(&e.open), get(&e.total));
            match out.iter_mut().find(|s| s.name == *name) {
                Some(s) => {
                    s.connections_open += open;
                    s.connections_total += total;
                }
                None => out.push(EndpointStats {
                    name: name.clone(),
                    connections_open: open,
                    connections_total: total,
                }),
            }
        }
        out
    }

    pub(crate) fn snapshot(&self) -> ServerStats {
        let c = &self.counters;
        let busy = c.workers_busy();
        let requests = c.requests();
        ServerStats {
            uptime: self.started.elapsed(),
            connections_open: get(&c.connections_open),
            connections_total: get(&c.connections_total),
            upgraded_open: get(&c.upgraded_open),
            endpoints: self.endpoint_stats(),
            requests_total: requests.iter().sum(),
            requests_by_protocol: vec![
                ("http/1.0", requests[0]),
                ("http/1.1", requests[1]),
                ("h2", requests[2]),
            ],
            responses_by_class: std::array::from_fn(|i| c.responses(i)),
            refused: vec![
                (
                    "MaxConcurrentConnections",
                    get(&c.refused.max_concurrent_connections),
                ),
                (
                    "MaxConcurrentUpgradedConnections",
                    get(&c.refused.max_concurrent_upgraded_connections),
                ),
                ("MaxRequestBodySize", get(&c.refused.max_request_body_size)),
                ("MaxRequestLineSize", get(&c.refused.max_request_line_size)),
                (
                    "MaxRequestHeadersTotalSize",
                    get(&c.refused.max_request_headers_total_size),
                ),
                (
                    "MaxRequestHeaderCount",
                    get(&c.refused.max_request_header_count),
                ),
            ],
            timeouts: vec![
                ("headers", get(&c.timeouts.request_headers)),
                ("keep_alive", get(&c.timeouts.keep_alive)),
                ("body_rate", get(&c.timeouts.request_body_rate)),
                ("response_rate", get(&c.timeouts.response_rate)),
                ("handshake", get(&c.timeouts.handshake)),
            ],
            tls_handshake_failures: get(&c.handshake_failures),
            access_log_dropped: get(&c.access_log_dropped),
            workers: self.workers as u64,
            workers_busy: busy.min(self.workers as u64),
            queued: (self.queue)() as u64,
        }
    }
}

/// Escapes a string for JSON and for Prometheus label values (both use `\\` and `\"`).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn json_map(pairs: &[(&str, u64)]) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("\"{}\":{v}", escape(k)))
        .collect();
    format!("{{{}}}", items.join(","))
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

impl ServerStats {
    /// The snapshot as a JSON object (the status endpoint's default format).
    pub fn to_json(&self) -> String {
        let endpoints: Vec<String> = self
            .endpoints
            .iter()
            .map(|e| {
                format!(
                    "{{\"name\":\"{}\",\"connections_open\":{},\"connections_total\":{}}}",
                    escape(&e.name),
                    e.connections_open,
                    e.connections_total
                )
            })
            .collect();
        let classes: Vec<(&str, u64)> = CLASSES
            .iter()
            .copied()
            .zip(self.responses_by_class)
            .collect();
        format!(
            "{{\"uptime_seconds\":{},\"connections\":{{\"open\":{},\"total\":{},\"upgraded_open\":{}}},\
             \"endpoints\":[{}],\"requests\":{{\"total\":{},\"by_protocol\":{}}},\
             \"responses\":{},\"refused\":{},\"timeouts\":{},\"tls\":{{\"handshake_failures\":{}}},\"access_log\":{{\"dropped\":{}}},\
             \"workers\":{{\"total\":{},\"busy\":{},\"idle\":{},\"queued\":{}}}}}",
            Millis(self.uptime),
            self.connections_open,
            self.connections_total,
            self.upgraded_open,
            endpoints.join(","),
            self.requests_total,
            json_map(&self.requests_by_protocol),
            json_map(&classes),
            json_map(&self.refused),
            json_map(&self.timeouts),
            self.tls_handshake_failures,
            self.access_log_dropped,
            self.workers,
            self.workers_busy,
            self.workers - self.workers_busy,
            self.queued,
        )
    }

    /// The snapshot in Prometheus' text exposition format (version 0.0.4).
    pub fn to_prometheus(&self) -> String {
        let mut o = String::with_capacity(2048);
        let _ = writeln!(
            o,
            "# HELP falconet_uptime_seconds Seconds since the server started.\n\
             # TYPE falconet_uptime_seconds gauge\nfalconet_uptime_seconds {}",
            Millis(self.uptime)
        );
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
            let _ = writeln!(o, "# HELP falconet_{name} {help}");
            let _ = writeln!(o, "# TYPE falconet_{name} {kind}");
            for (labels, v) in samples {
                let _ = writeln!(o, "falconet_{name}{labels} {v}");
            }
        };
        let one = |v: u64| vec![(String::new(), v)];
        let labelled = |label: &str, pairs: &[(&str, u64)]| -> Vec<(String, u64)> {
            pairs
                .iter()
                .map(|(k, v)| (format!("{{{label}=\"{}\"}}", escape(k)), *v))
                .collect()
        };
        metric(
            "connections_open",
            "gauge",
            "Connections open now, by endpoint.",
            &self
                .endpoints
                .iter()
                .map(|e| {
                    (
                        format!("{{endpoint=\"{}\"}}", escape(&e.name)),
                        e.connections_open,
                    )
                })
                .collect::<Vec<_>>(),
        );
        metric(
            "connections_total",
            "counter",
            "Connections accepted since start, by endpoint.",
            &self
                .endpoints
                .iter()
                .map(|e| {
                    (
                        format!("{{endpoint=\"{}\"}}", escape(&e.name)),
                        e.connections_total,
                    )
                })
                .collect::<Vec<_>>(),
        );
        metric(
            "upgraded_connections_open",
            "gauge",
            "Upgraded (WebSocket) connections open now.",
            &one(self.upgraded_open),
        );
        metric(
            "requests_total",
            "counter",
            "Requests since start, by protocol.",
            &labelled("protocol", &self.requests_by_protocol),
        );
        let classes: Vec<(&str, u64)> = CLASSES
            .iter()
            .copied()
            .zip(self.responses_by_class)
            .collect();
        metric(
            "responses_total",
            "counter",
            "Responses since start, by status class.",
            &labelled("class", &classes),
        );
        metric(
            "refused_total",
            "counter",
            "Connections and requests refused, by limit.",
            &labelled("limit", &self.refused),
        );
        metric(
            "timeouts_total",
            "counter",
            "Connections ended by a timeout, by kind.",
            &labelled("kind", &self.timeouts),
        );
        metric(
            "tls_handshake_failures_total",
            "counter",
            "TLS handshakes that failed (not counting timeouts).",
            &one(self.tls_handshake_failures),
        );
        metric(
            "access_log_dropped_total",
            "counter",
            "Access-log lines dropped (queue full or destination failing).",
            &one(self.access_log_dropped),
        );
        metric(
            "workers",
            "gauge",
            "Worker threads, by state.",
            &labelled(
                "state",
                &[
                    ("busy", self.workers_busy),
                    ("idle", self.workers - self.workers_busy),
                ],
            ),
        );
        metric(
            "queued_connections",
            "gauge",
            "Connections waiting for a worker.",
            &one(self.queued),
        );
        o
    }
}

/// Answers the status path before the application's handler sees it.
pub(crate) struct StatusHandler {
    pub(crate) inner: Box<dyn Handler>,
    pub(crate) options: StatusOptions,
    pub(crate) source: Arc<std::sync::OnceLock<StatsSource>>,
}

impl StatusHandler {
    fn is_status(&self, uri: &http::Uri, endpoint: &str) -> bool {
        self.options.path.as_deref() == Some(uri.path())
            && self
                .options
                .endpoint
                .as_deref()
                .is_none_or(|e| e == endpoint)
    }
}

impl Handler for StatusHandler {
    fn prepare(&self, p: &mut Prepare<'_>) {
        if !self.is_status(p.uri(), p.connection().endpoint()) {
            self.inner.prepare(p);
        }
    }

    fn handle(&self, req: Request) -> Response {
        if !self.is_status(req.uri(), req.connection().endpoint()) {
            return self.inner.handle(req);
        }
        let status = |code: u16| {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = http::StatusCode::from_u16(code).unwrap_or_default();
            r
        };
        if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
            let mut r = status(405);
            r.headers_mut().insert(
                http::header::ALLOW,
                http::HeaderValue::from_static("GET, HEAD"),
            );
            return r;
        }
        let Some(source) = self.source.get() else {
            return status(503);
        };
        let stats = source.snapshot();
        let query_prom = req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv == "format=prometheus"));
        let accept = req
            .headers()
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let accept_prom = !accept.contains("application/json")
            && (accept.starts_with("text/plain") || accept.contains("openmetrics"));
        let (body, ctype) = if query_prom || accept_prom {
            (
                stats.to_prometheus(),
                "text/plain; version=0.0.4; charset=utf-8",
            )
        } else {
            (stats.to_json(), "application/json")
        };
        let mut r = Response::new(Body::from(body));
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(ctype),
        );
        r.headers_mut().insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_is_written_with_three_decimals() {
        for (d, text) in [
            (Duration::ZERO, "0.000"),
            (Duration::from_millis(7), "0.007"),
            (Duration::from_micros(12_345_678), "12.345"),
            (Duration::from_secs(86_400), "86400.000"),
        ] {
            assert_eq!(Millis(d).to_string(), text);
        }
    }

    fn sample() -> ServerStats {
        ServerStats {
            uptime: Duration::from_millis(1500),
            connections_open: 2,
            connections_total: 10,
            upgraded_open: 1,
            endpoints: vec![EndpointStats {
                name: "http://unix:/run/a \"b\".sock".into(),
                connections_open: 2,
                connections_total: 10,
            }],
            requests_total: 7,
            requests_by_protocol: vec![("http/1.0", 1), ("http/1.1", 6), ("h2", 0)],
            responses_by_class: [0, 5, 0, 2, 0],
            refused: vec![("MaxConcurrentConnections", 3)],
            timeouts: vec![("headers", 1), ("handshake", 4)],
            tls_handshake_failures: 2,
            access_log_dropped: 6,
            workers: 4,
            workers_busy: 1,
            queued: 0,
        }
    }

    #[test]
    fn json_is_valid_and_complete() {
        let v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(v["uptime_seconds"], 1.5);
        assert_eq!(v["connections"]["open"], 2);
        assert_eq!(v["endpoints"][0]["name"], "http://unix:/run/a \"b\".sock");
        assert_eq!(v["requests"]["by_protocol"]["http/1.1"], 6);
        assert_eq!(v["responses"]["4xx"], 2);
        assert_eq!(v["refused"]["MaxConcurrentConnections"], 3);
        assert_eq!(v["timeouts"]["handshake"], 4);
        assert_eq!(v["tls"]["handshake_failures"], 2);
        assert_eq!(v["access_log"]["dropped"], 6);
        assert_eq!(v["workers"]["idle"], 3);
    }

    #[test]
    fn prometheus_text_format() {
        let t = sample().to_prometheus();
        assert!(
            t.contains("# TYPE falconet_requests_total counter\n"),
            "{t}"
        );
        assert!(
            t.contains("falconet_requests_total{protocol=\"http/1.1\"} 6\n"),
            "{t}"
        );
        assert!(
            t.contains("falconet_responses_total{class=\"4xx\"} 2\n"),
            "{t}"
        );
        assert!(
            t.contains("falconet_timeouts_total{kind=\"handshake\"} 4\n"),
            "{t}"
        );
        assert!(
            t.contains(
                "falconet_connections_open{endpoint=\"http://unix:/run/a \\\"b\\\".sock\"} 2\n"
            ),
            "{t}"
        );
        assert!(t.contains("falconet_workers{state=\"idle\"} 3\n"), "{t}");
        assert!(t.contains("falconet_uptime_seconds 1.500\n"), "{t}");
        // Every sample line is `name{labels} value` or `name value`.
        for line in t.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(name.starts_with("falconet_"), "{line}");
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
