//! The appsettings JSON loader (src/config/json.rs), the configuration layers' merge and
//! environment variables (src/config/layers.rs), and the URL parser (src/config/urls.rs).
//!
//! Invariants: no panic on any document, variable or URL; every failure is a configuration
//! error with a message (`Error::is_config`, non-empty text); a document that applies
//! applies again to the options it produced (the loader updates in place) and is applied
//! the same way when merged onto an empty document; a URL that parses describes itself.
#![no_main]

use falconet::fuzzing::{config_from_env, merged_json, parse_url};
use falconet::ServerOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match mode % 4 {
        0 => {
            let mut options = ServerOptions::default();
            match falconet::config::apply_json(&mut options, &text) {
                Ok(_) => {
                    let before = format!("{options:?}");
                    let mut again = options.clone();
                    if let Err(e) = falconet::config::apply_json(&mut again, &text) {
                        panic!("applies once but not twice: {e}");
                    }
                    assert_eq!(
                        format!("{again:?}"),
                        before,
                        "applying twice changed the options"
                    );
                    if let Err(e) = merged_json("{}", &text) {
                        panic!("applies alone but not merged onto {{}}: {e}");
                    }
                }
                Err(e) => {
                    assert!(e.is_config(), "not a configuration error: {e:?}");
                    assert!(!e.to_string().is_empty());
                    // A failed apply leaves the options unchanged.
                    assert_eq!(
                        format!("{options:?}"),
                        format!("{:?}", ServerOptions::default())
                    );
                }
            }
        }
        1 => {
            // Two documents, split at the first NUL (or in the middle).
            let (a, b) = match text.find('\0') {
                Some(i) => (&text[..i], &text[i + 1..]),
                None => text.split_at(text.floor_char_boundary(text.len() / 2)),
            };
            if let Err(e) = merged_json(a, b) {
                assert!(!e.is_empty());
            }
        }
        2 => {
            // Environment variables, one NAME=VALUE a line.
            let env: Vec<(String, String)> = text
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            if let Err(e) = config_from_env(&env) {
                assert!(!e.is_empty());
            }
        }
        _ => {
            for url in text.split(';') {
                match parse_url(url) {
                    Ok(described) => assert!(!described.is_empty()),
                    Err(e) => assert!(e.contains("url") || e.contains("URL"), "{e}"),
                }
            }
        }
    }
});
