//! Configuration from JSON files (Kestrel's appsettings schema), `--urls` and the
//! environment, producing the same [`ServerOptions`] as code does.
//!
//! - `load_file` / `apply_json` (feature `json-config`): an `appsettings.json`-style file
//!   (schema below);
//! - [`Configuration`]: the layers the `falconet` binary and the examples read, as ASP.NET
//!   Core does: the `--config` files (or `appsettings.json` and
//!   `appsettings.{Environment}.json` from the working directory), then configuration keys
//!   in environment variables (`Kestrel__Limits__MaxRequestBodySize`, `__` for `:`), then
//!   the URL variables; [`CommandLine`] adds `--urls` on top;
//! - [`urls_from_env`]: `FALCONET_URLS`, else `ASPNETCORE_URLS`, else `DOTNET_URLS`,
//!   `;`-separated as in ASP.NET;
//! - [`split_urls`]: splits a `--urls` value.
//!
//! Endpoints are resolved as in Kestrel: endpoints from code or the config file win over
//! URLs (with a warning), URLs win over the default `http://localhost:5000` (plus
//! `https://localhost:5001` when a development certificate exists).
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
//!     "Endpoints": {
//!       "Http": { "Url": "http://*:8080", "Protocols": "Http1" },
//!       "Https": {
//!         "Url": "https://*:8443",
//!         "Certificate": { "Path": "/etc/app/cert.pem", "KeyPath": "/etc/app/key.pem" },
//!         "SslProtocols": ["Tls12", "Tls13"]
//!       }
//!     },
//!     "Limits": {
//!       "MaxConcurrentConnections": null,
//!       "MaxRequestBodySize": 30000000,
//!       "KeepAliveTimeout": "00:02:10",
//!       "MinRequestBodyDataRate": { "BytesPerSecond": 240, "GracePeriod": "00:00:05" }
//!     }
//!   },
//!   "Falconet": { "Workers": 4, "QueueCapacity": 1024, "ShutdownTimeout": "00:00:30" },
//!   "Logging": { "LogLevel": { "Default": "Information", "Microsoft.AspNetCore": "Warning" } }
//! }
//! ```
//!
//! Sections and keys:
//!
//! - `AllowedHosts` → [`ServerOptions::allowed_hosts`] (`;`-separated; `*` anywhere means any
//!   host, as in ASP.NET's host filtering).
//! - `Urls` → [`ServerOptions::urls`] (`;`-separated; replaces earlier URLs).
//! - `Kestrel:AddServerHeader`, `Kestrel:AllowSynchronousIO`,
//!   `Kestrel:AllowResponseHeaderCompression` → the same-named options.
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
//!   port, the kernel load-balances; [`EndpointOptions::reuse_port`]).
//! - HTTPS keys of an `https://` endpoint (feature `tls`; on an `http://` endpoint they are
//!   an error, as in Kestrel): `Certificate` (`Path` + `KeyPath` for PEM, `Path` +
//!   `Password` for PKCS#12; certificate stores are refused), `Sni:<name>` (`Certificate`,
//!   `Protocols`, `SslProtocols`, `ClientCertificateMode`, `ClientCertificateCA`),
//!   `SslProtocols` (`Tls12`, `Tls13`; `Tls`, `Tls11`, `Ssl2`, `Ssl3` are dropped with one
//!   warning, an error only when nothing is left), `ClientCertificateMode`
//!   (`NoCertificate`, `AllowCertificate`, `RequireCertificate`; client certificates are
//!   validated against falconet's `ClientCertificateCA` PEM bundle when given, else against
//!   the system trust store, as in Kestrel) and falconet's `HandshakeTimeout`.
//! - `Kestrel:EndpointDefaults` → `Protocols` for the endpoints of the same document's
//!   `Kestrel:Endpoints` that do not set it (not endpoints from code or URLs), and
//!   `SslProtocols`, `ClientCertificateMode`, `ClientCertificateCA`, `HandshakeTimeout` for
//!   every HTTPS endpoint (`ServerOptions::https_defaults`).
//! - `Kestrel:Certificates:Default` → `ServerOptions::default_certificate`, the
//!   certificate of HTTPS endpoints without one; other named certificates → a warning.
//! - `Kestrel:AllowAlternateSchemes`, `DisableStringReuse`, `AllowHostHeaderOverride` → a
//!   warning (no effect in this build).
//! - `Falconet:Workers`, `EventLoops`, `QueueCapacity`, `WorkerStackSize`, `ListenBacklog`,
//!   `AllowBareLineFeed`, `RequestBodyDrainTimeout`, `ShutdownTimeout` → the options of the
//!   same names ([`ServerOptions::workers`], ..., [`ServerOptions::allow_bare_lf`], ...);
//!   `Falconet:Status` (`Path`, `Endpoint`) → [`ServerOptions::status`];
//!   `Falconet:ForwardedHeaders` → [`ServerOptions::forwarded_headers`] (ASP.NET's
//!   `ForwardedHeadersOptions`).
//! - `Logging:LogLevel` is not a server option: the `falconet` binary reads it
//!   ([`Configuration::log_filter`]) to set its log levels when `RUST_LOG` is not set.
//!
//! URLs (`http://localhost:5000`, `http://*:80`, `http://[::1]:0`, `http://unix:/run/app.sock`)
//! follow Kestrel: `localhost` binds 127.0.0.1 and ::1; `*`, `+` and host names bind every
//! interface (dual-stack `[::]`, falling back to `0.0.0.0`); IP literals bind that address,
//! `0.0.0.0` being IPv4 only and `[::]` IPv6 in dual mode; the port defaults to 80 (443 for
//! `https://`, feature `tls`), and the path must be empty or `/`. `http://systemd` and
//! `http://systemd:NAME` listen on sockets passed by systemd socket activation.
//!
//! Rules, following .NET configuration:
//!
//! - Keys are case-insensitive. The same key given twice with different casing in one object
//!   is an error (.NET would merge them; JSON object order is not kept, so we refuse to guess).
//! - `//` and `/* */` comments and trailing commas are accepted, as .NET's JSON provider does.
//! - Numbers and booleans may also be given as strings (`"8192"`, `"true"`), as .NET binds
//!   strings (and as environment variables give them). Whole numbers must be non-negative
//!   integers.
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
//!   (`Logging`, `ConnectionStrings`, `Jwt`, `Serilog`, ...) belong to the application and
//!   are ignored silently.
//! - An endpoint in `Kestrel:Endpoints` whose name matches (case-insensitively) an endpoint
//!   already in the options (from code or an earlier `load_file`) is updated in place.
//!   [`Configuration`] merges its files and variables into one document first, key by key,
//!   as .NET's configuration layers do.
//! - After applying, the options are checked with [`ServerOptions::validate`]; on any error
//!   the options are left unchanged.

mod args;
#[cfg(all(feature = "json-config", feature = "tls"))]
mod https_json;
#[cfg(feature = "json-config")]
pub(crate) mod json;
mod layers;
#[cfg(feature = "json-config")]
mod logging;
pub(crate) mod urls;

#[cfg(feature = "json-config")]
use std::path::Path;

pub use args::{options_from_args, CommandLine};
#[cfg(feature = "json-config")]
pub use json::apply_json;
/// For `crate::fuzzing` (fuzz builds only).
#[cfg(all(fuzzing, feature = "json-config"))]
pub(crate) use layers::merge;
pub use layers::{Configuration, ENVIRONMENT_VARIABLES, ENV_PREFIX, URL_VARIABLES};

use crate::options::{EndpointOptions, ListenAddress, ServerOptions};
use crate::Error;

/// falconet's URL variable, the strongest of [`URL_VARIABLES`] (read by [`urls_from_env`]).
pub const URLS_ENV: &str = "FALCONET_URLS";

/// The log target of the server's lifetime lines (`Now listening on`, shutdown, the
/// configuration read): ASP.NET Core's `Microsoft.Hosting.Lifetime`.
pub(crate) const LIFETIME_TARGET: &str = "falconet::server";

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

/// The URLs of the first of [`URL_VARIABLES`] that is set and not empty
/// (`FALCONET_URLS`, then ASP.NET Core's `ASPNETCORE_URLS` and `DOTNET_URLS`),
/// `;`-separated (as with [`split_urls`]). Empty when none is.
pub fn urls_from_env() -> Vec<String> {
    urls_from(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
}

/// [`urls_from_env`] with `var` looking up a variable.
pub(crate) fn urls_from(var: impl Fn(&str) -> Option<String>) -> Vec<String> {
    URL_VARIABLES
        .iter()
        .filter_map(|n| var(n))
        .map(|v| split_urls(&v))
        .find(|urls| !urls.is_empty())
        .unwrap_or_default()
}

/// Splits a `;`-separated list of URLs (`--urls`, the URL variables, the config file's `Urls`),
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
    fn urls_from_the_first_url_variable_set() {
        let vars = |set: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                set.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            urls_from(vars(&[("FALCONET_URLS", "http://localhost:1; http://*:2")])),
            vec!["http://localhost:1", "http://*:2"]
        );
        const ALL: [(&str, &str); 3] = [
            ("DOTNET_URLS", "http://d:3"),
            ("ASPNETCORE_URLS", "http://a:2"),
            ("FALCONET_URLS", "http://f:1"),
        ];
        assert_eq!(urls_from(vars(&ALL[..])), vec!["http://f:1"]);
        assert_eq!(urls_from(vars(&ALL[..2])), vec!["http://a:2"]);
        assert_eq!(urls_from(vars(&ALL[..1])), vec!["http://d:3"]);
        // An empty variable counts as unset.
        assert_eq!(
            urls_from(vars(&[
                ("FALCONET_URLS", " ; "),
                ("DOTNET_URLS", "http://d:3")
            ])),
            vec!["http://d:3"]
        );
        assert!(urls_from(vars(&[])).is_empty());
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
