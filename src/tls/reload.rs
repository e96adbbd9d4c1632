//! Certificate rotation without restart: each certificate loaded from files lives in a
//! [`CertSlot`] that new handshakes read; a watcher thread reloads a slot when its files
//! change (and [`crate::ServerHandle::reload_certificates`], which the binary calls on
//! SIGHUP, reloads them all). Open connections keep the certificate they were made with.
//! A file that fails to load is logged and the old certificate stays in use.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::sign::CertifiedKey;

use super::{certs, CertificateSource};
use crate::Error;

/// How often the watcher looks at the certificate files.
pub(crate) const WATCH_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    ino: u64,
    dev: u64,
}

fn stamp_of(p: &Path) -> Option<FileStamp> {
    // Follows symlinks: Kubernetes-style `..data` symlink swaps change the target.
    let m = std::fs::metadata(p).ok()?;
    Some(FileStamp {
        modified: m.modified().ok(),
        len: m.len(),
        ino: m.ino(),
        dev: m.dev(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    cert: Option<FileStamp>,
    key: Option<FileStamp>,
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refreshed {
    Unchanged,
    Reloaded,
    Failed,
}

/// A certificate loaded from files, replaceable at run time.
#[derive(Debug)]
pub(crate) struct CertSlot {
    endpoint: String,
    source: CertificateSource,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' stamps at the last load attempt.
    stamp: Mutex<Stamp>,
}

impl CertSlot {
    pub(crate) fn load(endpoint: &str, source: CertificateSource) -> Result<CertSlot, Error> {
        let stamp = Self::stamp(&source);
        let cert = certs::load_for_endpoint(&source, endpoint)?;
        Ok(CertSlot {
            endpoint: endpoint.to_string(),
            source,
            current: RwLock::new(cert.key),
            stamp: Mutex::new(stamp),
        })
    }

    fn stamp(source: &CertificateSource) -> Stamp {
        Stamp {
            cert: stamp_of(&source.path),
            key: source.key_path.as_deref().and_then(stamp_of),
        }
    }

    /// The certificate new handshakes use.
    pub(crate) fn current(&self) -> Arc<CertifiedKey> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Reloads the certificate when its files changed since the last attempt (or always,
    /// with `force`). A failure is logged at error and the old certificate kept.
    pub(crate) fn refresh(&self, force: bool) -> Refreshed {
        let now = Self::stamp(&self.source);
        {
            let mut last = self.stamp.lock().unwrap_or_else(|p| p.into_inner());
            if !force && *last == now {
                return Refreshed::Unchanged;
            }
            *last = now;
        }
        match certs::load_for_endpoint(&self.source, &self.endpoint) {
            Ok(cert) => {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = cert.key;
                log::info!(
                    "Reloaded the certificate of endpoint '{}' from {}",
                    self.endpoint,
                    self.source.path.display()
                );
                Refreshed::Reloaded
            }
            Err(e) => {
                log::error!("{e}; the previous certificate stays in use");
                Refreshed::Failed
            }
        }
    }
}

/// Checks every slot each [`WATCH_INTERVAL`] until `stop` is readable.
pub(crate) fn watch(slots: Vec<Arc<CertSlot>>, stop: &std::os::fd::OwnedFd) {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let ts = Timespec {
        tv_sec: WATCH_INTERVAL.as_secs() as _,
        tv_nsec: WATCH_INTERVAL.subsec_nanos() as _,
    };
    loop {
        let mut fds = [PollFd::new(stop, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => {}
            Ok(_) => return,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                log::error!("certificate watcher: poll failed: {e}");
                return;
            }
        }
        for s in &slots {
            s.refresh(false);
        }
    }
}
