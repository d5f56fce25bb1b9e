//! Reading files: block locations from the master, then one ReadBlock
//! stream per block from a worker, or the block file itself when the worker
//! shares this host.

use std::sync::Arc;

use crate::error::{Code, Error, Result};
use crate::fs::Client;

/// An open file for positional reads.
pub struct FileReader {
    client: Arc<Client>,
    path: String,
    len: u64,
}

impl FileReader {
    pub fn open(client: Arc<Client>, path: &str) -> Result<FileReader> {
        let _ = (&client, path);
        Err(Error::new(Code::Unsupported, "reading files is not implemented yet").with_path(path))
    }

    /// The file's length when it was opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Reads up to `buf.len()` bytes at `offset`; fewer only at the end of
    /// the file, 0 at or past it.
    pub fn pread(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let _ = (&self.client, offset, buf);
        Err(Error::new(
            Code::Unsupported,
            "reading files is not implemented yet",
        ))
    }
}
