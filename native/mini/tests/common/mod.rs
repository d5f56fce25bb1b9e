//! Starts the real `curvine-mini` binary and speaks raw frames to it.
#![allow(dead_code)]

pub mod data;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use prost::Message;
use wire::frame::{Frame, RPC_SEQ_ID};
use wire::{ErrorBlob, RequestStatus, RpcCode};

pub struct Mini {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pub masters: Vec<SocketAddr>,
    pub leader: SocketAddr,
    pub workers: Vec<SocketAddr>,
    pub data_dir: PathBuf,
}

impl Mini {
    pub fn start(args: &[&str]) -> Mini {
        let mut child = Command::new(env!("CARGO_BIN_EXE_curvine-mini"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start curvine-mini");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("announcement {line:?} is not JSON: {e}"));
        let addr = |v: &serde_json::Value| v.as_str().unwrap().parse::<SocketAddr>().unwrap();
        Mini {
            masters: v["masters"].as_array().unwrap().iter().map(addr).collect(),
            leader: addr(&v["leader"]),
            workers: v["workers"].as_array().unwrap().iter().map(addr).collect(),
            data_dir: PathBuf::from(v["data_dir"].as_str().unwrap()),
            child,
            stdin,
            stdout,
        }
    }

    /// Sends one control command and returns its answer line.
    pub fn command(&mut self, line: &str) -> String {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).unwrap();
        answer.trim_end().to_string()
    }

    /// Closes stdin and waits for the process to exit.
    pub fn close_stdin_and_wait(&mut self) -> std::process::ExitStatus {
        self.stdin = None;
        self.child.wait().unwrap()
    }

    /// Sends `signal` (a name such as TERM) to the process and waits for it.
    pub fn signal_and_wait(&mut self, signal: &str) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status();
        assert!(sent.unwrap().success(), "kill -{signal} {pid}");
        self.child.wait().unwrap()
    }

    pub fn leader_conn(&self) -> Conn {
        Conn::open(self.leader)
    }
}

impl Drop for Mini {
    fn drop(&mut self) {
        // Closing stdin lets the cluster remove its temporary data dir; the
        // kill is only for one that is wedged.
        self.stdin = None;
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

static NEXT_REQ: AtomicI64 = AtomicI64::new(0x5EED_0000_0000);

pub fn req_id() -> i64 {
    NEXT_REQ.fetch_add(1, Ordering::SeqCst)
}

pub struct Conn {
    pub stream: TcpStream,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Conn { stream }
    }

    pub fn send(&mut self, frame: &Frame) {
        frame.write_to(&mut self.stream).unwrap();
    }

    pub fn recv(&mut self) -> Frame {
        Frame::read_from(&mut self.stream)
            .unwrap()
            .expect("connection closed before the reply")
    }

    pub fn round_trip(&mut self, frame: &Frame) -> Frame {
        self.send(frame);
        let reply = self.recv();
        assert_eq!(reply.req_id, frame.req_id, "reply req_id");
        assert_eq!(reply.seq_id, frame.seq_id, "reply seq_id");
        assert_eq!(reply.code, frame.code, "reply code");
        reply
    }

    /// One plain RPC with a fresh req_id.
    pub fn call<M: Message>(&mut self, code: RpcCode, request: &M) -> Frame {
        let frame = Frame::request(
            code.as_i8(),
            RequestStatus::Rpc,
            req_id(),
            RPC_SEQ_ID,
            request.encode_to_vec(),
        );
        self.round_trip(&frame)
    }

    /// A call that must succeed; returns the decoded reply header.
    pub fn ok<M: Message, R: Message + Default>(&mut self, code: RpcCode, request: &M) -> R {
        let reply = self.call(code, request);
        ok(&reply)
    }

    /// A call that must fail; returns the error blob.
    pub fn err<M: Message>(&mut self, code: RpcCode, request: &M) -> ErrorBlob {
        let reply = self.call(code, request);
        err(&reply)
    }
}

pub fn ok<R: Message + Default>(reply: &Frame) -> R {
    if !reply.is_success() {
        let blob = ErrorBlob::decode(&reply.data).unwrap();
        panic!(
            "expected success, got kind {} {:?}",
            blob.raw_kind, blob.message
        );
    }
    R::decode(reply.header.as_slice()).unwrap()
}

pub fn err(reply: &Frame) -> ErrorBlob {
    assert!(!reply.is_success(), "expected an error reply");
    assert!(reply.header.is_empty(), "error replies carry no header");
    let blob = ErrorBlob::decode(&reply.data).unwrap();
    // The full blob: kind, len, message and an empty extra part.
    assert_eq!(
        reply.data.len(),
        12 + blob.message.len(),
        "error blob layout"
    );
    assert_eq!(&reply.data[reply.data.len() - 4..], &[0, 0, 0, 0]);
    blob
}

pub fn stat(c: &mut Conn, path: &str) -> wire::proto::FileStatusProto {
    let r: wire::proto::GetFileStatusResponse = c.ok(
        RpcCode::FileStatus,
        &wire::proto::GetFileStatusRequest { path: path.into() },
    );
    r.status
}
