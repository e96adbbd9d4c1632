//! [`StaticFiles`]: a handler that serves a directory tree, the way a production static
//! file server (nginx's `root` + `index` + `gzip_static`/`brotli_static`) does.
//!
//! What it does, in the order a request meets it:
//!
//! 1. **Method**: GET and HEAD; anything else is 405 with `Allow: GET, HEAD`.
//! 2. **Path**: the request path (the query is ignored) is split on `/`, each segment is
//!    percent-decoded and must be valid UTF-8 (else 400). A segment that is `.` or `..`,
//!    or that decodes to something holding `/`, `\` or NUL, is 400: there is no way to
//!    name anything above the root. Empty segments (`//`) are merged, as nginx does. A
//!    segment starting with `.` (a hidden file or directory) is 404 unless
//!    [`StaticFilesOptions::serve_hidden`].
//! 3. **Resolution**: the root directory is opened once, when the handler is built, and
//!    each path is opened relative to it with openat2(2) and `RESOLVE_BENEATH |
//!    RESOLVE_NO_MAGICLINKS`: the kernel follows symlinks but refuses every step out of
//!    the root, with no race between a check and the open. A step it refuses (an absolute
//!    symlink, or a `..` above the root, either of which may lead back inside) sends that
//!    path the userspace way: it is canonicalized (symlinks resolved) and must lie inside
//!    the canonical root, compared component by component (otherwise 404), and the
//!    canonical path is opened beneath the root again. So symlinks are followed exactly
//!    when they resolve inside the root. Where openat2 is unavailable (kernels before 5.6,
//!    seccomp filters that refuse it; probed once when the handler is built, and given up
//!    for good at the first ENOSYS) every path goes the userspace way and the canonical
//!    path is opened as such. The open file is stat'ed (one fstat) for its type, size and
//!    modification time. Only regular files are served: FIFOs, devices and sockets are
//!    404. As with nginx, a FIFO or device node inside the root is opened (non-blocking,
//!    never as a controlling terminal) before it is refused: keep device nodes out of the
//!    root, or mount it `nodev`.
//! 4. **Directories**: a directory URL without its trailing slash is redirected (301) to
//!    the slash form, query kept (nginx's behaviour); with the slash, its
//!    [`index`](StaticFilesOptions::index) file is opened directly (`dir/index.html`)
//!    and served, or 404 when there is none or what precedes the slash is not a
//!    directory. There are no directory listings.
//! 5. **Precompressed variants**: with [`precompressed`](StaticFilesOptions::precompressed),
//!    a `file.br` or `file.gz` next to the name in the URL (next to the index file for a
//!    directory URL; when the name is a symlink, next to the link, not its target) is
//!    served instead when the client's `Accept-Encoding` accepts `br` or `gzip` (the
//!    higher `q` wins, `br` on a tie; `q=0` refuses), with `Content-Encoding`, the
//!    original file's `Content-Type`, and the variant's own length and ETag.
//!    `Vary: Accept-Encoding` is sent whenever a variant exists, on the identity
//!    response too. A name found without variants is remembered for a second, so that
//!    its requests do not pay one failed open per coding each; a variant added next to a
//!    file already being served is picked up within that second.
//!    Variants are not checked for freshness against the original (as with nginx's
//!    `gzip_static`): keep them up to date.
//! 6. **Conditional requests** (RFC 9110 §13.2.2 order): `If-Match`, then
//!    `If-Unmodified-Since` (412 when they fail); `If-None-Match` (weak comparison, lists
//!    and `*`), or when it is absent `If-Modified-Since`, give 304 with the validators
//!    and no body.
//! 7. **Ranges**: one `Range: bytes=` range (`a-b`, `a-`, `-n`) on a GET gives 206 with
//!    `Content-Range`, the slice streamed from the file; a range that starts past the end
//!    gives 416 with `Content-Range: bytes */len`. Several ranges, another unit, or an
//!    invalid range (such as `bytes=5-2`) are ignored and the whole file is sent (RFC
//!    9110 §14.2 allows both). `If-Range` with the current strong ETag or exact
//!    `Last-Modified` date honours the range; anything else sends the whole file. On a
//!    precompressed variant the range applies to the variant's (compressed) bytes,
//!    consistent with its ETag and length.
//!
//! `Content-Type` comes from the extension of the name in the URL (the index file's for
//! a directory), as with nginx, not from a symlink's target; text types carry
//! `; charset=utf-8`, unknown extensions are `application/octet-stream`.
//!
//! Files are never read into memory: the body is a [`Body::from_file`] region (offset and
//! length) of the open file, so the server streams it under MinResponseDataRate, with
//! sendfile(2) where the connection allows.
//!
//! Errors: a missing file is 404, permission denied 403, any other I/O error 500 with an
//! error log line. Error bodies are a short `text/plain` line.
//!
//! ```no_run
//! use falconet::{Server, ServerOptions, StaticFiles};
//!
//! let files = StaticFiles::new("/var/www")?;
//! Server::new(ServerOptions::default(), files).run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{self, File, Metadata};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, UNIX_EPOCH};

use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_RANGE,
    CONTENT_TYPE, ETAG, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE,
    LAST_MODIFIED, LOCATION, RANGE, VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::body::Body;
use crate::handler::{Handler, Request, Response};

/// A header value made when the crate is compiled: no check of its bytes per request.
macro_rules! fixed {
    ($value:literal) => {
        const { HeaderValue::from_static($value) }
    };
}

/// Options of [`StaticFiles`]. Every field has a production default.
///
/// ```
/// use falconet::StaticFilesOptions;
///
/// let options = StaticFilesOptions {
///     cache_control: Some("public, max-age=3600".into()),
///     ..StaticFilesOptions::default()
/// };
/// assert_eq!(options.index, "index.html");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticFilesOptions {
    /// The file served for a directory URL (one that ends with `/`); a directory without
    /// it is 404 (no listings). Must be a plain file name (no `/`, not `.` or `..`).
    ///
    /// Default: `"index.html"`.
    pub index: String,
    /// Whether files and directories whose name starts with `.` (`.git`, `.env`,
    /// `.htpasswd`) are served. When false they are 404.
    ///
    /// Default: `false`.
    pub serve_hidden: bool,
    /// The `Cache-Control` value sent with every file response (200, 206 and 304), e.g.
    /// `"public, max-age=3600"`; `None` sends no `Cache-Control`.
    ///
    /// Default: `None`.
    pub cache_control: Option<String>,
    /// Whether precompressed siblings (`file.br`, `file.gz`) are served to clients whose
    /// `Accept-Encoding` accepts them.
    ///
    /// Default: `true`.
    pub precompressed: bool,
}

impl Default for StaticFilesOptions {
    fn default() -> Self {
        StaticFilesOptions {
            index: "index.html".to_string(),
            serve_hidden: false,
            cache_control: None,
            precompressed: true,
        }
    }
}

/// A [`Handler`] that serves the files under one directory (see the
/// [module documentation](self) for the full behaviour).
///
/// ```no_run
/// use falconet::{Server, ServerOptions, StaticFiles, StaticFilesOptions};
///
/// let files = StaticFiles::with_options(
///     "/srv/www",
///     StaticFilesOptions {
///         cache_control: Some("public, max-age=600".into()),
///         ..StaticFilesOptions::default()
///     },
/// )?;
/// let handle = Server::new(ServerOptions::default(), files).start()?;
/// # handle.shutdown(std::time::Duration::from_secs(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct StaticFiles {
    root: PathBuf,
    /// The root directory, opened once (`O_PATH`); requests are opened beneath it with
    /// openat2. `None` when openat2 is unavailable (the probe in [`open_root`] failed).
    root_fd: Option<OwnedFd>,
    /// Whether `root_fd` is used: cleared for good when openat2 fails with ENOSYS after
    /// construction; from then on paths are resolved with realpath.
    beneath: AtomicBool,
    index: String,
    serve_hidden: bool,
    cache_control: Option<HeaderValue>,
    precompressed: bool,
    /// Names found without any precompressed variant, and when: a request for one of them
    /// skips the variant lookups (one failed open per coding) until [`NO_VARIANT_TTL`]
    /// has passed. [`NO_VARIANT_ENTRIES`] slots, a name's slot chosen by its hash (a name
    /// pushes out the one that shared its slot).
    no_variant: Mutex<Vec<Option<NoVariant>>>,
}

/// How long a name found without precompressed variants is believed to have none: a
/// variant added next to a file already served is noticed within this time (nginx's
/// `open_file_cache_valid` and lighttpd's stat cache make the same trade).
const NO_VARIANT_TTL: Duration = Duration::from_secs(1);
/// A name found without precompressed variants, and when.
type NoVariant = (Box<str>, Instant);

/// The most names remembered without variants.
const NO_VARIANT_ENTRIES: usize = 256;

impl StaticFiles {
    /// Serves `root` with the default [`StaticFilesOptions`]. The root is canonicalized
    /// and opened once, here; it is an error if it does not exist or is not a directory.
    /// Requests are resolved beneath the directory opened here: one renamed into its
    /// place later is served once the handler is built again (where openat2 is
    /// unavailable, paths are resolved by name and follow such a rename at once).
    ///
    /// ```no_run
    /// let files = falconet::StaticFiles::new("./public")?;
    /// assert!(files.root().is_absolute());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(root: impl AsRef<Path>) -> io::Result<StaticFiles> {
        StaticFiles::with_options(root, StaticFilesOptions::default())
    }

    /// Serves `root` with `options`. Fails like [`new`](Self::new), and with
    /// `InvalidInput` when `options.index` is not a plain file name or
    /// `options.cache_control` is not a valid header value.
    ///
    /// ```no_run
    /// use falconet::{StaticFiles, StaticFilesOptions};
    ///
    /// let options = StaticFilesOptions { index: "default.htm".into(), ..Default::default() };
    /// let files = StaticFiles::with_options("/srv/www", options)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_options(
        root: impl AsRef<Path>,
        options: StaticFilesOptions,
    ) -> io::Result<StaticFiles> {
        let root = fs::canonicalize(root.as_ref())?;
        if !fs::metadata(&root)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("'{}' is not a directory", root.display()),
            ));
        }
        let index = options.index;
        if index.is_empty() || index == "." || index == ".." || index.contains(['/', '\\', '\0']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("index '{index}' is not a plain file name"),
            ));
        }
        let cache_control = match options.cache_control {
            Some(v) => Some(HeaderValue::try_from(v).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "cache_control is not a valid header value",
                )
            })?),
            None => None,
        };
        let root_fd = open_root(&root);
        Ok(StaticFiles {
            beneath: AtomicBool::new(root_fd.is_some()),
            root_fd,
            root,
            index,
            serve_hidden: options.serve_hidden,
            cache_control,
            precompressed: options.precompressed,
            no_variant: Mutex::new(Vec::new()),
        })
    }

    /// The canonical root directory files are served from.
    ///
    /// ```no_run
    /// let files = falconet::StaticFiles::new("/srv/www/")?;
    /// assert_eq!(files.root(), std::path::Path::new("/srv/www"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn serve(&self, req: &Request) -> Result<Response, Failure> {
        let path = req.uri().path();
        // The path relative to the root: the decoded segments joined with `/`.
        let mut rel = sanitize(path.as_bytes()).map_err(|_| Failure::BadRequest)?;
        if !self.serve_hidden && (rel.starts_with('.') || rel.contains("/.")) {
            return Err(Failure::NotFound);
        }
        // A directory URL names its index file directly, so a file or a missing directory
        // before the slash fails like a missing index (404).
        let trailing_slash = path.ends_with('/');
        let content_type = if trailing_slash {
            if !rel.is_empty() {
                rel.push('/');
            }
            rel.push_str(&self.index);
            content_type(&self.index)
        } else {
            content_type(rel.rsplit('/').next().unwrap_or(""))
        };
        let (file, meta) = match self.lookup(&rel)? {
            Entry::File(file, meta) => (file, meta),
            Entry::Dir if !trailing_slash => {
                return Ok(redirect_to_dir(&rel, req.uri().query()));
            }
            Entry::Dir | Entry::Other => return Err(Failure::NotFound),
        };

        // Precompressed variants, in the client's order of preference: one open for each
        // accepted coding until one exists; a coding the client refuses is only looked up
        // (for Vary) while no variant has been seen.
        let mut vary = false;
        let mut chosen = None;
        if self.precompressed && !self.known_without_variants(&rel) {
            let accept = AcceptEncoding::from_headers(req.headers());
            let base = rel.len();
            for enc in accept.preference() {
                rel.truncate(base);
                rel.push_str(enc.suffix());
                if chosen.is_none() && accept.accepts(enc) {
                    match self.lookup(&rel) {
                        Ok(Entry::File(f, m)) => {
                            vary = true;
                            chosen = Some((f, m, enc));
                        }
                        Err(Failure::Forbidden) => {
                            log::debug!("static files: variant '{rel}' is not readable");
                            vary = true;
                        }
                        _ => {}
                    }
                } else if !vary {
                    vary = self.is_file(&rel);
                }
                if vary && (chosen.is_some() || !accept.accepts_any()) {
                    break;
                }
            }
            if !vary {
                // Every coding was looked up and none exists.
                rel.truncate(base);
                self.remember_without_variants(&rel);
            }
        }
        let (file, meta, encoding) = match chosen {
            Some((f, m, enc)) => (f, m, Some(enc)),
            None => (file, meta, None),
        };
        let rep = Representation::new(file, &meta, encoding);

        // Most requests carry no validator and no range: one pass over the field names
        // tells, instead of a lookup for each of the six.
        let fields = ConditionalFields::of(req.headers());
        let precondition = if fields.preconditions {
            evaluate_preconditions(req.headers(), &rep)
        } else {
            Precondition::Proceed
        };
        if precondition == Precondition::Failed {
            return Err(Failure::PreconditionFailed);
        }
        let range =
            if fields.range && req.method() == Method::GET && if_range_holds(req.headers(), &rep) {
                req.headers()
                    .get(RANGE)
                    .map(|v| parse_range(v.as_bytes(), rep.len))
                    .unwrap_or(ByteRange::Ignore)
            } else {
                ByteRange::Ignore
            };

        let Representation {
            file,
            len,
            mtime,
            etag,
        } = rep;
        let mut headers = HeaderMap::new();
        // The tag's own bytes become the value (no copy).
        if let Ok(v) = HeaderValue::try_from(etag) {
            headers.insert(ETAG, v);
        }
        if let Ok(v) = HeaderValue::from_bytes(&crate::date::format(mtime)) {
            headers.insert(LAST_MODIFIED, v);
        }
        if let Some(cc) = &self.cache_control {
            headers.insert(CACHE_CONTROL, cc.clone());
        }
        if vary {
            headers.insert(VARY, fixed!("Accept-Encoding"));
        }
        if precondition == Precondition::NotModified {
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = StatusCode::NOT_MODIFIED;
            *resp.headers_mut() = headers;
            return Ok(resp);
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Some(enc) = encoding {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(enc.token()));
        }
        headers.insert(ACCEPT_RANGES, fixed!("bytes"));

        match range {
            ByteRange::Ignore => {
                let mut resp = Response::new(Body::from_file(file, 0, len));
                *resp.headers_mut() = headers;
                Ok(resp)
            }
            ByteRange::Satisfiable { start, end } => {
                let n = end - start + 1;
                if let Ok(v) = HeaderValue::try_from(format!("bytes {start}-{end}/{len}")) {
                    headers.insert(CONTENT_RANGE, v);
                }
                let mut resp = Response::new(Body::from_file(file, start, n));
                *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
                *resp.headers_mut() = headers;
                Ok(resp)
            }
            ByteRange::Unsatisfiable => {
                let mut resp = text(StatusCode::RANGE_NOT_SATISFIABLE, "Range Not Satisfiable\n");
                if let Ok(v) = HeaderValue::try_from(format!("bytes */{len}")) {
                    resp.headers_mut().insert(CONTENT_RANGE, v);
                }
                Ok(resp)
            }
        }
    }

    /// Opens what `rel` (sanitized segments joined with `/`) names under the root for
    /// reading, and tells what it is from the open file (one fstat).
    fn lookup(&self, rel: &str) -> Result<Entry, Failure> {
        let file = match self.open(rel, READ) {
            Ok(file) => file,
            // Serving needs read permission; telling a directory (301) or a special file
            // (404) from an unreadable file (403) does not: look again with O_PATH.
            Err(Failure::Forbidden) => {
                return match self.open(rel, PATH).map(|f| f.metadata()) {
                    Ok(Ok(m)) if m.is_dir() => Ok(Entry::Dir),
                    Ok(Ok(m)) if !m.is_file() => Ok(Entry::Other),
                    _ => Err(Failure::Forbidden),
                };
            }
            Err(f) => return Err(f),
        };
        let meta = file
            .metadata()
            .map_err(|e| classify(&e, &self.root.join(rel)))?;
        Ok(if meta.is_file() {
            Entry::File(file, meta)
        } else if meta.is_dir() {
            Entry::Dir
        } else {
            Entry::Other
        })
    }

    /// Whether `rel` names a regular file under the root (opened with O_PATH, which needs
    /// no read permission and opens no device, and stat'ed).
    fn is_file(&self, rel: &str) -> bool {
        self.open(rel, PATH)
            .is_ok_and(|f| f.metadata().is_ok_and(|m| m.is_file()))
    }

    /// Opens `rel` with `flags`, never outside the root: with openat2 beneath the root
    /// directory (one system call), or with [`open_canonical`](Self::open_canonical) when
    /// openat2 is unavailable or refuses a step out of the root that may come back in.
    fn open(&self, rel: &str, flags: OFlags) -> Result<File, Failure> {
        let dir = match &self.root_fd {
            Some(fd) if self.beneath.load(Ordering::Relaxed) => Some(fd.as_fd()),
            _ => None,
        };
        let fd = match dir {
            Some(dir) => match openat2(dir, rel, flags) {
                // An absolute symlink or a `..` above the root on the way: the kernel
                // refuses it, but the path may still lead back inside the root.
                Err(Errno::XDEV) => self.open_canonical(rel, flags, Some(dir)),
                Err(Errno::NOSYS) => {
                    log::warn!(
                        "static files: openat2 failed with ENOSYS; paths are resolved with realpath from now on"
                    );
                    self.beneath.store(false, Ordering::Relaxed);
                    self.open_canonical(rel, flags, None)
                }
                r => r.map_err(|e| classify(&e.into(), &self.root.join(rel))),
            },
            None => self.open_canonical(rel, flags, None),
        }?;
        Ok(File::from(fd))
    }

    /// The userspace way: canonicalizes the path under the root (realpath: a readlink per
    /// component), checks that it lies inside the canonical root (compared component by
    /// component; otherwise 404), and opens the canonical path. With `dir` the canonical
    /// path is opened beneath the root directory with openat2, so a symlink swapped in
    /// meanwhile leads nowhere outside either.
    fn open_canonical(
        &self,
        rel: &str,
        flags: OFlags,
        dir: Option<BorrowedFd<'_>>,
    ) -> Result<OwnedFd, Failure> {
        let path = self.root.join(rel);
        let canonical = fs::canonicalize(&path).map_err(|e| classify(&e, &path))?;
        let Some(inside) = inside_root(&canonical, &self.root) else {
            log::debug!(
                "static files: '{}' resolves outside the root to '{}'",
                path.display(),
                canonical.display()
            );
            return Err(Failure::NotFound);
        };
        let opened = match dir {
            Some(dir) if inside.as_os_str().is_empty() => openat2(dir, ".", flags),
            Some(dir) => openat2(dir, inside, flags),
            None => rustix::fs::open(&canonical, flags, Mode::empty()),
        };
        opened.map_err(|e| {
            if e == Errno::XDEV {
                log::debug!(
                    "static files: '{}' changed while it was opened",
                    path.display()
                );
                Failure::NotFound
            } else {
                classify(&e.into(), &canonical)
            }
        })
    }

    /// Whether `rel` was found without precompressed variants less than
    /// [`NO_VARIANT_TTL`] ago.
    fn known_without_variants(&self, rel: &str) -> bool {
        let Ok(slots) = self.no_variant.lock() else {
            return false;
        };
        matches!(slots.get(slot_of(rel)), Some(Some((name, at)))
            if **name == *rel && at.elapsed() < NO_VARIANT_TTL)
    }

    fn remember_without_variants(&self, rel: &str) {
        if let Ok(mut slots) = self.no_variant.lock() {
            if slots.is_empty() {
                slots.resize(NO_VARIANT_ENTRIES, None);
            }
            slots[slot_of(rel)] = Some((rel.into(), Instant::now()));
        }
    }

    /// Whether requests are opened with openat2 (false once it is found unavailable).
    #[cfg(test)]
    fn uses_openat2(&self) -> bool {
        self.root_fd.is_some() && self.beneath.load(Ordering::Relaxed)
    }

    /// This handler as it behaves where openat2 is unavailable.
    #[cfg(test)]
    fn without_openat2(self) -> StaticFiles {
        self.beneath.store(false, Ordering::Relaxed);
        self
    }
}

/// `path` relative to `root` when it lies inside it, both canonical (absolute, no `.` or
/// `..`, no repeated or trailing `/` but in the root directory `/` itself): what
/// `Path::strip_prefix` answers for them, compared as bytes at a component boundary
/// instead of component by component (half the cost of a request where openat2 is
/// unavailable).
fn inside_root<'a>(path: &'a Path, root: &Path) -> Option<&'a Path> {
    use std::os::unix::ffi::OsStrExt;
    let rest = path
        .as_os_str()
        .as_bytes()
        .strip_prefix(root.as_os_str().as_bytes())?;
    let rest = match rest {
        _ if root.as_os_str().as_bytes().ends_with(b"/") => rest,
        [] => rest,
        [b'/', tail @ ..] => tail,
        _ => return None,
    };
    Some(Path::new(std::ffi::OsStr::from_bytes(rest)))
}

/// The slot of `rel` among [`NO_VARIANT_ENTRIES`] (FNV-1a).
fn slot_of(rel: &str) -> usize {
    let h = rel.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (h % NO_VARIANT_ENTRIES as u64) as usize
}

/// How files are opened for serving: never blocking on a FIFO, never becoming a
/// controlling terminal.
const READ: OFlags = OFlags::RDONLY
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOCTTY)
    .union(OFlags::CLOEXEC);
/// How names are opened only to be stat'ed.
const PATH: OFlags = OFlags::PATH.union(OFlags::CLOEXEC);
/// openat2's resolution: symlinks are followed, but never out of the directory (nor
/// through `/proc` magic links); a step out fails with EXDEV.
const RESOLVE: ResolveFlags = ResolveFlags::BENEATH.union(ResolveFlags::NO_MAGICLINKS);

/// What a name under the root turned out to be.
enum Entry {
    /// A regular file, open for reading, and its metadata.
    File(File, Metadata),
    Dir,
    /// A FIFO, socket or device: never served.
    Other,
}

/// Opens the root directory (`O_PATH`) for openat2, or `None` where openat2 cannot be
/// used: a kernel before 5.6 (ENOSYS), a seccomp filter that refuses it (EPERM, EACCES),
/// or any other failure of a probe that opens the root beneath itself.
fn open_root(root: &Path) -> Option<OwnedFd> {
    let flags = PATH.union(OFlags::DIRECTORY);
    let dir = match rustix::fs::open(root, flags, Mode::empty()) {
        Ok(dir) => dir,
        Err(e) => {
            log::warn!(
                "static files: cannot open '{}' ({e}); paths are resolved with realpath",
                root.display()
            );
            return None;
        }
    };
    match rustix::fs::openat2(&dir, ".", flags, Mode::empty(), RESOLVE) {
        Ok(_) => Some(dir),
        Err(e) => {
            log::info!(
                "static files: openat2 is unavailable ({e}); paths are resolved with realpath"
            );
            None
        }
    }
}

/// openat2 beneath `dir` with [`RESOLVE`], retried a few times when the kernel asks to
/// (EAGAIN: a rename raced with a `..` lookup).
fn openat2<P: rustix::path::Arg + Copy>(
    dir: BorrowedFd<'_>,
    path: P,
    flags: OFlags,
) -> rustix::io::Result<OwnedFd> {
    let mut tries = 0;
    loop {
        match rustix::fs::openat2(dir, path, flags, Mode::empty(), RESOLVE) {
            Err(Errno::AGAIN) if tries < 4 => tries += 1,
            r => return r,
        }
    }
}

impl Handler for StaticFiles {
    fn handle(&self, req: Request) -> Response {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
            resp.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return resp;
        }
        match self.serve(&req) {
            Ok(resp) => resp,
            Err(f) => {
                log::debug!("static files: {} {} -> {f:?}", req.method(), req.uri());
                f.response()
            }
        }
    }
}

/// Why a request gets an error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    BadRequest,
    Forbidden,
    NotFound,
    PreconditionFailed,
    Internal,
}

impl Failure {
    fn response(self) -> Response {
        match self {
            Failure::BadRequest => text(StatusCode::BAD_REQUEST, "Bad Request\n"),
            Failure::Forbidden => text(StatusCode::FORBIDDEN, "Forbidden\n"),
            Failure::NotFound => text(StatusCode::NOT_FOUND, "Not Found\n"),
            Failure::PreconditionFailed => {
                text(StatusCode::PRECONDITION_FAILED, "Precondition Failed\n")
            }
            Failure::Internal => text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n"),
        }
    }
}

/// Maps an I/O error on `path` to a response; the server's own failures are logged.
fn classify(e: &io::Error, path: &Path) -> Failure {
    use io::ErrorKind::*;
    match e.kind() {
        NotFound | NotADirectory | IsADirectory => Failure::NotFound,
        PermissionDenied => Failure::Forbidden,
        // A symlink loop, a name too long, a socket (which open(2) refuses with ENXIO), a
        // device without a driver.
        _ if [Errno::LOOP, Errno::NAMETOOLONG, Errno::NXIO, Errno::NODEV]
            .iter()
            .any(|n| e.raw_os_error() == Some(n.raw_os_error())) =>
        {
            Failure::NotFound
        }
        _ => {
            log::error!("static files: '{}': {e}", path.display());
            Failure::Internal
        }
    }
}

/// A short `text/plain` response.
fn text(status: StatusCode, msg: &'static str) -> Response {
    let mut resp = Response::new(Body::from_static(msg.as_bytes()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// 301 to the slash form of a directory URL, rebuilt from the decoded segments of `rel`
/// (so a request for `//host` can never become a protocol-relative redirect), query kept.
fn redirect_to_dir(rel: &str, query: Option<&str>) -> Response {
    let mut location = String::with_capacity(64);
    for s in rel.split('/').filter(|s| !s.is_empty()) {
        location.push('/');
        percent_encode_segment(s, &mut location);
    }
    location.push('/');
    if let Some(q) = query {
        location.push('?');
        location.push_str(q);
    }
    let mut resp = text(StatusCode::MOVED_PERMANENTLY, "Moved Permanently\n");
    match HeaderValue::try_from(location) {
        Ok(v) => {
            resp.headers_mut().insert(LOCATION, v);
            resp
        }
        Err(_) => Failure::NotFound.response(),
    }
}

/// Appends `segment` to `out`, percent-encoding everything but RFC 3986 `pchar`s other
/// than `%`.
fn percent_encode_segment(segment: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in segment.as_bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// Why a request path was refused (always 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathError {
    /// Does not start with `/`.
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// A segment that is not UTF-8 once decoded.
    NotUtf8,
    /// A `.` or `..` segment.
    DotSegment,
    /// A segment holding `/`, `\` or NUL once decoded.
    ForbiddenByte,
}

/// The request path as a path relative to the root: its percent-decoded segments joined
/// with `/`, each of them safe to join under the root (never empty, `.` or `..`, never
/// holding `/`, `\` or NUL, UTF-8). Empty segments (from `//` or a trailing `/`) are
/// dropped; `/` gives the empty path.
fn sanitize(path: &[u8]) -> Result<String, PathError> {
    let rest = path.strip_prefix(b"/").ok_or(PathError::NotAbsolute)?;
    let mut out = Vec::with_capacity(rest.len());
    for raw in rest.split(|&b| b == b'/') {
        if raw.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(b'/');
        }
        let start = out.len();
        percent_decode(raw, &mut out)?;
        let decoded = &out[start..];
        if decoded.iter().any(|&b| b == b'/' || b == b'\\' || b == 0) {
            return Err(PathError::ForbiddenByte);
        }
        if decoded == b"." || decoded == b".." {
            return Err(PathError::DotSegment);
        }
    }
    // Segments joined by `/` are UTF-8 exactly when each of them is.
    String::from_utf8(out).map_err(|_| PathError::NotUtf8)
}

/// Appends `raw` percent-decoded to `out`.
fn percent_decode(raw: &[u8], out: &mut Vec<u8>) -> Result<(), PathError> {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let hi = raw.get(i + 1).and_then(|&b| hex(b));
            let lo = raw.get(i + 2).and_then(|&b| hex(b));
            match (hi, lo) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => return Err(PathError::BadEscape),
            }
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    Ok(())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The `Content-Type` for a file name, from its extension.
fn content_type(name: &str) -> &'static str {
    // The extension lowercased on the stack: every known one is at most 11 bytes.
    let mut lower = [0u8; 11];
    let ext = match name.rsplit_once('.') {
        Some((_, ext)) if ext.len() <= lower.len() => {
            let lower = &mut lower[..ext.len()];
            lower.copy_from_slice(ext.as_bytes());
            lower.make_ascii_lowercase();
            &*lower
        }
        _ => return "application/octet-stream",
    };
    match ext {
        b"html" | b"htm" => "text/html; charset=utf-8",
        b"css" => "text/css; charset=utf-8",
        b"js" | b"mjs" => "text/javascript; charset=utf-8",
        b"json" | b"map" => "application/json",
        b"webmanifest" => "application/manifest+json",
        b"txt" => "text/plain; charset=utf-8",
        b"xml" => "text/xml; charset=utf-8",
        b"csv" => "text/csv; charset=utf-8",
        b"md" => "text/markdown; charset=utf-8",
        b"svg" => "image/svg+xml",
        b"png" => "image/png",
        b"jpg" | b"jpeg" => "image/jpeg",
        b"gif" => "image/gif",
        b"webp" => "image/webp",
        b"avif" => "image/avif",
        b"ico" => "image/x-icon",
        b"wasm" => "application/wasm",
        b"pdf" => "application/pdf",
        b"woff" => "font/woff",
        b"woff2" => "font/woff2",
        b"ttf" => "font/ttf",
        b"otf" => "font/otf",
        b"mp4" => "video/mp4",
        b"webm" => "video/webm",
        b"mp3" => "audio/mpeg",
        b"ogg" => "audio/ogg",
        b"wav" => "audio/wav",
        b"zip" => "application/zip",
        b"gz" => "application/gzip",
        b"tar" => "application/x-tar",
        _ => "application/octet-stream",
    }
}

/// A content coding with a precompressed variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Br,
    Gzip,
}

impl Encoding {
    fn token(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Gzip => "gzip",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Encoding::Br => ".br",
            Encoding::Gzip => ".gz",
        }
    }
}

/// The client's `Accept-Encoding` weights (thousandths) for the codings we can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct AcceptEncoding {
    br: u16,
    gzip: u16,
}

impl AcceptEncoding {
    /// Without `Accept-Encoding`, only identity is sent (as nginx does).
    fn from_headers(headers: &HeaderMap) -> AcceptEncoding {
        let mut br = None;
        let mut gzip = None;
        let mut star = None;
        for value in headers.get_all(ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut parts = item.split(';');
                let coding = parts.next().unwrap_or("").trim();
                if coding.is_empty() {
                    continue;
                }
                let mut q = Some(1000);
                for param in parts {
                    if let Some((k, v)) = param.split_once('=') {
                        if k.trim().eq_ignore_ascii_case("q") {
                            q = parse_q(v.trim());
                        }
                    }
                }
                let Some(q) = q else { continue };
                let slot = if coding.eq_ignore_ascii_case("br") {
                    &mut br
                } else if coding.eq_ignore_ascii_case("gzip")
                    || coding.eq_ignore_ascii_case("x-gzip")
                {
                    &mut gzip
                } else if coding == "*" {
                    &mut star
                } else {
                    continue;
                };
                if slot.is_none() {
                    *slot = Some(q);
                }
            }
        }
        AcceptEncoding {
            br: br.or(star).unwrap_or(0),
            gzip: gzip.or(star).unwrap_or(0),
        }
    }

    fn accepts(self, enc: Encoding) -> bool {
        match enc {
            Encoding::Br => self.br > 0,
            Encoding::Gzip => self.gzip > 0,
        }
    }

    fn accepts_any(self) -> bool {
        self.br > 0 || self.gzip > 0
    }

    /// The codings to try, best first: the higher weight, `br` on a tie.
    fn preference(self) -> [Encoding; 2] {
        if self.gzip > self.br {
            [Encoding::Gzip, Encoding::Br]
        } else {
            [Encoding::Br, Encoding::Gzip]
        }
    }
}

/// A `qvalue` (RFC 9110 §12.4.2) in thousandths; `None` when malformed.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The file (or variant) being served with its validators.
struct Representation {
    file: File,
    len: u64,
    /// Modification time, seconds since the Unix epoch.
    mtime: u64,
    /// Strong entity tag, quotes included.
    etag: Vec<u8>,
}

impl Representation {
    fn new(file: File, meta: &Metadata, encoding: Option<Encoding>) -> Representation {
        let len = meta.len();
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Representation {
            file,
            len,
            mtime,
            etag: entity_tag(len, mtime, encoding),
        }
    }
}

/// The strong entity tag of a representation, quotes included: the length and the
/// modification time in hexadecimal, and the coding of a precompressed variant
/// (`"d-6553f100"`, `"1f4-6553f100-br"`), as nginx makes them. Written without the
/// formatting machinery, which costs more than the rest of a small file's handling.
fn entity_tag(len: u64, mtime: u64, encoding: Option<Encoding>) -> Vec<u8> {
    let (len, len_digits) = crate::hex::lower_hex(len);
    let (mtime, mtime_digits) = crate::hex::lower_hex(mtime);
    let suffix = match encoding {
        None => "",
        Some(Encoding::Br) => "-br",
        Some(Encoding::Gzip) => "-gz",
    };
    // The exact length: the bytes then become a header value as they are (`Bytes` takes
    // a vector whose capacity is its length without another allocation).
    let mut tag = Vec::with_capacity(3 + len_digits + mtime_digits + suffix.len());
    tag.push(b'"');
    tag.extend_from_slice(&len[..len_digits]);
    tag.push(b'-');
    tag.extend_from_slice(&mtime[..mtime_digits]);
    tag.extend_from_slice(suffix.as_bytes());
    tag.push(b'"');
    tag
}

/// Which of the fields that make a request conditional or partial it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct ConditionalFields {
    /// `If-Match`, `If-None-Match`, `If-Modified-Since` or `If-Unmodified-Since`.
    preconditions: bool,
    /// `Range` (`If-Range` counts only with it).
    range: bool,
}

impl ConditionalFields {
    fn of(headers: &HeaderMap) -> ConditionalFields {
        let mut found = ConditionalFields::default();
        for name in headers.keys() {
            if name == IF_MATCH
                || name == IF_NONE_MATCH
                || name == IF_MODIFIED_SINCE
                || name == IF_UNMODIFIED_SINCE
            {
                found.preconditions = true;
            } else if name == RANGE {
                found.range = true;
            }
        }
        found
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precondition {
    Proceed,
    NotModified,
    Failed,
}

/// RFC 9110 §13.2.2 steps 1–4 for a GET or HEAD of an existing representation.
fn evaluate_preconditions(headers: &HeaderMap, rep: &Representation) -> Precondition {
    if headers.contains_key(IF_MATCH) {
        if !etag_list_matches(headers, IF_MATCH, &rep.etag, true) {
            return Precondition::Failed;
        }
    } else if let Some(date) = single_date(headers, IF_UNMODIFIED_SINCE) {
        if rep.mtime > date {
            return Precondition::Failed;
        }
    }
    if headers.contains_key(IF_NONE_MATCH) {
        if etag_list_matches(headers, IF_NONE_MATCH, &rep.etag, false) {
            return Precondition::NotModified;
        }
    } else if let Some(date) = single_date(headers, IF_MODIFIED_SINCE) {
        if rep.mtime <= date {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

/// The date of a date-valued field, when there is exactly one valid one.
fn single_date(headers: &HeaderMap, name: http::header::HeaderName) -> Option<u64> {
    let mut values = headers.get_all(name).iter();
    let v = values.next()?;
    if values.next().is_some() {
        return None;
    }
    parse_http_date(v.to_str().ok()?)
}

/// Whether any entity tag in the (possibly repeated) list field `name` matches `ours`
/// (`*` matches any). `strong`: weak tags never match (If-Match); otherwise the weak
/// comparison (If-None-Match).
fn etag_list_matches(
    headers: &HeaderMap,
    name: http::header::HeaderName,
    ours: &[u8],
    strong: bool,
) -> bool {
    headers.get_all(name).iter().any(|v| {
        let v = v.as_bytes();
        if v.trim_ascii() == b"*" {
            return true;
        }
        EntityTags(v).any(|(weak, tag)| tag == ours && !(strong && weak))
    })
}

/// Iterates the entity tags of a list value as `(weak, "opaque-tag")`, quotes included;
/// stops at the first malformed element.
struct EntityTags<'a>(&'a [u8]);

impl<'a> Iterator for EntityTags<'a> {
    type Item = (bool, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let mut s = self.0;
        while let Some((&b, rest)) = s.split_first() {
            if b == b' ' || b == b'\t' || b == b',' {
                s = rest;
            } else {
                break;
            }
        }
        let weak = s.starts_with(b"W/");
        if weak {
            s = &s[2..];
        }
        if s.first() != Some(&b'"') {
            self.0 = &[];
            return None;
        }
        let Some(close) = s[1..].iter().position(|&b| b == b'"') else {
            self.0 = &[];
            return None;
        };
        let (tag, rest) = s.split_at(close + 2);
        self.0 = rest;
        Some((weak, tag))
    }
}

/// Whether a Range may be honoured given `If-Range` (RFC 9110 §13.1.5): true without
/// it; with it, only for the current strong ETag or the exact Last-Modified date.
fn if_range_holds(headers: &HeaderMap, rep: &Representation) -> bool {
    let Some(v) = headers.get(IF_RANGE) else {
        return true;
    };
    let v = v.as_bytes().trim_ascii();
    if v.starts_with(b"W/") {
        return false;
    }
    if v.starts_with(b"\"") {
        return v == rep.etag;
    }
    std::str::from_utf8(v)
        .ok()
        .and_then(parse_http_date)
        .is_some_and(|d| d == rep.mtime)
}

/// The outcome of a `Range` header for a representation of a known length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteRange {
    /// Send the whole representation (no usable single byte range).
    Ignore,
    /// Send bytes `start..=end`.
    Satisfiable { start: u64, end: u64 },
    /// 416: the range starts at or past the end.
    Unsatisfiable,
}

/// Parses a `Range` value (RFC 9110 §14.1.2) against a length: a single `bytes=` range
/// is honoured; other units, several ranges and syntactically invalid ranges (including
/// `last < first`) are ignored.
fn parse_range(value: &[u8], len: u64) -> ByteRange {
    let value = value.trim_ascii();
    let Some(unit_end) = value.iter().position(|&b| b == b'=') else {
        return ByteRange::Ignore;
    };
    if !value[..unit_end]
        .trim_ascii()
        .eq_ignore_ascii_case(b"bytes")
    {
        return ByteRange::Ignore;
    }
    let mut specs = value[unit_end + 1..]
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        return ByteRange::Ignore;
    };
    let Some(dash) = spec.iter().position(|&b| b == b'-') else {
        return ByteRange::Ignore;
    };
    let (first, last) = (&spec[..dash], &spec[dash + 1..]);
    if first.is_empty() {
        // Suffix range: the last `n` bytes.
        let Some(n) = digits(last) else {
            return ByteRange::Ignore;
        };
        if n == 0 || len == 0 {
            return ByteRange::Unsatisfiable;
        }
        return ByteRange::Satisfiable {
            start: len.saturating_sub(n),
            end: len - 1,
        };
    }
    let Some(start) = digits(first) else {
        return ByteRange::Ignore;
    };
    let end = if last.is_empty() {
        None
    } else {
        match digits(last) {
            Some(e) if e >= start => Some(e),
            _ => return ByteRange::Ignore,
        }
    };
    if start >= len {
        return ByteRange::Unsatisfiable;
    }
    let last_byte = len - 1;
    ByteRange::Satisfiable {
        start,
        end: end.map_or(last_byte, |e| e.min(last_byte)),
    }
}

/// A non-empty run of ASCII digits as a number, saturating at `u64::MAX`.
fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// Parses an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete RFC 850 and
/// asctime forms a recipient must accept. Seconds since the Unix epoch.
fn parse_http_date(s: &str) -> Option<u64> {
    let t: Vec<&str> = s.split_ascii_whitespace().collect();
    let (day, month, year, time) = match t.as_slice() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        [wd, d, m, y, hms, "GMT"] if wd.ends_with(',') && y.len() == 4 => {
            (*d, *m, number(y)?, *hms)
        }
        // Sunday, 06-Nov-94 08:49:37 GMT
        [wd, dmy, hms, "GMT"] if wd.ends_with(',') => {
            let mut p = dmy.split('-');
            let (d, m, y) = (p.next()?, p.next()?, p.next()?);
            if p.next().is_some() || y.len() != 2 {
                return None;
            }
            let y = number(y)?;
            (d, m, if y < 70 { 2000 + y } else { 1900 + y }, *hms)
        }
        // Sun Nov  6 08:49:37 1994
        [_, m, d, hms, y] if y.len() == 4 => (*d, *m, number(y)?, *hms),
        _ => return None,
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|&m| m == month)? as u64 + 1;
    if day.is_empty() || day.len() > 2 {
        return None;
    }
    let day = number(day)?;
    let mut hms = time.split(':');
    let (h, m, sec) = (hms.next()?, hms.next()?, hms.next()?);
    if hms.next().is_some() || h.len() != 2 || m.len() != 2 || sec.len() != 2 {
        return None;
    }
    let (h, m, sec) = (number(h)?, number(m)?, number(sec)?);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 || year < 1970 {
        return None;
    }
    // Days from civil (H. Hinnant), March-based years.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

fn number(s: &str) -> Option<u64> {
    if s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &[u8]) -> Result<Vec<String>, PathError> {
        sanitize(path).map(|rel| {
            rel.split('/')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
    }

    #[test]
    fn sanitize_splits_and_decodes() {
        assert_eq!(segs(b"/"), Ok(vec![]));
        assert_eq!(segs(b"/a/b.txt"), Ok(vec!["a".into(), "b.txt".into()]));
        assert_eq!(segs(b"//a///b/"), Ok(vec!["a".into(), "b".into()]));
        assert_eq!(segs(b"/a%20b"), Ok(vec!["a b".into()]));
        assert_eq!(segs(b"/caf%C3%A9"), Ok(vec!["caf\u{e9}".into()]));
        assert_eq!(segs(b"/caf\xC3\xA9"), Ok(vec!["caf\u{e9}".into()]));
        assert_eq!(segs(b"/..a/b..").map(|v| v.len()), Ok(2));
        assert_eq!(segs(b"/.hidden"), Ok(vec![".hidden".into()]));
    }

    #[test]
    fn sanitize_refuses_every_way_out() {
        assert_eq!(segs(b"/.."), Err(PathError::DotSegment));
        assert_eq!(segs(b"/a/../../etc/passwd"), Err(PathError::DotSegment));
        assert_eq!(segs(b"/."), Err(PathError::DotSegment));
        assert_eq!(segs(b"/%2e%2e/etc"), Err(PathError::DotSegment));
        assert_eq!(segs(b"/%2E%2E/etc"), Err(PathError::DotSegment));
        assert_eq!(segs(b"/.%2e/etc"), Err(PathError::DotSegment));
        assert_eq!(segs(b"/..%2fetc"), Err(PathError::ForbiddenByte));
        assert_eq!(segs(b"/a%2fb"), Err(PathError::ForbiddenByte));
        assert_eq!(segs(b"/a%2Fb"), Err(PathError::ForbiddenByte));
        assert_eq!(segs(b"/..\\etc"), Err(PathError::ForbiddenByte));
        assert_eq!(segs(b"/a%5c..%5cb"), Err(PathError::ForbiddenByte));
        assert_eq!(segs(b"/a%00.txt"), Err(PathError::ForbiddenByte));
        assert_eq!(segs(b"/a\x00"), Err(PathError::ForbiddenByte));
        assert_eq!(segs(b"etc/passwd"), Err(PathError::NotAbsolute));
        assert_eq!(segs(b""), Err(PathError::NotAbsolute));
        assert_eq!(segs(b"/%zz"), Err(PathError::BadEscape));
        assert_eq!(segs(b"/%2"), Err(PathError::BadEscape));
        assert_eq!(segs(b"/a%"), Err(PathError::BadEscape));
        assert_eq!(segs(b"/%C3%28"), Err(PathError::NotUtf8));
        assert_eq!(segs(b"/%FF"), Err(PathError::NotUtf8));
        assert_eq!(segs(b"/\xC3"), Err(PathError::NotUtf8));
    }

    #[test]
    fn sanitized_paths_stay_under_the_root() {
        // `//etc/passwd` joins below the root; it never replaces it.
        let root = Path::new("/srv/www");
        let mut p = root.to_path_buf();
        p.extend(segs(b"//etc/passwd").unwrap());
        assert_eq!(p, Path::new("/srv/www/etc/passwd"));
    }

    #[test]
    fn range_forms() {
        use ByteRange::*;
        let r = |v: &[u8]| parse_range(v, 10);
        assert_eq!(r(b"bytes=0-0"), Satisfiable { start: 0, end: 0 });
        assert_eq!(r(b"bytes=0-9"), Satisfiable { start: 0, end: 9 });
        assert_eq!(r(b"bytes=9-9"), Satisfiable { start: 9, end: 9 });
        assert_eq!(r(b"bytes=2-5"), Satisfiable { start: 2, end: 5 });
        assert_eq!(r(b"bytes=3-"), Satisfiable { start: 3, end: 9 });
        assert_eq!(r(b"bytes=5-100"), Satisfiable { start: 5, end: 9 });
        assert_eq!(r(b"bytes=-3"), Satisfiable { start: 7, end: 9 });
        assert_eq!(r(b"bytes=-10"), Satisfiable { start: 0, end: 9 });
        assert_eq!(r(b"bytes=-100"), Satisfiable { start: 0, end: 9 });
        assert_eq!(r(b"BYTES = 1-2 "), Satisfiable { start: 1, end: 2 });
        assert_eq!(r(b"bytes=1-2,"), Satisfiable { start: 1, end: 2 });
        assert_eq!(
            r(b"bytes=0-99999999999999999999999"),
            Satisfiable { start: 0, end: 9 }
        );
    }

    #[test]
    fn range_unsatisfiable() {
        use ByteRange::*;
        assert_eq!(parse_range(b"bytes=10-", 10), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=10-20", 10), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=-0", 10), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=-5", 0), Unsatisfiable);
        assert_eq!(
            parse_range(b"bytes=99999999999999999999999-", 10),
            Unsatisfiable
        );
    }

    #[test]
    fn range_ignored() {
        use ByteRange::*;
        let r = |v: &[u8]| parse_range(v, 10);
        assert_eq!(r(b"bytes=5-2"), Ignore);
        assert_eq!(r(b"bytes=0-1,3-4"), Ignore);
        assert_eq!(r(b"bytes=0-1, -2"), Ignore);
        assert_eq!(r(b"items=0-1"), Ignore);
        assert_eq!(r(b"bytes="), Ignore);
        assert_eq!(r(b"bytes=-"), Ignore);
        assert_eq!(r(b"bytes=a-b"), Ignore);
        assert_eq!(r(b"bytes=1"), Ignore);
        assert_eq!(r(b"bytes=+1-2"), Ignore);
        assert_eq!(r(b"bytes=1--2"), Ignore);
        assert_eq!(r(b"bytes 0-1"), Ignore);
        assert_eq!(r(b""), Ignore);
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Sun Nov  6 08:49:37 1994"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        for secs in [0, 951_782_400, 1_795_222_861, 4_102_444_800 + 86_399] {
            let s = crate::date::format(secs);
            assert_eq!(
                parse_http_date(std::str::from_utf8(&s).unwrap()),
                Some(secs)
            );
        }
        for bad in [
            "",
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Wed, 31 Dec 1969 23:59:59 GMT",
            "Sun, 06 Nov 99999 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn q_values() {
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("0.001"), Some(1));
        assert_eq!(parse_q("1.5"), None);
        assert_eq!(parse_q("0.0001"), None);
        assert_eq!(parse_q("abc"), None);
    }

    #[test]
    fn accept_encoding() {
        let ae = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            AcceptEncoding::from_headers(&h)
        };
        assert!(!AcceptEncoding::from_headers(&HeaderMap::new()).accepts_any());
        let a = ae("gzip, deflate, br");
        assert!(a.accepts(Encoding::Br) && a.accepts(Encoding::Gzip));
        assert_eq!(a.preference()[0], Encoding::Br);
        let a = ae("br;q=0, gzip");
        assert!(!a.accepts(Encoding::Br) && a.accepts(Encoding::Gzip));
        let a = ae("br;q=0.5, gzip;q=0.9");
        assert_eq!(a.preference()[0], Encoding::Gzip);
        let a = ae("*");
        assert!(a.accepts(Encoding::Br) && a.accepts(Encoding::Gzip));
        let a = ae("*;q=0, gzip");
        assert!(!a.accepts(Encoding::Br) && a.accepts(Encoding::Gzip));
        let a = ae("identity");
        assert!(!a.accepts_any());
        let a = ae("x-gzip");
        assert!(a.accepts(Encoding::Gzip));
    }

    #[test]
    fn entity_tag_lists() {
        let tags: Vec<_> = EntityTags(b"\"a\", W/\"b\" ,\"c,d\"").collect();
        assert_eq!(
            tags,
            vec![
                (false, &b"\"a\""[..]),
                (true, &b"\"b\""[..]),
                (false, &b"\"c,d\""[..])
            ]
        );
        assert_eq!(EntityTags(b"\"a\", bogus, \"b\"").count(), 1);
        assert_eq!(EntityTags(b"\"unterminated").count(), 0);
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("A.JPG"), "image/jpeg");
        assert_eq!(content_type("app.mjs"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("x.tar.gz"), "application/gzip");
        assert_eq!(content_type("Makefile"), "application/octet-stream");
        assert_eq!(content_type("a.unknown"), "application/octet-stream");
        // The longest known extension, in any case; one byte longer is unknown.
        assert_eq!(
            content_type("site.WebManifest"),
            "application/manifest+json"
        );
        assert_eq!(
            content_type("site.webmanifests"),
            "application/octet-stream"
        );
        assert_eq!(content_type("a."), "application/octet-stream");
        assert_eq!(
            content_type("caf\u{e9}.T\u{e9}"),
            "application/octet-stream"
        );
    }

    #[test]
    fn io_errors_map_to_statuses() {
        let p = Path::new("/x");
        let e = |k| io::Error::from(k);
        assert_eq!(classify(&e(io::ErrorKind::NotFound), p), Failure::NotFound);
        assert_eq!(
            classify(&e(io::ErrorKind::PermissionDenied), p),
            Failure::Forbidden
        );
        assert_eq!(
            classify(
                &io::Error::from_raw_os_error(rustix::io::Errno::LOOP.raw_os_error()),
                p
            ),
            Failure::NotFound
        );
        assert_eq!(classify(&e(io::ErrorKind::Other), p), Failure::Internal);
    }

    /// A temporary tree: `<tmp>/root` (served) and `<tmp>/outside/secret.txt`.
    struct Tree(PathBuf);

    impl Tree {
        fn new(tag: &str) -> Tree {
            use std::sync::atomic::AtomicU64;
            static N: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "fn-files-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(dir.join("root")).unwrap();
            fs::create_dir_all(dir.join("outside")).unwrap();
            fs::write(dir.join("outside/secret.txt"), "SECRET").unwrap();
            Tree(dir)
        }

        fn root(&self) -> PathBuf {
            self.0.join("root")
        }

        fn file(&self, rel: &str, data: &str) {
            let p = self.root().join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, data).unwrap();
        }

        fn link(&self, target: impl AsRef<Path>, rel: &str) {
            std::os::unix::fs::symlink(target, self.root().join(rel)).unwrap();
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// GET `path` with `headers`: status, body, response headers.
    fn get(files: &StaticFiles, path: &str, headers: &[(&str, &str)]) -> (u16, String, HeaderMap) {
        let mut req = http::Request::builder().method(Method::GET).uri(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let (parts, body) = files.handle(req.body(Body::empty()).unwrap()).into_parts();
        let body = String::from_utf8(body.into_bytes().unwrap()).unwrap();
        (parts.status.as_u16(), body, parts.headers)
    }

    /// The same answers whether paths are opened with openat2 beneath the root or
    /// canonicalized in userspace (where openat2 is unavailable).
    #[test]
    fn openat2_and_the_realpath_fallback_give_the_same_answers() {
        let t = Tree::new("resolvers");
        t.file("hello.txt", "hello");
        t.file("index.html", "root index");
        t.file("sub/index.html", "sub index");
        t.file("real/data.txt", "real data");
        t.file("app.js", "identity");
        t.file("app.js.br", "BR");
        t.file("app.js.gz", "GZ");
        t.file("lib.js", "lib identity");
        t.file(".hidden", "hidden");
        t.link("real/data.txt", "alias.txt");
        t.link("../real/data.txt", "sub/up.txt");
        t.link(t.root().join("real/data.txt"), "abs.txt");
        t.link(t.root().join("real"), "absdir");
        t.link("../root/real/data.txt", "roundtrip.txt");
        t.link("../outside/secret.txt", "out-rel.txt");
        t.link(t.0.join("outside/secret.txt"), "out-abs.txt");
        t.link("../../outside", "sub/escape");
        t.link("/etc", "etc");
        t.link("loop-b", "loop-a");
        t.link("loop-a", "loop-b");
        t.link("nowhere", "dangling");
        t.link("../outside/secret.txt", "lib.js.br");
        let _socket = std::os::unix::net::UnixListener::bind(t.root().join("s.sock")).unwrap();

        let beneath = StaticFiles::new(t.root()).unwrap();
        let probe = rustix::fs::openat2(
            rustix::fs::CWD,
            ".",
            PATH.union(OFlags::DIRECTORY),
            Mode::empty(),
            RESOLVE,
        );
        assert_eq!(beneath.uses_openat2(), probe.is_ok(), "{probe:?}");
        let fallback = StaticFiles::new(t.root()).unwrap().without_openat2();
        assert!(!fallback.uses_openat2());

        /// Path, request headers, status, body.
        type Case = (
            &'static str,
            &'static [(&'static str, &'static str)],
            u16,
            &'static str,
        );
        let cases: &[Case] = &[
            ("/hello.txt", &[], 200, "hello"),
            ("/hello.txt", &[("range", "bytes=1-3")], 206, "ell"),
            ("/hello.txt", &[("range", "bytes=-2")], 206, "lo"),
            ("/", &[], 200, "root index"),
            ("/sub/", &[], 200, "sub index"),
            ("/sub", &[], 301, "Moved Permanently\n"),
            ("/hello.txt/", &[], 404, "Not Found\n"),
            ("/missing", &[], 404, "Not Found\n"),
            ("/missing/", &[], 404, "Not Found\n"),
            ("/real/", &[], 404, "Not Found\n"),
            ("/alias.txt", &[], 200, "real data"),
            ("/sub/up.txt", &[], 200, "real data"),
            ("/abs.txt", &[], 200, "real data"),
            ("/absdir/data.txt", &[], 200, "real data"),
            ("/roundtrip.txt", &[], 200, "real data"),
            ("/out-rel.txt", &[], 404, "Not Found\n"),
            ("/out-abs.txt", &[], 404, "Not Found\n"),
            ("/sub/escape/secret.txt", &[], 404, "Not Found\n"),
            ("/sub/escape/", &[], 404, "Not Found\n"),
            ("/sub/escape", &[], 404, "Not Found\n"),
            ("/etc/passwd", &[], 404, "Not Found\n"),
            ("/loop-a", &[], 404, "Not Found\n"),
            ("/dangling", &[], 404, "Not Found\n"),
            ("/s.sock", &[], 404, "Not Found\n"),
            ("/.hidden", &[], 404, "Not Found\n"),
            ("/../outside/secret.txt", &[], 400, "Bad Request\n"),
            ("/sub/../hello.txt", &[], 400, "Bad Request\n"),
            ("/%2e%2e/outside/secret.txt", &[], 400, "Bad Request\n"),
            ("/app.js", &[], 200, "identity"),
            ("/app.js", &[("accept-encoding", "gzip, br")], 200, "BR"),
            ("/app.js", &[("accept-encoding", "gzip")], 200, "GZ"),
            (
                "/app.js",
                &[("accept-encoding", "br;q=0.1, gzip")],
                200,
                "GZ",
            ),
            ("/lib.js", &[("accept-encoding", "br")], 200, "lib identity"),
        ];
        for files in [&beneath, &fallback] {
            let how = if files.uses_openat2() {
                "openat2"
            } else {
                "realpath"
            };
            for &(path, headers, status, body) in cases {
                let (s, b, h) = get(files, path, headers);
                assert_eq!((s, b.as_str()), (status, body), "{how}: {path} {headers:?}");
                assert!(!b.contains("SECRET"), "{how}: {path}");
                let encoding = h.get(CONTENT_ENCODING).map(|v| v.to_str().unwrap());
                match body {
                    "BR" => assert_eq!(encoding, Some("br"), "{how}: {path}"),
                    "GZ" => assert_eq!(encoding, Some("gzip"), "{how}: {path}"),
                    _ => assert_eq!(encoding, None, "{how}: {path}"),
                }
                let vary = path == "/app.js";
                assert_eq!(h.contains_key(VARY), vary, "{how}: {path} {headers:?}");
            }
            let (_, _, h) = get(files, "/sub?x=1", &[]);
            assert_eq!(h[LOCATION], "/sub/?x=1", "{how}");
        }
    }

    #[test]
    fn sockets_and_devices_without_drivers_are_404() {
        let p = Path::new("/x");
        for errno in [Errno::NXIO, Errno::NODEV] {
            let e = io::Error::from_raw_os_error(errno.raw_os_error());
            assert_eq!(classify(&e, p), Failure::NotFound, "{errno:?}");
        }
    }

    #[test]
    fn entity_tags_are_length_and_mtime_in_hex() {
        for (len, mtime) in [(0, 0), (13, 0x6553_f100), (0x10, 1), (u64::MAX, u64::MAX)] {
            assert_eq!(
                entity_tag(len, mtime, None),
                format!("\"{len:x}-{mtime:x}\"").into_bytes()
            );
            assert_eq!(
                entity_tag(len, mtime, Some(Encoding::Br)),
                format!("\"{len:x}-{mtime:x}-br\"").into_bytes()
            );
            assert_eq!(
                entity_tag(len, mtime, Some(Encoding::Gzip)),
                format!("\"{len:x}-{mtime:x}-gz\"").into_bytes()
            );
        }
        assert_eq!(entity_tag(500, 0x6553_f100, None), b"\"1f4-6553f100\"");
    }

    #[test]
    fn conditional_fields_are_found_among_others() {
        let of = |fields: &[(&str, &str)]| {
            let mut h = HeaderMap::new();
            for (n, v) in fields {
                h.append(
                    http::header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
            }
            ConditionalFields::of(&h)
        };
        let none = ConditionalFields::default();
        let pre = ConditionalFields {
            preconditions: true,
            range: false,
        };
        assert_eq!(of(&[]), none);
        assert_eq!(
            of(&[("host", "x"), ("accept", "*/*"), ("x-if-match", "\"a\"")]),
            none
        );
        // If-Range means nothing without Range.
        assert_eq!(of(&[("if-range", "\"a\"")]), none);
        for name in [
            "if-match",
            "if-none-match",
            "if-modified-since",
            "if-unmodified-since",
        ] {
            assert_eq!(
                of(&[("host", "x"), (name, "v"), ("accept", "*/*")]),
                pre,
                "{name}"
            );
        }
        assert_eq!(
            of(&[("range", "bytes=0-1"), ("host", "x")]),
            ConditionalFields {
                preconditions: false,
                range: true,
            }
        );
        assert_eq!(
            of(&[("If-None-Match", "\"a\""), ("Range", "bytes=0-1")]),
            ConditionalFields {
                preconditions: true,
                range: true,
            }
        );
    }

    #[test]
    fn inside_root_is_strip_prefix_for_canonical_paths() {
        let cases = [
            ("/srv/www", "/srv/www", Some("")),
            ("/srv/www", "/srv/www/a", Some("a")),
            ("/srv/www", "/srv/www/a/b.txt", Some("a/b.txt")),
            ("/srv/www", "/srv/wwwx/a", None),
            ("/srv/www", "/srv/www.old", None),
            ("/srv/www", "/srv", None),
            ("/srv/www", "/etc/passwd", None),
            ("/", "/", Some("")),
            ("/", "/etc/passwd", Some("etc/passwd")),
        ];
        for (root, path, want) in cases {
            let (root, path) = (Path::new(root), Path::new(path));
            assert_eq!(
                inside_root(path, root),
                want.map(Path::new),
                "{path:?} in {root:?}"
            );
            assert_eq!(
                inside_root(path, root),
                path.strip_prefix(root).ok(),
                "as strip_prefix: {path:?} in {root:?}"
            );
        }
    }

    #[test]
    fn redirect_location_is_rebuilt_and_encoded() {
        let r = redirect_to_dir("evil.com", None);
        assert_eq!(r.headers()[LOCATION], "/evil.com/");
        let r = redirect_to_dir("a b/caf\u{e9}?#", Some("x=1"));
        assert_eq!(r.headers()[LOCATION], "/a%20b/caf%C3%A9%3F%23/?x=1");
    }
}
