//! Masters for tests, built on the wire crate alone: each answers frames
//! with a handler of the test's choosing.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use wire::frame::Frame;
use wire::{ErrorBlob, ErrorKind};

/// What a test master does with a request: a reply, or silence.
pub type Handler = dyn Fn(&Frame) -> Option<Frame> + Send + Sync;

pub struct TestServer {
    pub addr: String,
    /// Every request received, in order.
    pub seen: Arc<Mutex<Vec<Frame>>>,
    pub connections: Arc<AtomicUsize>,
    handler: Arc<Mutex<Arc<Handler>>>,
}

impl TestServer {
    pub fn start(handler: impl Fn(&Frame) -> Option<Frame> + Send + Sync + 'static) -> TestServer {
        TestServer::start_with(false, handler)
    }

    /// `close_after_reply` drops each connection once it has answered, like
    /// a master that closed an idle socket.
    pub fn start_with(
        close_after_reply: bool,
        handler: impl Fn(&Frame) -> Option<Frame> + Send + Sync + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Mutex<Arc<Handler>>> = Arc::new(Mutex::new(Arc::new(handler)));
        let (s, c, h) = (seen.clone(), connections.clone(), handler.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                c.fetch_add(1, Ordering::SeqCst);
                let (s, h) = (s.clone(), h.clone());
                thread::spawn(move || serve(stream, s, h, close_after_reply));
            }
        });
        TestServer {
            addr,
            seen,
            connections,
            handler,
        }
    }

    /// Changes what this master answers from now on.
    pub fn set_handler(&self, handler: impl Fn(&Frame) -> Option<Frame> + Send + Sync + 'static) {
        *self.handler.lock().unwrap() = Arc::new(handler);
    }

    pub fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn req_ids(&self) -> Vec<i64> {
        self.seen.lock().unwrap().iter().map(|f| f.req_id).collect()
    }
}

fn serve(
    mut stream: TcpStream,
    seen: Arc<Mutex<Vec<Frame>>>,
    handler: Arc<Mutex<Arc<Handler>>>,
    close_after_reply: bool,
) {
    while let Ok(Some(frame)) = Frame::read_from(&mut stream) {
        seen.lock().unwrap().push(frame.clone());
        let h = handler.lock().unwrap().clone();
        match h(&frame) {
            Some(reply) => {
                if reply.write_to(&mut stream).is_err() {
                    return;
                }
                if close_after_reply {
                    return;
                }
            }
            // Silence: keep the socket open and never answer.
            None => thread::park(),
        }
    }
}

pub fn ok(req: &Frame, message: &impl prost::Message) -> Option<Frame> {
    Some(Frame::reply_to(
        &req.head(),
        wire::encode_message(message),
        vec![],
    ))
}

pub fn fail(req: &Frame, kind: ErrorKind, message: &str) -> Option<Frame> {
    Some(Frame::error_reply_to(
        &req.head(),
        &ErrorBlob::new(kind, message),
    ))
}

pub fn not_leader(req: &Frame) -> Option<Frame> {
    fail(
        req,
        ErrorKind::NotLeaderMaster,
        "Not a leader master, code=test, client_ip=127.0.0.1",
    )
}

/// A port on which nothing listens.
pub fn refused_addr() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    addr
}

/// Waits (up to ten seconds) for something a server records on its own
/// thread.
pub fn wait_until(cond: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !cond() && start.elapsed() < std::time::Duration::from_secs(10) {
        thread::sleep(std::time::Duration::from_millis(2));
    }
}
