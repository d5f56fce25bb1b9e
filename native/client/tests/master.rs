//! Leader discovery and retries against in-test masters.

mod common;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use client::{Client, ClientConf, Code};
use common::{fail, not_leader, ok, refused_addr, wait_until, TestServer};
use wire::frame::Frame;
use wire::proto;
use wire::{ErrorKind, RpcCode};

fn conf(masters: &[&str], retry_ms: u64) -> ClientConf {
    let mut conf = ClientConf::default();
    conf.set("master_addrs", &masters.join(",")).unwrap();
    conf.set("rpc_retry_max_duration_ms", &retry_ms.to_string())
        .unwrap();
    conf.set("rpc_retry_min_sleep_ms", "20").unwrap();
    conf.set("rpc_retry_max_sleep_ms", "200").unwrap();
    conf
}

/// A leader that knows one path, "/data".
fn leader(req: &Frame) -> Option<Frame> {
    match RpcCode::from_i8(req.code) {
        Some(RpcCode::Exists) => {
            let r: proto::ExistsRequest = wire::decode_message(&req.header).unwrap();
            ok(
                req,
                &proto::ExistsResponse {
                    exists: r.path == "/data",
                },
            )
        }
        Some(RpcCode::FileStatus) => fail(req, ErrorKind::FileNotFound, "File /nope not exists"),
        Some(RpcCode::GetFilesystemInfo) => ok(
            req,
            &proto::GetFilesystemInfoResponse {
                active_master: "leader:8995".into(),
                capacity: 1000,
                ..Default::default()
            },
        ),
        _ => fail(req, ErrorKind::Common, "Unsupported operation"),
    }
}

#[test]
fn three_masters_the_second_leads() {
    let a = TestServer::start(not_leader);
    let b = TestServer::start(leader);
    let c = TestServer::start(not_leader);
    let client = Client::new(conf(&[&a.addr, &b.addr, &c.addr], 5000)).unwrap();

    assert!(client.exists("/data").unwrap());
    assert_eq!(client.master().leader().unwrap().to_string(), b.addr);

    // The same frame went to every master: one req_id across them. The
    // standbys' answers may still be on their way when the leader's wins.
    let id = b.req_ids()[0];
    wait_until(|| a.requests() == 1 && c.requests() == 1);
    assert_eq!(a.req_ids(), vec![id]);
    assert_eq!(c.req_ids(), vec![id]);

    // The remembered leader is asked alone, with a fresh req_id.
    assert!(!client.exists("/other").unwrap());
    assert_eq!(a.requests(), 1);
    assert_eq!(c.requests(), 1);
    let ids = b.req_ids();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    assert!(ids.iter().all(|id| *id != -1));
}

#[test]
fn a_new_leader_is_found_after_failover() {
    let a = TestServer::start(leader);
    let b = TestServer::start(not_leader);
    let client = Client::new(conf(&[&a.addr, &b.addr], 5000)).unwrap();
    assert!(client.exists("/data").unwrap());
    assert_eq!(client.master().leader().unwrap().to_string(), a.addr);

    a.set_handler(not_leader);
    b.set_handler(leader);
    assert!(client.exists("/data").unwrap());
    assert_eq!(client.master().leader().unwrap().to_string(), b.addr);
}

#[test]
fn a_server_error_is_final_and_names_path_and_master() {
    let a = TestServer::start(not_leader);
    let b = TestServer::start(leader);
    let client = Client::new(conf(&[&a.addr, &b.addr], 5000)).unwrap();
    let e = client.stat("/nope").unwrap_err();
    assert_eq!(e.code, Code::Server(ErrorKind::FileNotFound as i32));
    assert_eq!(e.path.as_deref(), Some("/nope"));
    assert_eq!(e.endpoint.as_deref(), Some(b.addr.as_str()));
    let text = e.to_string();
    assert!(text.contains("/nope") && text.contains(&b.addr), "{text}");
    // Not retried: one request reached the leader.
    assert_eq!(b.requests(), 1);
}

#[test]
fn the_leader_is_found_even_while_it_comes_up_late() {
    let a = TestServer::start(not_leader);
    let b = TestServer::start(not_leader);
    let client = Client::new(conf(&[&a.addr, &b.addr], 10_000)).unwrap();
    let b_handle = Arc::new(b);
    let b2 = b_handle.clone();
    let flip = thread::spawn(move || {
        while b2.requests() < 3 {
            thread::sleep(Duration::from_millis(5));
        }
        b2.set_handler(leader);
    });
    assert!(client.exists("/data").unwrap());
    flip.join().unwrap();
    assert_eq!(client.master().leader().unwrap().to_string(), b_handle.addr);
    // Every round resent the same request.
    let ids = b_handle.req_ids();
    assert!(ids.len() >= 3);
    assert!(ids.iter().all(|id| *id == ids[0]));
}

#[test]
fn nobody_answering_names_every_endpoint_and_how_it_failed() {
    let refused = refused_addr();
    let standby = TestServer::start(not_leader);
    let silent = TestServer::start(|_| None);
    let unresolvable = "no-such-master.invalid:8995";
    let mut c = conf(&[&refused, &standby.addr, &silent.addr, unresolvable], 800);
    c.set("rpc_timeout_ms", "300").unwrap();
    let client = Client::new(c).unwrap();

    let start = Instant::now();
    let e = client.exists("/data").unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(800));
    assert_eq!(e.code, Code::Unavailable);
    let m = &e.message;
    assert!(
        m.contains(&format!("{refused} (connection refused)")),
        "{m}"
    );
    assert!(
        m.contains(&format!("{} (not the leader)", standby.addr)),
        "{m}"
    );
    assert!(m.contains(&format!("{} (timed out", silent.addr)), "{m}");
    assert!(
        m.contains("no-such-master.invalid:8995 (name did not resolve"),
        "{m}"
    );
    assert!(standby.requests() >= 2, "retried in rounds");
}

#[test]
fn a_master_that_never_answers_ends_at_the_deadline_as_a_timeout() {
    let silent = TestServer::start(|_| None);
    let client = Client::new(conf(&[&silent.addr], 700)).unwrap();
    let start = Instant::now();
    let e = client.exists("/data").unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(700));
    assert_eq!(e.code, Code::Timeout, "{e}");
    assert!(e.message.contains(&silent.addr), "{e}");
}

#[test]
fn the_first_fs_info_carries_the_version_and_later_ones_do_not() {
    let m = TestServer::start(leader);
    let client = Client::new(conf(&[&m.addr], 5000)).unwrap();
    let info = client.fs_info().unwrap();
    assert_eq!(info.leader.to_string(), m.addr);
    assert_eq!(info.info.capacity, 1000);
    client.fs_info().unwrap();

    let seen = m.seen.lock().unwrap();
    let first: proto::GetFilesystemInfoRequest = wire::decode_message(&seen[0].header).unwrap();
    let ci = first.component_info.expect("handshake on the first call");
    assert_eq!(ci.component.as_deref(), Some("client"));
    assert_eq!(ci.protocol_version, Some(1));
    assert_eq!(ci.min_protocol_version, Some(1));
    let second: proto::GetFilesystemInfoRequest = wire::decode_message(&seen[1].header).unwrap();
    assert!(second.component_info.is_none());
}

#[test]
fn many_threads_share_one_client() {
    let m = TestServer::start(leader);
    let client = Arc::new(Client::new(conf(&[&m.addr], 5000)).unwrap());
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let client = client.clone();
            thread::spawn(move || {
                for _ in 0..20 {
                    assert!(client.exists("/data").unwrap());
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(m.requests(), 320);
    let mut ids = m.req_ids();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 320, "every logical request has its own req_id");
}

#[test]
fn a_socket_the_master_closed_is_replaced_without_an_error() {
    let m = TestServer::start_with(true, leader);
    let client = Client::new(conf(&[&m.addr], 5000)).unwrap();
    for _ in 0..3 {
        assert!(client.exists("/data").unwrap());
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(m.requests(), 3);
}

#[test]
fn relative_paths_are_refused_before_any_traffic() {
    let m = TestServer::start(leader);
    let client = Client::new(conf(&[&m.addr], 5000)).unwrap();
    let e = client.exists("data").unwrap_err();
    assert_eq!(e.code, Code::InvalidArgument);
    assert!(e.message.contains("\"data\""));
    assert_eq!(m.requests(), 0);
}
