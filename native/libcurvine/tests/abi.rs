//! The C entry points, called as C would, against an in-test master.

#[path = "../../client/tests/common/mod.rs"]
mod common;

use std::ffi::{CStr, CString};
use std::ptr;

use common::{fail, not_leader, ok, TestServer};
use curvine::status::*;
use curvine::*;
use wire::frame::Frame;
use wire::proto;
use wire::{ErrorKind, RpcCode};

fn status(path: &str, is_dir: bool) -> proto::FileStatusProto {
    proto::FileStatusProto {
        id: 7,
        path: path.into(),
        name: path.rsplit('/').next().unwrap_or("").into(),
        is_dir,
        mtime: 1_700_000_000_000,
        len: 42,
        mode: 0o755,
        owner: "alice".into(),
        target: (!is_dir).then(|| "/elsewhere".to_string()),
        ..Default::default()
    }
}

fn leader(req: &Frame) -> Option<Frame> {
    match RpcCode::from_i8(req.code)? {
        RpcCode::FileStatus => {
            let r: proto::GetFileStatusRequest = wire::decode_message(&req.header).unwrap();
            if r.path == "/data" {
                ok(
                    req,
                    &proto::GetFileStatusResponse {
                        status: status("/data", true),
                    },
                )
            } else {
                fail(req, ErrorKind::FileNotFound, "File not exists")
            }
        }
        RpcCode::ListStatus => ok(
            req,
            &proto::ListStatusResponse {
                statuses: vec![status("/data/a", false), status("/data/b", true)],
            },
        ),
        RpcCode::Exists => {
            let r: proto::ExistsRequest = wire::decode_message(&req.header).unwrap();
            if r.path == "/raw" {
                fail(req, ErrorKind::Common, RAW_SERVER_TEXT)
            } else {
                ok(req, &proto::ExistsResponse { exists: true })
            }
        }
        RpcCode::Mkdir => fail(req, ErrorKind::FileAlreadyExists, "exists"),
        RpcCode::GetFilesystemInfo => ok(
            req,
            &proto::GetFilesystemInfoResponse {
                active_master: "m2:8995".into(),
                capacity: 100,
                available: 60,
                live_workers: vec![proto::WorkerInfoProto {
                    address: proto::WorkerAddressProto {
                        worker_id: 3,
                        hostname: "w1".into(),
                        ip_addr: "10.0.0.3".into(),
                        rpc_port: 8997,
                        web_port: 9002,
                    },
                    capacity: 100,
                    ..Default::default()
                }],
                ..Default::default()
            },
        ),
        _ => fail(req, ErrorKind::Common, "Unsupported operation"),
    }
}

/// An error as a Curvine master words it.
const RAW_SERVER_TEXT: &str =
    "[master-7] ERROR: Parent /raw is not writable(curvine-master/src/master/fs/fs_dir.rs:120)";

fn s(p: *const std::ffi::c_char) -> String {
    assert!(!p.is_null());
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string()
}

fn last_message() -> String {
    s(cv_last_error_message())
}

struct Handle(*mut cv_client);

fn connect(masters: &str) -> Handle {
    let config = cv_config_new();
    let set = |k: &str, v: &str| unsafe {
        let (k, v) = (CString::new(k).unwrap(), CString::new(v).unwrap());
        cv_config_set(config, k.as_ptr(), v.as_ptr())
    };
    assert_eq!(set("master_addrs", masters), CV_OK);
    assert_eq!(set("rpc_retry_max_duration_ms", "3000"), CV_OK);
    let mut client = ptr::null_mut();
    assert_eq!(unsafe { cv_client_new(config, &mut client) }, CV_OK);
    unsafe { cv_config_free(config) };
    Handle(client)
}

impl Drop for Handle {
    fn drop(&mut self) {
        unsafe { cv_client_free(self.0) };
    }
}

#[test]
fn metadata_calls_fill_their_structs() {
    let a = TestServer::start(not_leader);
    let b = TestServer::start(leader);
    let h = connect(&format!("{},{}", a.addr, b.addr));
    let path = CString::new("/data").unwrap();

    let mut st = ptr::null_mut();
    assert_eq!(unsafe { cv_stat(h.0, path.as_ptr(), &mut st) }, CV_OK);
    let r = unsafe { &*st };
    assert_eq!(
        (s(r.path), s(r.name), r.is_dir, r.len),
        ("/data".into(), "data".into(), true, 42)
    );
    assert_eq!(
        (r.mode, s(r.owner), r.ctime_ms),
        (0o755, "alice".into(), -1)
    );
    assert!(r.target.is_null());
    unsafe { cv_file_status_free(st) };

    let mut list = ptr::null_mut();
    assert_eq!(unsafe { cv_list(h.0, path.as_ptr(), &mut list) }, CV_OK);
    let l = unsafe { &*list };
    let items = unsafe { std::slice::from_raw_parts(l.items, l.len) };
    let names: Vec<String> = items.iter().map(|i| s(i.name)).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(s(items[0].target), "/elsewhere");
    unsafe { cv_status_list_free(list) };

    let mut info = ptr::null_mut();
    assert_eq!(unsafe { cv_fs_info_get(h.0, &mut info) }, CV_OK);
    let i = unsafe { &*info };
    assert_eq!(s(i.leader), b.addr);
    assert_eq!(s(i.active_master), "m2:8995");
    assert!(i.server_version.is_null());
    assert_eq!(
        (i.capacity, i.available, i.allocatable_capacity),
        (100, 60, 100)
    );
    assert_eq!(i.live_workers_len, 1);
    let w = unsafe { &*i.live_workers };
    assert_eq!(
        (w.worker_id, s(w.hostname), w.rpc_port),
        (3, "w1".into(), 8997)
    );
    assert!(i.lost_workers.is_null() && i.lost_workers_len == 0);
    unsafe { cv_fs_info_free(info) };
}

#[test]
fn failures_set_the_thread_last_error_and_leave_out_pointers_alone() {
    let m = TestServer::start(leader);
    let h = connect(&m.addr);

    let missing = CString::new("/missing").unwrap();
    let mut st = ptr::null_mut();
    assert_eq!(
        unsafe { cv_stat(h.0, missing.as_ptr(), &mut st) },
        CV_KIND_FILE_NOT_FOUND
    );
    assert!(st.is_null());
    assert_eq!(cv_last_error_code(), CV_KIND_FILE_NOT_FOUND);
    let msg = last_message();
    assert!(msg.contains("/missing") && msg.contains(&m.addr), "{msg}");

    let dir = CString::new("/data").unwrap();
    assert_eq!(
        unsafe { cv_mkdir(h.0, dir.as_ptr(), false, 0o755) },
        CV_KIND_FILE_ALREADY_EXISTS
    );

    // Another thread's errors are its own.
    std::thread::spawn(|| assert_eq!(cv_last_error_code(), CV_OK))
        .join()
        .unwrap();

    // A success clears the error.
    let mut exists = false;
    assert_eq!(unsafe { cv_exists(h.0, dir.as_ptr(), &mut exists) }, CV_OK);
    assert!(exists);
    assert_eq!(cv_last_error_code(), CV_OK);
    assert_eq!(last_message(), "");
}

#[test]
fn a_server_message_is_shown_clean_with_the_raw_text_beside_it() {
    let m = TestServer::start(leader);
    let h = connect(&m.addr);
    let raw = CString::new("/raw").unwrap();

    let mut exists = false;
    assert_eq!(
        unsafe { cv_exists(h.0, raw.as_ptr(), &mut exists) },
        CV_KIND_COMMON
    );
    let msg = last_message();
    assert!(msg.contains("Parent /raw is not writable"), "{msg}");
    assert!(!msg.contains("ERROR:") && !msg.contains(".rs:"), "{msg}");
    assert_eq!(s(cv_last_error_detail()), RAW_SERVER_TEXT);

    // Plain server text has no detail, and a success clears it.
    let dir = CString::new("/data").unwrap();
    assert_eq!(
        unsafe { cv_mkdir(h.0, dir.as_ptr(), false, 0o755) },
        CV_KIND_FILE_ALREADY_EXISTS
    );
    assert_eq!(s(cv_last_error_detail()), "");
    assert_eq!(unsafe { cv_exists(h.0, dir.as_ptr(), &mut exists) }, CV_OK);
    assert_eq!(s(cv_last_error_detail()), "");
}

#[test]
fn null_and_bad_arguments_are_refused() {
    let mut exists = false;
    let p = CString::new("/a").unwrap();
    assert_eq!(
        unsafe { cv_exists(ptr::null_mut(), p.as_ptr(), &mut exists) },
        CV_ERR_INVALID_ARGUMENT
    );
    assert!(last_message().contains("client is NULL"));

    let m = TestServer::start(leader);
    let h = connect(&m.addr);
    assert_eq!(
        unsafe { cv_exists(h.0, ptr::null(), &mut exists) },
        CV_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { cv_exists(h.0, p.as_ptr(), ptr::null_mut()) },
        CV_ERR_INVALID_ARGUMENT
    );
    let bad_utf8 = [0xFFu8, 0];
    assert_eq!(
        unsafe { cv_exists(h.0, bad_utf8.as_ptr() as *const _, &mut exists) },
        CV_ERR_INVALID_ARGUMENT
    );

    let config = cv_config_new();
    let (k, v) = (
        CString::new("block_size").unwrap(),
        CString::new("big").unwrap(),
    );
    assert_eq!(
        unsafe { cv_config_set(config, k.as_ptr(), v.as_ptr()) },
        CV_ERR_INVALID_ARGUMENT
    );
    let k = CString::new("no_such_key").unwrap();
    assert_eq!(
        unsafe { cv_config_set(config, k.as_ptr(), v.as_ptr()) },
        CV_ERR_UNKNOWN_OPTION
    );
    let mut client = ptr::null_mut();
    assert_eq!(
        unsafe { cv_client_new(config, ptr::null_mut()) },
        CV_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { cv_client_new(ptr::null(), &mut client) },
        CV_ERR_INVALID_ARGUMENT
    );
    unsafe { cv_config_free(config) };
    unsafe { cv_config_free(ptr::null_mut()) };
    unsafe { cv_client_free(ptr::null_mut()) };
}

#[test]
fn a_panic_becomes_an_internal_error() {
    let code = status::guard(|| panic!("boom"));
    assert_eq!(code, CV_ERR_INTERNAL);
    assert!(last_message().contains("boom"));
}
