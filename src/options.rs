//! Server and endpoint options: plain structs with `Default`, each field documenting its
//! default. The JSON configuration loader ([`crate::config`]) and `--urls` produce the same
//! structs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::forwarded::ForwardedHeadersOptions;
use crate::limits::Limits;

/// Which HTTP versions an endpoint speaks (Kestrel's `HttpProtocols`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Protocols {
    /// HTTP/1.0 and HTTP/1.1 only.
    Http1,
    /// HTTP/2 only (available with the HTTP/2 support of a later release).
    Http2,
    /// Both; the default, as in Kestrel.
    #[default]
    Http1AndHttp2,
}

/// Where an endpoint listens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListenAddress {
    /// One IPv4 or IPv6 socket address: that address only, except the unspecified ones,
    /// as in Kestrel: `0.0.0.0` is every IPv4 interface (no IPv6), `[::]` every IPv6
    /// interface in dual mode (IPv4 clients reach it as `::ffff:a.b.c.d`).
    Ip(SocketAddr),
    /// `localhost`: 127.0.0.1 and ::1, bound separately. A warning if one fails, a
    /// startup error if both do.
    Localhost(u16),
    /// `*`, `+` or a host name other than `localhost`: `[::]` dual-stack, falling back to
    /// `0.0.0.0` where IPv6 is unavailable.
    Any(u16),
    /// A Unix domain socket at an absolute path.
    Unix(PathBuf),
    /// Sockets passed by systemd socket activation (`LISTEN_FDS`, `LISTEN_FDNAMES`):
    /// `None` takes every passed socket that no endpoint claims by name; `Some(name)` the
    /// sockets whose `FileDescriptorName=` is `name`. TCP and Unix stream sockets, already
    /// listening (`Accept=no`). URLs: `http://systemd`, `http://systemd:NAME`.
    ///
    /// The sockets are taken once per process, by the first server started with such an
    /// endpoint (which then removes `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` from the
    /// environment and marks the sockets close-on-exec). Without sockets from systemd the
    /// endpoint is a startup error.
    Systemd(Option<String>),
}

/// URL scheme of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Scheme {
    /// Plain HTTP.
    #[default]
    Http,
    /// HTTP over TLS (feature `tls`).
    Https,
}

/// One endpoint: an address plus per-endpoint settings (Kestrel's `ListenOptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointOptions {
    /// The endpoint's name from the config file (`Kestrel:Endpoints:<name>`), if any.
    /// Default: `None`.
    pub name: Option<String>,
    /// Where to listen.
    pub address: ListenAddress,
    /// URL scheme. Default: `http`.
    pub scheme: Scheme,
    /// HTTP versions spoken. Default: `Http1AndHttp2` (HTTP/2 arrives in a later release;
    /// until then such endpoints speak HTTP/1.x).
    pub protocols: Protocols,
    /// Log every byte read and written on this endpoint's connections at debug level
    /// (Kestrel's UseConnectionLogging). Default: `false`.
    pub connection_logging: bool,
    /// Per-endpoint override of [`ServerOptions::allow_synchronous_io`]. Default: `None`.
    pub allow_synchronous_io: Option<bool>,
    /// Permission bits for a Unix socket file, e.g. `0o660`. Default: `None` (umask).
    pub unix_socket_mode: Option<u32>,
    /// HTTPS settings, used when [`scheme`](Self::scheme) is `https`. An `http` endpoint
    /// with any of them set is a startup error. Default: none set.
    #[cfg(feature = "tls")]
    pub https: crate::tls::HttpsOptions,
    /// Set `SO_REUSEPORT` on the endpoint's TCP sockets so that several processes can
    /// listen on one port; the kernel load-balances new connections between them. Every
    /// socket on the port must set it, and belong to the same user. No effect on Unix
    /// sockets and on sockets passed by systemd (the socket unit's `ReusePort=` decides).
    /// Default: `false`.
    pub reuse_port: bool,
}

impl EndpointOptions {
    /// An endpoint at `address` with every other setting at its default.
    pub fn new(address: ListenAddress) -> Self {
        EndpointOptions {
            name: None,
            address,
            scheme: Scheme::Http,
            protocols: Protocols::default(),
            connection_logging: false,
            allow_synchronous_io: None,
            unix_socket_mode: None,
            #[cfg(feature = "tls")]
            https: Default::default(),
            reuse_port: false,
        }
    }

    /// An HTTPS endpoint on one IP socket address serving `certificate`.
    #[cfg(feature = "tls")]
    pub fn https(addr: SocketAddr, certificate: crate::tls::Certificate) -> Self {
        let mut e = Self::ip(addr);
        e.scheme = Scheme::Https;
        e.https = crate::tls::HttpsOptions::with_certificate(certificate);
        e
    }

    /// An endpoint on one IP socket address (port 0 picks a free port).
    pub fn ip(addr: SocketAddr) -> Self {
        Self::new(ListenAddress::Ip(addr))
    }

    /// An endpoint on a Unix domain socket at an absolute path.
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        Self::new(ListenAddress::Unix(path.into()))
    }

    /// An endpoint on sockets passed by systemd socket activation: all those not claimed
    /// by a named endpoint (`None`), or those with `FileDescriptorName=name`.
    pub fn systemd(name: Option<&str>) -> Self {
        Self::new(ListenAddress::Systemd(name.map(String::from)))
    }

    /// Parses a URL such as `http://localhost:5000`, `http://*:80`, `http://[::1]:0`,
    /// `http://unix:/run/app.sock`, `http://systemd` or `http://systemd:NAME`.
    pub fn from_url(url: &str) -> Result<Self, crate::Error> {
        crate::config::urls::parse_url(url)
    }
}

/// Everything the server needs besides the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// Endpoints configured in code or in the config file. When non-empty they override
    /// [`urls`](Self::urls) (with a warning, as in Kestrel). Default: empty.
    pub endpoints: Vec<EndpointOptions>,
    /// URLs from `--urls` or `FALCONET_URLS`. With no endpoints and no URLs the server
    /// listens on `http://localhost:5000`. Default: empty.
    pub urls: Vec<String>,
    /// Connection and request limits. Default: Kestrel's.
    pub limits: Limits,
    /// Number of worker threads that run connections and handlers.
    /// Default: twice the available cores, at least 4.
    pub workers: usize,
    /// Number of event loops (`Falconet:EventLoops`): shards of the connection table, each
    /// with its own epoll set, lock and timers; a connection stays in one for life and each
    /// worker waits on one, so workers of different loops share no lock per request.
    /// `None`: one per core. At most [`workers`](Self::workers) are used (every loop needs
    /// a worker of its own), and at most 256. Default: `None` (one per core).
    pub event_loops: Option<usize>,
    /// Connections waiting for a worker. When full, accept threads wait (back-pressure: new
    /// connections queue in the kernel's listen backlog). Default: 1024.
    pub queue_capacity: usize,
    /// Stack size of each worker thread, in bytes. Default: 256 KiB.
    pub worker_stack_size: usize,
    /// Listen backlog of every socket. Default: 511 (nginx's).
    pub listen_backlog: u32,
    /// Let handlers stream request and response bodies with blocking `Read`/`Write`
    /// (Kestrel's AllowSynchronousIO). Default: `false`.
    pub allow_synchronous_io: bool,
    /// Add `Server: falconet` to responses (Kestrel's AddServerHeader). Default: `true`.
    pub add_server_header: bool,
    /// Let HTTP/2 responses use the HPACK dynamic table (Kestrel's
    /// AllowResponseHeaderCompression); sensitive values and `set-cookie` are never
    /// indexed either way. Default: `true`.
    pub allow_response_header_compression: bool,
    /// Host names accepted in `Host`; `*` wildcards allowed (`*.example.org`, `*`).
    /// Empty means any. A request whose host does not match gets 400.
    /// Default: empty (any host).
    pub allowed_hosts: Vec<String>,
    /// Accept a bare LF as the line ending of the request head. Default: `false`.
    pub allow_bare_lf: bool,
    /// How long an unread request body is drained after the response before the
    /// connection is closed instead. Default: 5 s.
    pub request_body_drain_timeout: Duration,
    /// How long [`crate::ServerHandle::shutdown`] waits by default for in-flight requests
    /// (used by the binary on SIGINT/SIGTERM). Default: 30 s (ASP.NET Core's ShutdownTimeout).
    pub shutdown_timeout: Duration,
    /// The status endpoint (counters as JSON or Prometheus text). Default: off.
    pub status: crate::status::StatusOptions,
    /// The certificate of HTTPS endpoints that have none of their own (the config file's
    /// `Kestrel:Certificates:Default`). Default: `None` (then the development certificate,
    /// if `falconet dev-certs` created one).
    #[cfg(feature = "tls")]
    pub default_certificate: Option<crate::tls::CertificateSource>,
    /// HTTPS settings every HTTPS endpoint inherits where it sets none (Kestrel's
    /// `ConfigureHttpsDefaults` and the config file's `EndpointDefaults`). Default: none set.
    #[cfg(feature = "tls")]
    pub https_defaults: crate::tls::HttpsOptions,
    /// Trusted-proxy `X-Forwarded-For` / `X-Forwarded-Proto` handling (ASP.NET Core's
    /// ForwardedHeadersOptions). Default: off (see [`ForwardedHeadersOptions`] for the
    /// defaults of each field).
    pub forwarded_headers: ForwardedHeadersOptions,
    /// Redirecting plain-HTTP requests to the HTTPS endpoint (ASP.NET Core's
    /// `UseHttpsRedirection`; `Falconet:HttpsRedirection`). Default: off in the library
    /// (the `falconet` binary turns it on).
    pub https_redirection: crate::HttpsRedirectionOptions,
    /// `Strict-Transport-Security` on HTTPS responses (ASP.NET Core's `UseHsts`;
    /// `Falconet:Hsts`). Default: off in the library (the `falconet` binary turns it on).
    pub hsts: crate::HstsOptions,
    /// The access log (`Falconet:AccessLog`): destination, format and queue size.
    /// Default: off.
    pub access_log: crate::AccessLogOptions,
    /// Compressing responses with gzip or brotli (ASP.NET Core's `UseResponseCompression`;
    /// `Falconet:ResponseCompression`). Needs the `compression` cargo feature, which is not
    /// a default feature. Default: off, in the library and the binary.
    pub response_compression: crate::ResponseCompressionOptions,
}

impl Default for ServerOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        ServerOptions {
            endpoints: Vec::new(),
            urls: Vec::new(),
            limits: Limits::default(),
            workers: (cores * 2).max(4),
            event_loops: None,
            queue_capacity: 1024,
            worker_stack_size: 256 * 1024,
            listen_backlog: 511,
            allow_synchronous_io: false,
            add_server_header: true,
            allow_response_header_compression: true,
            allowed_hosts: Vec::new(),
            allow_bare_lf: false,
            request_body_drain_timeout: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(30),
            status: Default::default(),
            #[cfg(feature = "tls")]
            default_certificate: None,
            #[cfg(feature = "tls")]
            https_defaults: Default::default(),
            forwarded_headers: ForwardedHeadersOptions::default(),
            https_redirection: crate::HttpsRedirectionOptions::default(),
            hsts: crate::HstsOptions::default(),
            access_log: crate::AccessLogOptions::default(),
            response_compression: crate::ResponseCompressionOptions::default(),
        }
    }
}

impl ServerOptions {
    /// Checks every option, returning a startup error that names what is wrong.
    pub fn validate(&self) -> Result<(), crate::Error> {
        self.limits.validate().map_err(crate::Error::config)?;
        if self.workers == 0 {
            return Err(crate::Error::config("Falconet.Workers must be at least 1"));
        }
        if self.event_loops.is_some_and(|n| n == 0 || n > 256) {
            return Err(crate::Error::config(
                "Falconet.EventLoops must be between 1 and 256",
            ));
        }
        if self.queue_capacity == 0 {
            return Err(crate::Error::config(
                "Falconet.QueueCapacity must be at least 1",
            ));
        }
        if self.worker_stack_size < 64 * 1024 {
            return Err(crate::Error::config(format!(
                "Falconet.WorkerStackSize must be at least 65536 bytes, got {}",
                self.worker_stack_size
            )));
        }
        self.forwarded_headers
            .validate()
            .map_err(crate::Error::config)?;
        self.https_redirection
            .validate()
            .map_err(crate::Error::config)?;
        self.access_log.validate().map_err(crate::Error::config)?;
        self.response_compression
            .validate()
            .map_err(crate::Error::config)?;
        if self.listen_backlog == 0 {
            return Err(crate::Error::config(
                "Falconet.ListenBacklog must be at least 1",
            ));
        }
        Ok(())
    }
}
