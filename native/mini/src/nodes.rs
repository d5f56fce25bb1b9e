//! The listeners of one mini cluster: its masters and its workers, each of
//! which can be stopped and started again on the same port.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::args::Args;
use crate::block_store::BlockStore;
use crate::cluster::{worker_dir, Cluster, WorkerSlot};
use crate::service::Service;
use crate::{master, worker};

pub struct Nodes {
    pub cluster: Arc<Cluster>,
    masters: Vec<Service>,
    workers: Vec<Service>,
}

impl Nodes {
    /// Binds every master and worker on a free port of `args.host`.
    pub fn start(args: &Args, data_dir: &Path) -> Result<Nodes, String> {
        let cluster = Arc::new(Cluster::new(
            args.host,
            args.worker_hostname.clone(),
            args.min_block_size,
            args.leader,
        ));

        let mut masters = Vec::with_capacity(args.masters);
        let mut master_addrs = Vec::with_capacity(args.masters);
        for index in 0..args.masters {
            let c = cluster.clone();
            let service = Service::new(Arc::new(move |stream, peer| {
                master::serve(c.clone(), index, stream, peer)
            }));
            let addr = service
                .start(args.host)
                .map_err(|e| format!("cannot listen for master {index} on {}: {e}", args.host))?;
            master_addrs.push(addr);
            masters.push(service);
        }
        cluster.set_master_addrs(master_addrs);

        let mut workers = Vec::with_capacity(args.workers);
        for index in 0..args.workers {
            let dir = worker_dir(data_dir, index);
            let mut store = BlockStore::open(dir.clone())
                .map_err(|e| format!("cannot create worker directory {}: {e}", dir.display()))?;
            if let Some(root) = &args.block_path_root {
                store = store.with_shown_dir(worker_dir(root, index));
            }
            let store = Arc::new(store);
            let s = store.clone();
            let service = Service::new(Arc::new(move |stream, peer| {
                worker::serve(s.clone(), stream, peer)
            }));
            let addr = service
                .start(args.host)
                .map_err(|e| format!("cannot listen for worker {index} on {}: {e}", args.host))?;
            cluster.add_worker(WorkerSlot {
                id: index as u32 + 1,
                addr,
                live: true,
                store,
            });
            workers.push(service);
        }

        Ok(Nodes {
            cluster,
            masters,
            workers,
        })
    }

    pub fn master_addrs(&self) -> Vec<SocketAddr> {
        self.masters.iter().filter_map(Service::addr).collect()
    }

    pub fn worker_addrs(&self) -> Vec<SocketAddr> {
        self.workers.iter().filter_map(Service::addr).collect()
    }

    pub fn masters(&self) -> usize {
        self.masters.len()
    }

    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    pub fn stop_master(&self, index: usize) {
        self.masters[index].stop();
    }

    pub fn start_master(&self, index: usize) -> std::io::Result<()> {
        self.masters[index]
            .start(self.cluster.advertise_ip)
            .map(|_| ())
    }

    /// A stopped worker also leaves the live set, so new blocks go elsewhere.
    pub fn stop_worker(&self, index: usize) {
        self.cluster.set_worker_live(index, false);
        self.workers[index].stop();
    }

    pub fn start_worker(&self, index: usize) -> std::io::Result<()> {
        self.workers[index].start(self.cluster.advertise_ip)?;
        self.cluster.set_worker_live(index, true);
        Ok(())
    }
}
