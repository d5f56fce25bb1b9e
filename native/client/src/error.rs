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
    /// A server's error text as it was sent, when `message` is a cleaned
    /// copy of it (for debug logs: it names the server's thread and source
    /// line).
    pub detail: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            path: None,
            endpoint: None,
            detail: None,
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

    /// A server's error reply, its text cleaned of what only the server's
    /// developers need (see `clean_server_text`).
    pub fn server(blob: &wire::ErrorBlob) -> Error {
        let message = clean_server_text(&blob.message);
        let detail = (message != blob.message).then(|| blob.message.clone());
        Error {
            detail,
            ..Error::new(Code::Server(blob.raw_kind), message)
        }
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

/// What a Curvine server wraps around each error it sends: a
/// `[thread] ERROR: ` prefix and a `(file.rs:line)` suffix, once per layer
/// that added context. Both go; the text between stays as it was.
pub fn clean_server_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while !rest.is_empty() {
        if let Some(after) = thread_prefix(rest) {
            rest = after;
            continue;
        }
        if let Some(after) = source_suffix(rest) {
            rest = after;
            continue;
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    let cleaned = out.trim();
    if cleaned.is_empty() {
        raw.trim().to_string()
    } else {
        cleaned.to_string()
    }
}

/// The text after a leading `[name] ERROR: `, if `s` starts with one.
fn thread_prefix(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?;
    let close = inner.find(']')?;
    if inner[..close].contains(['\n', '[']) {
        return None;
    }
    inner[close + 1..].strip_prefix(" ERROR: ")
}

/// The text after a leading `(path.rs:123)`, if `s` starts with one.
fn source_suffix(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('(')?;
    let close = inner.find(')')?;
    let (file, line) = inner[..close].rsplit_once(':')?;
    let plain_file =
        file.ends_with(".rs") && !file.contains(|c: char| c.is_whitespace() || c == '(');
    let digits = !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit());
    (plain_file && digits).then(|| &inner[close + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_loses_its_thread_and_source_location() {
        let raw = "[curvine-real-master] ERROR: Block size needs to be between 1048576 and \
                   107374182400(curvine-master/src/master/fs/master_filesystem.rs:384)";
        let e = Error::server(&wire::ErrorBlob {
            raw_kind: 10000,
            message: raw.into(),
        });
        assert_eq!(
            e.message,
            "Block size needs to be between 1048576 and 107374182400"
        );
        assert_eq!(e.detail.as_deref(), Some(raw));
        assert_eq!(
            e.with_path("/f").to_string(),
            "/f: Block size needs to be between 1048576 and 107374182400 (Common)"
        );

        assert_eq!(
            clean_server_text(
                "[curvine-real-worker] ERROR: Uninitialized(curvine-worker/src/worker/handler/read_handler.rs:184)"
            ),
            "Uninitialized"
        );
        // A layer of context each: every wrapper goes.
        assert_eq!(
            clean_server_text("[w-1] ERROR: open failed: [w-2] ERROR: No such file (os error 2)(a/b.rs:7)(c.rs:9)"),
            "open failed: No such file (os error 2)"
        );
    }

    #[test]
    fn other_text_is_kept() {
        for text in [
            "File /a/b not found",
            "odd (x.rs:y) and [t] WARN: kept",
            "ratio (3:4)",
            "(a.rs:1)",
        ] {
            let e = Error::server(&wire::ErrorBlob {
                raw_kind: 8,
                message: text.into(),
            });
            assert_eq!(e.message, text);
            assert_eq!(e.detail, None);
        }
    }
}
