//! The state every master and worker of one mini cluster shares: the
//! namespace, who leads, and which workers are up.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use crate::block_store::BlockStore;
use crate::namespace::{now_ms, Namespace};
use crate::retry_cache::RetryCache;

/// One worker as the masters see it.
pub struct WorkerSlot {
    pub id: u32,
    pub addr: SocketAddr,
    pub live: bool,
    pub store: Arc<BlockStore>,
}

pub struct Cluster {
    /// The address advertised to clients for every listener.
    pub advertise_ip: IpAddr,
    /// The host name the workers report; a client with the same configured
    /// host name counts as local (placement and short-circuit).
    pub worker_hostname: String,
    pub min_block_size: i64,
    pub started_ms: i64,
    pub ns: Mutex<Namespace>,
    pub retry: Mutex<RetryCache>,
    leader: AtomicUsize,
    master_addrs: OnceLock<Vec<SocketAddr>>,
    workers: RwLock<Vec<WorkerSlot>>,
    next_placement: AtomicUsize,
}

/// Recovers the data of a poisoned lock: one panicking connection must not
/// take the cluster down.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A wildcard bind is advertised as loopback: clients cannot connect to
/// 0.0.0.0.
pub fn advertised(host: IpAddr) -> IpAddr {
    match host {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

impl Cluster {
    pub fn new(host: IpAddr, worker_hostname: String, min_block_size: i64, leader: usize) -> Self {
        Cluster {
            advertise_ip: advertised(host),
            worker_hostname,
            min_block_size,
            started_ms: now_ms(),
            ns: Mutex::new(Namespace::new()),
            retry: Mutex::new(RetryCache::default()),
            leader: AtomicUsize::new(leader),
            master_addrs: OnceLock::new(),
            workers: RwLock::new(Vec::new()),
            next_placement: AtomicUsize::new(0),
        }
    }

    pub fn leader(&self) -> usize {
        self.leader.load(Ordering::SeqCst)
    }

    pub fn set_leader(&self, index: usize) {
        self.leader.store(index, Ordering::SeqCst);
    }

    /// `ip:port` as clients should dial it.
    pub fn endpoint(&self, addr: SocketAddr) -> String {
        SocketAddr::new(self.advertise_ip, addr.port()).to_string()
    }

    pub fn set_master_addrs(&self, addrs: Vec<SocketAddr>) {
        let _ = self.master_addrs.set(addrs);
    }

    pub fn master_addrs(&self) -> &[SocketAddr] {
        self.master_addrs.get().map(Vec::as_slice).unwrap_or(&[])
    }

    /// The leader's endpoint, as GetFilesystemInfo reports it.
    pub fn leader_endpoint(&self) -> String {
        self.master_addrs()
            .get(self.leader())
            .map(|a| self.endpoint(*a))
            .unwrap_or_default()
    }

    pub fn add_worker(&self, slot: WorkerSlot) {
        self.workers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(slot);
    }

    pub fn set_worker_live(&self, index: usize, live: bool) {
        let mut workers = self.workers.write().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = workers.get_mut(index) {
            w.live = live;
        }
    }

    /// Runs `f` over the worker table.
    pub fn with_workers<R>(&self, f: impl FnOnce(&[WorkerSlot]) -> R) -> R {
        let workers = self.workers.read().unwrap_or_else(|e| e.into_inner());
        f(&workers)
    }

    /// Where the next round-robin placement starts.
    pub fn placement_cursor(&self) -> usize {
        self.next_placement.load(Ordering::SeqCst)
    }

    pub fn set_placement_cursor(&self, index: usize) {
        self.next_placement.store(index, Ordering::SeqCst);
    }
}

/// Where worker `index` keeps its block files.
pub fn worker_dir(data_dir: &std::path::Path, index: usize) -> PathBuf {
    data_dir.join(format!("worker-{index}"))
}
