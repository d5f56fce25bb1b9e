//! The metadata calls beyond stat and list: delete, rename, attributes,
//! symlinks, paged listing, cache freeing and the mount table.

#![allow(non_camel_case_types)]

use std::collections::HashMap;
use std::ffi::c_char;

use client::Error;
use wire::proto;

use crate::status::{borrow_str, guard, guard_void, out_ptr};
use crate::types::{give_str, give_vec, take_str, take_vec};
use crate::{client_ref, cv_client, cv_status_list, status_list};

/// cv_rename: fail with CV_KIND_FILE_ALREADY_EXISTS instead of replacing an
/// existing destination file.
pub const CV_RENAME_NO_REPLACE: u32 = 1;

/// One entry of the mount table.
#[repr(C)]
pub struct cv_mount_info {
    pub cv_path: *const c_char,
    /// The under-store URI, e.g. "s3://bucket/prefix".
    pub ufs_path: *const c_char,
    pub mount_id: u32,
    /// True when Curvine may write through to the under-store.
    pub read_write: bool,
    /// WriteTypeProto: 0 cache mode, 1 fs mode.
    pub write_type: i32,
    pub ttl_ms: i64,
    /// Parallel arrays of property names and values.
    pub property_keys: *mut *const c_char,
    pub property_values: *mut *const c_char,
    pub properties_len: usize,
}

/// An array of mount entries.
#[repr(C)]
pub struct cv_mount_list {
    pub items: *mut cv_mount_info,
    pub len: usize,
}

/// Removes a file, a symlink or an empty directory; with `recursive` a
/// directory and everything under it.
#[no_mangle]
pub unsafe extern "C" fn cv_delete(
    client: *mut cv_client,
    path: *const c_char,
    recursive: bool,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; `path` NUL-terminated (contract).
        let (client, path) = unsafe { (client_ref(client)?, borrow_str(path, "path")?) };
        client.delete(path, recursive)
    })
}

/// Moves `src` to `dst`. An existing destination file is replaced unless
/// `flags` has CV_RENAME_NO_REPLACE.
#[no_mangle]
pub unsafe extern "C" fn cv_rename(
    client: *mut cv_client,
    src: *const c_char,
    dst: *const c_char,
    flags: u32,
) -> i32 {
    guard(|| {
        if flags & !CV_RENAME_NO_REPLACE != 0 {
            return Err(Error::invalid(format!(
                "unknown rename flags {:#x} (known: CV_RENAME_NO_REPLACE)",
                flags & !CV_RENAME_NO_REPLACE
            )));
        }
        // SAFETY: a live handle or NULL; strings NUL-terminated (contract).
        let (client, src, dst) = unsafe {
            (
                client_ref(client)?,
                borrow_str(src, "src")?,
                borrow_str(dst, "dst")?,
            )
        };
        client.rename(src, dst, flags)?;
        Ok(())
    })
}

fn set_attr(
    client: &client::Client,
    path: &str,
    opts: proto::SetAttrOptsProto,
) -> Result<(), Error> {
    client.set_attr(path, opts).map(|_| ())
}

/// Sets the permission bits (the low 12 bits of `mode`).
#[no_mangle]
pub unsafe extern "C" fn cv_set_mode(
    client: *mut cv_client,
    path: *const c_char,
    mode: u32,
    recursive: bool,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; `path` NUL-terminated (contract).
        let (client, path) = unsafe { (client_ref(client)?, borrow_str(path, "path")?) };
        if mode > 0o7777 {
            return Err(
                Error::invalid(format!("mode {mode:#o} has bits above 0o7777")).with_path(path),
            );
        }
        let opts = proto::SetAttrOptsProto {
            recursive,
            mode: Some(mode),
            ..Default::default()
        };
        set_attr(client, path, opts)
    })
}

/// Sets the owner and/or the group; NULL leaves that one unchanged.
#[no_mangle]
pub unsafe extern "C" fn cv_set_owner(
    client: *mut cv_client,
    path: *const c_char,
    owner: *const c_char,
    group: *const c_char,
    recursive: bool,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; strings NUL-terminated or NULL
        // (contract).
        let (client, path) = unsafe { (client_ref(client)?, borrow_str(path, "path")?) };
        // SAFETY: as above; NULL is checked first.
        let owner = (!owner.is_null())
            .then(|| unsafe { borrow_str(owner, "owner") })
            .transpose()?;
        // SAFETY: as above; NULL is checked first.
        let group = (!group.is_null())
            .then(|| unsafe { borrow_str(group, "group") })
            .transpose()?;
        let opts = proto::SetAttrOptsProto {
            recursive,
            owner: owner.map(String::from),
            group: group.map(String::from),
            ..Default::default()
        };
        set_attr(client, path, opts)
    })
}

/// Sets access and/or modification time in ms since the epoch; -1 leaves
/// that one unchanged.
#[no_mangle]
pub unsafe extern "C" fn cv_set_times(
    client: *mut cv_client,
    path: *const c_char,
    atime_ms: i64,
    mtime_ms: i64,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; `path` NUL-terminated (contract).
        let (client, path) = unsafe { (client_ref(client)?, borrow_str(path, "path")?) };
        if atime_ms < -1 || mtime_ms < -1 {
            return Err(Error::invalid(format!(
                "bad times atime_ms={atime_ms} mtime_ms={mtime_ms} (expected ms since the epoch, or -1)"
            ))
            .with_path(path));
        }
        let opts = proto::SetAttrOptsProto {
            atime: (atime_ms >= 0).then_some(atime_ms),
            mtime: (mtime_ms >= 0).then_some(mtime_ms),
            ..Default::default()
        };
        set_attr(client, path, opts)
    })
}

/// Sets the replica count the master keeps for a file (1..99), or with
/// `recursive` for every file under a directory. CV_ERR_UNSUPPORTED when
/// the master answered but did not apply it (Curvine 0.2 masters).
#[no_mangle]
pub unsafe extern "C" fn cv_set_replicas(
    client: *mut cv_client,
    path: *const c_char,
    replicas: i32,
    recursive: bool,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; `path` NUL-terminated (contract).
        let (client, path) = unsafe { (client_ref(client)?, borrow_str(path, "path")?) };
        if !(1..=99).contains(&replicas) {
            return Err(
                Error::invalid(format!("replica count {replicas} is not in 1..99")).with_path(path),
            );
        }
        client.set_replicas(path, replicas, recursive)
    })
}

/// Creates the symlink `link` pointing at `target`; `force` replaces an
/// existing link. Where the master keeps the old target despite `force`,
/// the link is deleted and created again: not atomic.
#[no_mangle]
pub unsafe extern "C" fn cv_symlink(
    client: *mut cv_client,
    target: *const c_char,
    link: *const c_char,
    force: bool,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; strings NUL-terminated (contract).
        let (client, target, link) = unsafe {
            (
                client_ref(client)?,
                borrow_str(target, "target")?,
                borrow_str(link, "link")?,
            )
        };
        client.symlink(target, link, force)
    })
}

/// One page of a directory listing, in name order: at most `limit` entries
/// after the entry named `start_after` (NULL or "" for the first page). An
/// empty page means the end.
#[no_mangle]
pub unsafe extern "C" fn cv_list_page(
    client: *mut cv_client,
    path: *const c_char,
    start_after: *const c_char,
    limit: u32,
    out: *mut *mut cv_status_list,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; strings NUL-terminated or NULL
        // (contract).
        let (client, path) = unsafe { (client_ref(client)?, borrow_str(path, "path")?) };
        // SAFETY: as above; NULL is checked first.
        let start_after = (!start_after.is_null())
            .then(|| unsafe { borrow_str(start_after, "start_after") })
            .transpose()?
            .filter(|s| !s.is_empty());
        out_ptr(out, "out")?;
        if limit == 0 {
            return Err(Error::invalid("listing page size 0 (expected at least 1)").with_path(path));
        }
        let statuses = client.list_page(path, start_after, limit)?;
        let list = status_list(&statuses);
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { *out = list };
        Ok(())
    })
}

/// Drops Curvine's cached copy of a path's data (its under-store keeps it);
/// `inodes` and `bytes` (each may be NULL) tell how much was freed.
#[no_mangle]
pub unsafe extern "C" fn cv_free_cache(
    client: *mut cv_client,
    path: *const c_char,
    recursive: bool,
    inodes: *mut i64,
    bytes: *mut i64,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; `path` NUL-terminated (contract).
        let (client, path) = unsafe { (client_ref(client)?, borrow_str(path, "path")?) };
        let res = client.free(path, recursive)?;
        if !inodes.is_null() {
            // SAFETY: non-NULL and writable (contract).
            unsafe { *inodes = res.inodes };
        }
        if !bytes.is_null() {
            // SAFETY: non-NULL and writable (contract).
            unsafe { *bytes = res.bytes };
        }
        Ok(())
    })
}

fn mount_info(m: &proto::MountInfoProto) -> cv_mount_info {
    let mut props: Vec<(&String, &String)> = m.properties.iter().collect();
    props.sort();
    let (property_keys, properties_len) =
        give_vec(props.iter().map(|(k, _)| give_str(k)).collect());
    let (property_values, _) = give_vec(props.iter().map(|(_, v)| give_str(v)).collect());
    cv_mount_info {
        cv_path: give_str(&m.cv_path),
        ufs_path: give_str(&m.ufs_path),
        mount_id: m.mount_id,
        read_write: m.access_mode == Some(proto::AccessModeProto::ReadWrite as i32),
        write_type: m.write_type,
        ttl_ms: m.ttl_ms,
        property_keys,
        property_values,
        properties_len,
    }
}

/// The mount table.
#[no_mangle]
pub unsafe extern "C" fn cv_mount_table(
    client: *mut cv_client,
    out: *mut *mut cv_mount_list,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL (contract).
        let client = unsafe { client_ref(client)? };
        out_ptr(out, "out")?;
        let table = client.mount_table()?;
        let (items, len) = give_vec(table.iter().map(mount_info).collect());
        let list = Box::into_raw(Box::new(cv_mount_list { items, len }));
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { *out = list };
        Ok(())
    })
}

/// Frees what cv_mount_table returned; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cv_mount_list_free(list: *mut cv_mount_list) {
    guard_void(|| {
        if list.is_null() {
            return;
        }
        // SAFETY: made by cv_mount_table and not freed yet (contract).
        let list = unsafe { Box::from_raw(list) };
        // SAFETY: items/len came from give_vec in cv_mount_table.
        for m in unsafe { take_vec(list.items, list.len) } {
            // SAFETY: every string and array was made by mount_info.
            unsafe {
                take_str(m.cv_path);
                take_str(m.ufs_path);
                for k in take_vec(m.property_keys, m.properties_len) {
                    take_str(k);
                }
                for v in take_vec(m.property_values, m.properties_len) {
                    take_str(v);
                }
            }
        }
    })
}

/// Mounts the under-store URI `ufs_path` at `cv_path`, with `n` properties
/// given as parallel arrays (credentials, endpoints). `read_write` lets
/// writes go through to the under-store; `update` changes an existing mount.
#[no_mangle]
pub unsafe extern "C" fn cv_mount(
    client: *mut cv_client,
    cv_path: *const c_char,
    ufs_path: *const c_char,
    keys: *const *const c_char,
    values: *const *const c_char,
    n: usize,
    read_write: bool,
    update: bool,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; strings NUL-terminated (contract).
        let (client, cv_path, ufs_path) = unsafe {
            (
                client_ref(client)?,
                borrow_str(cv_path, "cv_path")?,
                borrow_str(ufs_path, "ufs_path")?,
            )
        };
        let mut properties = HashMap::new();
        if n > 0 {
            out_ptr(keys as *mut *const c_char, "keys")?;
            out_ptr(values as *mut *const c_char, "values")?;
            for i in 0..n {
                // SAFETY: both arrays hold `n` string pointers (contract).
                let (k, v) = unsafe { (*keys.add(i), *values.add(i)) };
                // SAFETY: each entry is a NUL-terminated string (contract).
                let (k, v) = unsafe {
                    (
                        borrow_str(k, "property key")?,
                        borrow_str(v, "property value")?,
                    )
                };
                properties.insert(k.to_string(), v.to_string());
            }
        }
        let access = if read_write {
            proto::AccessModeProto::ReadWrite
        } else {
            proto::AccessModeProto::ReadOnly
        };
        let options = proto::MountOptionsProto {
            update,
            add_properties: properties,
            access_mode: Some(access as i32),
            write_type: proto::WriteTypeProto::CacheMode as i32,
            ..Default::default()
        };
        client.mount(cv_path, ufs_path, options)
    })
}

/// Removes the mount at `cv_path`.
#[no_mangle]
pub unsafe extern "C" fn cv_unmount(client: *mut cv_client, cv_path: *const c_char) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; `cv_path` NUL-terminated (contract).
        let (client, cv_path) = unsafe { (client_ref(client)?, borrow_str(cv_path, "cv_path")?) };
        client.unmount(cv_path)
    })
}
