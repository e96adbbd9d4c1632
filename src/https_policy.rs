//! HTTPS redirection and HSTS, with ASP.NET Core's `UseHttpsRedirection` and `UseHsts`
//! semantics: a plain-HTTP request is answered with a redirect to the same host, path and
//! query on the server's HTTPS port, and responses over HTTPS carry
//! `Strict-Transport-Security` unless the host is excluded (localhost by default).
//!
//! Both are off in the library by default ([`ServerOptions::https_redirection`] and
//! [`ServerOptions::hsts`], or `Falconet:HttpsRedirection` and `Falconet:Hsts` in the
//! configuration); the `falconet` binary turns both on unless the configuration says
//! otherwise, so that a server with an HTTPS endpoint sends its plain-HTTP clients there.
//!
//! The scheme is the one [`RequestExt::scheme`] gives: behind a trusted proxy that
//! terminated TLS (`X-Forwarded-Proto: https`, see
//! [`ServerOptions::forwarded_headers`]) a request counts as HTTPS.
//!
//! [`ServerOptions::https_redirection`]: crate::ServerOptions::https_redirection
//! [`ServerOptions::hsts`]: crate::ServerOptions::hsts
//! [`ServerOptions::forwarded_headers`]: crate::ServerOptions::forwarded_headers

use std::sync::OnceLock;
use std::time::Duration;

use http::header::{HOST, LOCATION, STRICT_TRANSPORT_SECURITY};
use http::{HeaderValue, StatusCode};

use crate::body::Body;
use crate::handler::Handler;
use crate::request::{Prepare, RequestExt};
use crate::{Request, Response};

/// Redirecting plain-HTTP requests to HTTPS (ASP.NET Core's `HttpsRedirectionOptions`;
/// configuration section `Falconet:HttpsRedirection`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsRedirectionOptions {
    /// Whether plain-HTTP requests are redirected (`Enabled`). `None` (the default) is off
    /// in the library; the `falconet` binary reads it as on.
    pub enabled: Option<bool>,
    /// The redirect's status (`RedirectStatusCode`): 307 (the default, which keeps the
    /// method and body), 308, 301 or 302.
    pub redirect_status_code: u16,
    /// The port redirected to (`HttpsPort`). `None` (the default): the port of the
    /// server's HTTPS endpoints when they all listen on one port; with none, or with
    /// several ports, requests are not redirected (a warning says why at start).
    pub https_port: Option<u16>,
}

impl Default for HttpsRedirectionOptions {
    fn default() -> Self {
        HttpsRedirectionOptions {
            enabled: None,
            redirect_status_code: 307,
            https_port: None,
        }
    }
}

/// `Strict-Transport-Security` on HTTPS responses (ASP.NET Core's `HstsOptions`;
/// configuration section `Falconet:Hsts`). Browsers ignore the header on a connection
/// whose certificate they did not accept and for IP-address hosts (RFC 6797 §8.1), so a
/// self-signed appliance is not locked out by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HstsOptions {
    /// Whether the header is sent (`Enabled`). `None` (the default) is off in the
    /// library; the `falconet` binary reads it as on.
    pub enabled: Option<bool>,
    /// `max-age` (`MaxAge`, a TimeSpan or seconds). Default: 30 days (ASP.NET's).
    pub max_age: Duration,
    /// Adds `includeSubDomains` (`IncludeSubDomains`). Default: `false`.
    pub include_subdomains: bool,
    /// Adds `preload` (`Preload`). Default: `false`.
    pub preload: bool,
    /// Hosts that never get the header, compared without port and case
    /// (`ExcludedHosts`). Default: `localhost`, `127.0.0.1` and `[::1]`, as ASP.NET.
    pub excluded_hosts: Vec<String>,
}

impl Default for HstsOptions {
    fn default() -> Self {
        HstsOptions {
            enabled: None,
            max_age: Duration::from_secs(30 * 24 * 3600),
            include_subdomains: false,
            preload: false,
            excluded_hosts: vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()],
        }
    }
}

impl HttpsRedirectionOptions {
    pub(crate) fn validate(&self) -> Result<(), String> {
        match self.redirect_status_code {
            301 | 302 | 307 | 308 => Ok(()),
            n => Err(format!(
                "Falconet.HttpsRedirection.RedirectStatusCode must be 301, 302, 307 or 308, got {n}"
            )),
        }
    }
}

/// The handler in front of the application's when either policy is on.
pub(crate) struct HttpsPolicy {
    pub(crate) inner: Box<dyn Handler>,
    /// The redirect's status, when redirection is on.
    redirect: Option<StatusCode>,
    /// The port redirected to, set once the endpoints are bound (`None`: no redirect).
    pub(crate) port: OnceLock<Option<u16>>,
    configured_port: Option<u16>,
    /// The header value and the excluded hosts, when HSTS is on.
    hsts: Option<(HeaderValue, Vec<String>)>,
}

impl HttpsPolicy {
    /// `inner` behind the policies the options turn on; `Err(inner)` when none is.
    pub(crate) fn wrap(
        inner: Box<dyn Handler>,
        redirection: &HttpsRedirectionOptions,
        hsts: &HstsOptions,
    ) -> Result<HttpsPolicy, Box<dyn Handler>> {
        let redirect = (redirection.enabled == Some(true))
            .then(|| StatusCode::from_u16(redirection.redirect_status_code).ok())
            .flatten();
        let hsts = (hsts.enabled == Some(true)).then(|| {
            let mut v = format!("max-age={}", hsts.max_age.as_secs());
            if hsts.include_subdomains {
                v.push_str("; includeSubDomains");
            }
            if hsts.preload {
                v.push_str("; preload");
            }
            let excluded = hsts
                .excluded_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect();
            // Digits and ASCII only: always a valid header value.
            (
                HeaderValue::try_from(v).unwrap_or(HeaderValue::from_static("max-age=0")),
                excluded,
            )
        });
        if redirect.is_none() && hsts.is_none() {
            return Err(inner);
        }
        Ok(HttpsPolicy {
            inner,
            redirect,
            port: OnceLock::new(),
            configured_port: redirection.https_port,
            hsts,
        })
    }

    /// Whether redirection is on (the server then tells it the HTTPS port).
    pub(crate) fn redirects(&self) -> bool {
        self.redirect.is_some()
    }

    /// Sets the port redirected to from the bound HTTPS endpoints' ports (the configured
    /// one wins); warns when there is none to pick.
    pub(crate) fn set_https_ports(&self, ports: Vec<u16>) {
        // (No sort: a few ports, and the binary's size counts.)
        let one = ports.first().filter(|&&p| ports.iter().all(|&q| q == p));
        let port = match (self.configured_port, one, ports.as_slice()) {
            (Some(p), _, _) => Some(p),
            (None, Some(&p), _) => Some(p),
            (None, None, []) => {
                log::warn!(
                    "HTTPS redirection is on but there is no HTTPS endpoint: plain-HTTP \
                     requests are served as they are (set Falconet:HttpsRedirection:HttpsPort \
                     when a proxy serves HTTPS)"
                );
                None
            }
            (None, None, _) => {
                log::warn!(
                    "HTTPS redirection: the HTTPS endpoints listen on several ports; set \
                     Falconet:HttpsRedirection:HttpsPort to redirect to one of them \
                     (plain-HTTP requests are served as they are)"
                );
                None
            }
        };
        let _ = self.port.set(port);
    }

    /// The redirect target for a plain-HTTP request, when one applies.
    fn location(&self, scheme: &str, uri: &http::Uri, host: Option<&str>) -> Option<HeaderValue> {
        self.redirect?;
        let port = (*self.port.get()?)?;
        if scheme == "https" {
            return None;
        }
        // Only the host the request named (AllowedHosts was checked before the handler).
        let host = host.map(str::trim).filter(|h| !h.is_empty())?;
        let name = crate::host::strip_port(host);
        let mut target = String::with_capacity(name.len() + 32);
        target.push_str("https://");
        target.push_str(name);
        if port != 443 {
            target.push(':');
            target.push_str(&port.to_string());
        }
        target.push_str(uri.path_and_query().map_or("/", |p| p.as_str()));
        HeaderValue::try_from(target).ok()
    }

    fn hsts_for(&self, scheme: &str, host: Option<&str>) -> Option<&HeaderValue> {
        let (value, excluded) = self.hsts.as_ref()?;
        if scheme != "https" {
            return None;
        }
        let name = crate::host::strip_port(host.unwrap_or("").trim()).to_ascii_lowercase();
        (!excluded.contains(&name)).then_some(value)
    }
}

/// The request's host: `Host` (HTTP/2's `:authority` is copied there), else the target's
/// authority.
fn host_of<'a>(uri: &'a http::Uri, headers: &'a http::HeaderMap) -> Option<&'a str> {
    headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
}

impl Handler for HttpsPolicy {
    fn prepare(&self, p: &mut Prepare<'_>) {
        // A request that is redirected never reaches the application.
        if self
            .location(p.scheme(), p.uri(), host_of(p.uri(), p.headers()))
            .is_none()
        {
            self.inner.prepare(p);
        }
    }

    fn handle(&self, req: Request) -> Response {
        // Both decisions before the request moves into the handler: no copies of its
        // scheme or host per request.
        let scheme = req.scheme();
        let host = host_of(req.uri(), req.headers());
        if let Some(location) = self.location(scheme, req.uri(), host) {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = self.redirect.unwrap_or(StatusCode::TEMPORARY_REDIRECT);
            r.headers_mut().insert(LOCATION, location);
            return r;
        }
        let hsts = self.hsts_for(scheme, host).cloned();
        let mut resp = self.inner.handle(req);
        if let Some(v) = hsts {
            resp.headers_mut().insert(STRICT_TRANSPORT_SECURITY, v);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(redirect: bool, hsts: HstsOptions) -> HttpsPolicy {
        let redirection = HttpsRedirectionOptions {
            enabled: Some(redirect),
            ..Default::default()
        };
        let inner: Box<dyn Handler> = Box::new(|_req: Request| Response::new(Body::from("app")));
        match HttpsPolicy::wrap(inner, &redirection, &hsts) {
            Ok(p) => p,
            Err(_) => panic!("no policy is on"),
        }
    }

    #[test]
    fn nothing_on_leaves_the_handler_alone() {
        let inner: Box<dyn Handler> = Box::new(|_req: Request| Response::new(Body::empty()));
        assert!(HttpsPolicy::wrap(
            inner,
            &HttpsRedirectionOptions::default(),
            &HstsOptions::default()
        )
        .is_err());
    }

    #[test]
    fn redirect_targets() {
        let p = policy(true, HstsOptions::default());
        let uri: http::Uri = "/a/b?x=1&y=%20".parse().unwrap();
        // No port known yet (or none found): no redirect.
        assert_eq!(p.location("http", &uri, Some("example.org")), None);
        p.set_https_ports(vec![8443, 8443]);
        let loc = |scheme, host| {
            p.location(scheme, &uri, host)
                .map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(
            loc("http", Some("example.org:8080")).as_deref(),
            Some("https://example.org:8443/a/b?x=1&y=%20")
        );
        assert_eq!(
            loc("http", Some("[::1]:80")).as_deref(),
            Some("https://[::1]:8443/a/b?x=1&y=%20")
        );
        assert_eq!(loc("https", Some("example.org")), None, "already HTTPS");
        assert_eq!(loc("http", None), None, "no host named: no redirect");
        assert_eq!(loc("http", Some("")), None);
        let p443 = policy(true, HstsOptions::default());
        p443.set_https_ports(vec![443]);
        assert_eq!(
            p443.location("http", &"/".parse().unwrap(), Some("a.example"))
                .unwrap(),
            "https://a.example/"
        );
    }

    #[test]
    fn several_https_ports_and_no_port_mean_no_redirect_unless_configured() {
        let p = policy(true, HstsOptions::default());
        p.set_https_ports(vec![8443, 9443]);
        assert_eq!(p.port.get(), Some(&None));
        let p = policy(true, HstsOptions::default());
        p.set_https_ports(vec![]);
        assert_eq!(p.port.get(), Some(&None));
        let mut p = policy(true, HstsOptions::default());
        p.configured_port = Some(4443);
        p.set_https_ports(vec![8443, 9443]);
        assert_eq!(p.port.get(), Some(&Some(4443)));
    }

    #[test]
    fn hsts_header_value_and_exclusions() {
        let h = HstsOptions {
            enabled: Some(true),
            max_age: Duration::from_secs(600),
            include_subdomains: true,
            preload: true,
            ..Default::default()
        };
        let p = policy(false, h);
        let v = |scheme, host| {
            p.hsts_for(scheme, host)
                .map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(
            v("https", Some("Example.org:443")).as_deref(),
            Some("max-age=600; includeSubDomains; preload")
        );
        assert_eq!(v("http", Some("example.org")), None, "never over HTTP");
        for excluded in ["localhost", "LOCALHOST:8443", "127.0.0.1:1", "[::1]:8443"] {
            assert_eq!(v("https", Some(excluded)), None, "{excluded}");
        }
        let p = policy(
            false,
            HstsOptions {
                enabled: Some(true),
                ..Default::default()
            },
        );
        assert_eq!(
            p.hsts_for("https", Some("a.example")).unwrap(),
            "max-age=2592000"
        );
    }

    #[test]
    fn status_code_is_checked() {
        for ok in [301, 302, 307, 308] {
            let o = HttpsRedirectionOptions {
                redirect_status_code: ok,
                ..Default::default()
            };
            assert!(o.validate().is_ok());
        }
        let o = HttpsRedirectionOptions {
            redirect_status_code: 303,
            ..Default::default()
        };
        assert!(o.validate().unwrap_err().contains("303"));
    }
}
