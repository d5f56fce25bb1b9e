//! The in-memory namespace of the mini cluster: a tree of directories and
//! files with Curvine's path rules and error kinds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use wire::proto::{
    FileStatusProto, FileTypeProto, MkdirOptsProto, StoragePolicyProto, StorageStateProto,
    StorageTypeProto, TtlActionProto,
};
use wire::{ErrorBlob, ErrorKind};

mod files;
mod mounts;
mod moves;

pub use files::{flags, FileBlocks, Limits, NewBlock};

/// Curvine numbers its root directory 1000; later inodes count up from there.
pub const ROOT_ID: i64 = 1000;

/// Permission bits of an entry created without an explicit mode
/// (0o777 under the usual umask 0o022).
pub const DEFAULT_MODE: u32 = 0o755;

/// The extended attribute where Curvine keeps an inode's ctime. It is the
/// master's own: SetAttr cannot touch it and statuses never show it.
pub const CTIME_X_ATTR: &str = "\0curvine.ctime";

pub type NsResult<T> = Result<T, ErrorBlob>;

/// A generic refusal: Curvine answers most validation errors with kind 10000.
pub fn common(message: impl Into<String>) -> ErrorBlob {
    ErrorBlob::new(ErrorKind::Common, message)
}

pub(crate) fn not_found(path: &str) -> ErrorBlob {
    ErrorBlob::new(
        ErrorKind::FileNotFound,
        format!("File {path} does not exist"),
    )
}

pub(crate) fn already_exists(path: &str) -> ErrorBlob {
    ErrorBlob::new(
        ErrorKind::FileAlreadyExists,
        format!("File {path} already exists"),
    )
}

/// Milliseconds since the Unix epoch, as Curvine's timestamps are.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The storage policy Curvine's client sends by default.
pub fn default_storage_policy() -> StoragePolicyProto {
    StoragePolicyProto {
        storage_type: StorageTypeProto::Disk as i32,
        ttl_ms: 0,
        ttl_action: TtlActionProto::None as i32,
        ufs_mtime: 0,
        state: StorageStateProto::Cv as i32,
    }
}

/// One block of a file as the master knows it.
#[derive(Clone, Debug)]
pub struct BlockMeta {
    pub id: i64,
    /// Bytes committed so far (0 until the first commit).
    pub len: i64,
    /// Workers the block was placed on when it was allocated.
    pub placed: Vec<u32>,
    /// Workers that reported a finalized replica through a commit.
    pub locations: Vec<u32>,
    pub committed: bool,
}

/// What a file inode holds beyond the common attributes.
#[derive(Clone, Debug)]
pub struct FileMeta {
    pub file_type: FileTypeProto,
    pub len: i64,
    pub replicas: i32,
    pub block_size: i64,
    pub blocks: Vec<BlockMeta>,
    /// Lease ids (client names) of the writers that hold the file open.
    pub writers: BTreeSet<String>,
    /// The next block sequence number; block ids are `(inode << 24) | seq`.
    pub next_block_seq: i64,
    pub target: Option<String>,
}

impl FileMeta {
    pub fn is_complete(&self) -> bool {
        self.writers.is_empty()
    }
}

#[derive(Clone, Debug)]
pub enum InodeKind {
    Dir { children: BTreeMap<String, i64> },
    File(FileMeta),
}

#[derive(Clone, Debug)]
pub struct Inode {
    pub id: i64,
    pub parent: i64,
    pub name: String,
    pub kind: InodeKind,
    pub mtime: i64,
    pub atime: i64,
    /// Set by the first attribute change or move; a fresh inode has none,
    /// as on a Curvine master.
    pub ctime: Option<i64>,
    pub mode: u32,
    pub owner: String,
    pub group: String,
    pub x_attr: HashMap<String, Vec<u8>>,
    pub storage_policy: StoragePolicyProto,
}

impl Inode {
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, InodeKind::Dir { .. })
    }

    pub fn file(&self) -> Option<&FileMeta> {
        match &self.kind {
            InodeKind::File(f) => Some(f),
            InodeKind::Dir { .. } => None,
        }
    }

    pub fn file_mut(&mut self) -> Option<&mut FileMeta> {
        match &mut self.kind {
            InodeKind::File(f) => Some(f),
            InodeKind::Dir { .. } => None,
        }
    }

    fn children(&self) -> Option<&BTreeMap<String, i64>> {
        match &self.kind {
            InodeKind::Dir { children } => Some(children),
            InodeKind::File(_) => None,
        }
    }

    fn children_mut(&mut self) -> Option<&mut BTreeMap<String, i64>> {
        match &mut self.kind {
            InodeKind::Dir { children } => Some(children),
            InodeKind::File(_) => None,
        }
    }

    /// The status Curvine reports, under the path the caller asked for; a
    /// directory's link count needs `subdirs`, the number of directories
    /// directly inside it.
    fn status_with(&self, path: &str, subdirs: u32) -> FileStatusProto {
        let mut status = FileStatusProto {
            id: self.id,
            path: path.to_string(),
            name: self.name.clone(),
            mtime: self.mtime,
            atime: self.atime,
            x_attr: self
                .x_attr
                .iter()
                .filter(|(k, _)| k.as_str() != CTIME_X_ATTR)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            storage_policy: self.storage_policy,
            owner: self.owner.clone(),
            group: self.group.clone(),
            mode: self.mode,
            ctime: self.ctime,
            ..Default::default()
        };
        match &self.kind {
            InodeKind::Dir { children } => {
                status.is_dir = true;
                status.children_num = children.len() as i32;
                status.len = children.len() as i64;
                status.file_type = FileTypeProto::Dir as i32;
                status.nlink = 2 + subdirs;
            }
            InodeKind::File(f) => {
                status.is_complete = f.is_complete();
                status.len = f.len;
                status.replicas = f.replicas;
                status.block_size = f.block_size;
                status.file_type = f.file_type as i32;
                status.target = f.target.clone();
                status.nlink = 1;
            }
        }
        status
    }
}

/// The components of an absolute path; `/` has none.
///
/// Curvine accepts only absolute paths without a trailing `/`; an empty
/// component (`/a//b`) is refused as well rather than looked up as a name.
pub fn components(path: &str) -> NsResult<Vec<&str>> {
    if !path.starts_with('/') {
        return Err(common(format!("Absolute path required, but got {path:?}")));
    }
    if path == "/" {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = path[1..].split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(common(format!(
            "Path {path:?} is invalid: empty component or trailing '/'"
        )));
    }
    Ok(parts)
}

/// The path of `name` inside the directory at `dir`.
pub fn child_path(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Whether a path uses glob syntax.
pub fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// What a delete (or free) removed.
#[derive(Clone, Debug, Default)]
pub struct Removed {
    pub inodes: i64,
    pub bytes: i64,
    /// Block ids whose replicas the workers may drop.
    pub blocks: Vec<i64>,
}

/// Attributes given to a new directory.
#[derive(Clone, Debug, Default)]
pub struct NewAttrs {
    pub mode: u32,
    pub owner: String,
    pub group: String,
    pub x_attr: HashMap<String, Vec<u8>>,
    pub storage_policy: Option<StoragePolicyProto>,
}

impl NewAttrs {
    pub fn from_mkdir(opts: &MkdirOptsProto) -> NewAttrs {
        NewAttrs {
            mode: opts.mode,
            owner: opts.owner.clone(),
            group: opts.group.clone(),
            x_attr: opts.x_attr.clone(),
            storage_policy: Some(opts.storage_policy),
        }
    }
}

pub struct Namespace {
    pub(crate) inodes: HashMap<i64, Inode>,
    next_id: i64,
    pub(crate) mounts: Vec<wire::proto::MountInfoProto>,
    next_mount_id: u32,
}

impl Default for Namespace {
    fn default() -> Self {
        Self::new()
    }
}

impl Namespace {
    pub fn new() -> Namespace {
        let now = now_ms();
        let root = Inode {
            id: ROOT_ID,
            parent: -1,
            name: String::new(),
            kind: InodeKind::Dir {
                children: BTreeMap::new(),
            },
            mtime: now,
            atime: now,
            ctime: None,
            mode: DEFAULT_MODE,
            owner: String::new(),
            group: String::new(),
            x_attr: HashMap::new(),
            storage_policy: default_storage_policy(),
        };
        Namespace {
            inodes: HashMap::from([(ROOT_ID, root)]),
            next_id: ROOT_ID + 1,
            mounts: Vec::new(),
            next_mount_id: 1,
        }
    }

    /// The inode at `parts`, or `None` when a component is missing or the
    /// walk runs through a file.
    pub fn lookup(&self, parts: &[&str]) -> Option<i64> {
        let mut id = ROOT_ID;
        for part in parts {
            id = *self.inodes.get(&id)?.children()?.get(*part)?;
        }
        Some(id)
    }

    /// The inode at `path`; a missing path is kind 8.
    pub fn resolve(&self, path: &str) -> NsResult<i64> {
        let parts = components(path)?;
        self.lookup(&parts).ok_or_else(|| not_found(path))
    }

    /// Number of directories and files, the root included.
    pub fn counts(&self) -> (i64, i64) {
        let dirs = self.inodes.values().filter(|i| i.is_dir()).count() as i64;
        (dirs, self.inodes.len() as i64 - dirs)
    }

    /// The status of inode `id` under `path`.
    pub fn status_of(&self, id: i64, path: &str) -> FileStatusProto {
        let inode = &self.inodes[&id];
        let subdirs = inode.children().map_or(0, |children| {
            let dirs = children.values().filter(|c| self.inodes[c].is_dir());
            dirs.count() as u32
        });
        inode.status_with(path, subdirs)
    }

    pub fn status(&self, path: &str) -> NsResult<FileStatusProto> {
        let id = self.resolve(path)?;
        Ok(self.status_of(id, path))
    }

    pub fn exists(&self, path: &str) -> NsResult<bool> {
        let parts = components(path)?;
        Ok(self.lookup(&parts).is_some())
    }

    /// The children of a directory in name order, after `start_after` and at
    /// most `limit` of them; a file lists as itself.
    pub fn list(
        &self,
        path: &str,
        start_after: Option<&str>,
        limit: Option<usize>,
    ) -> NsResult<Vec<FileStatusProto>> {
        let id = self.resolve(path)?;
        let inode = &self.inodes[&id];
        let Some(children) = inode.children() else {
            return Ok(vec![self.status_of(id, path)]);
        };

        let after = match start_after {
            Some(name) if !name.is_empty() => std::ops::Bound::Excluded(name.to_string()),
            _ => std::ops::Bound::Unbounded,
        };
        let limit = limit.unwrap_or(usize::MAX);
        Ok(children
            .range((after, std::ops::Bound::Unbounded))
            .take(limit)
            .map(|(name, child)| self.status_of(*child, &child_path(path, name)))
            .collect())
    }

    /// ListStatus over a glob pattern (`*`, `?`, `[...]` inside components):
    /// the listings of every match, concatenated.
    pub fn list_glob(&self, pattern: &str) -> NsResult<Vec<FileStatusProto>> {
        let parts = components(pattern)?;
        let mut matches = vec![(ROOT_ID, "/".to_string())];
        for part in parts {
            let pat = glob::Pattern::new(part)
                .map_err(|e| common(format!("Bad glob pattern {pattern:?}: {e}")))?;
            let mut next = Vec::new();
            for (id, path) in &matches {
                let Some(children) = self.inodes[id].children() else {
                    continue;
                };
                for (name, child) in children {
                    if pat.matches(name) {
                        next.push((*child, child_path(path, name)));
                    }
                }
            }
            matches = next;
        }
        if matches.is_empty() {
            return Err(not_found(pattern));
        }
        let mut out = Vec::new();
        for (_, path) in matches {
            out.extend(self.list(&path, None, None)?);
        }
        Ok(out)
    }

    fn alloc_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Links a new inode under `parent` and touches the parent's times.
    pub(crate) fn insert_child(
        &mut self,
        parent: i64,
        name: &str,
        kind: InodeKind,
        attrs: &NewAttrs,
    ) -> i64 {
        let id = self.alloc_id();
        let now = now_ms();
        let policy = attrs.storage_policy.unwrap_or_else(default_storage_policy);
        let inode = Inode {
            id,
            parent,
            name: name.to_string(),
            kind,
            mtime: now,
            atime: now,
            ctime: None,
            mode: if attrs.mode == 0 {
                DEFAULT_MODE
            } else {
                attrs.mode
            },
            owner: attrs.owner.clone(),
            group: attrs.group.clone(),
            x_attr: attrs.x_attr.clone(),
            storage_policy: policy,
        };
        self.inodes.insert(id, inode);
        if let Some(p) = self.inodes.get_mut(&parent) {
            p.mtime = now;
            if let Some(children) = p.children_mut() {
                children.insert(name.to_string(), id);
            }
        }
        id
    }

    /// The directory that will hold the last component of `parts`, creating
    /// the missing ancestors when `create_parent` is set. Without it, a
    /// missing or non-directory parent is kind 10000, as in Curvine.
    pub(crate) fn parent_dir(
        &mut self,
        path: &str,
        parts: &[&str],
        create_parent: bool,
        attrs: &NewAttrs,
    ) -> NsResult<i64> {
        let mut id = ROOT_ID;
        let last = parts.len().saturating_sub(1);
        for (depth, part) in parts[..last].iter().enumerate() {
            let inode = &self.inodes[&id];
            let Some(children) = inode.children() else {
                let parent = format!("/{}", parts[..depth].join("/"));
                return Err(common(format!(
                    "Parent path is not a directory: {parent} (creating {path})"
                )));
            };
            id = match children.get(*part) {
                Some(child) => *child,
                None if create_parent => self.insert_child(
                    id,
                    part,
                    InodeKind::Dir {
                        children: BTreeMap::new(),
                    },
                    attrs,
                ),
                None => {
                    let parent = format!("/{}", parts[..=depth].join("/"));
                    return Err(common(format!(
                        "Parent directory doesn't exist: {parent} (creating {path})"
                    )));
                }
            };
        }
        if !self.inodes[&id].is_dir() {
            let parent = format!("/{}", parts[..last].join("/"));
            return Err(common(format!(
                "Parent path is not a directory: {parent} (creating {path})"
            )));
        }
        Ok(id)
    }

    pub fn mkdir(
        &mut self,
        path: &str,
        create_parent: bool,
        attrs: &NewAttrs,
    ) -> NsResult<FileStatusProto> {
        let parts = components(path)?;
        if parts.is_empty() {
            return Err(common("Not allowed to create the root directory /"));
        }

        if let Some(id) = self.lookup(&parts) {
            if create_parent && self.inodes[&id].is_dir() {
                return Ok(self.status_of(id, path));
            }
            return Err(already_exists(path));
        }

        let parent = self.parent_dir(path, &parts, create_parent, attrs)?;
        let name = parts[parts.len() - 1];
        let id = self.insert_child(
            parent,
            name,
            InodeKind::Dir {
                children: BTreeMap::new(),
            },
            attrs,
        );
        Ok(self.status_of(id, path))
    }

    /// Unlinks the inode at `path` and everything under it.
    pub fn delete(&mut self, path: &str, recursive: bool) -> NsResult<Removed> {
        let parts = components(path)?;
        if parts.is_empty() {
            return Err(common("The root is not allowed to be deleted"));
        }
        let id = self.lookup(&parts).ok_or_else(|| not_found(path))?;
        if self.mounts.iter().any(|m| m.cv_path == path) {
            return Err(common(format!(
                "{path} is a mount point; unmount it before deleting it"
            )));
        }
        let inode = &self.inodes[&id];
        if let Some(children) = inode.children() {
            if !children.is_empty() && !recursive {
                return Err(ErrorBlob::new(
                    ErrorKind::DirNotEmpty,
                    format!("Directory {path} is not empty"),
                ));
            }
        }

        let parent = inode.parent;
        let name = inode.name.clone();
        if let Some(p) = self.inodes.get_mut(&parent) {
            p.mtime = now_ms();
            if let Some(children) = p.children_mut() {
                children.remove(&name);
            }
        }
        Ok(self.drop_subtree(id))
    }

    /// Forgets an inode that is already unlinked, with its descendants.
    pub(crate) fn drop_subtree(&mut self, id: i64) -> Removed {
        let mut removed = Removed::default();
        let mut pending = vec![id];
        while let Some(id) = pending.pop() {
            let Some(inode) = self.inodes.remove(&id) else {
                continue;
            };
            removed.inodes += 1;
            match inode.kind {
                InodeKind::Dir { children } => pending.extend(children.into_values()),
                InodeKind::File(f) => {
                    removed.bytes += f.len;
                    removed.blocks.extend(f.blocks.iter().map(|b| b.id));
                }
            }
        }
        removed
    }

    /// The path of an inode, rebuilt from its parents.
    pub fn path_of(&self, mut id: i64) -> String {
        let mut names = Vec::new();
        while id != ROOT_ID {
            let Some(inode) = self.inodes.get(&id) else {
                break;
            };
            names.push(inode.name.as_str());
            id = inode.parent;
        }
        names.reverse();
        format!("/{}", names.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind<T: std::fmt::Debug>(r: NsResult<T>) -> i32 {
        r.unwrap_err().raw_kind
    }

    #[test]
    fn paths_must_be_absolute_without_trailing_slash() {
        assert!(components("/").unwrap().is_empty());
        assert_eq!(components("/a/b").unwrap(), ["a", "b"]);
        assert_eq!(kind(components("a")), 10000);
        assert_eq!(kind(components("/a/")), 10000);
        assert_eq!(kind(components("/a//b")), 10000);
    }

    #[test]
    fn listing_pages_in_name_order() {
        let mut ns = Namespace::new();
        for name in ["c", "a", "b"] {
            ns.mkdir(&format!("/d/{name}"), true, &NewAttrs::default())
                .unwrap();
        }
        let names = |v: Vec<FileStatusProto>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(names(ns.list("/d", None, None).unwrap()), ["a", "b", "c"]);
        assert_eq!(names(ns.list("/d", Some("a"), Some(1)).unwrap()), ["b"]);
        assert_eq!(ns.path_of(ns.resolve("/d/b").unwrap()), "/d/b");
    }
}
