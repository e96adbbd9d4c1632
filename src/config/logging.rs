//! `Logging:LogLevel` (ASP.NET Core's logging configuration) as an `env_logger` filter
//! for the `falconet` binary; `RUST_LOG`, when set, is used instead.
//!
//! Categories and the log targets they set:
//!
//! - `Default` → everything (the filter's default level; `Information` when absent, as in
//!   .NET);
//! - `Falconet` → the server (`falconet`); `Falconet.X.Y` → the target `falconet::x::y`
//!   (e.g. `Falconet.Tls`, `Falconet.Connection`);
//! - Kestrel's categories and their parents, `Microsoft.AspNetCore.Server.Kestrel`,
//!   `Microsoft.AspNetCore.Server`, `Microsoft.AspNetCore`, `Microsoft` (the most specific
//!   one given) → the server (`falconet`), unless `Falconet` is given;
//! - `Microsoft.Hosting.Lifetime`, `Microsoft.Hosting`, `Microsoft` → the server's
//!   lifetime lines (`falconet::server`: the configuration files read, `Now listening on`,
//!   shutdown), unless `Falconet`
//!   or `Falconet.Server` is given. So the templates' `"Microsoft.AspNetCore": "Warning"`
//!   quiets the server and keeps `Now listening on`, as in ASP.NET Core.
//!
//! Levels: `Trace`, `Debug`, `Information`, `Warning`, `Error`, `Critical` (error), `None`
//! (off), case-insensitive, or their numbers 0 to 6. Other categories belong to the
//! application and are ignored.

use serde_json::{Map, Value};

/// The `env_logger` level of a .NET `LogLevel` value.
fn level(v: &str) -> Option<&'static str> {
    Some(match v.trim().to_ascii_lowercase().as_str() {
        "trace" | "0" => "trace",
        "debug" | "1" => "debug",
        "information" | "2" => "info",
        "warning" | "3" => "warn",
        "error" | "critical" | "4" | "5" => "error",
        "none" | "6" => "off",
        _ => return None,
    })
}

/// Kestrel's categories that cover the server, most specific first.
const SERVER: [&str; 4] = [
    "microsoft.aspnetcore.server.kestrel",
    "microsoft.aspnetcore.server",
    "microsoft.aspnetcore",
    "microsoft",
];

/// The host's lifetime categories, most specific first.
const LIFETIME: [&str; 3] = [
    "microsoft.hosting.lifetime",
    "microsoft.hosting",
    "microsoft",
];

/// The filter for the document's `Logging:LogLevel` (`None` without one) and warnings
/// for values that are not levels.
pub(crate) fn log_filter(doc: &Map<String, Value>) -> (Option<String>, Vec<String>) {
    let mut warnings = Vec::new();
    let section = |m: &Map<String, Value>, name: &str| -> Option<Map<String, Value>> {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_object().cloned())
    };
    let Some(levels) = section(doc, "Logging").and_then(|l| section(&l, "LogLevel")) else {
        return (None, warnings);
    };
    // Lowercase category → level; later spellings of a category win.
    let mut given: Vec<(String, &'static str)> = Vec::new();
    for (k, v) in &levels {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Null => continue,
            other => other.to_string(),
        };
        match level(&text) {
            Some(l) => {
                let k = k.trim().to_ascii_lowercase();
                given.retain(|(c, _)| *c != k);
                given.push((k, l));
            }
            None => warnings.push(format!(
                "Logging:LogLevel:{k}: '{text}' is not a log level (Trace, Debug, Information, \
                 Warning, Error, Critical or None); ignored"
            )),
        }
    }
    let get = |c: &str| given.iter().find(|(k, _)| k == c).map(|(_, l)| *l);
    let first = |cs: &[&str]| cs.iter().find_map(|c| get(c));
    let default = get("default").unwrap_or("info");
    let mut directives = vec![default.to_string()];
    let server = get("falconet").or_else(|| first(&SERVER));
    let lifetime = get("falconet.server")
        .or_else(|| get("falconet"))
        .or_else(|| first(&LIFETIME));
    if let Some(l) = server {
        directives.push(format!("falconet={l}"));
    }
    if let Some(l) = lifetime.or(server.map(|_| default)) {
        directives.push(format!("falconet::server={l}"));
    }
    for (k, l) in &given {
        if let Some(rest) = k.strip_prefix("falconet.") {
            if rest == "server" || rest.is_empty() {
                continue;
            }
            directives.push(format!("falconet::{}={l}", rest.replace('.', "::")));
        }
    }
    (Some(directives.join(",")), warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter(v: Value) -> (Option<String>, Vec<String>) {
        match v {
            Value::Object(m) => log_filter(&m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn no_log_level_no_filter() {
        assert_eq!(filter(json!({})).0, None);
        assert_eq!(filter(json!({"Logging": {"Console": {}}})).0, None);
    }

    #[test]
    fn templates_quiet_the_server_and_keep_the_lifetime_lines() {
        // The ASP.NET Core web templates.
        let (f, w) = filter(json!({"Logging": {"LogLevel": {
            "Default": "Information", "Microsoft.AspNetCore": "Warning"}}}));
        assert_eq!(
            f.as_deref(),
            Some("info,falconet=warn,falconet::server=info")
        );
        assert!(w.is_empty());
        // The older templates.
        let (f, _) = filter(json!({"logging": {"loglevel": {
            "Default": "Warning", "Microsoft": "Warning",
            "Microsoft.Hosting.Lifetime": "Information"}}}));
        assert_eq!(
            f.as_deref(),
            Some("warn,falconet=warn,falconet::server=info")
        );
        let (f, _) = filter(json!({"Logging": {"LogLevel": {"Default": "Debug"}}}));
        assert_eq!(f.as_deref(), Some("debug"));
    }

    #[test]
    fn falconet_categories_win_and_map_to_targets() {
        let (f, w) = filter(json!({"Logging": {"LogLevel": {
            "Default": "None", "Microsoft.AspNetCore": "Warning",
            "Falconet": "debug", "Falconet.Tls": "Trace", "Falconet.Connection": 0,
            "MyApp.Jobs": "Verbose"}}}));
        assert_eq!(
            f.as_deref(),
            Some(
                "off,falconet=debug,falconet::server=debug,falconet::connection=trace,\
                 falconet::tls=trace"
            )
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("Logging:LogLevel:MyApp.Jobs") && w[0].contains("'Verbose'"));
        let (f, _) = filter(json!({"Logging": {"LogLevel": {
            "Microsoft.AspNetCore.Server.Kestrel": "Error", "Microsoft": "Critical",
            "Falconet.Server": "None"}}}));
        assert_eq!(
            f.as_deref(),
            Some("info,falconet=error,falconet::server=off")
        );
    }
}
