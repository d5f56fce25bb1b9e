//! Reading files: block locations from the master, then one ReadBlock
//! stream per block from a worker (pull model: one Running request per
//! chunk, no end marker, so chunks are counted), or the block file itself
//! when the worker shares this host.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use wire::proto::{self, LocatedBlockProto, WorkerAddressProto};
use wire::{RequestStatus, RpcCode};

use crate::connection::Failure;
use crate::error::{Code, Error, Result};
use crate::fs::{check_path, component_info, Client};
use crate::worker::{worker_endpoint, Stream, StreamError};

/// Open block files kept per reader, bounding its descriptors.
const MAX_LOCAL_FILES: usize = 64;

/// One block of the file and where it starts.
struct Span {
    start: u64,
    len: u64,
    located: LocatedBlockProto,
}

/// Where the bytes of the open block come from.
enum Source {
    /// The worker sends chunks on a stream.
    Remote(Box<RemoteBlock>),
    /// The block file on this host.
    Local(File),
}

struct RemoteBlock {
    stream: Stream,
    /// In-block offset of the next byte the stream will deliver.
    pos: u64,
    /// Requests sent whose replies are not read yet: (seq_id, bytes).
    in_flight: VecDeque<(i32, u64)>,
    /// Bytes received beyond what a caller asked for, starting at `buf_at`.
    buf: Vec<u8>,
    buf_at: u64,
    /// In-block offset just past the last byte requested.
    requested_to: u64,
    chunk: u64,
    block_len: u64,
}

struct OpenBlock {
    index: usize,
    source: Source,
}

/// An open file for positional reads.
pub struct FileReader {
    client: Arc<Client>,
    path: String,
    len: u64,
    spans: Vec<Span>,
    open: Option<OpenBlock>,
    /// Block files of local replicas, by block index.
    local: HashMap<usize, File>,
    chunk_size: u64,
    /// Chunk requests kept in flight on one stream.
    window: usize,
}

impl FileReader {
    /// Asks the master for the file's blocks. The length is fixed now.
    pub fn open(client: Arc<Client>, path: &str) -> Result<FileReader> {
        check_path(path)?;
        let req = proto::GetBlockLocationsRequest { path: path.into() };
        let resp: proto::GetBlockLocationsResponse = client
            .rpc(RpcCode::GetBlockLocations, &req, Some(path))
            .map_err(|e| client.explain_path_error(path, e))?;
        let blocks = resp.blocks;
        if blocks.status.is_dir {
            return Err(Error::new(
                Code::Server(wire::ErrorKind::IsADirectory as i32),
                "is a directory",
            )
            .with_path(path));
        }

        let mut spans = Vec::with_capacity(blocks.block_locs.len());
        let mut start = 0u64;
        for located in blocks.block_locs {
            let len = u64::try_from(located.block.block_size).map_err(|_| {
                Error::protocol(format!(
                    "block {} has negative length {}",
                    located.block.id, located.block.block_size
                ))
                .with_path(path)
            })?;
            spans.push(Span {
                start,
                len,
                located,
            });
            start += len;
        }
        let status_len = u64::try_from(blocks.status.len).unwrap_or(0);
        let conf = client.conf();
        let chunk_size = conf.read_chunk_size;
        let window = conf.read_chunk_num.max(1) as usize;
        Ok(FileReader {
            path: path.to_string(),
            len: status_len.min(start),
            spans,
            open: None,
            local: HashMap::new(),
            chunk_size,
            window,
            client,
        })
    }

    /// The file's length when it was opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// How many blocks this reader currently reads from local block files.
    pub fn local_blocks(&self) -> usize {
        self.local.len()
    }

    /// Reads up to `buf.len()` bytes at `offset`; fewer only at the end of
    /// the file, 0 at or past it.
    pub fn pread(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if let Some(OpenBlock {
            source: Source::Remote(remote),
            ..
        }) = &self.open
        {
            if !remote.stream.conn.is_own() {
                // Opened before a fork: the parent owns that stream. Closing
                // our copy of the socket leaves it alone.
                self.open = None;
            }
        }
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            if pos >= self.len {
                break;
            }
            let index = self.span_at(pos);
            let span = &self.spans[index];
            let in_block = pos - span.start;
            let want = (buf.len() - done).min((span.len - in_block) as usize);
            let n = self.read_block(index, in_block, &mut buf[done..done + want])?;
            if n == 0 {
                return Err(Error::protocol(format!(
                    "block {} gave no bytes at offset {in_block}",
                    self.spans[index].located.block.id
                ))
                .with_path(&self.path));
            }
            done += n;
        }
        Ok(done)
    }

    fn span_at(&self, pos: u64) -> usize {
        // The last span whose start is at or before pos.
        self.spans.partition_point(|s| s.start <= pos) - 1
    }

    /// Fills `dest` from block `index` at in-block offset `off`, trying the
    /// next replica when a worker fails.
    fn read_block(&mut self, index: usize, off: u64, dest: &mut [u8]) -> Result<usize> {
        let located = &self.spans[index].located;
        if located.locs.is_empty() {
            if located.block.alloc_opts.is_some() {
                // A hole: allocated but never written.
                dest.fill(0);
                return Ok(dest.len());
            }
            return Err(Error::new(
                Code::Unavailable,
                format!("block {} has no live replica", located.block.id),
            )
            .with_path(&self.path));
        }

        if let Some(file) = self.local.get(&index) {
            match read_local(file, off, dest) {
                Ok(n) => return Ok(n),
                Err(_) => {
                    self.local.remove(&index);
                }
            }
        }
        if let Some(open) = &mut self.open {
            if open.index == index {
                match read_from(open, off, dest, self.window) {
                    Ok(Some(n)) => return Ok(n),
                    Ok(None) => {}
                    Err(_) => {
                        // The socket is unusable; a fresh stream decides
                        // below, starting with the same worker.
                        self.open = None;
                    }
                }
            }
        }
        self.close_open();

        let mut failures: Vec<String> = Vec::new();
        let mut details: Vec<String> = Vec::new();
        let mut last_server_error: Option<Error> = None;
        for worker in self.replica_order(index) {
            let endpoint = worker_endpoint(&worker);
            let result =
                self.open_block(index, &worker, off).and_then(|mut open| {
                    match read_from(&mut open, off, dest, self.window) {
                        Ok(Some(n)) => Ok((open, n)),
                        Ok(None) => Err(StreamError::Server(Error::protocol(
                            "a new stream could not serve its own start offset",
                        ))),
                        Err(e) => Err(e),
                    }
                });
            match result {
                Ok((open, n)) => {
                    match open.source {
                        Source::Local(file) => {
                            // Kept for later reads of this block; the stream
                            // already ended.
                            if self.local.len() >= MAX_LOCAL_FILES {
                                self.local.clear();
                            }
                            self.local.insert(index, file);
                        }
                        Source::Remote(_) => self.open = Some(open),
                    }
                    return Ok(n);
                }
                Err(StreamError::Transport(f)) => failures.push(format!("{endpoint} ({f})")),
                Err(StreamError::Server(e)) => {
                    failures.push(format!("{endpoint} ({})", e.message));
                    if let Some(raw) = &e.detail {
                        details.push(format!("{endpoint}: {raw}"));
                    }
                    if matches!(e.code, Code::Server(_)) {
                        last_server_error = Some(e);
                    }
                }
            }
        }

        let block_id = self.spans[index].located.block.id;
        let message = format!(
            "could not read block {block_id} from any replica: {}",
            failures.join(", ")
        );
        let code = last_server_error.map_or(Code::Unavailable, |e| e.code);
        let mut error = Error::new(code, message).with_path(&self.path);
        error.detail = (!details.is_empty()).then(|| details.join("; "));
        Err(error)
    }

    /// Replicas in the order to try: a local one first when short-circuit
    /// reads are on, the rest shuffled to spread the load.
    fn replica_order(&self, index: usize) -> Vec<WorkerAddressProto> {
        let mut locs = self.spans[index].located.locs.clone();
        if locs.len() > 1 {
            let shift = (crate::connection::random_u64() % locs.len() as u64) as usize;
            locs.rotate_left(shift);
        }
        if let Some(i) = locs.iter().position(|w| self.client.is_local(w)) {
            let local = locs.remove(i);
            locs.insert(0, local);
        }
        locs
    }

    /// Opens a ReadBlock stream at in-block offset `off`, asking for the
    /// block file's path when the worker shares this host.
    fn open_block(
        &self,
        index: usize,
        worker: &WorkerAddressProto,
        off: u64,
    ) -> std::result::Result<OpenBlock, StreamError> {
        self.open_stream(index, worker, off, self.client.is_local(worker))
    }

    fn open_stream(
        &self,
        index: usize,
        worker: &WorkerAddressProto,
        off: u64,
        short_circuit: bool,
    ) -> std::result::Result<OpenBlock, StreamError> {
        let span = &self.spans[index];
        let endpoint = worker_endpoint(worker);
        let conf = self.client.conf();
        let read_ahead_len = conf
            .effective_read_ahead_len()
            .min(wire::frame::MAX_DATA_LEN as u64);
        let req = proto::BlockReadRequest {
            id: span.located.block.id,
            off: off as i64,
            len: span.len as i64,
            chunk_size: self.chunk_size as i32,
            short_circuit,
            enable_read_ahead: conf.effective_enable_read_ahead(),
            read_ahead_len: read_ahead_len as i64,
            drop_cache_len: conf.drop_cache_len as i64,
            component_info: Some(component_info()),
        };
        let header = wire::encode_message(&req);

        let pool = self.client.workers();
        let (conn, reused) = pool.get(&endpoint)?;
        let mut stream = Stream::new(
            conn,
            endpoint.clone(),
            RpcCode::ReadBlock,
            conf.data_timeout,
        );
        let reply = match stream.call(RequestStatus::Open, &header, &[]) {
            Err(StreamError::Transport(_)) if reused => {
                // A pooled socket the worker dropped; retry once on a new one.
                let conn = pool.connect(&endpoint)?;
                stream = Stream::new(
                    conn,
                    endpoint.clone(),
                    RpcCode::ReadBlock,
                    conf.data_timeout,
                );
                stream.call(RequestStatus::Open, &header, &[])?
            }
            other => other?,
        };
        let resp: proto::BlockReadResponse = wire::decode_message(&reply.header)
            .map_err(|e| StreamError::Transport(Failure::Protocol(e.to_string())))?;

        if let Some(path) = resp.path.filter(|p| short_circuit && !p.is_empty()) {
            // A worker that hands out a path opens no reader of its own, so
            // this stream serves no chunks either way: end it.
            let opened = File::open(&path);
            let complete = wire::encode_message(&proto::BlockReadRequest {
                id: span.located.block.id,
                component_info: Some(component_info()),
                ..Default::default()
            });
            if stream.call(RequestStatus::Complete, &complete, &[]).is_ok() {
                // Complete drops the worker's read state, so the socket is
                // clean for the next Open.
                pool.put(&endpoint, stream.conn);
            }
            return match opened {
                Ok(file) => Ok(OpenBlock {
                    index,
                    source: Source::Local(file),
                }),
                // The path is not reachable from here (the worker's data
                // directory is in another mount namespace): a stream that
                // sends the bytes instead.
                Err(_) => self.open_stream(index, worker, off, false),
            };
        }

        Ok(OpenBlock {
            index,
            source: Source::Remote(Box::new(RemoteBlock {
                stream,
                pos: off,
                in_flight: VecDeque::new(),
                buf: Vec::new(),
                buf_at: off,
                requested_to: off,
                chunk: self.chunk_size,
                block_len: span.len,
            })),
        })
    }

    /// Ends the open stream; its socket goes back to the pool if the end
    /// went cleanly.
    fn close_open(&mut self) {
        let Some(open) = self.open.take() else { return };
        let Source::Remote(mut remote) = open.source else {
            return;
        };
        let block_id = self.spans[open.index].located.block.id;
        if finish_remote(&mut remote, block_id).is_ok() {
            let endpoint = remote.stream.endpoint.clone();
            self.client.workers().put(&endpoint, remote.stream.conn);
        }
    }
}

impl Drop for FileReader {
    fn drop(&mut self) {
        self.close_open();
    }
}

/// Drains unread replies and sends Complete.
fn finish_remote(remote: &mut RemoteBlock, block_id: i64) -> std::result::Result<(), StreamError> {
    while let Some((seq, len)) = remote.in_flight.pop_front() {
        let reply = remote.stream.recv(seq)?;
        if reply.data.len() as u64 != len {
            return Err(StreamError::Server(Error::protocol("short chunk")));
        }
    }
    let complete = wire::encode_message(&proto::BlockReadRequest {
        id: block_id,
        component_info: Some(component_info()),
        ..Default::default()
    });
    remote
        .stream
        .call(RequestStatus::Complete, &complete, &[])?;
    Ok(())
}

/// Serves `dest` from an open block at in-block offset `off`. `Ok(None)`
/// when this stream cannot serve that offset (it only moves forward).
fn read_from(
    open: &mut OpenBlock,
    off: u64,
    dest: &mut [u8],
    window: usize,
) -> std::result::Result<Option<usize>, StreamError> {
    match &mut open.source {
        Source::Local(file) => {
            let mut done = 0;
            while done < dest.len() {
                let n = file
                    .read_at(&mut dest[done..], off + done as u64)
                    .map_err(|e| {
                        StreamError::Server(Error::io(format!("local block file: {e}")))
                    })?;
                if n == 0 {
                    // Past the stored bytes of a sparse block: zeros.
                    dest[done..].fill(0);
                    done = dest.len();
                    break;
                }
                done += n;
            }
            Ok(Some(done))
        }
        Source::Remote(remote) => read_remote(remote, off, dest, window),
    }
}

/// Fills `dest` from a local block file; bytes past its stored end (a
/// sparse block) read as zeros.
fn read_local(file: &File, off: u64, dest: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < dest.len() {
        match file.read_at(&mut dest[done..], off + done as u64) {
            Ok(0) => {
                dest[done..].fill(0);
                done = dest.len();
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

fn read_remote(
    remote: &mut RemoteBlock,
    off: u64,
    dest: &mut [u8],
    window: usize,
) -> std::result::Result<Option<usize>, StreamError> {
    // Bytes already received and kept.
    let buf_end = remote.buf_at + remote.buf.len() as u64;
    if off >= remote.buf_at && off < buf_end {
        let from = (off - remote.buf_at) as usize;
        let n = dest.len().min(remote.buf.len() - from);
        dest[..n].copy_from_slice(&remote.buf[from..from + n]);
        return Ok(Some(n));
    }
    if off != remote.pos {
        return Ok(None);
    }
    remote.buf.clear();

    // The reader clamps `dest` to the block, so every chunk asked for here
    // exists; the worker sends min(chunk, bytes left) per request.
    let want_to = off + dest.len() as u64;
    let mut done = 0usize;
    loop {
        while remote.in_flight.len() < window && remote.requested_to < want_to {
            let len = remote.chunk.min(remote.block_len - remote.requested_to);
            let seq = remote.stream.send(RequestStatus::Running, &[], &[])?;
            remote.in_flight.push_back((seq, len));
            remote.requested_to += len;
        }
        let Some((seq, len)) = remote.in_flight.pop_front() else {
            break;
        };
        let timeout = remote.stream.timeout;
        let conn = &mut remote.stream.conn;
        let head = conn.recv_head(remote.stream.req_id, seq, timeout)?;
        if head.response_status() != wire::ResponseStatus::Success {
            let mut rest = vec![0u8; head.header_len + head.data_len];
            conn.read_exact(&mut rest, timeout)?;
            let error = wire::ErrorBlob::decode(&rest[head.header_len..])
                .map(|b| Error::server(&b))
                .unwrap_or_else(|e| Error::protocol(e.to_string()));
            return Err(StreamError::Server(error));
        }
        if head.data_len as u64 != len {
            return Err(StreamError::Transport(Failure::Protocol(format!(
                "chunk of {} bytes where {len} were due",
                head.data_len
            ))));
        }
        if head.header_len > 0 {
            let mut skip = vec![0u8; head.header_len];
            conn.read_exact(&mut skip, timeout)?;
        }

        let room = dest.len() - done;
        let n = head.data_len;
        if n <= room {
            conn.read_exact(&mut dest[done..done + n], timeout)?;
            done += n;
        } else {
            // The chunk runs past what the caller wants; keep the rest.
            let mut chunk = vec![0u8; n];
            conn.read_exact(&mut chunk, timeout)?;
            dest[done..].copy_from_slice(&chunk[..room]);
            done += room;
            remote.buf = chunk;
            remote.buf_at = remote.pos;
        }
        remote.pos += n as u64;
    }
    Ok(Some(done))
}
