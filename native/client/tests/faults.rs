//! Worker faults the mini cluster cannot stage, against in-test servers
//! built on the wire crate alone.

mod common;

use std::sync::Arc;

use client::{Client, ClientConf, FileReader, FileWriter, WriteOptions};
use common::{fail, ok, wait_until, TestServer};
use wire::frame::Frame;
use wire::proto;
use wire::{ErrorKind, RequestStatus, RpcCode};

fn port(addr: &str) -> u32 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

fn worker(id: u32, host: &str, addr: &str) -> proto::WorkerAddressProto {
    proto::WorkerAddressProto {
        worker_id: id,
        hostname: host.into(),
        ip_addr: "127.0.0.1".into(),
        rpc_port: port(addr),
        web_port: 0,
    }
}

fn client(master: &str, hostname: &str) -> Arc<Client> {
    let mut conf = ClientConf::default();
    conf.set("master_addrs", master).unwrap();
    conf.set("hostname", hostname).unwrap();
    conf.set("rpc_retry_max_duration_ms", "3000").unwrap();
    conf.set("write_chunk_size", "4KB").unwrap();
    conf.set("write_chunk_num", "1").unwrap();
    conf.set("read_chunk_size", "4KB").unwrap();
    Arc::new(Client::new(conf).unwrap())
}

fn status(req: &Frame) -> RequestStatus {
    req.request_status()
}

const DATA: &[u8] = b"ten bytes!";

/// A worker that serves the ten bytes of block 100.
fn good_reader(req: &Frame) -> Option<Frame> {
    match status(req) {
        RequestStatus::Open => ok(
            req,
            &proto::BlockReadResponse {
                id: 100,
                len: DATA.len() as i64,
                path: None,
                storage_type: 4,
            },
        ),
        RequestStatus::Running => Some(Frame::reply_to(&req.head(), vec![], DATA.to_vec())),
        _ => Some(Frame::reply_to(&req.head(), vec![], vec![])),
    }
}

#[test]
fn a_worker_that_lost_the_block_is_skipped_for_the_next_replica() {
    let lost = TestServer::start(|req| fail(req, ErrorKind::BlockNotFound, "block 100 not found"));
    let good = TestServer::start(good_reader);
    // The lost worker shares the client's host name, so it is tried first.
    let locs = vec![
        worker(1, "here", &lost.addr),
        worker(2, "there", &good.addr),
    ];
    let master = TestServer::start(move |req| match RpcCode::from_i8(req.code)? {
        RpcCode::GetBlockLocations => ok(
            req,
            &proto::GetBlockLocationsResponse {
                blocks: proto::FileBlocksProto {
                    status: proto::FileStatusProto {
                        len: DATA.len() as i64,
                        is_complete: true,
                        ..Default::default()
                    },
                    block_locs: vec![proto::LocatedBlockProto {
                        block: proto::ExtendedBlockProto {
                            id: 100,
                            block_size: DATA.len() as i64,
                            ..Default::default()
                        },
                        offset: 0,
                        locs: locs.clone(),
                        has_spdk: None,
                    }],
                },
            },
        ),
        _ => fail(req, ErrorKind::Common, "Unsupported operation"),
    });

    let c = client(&master.addr, "here");
    let mut r = FileReader::open(c, "/f").unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(r.pread(0, &mut buf).unwrap(), DATA.len());
    assert_eq!(&buf[..DATA.len()], DATA);
    assert_eq!(lost.requests(), 1);

    // The good worker saw Open with short-circuit off (another host) and
    // exactly one chunk request for ten bytes.
    drop(r);
    let seen = good.seen.lock().unwrap();
    let open: proto::BlockReadRequest = wire::decode_message(&seen[0].header).unwrap();
    assert!(!open.short_circuit);
    assert_eq!((open.id, open.off, open.len), (100, 0, 10));
    assert_eq!(open.component_info.unwrap().protocol_version, Some(1));
    let kinds: Vec<RequestStatus> = seen.iter().map(|f| f.request_status()).collect();
    assert_eq!(
        kinds,
        [
            RequestStatus::Open,
            RequestStatus::Running,
            RequestStatus::Complete
        ]
    );
    let seqs: Vec<i32> = seen.iter().map(|f| f.seq_id).collect();
    assert_eq!(seqs, [0, 1, 2]);
    assert!(seen.iter().all(|f| f.req_id == seen[0].req_id));
}

/// A write worker; `fail_at` is the seq_id of the data frame it refuses.
fn write_worker(fail_at: Option<i32>) -> impl Fn(&Frame) -> Option<Frame> + Send + Sync {
    move |req| match status(req) {
        RequestStatus::Open => {
            let open: proto::BlockWriteRequest = wire::decode_message(&req.header).unwrap();
            ok(
                req,
                &proto::BlockWriteResponse {
                    id: open.block.id,
                    path: None,
                    off: open.off,
                    block_size: open.block_size,
                    storage_type: 4,
                },
            )
        }
        RequestStatus::Running if Some(req.seq_id) == fail_at => {
            fail(req, ErrorKind::DiskOutOfSpace, "disk full")
        }
        _ => Some(Frame::reply_to(&req.head(), vec![], vec![])),
    }
}

fn write_master(locs: Vec<proto::WorkerAddressProto>) -> TestServer {
    TestServer::start(move |req| match RpcCode::from_i8(req.code)? {
        RpcCode::CreateFile => ok(
            req,
            &proto::CreateFileResponse {
                file_status: proto::FileStatusProto {
                    id: 1,
                    block_size: 1 << 20,
                    ..Default::default()
                },
            },
        ),
        RpcCode::AddBlock => ok(
            req,
            &proto::LocatedBlockProto {
                block: proto::ExtendedBlockProto {
                    id: 1 << 24,
                    storage_type: 4,
                    file_type: 1,
                    ..Default::default()
                },
                offset: 0,
                locs: locs.clone(),
                has_spdk: None,
            },
        ),
        RpcCode::CompleteFile => ok(
            req,
            &proto::CompleteFileResponse {
                result: true,
                file_blocks: None,
            },
        ),
        _ => fail(req, ErrorKind::Common, "Unsupported operation"),
    })
}

fn codes(server: &TestServer) -> Vec<Option<RpcCode>> {
    server
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|f| RpcCode::from_i8(f.code))
        .collect()
}

#[test]
fn a_replica_that_fails_mid_block_cancels_the_others_and_the_file_is_not_completed() {
    let healthy = TestServer::start(write_worker(None));
    let full = TestServer::start(write_worker(Some(2)));
    let master = write_master(vec![
        worker(1, "a", &healthy.addr),
        worker(2, "b", &full.addr),
    ]);
    let c = client(&master.addr, "elsewhere");
    let two = WriteOptions {
        replicas: Some(2),
        ..Default::default()
    };
    let mut w = FileWriter::open(c, "/f", &two).unwrap();
    let data = vec![7u8; 40 * 1024];
    let outcome = w.write(&data).and_then(|_| w.close());
    let e = outcome.unwrap_err();
    assert!(e.message.contains("disk full"), "{e}");
    assert_eq!(e.endpoint.as_deref(), Some(full.addr.as_str()));

    assert!(!codes(&master).contains(&Some(RpcCode::CompleteFile)));
    // The healthy replica was told to drop the block, never to keep it.
    let cancelled = |f: &Frame| f.request_status() == RequestStatus::Cancel;
    wait_until(|| healthy.seen.lock().unwrap().iter().any(cancelled));
    let frames = healthy.seen.lock().unwrap();
    let kinds: Vec<RequestStatus> = frames.iter().map(|f| f.request_status()).collect();
    assert_eq!(kinds.first(), Some(&RequestStatus::Open));
    assert_eq!(kinds.last(), Some(&RequestStatus::Cancel));
    assert!(!kinds.contains(&RequestStatus::Complete));
}

#[test]
fn a_clean_write_commits_every_replica_and_completes_with_the_length() {
    let a = TestServer::start(write_worker(None));
    let b = TestServer::start(write_worker(None));
    let master = write_master(vec![worker(1, "a", &a.addr), worker(2, "b", &b.addr)]);
    let c = client(&master.addr, "elsewhere");
    let mut w = FileWriter::open(
        c,
        "/f",
        &WriteOptions {
            replicas: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    w.write(&vec![1u8; 10_000]).unwrap();
    w.close().unwrap();

    for worker in [&a, &b] {
        let frames = worker.seen.lock().unwrap();
        let kinds: Vec<RequestStatus> = frames.iter().map(|f| f.request_status()).collect();
        // 10,000 bytes in 4 KiB frames: three data frames.
        assert_eq!(
            kinds,
            [
                RequestStatus::Open,
                RequestStatus::Running,
                RequestStatus::Running,
                RequestStatus::Running,
                RequestStatus::Complete
            ]
        );
        let sizes: Vec<usize> = frames.iter().map(|f| f.data.len()).collect();
        assert_eq!(sizes, [0, 4096, 4096, 1808, 0]);
        let done: proto::BlockWriteRequest = wire::decode_message(&frames[4].header).unwrap();
        assert_eq!((done.block.block_size, done.off), (10_000, 10_000));
    }

    let seen = master.seen.lock().unwrap();
    let complete = seen
        .iter()
        .find(|f| RpcCode::from_i8(f.code) == Some(RpcCode::CompleteFile))
        .expect("CompleteFile sent");
    let req: proto::CompleteFileRequest = wire::decode_message(&complete.header).unwrap();
    assert_eq!(req.len, 10_000);
    assert!(!req.only_flush);
    assert_eq!(req.commit_blocks.len(), 1);
    let commit = &req.commit_blocks[0];
    assert_eq!((commit.block_id, commit.block_len), (1 << 24, 10_000));
    let ids: Vec<u32> = commit.locations.iter().map(|l| l.worker_id).collect();
    assert_eq!(ids, [1, 2]);
}
