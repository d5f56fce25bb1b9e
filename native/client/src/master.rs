//! Talking to the masters: leader discovery the way Curvine's own client
//! does it, retries with back-off inside one deadline, and a small pool of
//! sockets per master.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use wire::frame::{Frame, RPC_SEQ_ID};
use wire::{ErrorBlob, ErrorKind, RequestStatus, RpcCode};

use crate::conf::ClientConf;
use crate::connection::{fresh_req_id, Connection, Failure};
use crate::endpoint::Endpoint;
use crate::error::{Code, Error, Result};

/// Pooled sockets idle longer than this are not reused: masters close idle
/// connections after ten minutes, and a stale socket costs a round trip.
const MAX_POOLED_IDLE: Duration = Duration::from_secs(300);

/// A reply from the leader.
pub struct Reply {
    /// The protobuf header of the success reply.
    pub header: Vec<u8>,
    /// The master that answered.
    pub endpoint: Endpoint,
}

/// The retry and timeout settings, fixed at creation.
#[derive(Clone, Debug)]
struct Timing {
    conn_timeout: Duration,
    rpc_timeout: Duration,
    retry_max_duration: Duration,
    min_sleep: Duration,
    max_sleep: Duration,
    pool_size: usize,
}

struct Inner {
    endpoints: Vec<Endpoint>,
    pools: Vec<Mutex<Vec<Connection>>>,
    /// Index of the remembered leader.
    leader: Mutex<Option<usize>>,
    timing: Timing,
}

/// How one attempt at one master ended.
enum Outcome {
    /// A success or an error that another master would not change.
    Final(Frame),
    /// Worth trying elsewhere or later.
    Retry(Failure),
}

/// A client for the masters of one cluster; cheap to clone and safe to
/// share between threads.
#[derive(Clone)]
pub struct MasterClient {
    inner: Arc<Inner>,
}

impl MasterClient {
    pub fn new(conf: &ClientConf) -> MasterClient {
        let endpoints = conf.masters();
        let pools = endpoints.iter().map(|_| Mutex::new(Vec::new())).collect();
        MasterClient {
            inner: Arc::new(Inner {
                endpoints,
                pools,
                leader: Mutex::new(None),
                timing: Timing {
                    conn_timeout: conf.conn_timeout,
                    rpc_timeout: conf.rpc_timeout,
                    retry_max_duration: conf.rpc_retry_max_duration,
                    min_sleep: conf.rpc_retry_min_sleep,
                    max_sleep: conf.rpc_retry_max_sleep,
                    pool_size: conf.master_conn_pool_size,
                },
            }),
        }
    }

    pub fn endpoints(&self) -> &[Endpoint] {
        &self.inner.endpoints
    }

    /// The master that answered last, if one has.
    pub fn leader(&self) -> Option<Endpoint> {
        let leader = *lock(&self.inner.leader);
        leader.map(|i| self.inner.endpoints[i].clone())
    }

    /// Sends one logical request (one fresh req_id, kept across retries) and
    /// returns the leader's success reply, or the error it answered with.
    pub fn call(&self, code: RpcCode, header: Vec<u8>) -> Result<Reply> {
        let frame = Arc::new(Frame::request(
            code.as_i8(),
            RequestStatus::Rpc,
            fresh_req_id(),
            RPC_SEQ_ID,
            header,
        ));
        let inner = &self.inner;
        let start = Instant::now();
        let deadline = start + inner.timing.retry_max_duration;
        let mut failures: Vec<Option<Failure>> = vec![None; inner.endpoints.len()];

        let remembered = *lock(&inner.leader);
        if let Some(i) = remembered {
            match inner.attempt(i, &frame, deadline) {
                Outcome::Final(reply) => return inner.finish(i, reply),
                Outcome::Retry(failure) => {
                    failures[i] = Some(failure);
                    let mut leader = lock(&inner.leader);
                    if *leader == Some(i) {
                        *leader = None;
                    }
                }
            }
        }

        let mut sleep = inner.timing.min_sleep;
        let mut rounds = 0;
        loop {
            rounds += 1;
            if let Some((i, reply)) = self.broadcast(&frame, deadline, &mut failures) {
                *lock(&inner.leader) = Some(i);
                return inner.finish(i, reply);
            }

            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || left <= sleep {
                // Another round could not finish before the deadline.
                if !left.is_zero() && left < sleep {
                    thread::sleep(left);
                }
                return Err(inner.give_up(start, rounds, &failures));
            }
            thread::sleep(sleep);
            sleep = (sleep * 2).min(inner.timing.max_sleep);
        }
    }

    /// Sends the frame to every master at once; the first final answer wins.
    fn broadcast(
        &self,
        frame: &Arc<Frame>,
        deadline: Instant,
        failures: &mut [Option<Failure>],
    ) -> Option<(usize, Frame)> {
        let (tx, rx) = mpsc::channel();
        for (i, failure) in failures.iter_mut().enumerate() {
            let inner = Arc::clone(&self.inner);
            let frame = Arc::clone(frame);
            let tx = tx.clone();
            let spawned = thread::Builder::new()
                .name("curvine-master-probe".into())
                .spawn(move || {
                    let outcome = inner.attempt(i, &frame, deadline);
                    let _ = tx.send((i, outcome));
                });
            if let Err(e) = spawned {
                *failure = Some(Failure::Other(format!("could not start a thread: {e}")));
            }
        }
        drop(tx);

        loop {
            // Every attempt ends by the deadline; the grace covers the
            // threads' own wake-up.
            let left =
                deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(200);
            match rx.recv_timeout(left) {
                Ok((i, Outcome::Final(reply))) => return Some((i, reply)),
                Ok((i, Outcome::Retry(failure))) => failures[i] = Some(failure),
                Err(_) => return None,
            }
        }
    }
}

impl Inner {
    /// One exchange with master `i`, bounded by the deadline.
    fn attempt(&self, i: usize, frame: &Frame, deadline: Instant) -> Outcome {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Outcome::Retry(Failure::TimedOut(self.timing.retry_max_duration));
        }
        let rpc_timeout = self.timing.rpc_timeout.min(left);

        let pooled = self.checkout(i);
        let reused = pooled.is_some();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => {
                match Connection::connect(&self.endpoints[i], self.timing.conn_timeout.min(left)) {
                    Ok(conn) => conn,
                    Err(failure) => return Outcome::Retry(failure),
                }
            }
        };

        let mut result = conn.call(frame, rpc_timeout);
        if reused && matches!(result, Err(Failure::Closed(_))) {
            // The master dropped the idle socket; a fresh one decides.
            let left = deadline.saturating_duration_since(Instant::now());
            conn = match Connection::connect(&self.endpoints[i], self.timing.conn_timeout.min(left))
            {
                Ok(conn) => conn,
                Err(failure) => return Outcome::Retry(failure),
            };
            result = conn.call(frame, rpc_timeout.min(left));
        }

        match result {
            Ok(reply) => {
                self.checkin(i, conn);
                if !reply.is_success() {
                    if let Ok(blob) = ErrorBlob::decode(&reply.data) {
                        if blob.kind() == ErrorKind::NotLeaderMaster {
                            return Outcome::Retry(Failure::NotLeader);
                        }
                    }
                }
                Outcome::Final(reply)
            }
            Err(failure) => Outcome::Retry(failure),
        }
    }

    fn checkout(&self, i: usize) -> Option<Connection> {
        let mut pool = lock(&self.pools[i]);
        while let Some(conn) = pool.pop() {
            if conn.is_own() && conn.idle_for() < MAX_POOLED_IDLE {
                return Some(conn);
            }
        }
        None
    }

    fn checkin(&self, i: usize, conn: Connection) {
        let mut pool = lock(&self.pools[i]);
        // A forked child drops (closes, never uses) what its parent pooled.
        pool.retain(Connection::is_own);
        if conn.is_own() && pool.len() < self.timing.pool_size {
            pool.push(conn);
        }
    }

    /// Turns the leader's reply into the caller's result.
    fn finish(&self, i: usize, reply: Frame) -> Result<Reply> {
        let endpoint = self.endpoints[i].clone();
        if reply.is_success() {
            return Ok(Reply {
                header: reply.header,
                endpoint,
            });
        }
        let error = match ErrorBlob::decode(&reply.data) {
            Ok(blob) => Error::server(&blob),
            Err(e) => Error::protocol(e.to_string()),
        };
        Err(error.with_endpoint(endpoint.to_string()))
    }

    /// The error when no master gave a final answer in time.
    fn give_up(&self, start: Instant, rounds: usize, failures: &[Option<Failure>]) -> Error {
        let timed_out = failures
            .iter()
            .all(|f| matches!(f, None | Some(Failure::TimedOut(_))));
        let tried: Vec<String> = self
            .endpoints
            .iter()
            .zip(failures)
            .map(|(ep, f)| match f {
                Some(f) => format!("{ep} ({f})"),
                None => format!("{ep} (no answer before the deadline)"),
            })
            .collect();
        let code = if timed_out {
            Code::Timeout
        } else {
            Code::Unavailable
        };
        Error::new(
            code,
            format!(
                "no leader master answered within {:.1}s ({} round{}): {}",
                start.elapsed().as_secs_f64(),
                rounds,
                if rounds == 1 { "" } else { "s" },
                tried.join(", ")
            ),
        )
    }
}

/// A poisoned lock only means another thread panicked while holding it; the
/// pool and the leader index stay consistent either way.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
