//! Files in the namespace: create, open, blocks, commits and completion.

use std::collections::BTreeSet;

use wire::proto::{CommitBlockProto, CreateFileOptsProto, FileStatusProto, FileTypeProto};
use wire::{ErrorBlob, ErrorKind};

use super::{
    already_exists, common, components, not_found, now_ms, BlockMeta, FileMeta, InodeKind,
    Namespace, NewAttrs, NsResult,
};

/// Open flags (Linux `O_*` values, as Curvine uses them).
pub mod flags {
    pub const ACCMODE: u32 = 0x3;
    pub const RDONLY: u32 = 0x0;
    pub const CREAT: u32 = 0x40;
    pub const EXCL: u32 = 0x80;
    pub const TRUNC: u32 = 0x200;
}

/// Bounds a create request is checked against.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub min_block_size: i64,
    pub max_block_size: i64,
    pub max_replicas: i32,
}

/// A file's status with its blocks, for block-location answers.
#[derive(Clone, Debug)]
pub struct FileBlocks {
    pub status: FileStatusProto,
    pub file_type: FileTypeProto,
    pub storage_type: i32,
    pub blocks: Vec<BlockMeta>,
}

/// What AddBlock hands out: a block and where it should be written.
#[derive(Clone, Debug)]
pub struct NewBlock {
    pub block: BlockMeta,
    pub file_type: FileTypeProto,
    pub storage_type: i32,
}

fn not_a_file(path: &str) -> ErrorBlob {
    common(format!("{path} is a directory, not a file"))
}

impl Namespace {
    /// The file inode for a request that names it by id (when positive) or
    /// by path.
    pub fn resolve_file(&self, path: &str, inode_id: Option<i64>) -> NsResult<i64> {
        let id = match inode_id {
            Some(id) if id > 0 => {
                if !self.inodes.contains_key(&id) {
                    return Err(ErrorBlob::new(
                        ErrorKind::FileNotFound,
                        format!("File {path} does not exist (inode_id={id})"),
                    ));
                }
                id
            }
            _ => self.resolve(path)?,
        };
        if self.inodes[&id].is_dir() {
            return Err(not_a_file(path));
        }
        Ok(id)
    }

    fn file_meta(&mut self, id: i64) -> &mut FileMeta {
        // Callers only pass ids that resolve_file returned.
        match self.inodes.get_mut(&id).map(|i| &mut i.kind) {
            Some(InodeKind::File(f)) => f,
            _ => unreachable!("inode {id} was resolved as a file"),
        }
    }

    /// CreateFile: a new, empty file held open by `opts.client_name`.
    pub fn create_file(
        &mut self,
        path: &str,
        opts: &CreateFileOptsProto,
        open_flags: u32,
        limits: &Limits,
    ) -> NsResult<(FileStatusProto, Vec<i64>)> {
        if open_flags & flags::CREAT == 0 {
            return Err(common(format!(
                "Creating {path} requires the O_CREAT flag (flags {open_flags:#x})"
            )));
        }
        if opts.replicas < 1 || opts.replicas >= limits.max_replicas {
            return Err(common(format!(
                "The replica number {} needs to be between 1 and {}",
                opts.replicas, limits.max_replicas
            )));
        }
        if opts.block_size < limits.min_block_size || opts.block_size >= limits.max_block_size {
            return Err(common(format!(
                "Block size {} needs to be between {} and {}",
                opts.block_size, limits.min_block_size, limits.max_block_size
            )));
        }

        let parts = components(path)?;
        if parts.is_empty() {
            return Err(common("/ already exists as a dir"));
        }
        if let Some(id) = self.lookup(&parts) {
            if self.inodes[&id].is_dir() {
                return Err(common(format!("{path} already exists as a dir")));
            }
            if open_flags & flags::EXCL != 0 || open_flags & flags::TRUNC == 0 {
                return Err(already_exists(path));
            }
            let dropped = self.overwrite(id, opts);
            return Ok((self.status_of(id, path), dropped));
        }

        let attrs = NewAttrs {
            mode: opts.mode,
            owner: opts.owner.clone(),
            group: opts.group.clone(),
            x_attr: opts.x_attr.clone(),
            storage_policy: Some(opts.storage_policy),
        };
        let parent = self.parent_dir(path, &parts, opts.create_parent, &NewAttrs::default())?;
        let meta = FileMeta {
            file_type: FileTypeProto::try_from(opts.file_type).unwrap_or(FileTypeProto::File),
            len: 0,
            replicas: opts.replicas,
            block_size: opts.block_size,
            blocks: Vec::new(),
            writers: BTreeSet::from([opts.client_name.clone()]),
            next_block_seq: 0,
            target: None,
        };
        let id = self.insert_child(
            parent,
            parts[parts.len() - 1],
            InodeKind::File(meta),
            &attrs,
        );
        Ok((self.status_of(id, path), Vec::new()))
    }

    /// Empties an existing file for a new writer; returns the dropped blocks.
    fn overwrite(&mut self, id: i64, opts: &CreateFileOptsProto) -> Vec<i64> {
        let now = now_ms();
        let Some(inode) = self.inodes.get_mut(&id) else {
            return Vec::new();
        };
        inode.mtime = now;
        // An overwritten file starts afresh, as a new one does.
        inode.ctime = None;
        inode.storage_policy = opts.storage_policy;
        let Some(f) = inode.file_mut() else {
            return Vec::new();
        };
        let dropped = f.blocks.drain(..).map(|b| b.id).collect();
        f.len = 0;
        f.replicas = opts.replicas;
        f.block_size = opts.block_size;
        f.writers.insert(opts.client_name.clone());
        dropped
    }

    /// OpenFile in a write mode: create, truncate or reopen for append.
    /// Returns the file's blocks and the ids of blocks a truncate dropped.
    pub fn open_for_write(
        &mut self,
        path: &str,
        opts: &CreateFileOptsProto,
        open_flags: u32,
        limits: &Limits,
    ) -> NsResult<(FileBlocks, Vec<i64>)> {
        let parts = components(path)?;
        let Some(id) = self.lookup(&parts) else {
            if open_flags & flags::CREAT == 0 {
                return Err(not_found(path));
            }
            let (status, _) = self.create_file(path, opts, open_flags, limits)?;
            let id = status.id;
            return Ok((self.file_blocks(path, id), Vec::new()));
        };
        if self.inodes[&id].is_dir() {
            return Err(common(format!("{path} is a directory")));
        }

        if open_flags & flags::TRUNC != 0 {
            let dropped = self.overwrite(id, opts);
            return Ok((self.file_blocks(path, id), dropped));
        }
        self.check_blocks(path, id)?;
        if let Some(inode) = self.inodes.get_mut(&id) {
            inode.ctime = Some(now_ms());
        }
        self.file_meta(id).writers.insert(opts.client_name.clone());
        Ok((self.file_blocks(path, id), Vec::new()))
    }

    /// A file's status and blocks, unchecked (for write opens and flushes).
    pub fn file_blocks(&self, path: &str, id: i64) -> FileBlocks {
        let inode = &self.inodes[&id];
        let (file_type, blocks) = match inode.file() {
            Some(f) => (f.file_type, f.blocks.clone()),
            None => (FileTypeProto::Dir, Vec::new()),
        };
        FileBlocks {
            status: self.status_of(id, path),
            file_type,
            storage_type: inode.storage_policy.storage_type,
            blocks,
        }
    }

    /// GetBlockLocations: every block but the last must be full. A file
    /// being written lists its uncommitted block too, with no locations and
    /// length 0, so a reader sees exactly the committed bytes.
    pub fn block_locations(&self, path: &str) -> NsResult<FileBlocks> {
        let id = self.resolve(path)?;
        self.check_blocks(path, id)?;
        Ok(self.file_blocks(path, id))
    }

    fn check_blocks(&self, path: &str, id: i64) -> NsResult<()> {
        let Some(f) = self.inodes[&id].file() else {
            return Err(not_a_file(path));
        };
        for (index, b) in f.blocks.iter().enumerate() {
            if index + 1 < f.blocks.len() && b.len != f.block_size {
                return Err(common(format!(
                    "Block {} of {path} is {} bytes, expected the block size {}",
                    b.id, b.len, f.block_size
                )));
            }
        }
        Ok(())
    }

    /// Applies commits, raises the length to `len` and checks that it is the
    /// sum of the block lengths. Nothing changes when the check fails.
    fn commit(
        &mut self,
        path: &str,
        id: i64,
        len: i64,
        commits: &[CommitBlockProto],
    ) -> NsResult<()> {
        let f = self.file_meta(id);
        let mut blocks = f.blocks.clone();
        for c in commits {
            let Some(b) = blocks.iter_mut().find(|b| b.id == c.block_id) else {
                return Err(common(format!(
                    "Block {} does not belong to {path}",
                    c.block_id
                )));
            };
            b.len = c.block_len;
            b.committed = true;
            for loc in &c.locations {
                if !b.locations.contains(&loc.worker_id) {
                    b.locations.push(loc.worker_id);
                }
            }
        }

        let new_len = f.len.max(len);
        let sum: i64 = blocks.iter().map(|b| b.len).sum();
        if sum != new_len {
            return Err(common(format!(
                "Complete len is not equal to file len, complete_len = {sum}, file_len = {new_len} ({path})"
            )));
        }
        f.blocks = blocks;
        f.len = new_len;
        Ok(())
    }

    /// AddBlock, first half: the block after `last_block` if it was already
    /// allocated (a retried request).
    pub fn allocated_successor(&self, id: i64, last_block: Option<i64>) -> Option<NewBlock> {
        let inode = self.inodes.get(&id)?;
        let f = inode.file()?;
        let next = match last_block {
            None => f.blocks.first(),
            Some(prev) => {
                let at = f.blocks.iter().position(|b| b.id == prev)?;
                f.blocks.get(at + 1)
            }
        };
        next.map(|b| NewBlock {
            block: b.clone(),
            file_type: f.file_type,
            storage_type: inode.storage_policy.storage_type,
        })
    }

    /// Replicas and block size of a file, for placement.
    pub fn file_shape(&self, id: i64) -> (i32, i64) {
        self.inodes[&id]
            .file()
            .map(|f| (f.replicas, f.block_size))
            .unwrap_or((1, 0))
    }

    /// AddBlock, second half: commits what the client finished and appends
    /// a new block placed on `workers`.
    pub fn add_block(
        &mut self,
        path: &str,
        id: i64,
        commits: &[CommitBlockProto],
        file_len: i64,
        workers: Vec<u32>,
    ) -> NsResult<NewBlock> {
        let f = self.file_meta(id);
        let block_id = (id << 24) | f.next_block_seq;
        f.next_block_seq += 1;

        self.commit(path, id, file_len, commits)?;

        let inode = &mut self.inodes.get_mut(&id).expect("resolved file");
        inode.mtime = now_ms();
        let storage_type = inode.storage_policy.storage_type;
        let f = inode.file_mut().expect("resolved file");
        let block = BlockMeta {
            id: block_id,
            len: 0,
            placed: workers,
            locations: Vec::new(),
            committed: false,
        };
        f.blocks.push(block.clone());
        Ok(NewBlock {
            block,
            file_type: f.file_type,
            storage_type,
        })
    }

    /// CompleteFile: commits, checks the length and, unless only flushing,
    /// releases the writer's lease. A lease id that does not hold the file
    /// leaves it open for writing, as in Curvine.
    pub fn complete_file(
        &mut self,
        path: &str,
        id: i64,
        len: i64,
        commits: &[CommitBlockProto],
        client_name: &str,
        only_flush: bool,
    ) -> NsResult<()> {
        self.commit(path, id, len, commits)?;
        let now = now_ms();
        if let Some(inode) = self.inodes.get_mut(&id) {
            inode.mtime = now;
        }
        if !only_flush {
            self.file_meta(id).writers.remove(client_name);
        }
        Ok(())
    }
}
