//! The one error type of the client: what went wrong, where, and with whom.

use std::fmt;

use wire::ErrorKind;

/// What kind of failure this is: a Curvine server's answer, or a category of
/// the client's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// A server refused the request; the raw Curvine error kind.
    Server(i32),
    /// The caller passed something malformed.
    InvalidArgument,
    /// No server could be reached.
    Unavailable,
    /// The deadline passed before an answer came.
    Timeout,
    /// A peer sent bytes that do not decode as the Curvine protocol.
    Protocol,
    /// A local I/O failure.
    Io,
    /// Something this client or the server does not do.
    Unsupported,
    /// A configuration key this client does not know.
    UnknownOption,
}

impl Code {
    /// The server kind, when a server answered.
    pub fn server_kind(self) -> Option<ErrorKind> {
        match self {
            Code::Server(raw) => Some(ErrorKind::from_i32(raw)),
            _ => None,
        }
    }
}

/// A failed client operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
    /// The Curvine path the operation was about, if any.
    pub path: Option<String>,
    /// The `host:port` that answered or failed, if one did.
    pub endpoint: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            path: None,
            endpoint: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(Code::InvalidArgument, message)
    }

    pub fn protocol(message: impl Into<String>) -> Error {
        Error::new(Code::Protocol, message)
    }

    pub fn io(message: impl Into<String>) -> Error {
        Error::new(Code::Io, message)
    }

    /// A server's error reply.
    pub fn server(blob: &wire::ErrorBlob) -> Error {
        Error::new(Code::Server(blob.raw_kind), blob.message.clone())
    }

    pub fn with_path(mut self, path: impl Into<String>) -> Error {
        if self.path.is_none() {
            self.path = Some(path.into());
        }
        self
    }

    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Error {
        if self.endpoint.is_none() {
            self.endpoint = Some(endpoint.into());
        }
        self
    }

    pub fn is_server(&self, kind: ErrorKind) -> bool {
        self.code.server_kind() == Some(kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{path}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(kind) = self.code.server_kind() {
            write!(f, " ({kind:?}")?;
            if let Some(endpoint) = &self.endpoint {
                write!(f, " from {endpoint}")?;
            }
            f.write_str(")")?;
        } else if let Some(endpoint) = &self.endpoint {
            write!(f, " ({endpoint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
