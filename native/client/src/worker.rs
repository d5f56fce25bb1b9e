//! Sockets to workers, pooled per worker address. A worker socket carries
//! one block stream at a time; it goes back to the pool only after its
//! stream ended cleanly.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use wire::frame::{Frame, FrameHead};
use wire::proto::WorkerAddressProto;
use wire::{ErrorBlob, RequestStatus, RpcCode};

use crate::conf::ClientConf;
use crate::connection::{Connection, Failure};
use crate::endpoint::Endpoint;
use crate::error::Error;

/// Where to reach a worker: its IP address (the host name when the address
/// is missing) and RPC port.
pub fn worker_endpoint(w: &WorkerAddressProto) -> Endpoint {
    let host = if w.ip_addr.is_empty() {
        &w.hostname
    } else {
        &w.ip_addr
    };
    Endpoint::new(host.clone(), w.rpc_port.min(u16::MAX as u32) as u16)
}

/// Idle worker sockets.
pub struct WorkerPool {
    idle: Mutex<HashMap<Endpoint, Vec<Connection>>>,
    max_idle: usize,
    max_idle_time: Duration,
    conn_timeout: Duration,
}

impl WorkerPool {
    pub fn new(conf: &ClientConf) -> WorkerPool {
        WorkerPool {
            idle: Mutex::new(HashMap::new()),
            max_idle: conf.block_conn_idle_size,
            max_idle_time: conf.block_conn_idle_time,
            conn_timeout: conf.conn_timeout,
        }
    }

    /// A pooled socket (and `true`), or a fresh one.
    pub fn get(&self, endpoint: &Endpoint) -> Result<(Connection, bool), Failure> {
        {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(list) = idle.get_mut(endpoint) {
                while let Some(conn) = list.pop() {
                    if conn.is_own() && conn.idle_for() < self.max_idle_time {
                        return Ok((conn, true));
                    }
                }
            }
        }
        Connection::connect(endpoint, self.conn_timeout).map(|c| (c, false))
    }

    /// A fresh socket, never a pooled one.
    pub fn connect(&self, endpoint: &Endpoint) -> Result<Connection, Failure> {
        Connection::connect(endpoint, self.conn_timeout)
    }

    /// Returns a socket whose stream ended cleanly.
    pub fn put(&self, endpoint: &Endpoint, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.entry(endpoint.clone()).or_default();
        // A forked child drops (closes, never uses) what its parent pooled.
        list.retain(Connection::is_own);
        if conn.is_own() && list.len() < self.max_idle {
            list.push(conn);
        }
    }
}

/// How a frame exchange with a worker failed: the socket broke, or the
/// worker answered with an error.
#[derive(Debug)]
pub enum StreamError {
    Transport(Failure),
    Server(Error),
}

impl StreamError {
    pub fn into_error(self, worker: &Endpoint) -> Error {
        match self {
            StreamError::Transport(f) => {
                let code = if f.is_timeout() {
                    crate::error::Code::Timeout
                } else {
                    crate::error::Code::Unavailable
                };
                Error::new(code, format!("worker {worker}: {f}")).with_endpoint(worker.to_string())
            }
            StreamError::Server(e) => e.with_endpoint(worker.to_string()),
        }
    }
}

impl From<Failure> for StreamError {
    fn from(f: Failure) -> StreamError {
        StreamError::Transport(f)
    }
}

/// One block stream on one worker socket: a fixed req_id and code, seq_id
/// counting up from 0.
pub struct Stream {
    pub conn: Connection,
    pub endpoint: Endpoint,
    pub code: RpcCode,
    pub req_id: i64,
    /// The seq_id of the next frame to send.
    pub next_seq: i32,
    pub timeout: Duration,
}

impl Stream {
    pub fn new(conn: Connection, endpoint: Endpoint, code: RpcCode, timeout: Duration) -> Stream {
        Stream {
            conn,
            endpoint,
            code,
            req_id: crate::connection::fresh_req_id(),
            next_seq: 0,
            timeout,
        }
    }

    /// Sends one frame and returns its seq_id.
    pub fn send(
        &mut self,
        status: RequestStatus,
        header: &[u8],
        data: &[u8],
    ) -> Result<i32, Failure> {
        let seq = self.next_seq;
        let head = Frame::request(self.code.as_i8(), status, self.req_id, seq, Vec::new()).head();
        let head = FrameHead {
            header_len: header.len(),
            data_len: data.len(),
            ..head
        };
        self.conn.send(&head, header, data, self.timeout)?;
        self.next_seq += 1;
        Ok(seq)
    }

    /// Reads the reply to frame `seq`; an error reply becomes
    /// `StreamError::Server` (the socket stays usable).
    pub fn recv(&mut self, seq: i32) -> Result<Frame, StreamError> {
        let reply = self.conn.recv(self.req_id, seq, self.timeout)?;
        if reply.is_success() {
            return Ok(reply);
        }
        Err(StreamError::Server(decode_error(&reply)))
    }

    /// Sends a frame and waits for its reply.
    pub fn call(
        &mut self,
        status: RequestStatus,
        header: &[u8],
        data: &[u8],
    ) -> Result<Frame, StreamError> {
        let seq = self.send(status, header, data)?;
        self.recv(seq)
    }
}

pub fn decode_error(reply: &Frame) -> Error {
    match ErrorBlob::decode(&reply.data) {
        Ok(blob) => Error::server(&blob),
        Err(e) => Error::protocol(e.to_string()),
    }
}
