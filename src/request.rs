//! What a handler can learn about and do to its request and connection.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::limits::MinDataRate;
use crate::upgrade::{Upgrade, UpgradeError};

/// The address of one side of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// An IPv4 or IPv6 socket address.
    Ip(SocketAddr),
    /// A Unix domain socket (its path, when it has one).
    Unix(Option<PathBuf>),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ip(a) => write!(f, "{a}"),
            Address::Unix(Some(p)) => write!(f, "unix:{}", p.display()),
            Address::Unix(None) => f.write_str("unix:(unnamed)"),
        }
    }
}

#[derive(Debug)]
struct ConnInner {
    id: u64,
    local: Address,
    remote: Address,
    endpoint: Arc<str>,
    #[cfg(feature = "tls")]
    tls: OnceLock<crate::tls::TlsInfo>,
}

/// The connection a request arrived on: ids and addresses (Kestrel's `ConnectionInfo`).
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    inner: Arc<ConnInner>,
}

impl ConnectionInfo {
    pub(crate) fn new(id: u64, local: Address, remote: Address, endpoint: Arc<str>) -> Self {
        ConnectionInfo {
            inner: Arc::new(ConnInner {
                id,
                local,
                remote,
                endpoint,
                #[cfg(feature = "tls")]
                tls: OnceLock::new(),
            }),
        }
    }

    /// A number unique to this connection within the process.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The server's address of the connection.
    pub fn local_addr(&self) -> &Address {
        &self.inner.local
    }

    /// The client's address of the connection.
    pub fn remote_addr(&self) -> &Address {
        &self.inner.remote
    }

    /// The endpoint the connection was accepted on: its configured name, or its URL.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// What the TLS handshake negotiated (version, cipher suite, ALPN, server name, the
    /// client's certificates); `None` on a plain connection.
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Option<&crate::tls::TlsInfo> {
        self.inner.tls.get()
    }

    /// Whether the connection is HTTPS.
    pub fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        {
            self.inner.tls.get().is_some()
        }
        #[cfg(not(feature = "tls"))]
        {
            false
        }
    }

    #[cfg(feature = "tls")]
    pub(crate) fn set_tls(&self, info: crate::tls::TlsInfo) {
        let _ = self.inner.tls.set(info);
    }

    fn unknown() -> &'static ConnectionInfo {
        static UNKNOWN: OnceLock<ConnectionInfo> = OnceLock::new();
        UNKNOWN.get_or_init(|| {
            ConnectionInfo::new(0, Address::Unix(None), Address::Unix(None), Arc::from(""))
        })
    }
}

#[derive(Debug, Default)]
struct ControlInner {
    /// Generation of the request that called `abort` (0: none).
    aborted: AtomicU64,
    /// Generation and value of the last response-rate override.
    response_rate: Mutex<(u64, Option<MinDataRate>)>,
    /// The error code given to `reset` (HTTP/2 RST_STREAM).
    reset_code: std::sync::atomic::AtomicU32,
}

/// Per-request controls a handler can use while it runs. One allocation per connection:
/// each request sees it with its own generation, so a control kept past its request
/// does not affect the next one.
#[derive(Debug, Clone)]
pub struct RequestControl {
    inner: Arc<ControlInner>,
    generation: u64,
}

impl Default for RequestControl {
    fn default() -> Self {
        RequestControl {
            inner: Arc::default(),
            generation: 1,
        }
    }
}

impl RequestControl {
    /// The control of the next request on the same connection.
    pub(crate) fn next(&self) -> RequestControl {
        RequestControl {
            inner: self.inner.clone(),
            generation: self.generation + 1,
        }
    }

    /// Aborts the connection: no response is sent (or the one in progress is cut off)
    /// and the connection is closed (Kestrel's `HttpContext.Abort()`).
    pub fn abort(&self) {
        self.inner.aborted.store(self.generation, Ordering::Relaxed);
    }

    /// Resets the request's stream with an HTTP/2 error code (Kestrel's
    /// `IHttpResetFeature.Reset`), e.g. `0x8` (CANCEL) or `0x2` (INTERNAL_ERROR): no
    /// response is sent and the client sees RST_STREAM with that code. Other streams of
    /// the connection are not affected. On HTTP/1.x, where streams do not exist, it aborts
    /// the connection like [`abort`](Self::abort).
    pub fn reset(&self, error_code: u32) {
        self.inner.reset_code.store(error_code, Ordering::Relaxed);
        self.abort();
    }

    /// The error code given to [`reset`](Self::reset); `None` after a plain abort.
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    pub(crate) fn reset_code(&self) -> Option<u32> {
        if !self.is_aborted() {
            return None;
        }
        match self.inner.reset_code.load(Ordering::Relaxed) {
            0 => None,
            c => Some(c),
        }
    }

    /// Whether [`abort`](Self::abort) was called for this request.
    pub fn is_aborted(&self) -> bool {
        self.inner.aborted.load(Ordering::Relaxed) == self.generation
    }

    /// Overrides MinResponseDataRate for this request's response; `None` disables it.
    pub fn set_min_response_data_rate(&self, rate: Option<MinDataRate>) {
        if let Ok(mut r) = self.inner.response_rate.lock() {
            *r = (self.generation, rate);
        }
    }

    pub(crate) fn response_rate_override(&self) -> Option<Option<MinDataRate>> {
        let r = self.inner.response_rate.lock().ok()?;
        (r.0 == self.generation).then_some(r.1)
    }

    fn unknown() -> &'static RequestControl {
        static UNKNOWN: OnceLock<RequestControl> = OnceLock::new();
        UNKNOWN.get_or_init(RequestControl::default)
    }
}

/// What falconet puts in a request's extensions (one entry, one allocation).
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    pub(crate) info: ConnectionInfo,
    pub(crate) control: RequestControl,
}

/// Access to falconet's per-request information from an `http::Request`.
pub trait RequestExt {
    /// The connection the request arrived on. For a request not made by falconet (say, in
    /// a unit test of a handler) this is a placeholder with id 0.
    fn connection(&self) -> &ConnectionInfo;
    /// Controls for this request (abort, response data rate).
    fn control(&self) -> &RequestControl;
    /// Accepts an `Upgrade` request (e.g. WebSocket): reserves one of
    /// MaxConcurrentUpgradedConnections. Answer with status 101 and
    /// [`Upgrade::into_body`] as the body to receive the raw connection.
    fn upgrade(&self) -> Result<Upgrade, UpgradeError>;
    /// The client's address: the one a trusted proxy gave in `X-Forwarded-For` when
    /// [`ServerOptions::forwarded_headers`](crate::ServerOptions::forwarded_headers) applied
    /// it (port 0 when the proxy gave none), else the connection's
    /// [`remote_addr`](ConnectionInfo::remote_addr).
    fn client_addr(&self) -> &Address;
    /// The scheme the client used, lowercase: the one a trusted proxy gave in
    /// `X-Forwarded-Proto` when [`ServerOptions::forwarded_headers`](crate::ServerOptions::forwarded_headers)
    /// applied it, else the connection's (`"https"` over TLS, else `"http"`).
    fn scheme(&self) -> &str;
}

/// [`RequestExt::client_addr`] over a request's extensions.
fn client_addr_in(ext: &http::Extensions) -> &Address {
    match ext
        .get::<crate::forwarded::Forwarded>()
        .and_then(|f| f.client.as_ref())
    {
        Some(a) => a,
        None => ext
            .get::<RequestContext>()
            .map(|c| &c.info)
            .unwrap_or_else(|| ConnectionInfo::unknown())
            .remote_addr(),
    }
}

/// [`RequestExt::scheme`] over a request's extensions.
fn scheme_in(ext: &http::Extensions) -> &str {
    let own = match ext.get::<RequestContext>() {
        Some(c) if c.info.is_tls() => "https",
        _ => "http",
    };
    ext.get::<crate::forwarded::Forwarded>()
        .and_then(|f| f.scheme.as_deref())
        .unwrap_or(own)
}

impl<B> RequestExt for http::Request<B> {
    fn connection(&self) -> &ConnectionInfo {
        self.extensions()
            .get::<RequestContext>()
            .map(|c| &c.info)
            .unwrap_or_else(|| ConnectionInfo::unknown())
    }

    fn control(&self) -> &RequestControl {
        self.extensions()
            .get::<RequestContext>()
            .map(|c| &c.control)
            .unwrap_or_else(|| RequestControl::unknown())
    }

    fn upgrade(&self) -> Result<Upgrade, UpgradeError> {
        match self.extensions().get::<crate::upgrade::Upgradable>() {
            Some(u) => u.reserve(),
            None => Err(UpgradeError::NotAnUpgradeRequest),
        }
    }

    fn client_addr(&self) -> &Address {
        client_addr_in(self.extensions())
    }

    fn scheme(&self) -> &str {
        scheme_in(self.extensions())
    }
}

/// Per-request settings a handler may change in [`crate::Handler::prepare`], before the
/// server reads any of the body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestSettings {
    pub(crate) max_body_size: Option<u64>,
    pub(crate) body_rate: Option<MinDataRate>,
    pub(crate) response_rate: Option<MinDataRate>,
    pub(crate) synchronous_io: bool,
}

/// The request head, seen by [`crate::Handler::prepare`] before the body is read; the
/// place to change per-request limits and to opt into synchronous I/O.
pub struct Prepare<'a> {
    pub(crate) parts: &'a http::request::Parts,
    pub(crate) settings: &'a mut RequestSettings,
}

impl Prepare<'_> {
    /// The request method.
    pub fn method(&self) -> &http::Method {
        &self.parts.method
    }

    /// The request target.
    pub fn uri(&self) -> &http::Uri {
        &self.parts.uri
    }

    /// The request headers.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.parts.headers
    }

    /// The connection the request arrived on.
    pub fn connection(&self) -> &ConnectionInfo {
        self.parts
            .extensions
            .get::<RequestContext>()
            .map(|c| &c.info)
            .unwrap_or_else(|| ConnectionInfo::unknown())
    }

    /// The client's address, as [`RequestExt::client_addr`].
    pub fn client_addr(&self) -> &Address {
        client_addr_in(&self.parts.extensions)
    }

    /// The scheme the client used, as [`RequestExt::scheme`].
    pub fn scheme(&self) -> &str {
        scheme_in(&self.parts.extensions)
    }

    /// Overrides MaxRequestBodySize for this request; `None` for no limit.
    pub fn set_max_request_body_size(&mut self, max: Option<u64>) {
        self.settings.max_body_size = max;
    }

    /// Overrides MinRequestBodyDataRate for this request; `None` disables it.
    pub fn set_min_request_body_data_rate(&mut self, rate: Option<MinDataRate>) {
        self.settings.body_rate = rate;
    }

    /// Overrides MinResponseDataRate for this request; `None` disables it.
    pub fn set_min_response_data_rate(&mut self, rate: Option<MinDataRate>) {
        self.settings.response_rate = rate;
    }

    /// Opts this request into synchronous I/O (Kestrel's AllowSynchronousIO): the handler
    /// then receives the body unread, as a stream, and may answer with
    /// [`crate::Body::from_writer`].
    pub fn set_allow_synchronous_io(&mut self, allow: bool) {
        self.settings.synchronous_io = allow;
    }

    /// Whether synchronous I/O is allowed for this request.
    pub fn allow_synchronous_io(&self) -> bool {
        self.settings.synchronous_io
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forwarded::Forwarded;
    use std::borrow::Cow;

    #[test]
    fn client_addr_and_scheme_prefer_what_forwarding_applied() {
        let info = ConnectionInfo::new(
            7,
            Address::Unix(Some("/run/app.sock".into())),
            Address::Unix(None),
            Arc::from("e"),
        );
        let mut req = http::Request::new(());
        assert_eq!(req.client_addr(), &Address::Unix(None), "placeholder");
        assert_eq!(req.scheme(), "http");
        req.extensions_mut().insert(RequestContext {
            info,
            control: RequestControl::default(),
        });
        assert_eq!(req.client_addr(), &Address::Unix(None));
        req.extensions_mut().insert(Forwarded {
            client: None,
            scheme: Some(Cow::Borrowed("https")),
        });
        assert_eq!(req.client_addr(), &Address::Unix(None));
        assert_eq!(req.scheme(), "https");
        let client = Address::Ip("203.0.113.7:0".parse().unwrap());
        req.extensions_mut().insert(Forwarded {
            client: Some(client.clone()),
            scheme: None,
        });
        assert_eq!(req.client_addr(), &client);
        assert_eq!(req.scheme(), "http");
        assert_eq!(req.connection().remote_addr(), &Address::Unix(None));
    }
}
