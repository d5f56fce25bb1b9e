//! The data path of the mini cluster: files of several blocks written and
//! read back with raw frames over real sockets.

mod common;

use std::fs;
use std::io::Write;
use std::net::TcpStream;

use common::data::*;
use common::{err, ok, req_id, stat, Conn, Mini};
use prost::Message;
use wire::frame::Frame;
use wire::proto::{
    BlockReadResponse, BlockWriteRequest, BlockWriteResponse, CompleteFileRequest,
    CompleteFileResponse, CreateFileResponse, DataHeaderProto, DeleteRequest, DeleteResponse,
    ExtendedBlockProto, GetFilesystemInfoRequest, GetFilesystemInfoResponse, LocatedBlockProto,
    OpenFileRequest, OpenFileResponse,
};
use wire::{RequestStatus, RpcCode};

const BLOCK: i64 = 64 * 1024;

fn block_files(mini: &Mini, worker: usize) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(mini.data_dir.join(format!("worker-{worker}")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_file_of_several_blocks_round_trips_on_every_replica() {
    let mini = Mini::start(&["--workers", "2"]);
    let mut m = mini.leader_conn();
    let data = pattern(3 * BLOCK as usize + 12_345, 1);

    // Frames of odd sizes, and whole blocks in one frame.
    for (path, chunk) in [("/d/odd", 20_000usize), ("/d/whole", BLOCK as usize)] {
        let status = write_file(&mut m, path, &data, BLOCK, 2, chunk);
        assert_eq!(status.len, data.len() as i64);
        assert!(status.is_complete);
        assert_eq!(status.block_size, BLOCK);
        assert_eq!(status.replicas, 2);

        let fb = locations(&mut m, path);
        let lens: Vec<i64> = fb.block_locs.iter().map(|b| b.block.block_size).collect();
        assert_eq!(lens, [BLOCK, BLOCK, BLOCK, 12_345]);
        assert_eq!(
            fb.block_locs[0].block.id >> 24,
            status.id,
            "block ids carry the inode"
        );
        for replica in 0..2 {
            assert!(
                read_file(&mut m, path, replica, 10_000) == data,
                "replica {replica}"
            );
        }
    }
    assert_eq!(block_files(&mini, 0).len(), 8);
    assert_eq!(block_files(&mini, 1).len(), 8);

    // The workers report what they hold.
    let info: GetFilesystemInfoResponse = m.ok(
        RpcCode::GetFilesystemInfo,
        &GetFilesystemInfoRequest::default(),
    );
    assert_eq!(info.inode_file_num, 2);
    assert_eq!(info.block_num, 16);
    assert_eq!(info.fs_used, 4 * data.len() as i64);

    // Delete drops the block files too.
    let gone: DeleteResponse = m.ok(
        RpcCode::Delete,
        &DeleteRequest {
            path: "/d".into(),
            recursive: true,
        },
    );
    assert_eq!(gone.res.unwrap().bytes, 2 * data.len() as i64);
    assert!(block_files(&mini, 0).is_empty());
    assert!(block_files(&mini, 1).is_empty());
}

#[test]
fn empty_files_and_sizes_around_the_block_boundary() {
    let mini = Mini::start(&[]);
    let mut m = mini.leader_conn();
    for (i, len) in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK]
        .into_iter()
        .enumerate()
    {
        let data = pattern(len as usize, i as u64 + 10);
        let path = format!("/f{i}");
        let status = write_file(&mut m, &path, &data, BLOCK, 1, 7_000);
        assert_eq!(status.len, len);
        assert!(read_file(&mut m, &path, 0, 4096) == data, "len {len}");
    }
}

fn open_read_stream(
    w: &mut Conn,
    lb: &LocatedBlockProto,
    off: i64,
    chunk: i32,
    sc: bool,
) -> (i64, Frame) {
    let rid = req_id();
    let reply = stream_frame(
        w,
        RpcCode::ReadBlock,
        RequestStatus::Open,
        rid,
        0,
        read_open(lb.block.id, off, lb.block.block_size, chunk, sc),
        vec![],
    );
    (rid, reply)
}

#[test]
fn reads_pull_chunks_seek_and_refuse_to_read_past_the_end() {
    let mini = Mini::start(&[]);
    let mut m = mini.leader_conn();
    let data = pattern(10_000, 3);
    write_file(&mut m, "/r", &data, BLOCK, 1, 4096);
    let lb = locations(&mut m, "/r").block_locs[0].clone();
    let mut w = Conn::open(addr(&lb.locs[0]));

    // Starting at an offset, then the remainder in one short chunk.
    let (rid, reply) = open_read_stream(&mut w, &lb, 1_000, 8_000, false);
    let r: BlockReadResponse = ok(&reply);
    assert_eq!(r.len, 10_000);
    let run = |w: &mut Conn, seq, header: Vec<u8>| {
        stream_frame(
            w,
            RpcCode::ReadBlock,
            RequestStatus::Running,
            rid,
            seq,
            header,
            vec![],
        )
    };
    assert_eq!(run(&mut w, 1, vec![]).data, &data[1_000..9_000]);
    assert_eq!(run(&mut w, 2, vec![]).data, &data[9_000..]);

    // Past the end: kind 1, and the stream stays usable after a seek.
    let over = run(&mut w, 3, vec![]);
    assert_eq!(kind(&over), 1);
    let seek = DataHeaderProto {
        offset: 500,
        flush: false,
        is_last: false,
    };
    assert_eq!(run(&mut w, 4, seek.encode_to_vec()).data, &data[500..8_500]);
    let bad_seek = DataHeaderProto {
        offset: 10_001,
        flush: false,
        is_last: false,
    };
    assert_eq!(kind(&run(&mut w, 5, bad_seek.encode_to_vec())), 10000);

    // Complete checks the stream's req_id.
    let other = stream_frame(
        &mut w,
        RpcCode::ReadBlock,
        RequestStatus::Complete,
        req_id(),
        6,
        vec![],
        vec![],
    );
    assert_eq!(kind(&other), 10000);
    let done = stream_frame(
        &mut w,
        RpcCode::ReadBlock,
        RequestStatus::Complete,
        rid,
        7,
        vec![],
        vec![],
    );
    assert!(done.is_success());

    // Unknown blocks are kind 29; bad offsets and chunk sizes 10000.
    let mut missing = lb.clone();
    missing.block.id += 77;
    assert_eq!(
        kind(&open_read_stream(&mut w, &missing, 0, 4096, false).1),
        29
    );
    assert_eq!(
        kind(&open_read_stream(&mut w, &lb, 10_001, 4096, false).1),
        10000
    );
    assert_eq!(kind(&open_read_stream(&mut w, &lb, 0, 0, false).1), 10000);

    // A worker answers master codes as unsupported.
    let f = Frame::request(
        RpcCode::Exists.as_i8(),
        RequestStatus::Rpc,
        req_id(),
        -1,
        vec![],
    );
    assert_eq!(kind(&w.round_trip(&f)), 10000);
}

#[test]
fn short_circuit_hands_out_the_block_file() {
    let mini = Mini::start(&[]);
    let mut m = mini.leader_conn();
    let data = pattern(BLOCK as usize + 100, 4);
    write_file(&mut m, "/sc", &data, BLOCK, 1, 30_000);

    let lb = locations(&mut m, "/sc").block_locs[0].clone();
    let mut w = Conn::open(addr(&lb.locs[0]));
    let (rid, reply) = open_read_stream(&mut w, &lb, 0, 4096, true);
    let r: BlockReadResponse = ok(&reply);
    let path = r.path.expect("a local path for a co-located client");
    assert!(path.starts_with(mini.data_dir.to_str().unwrap()), "{path}");
    assert_eq!(fs::read(&path).unwrap(), &data[..BLOCK as usize]);
    let done = stream_frame(
        &mut w,
        RpcCode::ReadBlock,
        RequestStatus::Complete,
        rid,
        1,
        vec![],
        vec![],
    );
    assert!(done.is_success());

    // Writing through the local file: Open asks for the path, the client
    // writes the file itself and only sends Complete.
    let created: CreateFileResponse = ok(&create(&mut m, "/local", opts(BLOCK, 1), WRONLY_CREAT));
    let id = created.file_status.id;
    let lb: LocatedBlockProto = ok(&add_block(&mut m, "/local", id, vec![], 0, None));
    let mut w = Conn::open(addr(&lb.locs[0]));
    let rid = req_id();
    let open = BlockWriteRequest {
        block: lb.block,
        off: 0,
        block_size: BLOCK,
        short_circuit: true,
        client_name: CLIENT.into(),
        chunk_size: 4096,
        ..Default::default()
    };
    let r: BlockWriteResponse = ok(&stream_frame(
        &mut w,
        RpcCode::WriteBlock,
        RequestStatus::Open,
        rid,
        0,
        open.encode_to_vec(),
        vec![],
    ));
    let local = r.path.expect("a local path for a co-located writer");
    let payload = pattern(5_000, 5);
    fs::OpenOptions::new()
        .write(true)
        .open(&local)
        .unwrap()
        .write_all(&payload)
        .unwrap();
    let mut block = lb.block;
    block.block_size = payload.len() as i64;
    let complete = BlockWriteRequest {
        block,
        off: payload.len() as i64,
        block_size: BLOCK,
        client_name: CLIENT.into(),
        ..Default::default()
    };
    let reply = stream_frame(
        &mut w,
        RpcCode::WriteBlock,
        RequestStatus::Complete,
        rid,
        1,
        complete.encode_to_vec(),
        vec![],
    );
    assert!(reply.is_success());
    let done: CompleteFileResponse = m.ok(
        RpcCode::CompleteFile,
        &CompleteFileRequest {
            path: "/local".into(),
            len: payload.len() as i64,
            client_name: CLIENT.into(),
            commit_blocks: vec![commit_of(&lb, payload.len() as i64)],
            only_flush: false,
            inode_id: Some(id),
            set_attr_opts: None,
            return_file_blocks: None,
        },
    );
    assert!(done.result);
    assert!(read_file(&mut m, "/local", 0, 4096) == payload);
}

#[test]
fn write_streams_check_ids_bounds_and_cancel() {
    let mini = Mini::start(&[]);
    let mut m = mini.leader_conn();
    let created: CreateFileResponse = ok(&create(&mut m, "/w", opts(BLOCK, 1), WRONLY_CREAT));
    let id = created.file_status.id;
    let lb: LocatedBlockProto = ok(&add_block(&mut m, "/w", id, vec![], 0, None));
    let mut w = Conn::open(addr(&lb.locs[0]));
    let rid = req_id();
    let open = |off| BlockWriteRequest {
        block: lb.block,
        off,
        block_size: BLOCK,
        client_name: CLIENT.into(),
        chunk_size: 4096,
        ..Default::default()
    };
    let frame = |w: &mut Conn, status, rid, seq, header: Vec<u8>, data: Vec<u8>| {
        stream_frame(w, RpcCode::WriteBlock, status, rid, seq, header, data)
    };

    assert_eq!(
        kind(&frame(
            &mut w,
            RequestStatus::Open,
            rid,
            0,
            open(BLOCK + 1).encode_to_vec(),
            vec![]
        )),
        10000
    );
    assert!(frame(
        &mut w,
        RequestStatus::Open,
        rid,
        0,
        open(0).encode_to_vec(),
        vec![]
    )
    .is_success());
    // Another req_id cannot write into this stream.
    assert_eq!(
        kind(&frame(
            &mut w,
            RequestStatus::Running,
            req_id(),
            1,
            vec![],
            vec![1; 10]
        )),
        10000
    );
    assert!(frame(&mut w, RequestStatus::Running, rid, 1, vec![], vec![1; 10]).is_success());
    // Past the block size.
    assert_eq!(
        kind(&frame(
            &mut w,
            RequestStatus::Running,
            rid,
            2,
            vec![],
            vec![2; BLOCK as usize]
        )),
        10000
    );
    // A flush marker is accepted and changes nothing.
    let flush = DataHeaderProto {
        offset: 0,
        flush: true,
        is_last: false,
    };
    assert!(frame(
        &mut w,
        RequestStatus::Running,
        rid,
        3,
        flush.encode_to_vec(),
        vec![3; 5]
    )
    .is_success());

    // Cancel discards the replica.
    let cancel = BlockWriteRequest {
        block: ExtendedBlockProto {
            block_size: 15,
            ..lb.block
        },
        block_size: BLOCK,
        ..Default::default()
    };
    assert!(frame(
        &mut w,
        RequestStatus::Cancel,
        rid,
        4,
        cancel.encode_to_vec(),
        vec![]
    )
    .is_success());
    assert!(block_files(&mini, 0).is_empty());
    let mut r = Conn::open(addr(&lb.locs[0]));
    assert_eq!(
        kind(
            &open_read_stream(
                &mut r,
                &LocatedBlockProto {
                    block: ExtendedBlockProto {
                        block_size: 15,
                        ..lb.block
                    },
                    ..lb.clone()
                },
                0,
                4096,
                false
            )
            .1
        ),
        29
    );

    // A writer that disconnects mid-block leaves nothing behind.
    let mut w = Conn::open(addr(&lb.locs[0]));
    let rid = req_id();
    assert!(frame(
        &mut w,
        RequestStatus::Open,
        rid,
        0,
        open(0).encode_to_vec(),
        vec![]
    )
    .is_success());
    assert!(frame(&mut w, RequestStatus::Running, rid, 1, vec![], vec![1; 100]).is_success());
    drop(w);
    let mut r = Conn::open(addr(&lb.locs[0]));
    // The worker notices the close on its own thread; a new read of the
    // block must then fail with kind 29. Poll by a bounded number of tries.
    let mut last = 0;
    for _ in 0..200 {
        let reply = open_read_stream(&mut r, &lb, 0, 4096, false).1;
        if !reply.is_success() {
            last = kind(&reply);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(last, 29);
}

#[test]
fn a_stopped_worker_refuses_connects_and_gets_no_new_blocks() {
    let mut mini = Mini::start(&["--workers", "2"]);
    let mut m = mini.leader_conn();
    let data = pattern(2 * BLOCK as usize, 6);
    write_file(&mut m, "/two", &data, BLOCK, 2, 16_384);

    assert_eq!(mini.command("stop-worker 0"), "ok");
    assert!(TcpStream::connect(mini.workers[0]).is_err());

    // The block locations still name both replicas; the second one serves.
    let fb = locations(&mut m, "/two");
    assert_eq!(fb.block_locs[0].locs.len(), 2);
    assert!(read_file_on(&mut m, "/two", mini.workers[1], 16_384) == data);

    let info: GetFilesystemInfoResponse = m.ok(
        RpcCode::GetFilesystemInfo,
        &GetFilesystemInfoRequest::default(),
    );
    assert_eq!((info.live_workers.len(), info.lost_workers.len()), (1, 1));

    // New blocks only go to the live worker.
    let status = write_file(&mut m, "/one", &data[..1000], BLOCK, 1, 1000);
    assert_eq!(status.len, 1000);
    let fb = locations(&mut m, "/one");
    assert_eq!(addr(&fb.block_locs[0].locs[0]), mini.workers[1]);

    assert_eq!(mini.command("start-worker 0"), "ok");
    let back = read_file_on(&mut m, "/two", mini.workers[0], 16_384);
    assert!(back == data, "the restarted worker kept its blocks");
}

#[test]
fn no_worker_means_no_block() {
    let mini = Mini::start(&["--workers", "0"]);
    let mut m = mini.leader_conn();
    let created: CreateFileResponse = ok(&create(&mut m, "/x", opts(BLOCK, 1), WRONLY_CREAT));
    let reply = add_block(&mut m, "/x", created.file_status.id, vec![], 0, None);
    let blob = err(&reply);
    assert_eq!(blob.raw_kind, 10000);
    assert_eq!(blob.message, "No available worker found");
}

#[test]
fn add_block_is_idempotent_and_append_reopens_the_last_block() {
    let mini = Mini::start(&[]);
    let mut m = mini.leader_conn();
    let created: CreateFileResponse = ok(&create(&mut m, "/a", opts(BLOCK, 1), WRONLY_CREAT));
    let id = created.file_status.id;

    let first: LocatedBlockProto = ok(&add_block(&mut m, "/a", id, vec![], 0, None));
    let again: LocatedBlockProto = ok(&add_block(&mut m, "/a", id, vec![], 0, None));
    assert_eq!(
        first.block.id, again.block.id,
        "a retried AddBlock gets the same block"
    );

    let data = pattern(BLOCK as usize, 7);
    write_block(addr(&first.locs[0]), &first.block, 0, BLOCK, &data, 8192);
    let mut last = first.block;
    last.block_size = BLOCK;
    let second: LocatedBlockProto = ok(&add_block(
        &mut m,
        "/a",
        id,
        vec![commit_of(&first, BLOCK)],
        BLOCK,
        Some(last),
    ));
    assert_ne!(second.block.id, first.block.id);
    let retry: LocatedBlockProto = ok(&add_block(
        &mut m,
        "/a",
        id,
        vec![commit_of(&first, BLOCK)],
        BLOCK,
        Some(last),
    ));
    assert_eq!(retry.block.id, second.block.id);

    // A length that is not the sum of the blocks is refused.
    let complete = |len, commits, client: &str| CompleteFileRequest {
        path: "/a".into(),
        len,
        client_name: client.into(),
        commit_blocks: commits,
        only_flush: false,
        inode_id: None,
        set_attr_opts: None,
        return_file_blocks: None,
    };
    let tail = pattern(300, 8);
    write_block(addr(&second.locs[0]), &second.block, 0, BLOCK, &tail, 8192);
    let bad = m.call(
        RpcCode::CompleteFile,
        &complete(BLOCK + 999, vec![commit_of(&second, 300)], CLIENT),
    );
    assert_eq!(kind(&bad), 10000);
    // Another lease id completes the data but the file stays open.
    let _: CompleteFileResponse = m.ok(
        RpcCode::CompleteFile,
        &complete(BLOCK + 300, vec![commit_of(&second, 300)], "someone-else"),
    );
    assert!(!stat(&mut m, "/a").is_complete);
    let _: CompleteFileResponse = m.ok(
        RpcCode::CompleteFile,
        &complete(BLOCK + 300, vec![], CLIENT),
    );
    assert!(stat(&mut m, "/a").is_complete);

    // Append: OpenFile returns the blocks; the last one is reopened at its
    // length.
    let opened: OpenFileResponse = m.ok(
        RpcCode::OpenFile,
        &OpenFileRequest {
            path: "/a".into(),
            opts: opts(BLOCK, 1),
            flags: 0x441,
        },
    );
    let blocks = opened.file_blocks.block_locs;
    assert_eq!(blocks.len(), 2);
    assert!(!opened.file_blocks.status.is_complete);
    let more = pattern(700, 9);
    let lb = &blocks[1];
    write_block(addr(&lb.locs[0]), &lb.block, 300, BLOCK, &more, 100);
    let _: CompleteFileResponse = m.ok(
        RpcCode::CompleteFile,
        &complete(BLOCK + 1000, vec![commit_of(lb, 1000)], CLIENT),
    );
    let mut expect = data.clone();
    expect.extend_from_slice(&tail);
    expect.extend_from_slice(&more);
    assert!(read_file(&mut m, "/a", 0, 4096) == expect);

    // Flush keeps the lease and returns the blocks.
    let _: OpenFileResponse = m.ok(
        RpcCode::OpenFile,
        &OpenFileRequest {
            path: "/a".into(),
            opts: opts(BLOCK, 1),
            flags: 0x441,
        },
    );
    let mut flush = complete(BLOCK + 1000, vec![], CLIENT);
    flush.only_flush = true;
    let flushed: CompleteFileResponse = m.ok(RpcCode::CompleteFile, &flush);
    assert_eq!(flushed.file_blocks.unwrap().block_locs.len(), 2);
    assert!(!stat(&mut m, "/a").is_complete);
}

#[test]
fn blocks_spread_round_robin_over_the_live_workers() {
    // Workers on another host than the client: no local worker comes first.
    let mut mini = Mini::start(&["--workers", "3", "--worker-hostname", "node-7"]);
    let mut m = mini.leader_conn();
    let data = pattern(6 * BLOCK as usize, 11);
    write_file(&mut m, "/spread", &data, BLOCK, 1, BLOCK as usize);

    let placed = |m: &mut Conn, path: &str| -> Vec<std::net::SocketAddr> {
        locations(m, path)
            .block_locs
            .iter()
            .map(|b| addr(&b.locs[0]))
            .collect()
    };
    let on = placed(&mut m, "/spread");
    for w in &mini.workers {
        assert_eq!(on.iter().filter(|a| *a == w).count(), 2, "{on:?}");
    }

    // Replicas go to distinct workers, and never to a stopped one.
    assert_eq!(mini.command("stop-worker 1"), "ok");
    write_file(&mut m, "/pairs", &data, BLOCK, 2, BLOCK as usize);
    for b in locations(&mut m, "/pairs").block_locs {
        let (a, b) = (addr(&b.locs[0]), addr(&b.locs[1]));
        assert_ne!(a, b);
        assert!(a != mini.workers[1] && b != mini.workers[1]);
    }
}

#[test]
fn a_local_worker_takes_the_first_replica() {
    let mini = Mini::start(&["--workers", "3"]);
    let mut m = mini.leader_conn();
    let data = pattern(4 * BLOCK as usize, 12);
    write_file(&mut m, "/local", &data, BLOCK, 2, BLOCK as usize);
    for b in locations(&mut m, "/local").block_locs {
        assert_eq!(addr(&b.locs[0]), mini.workers[0]);
        assert_ne!(addr(&b.locs[1]), mini.workers[0]);
    }
}
