//! The falconet appliance binary: `falconet --urls URLS --config FILE... --root DIR`.

use std::process::ExitCode;

use falconet::config::{CommandLine, Configuration};
use falconet::http::header::CONTENT_TYPE;
use falconet::{
    Body, EndpointOptions, ListenAddress, Request, RequestExt, Response, Scheme, Server,
    ServerOptions,
};

const HELP: &str = "\
falconet — a small HTTP server for embedded Linux

USAGE:
    falconet [--urls URLS] [--config FILE]... [--root DIR] [--access-log stderr|PATH]
    falconet dev-certs [--check] [--clean] [--force] [--trust]

OPTIONS:
    --urls URLS      ';'-separated URLs to listen on, e.g.
                     'http://localhost:5000;http://unix:/run/falconet.sock'
                     (also FALCONET_URLS, ASPNETCORE_URLS, DOTNET_URLS; default
                     http://localhost:5000, or http://systemd when systemd passes
                     sockets);
                     'http://systemd' listens on every socket passed by systemd
                     socket activation, 'http://systemd:NAME' on those of
                     FileDescriptorName=NAME
    --config FILE    JSON configuration in ASP.NET Core's appsettings.json schema;
                     may be repeated, later files override earlier ones. Without it,
                     appsettings.json and appsettings.$ASPNETCORE_ENVIRONMENT.json
                     (default Production) are read from the working directory if
                     they exist. Environment variables override files with keys
                     written with '__' for ':' (Kestrel__Limits__MaxRequestBodySize,
                     optionally prefixed FALCONET_)
    --root DIR       serve the files under DIR (GET/HEAD, index.html for directories,
                     ETag/Last-Modified, ranges, precompressed .br/.gz siblings;
                     hidden files and symlinks leaving DIR are not served);
                     without it, a built-in page
    --cache-control VALUE
                     Cache-Control header for files served with --root
                     (default: none, clients revalidate with ETag/Last-Modified)
    --serve-hidden   also serve files and directories starting with '.'
    --access-log stderr|off|PATH
                     one line per request (Combined format; Falconet:AccessLog
                     sets Format Common/Combined/Json and QueueSize); default off.
                     SIGUSR1 reopens the file (logrotate)
    -h, --help       print this help
    -V, --version    print the version

HTTPS: give https:// URLs and certificates in the config file (Kestrel's schema:
Certificate Path/KeyPath/Password, Certificates:Default, Sni, SslProtocols,
ClientCertificateMode). `falconet dev-certs` creates a development certificate for
localhost; with it, the default URLs are http://localhost:5000;https://localhost:5001.
SIGHUP reloads certificates (they are also reloaded when their files change).

Logging goes to stderr at info level, or as the configuration's Logging:LogLevel
says (Default, Microsoft.AspNetCore, Microsoft.Hosting.Lifetime, Falconet);
RUST_LOG, when set, overrides both (e.g. RUST_LOG=debug).
SIGINT and SIGTERM shut down gracefully; SIGUSR1 reopens the access log.

Under systemd: started by a socket unit (LISTEN_FDS set for this process) with no
URLs or endpoints configured, falconet listens on the sockets systemd passed
(http://systemd). With Type=notify (NOTIFY_SOCKET set) it reports READY=1 once
listening and STOPPING=1 when shutting down.";

const PAGE: &str = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>falconet</title></head>\n<body><h1>falconet</h1><p>It works. This is falconet's built-in page.</p></body></html>\n";

/// Sets up logging to stderr: `RUST_LOG` when set, else `filter` (the configuration's
/// `Logging:LogLevel`), else info.
/// rustls' warnings about what a peer did go out at debug (a client's misbehaviour).
fn init_logging(filter: Option<&str>) {
    let logger = env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or(filter.unwrap_or("info")),
    )
    .build();
    log::set_max_level(logger.filter());
    let _ = log::set_boxed_logger(Box::new(PeerWarningsAtDebug(logger)));
}

fn main() -> ExitCode {
    #[cfg(feature = "dev-certs")]
    {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.first().map(String::as_str) == Some("dev-certs") {
            init_logging(None);
            let code = falconet::tls::devcert::run_dev_certs_command(&args[1..]);
            return ExitCode::from(code.clamp(0, 255) as u8);
        }
    }
    let cl = match CommandLine::parse(std::env::args().skip(1)) {
        Ok(cl) => cl,
        Err(e) => {
            eprintln!("falconet: {e}");
            return ExitCode::from(2);
        }
    };
    if cl.help {
        println!("{HELP}");
        return ExitCode::SUCCESS;
    }
    if cl.version {
        println!("falconet {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    // The configuration is read before logging starts: it may say how to log.
    let configuration = match cl.configuration() {
        Ok(mut c) => {
            init_logging(c.log_filter().as_deref());
            c.log_notes();
            c
        }
        Err(e) => {
            init_logging(None);
            log::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match &cl.root {
        Some(root) => serve_files(&cl, &configuration, root),
        None => options(&cl, &configuration)
            .and_then(|options| Server::new(options, builtin_page).run()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// The logger, with rustls' warnings demoted to debug. rustls logs at warn what a client
/// does wrong (a renegotiation attempt, a malformed extension, an unexpected message, an
/// alert it sends), which any client can trigger at will; a client's misbehaviour is
/// debug. rustls' errors (its own failures) stay errors.
struct PeerWarningsAtDebug(env_logger::Logger);

impl PeerWarningsAtDebug {
    fn level(level: log::Level, target: &str) -> log::Level {
        let rustls = target == "rustls" || target.starts_with("rustls::");
        if rustls && level == log::Level::Warn {
            log::Level::Debug
        } else {
            level
        }
    }
}

impl log::Log for PeerWarningsAtDebug {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        let level = Self::level(metadata.level(), metadata.target());
        self.0.enabled(
            &log::Metadata::builder()
                .level(level)
                .target(metadata.target())
                .build(),
        )
    }

    fn log(&self, record: &log::Record<'_>) {
        let level = Self::level(record.level(), record.target());
        if level == record.level() {
            return self.0.log(record);
        }
        self.0.log(
            &log::Record::builder()
                .args(*record.args())
                .level(level)
                .target(record.target())
                .module_path(record.module_path())
                .file(record.file())
                .line(record.line())
                .build(),
        );
    }

    fn flush(&self) {
        self.0.flush();
    }
}

#[cfg(feature = "static-files")]
fn serve_files(
    cl: &CommandLine,
    configuration: &Configuration,
    root: &std::path::Path,
) -> Result<(), falconet::Error> {
    let opts = falconet::StaticFilesOptions {
        cache_control: cl.cache_control.clone(),
        serve_hidden: cl.serve_hidden,
        ..Default::default()
    };
    let files = match falconet::StaticFiles::with_options(root, opts) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("falconet: --root '{}': {e}", root.display());
            std::process::exit(2);
        }
    };
    log::info!("serving files from {}", files.root().display());
    options(cl, configuration).and_then(|options| Server::new(options, files).run())
}

#[cfg(not(feature = "static-files"))]
fn serve_files(
    _cl: &CommandLine,
    _configuration: &Configuration,
    root: &std::path::Path,
) -> Result<(), falconet::Error> {
    eprintln!(
        "falconet: --root '{}': this build has no static file support (cargo feature static-files)",
        root.display()
    );
    std::process::exit(2);
}

/// The options from the command line, config files and environment; with none of them
/// naming an endpoint and sockets passed by systemd for this process, `http://systemd`.
fn options(
    cl: &CommandLine,
    configuration: &Configuration,
) -> Result<ServerOptions, falconet::Error> {
    let mut options = cl.options_from(configuration)?;
    let activated = std::env::var_os("LISTEN_FDS").is_some()
        && std::env::var("LISTEN_PID").is_ok_and(|p| p.trim() == std::process::id().to_string());
    if activated {
        if options.endpoints.is_empty() && options.urls.is_empty() {
            log::info!("Started by systemd socket activation: listening on the sockets it passed");
            options.urls = vec!["http://systemd".to_string()];
        } else {
            let systemd_endpoint =
                |e: &EndpointOptions| matches!(e.address, ListenAddress::Systemd(_));
            let uses = if options.endpoints.is_empty() {
                options
                    .urls
                    .iter()
                    .any(|u| EndpointOptions::from_url(u).is_ok_and(|e| systemd_endpoint(&e)))
            } else {
                options.endpoints.iter().any(systemd_endpoint)
            };
            if !uses {
                log::warn!(
                    "systemd passed sockets (LISTEN_FDS) but no configured endpoint uses them; \
                     add http://systemd to the URLs to listen on them"
                );
            }
        }
    }
    https_defaults(&mut options);
    Ok(options)
}

/// HTTPS redirection and HSTS are on in the binary when it serves both schemes (as
/// ASP.NET's templates enable both), unless the configuration turned them off.
fn https_defaults(options: &mut ServerOptions) {
    let serves = |scheme: Scheme| {
        if options.endpoints.is_empty() {
            let prefix = if scheme == Scheme::Https {
                "https:"
            } else {
                "http:"
            };
            options.urls.iter().any(|u| {
                u.trim()
                    .get(..prefix.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
            })
        } else {
            options.endpoints.iter().any(|e| e.scheme == scheme)
        }
    };
    if serves(Scheme::Https) && serves(Scheme::Http) {
        options.https_redirection.enabled.get_or_insert(true);
        options.hsts.enabled.get_or_insert(true);
    }
}

fn builtin_page(req: Request) -> Response {
    log::debug!(
        "{} {} from {}",
        req.method(),
        req.uri(),
        req.connection().remote_addr()
    );
    let mut resp = Response::new(Body::from(PAGE));
    resp.headers_mut()
        .insert(CONTENT_TYPE, "text/html; charset=utf-8".parse().unwrap());
    resp
}
