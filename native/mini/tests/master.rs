//! The master calls of the mini cluster, over real sockets, with raw frames.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{err, req_id, Conn, Mini};
use wire::frame::{read_head, Frame, NO_REQ_ID, RPC_SEQ_ID};
use wire::proto::{
    DeleteRequest, DeleteResponse, ExistsRequest, ExistsResponse, GetFileStatusRequest,
    GetFileStatusResponse, GetFilesystemInfoRequest, GetFilesystemInfoResponse,
    GetMountTableRequest, GetMountTableResponse, ListStatusRequest, ListStatusResponse,
    MkdirOptsProto, MkdirRequest, MkdirResponse,
};
use wire::{RequestStatus, RpcCode};

fn mkdir_req(path: &str, create_parent: bool) -> MkdirRequest {
    MkdirRequest {
        path: path.into(),
        opts: MkdirOptsProto {
            create_parent,
            mode: 0o750,
            owner: "alice".into(),
            group: "staff".into(),
            ..Default::default()
        },
    }
}

fn mkdir(c: &mut Conn, path: &str, create_parent: bool) -> MkdirResponse {
    c.ok(RpcCode::Mkdir, &mkdir_req(path, create_parent))
}

fn mkdir_kind(c: &mut Conn, path: &str, create_parent: bool) -> i32 {
    c.err(RpcCode::Mkdir, &mkdir_req(path, create_parent))
        .raw_kind
}

fn stat(c: &mut Conn, path: &str) -> GetFileStatusResponse {
    c.ok(
        RpcCode::FileStatus,
        &GetFileStatusRequest { path: path.into() },
    )
}

fn stat_kind(c: &mut Conn, path: &str) -> i32 {
    c.err(
        RpcCode::FileStatus,
        &GetFileStatusRequest { path: path.into() },
    )
    .raw_kind
}

fn list(c: &mut Conn, path: &str) -> Vec<String> {
    let r: ListStatusResponse = c.ok(
        RpcCode::ListStatus,
        &ListStatusRequest {
            path: path.into(),
            need_location: false,
        },
    );
    r.statuses.into_iter().map(|s| s.path).collect()
}

fn exists(c: &mut Conn, path: &str) -> bool {
    let r: ExistsResponse = c.ok(RpcCode::Exists, &ExistsRequest { path: path.into() });
    r.exists
}

fn delete(c: &mut Conn, path: &str, recursive: bool) -> Result<DeleteResponse, i32> {
    let reply = c.call(
        RpcCode::Delete,
        &DeleteRequest {
            path: path.into(),
            recursive,
        },
    );
    if reply.is_success() {
        Ok(common::ok(&reply))
    } else {
        Err(err(&reply).raw_kind)
    }
}

#[test]
fn mkdir_and_status_follow_curvine_semantics() {
    let mini = Mini::start(&[]);
    let mut c = mini.leader_conn();

    let made = mkdir(&mut c, "/a", false);
    assert!(made.status.is_dir);
    assert_eq!(made.status.path, "/a");
    assert_eq!(made.status.name, "a");
    assert_eq!(made.status.mode, 0o750);
    assert_eq!(made.status.owner, "alice");
    assert_eq!(made.status.len, 0);

    // An existing path is kind 7, unless create_parent finds a directory.
    assert_eq!(mkdir_kind(&mut c, "/a", false), 7);
    assert_eq!(mkdir(&mut c, "/a", true).status.id, made.status.id);

    // A missing parent without create_parent is kind 10000, not 8.
    assert_eq!(mkdir_kind(&mut c, "/x/y", false), 10000);
    let deep = mkdir(&mut c, "/x/y/z", true);
    assert_eq!(deep.status.path, "/x/y/z");
    assert!(stat(&mut c, "/x/y").status.is_dir);

    // Paths must be absolute, without a trailing slash.
    assert_eq!(mkdir_kind(&mut c, "rel", true), 10000);
    assert_eq!(mkdir_kind(&mut c, "/a/", true), 10000);
    assert_eq!(stat_kind(&mut c, "/a/"), 10000);
    assert_eq!(mkdir_kind(&mut c, "/", true), 10000);

    // A directory's len is its number of children.
    mkdir(&mut c, "/a/b", false);
    mkdir(&mut c, "/a/c", false);
    let a = stat(&mut c, "/a").status;
    assert_eq!((a.len, a.children_num), (2, 2));
    assert!(a.mtime > 0 && a.atime > 0);
    assert_eq!(stat(&mut c, "/").status.name, "");

    // Missing paths: FileStatus is kind 8, Exists just says false.
    assert_eq!(stat_kind(&mut c, "/nope"), 8);
    assert!(!exists(&mut c, "/nope"));
    assert!(exists(&mut c, "/a/b"));
    assert_eq!(
        c.err(
            RpcCode::Exists,
            &ExistsRequest {
                path: "nope".into()
            }
        )
        .raw_kind,
        10000
    );

    // A default mode is 0o755.
    let plain: MkdirResponse = c.ok(
        RpcCode::Mkdir,
        &MkdirRequest {
            path: "/plain".into(),
            opts: MkdirOptsProto::default(),
        },
    );
    assert_eq!(plain.status.mode, 0o755);
}

#[test]
fn listing_and_delete() {
    let mini = Mini::start(&[]);
    let mut c = mini.leader_conn();
    mkdir(&mut c, "/d/b", true);
    mkdir(&mut c, "/d/a/deep", true);

    assert_eq!(list(&mut c, "/d"), ["/d/a", "/d/b"]);
    assert_eq!(list(&mut c, "/"), ["/d"]);
    assert_eq!(
        c.err(
            RpcCode::ListStatus,
            &ListStatusRequest {
                path: "/missing".into(),
                need_location: false
            }
        )
        .raw_kind,
        8
    );

    assert_eq!(delete(&mut c, "/missing", true).unwrap_err(), 8);
    assert_eq!(delete(&mut c, "/d", false).unwrap_err(), 11);
    assert_eq!(delete(&mut c, "/", true).unwrap_err(), 10000);
    delete(&mut c, "/d/b", false).unwrap();
    let gone = delete(&mut c, "/d", true).unwrap();
    assert_eq!(gone.res.unwrap().inodes, 3);
    assert!(!exists(&mut c, "/d/a/deep"));
    assert!(list(&mut c, "/").is_empty());
}

#[test]
fn filesystem_info_reports_the_leader_and_a_live_worker() {
    let mini = Mini::start(&["--masters", "2", "--leader", "1", "--workers", "2"]);
    assert_eq!(mini.leader, mini.masters[1]);
    let mut c = mini.leader_conn();
    mkdir(&mut c, "/a/b", true);

    let info: GetFilesystemInfoResponse = c.ok(
        RpcCode::GetFilesystemInfo,
        &GetFilesystemInfoRequest::default(),
    );
    assert_eq!(info.active_master, mini.masters[1].to_string());
    assert_eq!(info.inode_dir_num, 3);
    assert_eq!(info.inode_file_num, 0);
    assert_eq!(info.live_workers.len(), 2);
    assert!(info.lost_workers.is_empty());
    assert!(info.capacity > 0 && info.available > 0 && info.available <= info.capacity);
    assert_eq!(info.allocatable_capacity, Some(info.capacity));
    let w = &info.live_workers[0];
    assert_eq!(w.address.hostname, "localhost");
    let advertised = format!("{}:{}", w.address.ip_addr, w.address.rpc_port);
    assert_eq!(advertised, mini.workers[0].to_string());
    let compat = info
        .compatibility
        .expect("compatibility block at field 1000");
    assert_eq!(compat.server.protocol_version, Some(1));

    let table: GetMountTableResponse = c.ok(RpcCode::GetMountTable, &GetMountTableRequest {});
    assert!(table.mount_table.is_empty());
}

#[test]
fn standbys_answer_not_leader_until_the_leader_moves() {
    let mut mini = Mini::start(&["--masters", "3", "--leader", "1"]);
    let req = ExistsRequest { path: "/".into() };

    for (i, addr) in mini.masters.clone().iter().enumerate() {
        let mut c = Conn::open(*addr);
        let reply = c.call(RpcCode::Exists, &req);
        if i == 1 {
            assert!(reply.is_success());
        } else {
            let blob = err(&reply);
            assert_eq!(blob.raw_kind, 2);
            assert_eq!(
                blob.message,
                "Not a leader master, code=Exists, client_ip=127.0.0.1"
            );
        }
    }

    // Every code, even unknown ones, gets the standby answer.
    let mut standby = Conn::open(mini.masters[0]);
    let odd = Frame::request(77, RequestStatus::Rpc, req_id(), RPC_SEQ_ID, vec![]);
    assert_eq!(err(&standby.round_trip(&odd)).raw_kind, 2);

    assert_eq!(mini.command("leader 2"), "ok");
    let mut old = Conn::open(mini.masters[1]);
    assert_eq!(old.err(RpcCode::Exists, &req).raw_kind, 2);
    let mut new = Conn::open(mini.masters[2]);
    let r: ExistsResponse = new.ok(RpcCode::Exists, &req);
    assert!(r.exists);
    let info: GetFilesystemInfoResponse = new.ok(
        RpcCode::GetFilesystemInfo,
        &GetFilesystemInfoRequest::default(),
    );
    assert_eq!(info.active_master, mini.masters[2].to_string());

    assert!(mini.command("leader 3").starts_with("error: "));
    assert!(mini.command("leader").starts_with("error: "));
}

#[test]
fn a_stopped_master_refuses_connects_until_started_again() {
    let mut mini = Mini::start(&["--masters", "2"]);
    let addr = mini.masters[0];
    let mut before = Conn::open(addr);
    mkdir(&mut before, "/kept", false);

    assert_eq!(mini.command("stop-master 0"), "ok");
    assert!(
        TcpStream::connect(addr).is_err(),
        "connect after stop-master"
    );
    // Open connections are closed too.
    let mut buf = [0u8; 1];
    assert!(matches!(before.stream.read(&mut buf), Ok(0) | Err(_)));

    assert_eq!(mini.command("start-master 0"), "ok");
    let mut after = Conn::open(addr);
    assert!(
        exists(&mut after, "/kept"),
        "the namespace survives a restart"
    );
    assert!(mini.command("stop-master 9").starts_with("error: "));
}

#[test]
fn replies_echo_ids_and_heartbeats_get_none() {
    let mini = Mini::start(&[]);
    let mut c = mini.leader_conn();

    let heartbeat = Frame::request(0, RequestStatus::Heartbeat, NO_REQ_ID, RPC_SEQ_ID, vec![]);
    c.send(&heartbeat);
    let mut exists = Frame::request(
        RpcCode::Exists.as_i8(),
        RequestStatus::Rpc,
        0x0123_4567_89AB_CDEF,
        42,
        prost::Message::encode_to_vec(&ExistsRequest { path: "/".into() }),
    );
    c.send(&exists);

    // The very next frame on the wire answers the Exists request.
    let head = read_head(&mut c.stream).unwrap().unwrap();
    assert_eq!(head.req_id, 0x0123_4567_89AB_CDEF);
    assert_eq!(head.seq_id, 42);
    assert_eq!(head.code, RpcCode::Exists.as_i8());
    assert_eq!(head.status as u8, 0x01);
    let mut rest = vec![0u8; head.header_len + head.data_len];
    c.stream.read_exact(&mut rest).unwrap();

    // Error replies keep the request nibble too.
    exists.header = b"\xff\xff\xff".to_vec();
    let reply = c.round_trip(&exists);
    assert_eq!(reply.status as u8, 0x11);
    assert_eq!(err(&reply).raw_kind, 10000);
}

#[test]
fn unknown_codes_are_unsupported() {
    let mini = Mini::start(&[]);
    let mut c = mini.leader_conn();
    for code in [1i8, 6, 22, 32, 99] {
        let f = Frame::request(code, RequestStatus::Rpc, req_id(), RPC_SEQ_ID, vec![]);
        let blob = err(&c.round_trip(&f));
        assert_eq!(blob.raw_kind, 10000);
        assert_eq!(blob.message, "Unsupported operation");
    }
}

#[test]
fn metrics_reports_are_accepted() {
    let mini = Mini::start(&[]);
    let mut c = mini.leader_conn();
    let f = Frame::request(60, RequestStatus::Rpc, req_id(), RPC_SEQ_ID, vec![1, 2, 3]);
    let reply = c.round_trip(&f);
    assert!(reply.is_success());
    assert!(reply.header.is_empty());
}

#[test]
fn a_bad_frame_drops_the_connection_without_a_reply() {
    let mini = Mini::start(&[]);
    let mut s = TcpStream::connect(mini.leader).unwrap();
    let mut prefix = Frame::request(9, RequestStatus::Rpc, req_id(), RPC_SEQ_ID, vec![0; 8])
        .head()
        .encode();
    // A total length too small for the header it announces.
    prefix[0..4].copy_from_slice(&4i32.to_be_bytes());
    s.write_all(&prefix).unwrap();
    s.write_all(&[0; 8]).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(buf.is_empty(), "no reply bytes, got {buf:?}");

    // The master itself keeps serving.
    let mut c = mini.leader_conn();
    assert!(exists(&mut c, "/"));
}

#[test]
fn end_of_stdin_stops_the_cluster_and_removes_its_directory() {
    let mut mini = Mini::start(&["--workers", "1"]);
    assert!(mini.data_dir.join("worker-0").is_dir());
    let status = mini.close_stdin_and_wait();
    assert!(status.success());
    assert!(!mini.data_dir.exists());
    assert!(TcpStream::connect(mini.leader).is_err());
}

#[test]
fn sigterm_and_sigint_stop_the_cluster_and_remove_its_directory() {
    for (signal, args) in [("TERM", vec!["--foreground"]), ("INT", vec![])] {
        let mut mini = Mini::start(&args);
        assert!(mini.data_dir.is_dir());
        let status = mini.signal_and_wait(signal);
        assert!(status.success(), "{signal}: {status}");
        assert!(
            !mini.data_dir.exists(),
            "{signal} leaves the data dir behind"
        );
    }
}

#[test]
fn quit_answers_ok_and_a_given_data_dir_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    let mut mini = Mini::start(&["--data-dir", path.to_str().unwrap()]);
    assert_eq!(mini.data_dir, path);
    assert_eq!(mini.command("quit"), "ok");
    assert!(mini.close_stdin_and_wait().success());
    assert!(path.join("worker-0").is_dir());
}

#[test]
fn a_bad_flag_exits_2_with_one_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_curvine-mini"))
        .args(["--masters", "two"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--masters"), "{stderr}");
    assert!(out.stdout.is_empty());
}
