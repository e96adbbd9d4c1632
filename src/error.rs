//! The public error type: opaque, with `is_*` predicates.

use std::fmt;
use std::io;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Config,
    Bind,
    Io,
}

/// An error starting or running the server. Its message says what failed and how to
/// fix it, naming the configuration key, address or file involved.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    message: String,
    source: Option<io::Error>,
}

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Config,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn bind(message: impl Into<String>, source: io::Error) -> Self {
        Error {
            kind: Kind::Bind,
            message: message.into(),
            source: Some(source),
        }
    }

    pub(crate) fn io(message: impl Into<String>, source: io::Error) -> Self {
        Error {
            kind: Kind::Io,
            message: message.into(),
            source: Some(source),
        }
    }

    /// The configuration (options, config file or URLs) is invalid.
    pub fn is_config(&self) -> bool {
        self.kind == Kind::Config
    }

    /// An endpoint could not be bound (address in use, permission denied, ...).
    pub fn is_bind(&self) -> bool {
        self.kind == Kind::Bind
    }

    /// Another I/O failure (reading the config file, creating a thread, ...).
    pub fn is_io(&self) -> bool {
        self.kind == Kind::Io
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
