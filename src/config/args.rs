//! The command line shared by the binary and the examples: `--urls`, `--config` (any
//! number of times) and `--root`.

use std::path::PathBuf;

use super::Configuration;
use crate::options::ServerOptions;
use crate::Error;

/// Parsed command-line arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// `--urls URLS` (`;`-separated).
    pub urls: Option<String>,
    /// `--config FILE`, in order; may be given several times (later files override
    /// earlier ones). Empty: `appsettings.json` and `appsettings.{Environment}.json` from
    /// the working directory, if they exist (see [`Configuration`]).
    pub config: Vec<PathBuf>,
    /// `--root DIR`: the directory the appliance binary serves with
    /// `StaticFiles` (feature `static-files`; without `--root`, its built-in page).
    pub root: Option<PathBuf>,
    /// `--cache-control VALUE`: the `Cache-Control` header of files served with `--root`.
    pub cache_control: Option<String>,
    /// `--serve-hidden`: also serve files and directories whose names start with `.`.
    pub serve_hidden: bool,
    /// `--access-log stderr|off|PATH`: the access log's destination (overrides
    /// `Falconet:AccessLog:Destination` and `Path`).
    pub access_log: Option<String>,
    /// `--help` / `-h`.
    pub help: bool,
    /// `--version` / `-V`.
    pub version: bool,
}

impl CommandLine {
    /// Parses arguments (without the program name). Accepts `--opt value` and
    /// `--opt=value`; an unknown argument is an error naming it.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, Error> {
        let mut out = CommandLine::default();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let (key, inline) = match arg.split_once('=') {
                Some((k, v)) if k.starts_with("--") => (k.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| -> Result<String, Error> {
                match inline.clone().or_else(|| it.next()) {
                    Some(v) => Ok(v),
                    None => Err(Error::config(format!("{name} needs a value"))),
                }
            };
            match key.as_str() {
                "--urls" => out.urls = Some(value("--urls")?),
                "--config" => out.config.push(PathBuf::from(value("--config")?)),
                "--root" => out.root = Some(PathBuf::from(value("--root")?)),
                "--cache-control" => out.cache_control = Some(value("--cache-control")?),
                "--serve-hidden" => out.serve_hidden = true,
                "--access-log" => out.access_log = Some(value("--access-log")?),
                "-h" | "--help" => out.help = true,
                "-V" | "--version" => out.version = true,
                other => {
                    return Err(Error::config(format!(
                        "unknown argument '{other}' (try --help)"
                    )))
                }
            }
        }
        Ok(out)
    }

    /// Reads the configuration files and environment variables ([`Configuration::read`]):
    /// the `--config` files, or the default files of the working directory.
    ///
    /// # Errors
    ///
    /// As [`Configuration::read`].
    pub fn configuration(&self) -> Result<Configuration, Error> {
        Configuration::read(&self.config)
    }

    /// Builds the options from `configuration` (read with
    /// [`configuration`](Self::configuration)): defaults, then the files and the
    /// configuration keys in environment variables, then the URL variables
    /// (`FALCONET_URLS`, else `ASPNETCORE_URLS`, else `DOTNET_URLS`), then `--urls`; later
    /// sources win, as in ASP.NET Core. Configuration warnings are logged.
    ///
    /// # Errors
    ///
    /// As [`Configuration::apply`].
    pub fn options_from(&self, configuration: &Configuration) -> Result<ServerOptions, Error> {
        let mut options = ServerOptions::default();
        for w in configuration.apply(&mut options)? {
            log::warn!("{w}");
        }
        if !configuration.env_urls().is_empty() {
            options.urls = configuration.env_urls().to_vec();
        }
        if let Some(urls) = &self.urls {
            options.urls = super::split_urls(urls);
        }
        if let Some(dest) = &self.access_log {
            options.access_log.destination = match dest.trim() {
                "" => {
                    return Err(Error::config(
                        "--access-log needs stderr, off or a file path",
                    ))
                }
                d if d.eq_ignore_ascii_case("stderr") => crate::AccessLogDestination::Stderr,
                d if d.eq_ignore_ascii_case("off") => crate::AccessLogDestination::Off,
                d => crate::AccessLogDestination::File(PathBuf::from(d)),
            };
        }
        Ok(options)
    }

    /// Reads the configuration, logs what was found ([`Configuration::log_notes`]) and
    /// builds the options ([`options_from`](Self::options_from)).
    ///
    /// # Errors
    ///
    /// As [`Configuration::read`] and [`Configuration::apply`].
    pub fn options(&self) -> Result<ServerOptions, Error> {
        let mut configuration = self.configuration()?;
        let _ = configuration.log_filter();
        configuration.log_notes();
        self.options_from(&configuration)
    }
}

/// Parses `--urls` and `--config` from `args` and builds the options (see
/// [`CommandLine::options`]). `--help` and `--version` are refused here: programs that
/// offer them use [`CommandLine`] directly.
pub fn options_from_args(args: impl IntoIterator<Item = String>) -> Result<ServerOptions, Error> {
    let cl = CommandLine::parse(args)?;
    if cl.help || cl.version {
        return Err(Error::config("usage: [--urls URLS] [--config FILE]..."));
    }
    if cl.root.is_some() {
        return Err(Error::config(
            "--root is for the falconet binary; this program does not serve files",
        ));
    }
    cl.options()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_both_forms() {
        let cl = CommandLine::parse(args(&[
            "--urls",
            "http://a:1;http://b:2",
            "--config=x.json",
        ]))
        .unwrap();
        assert_eq!(cl.urls.as_deref(), Some("http://a:1;http://b:2"));
        assert_eq!(cl.config, vec![PathBuf::from("x.json")]);
        let cl = CommandLine::parse(args(&["--config", "a.json", "--config=b.json"])).unwrap();
        assert_eq!(
            cl.config,
            vec![PathBuf::from("a.json"), PathBuf::from("b.json")],
            "--config may be repeated, in order"
        );
        assert!(CommandLine::parse(args(&["--urls"])).is_err());
        assert!(CommandLine::parse(args(&["--bogus"]))
            .unwrap_err()
            .to_string()
            .contains("--bogus"));
    }

    #[test]
    fn access_log_flag() {
        let o = |a: &[&str]| {
            CommandLine::parse(args(a))
                .unwrap()
                .options_from(&Configuration::default())
                .unwrap()
                .access_log
                .destination
        };
        assert_eq!(o(&[]), crate::AccessLogDestination::Off);
        assert_eq!(
            o(&["--access-log", "stderr"]),
            crate::AccessLogDestination::Stderr
        );
        assert_eq!(
            o(&["--access-log=/var/log/falconet.log"]),
            crate::AccessLogDestination::File("/var/log/falconet.log".into())
        );
        assert!(CommandLine::parse(args(&["--access-log"])).is_err());
    }

    #[test]
    fn parses_root() {
        let cl = CommandLine::parse(args(&["--root", "/srv/www"])).unwrap();
        assert_eq!(cl.root, Some(PathBuf::from("/srv/www")));
        let cl = CommandLine::parse(args(&["--root=./public", "--urls", "http://a:1"])).unwrap();
        assert_eq!(cl.root, Some(PathBuf::from("./public")));
        assert_eq!(cl.urls.as_deref(), Some("http://a:1"));
        assert_eq!(CommandLine::parse(args(&[])).unwrap().root, None);
        let cl = CommandLine::parse(args(&[
            "--root",
            "/srv",
            "--cache-control=public, max-age=60",
            "--serve-hidden",
        ]))
        .unwrap();
        assert_eq!(cl.cache_control.as_deref(), Some("public, max-age=60"));
        assert!(cl.serve_hidden);
        assert!(CommandLine::parse(args(&["--root"]))
            .unwrap_err()
            .to_string()
            .contains("--root"));
        // Programs built on options_from_args (the examples) serve no files: say so.
        assert!(options_from_args(args(&["--root", "/srv"]))
            .unwrap_err()
            .to_string()
            .contains("--root"));
    }

    #[test]
    fn cli_urls_win() {
        let cl = CommandLine::parse(args(&["--urls", "http://127.0.0.1:1; http://127.0.0.1:2"]))
            .unwrap();
        assert_eq!(
            cl.options().unwrap().urls,
            vec!["http://127.0.0.1:1", "http://127.0.0.1:2"]
        );
    }
}
