//! Renames, symbolic links, attribute changes and frees.

use std::collections::BTreeSet;

use wire::proto::{FileStatusProto, FileTypeProto, SetAttrOptsProto, SymlinkRequest};
use wire::{ErrorBlob, ErrorKind};

use super::{
    already_exists, common, components, not_found, now_ms, FileMeta, InodeKind, Namespace,
    NewAttrs, NsResult, Removed, CTIME_X_ATTR,
};

/// Rename flags, as Curvine numbers them.
pub mod rename_flags {
    pub const NO_REPLACE: u32 = 1 << 0;
    pub const EXCHANGE: u32 = 1 << 1;
    pub const WHITEOUT: u32 = 1 << 2;
}

/// `path` is `base` or lies below it.
pub(crate) fn is_under(path: &str, base: &str) -> bool {
    let base = base.trim_end_matches('/');
    path == base || base.is_empty() || path.strip_prefix(base).is_some_and(|r| r.starts_with('/'))
}

impl Namespace {
    fn is_empty_dir(&self, id: i64) -> bool {
        matches!(&self.inodes[&id].kind, InodeKind::Dir { children } if children.is_empty())
    }

    /// The directory at `parts` (a parent path), or None.
    fn dir_at(&self, parts: &[&str]) -> Option<i64> {
        let id = self.lookup(parts)?;
        self.inodes[&id].is_dir().then_some(id)
    }

    fn unlink(&mut self, id: i64) {
        let (parent, name) = {
            let inode = &self.inodes[&id];
            (inode.parent, inode.name.clone())
        };
        if let Some(p) = self.inodes.get_mut(&parent) {
            p.mtime = now_ms();
            if let InodeKind::Dir { children } = &mut p.kind {
                children.remove(&name);
            }
        }
    }

    fn link_as(&mut self, id: i64, parent: i64, name: &str) {
        let now = now_ms();
        if let Some(inode) = self.inodes.get_mut(&id) {
            inode.parent = parent;
            inode.name = name.to_string();
            inode.ctime = Some(now);
        }
        if let Some(p) = self.inodes.get_mut(&parent) {
            p.mtime = now;
            if let InodeKind::Dir { children } = &mut p.kind {
                children.insert(name.to_string(), id);
            }
        }
    }

    /// Rename with Curvine's outcomes: `Ok(false)` when source and
    /// destination are the same path, a replaced destination's blocks in the
    /// `Removed` part.
    pub fn rename(&mut self, src: &str, dst: &str, flags: u32) -> NsResult<(bool, Removed)> {
        let sp = components(src)?;
        let dp = components(dst)?;
        if sp.is_empty() {
            return Err(common("Cannot rename the root path /"));
        }
        if src == dst {
            return Ok((false, Removed::default()));
        }
        if is_under(dst, src) {
            return Err(ErrorBlob::new(
                ErrorKind::InvalidArgument,
                format!("cannot rename {src} to {dst}: destination is under source"),
            ));
        }
        let exchange = flags & rename_flags::EXCHANGE != 0;
        if exchange && is_under(src, dst) {
            return Err(ErrorBlob::new(
                ErrorKind::InvalidArgument,
                format!("cannot exchange {src} with {dst}: source is under destination"),
            ));
        }
        if flags & rename_flags::WHITEOUT != 0 {
            return Err(common(format!(
                "rename {src} to {dst}: RENAME_WHITEOUT is not supported"
            )));
        }
        if dp.is_empty() {
            return Err(common(format!("cannot rename {src} onto the root /")));
        }

        let src_id = self.lookup(&sp).ok_or_else(|| not_found(src))?;
        let dst_parent = self
            .dir_at(&dp[..dp.len() - 1])
            .ok_or_else(|| common(format!("Parent of {dst} does not exist")))?;
        let dst_name = dp[dp.len() - 1];

        if exchange {
            let dst_id = self.lookup(&dp).ok_or_else(|| not_found(dst))?;
            let (src_parent, src_name) = {
                let s = &self.inodes[&src_id];
                (s.parent, s.name.clone())
            };
            self.unlink(src_id);
            self.unlink(dst_id);
            self.link_as(src_id, dst_parent, dst_name);
            self.link_as(dst_id, src_parent, &src_name);
            return Ok((true, Removed::default()));
        }

        let mut removed = Removed::default();
        if let Some(dst_id) = self.lookup(&dp) {
            let src_is_dir = self.inodes[&src_id].is_dir();
            let dst_is_dir = self.inodes[&dst_id].is_dir();
            if flags & rename_flags::NO_REPLACE != 0 {
                return Err(already_exists(dst));
            }
            if !src_is_dir && dst_is_dir {
                return Err(ErrorBlob::new(
                    ErrorKind::IsADirectory,
                    format!("cannot rename {src} to {dst}: {dst} is a directory"),
                ));
            }
            if src_is_dir && !dst_is_dir {
                return Err(ErrorBlob::new(
                    ErrorKind::NotADirectory,
                    format!("cannot rename {src} to {dst}: {dst} is not a directory"),
                ));
            }
            if dst_is_dir && !self.is_empty_dir(dst_id) {
                return Err(ErrorBlob::new(
                    ErrorKind::DirNotEmpty,
                    format!("cannot rename {src} to {dst}: {dst} is not empty"),
                ));
            }
            self.unlink(dst_id);
            removed = self.drop_subtree(dst_id);
        }

        self.unlink(src_id);
        self.link_as(src_id, dst_parent, dst_name);
        Ok((true, removed))
    }

    /// Symlink: a LINK inode holding `target`. An existing entry is kind 7
    /// unless it is a link and `force` is set; then, as Curvine 0.2 masters
    /// do, the call succeeds and the link keeps its old target.
    pub fn symlink(&mut self, req: &SymlinkRequest) -> NsResult<()> {
        let link = req.link.as_str();
        let parts = components(link)?;
        if parts.is_empty() {
            return Err(already_exists(link));
        }
        let parent = self
            .dir_at(&parts[..parts.len() - 1])
            .ok_or_else(|| common(format!("Directory of {link} does not exist")))?;

        if let Some(old) = self.lookup(&parts) {
            let is_link = self.inodes[&old]
                .file()
                .is_some_and(|f| f.file_type == FileTypeProto::Link);
            if !is_link || !req.force {
                return Err(already_exists(link));
            }
            return Ok(());
        }

        let meta = FileMeta {
            file_type: FileTypeProto::Link,
            len: 0,
            replicas: 0,
            block_size: 0,
            blocks: Vec::new(),
            writers: BTreeSet::new(),
            next_block_seq: 0,
            target: Some(req.target.clone()),
        };
        let attrs = NewAttrs {
            mode: req.mode,
            owner: req.owner.clone().unwrap_or_default(),
            group: req.group.clone().unwrap_or_default(),
            ..Default::default()
        };
        self.insert_child(
            parent,
            parts[parts.len() - 1],
            InodeKind::File(meta),
            &attrs,
        );
        Ok(())
    }

    /// SetAttr: only the fields present are applied; `recursive` carries
    /// them to everything below a directory.
    pub fn set_attr(&mut self, path: &str, opts: &SetAttrOptsProto) -> NsResult<FileStatusProto> {
        let id = self.resolve(path)?;
        let mut pending = vec![id];
        while let Some(id) = pending.pop() {
            let Some(inode) = self.inodes.get_mut(&id) else {
                continue;
            };
            if let Some(owner) = &opts.owner {
                inode.owner = owner.clone();
            }
            if let Some(group) = &opts.group {
                inode.group = group.clone();
            }
            if let Some(mode) = opts.mode {
                inode.mode = mode;
            }
            if let Some(atime) = opts.atime {
                inode.atime = atime;
            }
            if let Some(mtime) = opts.mtime {
                inode.mtime = mtime;
            }
            if let Some(ttl) = opts.ttl_ms {
                inode.storage_policy.ttl_ms = ttl;
            }
            if let Some(action) = opts.ttl_action {
                inode.storage_policy.ttl_action = action;
            }
            for (k, v) in &opts.add_x_attr {
                if k != CTIME_X_ATTR {
                    inode.x_attr.insert(k.clone(), v.clone());
                }
            }
            for k in &opts.remove_x_attr {
                inode.x_attr.remove(k);
            }
            inode.ctime = Some(now_ms());
            // Replicas are accepted and ignored, as by Curvine 0.2 masters.
            match &inode.kind {
                InodeKind::Dir { children } if opts.recursive => {
                    pending.extend(children.values().copied());
                }
                InodeKind::Dir { .. } | InodeKind::File(_) => {}
            }
        }
        Ok(self.status_of(id, path))
    }

    /// Free drops cached copies of data that also lives in an under file
    /// system. The mini cluster has none, so (as Curvine does for data kept
    /// only in the cache) nothing is freed; the path is still checked.
    pub fn free(&self, path: &str) -> NsResult<Removed> {
        let parts = components(path)?;
        if parts.is_empty() {
            return Err(common("The root is not allowed to be freed"));
        }
        self.lookup(&parts).ok_or_else(|| not_found(path))?;
        Ok(Removed::default())
    }
}
