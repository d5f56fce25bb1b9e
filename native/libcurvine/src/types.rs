//! The C structs handed out, and how they are built from and freed back
//! into Rust values.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, CString};
use std::ptr;

use wire::proto;

use crate::status::c_string;

/// What FileStatus returns for one path.
#[repr(C)]
pub struct cv_file_status {
    pub id: i64,
    pub path: *const c_char,
    pub name: *const c_char,
    pub is_dir: bool,
    /// FileTypeProto: 0 dir, 1 file, 2 link, ...
    pub file_type: i32,
    /// Bytes for a file; number of children for a dir.
    pub len: i64,
    pub mtime_ms: i64,
    pub atime_ms: i64,
    /// -1 when the server did not send it.
    pub ctime_ms: i64,
    pub children_num: i32,
    pub is_complete: bool,
    pub replicas: i32,
    pub block_size: i64,
    pub mode: u32,
    pub nlink: u32,
    pub owner: *const c_char,
    pub group: *const c_char,
    /// NULL unless a symlink.
    pub target: *const c_char,
    pub storage_type: i32,
}

/// An array of statuses.
#[repr(C)]
pub struct cv_status_list {
    pub items: *mut cv_file_status,
    pub len: usize,
}

/// One worker as the master sees it.
#[repr(C)]
pub struct cv_worker_info {
    pub worker_id: u32,
    pub hostname: *const c_char,
    pub ip_addr: *const c_char,
    pub rpc_port: u32,
    pub web_port: u32,
    pub capacity: i64,
    pub available: i64,
    pub fs_used: i64,
    pub non_fs_used: i64,
    pub reserved_bytes: i64,
    pub last_update_ms: u64,
}

/// What GetFilesystemInfo returns.
#[repr(C)]
pub struct cv_fs_info {
    /// The endpoint "host:port" that answered.
    pub leader: *const c_char,
    /// What the leader calls itself.
    pub active_master: *const c_char,
    /// NULL from masters that send no compatibility block.
    pub server_version: *const c_char,
    pub capacity: i64,
    pub available: i64,
    pub fs_used: i64,
    pub non_fs_used: i64,
    pub reserved_bytes: i64,
    pub allocatable_capacity: i64,
    pub allocatable_available: i64,
    pub inode_dir_num: i64,
    pub inode_file_num: i64,
    pub block_num: i64,
    pub live_workers: *mut cv_worker_info,
    pub live_workers_len: usize,
    pub blacklist_workers: *mut cv_worker_info,
    pub blacklist_workers_len: usize,
    pub decommission_workers: *mut cv_worker_info,
    pub decommission_workers_len: usize,
    pub lost_workers: *mut cv_worker_info,
    pub lost_workers_len: usize,
}

/// An owned C string for a struct field.
pub fn give_str(s: &str) -> *const c_char {
    c_string(s).into_raw()
}

/// Frees a string made by `give_str`.
///
/// # Safety
/// `p` is NULL or came from `give_str` and was not freed yet.
pub unsafe fn take_str(p: *const c_char) {
    if !p.is_null() {
        // SAFETY: `p` came from CString::into_raw (the caller's promise).
        drop(unsafe { CString::from_raw(p as *mut c_char) });
    }
}

/// An owned array for a struct field; (NULL, 0) when empty.
pub fn give_vec<T>(items: Vec<T>) -> (*mut T, usize) {
    if items.is_empty() {
        return (ptr::null_mut(), 0);
    }
    let boxed = items.into_boxed_slice();
    let len = boxed.len();
    (Box::into_raw(boxed) as *mut T, len)
}

/// Takes back an array made by `give_vec`.
///
/// # Safety
/// `(items, len)` is (NULL, any) or came from `give_vec` and was not taken
/// back yet.
pub unsafe fn take_vec<T>(items: *mut T, len: usize) -> Vec<T> {
    if items.is_null() {
        return Vec::new();
    }
    // SAFETY: the pointer and length are those of a boxed slice (the
    // caller's promise).
    unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(items, len)) }.into_vec()
}

impl cv_file_status {
    pub fn from_proto(s: &proto::FileStatusProto) -> cv_file_status {
        cv_file_status {
            id: s.id,
            path: give_str(&s.path),
            name: give_str(&s.name),
            is_dir: s.is_dir,
            file_type: s.file_type,
            len: s.len,
            mtime_ms: s.mtime,
            atime_ms: s.atime,
            ctime_ms: s.ctime.unwrap_or(-1),
            children_num: s.children_num,
            is_complete: s.is_complete,
            replicas: s.replicas,
            block_size: s.block_size,
            mode: s.mode,
            nlink: s.nlink,
            owner: give_str(&s.owner),
            group: give_str(&s.group),
            target: s.target.as_deref().map_or(ptr::null(), give_str),
            storage_type: s.storage_policy.storage_type,
        }
    }

    /// Frees the strings this struct owns.
    ///
    /// # Safety
    /// The struct came from `from_proto` and its strings were not freed yet.
    pub unsafe fn free_strings(&mut self) {
        // SAFETY: every field was made by give_str in from_proto.
        unsafe {
            take_str(self.path);
            take_str(self.name);
            take_str(self.owner);
            take_str(self.group);
            take_str(self.target);
        }
    }
}

impl cv_worker_info {
    pub fn from_proto(w: &proto::WorkerInfoProto) -> cv_worker_info {
        cv_worker_info {
            worker_id: w.address.worker_id,
            hostname: give_str(&w.address.hostname),
            ip_addr: give_str(&w.address.ip_addr),
            rpc_port: w.address.rpc_port,
            web_port: w.address.web_port,
            capacity: w.capacity,
            available: w.available,
            fs_used: w.fs_used,
            non_fs_used: w.non_fs_used,
            reserved_bytes: w.reserved_bytes,
            last_update_ms: w.last_update,
        }
    }
}

fn give_workers(workers: &[proto::WorkerInfoProto]) -> (*mut cv_worker_info, usize) {
    give_vec(workers.iter().map(cv_worker_info::from_proto).collect())
}

/// # Safety
/// `(items, len)` came from `give_workers` and was not freed yet.
unsafe fn take_workers(items: *mut cv_worker_info, len: usize) {
    // SAFETY: forwarded from the caller.
    for w in unsafe { take_vec(items, len) } {
        // SAFETY: made by give_str in cv_worker_info::from_proto.
        unsafe {
            take_str(w.hostname);
            take_str(w.ip_addr);
        }
    }
}

impl cv_fs_info {
    pub fn from_info(info: &client::fs::FsInfo) -> cv_fs_info {
        let r = &info.info;
        let (live_workers, live_workers_len) = give_workers(&r.live_workers);
        let (blacklist_workers, blacklist_workers_len) = give_workers(&r.blacklist_workers);
        let (decommission_workers, decommission_workers_len) =
            give_workers(&r.decommission_workers);
        let (lost_workers, lost_workers_len) = give_workers(&r.lost_workers);
        let server_version = r
            .compatibility
            .as_ref()
            .and_then(|c| c.server.release_version.as_deref())
            .map_or(ptr::null(), give_str);
        cv_fs_info {
            leader: give_str(&info.leader.to_string()),
            active_master: give_str(&r.active_master),
            server_version,
            capacity: r.capacity,
            available: r.available,
            fs_used: r.fs_used,
            non_fs_used: r.non_fs_used,
            reserved_bytes: r.reserved_bytes,
            // Masters that predate these fields mean "all of it".
            allocatable_capacity: r.allocatable_capacity.unwrap_or(r.capacity),
            allocatable_available: r.allocatable_available.unwrap_or(r.available),
            inode_dir_num: r.inode_dir_num,
            inode_file_num: r.inode_file_num,
            block_num: r.block_num,
            live_workers,
            live_workers_len,
            blacklist_workers,
            blacklist_workers_len,
            decommission_workers,
            decommission_workers_len,
            lost_workers,
            lost_workers_len,
        }
    }

    /// Frees everything the struct owns.
    ///
    /// # Safety
    /// The struct came from `from_info` and was not freed yet.
    pub unsafe fn free_fields(&mut self) {
        // SAFETY: every pointer was made by give_str / give_workers in
        // from_info.
        unsafe {
            take_str(self.leader);
            take_str(self.active_master);
            take_str(self.server_version);
            take_workers(self.live_workers, self.live_workers_len);
            take_workers(self.blacklist_workers, self.blacklist_workers_len);
            take_workers(self.decommission_workers, self.decommission_workers_len);
            take_workers(self.lost_workers, self.lost_workers_len);
        }
    }
}
