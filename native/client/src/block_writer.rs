//! Writing files: CreateFile (or OpenFile to append), then per block an
//! AddBlock carrying the commit of the block before, a WriteBlock stream to
//! each replica (or the block file itself when the worker shares this host),
//! and finally CompleteFile with the last commit. Until CompleteFile the
//! master shows the file as incomplete; a failed writer never sends it.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::sync::Arc;

use wire::proto::WorkerAddressProto;
use wire::proto::{
    self, BlockLocationProto, CommitBlockProto, ExtendedBlockProto, LocatedBlockProto,
};
use wire::{RequestStatus, RpcCode};

use crate::connection::Failure;
use crate::error::{Code, Error, Result};
use crate::fs::{check_path, component_info, Client};
use crate::worker::{worker_endpoint, Stream, StreamError};

const O_WRONLY: u32 = 0x1;
const O_CREAT: u32 = 0x40;
const O_EXCL: u32 = 0x80;
const O_TRUNC: u32 = 0x200;
const O_APPEND: u32 = 0x400;

/// How to open a file for writing.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// Replace an existing file (otherwise an existing file is an error).
    pub overwrite: bool,
    /// Add to the end of an existing file, creating it if missing.
    pub append: bool,
    /// Create missing parent directories.
    pub create_parent: bool,
    /// Block size of a new file; the configured default when `None`.
    pub block_size: Option<u64>,
    /// Replica count of a new file; the configured default when `None`.
    pub replicas: Option<i32>,
}

/// Where one replica's bytes go.
enum Sink {
    Remote,
    Local(File),
}

struct Replica {
    worker: WorkerAddressProto,
    stream: Stream,
    sink: Sink,
    storage_type: i32,
    /// Data frames sent whose replies are not read yet.
    in_flight: VecDeque<i32>,
}

/// Data frames a remote replica may have unanswered.
const WRITE_WINDOW: usize = 4;

/// How long a cancelled stream waits for each reply still due.
const CANCEL_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The block being written.
struct OpenBlock {
    block: ExtendedBlockProto,
    /// Bytes in the block so far.
    written: u64,
    replicas: Vec<Replica>,
}

/// A file being written.
pub struct FileWriter {
    client: Arc<Client>,
    path: String,
    inode_id: i64,
    block_size: u64,
    pos: u64,
    /// The last block the master knows of, with its final length.
    last_block: Option<ExtendedBlockProto>,
    /// Finished blocks whose commits the master has not had yet.
    pending: Vec<CommitBlockProto>,
    open: Option<OpenBlock>,
    /// A partly filled last block of an appended file, continued in place.
    reopen: Option<LocatedBlockProto>,
    failed: Option<Error>,
    finished: bool,
    frame_max: usize,
    local_replicas: usize,
    /// The process that opened the writer; its streams are that process's.
    pid: u32,
}

impl FileWriter {
    pub fn open(client: Arc<Client>, path: &str, options: &WriteOptions) -> Result<FileWriter> {
        check_path(path)?;
        let conf = client.conf();
        let block_size = options.block_size.unwrap_or(conf.block_size);
        if block_size == 0 || block_size >= 1 << 32 {
            return Err(Error::invalid(format!(
                "block size {block_size} is out of range (expected 1 byte to under 4 GiB)"
            ))
            .with_path(path));
        }
        let replicas = options.replicas.unwrap_or(conf.replicas);
        if !(1..=99).contains(&replicas) {
            return Err(
                Error::invalid(format!("replica count {replicas} is not in 1..99")).with_path(path),
            );
        }
        let opts = proto::CreateFileOptsProto {
            create_flag: 0,
            create_parent: options.create_parent,
            file_type: proto::FileTypeProto::File as i32,
            replicas,
            block_size: block_size as i64,
            x_attr: Default::default(),
            storage_policy: client.storage_policy(),
            client_name: client.client_name().to_string(),
            mode: 0o777 & !conf.umask,
            owner: String::new(),
            group: String::new(),
            sync_ufs_meta: false,
            ufs_len: 0,
        };
        let frame_max = (conf.write_chunk_size * conf.write_chunk_num.max(1) as u64)
            .min(wire::frame::MAX_DATA_LEN as u64) as usize;

        let mut writer = FileWriter {
            client: Arc::clone(&client),
            path: path.to_string(),
            inode_id: 0,
            block_size,
            pos: 0,
            last_block: None,
            pending: Vec::new(),
            open: None,
            reopen: None,
            failed: None,
            finished: false,
            frame_max,
            local_replicas: 0,
            pid: std::process::id(),
        };

        if options.append {
            let req = proto::OpenFileRequest {
                path: path.into(),
                opts,
                flags: O_WRONLY | O_APPEND | O_CREAT,
            };
            let resp: proto::OpenFileResponse = client
                .rpc(RpcCode::OpenFile, &req, Some(path))
                .map_err(|e| client.explain_path_error(path, e))?;
            let blocks = resp.file_blocks;
            writer.inode_id = blocks.status.id;
            if blocks.status.block_size > 0 {
                writer.block_size = blocks.status.block_size as u64;
            }
            writer.pos = u64::try_from(blocks.status.len).unwrap_or(0);
            if let Some(last) = blocks.block_locs.last() {
                writer.last_block = Some(last.block);
                let len = u64::try_from(last.block.block_size).unwrap_or(0);
                if len > 0 && len < writer.block_size {
                    writer.reopen = Some(last.clone());
                }
            }
        } else {
            let flags = O_WRONLY | O_CREAT | if options.overwrite { O_TRUNC } else { O_EXCL };
            let req = proto::CreateFileRequest {
                path: path.into(),
                opts,
                flags,
            };
            let resp: proto::CreateFileResponse = client
                .rpc(RpcCode::CreateFile, &req, Some(path))
                .map_err(|e| client.explain_path_error(path, e))?;
            writer.inode_id = resp.file_status.id;
            if resp.file_status.block_size > 0 {
                writer.block_size = resp.file_status.block_size as u64;
            }
        }
        Ok(writer)
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Bytes in the file so far, counting what this writer added.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// How many block replicas this writer wrote straight into local block
    /// files.
    pub fn local_replicas(&self) -> usize {
        self.local_replicas
    }

    /// Writes all of `buf`. After a failure every later call fails the same
    /// way and the file is never completed.
    pub fn write(&mut self, mut buf: &[u8]) -> Result<()> {
        self.check_process()?;
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.finished {
            return Err(Error::invalid("write to a closed file").with_path(&self.path));
        }
        while !buf.is_empty() {
            let full = self
                .open
                .as_ref()
                .is_none_or(|open| open.written >= self.block_size);
            if full {
                if let Some(open) = self.open.take() {
                    if let Err(e) = self.complete_block(open) {
                        return Err(self.fail(e));
                    }
                }
                match self.start_block() {
                    Ok(open) => {
                        self.local_replicas += open
                            .replicas
                            .iter()
                            .filter(|r| matches!(r.sink, Sink::Local(_)))
                            .count();
                        self.open = Some(open);
                    }
                    Err(e) => return Err(self.fail(e)),
                }
            }
            let Some(open) = self.open.as_mut() else {
                continue;
            };
            let room = (self.block_size - open.written) as usize;
            let n = buf.len().min(room).min(self.frame_max);
            if let Err(e) = write_replicas(open, &buf[..n]) {
                let e = e.with_path(&self.path);
                return Err(self.fail(e));
            }
            open.written += n as u64;
            self.pos += n as u64;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Finishes the last block and completes the file.
    pub fn close(mut self) -> Result<()> {
        self.check_process()?;
        self.finished = true;
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if let Some(open) = self.open.take() {
            if let Err(e) = self.complete_block(open) {
                self.failed = Some(e.clone());
                return Err(e);
            }
        }
        let req = proto::CompleteFileRequest {
            path: self.path.clone(),
            len: self.pos as i64,
            client_name: self.client.client_name().to_string(),
            commit_blocks: std::mem::take(&mut self.pending),
            only_flush: false,
            inode_id: Some(self.inode_id),
            set_attr_opts: None,
            return_file_blocks: Some(false),
        };
        let resp: proto::CompleteFileResponse =
            self.client
                .rpc(RpcCode::CompleteFile, &req, Some(&self.path))?;
        if !resp.result {
            return Err(Error::new(
                Code::Server(wire::ErrorKind::Common as i32),
                "the master did not complete the file",
            )
            .with_path(&self.path));
        }
        Ok(())
    }

    /// Cancels the open streams; the file stays incomplete.
    pub fn abort(mut self) {
        self.finished = true;
        if let Some(open) = self.open.take() {
            self.cancel_block(open);
        }
    }

    /// A forked child must not write on its parent's streams.
    fn check_process(&self) -> Result<()> {
        if self.pid == std::process::id() {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "this file was opened for writing by process {} before a fork; open it again in this process",
            self.pid
        ))
        .with_path(&self.path))
    }

    /// Records a failure: cancels the streams and keeps the error.
    fn fail(&mut self, error: Error) -> Error {
        if let Some(open) = self.open.take() {
            self.cancel_block(open);
        }
        self.failed = Some(error.clone());
        error
    }

    /// Asks the master for the next block (or continues the appended one)
    /// and opens a stream to every replica.
    fn start_block(&mut self) -> Result<OpenBlock> {
        let (located, off) = match self.reopen.take() {
            Some(located) => {
                let off = u64::try_from(located.block.block_size).unwrap_or(0);
                (located, off)
            }
            None => (self.add_block()?, 0),
        };
        if located.locs.is_empty() {
            return Err(Error::new(
                Code::Unavailable,
                format!("the master gave block {} no worker", located.block.id),
            )
            .with_path(&self.path));
        }

        let has_spdk = located.has_spdk.unwrap_or(false);
        let mut replicas = Vec::with_capacity(located.locs.len());
        for worker in &located.locs {
            match self.open_replica(&located.block, worker, off, has_spdk) {
                Ok(replica) => replicas.push(replica),
                Err(e) => {
                    let endpoint = worker_endpoint(worker);
                    let opened = OpenBlock {
                        block: located.block,
                        written: off,
                        replicas,
                    };
                    self.cancel_block(opened);
                    return Err(e.into_error(&endpoint).with_path(&self.path));
                }
            }
        }
        Ok(OpenBlock {
            block: located.block,
            written: off,
            replicas,
        })
    }

    fn add_block(&mut self) -> Result<LocatedBlockProto> {
        let req = proto::AddBlockRequest {
            path: self.path.clone(),
            commit_blocks: std::mem::take(&mut self.pending),
            exclude_workers: Vec::new(),
            located: true,
            client_address: self.client.client_address(),
            file_len: self.pos as i64,
            last_block: self.last_block,
            inode_id: Some(self.inode_id),
        };
        // The reply is a bare LocatedBlockProto, not the declared wrapper.
        self.client.rpc(RpcCode::AddBlock, &req, Some(&self.path))
    }

    fn write_request(&self, block: &ExtendedBlockProto, len: u64, short_circuit: bool) -> Vec<u8> {
        let conf = self.client.conf();
        wire::encode_message(&proto::BlockWriteRequest {
            block: ExtendedBlockProto {
                id: block.id,
                block_size: len as i64,
                storage_type: block.storage_type,
                file_type: proto::FileTypeProto::File as i32,
                alloc_opts: None,
            },
            off: len as i64,
            block_size: self.block_size as i64,
            short_circuit,
            client_name: self.client.client_name().to_string(),
            chunk_size: conf.write_chunk_size as i32,
            pipeline_stream: Vec::new(),
            component_info: Some(component_info()),
        })
    }

    /// Opens the WriteBlock stream to one replica at in-block offset `off`.
    fn open_replica(
        &self,
        block: &ExtendedBlockProto,
        worker: &WorkerAddressProto,
        off: u64,
        has_spdk: bool,
    ) -> std::result::Result<Replica, StreamError> {
        let local = self.client.is_local(worker) && !has_spdk;
        if local {
            match self.open_stream(block, worker, off, true) {
                Ok((mut stream, resp)) => {
                    let file = resp
                        .path
                        .as_deref()
                        .filter(|p| !p.is_empty())
                        .and_then(|p| {
                            let mut f = OpenOptions::new()
                                .write(true)
                                .create(true)
                                .truncate(false)
                                .open(p)
                                .ok()?;
                            f.seek(SeekFrom::Start(off)).ok()?;
                            Some(f)
                        });
                    if let Some(file) = file {
                        return Ok(Replica {
                            worker: worker.clone(),
                            stream,
                            sink: Sink::Local(file),
                            storage_type: resp.storage_type,
                            in_flight: VecDeque::new(),
                        });
                    }
                    // No usable local path: end this stream and write
                    // remotely instead.
                    let cancel = self.write_request(block, off, false);
                    if stream.call(RequestStatus::Cancel, &cancel, &[]).is_ok() {
                        let endpoint = stream.endpoint.clone();
                        self.client.workers().put(&endpoint, stream.conn);
                    }
                }
                Err(StreamError::Server(e)) => return Err(StreamError::Server(e)),
                Err(StreamError::Transport(f)) => return Err(StreamError::Transport(f)),
            }
        }
        let (stream, resp) = self.open_stream(block, worker, off, false)?;
        Ok(Replica {
            worker: worker.clone(),
            stream,
            sink: Sink::Remote,
            storage_type: resp.storage_type,
            in_flight: VecDeque::new(),
        })
    }

    fn open_stream(
        &self,
        block: &ExtendedBlockProto,
        worker: &WorkerAddressProto,
        off: u64,
        short_circuit: bool,
    ) -> std::result::Result<(Stream, proto::BlockWriteResponse), StreamError> {
        let endpoint = worker_endpoint(worker);
        let timeout = self.client.conf().data_timeout;
        let header = self.write_request(block, off, short_circuit);
        let pool = self.client.workers();
        let (conn, reused) = pool.get(&endpoint)?;
        let mut stream = Stream::new(conn, endpoint.clone(), RpcCode::WriteBlock, timeout);
        let reply = match stream.call(RequestStatus::Open, &header, &[]) {
            Err(StreamError::Transport(_)) if reused => {
                // A pooled socket the worker dropped; retry once on a new one.
                let conn = pool.connect(&endpoint)?;
                stream = Stream::new(conn, endpoint.clone(), RpcCode::WriteBlock, timeout);
                stream.call(RequestStatus::Open, &header, &[])?
            }
            other => other?,
        };
        let resp: proto::BlockWriteResponse = wire::decode_message(&reply.header)
            .map_err(|e| StreamError::Transport(Failure::Protocol(e.to_string())))?;
        if resp.block_size != self.block_size as i64 {
            return Err(StreamError::Transport(Failure::Protocol(format!(
                "worker opened block {} with block size {} instead of {}",
                block.id, resp.block_size, self.block_size
            ))));
        }
        Ok((stream, resp))
    }

    /// Ends every replica's stream, then records the block's commit.
    fn complete_block(&mut self, open: OpenBlock) -> Result<()> {
        let header = self.write_request(&open.block, open.written, false);
        let mut locations = Vec::with_capacity(open.replicas.len());
        let mut replicas = open.replicas.into_iter();
        while let Some(mut replica) = replicas.next() {
            let flushed = match &mut replica.sink {
                Sink::Local(file) => file
                    .flush()
                    .map_err(|e| Error::io(format!("local block file: {e}"))),
                Sink::Remote => Ok(()),
            };
            let endpoint = replica.stream.endpoint.clone();
            let result = flushed.and_then(|_| {
                replica.settle_all().map_err(|e| e.into_error(&endpoint))?;
                replica
                    .stream
                    .call(RequestStatus::Complete, &header, &[])
                    .map_err(|e| e.into_error(&endpoint))
            });
            if let Err(e) = result {
                let rest = OpenBlock {
                    block: open.block,
                    written: open.written,
                    replicas: replicas.collect(),
                };
                self.cancel_block(rest);
                return Err(e.with_path(&self.path));
            }
            locations.push(BlockLocationProto {
                worker_id: replica.worker.worker_id,
                storage_type: replica.storage_type,
            });
            self.client.workers().put(&endpoint, replica.stream.conn);
        }

        self.pending.push(CommitBlockProto {
            block_id: open.block.id,
            block_len: open.written as i64,
            locations,
        });
        self.last_block = Some(ExtendedBlockProto {
            id: open.block.id,
            block_size: open.written as i64,
            storage_type: open.block.storage_type,
            file_type: open.block.file_type,
            alloc_opts: None,
        });
        Ok(())
    }

    /// Cancels every replica's stream; errors are moot by now.
    fn cancel_block(&self, open: OpenBlock) {
        let header = self.write_request(&open.block, open.written, false);
        for mut replica in open.replicas {
            if !replica.stream.conn.is_own() {
                // The parent's stream, inherited through a fork.
                continue;
            }
            // Unread replies must be read first: closing a socket with
            // unread input resets it, and the worker could lose the Cancel.
            // A worker answers every frame, errors included; the short
            // timeout only bounds one that does not.
            replica.stream.timeout = replica.stream.timeout.min(CANCEL_DRAIN_TIMEOUT);
            let mut drained = true;
            while let Some(seq) = replica.in_flight.pop_front() {
                if let Err(StreamError::Transport(_)) = replica.stream.recv(seq) {
                    drained = false;
                    break;
                }
            }
            if !drained {
                continue;
            }
            if replica
                .stream
                .call(RequestStatus::Cancel, &header, &[])
                .is_ok()
            {
                let endpoint = replica.stream.endpoint.clone();
                self.client.workers().put(&endpoint, replica.stream.conn);
            }
        }
    }
}

impl Drop for FileWriter {
    /// A writer dropped without close or abort leaves the file incomplete.
    fn drop(&mut self) {
        if let Some(open) = self.open.take() {
            self.cancel_block(open);
        }
    }
}

/// Sends one piece of data to every replica. Remote replicas get it
/// without waiting for the reply, up to `WRITE_WINDOW` frames ahead: the
/// worker answers frames in order, and the replies are all read before the
/// block's Complete, so an error still stops the file from completing.
fn write_replicas(open: &mut OpenBlock, data: &[u8]) -> Result<()> {
    for replica in open.replicas.iter_mut() {
        let endpoint = replica.stream.endpoint.clone();
        match &mut replica.sink {
            Sink::Local(file) => file
                .write_all(data)
                .map_err(|e| Error::io(format!("local block file: {e}")))?,
            Sink::Remote => {
                if replica.in_flight.len() >= WRITE_WINDOW {
                    replica.settle(1).map_err(|e| e.into_error(&endpoint))?;
                }
                let seq = replica
                    .stream
                    .send(RequestStatus::Running, &[], data)
                    .map_err(|f| StreamError::Transport(f).into_error(&endpoint))?;
                replica.in_flight.push_back(seq);
            }
        }
    }
    Ok(())
}

impl Replica {
    /// Reads the replies of the oldest `n` frames in flight.
    fn settle(&mut self, n: usize) -> std::result::Result<(), StreamError> {
        for _ in 0..n {
            let Some(seq) = self.in_flight.pop_front() else {
                break;
            };
            self.stream.recv(seq)?;
        }
        Ok(())
    }

    fn settle_all(&mut self) -> std::result::Result<(), StreamError> {
        self.settle(self.in_flight.len())
    }
}
