//! Helpers for the crate's unit tests.

use std::path::PathBuf;

/// A new, empty directory under the system's temporary directory, unique to this process
/// and moment (`falconet-{tag}-{pid}-{nanos}`).
#[cfg_attr(not(any(feature = "json-config", feature = "tls")), allow(dead_code))]
pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let d = std::env::temp_dir().join(format!("falconet-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
