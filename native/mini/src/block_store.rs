//! A worker's blocks, one file each under the worker's own directory.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use wire::{ErrorBlob, ErrorKind};

use crate::cluster::lock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// A write stream holds the block; `before` is the finalized length it
    /// had when the stream opened (None for a new block).
    Writing {
        before: Option<i64>,
    },
    Finalized,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    state: State,
    len: i64,
}

pub struct BlockStore {
    dir: PathBuf,
    /// Where short-circuit paths handed to clients say the blocks are.
    shown_dir: PathBuf,
    blocks: Mutex<HashMap<i64, Entry>>,
}

/// Capacity and free bytes of the file system that holds `dir`.
pub fn disk_usage(dir: &Path) -> io::Result<(i64, i64)> {
    let st = rustix::fs::statvfs(dir)?;
    let unit = if st.f_frsize > 0 {
        st.f_frsize
    } else {
        st.f_bsize
    };
    let capacity = st.f_blocks.saturating_mul(unit);
    let available = st.f_bavail.saturating_mul(unit);
    Ok((
        capacity.min(i64::MAX as u64) as i64,
        available.min(i64::MAX as u64) as i64,
    ))
}

fn io_error(what: &str, path: &Path, e: io::Error) -> ErrorBlob {
    ErrorBlob::new(ErrorKind::Io, format!("{what} {}: {e}", path.display()))
}

pub fn block_not_found(id: i64) -> ErrorBlob {
    ErrorBlob::new(
        ErrorKind::BlockNotFound,
        format!("Block {id} not found on this worker"),
    )
}

impl BlockStore {
    pub fn open(dir: PathBuf) -> io::Result<BlockStore> {
        fs::create_dir_all(&dir)?;
        Ok(BlockStore {
            shown_dir: dir.clone(),
            dir,
            blocks: Mutex::new(HashMap::new()),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Hands out block paths under `dir` instead of the real directory, as
    /// a worker whose data directory the client cannot see would.
    pub fn with_shown_dir(mut self, dir: PathBuf) -> BlockStore {
        self.shown_dir = dir;
        self
    }

    pub fn path_of(&self, id: i64) -> PathBuf {
        self.dir.join(format!("blk_{id}"))
    }

    /// The block's path as told to a client on this host.
    pub fn shown_path_of(&self, id: i64) -> PathBuf {
        self.shown_dir.join(format!("blk_{id}"))
    }

    /// Number of finalized blocks and the bytes they hold.
    pub fn usage(&self) -> (i64, i64) {
        let blocks = lock(&self.blocks);
        let finalized = blocks.values().filter(|e| e.state == State::Finalized);
        finalized.fold((0, 0), |(n, bytes), e| (n + 1, bytes + e.len))
    }

    /// Starts a write stream at `off` (the returned file is positioned
    /// there): a new block when `off` is 0 and the
    /// block is unknown, otherwise a finalized block reopened to append.
    pub fn begin_write(&self, id: i64, off: i64) -> Result<(File, PathBuf), ErrorBlob> {
        let path = self.path_of(id);
        let mut blocks = lock(&self.blocks);
        let before = match blocks.get(&id) {
            Some(e) if e.state == State::Finalized => {
                if off > e.len {
                    return Err(ErrorBlob::new(
                        ErrorKind::Common,
                        format!(
                            "Write offset {off} is past the end of block {id} ({} bytes)",
                            e.len
                        ),
                    ));
                }
                Some(e.len)
            }
            Some(_) => {
                return Err(ErrorBlob::new(
                    ErrorKind::BlockIsWriting,
                    format!("Block {id} is already being written"),
                ))
            }
            None if off == 0 => None,
            None => return Err(block_not_found(id)),
        };

        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_error("cannot open block file", &path, e))?;
        file.seek(SeekFrom::Start(off as u64))
            .map_err(|e| io_error("cannot seek in block file", &path, e))?;
        blocks.insert(
            id,
            Entry {
                state: State::Writing { before },
                len: before.unwrap_or(0),
            },
        );
        Ok((file, path))
    }

    /// Ends a write stream: the block is `len` bytes long from now on.
    pub fn finalize(&self, id: i64, len: i64) -> Result<(), ErrorBlob> {
        let path = self.path_of(id);
        let mut blocks = lock(&self.blocks);
        match blocks.get(&id) {
            Some(e) if matches!(e.state, State::Writing { .. }) => {}
            _ => {
                return Err(ErrorBlob::new(
                    ErrorKind::Common,
                    format!("Block {id} has no open write stream"),
                ))
            }
        }

        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| io_error("cannot open block file", &path, e))?;
        // No fsync: a test cluster trades durability for speed.
        file.set_len(len as u64)
            .map_err(|e| io_error("cannot finalize block file", &path, e))?;
        blocks.insert(
            id,
            Entry {
                state: State::Finalized,
                len,
            },
        );
        Ok(())
    }

    /// Drops what a write stream did: a new block disappears, a reopened
    /// one goes back to its old length.
    pub fn cancel(&self, id: i64) {
        let path = self.path_of(id);
        let mut blocks = lock(&self.blocks);
        let Some(Entry {
            state: State::Writing { before },
            ..
        }) = blocks.get(&id).copied()
        else {
            return;
        };
        match before {
            None => {
                blocks.remove(&id);
                let _ = fs::remove_file(&path);
            }
            Some(len) => {
                if let Ok(f) = OpenOptions::new().write(true).open(&path) {
                    let _ = f.set_len(len as u64);
                }
                blocks.insert(
                    id,
                    Entry {
                        state: State::Finalized,
                        len,
                    },
                );
            }
        }
    }

    /// Opens a block for reading. Returns the file, its stored length and
    /// whether it is finalized (a short-circuit path is only handed out
    /// for finalized blocks).
    pub fn open_read(&self, id: i64) -> Result<(File, i64, bool), ErrorBlob> {
        let path = self.path_of(id);
        let entry = lock(&self.blocks)
            .get(&id)
            .copied()
            .ok_or_else(|| block_not_found(id))?;
        let file = File::open(&path).map_err(|e| io_error("cannot open block file", &path, e))?;
        let stored = file
            .metadata()
            .map(|m| m.len() as i64)
            .map_err(|e| io_error("cannot stat block file", &path, e))?;
        Ok((file, stored, entry.state == State::Finalized))
    }

    /// Forgets a block and removes its file.
    pub fn remove(&self, id: i64) {
        if lock(&self.blocks).remove(&id).is_some() {
            let _ = fs::remove_file(self.path_of(id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn write_finalize_cancel_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlockStore::open(dir.path().join("w")).unwrap();
        let (mut f, path) = store.begin_write(5, 0).unwrap();
        f.write_all(b"hello").unwrap();
        store.finalize(5, 5).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"hello");
        assert_eq!(store.usage(), (1, 5));

        let (mut f, _) = store.begin_write(5, 5).unwrap();
        f.write_all(b"xx").unwrap();
        store.cancel(5);
        assert_eq!(fs::read(&path).unwrap(), b"hello");
        assert_eq!(store.begin_write(9, 3).unwrap_err().raw_kind, 29);

        store.remove(5);
        assert!(!path.exists());
        assert_eq!(store.open_read(5).unwrap_err().raw_kind, 29);
    }
}
