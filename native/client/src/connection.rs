//! One TCP connection to a Curvine master or worker, and the ways an
//! exchange on it can fail.

use std::fmt;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use wire::frame::{self, Frame, FrameHead};
use wire::RequestStatus;

use crate::endpoint::Endpoint;

/// How one exchange with one peer failed before a usable reply came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The host name has no address.
    Unresolved(String),
    /// Nothing listens there.
    Refused,
    /// No answer within this long.
    TimedOut(Duration),
    /// The peer closed or reset the connection.
    Closed(String),
    /// A standby master answered.
    NotLeader,
    /// The peer sent something that is not a valid reply.
    Protocol(String),
    /// Any other socket error.
    Other(String),
}

impl Failure {
    fn from_io(e: &io::Error, timeout: Duration) -> Failure {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => Failure::Refused,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Failure::TimedOut(timeout),
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Failure::Closed(e.to_string()),
            io::ErrorKind::InvalidData => Failure::Protocol(e.to_string()),
            _ => Failure::Other(e.to_string()),
        }
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, Failure::TimedOut(_))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unresolved(why) => write!(f, "name did not resolve ({why})"),
            Failure::Refused => f.write_str("connection refused"),
            Failure::TimedOut(d) => write!(f, "timed out after {:.1}s", d.as_secs_f64()),
            Failure::Closed(why) => write!(f, "connection closed ({why})"),
            Failure::NotLeader => f.write_str("not the leader"),
            Failure::Protocol(why) => write!(f, "bad reply ({why})"),
            Failure::Other(why) => f.write_str(why),
        }
    }
}

/// A connected socket. Dropping it only closes this process's descriptor:
/// there is deliberately no `shutdown()`, so a forked child that drops a
/// copy does not end the parent's conversation.
pub struct Connection {
    stream: TcpStream,
    peer: String,
    last_used: Instant,
    /// The process that opened it.
    pid: u32,
}

impl Connection {
    /// Connects to every address of the name in turn, all within `timeout`.
    pub fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Connection, Failure> {
        let deadline = Instant::now() + timeout;
        let addrs: Vec<SocketAddr> = (endpoint.host.as_str(), endpoint.port)
            .to_socket_addrs()
            .map_err(|e| Failure::Unresolved(e.to_string()))?
            .collect();
        if addrs.is_empty() {
            return Err(Failure::Unresolved("no addresses".into()));
        }

        let mut last = Failure::Unresolved("no addresses".into());
        for addr in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Failure::TimedOut(timeout));
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(stream) => {
                    stream
                        .set_nodelay(true)
                        .map_err(|e| Failure::Other(e.to_string()))?;
                    return Ok(Connection {
                        stream,
                        peer: endpoint.to_string(),
                        last_used: Instant::now(),
                        pid: std::process::id(),
                    });
                }
                Err(e) => last = Failure::from_io(&e, timeout),
            }
        }
        Err(last)
    }

    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// False in a forked child for a socket its parent opened: the parent
    /// may be mid-exchange on it, so the child must not say a word there.
    pub fn is_own(&self) -> bool {
        self.pid == std::process::id()
    }

    /// How long since the last exchange.
    pub fn idle_for(&self) -> Duration {
        self.last_used.elapsed()
    }

    /// Sends one frame from its parts.
    pub fn send(
        &mut self,
        head: &FrameHead,
        header: &[u8],
        data: &[u8],
        timeout: Duration,
    ) -> Result<(), Failure> {
        self.stream
            .set_write_timeout(Some(nonzero(timeout)))
            .map_err(|e| Failure::Other(e.to_string()))?;
        frame::write_frame(&mut self.stream, head, header, data)
            .map_err(|e| Failure::from_io(&e, timeout))?;
        self.last_used = Instant::now();
        Ok(())
    }

    /// Reads the prefix of the next frame that is not a heartbeat and checks
    /// that it answers `req_id`/`seq_id`. The caller reads header and data.
    pub fn recv_head(
        &mut self,
        req_id: i64,
        seq_id: i32,
        timeout: Duration,
    ) -> Result<FrameHead, Failure> {
        self.stream
            .set_read_timeout(Some(nonzero(timeout)))
            .map_err(|e| Failure::Other(e.to_string()))?;
        loop {
            let head = frame::read_head(&mut self.stream)
                .map_err(|e| Failure::from_io(&e, timeout))?
                .ok_or_else(|| Failure::Closed("end of stream".into()))?;
            if head.request_status() == RequestStatus::Heartbeat {
                let mut skip = vec![0u8; head.header_len + head.data_len];
                self.read_exact(&mut skip, timeout)?;
                continue;
            }
            if head.req_id != req_id || head.seq_id != seq_id {
                return Err(Failure::Protocol(format!(
                    "reply for req_id {} seq_id {} while waiting for req_id {req_id} seq_id {seq_id}",
                    head.req_id, head.seq_id
                )));
            }
            self.last_used = Instant::now();
            return Ok(head);
        }
    }

    /// Reads exactly `buf.len()` bytes of the current frame.
    pub fn read_exact(&mut self, buf: &mut [u8], timeout: Duration) -> Result<(), Failure> {
        self.stream
            .read_exact(buf)
            .map_err(|e| Failure::from_io(&e, timeout))
    }

    /// Reads a whole reply frame.
    pub fn recv(&mut self, req_id: i64, seq_id: i32, timeout: Duration) -> Result<Frame, Failure> {
        let head = self.recv_head(req_id, seq_id, timeout)?;
        let mut header = vec![0u8; head.header_len];
        self.read_exact(&mut header, timeout)?;
        let mut data = vec![0u8; head.data_len];
        self.read_exact(&mut data, timeout)?;
        Ok(Frame {
            code: head.code,
            status: head.status,
            req_id: head.req_id,
            seq_id: head.seq_id,
            header,
            data,
        })
    }

    /// Sends a request frame and waits for its reply.
    pub fn call(&mut self, request: &Frame, timeout: Duration) -> Result<Frame, Failure> {
        self.send(&request.head(), &request.header, &request.data, timeout)?;
        self.recv(request.req_id, request.seq_id, timeout)
    }
}

/// Socket timeouts of zero mean "forever" to the OS; never ask for that.
fn nonzero(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

/// 64 bits from the OS's randomness, which (unlike a seeded generator) a
/// forked child does not share with its parent.
pub fn random_u64() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        // The OS source failing is not expected; the clock and the process
        // id still differ between calls and between parent and child.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        nanos ^ ((std::process::id() as u64) << 40)
    })
}

/// A fresh request id: random, never -1 (the "no request" marker).
pub fn fresh_req_id() -> i64 {
    loop {
        let id = random_u64() as i64;
        if id != wire::frame::NO_REQ_ID {
            return id;
        }
    }
}
