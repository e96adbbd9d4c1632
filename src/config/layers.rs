//! Configuration in layers, as ASP.NET Core's host builds it: JSON files (the `--config`
//! files in order, else `appsettings.json` and `appsettings.{Environment}.json` from the
//! working directory), then configuration keys in environment variables, then the URL
//! variables; see [`Configuration`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[cfg(feature = "json-config")]
use serde_json::{Map, Value};

use crate::options::ServerOptions;
use crate::Error;

/// The prefix of falconet's own environment variables: `FALCONET_Kestrel__Limits__...`
/// (and [`URLS_ENV`](super::URLS_ENV)).
pub const ENV_PREFIX: &str = "FALCONET_";

/// The URL variables, strongest first: `FALCONET_URLS`, then ASP.NET Core's
/// `ASPNETCORE_URLS` and `DOTNET_URLS`.
pub const URL_VARIABLES: [&str; 3] = [super::URLS_ENV, "ASPNETCORE_URLS", "DOTNET_URLS"];

/// The environment variables naming the environment (`Production`, `Development`, ...),
/// strongest first, as in ASP.NET Core; `Production` when neither is set.
pub const ENVIRONMENT_VARIABLES: [&str; 2] = ["ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT"];

/// Configuration gathered from files and the environment, not yet applied: what the
/// `falconet` binary and the examples read at startup
/// ([`CommandLine::configuration`](super::CommandLine::configuration)).
///
/// Sources, later ones overriding earlier ones key by key (JSON objects are merged deeply
/// and case-insensitively; other values, arrays included, are replaced):
///
/// 1. the JSON files given (`--config`, in order); with none given, `appsettings.json` and
///    then `appsettings.{Environment}.json` from the working directory, each if it exists
///    (the environment is `ASPNETCORE_ENVIRONMENT`, else `DOTNET_ENVIRONMENT`, else
///    `Production`);
/// 2. configuration keys in environment variables, `__` standing for `:`
///    (`Kestrel__Limits__MaxRequestBodySize=1000000`,
///    `Kestrel__Endpoints__Http__Url=http://*:8080`, `Logging__LogLevel__Default=Debug`),
///    for the sections `Kestrel`, `Falconet`, `Logging` and the key `AllowedHosts`; the
///    same names prefixed with `FALCONET_` override unprefixed ones. A numeric part sets an
///    array item (`...__SslProtocols__0=Tls13`). Values are strings, which the loader
///    reads as .NET does (`"true"`, `"8192"`, `""` for no limit);
/// 3. the URL variables ([`URL_VARIABLES`]): the first one set replaces the files' `Urls`.
///
/// `--urls` then overrides everything ([`CommandLine::options`](super::CommandLine::options)).
/// Without the `json-config` feature only the URL variables are read.
#[derive(Debug, Clone, Default)]
pub struct Configuration {
    /// The merged document.
    #[cfg(feature = "json-config")]
    doc: Map<String, Value>,
    /// Files and variables the document came from, for error messages.
    #[cfg(feature = "json-config")]
    sources: Vec<String>,
    /// Lines to log once logging is set up: (warning?, message).
    notes: Vec<(bool, String)>,
    /// URLs from the first URL variable set; empty when none is.
    urls: Vec<String>,
}

impl Configuration {
    /// Reads the configuration of this process: `files` (the `--config` files), or the
    /// default files in the working directory when `files` is empty, then the process's
    /// environment. Nothing is logged; see [`Configuration::log_notes`].
    ///
    /// # Errors
    ///
    /// [`Error::is_io`] when a file cannot be read; [`Error::is_config`] when one is not
    /// valid JSON (naming the file), or given without JSON support in this build.
    pub fn read(files: &[PathBuf]) -> Result<Configuration, Error> {
        let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Self::read_from(files, &cwd, &env)
    }

    /// [`read`](Self::read) with the working directory and environment given.
    pub(crate) fn read_from(
        files: &[PathBuf],
        cwd: &Path,
        env: &[(OsString, OsString)],
    ) -> Result<Configuration, Error> {
        let var = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.to_string_lossy().into_owned())
        };
        let mut cfg = Configuration {
            urls: super::urls_from(var),
            ..Configuration::default()
        };
        let (files, defaults) = if files.is_empty() {
            let environment = ENVIRONMENT_VARIABLES
                .iter()
                .filter_map(|n| var(n))
                .find(|v| !v.trim().is_empty())
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| "Production".to_string());
            let found: Vec<PathBuf> = [
                "appsettings.json".to_string(),
                format!("appsettings.{environment}.json"),
            ]
            .iter()
            .map(|n| cwd.join(n))
            .filter(|p| p.is_file())
            .collect();
            if !found.is_empty() {
                let names: Vec<String> = found
                    .iter()
                    .filter_map(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect();
                cfg.notes.push((
                    !cfg!(feature = "json-config"),
                    if cfg!(feature = "json-config") {
                        format!(
                            "Loading configuration from {} in {} (environment {environment})",
                            names.join(" and "),
                            cwd.display()
                        )
                    } else {
                        format!(
                            "{} in {} not read: this build has no JSON configuration support \
                             (cargo feature json-config)",
                            names.join(" and "),
                            cwd.display()
                        )
                    },
                ));
            }
            (found, true)
        } else {
            (files.to_vec(), false)
        };
        #[cfg(feature = "json-config")]
        {
            let mut doc = Value::Object(Map::new());
            for path in &files {
                let root = read_document(path)?;
                merge(&mut doc, Value::Object(root));
                cfg.sources.push(path.display().to_string());
            }
            let (keys, names) = env_document(env);
            if !names.is_empty() {
                cfg.notes.push((
                    false,
                    format!(
                        "Configuration keys from environment variables: {}",
                        names.join(", ")
                    ),
                ));
                merge(&mut doc, Value::Object(keys));
                cfg.sources
                    .push(format!("environment variables {}", names.join(", ")));
            }
            if let Value::Object(m) = doc {
                cfg.doc = m;
            }
        }
        #[cfg(not(feature = "json-config"))]
        if let (Some(path), false) = (files.first(), defaults) {
            return Err(Error::config(format!(
                "cannot read '{}': this build has no JSON configuration support (cargo feature json-config)",
                path.display()
            )));
        }
        let _ = defaults;
        Ok(cfg)
    }

    /// Logs what was found (the files read from the working directory, the environment
    /// variables used) at info, and problems at warn. Call it once logging is set up.
    /// They go to the target of the server's lifetime lines (`falconet::server`, with
    /// `Now listening on`), so a `Logging:LogLevel` that quiets the server keeps them.
    pub fn log_notes(&self) {
        for (warning, note) in &self.notes {
            if *warning {
                log::warn!(target: super::LIFETIME_TARGET, "{note}");
            } else {
                log::info!(target: super::LIFETIME_TARGET, "{note}");
            }
        }
    }

    /// The URLs of the first URL variable set ([`URL_VARIABLES`]), empty when none is.
    pub fn env_urls(&self) -> &[String] {
        &self.urls
    }

    /// An `env_logger` filter (`RUST_LOG` syntax) for the configuration's
    /// `Logging:LogLevel`, or `None` when it has none (always without the `json-config`
    /// feature). Problems with it are logged by [`log_notes`](Self::log_notes) (call this
    /// first).
    ///
    /// Categories and the log targets they set: `Default` → everything (`Information`
    /// when absent, as in .NET); `Falconet` → the server (`falconet`) and `Falconet.X.Y` →
    /// the target `falconet::x::y`; Kestrel's categories and their parents
    /// (`Microsoft.AspNetCore.Server.Kestrel`, `Microsoft.AspNetCore.Server`,
    /// `Microsoft.AspNetCore`, `Microsoft`: the most specific given) → the server, unless
    /// `Falconet` is given; `Microsoft.Hosting.Lifetime` (or `Microsoft.Hosting`,
    /// `Microsoft`) → the lifetime lines (`falconet::server`: the configuration read,
    /// `Now listening on`, shutdown), unless `Falconet` or `Falconet.Server` is given. So
    /// the templates' `"Microsoft.AspNetCore": "Warning"` quiets the server and keeps
    /// `Now listening on`, as in ASP.NET Core. Levels: `Trace`, `Debug`, `Information`,
    /// `Warning`, `Error`, `Critical` (error), `None` (off), or their numbers 0 to 6. Other
    /// categories belong to the application and are ignored.
    pub fn log_filter(&mut self) -> Option<String> {
        #[cfg(feature = "json-config")]
        {
            let (filter, warnings) = super::logging::log_filter(&self.doc);
            self.notes.extend(warnings.into_iter().map(|w| (true, w)));
            filter
        }
        #[cfg(not(feature = "json-config"))]
        None
    }

    /// Applies the files and environment keys on top of `options` (as `apply_json` does)
    /// and returns the warnings for the caller to log.
    /// Errors name the sources (the file alone when there is one).
    ///
    /// # Errors
    ///
    /// [`Error::is_config`] for anything `apply_json` rejects; on error `options` is
    /// unchanged.
    pub fn apply(&self, options: &mut ServerOptions) -> Result<Vec<String>, Error> {
        #[cfg(feature = "json-config")]
        if !self.sources.is_empty() {
            return super::json::apply_document(options, &self.doc)
                .map_err(|e| Error::config(format!("{}: {e}", self.sources.join(", "))));
        }
        let _ = options;
        Ok(Vec::new())
    }
}

/// Reads and parses one file, checking its keys; errors name the file.
#[cfg(feature = "json-config")]
fn read_document(path: &Path) -> Result<Map<String, Value>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::io(
            format!("Cannot read configuration file '{}': {e}", path.display()),
            e,
        )
    })?;
    // A UTF-8 byte order mark, as Windows editors write, is not JSON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let named = |e: Error| Error::config(format!("{}: {e}", path.display()));
    let root = super::json::parse_document(text).map_err(named)?;
    super::json::check_duplicates_deep(&root).map_err(named)?;
    Ok(root)
}

/// The sections environment variables may set (lowercase), beyond [`super::json::SECTIONS`]
/// minus `Urls` (the URL variables set those).
#[cfg(feature = "json-config")]
const ENV_SECTIONS: [&str; 3] = ["kestrel", "falconet", "logging"];

/// The configuration keys in environment variables, as a document, and the names of the
/// variables used (sorted; unprefixed ones first, then `FALCONET_` ones, which win).
#[cfg(feature = "json-config")]
fn env_document(env: &[(OsString, OsString)]) -> (Map<String, Value>, Vec<String>) {
    let mut vars: Vec<(&str, &str)> = env
        .iter()
        .filter_map(|(k, v)| Some((k.to_str()?, v.to_str()?)))
        .collect();
    crate::small_sort::sort_by(&mut vars, Ord::cmp);
    let mut doc = Value::Object(Map::new());
    let mut names = Vec::new();
    for prefixed in [false, true] {
        for (name, value) in &vars {
            let key = if prefixed {
                match name.get(..ENV_PREFIX.len()) {
                    Some(p) if p.eq_ignore_ascii_case(ENV_PREFIX) => &name[ENV_PREFIX.len()..],
                    _ => continue,
                }
            } else {
                name
            };
            let parts: Vec<&str> = key.split("__").collect();
            if parts.iter().any(|p| p.is_empty()) {
                continue;
            }
            let section = parts[0].to_ascii_lowercase();
            let wanted = if parts.len() == 1 {
                section == "allowedhosts"
            } else {
                ENV_SECTIONS.contains(&section.as_str())
            };
            if !wanted {
                continue;
            }
            let mut v = Value::String(value.to_string());
            for part in parts.iter().rev() {
                let mut m = Map::new();
                m.insert(part.to_string(), v);
                v = Value::Object(m);
            }
            merge(&mut doc, v);
            names.push(name.to_string());
        }
    }
    match doc {
        Value::Object(m) => (m, names),
        _ => (Map::new(), names),
    }
}

/// Merges `overlay` into `base` as .NET's configuration layers do: objects key by key,
/// keys compared case-insensitively (the first spelling is kept); any other value replaces
/// the base's; an object whose keys are all indexes (`"0"`, `"1"`, from environment
/// variables) sets array items.
#[cfg(feature = "json-config")]
pub(crate) fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.keys().find(|x| x.eq_ignore_ascii_case(&k)).cloned() {
                    Some(existing) => {
                        if let Some(slot) = b.get_mut(&existing) {
                            merge(slot, v);
                        }
                    }
                    None => {
                        b.insert(k, arrays(v));
                    }
                }
            }
        }
        (Value::Array(b), Value::Object(o)) if is_index_object(&o) => {
            for (i, v) in indexed(o) {
                match b.get_mut(i) {
                    Some(slot) => merge(slot, v),
                    None => b.push(arrays(v)),
                }
            }
        }
        (base, overlay) => *base = arrays(overlay),
    }
}

#[cfg(feature = "json-config")]
fn is_index_object(o: &Map<String, Value>) -> bool {
    !o.is_empty()
        && o.keys()
            .all(|k| !k.is_empty() && k.len() < 10 && k.bytes().all(|b| b.is_ascii_digit()))
}

/// The items of an index object, in index order.
#[cfg(feature = "json-config")]
fn indexed(o: Map<String, Value>) -> Vec<(usize, Value)> {
    let mut items: Vec<(usize, Value)> = o
        .into_iter()
        .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
        .collect();
    crate::small_sort::sort_by_key(&mut items, |(i, _)| *i);
    items
}

/// `v` with index objects of values turned into arrays (in index order). An index object
/// whose items are objects is a section of named subsections (Kestrel's endpoints, SNI
/// entries, certificates) whose names happen to be digits: it stays an object, as .NET's
/// configuration binds it (an endpoint named "8" is an endpoint).
#[cfg(feature = "json-config")]
fn arrays(v: Value) -> Value {
    match v {
        Value::Object(o) if is_index_object(&o) && !o.values().any(Value::is_object) => {
            Value::Array(indexed(o).into_iter().map(|(_, v)| arrays(v)).collect())
        }
        Value::Object(o) => {
            // Inserted one by one: collecting into the map would sort the entries first
            // (a stable sort instantiated for this alone, kilobytes of the binary).
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k, arrays(v));
            }
            Value::Object(m)
        }
        other => other,
    }
}

#[cfg(all(test, feature = "json-config"))]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(vars: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        vars.iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    fn temp_dir(tag: &str) -> PathBuf {
        crate::testing::temp_dir(&format!("layers-{tag}"))
    }

    /// An endpoint whose name is all digits applied alone but not once the layers merged
    /// the file onto an empty document: the merge turned `{"8": {...}}` into an array and
    /// the endpoints section was refused ("expected an object"), so the binary refused an
    /// appsettings.json that `apply_json` accepts. Found by the `config` fuzz target.
    #[test]
    fn sections_named_by_digits_stay_sections() {
        let file = r#"{ "Kestrel": { "Endpoints": { "8": { "Url": "http://127.0.0.1:0" } } } }"#;
        let mut alone = ServerOptions::default();
        crate::config::apply_json(&mut alone, file).unwrap();
        let mut doc = Value::Object(Map::new());
        merge(
            &mut doc,
            Value::Object(crate::config::json::parse_document(file).unwrap()),
        );
        assert!(doc["Kestrel"]["Endpoints"].is_object(), "{doc}");
        let Value::Object(root) = doc else {
            unreachable!()
        };
        let mut merged = ServerOptions::default();
        crate::config::json::apply_document(&mut merged, &root).unwrap();
        assert_eq!(merged.endpoints.len(), 1);
        assert_eq!(format!("{merged:?}"), format!("{alone:?}"));
        // Index objects of values still make arrays.
        let mut doc = json!({});
        merge(&mut doc, json!({"List": {"1": "b", "0": "a"}}));
        assert_eq!(doc, json!({"List": ["a", "b"]}));
    }

    #[test]
    fn merge_is_deep_case_insensitive_and_replaces_arrays() {
        let mut base = json!({
            "Kestrel": {"Limits": {"MaxRequestBodySize": 10, "MaxRequestLineSize": 100},
                        "Endpoints": {"Https": {"Url": "https://*:443",
                                                "Certificate": {"Path": "a.pfx"},
                                                "SslProtocols": ["Tls12", "Tls13"]}}}
        });
        merge(
            &mut base,
            json!({"kestrel": {"limits": {"maxrequestbodysize": null},
                               "Endpoints": {"HTTPS": {"Certificate": {"Password": "s"},
                                                      "SslProtocols": ["Tls13"]}}}}),
        );
        assert_eq!(
            base,
            json!({
                "Kestrel": {"Limits": {"MaxRequestBodySize": null, "MaxRequestLineSize": 100},
                            "Endpoints": {"Https": {"Url": "https://*:443",
                                                    "Certificate": {"Path": "a.pfx", "Password": "s"},
                                                    "SslProtocols": ["Tls13"]}}}
            })
        );
        // Index objects (from environment variables) set array items, or make an array.
        merge(
            &mut base,
            json!({"Kestrel": {"Endpoints": {"Https": {"SslProtocols": {"1": "Tls12"}}},
                               "Other": {"1": "b", "0": "a"}}}),
        );
        assert_eq!(
            base["Kestrel"]["Endpoints"]["Https"]["SslProtocols"],
            json!(["Tls13", "Tls12"])
        );
        assert_eq!(base["Kestrel"]["Other"], json!(["a", "b"]));
    }

    #[test]
    fn environment_keys_with_double_underscores() {
        let (doc, names) = env_document(&env(&[
            ("Kestrel__Limits__MaxRequestBodySize", "1000"),
            ("KESTREL__ENDPOINTS__Http__Url", "http://127.0.0.1:0"),
            ("FALCONET_Kestrel__Limits__MaxRequestBodySize", "2000"),
            ("FALCONET__Workers", "3"),
            ("Logging__LogLevel__Default", "Debug"),
            ("AllowedHosts", "example.org"),
            ("Jwt__Key", "secret"),
            ("PATH", "/bin"),
            ("Kestrel", "x"),
            ("Kestrel____X", "y"),
            ("FALCONET_URLS", "http://127.0.0.1:0"),
        ]));
        assert_eq!(
            Value::Object(doc),
            json!({
                "AllowedHosts": "example.org",
                "FALCONET": {"Workers": "3"},
                "KESTREL": {"ENDPOINTS": {"Http": {"Url": "http://127.0.0.1:0"}},
                            "Limits": {"MaxRequestBodySize": "2000"}},
                "Logging": {"LogLevel": {"Default": "Debug"}}
            })
        );
        assert_eq!(
            names,
            vec![
                "AllowedHosts",
                "FALCONET__Workers",
                "KESTREL__ENDPOINTS__Http__Url",
                "Kestrel__Limits__MaxRequestBodySize",
                "Logging__LogLevel__Default",
                "FALCONET_Kestrel__Limits__MaxRequestBodySize",
            ]
        );
    }

    #[test]
    fn files_then_environment_then_url_variables() {
        let dir = temp_dir("layers");
        let a = dir.join("a.json");
        let b = dir.join("b.json");
        std::fs::write(
            &a,
            r#"{"Kestrel": {"Limits": {"MaxRequestBodySize": 10, "MaxRequestLineSize": 100},
                 "Endpoints": {"Http": {"Url": "http://127.0.0.1:1", "Protocols": "Http1"}}},
                "Urls": "http://127.0.0.1:9"}"#,
        )
        .unwrap();
        std::fs::write(
            &b,
            "\u{feff}{\"kestrel\": {\"limits\": {\"maxrequestbodysize\": 20}}, // b wins\n}",
        )
        .unwrap();
        let vars = env(&[
            ("Kestrel__Endpoints__Http__Url", "http://127.0.0.1:2"),
            ("DOTNET_URLS", "http://127.0.0.1:4"),
            ("ASPNETCORE_URLS", "http://127.0.0.1:3"),
        ]);
        let cfg = Configuration::read_from(&[a.clone(), b.clone()], &dir, &vars).unwrap();
        let mut o = ServerOptions::default();
        let w = cfg.apply(&mut o).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(o.limits.max_request_body_size, Some(20));
        assert_eq!(o.limits.max_request_line_size, 100);
        assert_eq!(o.endpoints.len(), 1);
        assert_eq!(
            o.endpoints[0].address,
            crate::ListenAddress::Ip("127.0.0.1:2".parse().unwrap())
        );
        assert_eq!(o.endpoints[0].protocols, crate::Protocols::Http1);
        assert_eq!(o.urls, vec!["http://127.0.0.1:9"]);
        assert_eq!(cfg.env_urls(), ["http://127.0.0.1:3"]);
        // FALCONET_URLS beats ASPNETCORE_URLS.
        let mut vars2 = vars.clone();
        vars2.push(("FALCONET_URLS".into(), "http://127.0.0.1:5".into()));
        let cfg2 = Configuration::read_from(std::slice::from_ref(&a), &dir, &vars2).unwrap();
        assert_eq!(cfg2.env_urls(), ["http://127.0.0.1:5"]);
        let cfg3 = Configuration::read_from(std::slice::from_ref(&a), &dir, &vars[2..]).unwrap();
        assert_eq!(cfg3.env_urls(), ["http://127.0.0.1:3"]);
        let cfg4 = Configuration::read_from(std::slice::from_ref(&a), &dir, &vars[1..2]).unwrap();
        assert_eq!(cfg4.env_urls(), ["http://127.0.0.1:4"]);

        // Errors after merging name every source; with one file, that file alone.
        std::fs::write(
            &b,
            r#"{"Kestrel": {"Limits": {"MaxRequestBodySize": "x"}}}"#,
        )
        .unwrap();
        let cfg = Configuration::read_from(&[a.clone(), b.clone()], &dir, &vars).unwrap();
        let e = cfg.apply(&mut o).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{}, {}, environment variables",
                a.display(),
                b.display()
            )),
            "{e}"
        );
        let cfg = Configuration::read_from(std::slice::from_ref(&b), &dir, &[]).unwrap();
        let e = cfg.apply(&mut o).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}: ", b.display())), "{e}");
        assert!(e.contains("Kestrel:Limits:MaxRequestBodySize"), "{e}");
        // A file's own problems name it, before any merging.
        std::fs::write(&b, r#"{"Kestrel": {"Limits": {}, "limits": {}}}"#).unwrap();
        let e = Configuration::read_from(&[a.clone(), b.clone()], &dir, &[])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(&format!("{}: ", b.display())), "{e}");
        assert!(e.contains("case-insensitive"), "{e}");
        std::fs::write(&b, r#"{"Kestrel": "#).unwrap();
        let e = Configuration::read_from(std::slice::from_ref(&b), &dir, &[]).unwrap_err();
        assert!(e.to_string().starts_with(&b.display().to_string()), "{e}");
        let e = Configuration::read_from(&[dir.join("missing.json")], &dir, &[]).unwrap_err();
        assert!(e.is_io(), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn default_files_follow_the_environment_name() {
        let dir = temp_dir("defaults");
        let cfg = Configuration::read_from(&[], &dir, &[]).unwrap();
        assert!(cfg.notes.is_empty());
        assert!(cfg.sources.is_empty());
        std::fs::write(
            dir.join("appsettings.json"),
            r#"{"Falconet": {"Workers": 2, "QueueCapacity": 7}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("appsettings.Production.json"),
            r#"{"Falconet": {"Workers": 3}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("appsettings.Staging.json"),
            r#"{"Falconet": {"Workers": 4}}"#,
        )
        .unwrap();
        let workers = |vars: &[(&str, &str)]| {
            let cfg = Configuration::read_from(&[], &dir, &env(vars)).unwrap();
            let mut o = ServerOptions::default();
            cfg.apply(&mut o).unwrap();
            assert_eq!(o.queue_capacity, 7);
            (o.workers, cfg.notes[0].1.clone())
        };
        let (w, note) = workers(&[]);
        assert_eq!(w, 3, "Production by default, as in ASP.NET Core");
        assert!(
            note.contains("appsettings.json and appsettings.Production.json")
                && note.contains("environment Production"),
            "{note}"
        );
        assert_eq!(workers(&[("DOTNET_ENVIRONMENT", "Staging")]).0, 4);
        let both = [
            ("DOTNET_ENVIRONMENT", "Production"),
            ("ASPNETCORE_ENVIRONMENT", "Staging"),
        ];
        assert_eq!(workers(&both).0, 4, "ASPNETCORE_ENVIRONMENT wins");
        let (w, note) = workers(&[("ASPNETCORE_ENVIRONMENT", "Development")]);
        assert_eq!(w, 2, "no appsettings.Development.json");
        assert!(note.contains("from appsettings.json in"), "{note}");
        // Files given explicitly replace the defaults.
        let other = dir.join("other.json");
        std::fs::write(&other, r#"{"Falconet": {"Workers": 5}}"#).unwrap();
        let cfg = Configuration::read_from(&[other], &dir, &[]).unwrap();
        let mut o = ServerOptions::default();
        cfg.apply(&mut o).unwrap();
        assert_eq!(
            (o.workers, o.queue_capacity),
            (5, ServerOptions::default().queue_capacity)
        );
        assert!(cfg.notes.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
