//! The C ABI over the Curvine client. Every entry point checks its
//! pointers, runs inside `status::guard` (no panic reaches C) and reports
//! failures through the thread's last error.

#![allow(non_camel_case_types)]
// The entry points take raw pointers by design; their safety contract is the
// header's conventions.
#![allow(clippy::missing_safety_doc)]

pub mod status;
pub mod types;

pub mod io;
pub mod meta;

use std::ffi::c_char;
use std::sync::Arc;

use client::{Client, ClientConf};

use status::{borrow_str, guard, guard_void, out_ptr};
pub use status::{cv_last_error_code, cv_last_error_message};
pub use types::{cv_file_status, cv_fs_info, cv_status_list, cv_worker_info};
use types::{give_vec, take_vec};

/// Client settings being assembled.
pub struct cv_config {
    conf: ClientConf,
}

/// A connection to one cluster; safe to use from many threads at once.
pub struct cv_client {
    client: Arc<Client>,
}

/// The version of libcurvine, e.g. "0.1.0".
#[no_mangle]
pub extern "C" fn cv_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// New settings with Curvine's client defaults; NULL only if out of memory.
#[no_mangle]
pub extern "C" fn cv_config_new() -> *mut cv_config {
    std::panic::catch_unwind(|| {
        Box::into_raw(Box::new(cv_config {
            conf: ClientConf::default(),
        }))
    })
    .unwrap_or(std::ptr::null_mut())
}

/// Sets one of Curvine's [client] keys from a string, typed as Curvine reads
/// it ("128KB", "30s", "true"). "master_addrs" takes "host:port,host:port".
/// Unknown keys give CV_ERR_UNKNOWN_OPTION and change nothing.
#[no_mangle]
pub unsafe extern "C" fn cv_config_set(
    config: *mut cv_config,
    key: *const c_char,
    value: *const c_char,
) -> i32 {
    guard(|| {
        out_ptr(config, "config")?;
        // SAFETY: the caller passes NUL-terminated strings (header contract).
        let (key, value) = unsafe { (borrow_str(key, "key")?, borrow_str(value, "value")?) };
        // SAFETY: non-NULL, made by cv_config_new and not freed (contract).
        let config = unsafe { &mut *config };
        config.conf.set(key, value)
    })
}

/// Frees settings; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cv_config_free(config: *mut cv_config) {
    guard_void(|| {
        if !config.is_null() {
            // SAFETY: made by cv_config_new and not freed yet (contract).
            drop(unsafe { Box::from_raw(config) });
        }
    })
}

/// Validates the settings and returns a client. Does not contact the
/// cluster: the first call finds the leader.
#[no_mangle]
pub unsafe extern "C" fn cv_client_new(config: *const cv_config, out: *mut *mut cv_client) -> i32 {
    guard(|| {
        out_ptr(config as *mut cv_config, "config")?;
        out_ptr(out, "out")?;
        // SAFETY: non-NULL, made by cv_config_new and not freed (contract).
        let conf = unsafe { &*config }.conf.clone();
        let client = Client::new(conf)?;
        let handle = Box::into_raw(Box::new(cv_client {
            client: Arc::new(client),
        }));
        // SAFETY: `out` is non-NULL and points to writable storage (contract).
        unsafe { *out = handle };
        Ok(())
    })
}

/// Frees a client and closes its idle sockets (without shutting them down,
/// so a forked child freeing its copy leaves the parent's connections
/// alone). Readers and writers opened from it stay usable until closed.
/// NULL is a no-op. No other call may be using the client.
#[no_mangle]
pub unsafe extern "C" fn cv_client_free(client: *mut cv_client) {
    guard_void(|| {
        if !client.is_null() {
            // SAFETY: made by cv_client_new and not freed yet (contract).
            drop(unsafe { Box::from_raw(client) });
        }
    })
}

/// Borrows the client behind a handle.
///
/// # Safety
/// `client` is NULL or a live handle from cv_client_new.
unsafe fn client_ref<'a>(client: *const cv_client) -> Result<&'a Client, client::Error> {
    if client.is_null() {
        return Err(client::Error::invalid("client is NULL"));
    }
    // SAFETY: non-NULL and live (the caller's promise).
    Ok(unsafe { &*client }.client.as_ref())
}

/// A shared reference to the client, for readers and writers that may
/// outlive the handle.
///
/// # Safety
/// `client` is NULL or a live handle from cv_client_new.
unsafe fn client_arc(client: *const cv_client) -> Result<Arc<Client>, client::Error> {
    if client.is_null() {
        return Err(client::Error::invalid("client is NULL"));
    }
    // SAFETY: non-NULL and live (the caller's promise).
    Ok(Arc::clone(&unsafe { &*client }.client))
}

/// Capacity, workers and the leader. The first call carries this client's
/// version to the master.
#[no_mangle]
pub unsafe extern "C" fn cv_fs_info_get(client: *mut cv_client, out: *mut *mut cv_fs_info) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL (contract).
        let client = unsafe { client_ref(client)? };
        out_ptr(out, "out")?;
        let info = client.fs_info()?;
        let boxed = Box::into_raw(Box::new(cv_fs_info::from_info(&info)));
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { *out = boxed };
        Ok(())
    })
}

/// Frees what cv_fs_info_get returned; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cv_fs_info_free(info: *mut cv_fs_info) {
    guard_void(|| {
        if !info.is_null() {
            // SAFETY: made by cv_fs_info_get and not freed yet (contract).
            let mut info = unsafe { Box::from_raw(info) };
            // SAFETY: its fields were made by cv_fs_info::from_info.
            unsafe { info.free_fields() };
        }
    })
}

/// The status of one path.
#[no_mangle]
pub unsafe extern "C" fn cv_stat(
    client: *mut cv_client,
    path: *const c_char,
    out: *mut *mut cv_file_status,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; `path` NUL-terminated (contract).
        let (client, path) = unsafe { (client_ref(client)?, borrow_str(path, "path")?) };
        out_ptr(out, "out")?;
        let status = client.stat(path)?;
        let boxed = Box::into_raw(Box::new(cv_file_status::from_proto(&status)));
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { *out = boxed };
        Ok(())
    })
}

/// Frees what cv_stat returned; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cv_file_status_free(status: *mut cv_file_status) {
    guard_void(|| {
        if !status.is_null() {
            // SAFETY: made by cv_stat and not freed yet (contract).
            let mut status = unsafe { Box::from_raw(status) };
            // SAFETY: its strings were made by cv_file_status::from_proto.
            unsafe { status.free_strings() };
        }
    })
}

/// Whether a path exists.
#[no_mangle]
pub unsafe extern "C" fn cv_exists(
    client: *mut cv_client,
    path: *const c_char,
    out: *mut bool,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; `path` NUL-terminated (contract).
        let (client, path) = unsafe { (client_ref(client)?, borrow_str(path, "path")?) };
        out_ptr(out, "out")?;
        let exists = client.exists(path)?;
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { *out = exists };
        Ok(())
    })
}

/// Every entry of a directory (a file lists as itself).
#[no_mangle]
pub unsafe extern "C" fn cv_list(
    client: *mut cv_client,
    path: *const c_char,
    out: *mut *mut cv_status_list,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; `path` NUL-terminated (contract).
        let (client, path) = unsafe { (client_ref(client)?, borrow_str(path, "path")?) };
        out_ptr(out, "out")?;
        let statuses = client.list(path)?;
        let list = status_list(&statuses);
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { *out = list };
        Ok(())
    })
}

fn status_list(statuses: &[wire::proto::FileStatusProto]) -> *mut cv_status_list {
    let (items, len) = give_vec(statuses.iter().map(cv_file_status::from_proto).collect());
    Box::into_raw(Box::new(cv_status_list { items, len }))
}

/// Frees what cv_list returned; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cv_status_list_free(list: *mut cv_status_list) {
    guard_void(|| {
        if !list.is_null() {
            // SAFETY: made by status_list and not freed yet (contract).
            let list = unsafe { Box::from_raw(list) };
            // SAFETY: items/len came from give_vec in status_list.
            for mut status in unsafe { take_vec(list.items, list.len) } {
                // SAFETY: made by cv_file_status::from_proto.
                unsafe { status.free_strings() };
            }
        }
    })
}

/// Creates a directory with `mode` (less the configured umask). With
/// `create_parent`, missing parents are made and an existing directory is
/// not an error.
#[no_mangle]
pub unsafe extern "C" fn cv_mkdir(
    client: *mut cv_client,
    path: *const c_char,
    create_parent: bool,
    mode: u32,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; `path` NUL-terminated (contract).
        let (client, path) = unsafe { (client_ref(client)?, borrow_str(path, "path")?) };
        client.mkdir(path, create_parent, mode)?;
        Ok(())
    })
}
