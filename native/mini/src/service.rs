//! A listening endpoint that can be stopped and started again on the same
//! port: every master and every worker of the mini cluster is one of these.
//!
//! Stopping closes the listener (connects are then refused) and shuts down
//! every open connection, which is how tests simulate a crashed node.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::cluster::{advertised, lock};

/// Serves one accepted connection until it closes. Runs on its own thread.
pub type ConnHandler = Arc<dyn Fn(TcpStream, SocketAddr) + Send + Sync>;

struct Running {
    stop: Arc<AtomicBool>,
    acceptor: JoinHandle<()>,
}

pub struct Service {
    addr: Mutex<Option<SocketAddr>>,
    handler: ConnHandler,
    running: Mutex<Option<Running>>,
    conns: Arc<Mutex<HashMap<u64, TcpStream>>>,
    next_conn: Arc<AtomicU64>,
}

impl Service {
    pub fn new(handler: ConnHandler) -> Service {
        Service {
            addr: Mutex::new(None),
            handler,
            running: Mutex::new(None),
            conns: Arc::new(Mutex::new(HashMap::new())),
            next_conn: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The address it listens on (fixed after the first start).
    pub fn addr(&self) -> Option<SocketAddr> {
        *lock(&self.addr)
    }

    /// Binds (`host:0` the first time, the same port afterwards) and starts
    /// accepting. Starting a running service is a no-op.
    pub fn start(&self, host: IpAddr) -> io::Result<SocketAddr> {
        let mut running = lock(&self.running);
        let mut addr = lock(&self.addr);
        if running.is_some() {
            if let Some(a) = *addr {
                return Ok(a);
            }
        }

        let listener = TcpListener::bind(addr.unwrap_or(SocketAddr::new(host, 0)))?;
        let bound = listener.local_addr()?;
        *addr = Some(bound);

        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let stop = stop.clone();
            let handler = self.handler.clone();
            let conns = self.conns.clone();
            let next_conn = self.next_conn.clone();
            thread::Builder::new()
                .name(format!("accept-{}", bound.port()))
                .spawn(move || accept_loop(listener, stop, handler, conns, next_conn))?
        };
        *running = Some(Running { stop, acceptor });
        Ok(bound)
    }

    /// Closes the listener and every connection; returns once new connects
    /// are refused.
    pub fn stop(&self) {
        let Some(running) = lock(&self.running).take() else {
            return;
        };
        running.stop.store(true, Ordering::SeqCst);

        // Wake the blocked accept() so the thread sees the flag and drops
        // the listener.
        if let Some(addr) = self.addr() {
            let _ = TcpStream::connect(SocketAddr::new(advertised(addr.ip()), addr.port()));
        }
        let _ = running.acceptor.join();

        for (_, conn) in lock(&self.conns).drain() {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    handler: ConnHandler,
    conns: Arc<Mutex<HashMap<u64, TcpStream>>>,
    next_conn: Arc<AtomicU64>,
) {
    for incoming in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = incoming else {
            // Out of descriptors or a connection reset before accept: wait
            // a little rather than spin.
            thread::sleep(Duration::from_millis(20));
            continue;
        };
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        let _ = stream.set_nodelay(true);

        let id = next_conn.fetch_add(1, Ordering::SeqCst);
        match stream.try_clone() {
            Ok(clone) => {
                lock(&conns).insert(id, clone);
            }
            Err(_) => continue,
        }
        let handler = handler.clone();
        let registry = conns.clone();
        let spawned = thread::Builder::new()
            .name(format!("conn-{id}"))
            .spawn(move || {
                handler(stream, peer);
                lock(&registry).remove(&id);
            });
        if spawned.is_err() {
            if let Some(conn) = lock(&conns).remove(&id) {
                let _ = conn.shutdown(Shutdown::Both);
            }
        }
    }
}
