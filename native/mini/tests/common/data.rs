//! Writing and reading files with raw frames, the way Curvine's client does.
#![allow(dead_code)]

use std::net::SocketAddr;

use prost::Message;
use wire::frame::Frame;
use wire::proto::{
    AddBlockRequest, BlockLocationProto, BlockReadRequest, BlockReadResponse, BlockWriteRequest,
    BlockWriteResponse, ClientAddressProto, CommitBlockProto, CompleteFileRequest,
    CompleteFileResponse, CreateFileOptsProto, CreateFileRequest, CreateFileResponse,
    ExtendedBlockProto, FileBlocksProto, FileStatusProto, GetBlockLocationsRequest,
    GetBlockLocationsResponse, LocatedBlockProto, WorkerAddressProto,
};
use wire::{ErrorBlob, RequestStatus, RpcCode};

use super::{err, ok, req_id, Conn};

pub const CLIENT: &str = "test-client";
pub const WRONLY_CREAT: u32 = 0x41;
pub const TRUNC: u32 = 0x200;

pub fn opts(block_size: i64, replicas: i32) -> CreateFileOptsProto {
    CreateFileOptsProto {
        create_parent: true,
        replicas,
        block_size,
        client_name: CLIENT.into(),
        mode: 0o644,
        ..Default::default()
    }
}

pub fn create(m: &mut Conn, path: &str, o: CreateFileOptsProto, flags: u32) -> Frame {
    m.call(
        RpcCode::CreateFile,
        &CreateFileRequest {
            path: path.into(),
            opts: o,
            flags,
        },
    )
}

pub fn addr(w: &WorkerAddressProto) -> SocketAddr {
    format!("{}:{}", w.ip_addr, w.rpc_port).parse().unwrap()
}

pub fn client_address() -> ClientAddressProto {
    ClientAddressProto {
        client_name: CLIENT.into(),
        hostname: "localhost".into(),
        ip_addr: "127.0.0.1".into(),
        port: 0,
    }
}

pub fn add_block(
    m: &mut Conn,
    path: &str,
    inode_id: i64,
    commits: Vec<CommitBlockProto>,
    file_len: i64,
    last: Option<ExtendedBlockProto>,
) -> Frame {
    m.call(
        RpcCode::AddBlock,
        &AddBlockRequest {
            path: path.into(),
            commit_blocks: commits,
            exclude_workers: vec![],
            located: true,
            client_address: client_address(),
            file_len,
            last_block: last,
            inode_id: Some(inode_id),
        },
    )
}

/// One frame of a block stream; returns the reply.
pub fn stream_frame(
    w: &mut Conn,
    code: RpcCode,
    status: RequestStatus,
    rid: i64,
    seq: i32,
    header: Vec<u8>,
    data: Vec<u8>,
) -> Frame {
    let mut f = Frame::request(code.as_i8(), status, rid, seq, header);
    f.data = data;
    w.round_trip(&f)
}

/// Writes `data` as one block stream to `worker`, in frames of `chunk`.
pub fn write_block(
    worker: SocketAddr,
    block: &ExtendedBlockProto,
    off: i64,
    block_size: i64,
    data: &[u8],
    chunk: usize,
) {
    let mut w = Conn::open(worker);
    let rid = req_id();
    let open = BlockWriteRequest {
        block: *block,
        off,
        block_size,
        client_name: CLIENT.into(),
        chunk_size: chunk as i32,
        ..Default::default()
    };
    let reply = stream_frame(
        &mut w,
        RpcCode::WriteBlock,
        RequestStatus::Open,
        rid,
        0,
        open.encode_to_vec(),
        vec![],
    );
    let r: BlockWriteResponse = ok(&reply);
    assert_eq!(r.block_size, block_size);
    assert_eq!(r.path, None, "no local path unless asked for");

    let mut seq = 1;
    for piece in data.chunks(chunk.max(1)) {
        let reply = stream_frame(
            &mut w,
            RpcCode::WriteBlock,
            RequestStatus::Running,
            rid,
            seq,
            vec![],
            piece.to_vec(),
        );
        assert!(reply.is_success(), "write frame {seq}: {:?}", err(&reply));
        assert!(reply.header.is_empty() && reply.data.is_empty());
        seq += 1;
    }

    let mut done = *block;
    done.block_size = off + data.len() as i64;
    let complete = BlockWriteRequest {
        block: done,
        off: off + data.len() as i64,
        block_size,
        client_name: CLIENT.into(),
        ..Default::default()
    };
    let reply = stream_frame(
        &mut w,
        RpcCode::WriteBlock,
        RequestStatus::Complete,
        rid,
        seq,
        complete.encode_to_vec(),
        vec![],
    );
    assert!(reply.is_success(), "complete: {:?}", err(&reply));
}

pub fn commit_of(lb: &LocatedBlockProto, len: i64) -> CommitBlockProto {
    CommitBlockProto {
        block_id: lb.block.id,
        block_len: len,
        locations: lb
            .locs
            .iter()
            .map(|w| BlockLocationProto {
                worker_id: w.worker_id,
                storage_type: lb.block.storage_type,
            })
            .collect(),
    }
}

/// CreateFile, then AddBlock and one WriteBlock stream per replica for each
/// block, then CompleteFile. Returns the final status.
pub fn write_file(
    m: &mut Conn,
    path: &str,
    data: &[u8],
    block_size: i64,
    replicas: i32,
    chunk: usize,
) -> FileStatusProto {
    let created: CreateFileResponse = ok(&create(
        m,
        path,
        opts(block_size, replicas),
        WRONLY_CREAT | TRUNC,
    ));
    let id = created.file_status.id;

    let mut commits = vec![];
    let mut last: Option<ExtendedBlockProto> = None;
    let mut written = 0i64;
    for piece in data.chunks(block_size as usize) {
        let lb: LocatedBlockProto = ok(&add_block(m, path, id, commits, written, last));
        assert_eq!(lb.block.block_size, 0, "a new block is empty");
        assert_eq!(lb.locs.len(), replicas as usize);
        for w in &lb.locs {
            write_block(addr(w), &lb.block, 0, block_size, piece, chunk);
        }
        written += piece.len() as i64;
        commits = vec![commit_of(&lb, piece.len() as i64)];
        let mut b = lb.block;
        b.block_size = piece.len() as i64;
        last = Some(b);
    }

    let done: CompleteFileResponse = m.ok(
        RpcCode::CompleteFile,
        &CompleteFileRequest {
            path: path.into(),
            len: written,
            client_name: CLIENT.into(),
            commit_blocks: commits,
            only_flush: false,
            inode_id: Some(id),
            set_attr_opts: None,
            return_file_blocks: Some(true),
        },
    );
    assert!(done.result);
    assert!(done.file_blocks.is_none());
    super::stat(m, path)
}

pub fn locations(m: &mut Conn, path: &str) -> FileBlocksProto {
    let r: GetBlockLocationsResponse = m.ok(
        RpcCode::GetBlockLocations,
        &GetBlockLocationsRequest { path: path.into() },
    );
    r.blocks
}

pub fn read_open(id: i64, off: i64, len: i64, chunk: i32, short_circuit: bool) -> Vec<u8> {
    BlockReadRequest {
        id,
        off,
        len,
        chunk_size: chunk,
        short_circuit,
        enable_read_ahead: true,
        read_ahead_len: 1 << 20,
        drop_cache_len: 1 << 20,
        component_info: None,
    }
    .encode_to_vec()
}

/// Reads one block with the pull model: one empty Running frame per chunk,
/// counted so that the stream never asks past the end.
pub fn read_block(worker: SocketAddr, lb: &LocatedBlockProto, chunk: i32) -> Vec<u8> {
    let mut w = Conn::open(worker);
    let rid = req_id();
    let len = lb.block.block_size;
    let reply = stream_frame(
        &mut w,
        RpcCode::ReadBlock,
        RequestStatus::Open,
        rid,
        0,
        read_open(lb.block.id, 0, len, chunk, false),
        vec![],
    );
    let r: BlockReadResponse = ok(&reply);
    assert_eq!((r.id, r.len, r.path), (lb.block.id, len, None));

    let mut out = Vec::with_capacity(len as usize);
    let mut seq = 1;
    while (out.len() as i64) < len {
        let reply = stream_frame(
            &mut w,
            RpcCode::ReadBlock,
            RequestStatus::Running,
            rid,
            seq,
            vec![],
            vec![],
        );
        assert!(reply.is_success(), "read frame {seq}: {:?}", err(&reply));
        let want = (chunk as i64).min(len - out.len() as i64) as usize;
        assert_eq!(reply.data.len(), want, "chunk {seq} size");
        out.extend_from_slice(&reply.data);
        seq += 1;
    }
    let complete = BlockReadRequest {
        id: lb.block.id,
        ..Default::default()
    };
    let reply = stream_frame(
        &mut w,
        RpcCode::ReadBlock,
        RequestStatus::Complete,
        rid,
        seq,
        complete.encode_to_vec(),
        vec![],
    );
    assert!(reply.is_success());
    out
}

/// Reads a whole file through replica `replica` of every block.
pub fn read_file(m: &mut Conn, path: &str, replica: usize, chunk: i32) -> Vec<u8> {
    let fb = locations(m, path);
    let mut out = Vec::new();
    for lb in &fb.block_locs {
        out.extend(read_block(addr(&lb.locs[replica]), lb, chunk));
    }
    assert_eq!(out.len() as i64, fb.status.len);
    out
}

/// Reads a whole file from the replicas on one worker.
pub fn read_file_on(m: &mut Conn, path: &str, worker: SocketAddr, chunk: i32) -> Vec<u8> {
    let fb = locations(m, path);
    let mut out = Vec::new();
    for lb in &fb.block_locs {
        assert!(
            lb.locs.iter().any(|w| addr(w) == worker),
            "block {} not on {worker}",
            lb.block.id
        );
        out.extend(read_block(worker, lb, chunk));
    }
    out
}

pub fn kind(reply: &Frame) -> i32 {
    let blob: ErrorBlob = err(reply);
    blob.raw_kind
}

/// Deterministic, non-repeating test bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
