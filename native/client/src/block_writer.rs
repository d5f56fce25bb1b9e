//! Writing files: CreateFile or OpenFile, then per block an AddBlock and a
//! WriteBlock stream to each replica, then CompleteFile.

use std::sync::Arc;

use crate::error::{Code, Error, Result};
use crate::fs::Client;

/// How to open a file for writing.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// Replace an existing file (otherwise an existing file is an error).
    pub overwrite: bool,
    /// Add to the end of an existing file, creating it if missing.
    pub append: bool,
    /// Create missing parent directories.
    pub create_parent: bool,
    /// Block size of a new file; the configured default when `None`.
    pub block_size: Option<u64>,
    /// Replica count of a new file; the configured default when `None`.
    pub replicas: Option<i32>,
}

/// A file being written. Nothing is visible as complete until `close`.
pub struct FileWriter {
    client: Arc<Client>,
    path: String,
    pos: u64,
}

impl FileWriter {
    pub fn open(client: Arc<Client>, path: &str, options: &WriteOptions) -> Result<FileWriter> {
        let _ = (&client, options);
        Err(Error::new(Code::Unsupported, "writing files is not implemented yet").with_path(path))
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Bytes in the file so far, counting what this writer added.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    pub fn write(&mut self, buf: &[u8]) -> Result<()> {
        let _ = (&self.client, buf);
        Err(Error::new(
            Code::Unsupported,
            "writing files is not implemented yet",
        ))
    }

    /// Finishes the last block and completes the file.
    pub fn close(self) -> Result<()> {
        Err(Error::new(
            Code::Unsupported,
            "writing files is not implemented yet",
        ))
    }

    /// Cancels the open streams; the file stays incomplete.
    pub fn abort(self) {}
}
