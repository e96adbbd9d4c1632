//! Configuration from a JSON file (Kestrel's appsettings schema), `--urls` and the
//! environment, producing the same [`ServerOptions`] as code does.
//!
//! - [`load_file`] / [`apply_json`]: an `appsettings.json`-style file (schema below);
//! - [`urls_from_env`]: `FALCONET_URLS`, `;`-separated like ASP.NET's `ASPNETCORE_URLS`;
//! - [`split_urls`]: splits a `--urls` value.
//!
//! Endpoints are resolved as in Kestrel: endpoints from code or the config file win over
//! URLs (with a warning), URLs win over the default `http://localhost:5000`.
//!
//! # The JSON file
//!
//! Kestrel's `appsettings.json` schema, so an existing ASP.NET Core `appsettings.json`
//! works unchanged:
//!
//! ```json
//! {
//!   "AllowedHosts": "example.org;*.example.org",
//!   "Urls": "http://localhost:5000;http://unix:/run/app.sock",
//!   "Kestrel": {
//!     "AddServerHeader": true,
//!     "AllowSynchronousIO": false,
//!     "EndpointDefaults": { "Protocols": "Http1AndHttp2" },
//!     "Endpoints": { "Http": { "Url": "http://*:8080", "Protocols": "Http1" } },
//!     "Limits": {
//!       "MaxConcurrentConnections": null,
//!       "MaxRequestBodySize": 30000000,
//!       "KeepAliveTimeout": "00:02:10",
//!       "MinRequestBodyDataRate": { "BytesPerSecond": 240, "GracePeriod": "00:00:05" }
//!     }
//!   },
//!   "Falconet": { "Workers": 4, "QueueCapacity": 1024, "ShutdownTimeout": "00:00:30" },
//!   "Logging": { "LogLevel": { "Default": "Information" } }
//! }
//! ```
//!
//! Sections and keys:
//!
//! - `AllowedHosts` → [`ServerOptions::allowed_hosts`] (`;`-separated; `*` anywhere means any
//!   host, as in ASP.NET's host filtering).
//! - `Urls` → [`ServerOptions::urls`] (`;`-separated; replaces earlier URLs).
//! - `Kestrel:AddServerHeader`, `Kestrel:AllowSynchronousIO` → the same-named options.
//! - `Kestrel:Limits:*` → [`Limits`](crate::Limits), one key per `KestrelServerLimits`
//!   property; `MinRequestBodyDataRate` / `MinResponseDataRate` are objects with
//!   `BytesPerSecond` and `GracePeriod` (fields not given keep their value).
//!   `Limits:Http2:*` → [`Http2Limits`](crate::Http2Limits) (Kestrel's `Http2Limits`;
//!   `KeepAlivePingDelay: null` turns the keep-alive PING off); `Limits:Http3:*` is
//!   accepted with a warning (no effect).
//! - `Kestrel:Endpoints:<name>` → one [`EndpointOptions`] named `<name>`: `Url` (required,
//!   same rules as `--urls`), `Protocols` (`Http1`, `Http2`, `Http1AndHttp2`;
//!   `Http1AndHttp2AndHttp3` is read as `Http1AndHttp2` with a warning, `Http3` alone is an
//!   error), and falconet's `ConnectionLogging`, `AllowSynchronousIO`, `UnixSocketMode`
//!   (octal digits, `"0660"`) and `ReusePort` (`SO_REUSEPORT`: several processes on one
//!   port, the kernel load-balances; [`EndpointOptions::reuse_port`]). `Certificate` on an `http` endpoint is an error, as in Kestrel;
//!   `Sni`, `SslProtocols` and `ClientCertificateMode` are ignored with a warning until HTTPS
//!   support lands.
//! - `Kestrel:EndpointDefaults:Protocols` → endpoints of the same file's `Kestrel:Endpoints`
//!   that do not set `Protocols` (in this build not endpoints from code or URLs).
//! - `Kestrel:Certificates`, `AllowAlternateSchemes`, `DisableStringReuse`,
//!   `AllowResponseHeaderCompression`, `AllowHostHeaderOverride` → a warning (no effect yet).
//! - `Falconet:Workers`, `EventLoops`, `QueueCapacity`, `WorkerStackSize`, `ListenBacklog`,
//!   `AllowBareLineFeed`, `RequestBodyDrainTimeout`, `ShutdownTimeout` → the options of the
//!   same names ([`ServerOptions::workers`], ..., [`ServerOptions::allow_bare_lf`], ...).
//!
//! URLs (`http://localhost:5000`, `http://*:80`, `http://[::1]:0`, `http://unix:/run/app.sock`)
//! follow Kestrel: `localhost` binds 127.0.0.1 and ::1, `*`, `+`, `0.0.0.0` and host names
//! bind all interfaces, IP literals bind that address, the port defaults to 80, and the path
//! must be empty or `/`. `https://` is refused until TLS support lands. `http://systemd` and
//! `http://systemd:NAME` listen on sockets passed by systemd socket activation.
//!
//! Rules, following .NET configuration:
//!
//! - Keys are case-insensitive. The same key given twice with different casing in one object
//!   is an error (.NET would merge them; JSON object order is not kept, so we refuse to guess).
//! - `//` and `/* */` comments and trailing commas are accepted, as .NET's JSON provider does.
//! - Numbers and booleans may also be given as strings (`"8192"`, `"true"`), as .NET binds
//!   strings. Whole numbers must be non-negative integers.
//! - Time spans use .NET's `[d.]hh:mm[:ss[.fffffff]]` form (`"00:00:30"`, `"1.00:00:00"`,
//!   `"00:00:00.5"`); a JSON number is taken as seconds (a falconet extension; may be
//!   fractional). A string holding a bare integer is refused because .NET reads `"30"` as
//!   30 days.
//! - `null` (or `""`) for a nullable limit (`MaxConcurrentConnections`,
//!   `MaxConcurrentUpgradedConnections`, `MaxRequestBodySize`, `MaxRequestBufferSize`,
//!   `MaxResponseBufferSize`, `MinRequestBodyDataRate`, `MinResponseDataRate`) means no limit;
//!   for any other setting it leaves the current value unchanged, as .NET's binder does.
//! - Unknown keys inside `Kestrel`, `Kestrel:Limits`, `Kestrel:Endpoints:<name>`,
//!   `Kestrel:EndpointDefaults` and `Falconet` produce a warning; other top-level sections
//!   (`Logging`, `ConnectionStrings`, ...) are ignored silently.
//! - An endpoint in `Kestrel:Endpoints` whose name matches (case-insensitively) an endpoint
//!   already in the options (from code or an earlier file) is updated in place, so files can
//!   be layered like `appsettings.json` and `appsettings.Production.json`.
//! - After applying, the options are checked with [`ServerOptions::validate`]; on any error
//!   the options are left unchanged.

mod args;
#[cfg(all(feature = "json-config", feature = "tls"))]
mod https_json;
#[cfg(feature = "json-config")]
pub(crate) mod json;
pub(crate) mod urls;

#[cfg(feature = "json-config")]
use std::path::Path;

pub use args::{options_from_args, CommandLine};
#[cfg(feature = "json-config")]
pub use json::apply_json;

use crate::options::{EndpointOptions, ListenAddress, ServerOptions};
use crate::Error;

/// The environment variable read by [`urls_from_env`].
pub const URLS_ENV: &str = "FALCONET_URLS";

/// The address used when neither endpoints nor URLs are configured (Kestrel's default).
pub const DEFAULT_URL: &str = "http://localhost:5000";

/// Reads a JSON configuration file (Kestrel's `appsettings.json` schema) and applies it on
/// top of `options` with [`apply_json`]; returns the warnings for the caller to log.
///
/// A file that cannot be read is an I/O error naming the path; invalid content is a
/// configuration error whose message starts with the path. On error `options` is unchanged.
/// A leading UTF-8 byte order mark is skipped.
///
/// # Errors
///
/// [`Error::is_io`] if the file cannot be read; [`Error::is_config`] for anything
/// [`apply_json`] rejects.
#[cfg(feature = "json-config")]
pub fn load_file(options: &mut ServerOptions, path: &Path) -> Result<Vec<String>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::io(
            format!("Cannot read configuration file '{}': {e}", path.display()),
            e,
        )
    })?;
    // A UTF-8 byte order mark, as Windows editors write, is not JSON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    apply_json(options, text).map_err(|e| Error::config(format!("{}: {e}", path.display())))
}

/// The URLs in the `FALCONET_URLS` environment variable, `;`-separated (as with
/// [`split_urls`]). Empty when the variable is unset.
pub fn urls_from_env() -> Vec<String> {
    match std::env::var_os(URLS_ENV) {
        Some(value) => split_urls(&value.to_string_lossy()),
        None => Vec::new(),
    }
}

/// Splits a `;`-separated list of URLs (`--urls`, `FALCONET_URLS`, the config file's `Urls`),
/// trimming each and dropping empty entries.
pub fn split_urls(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(String::from)
        .collect()
}

/// The endpoints to bind, plus warnings for the caller to log:
///
/// - endpoints from code or the config file, if any; when URLs are also given they are
///   ignored with Kestrel's "Overriding address(es)" warning;
/// - otherwise each of [`ServerOptions::urls`] parsed;
/// - otherwise `http://localhost:5000`.
///
/// Unix socket paths of code-configured endpoints must be absolute.
pub(crate) fn resolve_endpoints(
    options: &ServerOptions,
) -> Result<(Vec<EndpointOptions>, Vec<String>), Error> {
    let mut warnings = Vec::new();
    let endpoints = if !options.endpoints.is_empty() {
        if !options.urls.is_empty() {
            warnings.push(format!(
                "Overriding address(es) '{}'. Binding to endpoints defined via configuration \
                 or code instead.",
                options.urls.join(";")
            ));
        }
        for e in &options.endpoints {
            if let ListenAddress::Unix(path) = &e.address {
                if !path.is_absolute() {
                    let name = e
                        .name
                        .as_deref()
                        .map(|n| format!(" '{n}'"))
                        .unwrap_or_default();
                    return Err(Error::config(format!(
                        "Endpoint{name}: Unix socket path must be absolute, got '{}'",
                        path.display()
                    )));
                }
            }
        }
        options.endpoints.clone()
    } else if !options.urls.is_empty() {
        options
            .urls
            .iter()
            .map(|u| urls::parse_url(u))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        #[cfg(feature = "dev-certs")]
        let dev = crate::tls::devcert::dev_certificate().is_some();
        #[cfg(not(feature = "dev-certs"))]
        let dev = false;
        default_endpoints(dev)
    };
    Ok((endpoints, warnings))
}

/// Kestrel's defaults: `http://localhost:5000`, plus `https://localhost:5001` when a
/// development certificate exists.
fn default_endpoints(dev_certificate: bool) -> Vec<EndpointOptions> {
    let mut defaults = vec![EndpointOptions::new(ListenAddress::Localhost(5000))];
    if dev_certificate {
        let mut https = EndpointOptions::new(ListenAddress::Localhost(5001));
        https.scheme = crate::options::Scheme::Https;
        defaults.push(https);
    }
    defaults
}

#[cfg(test)]
mod tests {
    #[test]
    fn with_a_development_certificate_https_5001_is_added() {
        let d = super::default_endpoints(true);
        assert_eq!(d.len(), 2);
        assert_eq!(d[1].address, super::ListenAddress::Localhost(5001));
        assert_eq!(d[1].scheme, crate::options::Scheme::Https);
        assert_eq!(super::default_endpoints(false).len(), 1);
    }

    use super::*;
    #[cfg(feature = "json-config")]
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn split_urls_trims_and_drops_empty() {
        assert_eq!(
            split_urls(" http://a:1 ;;http://b:2; "),
            vec!["http://a:1", "http://b:2"]
        );
        assert!(split_urls("").is_empty());
        assert!(split_urls(" ; ").is_empty());
    }

    #[test]
    fn urls_from_env_reads_the_variable() {
        // The only test touching FALCONET_URLS, so no other test races with it.
        std::env::set_var(URLS_ENV, "http://localhost:1; http://*:2");
        assert_eq!(urls_from_env(), vec!["http://localhost:1", "http://*:2"]);
        std::env::remove_var(URLS_ENV);
        assert!(urls_from_env().is_empty());
    }

    #[test]
    fn default_endpoint_is_localhost_5000() {
        let (eps, w) = resolve_endpoints(&ServerOptions::default()).unwrap();
        assert!(w.is_empty());
        assert_eq!(
            eps,
            vec![EndpointOptions::new(ListenAddress::Localhost(5000))]
        );
        assert_eq!(urls::parse_url(DEFAULT_URL).unwrap(), eps[0]);
    }

    #[test]
    fn urls_are_parsed() {
        let o = ServerOptions {
            urls: vec!["http://*:80".into(), "http://unix:/a.sock".into()],
            ..ServerOptions::default()
        };
        let (eps, w) = resolve_endpoints(&o).unwrap();
        assert!(w.is_empty());
        assert_eq!(eps[0].address, ListenAddress::Any(80));
        assert_eq!(eps[1].address, ListenAddress::Unix("/a.sock".into()));
        let o = ServerOptions {
            urls: vec!["http://*:80".into(), "nope".into()],
            ..ServerOptions::default()
        };
        assert!(resolve_endpoints(&o)
            .unwrap_err()
            .to_string()
            .contains("Invalid url: 'nope'"));
    }

    #[test]
    fn endpoints_override_urls_with_a_warning() {
        let ep = EndpointOptions::ip("127.0.0.1:0".parse().unwrap());
        let o = ServerOptions {
            endpoints: vec![ep.clone()],
            urls: vec!["http://*:80".into(), "http://*:81".into()],
            ..ServerOptions::default()
        };
        let (eps, w) = resolve_endpoints(&o).unwrap();
        assert_eq!(eps, vec![ep.clone()]);
        assert_eq!(
            w,
            vec![
                "Overriding address(es) 'http://*:80;http://*:81'. Binding to endpoints \
                 defined via configuration or code instead."
                    .to_string()
            ]
        );
        let o = ServerOptions {
            endpoints: vec![ep.clone()],
            ..ServerOptions::default()
        };
        let (eps, w) = resolve_endpoints(&o).unwrap();
        assert_eq!(eps, vec![ep]);
        assert!(w.is_empty());
    }

    #[test]
    fn relative_unix_path_from_code_is_refused() {
        let mut ep = EndpointOptions::unix("rel.sock");
        ep.name = Some("Sock".into());
        let o = ServerOptions {
            endpoints: vec![ep],
            ..ServerOptions::default()
        };
        let e = resolve_endpoints(&o).unwrap_err();
        assert!(e.is_config());
        assert!(e.to_string().contains("'Sock'"), "{e}");
        assert!(e.to_string().contains("must be absolute"), "{e}");
    }

    #[cfg(feature = "json-config")]
    fn temp_path(tag: &str) -> std::path::PathBuf {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        std::env::temp_dir().join(format!(
            "falconet-config-{tag}-{}-{nanos}.json",
            std::process::id()
        ))
    }

    #[cfg(feature = "json-config")]
    #[test]
    fn load_file_applies_and_names_the_path() {
        let path = temp_path("ok");
        std::fs::write(
            &path,
            "\u{feff}{\"Kestrel\":{\"Limits\":{\"MaxRequestHeaderCount\":9}},\"Foo\":1,\
             \"Falconet\":{\"Bar\":1}}",
        )
        .unwrap();
        let mut o = ServerOptions::default();
        let w = load_file(&mut o, &path).unwrap();
        assert_eq!(o.limits.max_request_header_count, 9);
        assert_eq!(w, vec!["Unknown configuration key 'Falconet:Bar' ignored"]);

        std::fs::write(
            &path,
            "{\"Kestrel\": {\"Limits\": {\"KeepAliveTimeout\": \"x\"}}}",
        )
        .unwrap();
        let e = load_file(&mut o, &path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(e.is_config());
        assert!(
            e.to_string().starts_with(&path.display().to_string()),
            "{e}"
        );
        assert!(
            e.to_string().contains("Kestrel:Limits:KeepAliveTimeout"),
            "{e}"
        );
        assert_eq!(o.limits.max_request_header_count, 9);
    }

    #[cfg(feature = "json-config")]
    #[test]
    fn load_file_missing_is_io_error() {
        let path = temp_path("missing");
        let e = load_file(&mut ServerOptions::default(), &path).unwrap_err();
        assert!(e.is_io());
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        assert!(std::error::Error::source(&e).is_some());
    }
}
