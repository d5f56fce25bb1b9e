//! The worker: WriteBlock and ReadBlock streams over one connection.
//!
//! A connection carries one stream at a time; a new Open replaces whatever
//! stream was there. Every frame gets exactly one reply. A stream that hands
//! the client a short-circuit path opens no file of its own, as in Curvine:
//! its Running frames fail, and only Complete (or Cancel) is left to send.

use std::fs::File;
use std::io::{BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use prost::Message;
use wire::frame::{read_head, write_frame, Frame, FrameHead, MAX_DATA_LEN};
use wire::proto::{
    BlockReadRequest, BlockReadResponse, BlockWriteRequest, BlockWriteResponse, DataHeaderProto,
    StorageTypeProto,
};
use wire::status;
use wire::{ErrorBlob, ErrorKind, RequestStatus, ResponseStatus, RpcCode};

use crate::block_store::BlockStore;
use crate::namespace::{common, NsResult};

/// Curvine's largest block, which bounds a read stream's logical length.
const MAX_BLOCK_LEN: i64 = 100 * 1024 * 1024 * 1024;
/// Largest chunk and read-ahead a read stream may ask for.
const MAX_CHUNK: i64 = 16 * 1024 * 1024;

struct WriteStream {
    req_id: i64,
    block_id: i64,
    block_size: i64,
    pos: i64,
    /// None when the client writes the block file itself.
    file: Option<File>,
    done: bool,
}

struct ReadStream {
    req_id: i64,
    len: i64,
    pos: i64,
    chunk: i64,
    stored: i64,
    /// None when the client reads the block file itself.
    file: Option<File>,
}

enum Stream {
    Idle,
    Write(WriteStream),
    Read(ReadStream),
}

struct Connection {
    store: Arc<BlockStore>,
    stream: Stream,
    /// The data section of the next reply (read chunks).
    data_out: Vec<u8>,
}

/// One request frame, borrowed from the connection's buffers.
struct Request<'a> {
    head: FrameHead,
    header: &'a [u8],
    data: &'a [u8],
}

/// Serves one client connection of a worker until it closes.
pub fn serve(store: Arc<BlockStore>, stream: TcpStream, _peer: SocketAddr) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(256 * 1024, read_half);
    let mut writer = stream;
    let mut conn = Connection {
        store,
        stream: Stream::Idle,
        data_out: Vec::new(),
    };
    // Data sections travel through buffers kept for the whole connection,
    // so a stream of chunks costs no allocation per frame.
    let mut data_in = Vec::new();
    while let Ok(Some(head)) = read_head(&mut reader) {
        let mut header = vec![0u8; head.header_len];
        if data_in.len() < head.data_len {
            data_in.resize(head.data_len, 0);
        }
        let data = &mut data_in[..head.data_len];
        if reader
            .read_exact(&mut header)
            .and_then(|_| reader.read_exact(data))
            .is_err()
        {
            break;
        }
        if head.request_status() == RequestStatus::Heartbeat {
            continue;
        }

        let rq = Request {
            head,
            header: &header,
            data,
        };
        let sent = match conn.handle(&rq) {
            Ok((header, data_len)) => {
                let reply_head = FrameHead {
                    header_len: header.len(),
                    data_len,
                    status: status::pack(head.request_status(), ResponseStatus::Success),
                    ..head
                };
                write_frame(
                    &mut writer,
                    &reply_head,
                    &header,
                    &conn.data_out[..data_len],
                )
            }
            Err(blob) => Frame::error_reply_to(&head, &blob).write_to(&mut writer),
        };
        if sent.is_err() {
            break;
        }
    }

    // A writer that vanished without Complete leaves no half-written block.
    conn.abandon();
}

fn decode<M: Message + Default>(rq: &Request, what: &str) -> NsResult<M> {
    M::decode(rq.header).map_err(|e| {
        common(format!(
            "Cannot decode the {what} header ({} bytes): {e}",
            rq.header.len()
        ))
    })
}

/// A Running frame on a stream whose block file the client was handed.
fn no_reader_or_writer() -> ErrorBlob {
    common("Uninitialized: this stream handed out the block file's path and serves no data")
}

fn mismatch(expected: i64, actual: i64) -> ErrorBlob {
    common(format!(
        "Request id mismatch, expected {expected}, actual {actual}"
    ))
}

/// A reply header and how many bytes of `data_out` follow it.
type Reply = (Vec<u8>, usize);

impl Connection {
    fn handle(&mut self, rq: &Request) -> NsResult<Reply> {
        let status = rq.head.request_status();
        match RpcCode::from_i8(rq.head.code) {
            Some(RpcCode::WriteBlock) => match status {
                RequestStatus::Open => self.open_write(rq),
                RequestStatus::Running => self.write(rq),
                RequestStatus::Complete => self.finish_write(rq, true),
                RequestStatus::Cancel => self.finish_write(rq, false),
                _ => Err(common("Unsupported request type")),
            },
            Some(RpcCode::ReadBlock) => match status {
                RequestStatus::Open => self.open_read(rq),
                RequestStatus::Running => self.read(rq),
                RequestStatus::Complete => self.finish_read(rq),
                _ => Err(common("Unsupported request type")),
            },
            _ => Err(common("Unsupported operation")),
        }
    }

    fn abandon(&mut self) {
        if let Stream::Write(w) = &self.stream {
            if !w.done {
                self.store.cancel(w.block_id);
            }
        }
        self.stream = Stream::Idle;
    }

    fn open_write(&mut self, rq: &Request) -> NsResult<Reply> {
        self.abandon();
        let req: BlockWriteRequest = decode(rq, "BlockWriteRequest")?;
        if req.block_size <= 0 || req.off < 0 || req.off > req.block_size {
            return Err(common(format!(
                "Invalid write offset: {}, block size: {}",
                req.off, req.block_size
            )));
        }

        let id = req.block.id;
        let (file, _) = self.store.begin_write(id, req.off)?;
        let path = req
            .short_circuit
            .then(|| self.store.shown_path_of(id).display().to_string());
        self.stream = Stream::Write(WriteStream {
            req_id: rq.head.req_id,
            block_id: id,
            block_size: req.block_size,
            pos: req.off,
            file: if path.is_some() { None } else { Some(file) },
            done: false,
        });
        let reply = BlockWriteResponse {
            id,
            path,
            off: req.off,
            block_size: req.block_size,
            storage_type: StorageTypeProto::Disk as i32,
        };
        Ok((reply.encode_to_vec(), 0))
    }

    fn write(&mut self, rq: &Request) -> NsResult<Reply> {
        let Stream::Write(w) = &mut self.stream else {
            return Err(common("No write stream is open on this connection"));
        };
        if w.req_id != rq.head.req_id {
            return Err(mismatch(w.req_id, rq.head.req_id));
        }
        if w.done {
            return Err(common(
                "The block has been committed and data cannot be written anymore.",
            ));
        }

        if !rq.header.is_empty() {
            let header: DataHeaderProto = decode(rq, "DataHeaderProto")?;
            if !header.flush {
                if header.offset < 0 || header.offset >= w.block_size {
                    return Err(common(format!(
                        "Invalid seek offset: {}, block size: {}",
                        header.offset, w.block_size
                    )));
                }
                w.pos = header.offset;
            }
        }

        let Some(file) = &w.file else {
            return Err(no_reader_or_writer());
        };
        let n = rq.data.len() as i64;
        if w.pos + n > w.block_size {
            return Err(common(format!(
                "Writing {n} bytes at {} would pass the block size {}",
                w.pos, w.block_size
            )));
        }
        if n > 0 {
            file.write_all_at(rq.data, w.pos as u64).map_err(|e| {
                ErrorBlob::new(ErrorKind::Io, format!("write to block {}: {e}", w.block_id))
            })?;
            w.pos += n;
        }
        Ok((Vec::new(), 0))
    }

    fn finish_write(&mut self, rq: &Request, commit: bool) -> NsResult<Reply> {
        if let Stream::Write(w) = &self.stream {
            if w.done {
                return if rq.data.is_empty() {
                    Ok((Vec::new(), 0))
                } else {
                    Err(common(
                        "The block has been committed and data cannot be written anymore.",
                    ))
                };
            }
            if w.req_id != rq.head.req_id {
                return Err(mismatch(w.req_id, rq.head.req_id));
            }
        }

        let req: BlockWriteRequest = decode(rq, "BlockWriteRequest")?;
        let id = req.block.id;
        let len = req.block.block_size;
        if commit {
            if len < 0 || len > req.block_size {
                self.store.cancel(id);
                self.stream = Stream::Idle;
                return Err(common(format!(
                    "Invalid block length: {len}, block size: {}",
                    req.block_size
                )));
            }
            self.store.finalize(id, len)?;
        } else {
            self.store.cancel(id);
        }

        match &mut self.stream {
            Stream::Write(w) if w.block_id == id => w.done = true,
            _ => self.stream = Stream::Idle,
        }
        Ok((Vec::new(), 0))
    }

    fn open_read(&mut self, rq: &Request) -> NsResult<Reply> {
        self.abandon();
        let req: BlockReadRequest = decode(rq, "BlockReadRequest")?;
        let (file, stored, finalized) = self.store.open_read(req.id)?;
        if req.len < 0 || req.len > MAX_BLOCK_LEN {
            return Err(common(format!(
                "Advertised block length {} is outside 0..={MAX_BLOCK_LEN}",
                req.len
            )));
        }
        if req.off < 0 || req.off > req.len {
            return Err(common(format!(
                "Invalid read offset: {}, block length: {}",
                req.off, req.len
            )));
        }
        if req.chunk_size <= 0 || i64::from(req.chunk_size) > MAX_CHUNK {
            return Err(common(format!(
                "chunk_size {} must be between 1 and {MAX_CHUNK}",
                req.chunk_size
            )));
        }
        if req.enable_read_ahead && req.read_ahead_len > MAX_CHUNK {
            return Err(common(format!(
                "read_ahead_len {} exceeds the maximum {MAX_CHUNK}",
                req.read_ahead_len
            )));
        }

        // The local path is only handed out when the file holds every byte
        // the client will read, so the client never reads a torn block.
        let path = (req.short_circuit && finalized && stored >= req.len)
            .then(|| self.store.shown_path_of(req.id).display().to_string());
        self.stream = Stream::Read(ReadStream {
            req_id: rq.head.req_id,
            len: req.len,
            pos: req.off,
            chunk: i64::from(req.chunk_size),
            stored,
            file: if path.is_some() { None } else { Some(file) },
        });
        let reply = BlockReadResponse {
            id: req.id,
            len: req.len,
            path,
            storage_type: StorageTypeProto::Disk as i32,
        };
        Ok((reply.encode_to_vec(), 0))
    }

    fn read(&mut self, rq: &Request) -> NsResult<Reply> {
        // Running frames of a read stream are not matched by req_id, as in
        // Curvine.
        let Stream::Read(r) = &mut self.stream else {
            return Err(common("No read stream is open on this connection"));
        };
        let Some(file) = &r.file else {
            return Err(no_reader_or_writer());
        };

        if !rq.header.is_empty() {
            let header: DataHeaderProto = decode(rq, "DataHeaderProto")?;
            if header.offset < 0 || header.offset > r.len {
                return Err(common(format!(
                    "Invalid seek offset: {}, block length: {}",
                    header.offset, r.len
                )));
            }
            r.pos = header.offset;
        }
        if r.pos >= r.len {
            return Err(ErrorBlob::new(
                ErrorKind::Io,
                format!("offset {} exceeds block length {}", r.pos, r.len),
            ));
        }

        let n = r.chunk.min(r.len - r.pos).min(MAX_DATA_LEN as i64) as usize;
        if self.data_out.len() < n {
            self.data_out.resize(n, 0);
        }
        let data = &mut self.data_out[..n];
        let on_disk = (r.stored - r.pos).clamp(0, n as i64) as usize;
        if on_disk > 0 {
            file.read_exact_at(&mut data[..on_disk], r.pos as u64)
                .map_err(|e| ErrorBlob::new(ErrorKind::Io, format!("read block: {e}")))?;
        }
        // Bytes past the stored end of the file read as zeros (sparse).
        data[on_disk..].fill(0);
        r.pos += n as i64;
        Ok((Vec::new(), n))
    }

    fn finish_read(&mut self, rq: &Request) -> NsResult<Reply> {
        if let Stream::Read(r) = &self.stream {
            if r.req_id != rq.head.req_id {
                return Err(mismatch(r.req_id, rq.head.req_id));
            }
        }
        self.stream = Stream::Idle;
        Ok((Vec::new(), 0))
    }
}
