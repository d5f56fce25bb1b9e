//! The mount table: Curvine paths backed by under-file-system URIs.
//!
//! The mini cluster keeps the table and creates mount points, but never
//! reaches the under file system itself.

use wire::proto::{MountInfoProto, MountOptionsProto, TtlActionProto, WriteTypeProto};

use super::moves::is_under;
use super::{common, components, Namespace, NewAttrs, NsResult};

fn info_from(id: u32, cv_path: &str, ufs_path: &str, o: &MountOptionsProto) -> MountInfoProto {
    MountInfoProto {
        cv_path: cv_path.to_string(),
        ufs_path: ufs_path.to_string(),
        mount_id: id,
        properties: o.add_properties.clone(),
        ttl_ms: o.ttl_ms.unwrap_or(0),
        ttl_action: o.ttl_action.unwrap_or(TtlActionProto::None as i32),
        read_verify_ufs: o.read_verify_ufs,
        storage_type: o.storage_type,
        block_size: o.block_size,
        replicas: o.replicas,
        write_type: o.write_type,
        provider: o.provider,
        auto_cache: o.auto_cache,
        access_mode: o.access_mode,
        write_cache: o.write_cache,
    }
}

/// Applies the options a client gave to an existing entry.
fn merge(info: &mut MountInfoProto, o: &MountOptionsProto) {
    for (k, v) in &o.add_properties {
        info.properties.insert(k.clone(), v.clone());
    }
    for k in &o.remove_properties {
        info.properties.remove(k);
    }
    if let Some(v) = o.ttl_ms {
        info.ttl_ms = v;
    }
    if let Some(v) = o.ttl_action {
        info.ttl_action = v;
    }
    info.read_verify_ufs = o.read_verify_ufs;
    info.storage_type = o.storage_type.or(info.storage_type);
    info.block_size = o.block_size.or(info.block_size);
    info.replicas = o.replicas.or(info.replicas);
    info.write_type = o.write_type;
    info.provider = o.provider.or(info.provider);
    info.auto_cache = o.auto_cache.or(info.auto_cache);
    info.access_mode = o.access_mode.or(info.access_mode);
    info.write_cache = o.write_cache.or(info.write_cache);
}

impl Namespace {
    /// Mount (or, with `update`, change an existing mount's options).
    pub fn mount(&mut self, cv_path: &str, ufs_path: &str, o: &MountOptionsProto) -> NsResult<()> {
        components(cv_path)?;
        if o.update {
            let Some(info) = self.mounts.iter_mut().find(|m| m.cv_path == cv_path) else {
                return Err(common(format!(
                    "mount point {cv_path} not found for update"
                )));
            };
            merge(info, o);
            return Ok(());
        }

        if cv_path == "/" {
            return Err(common("cannot mount over the root /"));
        }
        if !ufs_path.contains("://") {
            return Err(common(format!(
                "under file system path {ufs_path:?} needs a scheme, as in s3://bucket/dir"
            )));
        }
        let write_cache = o.write_cache.unwrap_or(false);
        let cache_rw = o.write_type == WriteTypeProto::CacheMode as i32 && o.access_mode == Some(1);
        if write_cache && !cache_rw {
            return Err(common(format!(
                "write_cache requires cache_mode with read_write access_mode for mount {cv_path}"
            )));
        }
        for m in &self.mounts {
            if m.ufs_path == ufs_path || m.cv_path == cv_path {
                return Err(common(format!(
                    "{} already exists in mount table",
                    if m.cv_path == cv_path {
                        cv_path
                    } else {
                        ufs_path
                    }
                )));
            }
            for (a, b) in [
                (cv_path, m.cv_path.as_str()),
                (m.cv_path.as_str(), cv_path),
                (ufs_path, m.ufs_path.as_str()),
                (m.ufs_path.as_str(), ufs_path),
            ] {
                if is_under(a, b) {
                    return Err(common(format!("mount point {b} is a prefix of {a}")));
                }
            }
        }

        if !self.exists(cv_path)? {
            self.mkdir(cv_path, true, &NewAttrs::default())?;
        }
        let id = self.next_mount_id;
        self.next_mount_id += 1;
        self.mounts.push(info_from(id, cv_path, ufs_path, o));
        Ok(())
    }

    pub fn unmount(&mut self, cv_path: &str) -> NsResult<()> {
        let before = self.mounts.len();
        self.mounts.retain(|m| m.cv_path != cv_path);
        if self.mounts.len() == before {
            return Err(common(format!("failed found {cv_path} to umount")));
        }
        Ok(())
    }

    pub fn mount_table(&self) -> Vec<MountInfoProto> {
        self.mounts.clone()
    }

    /// The mount that covers `path`, a Curvine path or an under-file-system
    /// URI.
    pub fn mount_info(&self, path: &str) -> Option<MountInfoProto> {
        let is_uri = path.contains("://");
        self.mounts
            .iter()
            .filter(|m| {
                if is_uri {
                    is_under(path, &m.ufs_path)
                } else {
                    is_under(path, &m.cv_path)
                }
            })
            .max_by_key(|m| {
                if is_uri {
                    m.ufs_path.len()
                } else {
                    m.cv_path.len()
                }
            })
            .cloned()
    }
}
