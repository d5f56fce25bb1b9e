//! The master RPC handler: every connection on its own thread, its frames
//! answered in order, each call checked against who leads before anything else.

use std::io::BufReader;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use prost::Message;
use wire::frame::Frame;
use wire::proto::{
    AddBlockRequest, CompatibilityModeProto, CompleteFileRequest, CompleteFileResponse,
    ComponentInfoProto, CreateFileRequest, CreateFileResponse, DeleteRequest, DeleteResponse,
    ExistsRequest, ExistsResponse, ExtendedBlockProto, FileBlocksProto, FreeRequest, FreeResponse,
    FreeResultProto, GetBlockLocationsRequest, GetBlockLocationsResponse, GetFileStatusRequest,
    GetFileStatusResponse, GetFilesystemInfoRequest, GetFilesystemInfoResponse,
    GetMountInfoRequest, GetMountInfoResponse, GetMountTableResponse, ListOptionsRequest,
    ListOptionsResponse, ListStatusRequest, ListStatusResponse, LocatedBlockProto, MkdirRequest,
    MkdirResponse, MountRequest, MountResponse, OpenFileRequest, OpenFileResponse, RenameRequest,
    RenameResponse, ServerCompatibilityInfoProto, SetAttrRequest, SetAttrResponse,
    StorageInfoProto, SymlinkRequest, SymlinkResponse, UnMountRequest, UnMountResponse,
    WorkerAddressProto, WorkerInfoProto,
};
use wire::{ErrorBlob, ErrorKind, RpcCode};

use crate::block_store::disk_usage;
use crate::cluster::{lock, Cluster, WorkerSlot};
use crate::namespace::{
    common, flags, is_glob, now_ms, BlockMeta, FileBlocks, Limits, NewAttrs, NewBlock, NsResult,
    Removed,
};
use crate::retry_cache::Seen;

/// Curvine's upper bounds for block size and replicas.
const MAX_BLOCK_SIZE: i64 = 100 * 1024 * 1024 * 1024;
const MAX_REPLICAS: i32 = 100;
/// Curvine's client reports its metrics with this code when it closes; the
/// mini cluster accepts and forgets them.
const METRICS_REPORT: i8 = 60;

/// Serves one client connection of master `index` until it closes or sends
/// a frame that breaks the layout rules.
pub fn serve(cluster: Arc<Cluster>, index: usize, stream: TcpStream, peer: SocketAddr) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    let mut writer = stream;
    while let Ok(Some(frame)) = Frame::read_from(&mut reader) {
        let reply = handle(&cluster, index, &frame, peer);
        if reply.write_to(&mut writer).is_err() {
            break;
        }
    }
}

/// Curvine's name for a code, as its messages print it.
fn code_name(code: i8) -> String {
    match RpcCode::from_i8(code) {
        Some(c) => format!("{c:?}"),
        None => "Undefined".to_string(),
    }
}

/// The reply to one request frame.
pub fn handle(cluster: &Cluster, index: usize, frame: &Frame, peer: SocketAddr) -> Frame {
    let head = frame.head();
    if cluster.leader() != index {
        let blob = ErrorBlob::new(
            ErrorKind::NotLeaderMaster,
            format!(
                "Not a leader master, code={}, client_ip={}",
                code_name(frame.code),
                peer.ip()
            ),
        );
        return Frame::error_reply_to(&head, &blob);
    }

    match dispatch(cluster, frame) {
        Ok(header) => Frame::reply_to(&head, header, Vec::new()),
        Err(blob) => Frame::error_reply_to(&head, &blob),
    }
}

/// Decodes a request header; an undecodable one is kind 10000, as in Curvine.
fn decode<M: Message + Default>(frame: &Frame) -> NsResult<M> {
    M::decode(frame.header.as_slice()).map_err(|e| {
        common(format!(
            "Cannot decode the {} request header ({} bytes): {e}",
            code_name(frame.code),
            frame.header.len()
        ))
    })
}

/// Runs a mutating request at most once per req_id. `substitute` answers a
/// retransmission of a request that already succeeded. With `record` unset
/// the outcome is never stored, so every retransmission is "in progress":
/// Curvine treats SetAttr and Symlink that way.
fn once(
    cluster: &Cluster,
    req_id: i64,
    record: bool,
    run: impl FnOnce() -> NsResult<Vec<u8>>,
    substitute: impl FnOnce() -> NsResult<Vec<u8>>,
) -> NsResult<Vec<u8>> {
    let seen = lock(&cluster.retry).begin(req_id);
    match seen {
        Seen::New => {
            let outcome = run();
            if record {
                lock(&cluster.retry).finish(req_id, outcome.is_ok());
            }
            outcome
        }
        Seen::InProgress => Err(ErrorBlob::new(
            ErrorKind::InProgress,
            format!("Request {req_id} is still in progress"),
        )),
        Seen::Succeeded => substitute(),
    }
}

fn delete_reply(removed: &Removed) -> Vec<u8> {
    DeleteResponse {
        res: Some(FreeResultProto {
            inodes: removed.inodes,
            bytes: removed.bytes,
        }),
    }
    .encode_to_vec()
}

fn dispatch(cluster: &Cluster, frame: &Frame) -> NsResult<Vec<u8>> {
    let req_id = frame.req_id;
    let limits = Limits {
        min_block_size: cluster.min_block_size,
        max_block_size: MAX_BLOCK_SIZE,
        max_replicas: MAX_REPLICAS,
    };
    let code = RpcCode::from_i8(frame.code);
    let reply = match code {
        Some(RpcCode::Mkdir) => {
            let req: MkdirRequest = decode(frame)?;
            let attrs = NewAttrs::from_mkdir(&req.opts);
            let status = lock(&cluster.ns).mkdir(&req.path, req.opts.create_parent, &attrs)?;
            MkdirResponse {
                flag: false,
                status,
            }
            .encode_to_vec()
        }
        Some(RpcCode::Delete) => {
            let req: DeleteRequest = decode(frame)?;
            let run = || {
                let removed = lock(&cluster.ns).delete(&req.path, req.recursive)?;
                cluster.drop_blocks(&removed.blocks);
                Ok(delete_reply(&removed))
            };
            once(cluster, req_id, true, run, || {
                Ok(delete_reply(&Removed::default()))
            })?
        }
        Some(RpcCode::CreateFile) => {
            let req: CreateFileRequest = decode(frame)?;
            let run = || {
                let (file_status, dropped) =
                    lock(&cluster.ns).create_file(&req.path, &req.opts, req.flags, &limits)?;
                cluster.drop_blocks(&dropped);
                Ok(CreateFileResponse { file_status }.encode_to_vec())
            };
            let substitute = || {
                let file_status = lock(&cluster.ns).status(&req.path)?;
                Ok(CreateFileResponse { file_status }.encode_to_vec())
            };
            once(cluster, req_id, true, run, substitute)?
        }
        Some(RpcCode::OpenFile) => {
            let req: OpenFileRequest = decode(frame)?;
            let blocks_reply = |fb: FileBlocks| {
                OpenFileResponse {
                    file_blocks: cluster.file_blocks_proto(fb),
                }
                .encode_to_vec()
            };
            if req.flags & flags::ACCMODE == flags::RDONLY {
                // Read-only opens are block lookups; CREAT and TRUNC are
                // ignored, as Curvine's handler does.
                blocks_reply(lock(&cluster.ns).block_locations(&req.path)?)
            } else {
                let run = || {
                    let (fb, dropped) = lock(&cluster.ns)
                        .open_for_write(&req.path, &req.opts, req.flags, &limits)?;
                    cluster.drop_blocks(&dropped);
                    Ok(blocks_reply(fb))
                };
                let substitute = || {
                    let ns = lock(&cluster.ns);
                    let id = ns.resolve_file(&req.path, None)?;
                    Ok(blocks_reply(ns.file_blocks(&req.path, id)))
                };
                once(cluster, req_id, true, run, substitute)?
            }
        }
        Some(RpcCode::AddBlock) => {
            let req: AddBlockRequest = decode(frame)?;
            cluster.add_block(&req)?.encode_to_vec()
        }
        Some(RpcCode::CompleteFile) => {
            let req: CompleteFileRequest = decode(frame)?;
            let mut ns = lock(&cluster.ns);
            let id = ns.resolve_file(&req.path, req.inode_id)?;
            ns.complete_file(
                &req.path,
                id,
                req.len,
                &req.commit_blocks,
                &req.client_name,
                req.only_flush,
            )?;
            if !req.only_flush {
                if let Some(opts) = &req.set_attr_opts {
                    let path = ns.path_of(id);
                    ns.set_attr(&path, opts)?;
                }
            }
            let file_blocks = (req.only_flush && req.return_file_blocks.unwrap_or(true))
                .then(|| cluster.file_blocks_proto(ns.file_blocks(&req.path, id)));
            CompleteFileResponse {
                result: true,
                file_blocks,
            }
            .encode_to_vec()
        }
        Some(RpcCode::GetBlockLocations) => {
            let req: GetBlockLocationsRequest = decode(frame)?;
            let fb = lock(&cluster.ns).block_locations(&req.path)?;
            GetBlockLocationsResponse {
                blocks: cluster.file_blocks_proto(fb),
            }
            .encode_to_vec()
        }
        Some(RpcCode::FileStatus) => {
            let req: GetFileStatusRequest = decode(frame)?;
            let status = lock(&cluster.ns).status(&req.path)?;
            GetFileStatusResponse { status }.encode_to_vec()
        }
        Some(RpcCode::Exists) => {
            let req: ExistsRequest = decode(frame)?;
            let exists = lock(&cluster.ns).exists(&req.path)?;
            ExistsResponse { exists }.encode_to_vec()
        }
        Some(RpcCode::ListStatus) => {
            let req: ListStatusRequest = decode(frame)?;
            let ns = lock(&cluster.ns);
            let statuses = if is_glob(&req.path) {
                ns.list_glob(&req.path)?
            } else {
                ns.list(&req.path, None, None)?
            };
            ListStatusResponse { statuses }.encode_to_vec()
        }
        Some(RpcCode::ListOptions) => {
            let req: ListOptionsRequest = decode(frame)?;
            if is_glob(&req.path) {
                return Err(common(format!(
                    "list_options does not support glob pattern, path {}",
                    req.path
                )));
            }
            let limit = match req.options.limit {
                Some(n) if n < 0 => {
                    return Err(common(format!("list limit must be >= 0, got {n}")))
                }
                Some(n) => Some(n as usize),
                None => None,
            };
            let statuses =
                lock(&cluster.ns).list(&req.path, req.options.start_after.as_deref(), limit)?;
            ListOptionsResponse { statuses }.encode_to_vec()
        }
        Some(RpcCode::Rename) => {
            let req: RenameRequest = decode(frame)?;
            let run = || {
                let (result, removed) = lock(&cluster.ns).rename(&req.src, &req.dst, req.flags)?;
                cluster.drop_blocks(&removed.blocks);
                Ok(RenameResponse { result }.encode_to_vec())
            };
            once(cluster, req_id, true, run, || {
                Ok(RenameResponse { result: true }.encode_to_vec())
            })?
        }
        Some(RpcCode::SetAttr) => {
            let req: SetAttrRequest = decode(frame)?;
            let run = || {
                let status = lock(&cluster.ns).set_attr(&req.path, &req.opts)?;
                Ok(SetAttrResponse { status }.encode_to_vec())
            };
            once(cluster, req_id, false, run, || {
                Ok(SetAttrResponse::default().encode_to_vec())
            })?
        }
        Some(RpcCode::Symlink) => {
            let req: SymlinkRequest = decode(frame)?;
            let run = || {
                lock(&cluster.ns).symlink(&req)?;
                Ok(SymlinkResponse {}.encode_to_vec())
            };
            once(cluster, req_id, false, run, || Ok(Vec::new()))?
        }
        Some(RpcCode::Free) => {
            let req: FreeRequest = decode(frame)?;
            let reply = |r: Removed| {
                FreeResponse {
                    res: FreeResultProto {
                        inodes: r.inodes,
                        bytes: r.bytes,
                    },
                }
                .encode_to_vec()
            };
            let run = || Ok(reply(lock(&cluster.ns).free(&req.path)?));
            once(cluster, req_id, true, run, || Ok(reply(Removed::default())))?
        }
        Some(RpcCode::GetFilesystemInfo) => {
            let _req: GetFilesystemInfoRequest = decode(frame)?;
            filesystem_info(cluster).encode_to_vec()
        }
        Some(RpcCode::Mount) => {
            let req: MountRequest = decode(frame)?;
            lock(&cluster.ns).mount(&req.cv_path, &req.ufs_path, &req.mount_options)?;
            MountResponse {}.encode_to_vec()
        }
        Some(RpcCode::UnMount) => {
            let req: UnMountRequest = decode(frame)?;
            lock(&cluster.ns).unmount(&req.cv_path)?;
            UnMountResponse {}.encode_to_vec()
        }
        Some(RpcCode::GetMountTable) => GetMountTableResponse {
            mount_table: lock(&cluster.ns).mount_table(),
        }
        .encode_to_vec(),
        Some(RpcCode::GetMountInfo) => {
            let req: GetMountInfoRequest = decode(frame)?;
            GetMountInfoResponse {
                mount_info: lock(&cluster.ns).mount_info(&req.path),
            }
            .encode_to_vec()
        }
        None if frame.code == METRICS_REPORT => Vec::new(),
        _ => return Err(common("Unsupported operation")),
    };
    Ok(reply)
}

fn worker_info(cluster: &Cluster, w: &WorkerSlot) -> WorkerInfoProto {
    let (capacity, available) = disk_usage(w.store.dir()).unwrap_or((0, 0));
    let (block_num, fs_used) = w.store.usage();
    let non_fs_used = (capacity - available - fs_used).max(0);
    let storage = StorageInfoProto {
        dir_id: 0,
        storage_id: format!("worker-{}-disk", w.id),
        failed: false,
        capacity,
        available,
        fs_used,
        non_fs_used,
        reserved_bytes: 0,
        storage_type: wire::proto::StorageTypeProto::Disk as i32,
        block_num,
        dir_path: w.store.dir().display().to_string(),
    };
    WorkerInfoProto {
        address: cluster.worker_address(w),
        capacity,
        available,
        fs_used,
        non_fs_used,
        last_update: now_ms() as u64,
        storage_map: [(storage.storage_id.clone(), storage)].into(),
        reserved_bytes: 0,
        weight: Some(1),
        worker_session_id: None,
        software_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        startup_time_ms: Some(cluster.started_ms as u64),
        component_info: None,
    }
}

fn filesystem_info(cluster: &Cluster) -> GetFilesystemInfoResponse {
    let (dirs, files) = lock(&cluster.ns).counts();
    let mut info = GetFilesystemInfoResponse {
        active_master: cluster.leader_endpoint(),
        inode_dir_num: dirs,
        inode_file_num: files,
        ..Default::default()
    };

    cluster.with_workers(|workers| {
        for w in workers {
            let wi = worker_info(cluster, w);
            if w.live {
                info.capacity += wi.capacity;
                info.available += wi.available;
                info.fs_used += wi.fs_used;
                info.non_fs_used += wi.non_fs_used;
                info.block_num += w.store.usage().0;
                info.live_workers.push(wi);
            } else {
                info.lost_workers.push(wi);
            }
        }
    });
    info.allocatable_capacity = Some(info.capacity);
    info.allocatable_available = Some(info.available);

    info.compatibility = Some(ServerCompatibilityInfoProto {
        server: ComponentInfoProto {
            component: Some("master".to_string()),
            release_version: Some(env!("CARGO_PKG_VERSION").to_string()),
            protocol_version: Some(1),
            min_protocol_version: Some(1),
            ..Default::default()
        },
        compatibility_mode: CompatibilityModeProto::Diagnose as i32,
        ..Default::default()
    });
    info
}

impl Cluster {
    /// How clients address worker `w`.
    pub fn worker_address(&self, w: &WorkerSlot) -> WorkerAddressProto {
        WorkerAddressProto {
            worker_id: w.id,
            hostname: self.worker_hostname.clone(),
            ip_addr: self.advertise_ip.to_string(),
            rpc_port: u32::from(w.addr.port()),
            web_port: 0,
        }
    }

    pub fn worker_address_by_id(&self, id: u32) -> Option<WorkerAddressProto> {
        self.with_workers(|ws| {
            ws.iter()
                .find(|w| w.id == id)
                .map(|w| self.worker_address(w))
        })
    }

    fn located_block(&self, b: &BlockMeta, file_type: i32, storage_type: i32) -> LocatedBlockProto {
        // Committed replicas are where the data is; a block still being
        // written is reported where it was placed.
        let ids = if b.locations.is_empty() {
            &b.placed
        } else {
            &b.locations
        };
        LocatedBlockProto {
            block: ExtendedBlockProto {
                id: b.id,
                block_size: b.len,
                storage_type,
                file_type,
                alloc_opts: None,
            },
            offset: 0,
            locs: ids
                .iter()
                .filter_map(|id| self.worker_address_by_id(*id))
                .collect(),
            has_spdk: Some(false),
        }
    }

    fn file_blocks_proto(&self, fb: FileBlocks) -> FileBlocksProto {
        let file_type = fb.file_type as i32;
        FileBlocksProto {
            block_locs: fb
                .blocks
                .iter()
                .map(|b| self.located_block(b, file_type, fb.storage_type))
                .collect(),
            status: fb.status,
        }
    }

    /// Picks up to `replicas` live workers with room for a block the way
    /// Curvine's default policy does: the first worker on the client's host,
    /// then round-robin over the others.
    fn choose_workers(
        &self,
        replicas: i32,
        block_size: i64,
        client_host: &str,
        exclude: &[u32],
    ) -> NsResult<Vec<u32>> {
        let wanted = replicas.max(1) as usize;
        let chosen = self.with_workers(|ws| {
            let fits = |w: &WorkerSlot| {
                w.live
                    && !exclude.contains(&w.id)
                    && disk_usage(w.store.dir()).is_ok_and(|(_, free)| free > block_size)
            };
            let mut chosen: Vec<u32> = Vec::with_capacity(wanted);
            if self.worker_hostname == client_host {
                if let Some(local) = ws.iter().find(|w| fits(w)) {
                    chosen.push(local.id);
                }
            }
            if ws.is_empty() {
                return chosen;
            }

            let start = self.placement_cursor() % ws.len();
            let mut index = start;
            while chosen.len() < wanted {
                let w = &ws[index];
                if fits(w) && !chosen.contains(&w.id) {
                    chosen.push(w.id);
                }
                index = (index + 1) % ws.len();
                if index == start {
                    break;
                }
            }
            self.set_placement_cursor(index);
            chosen
        });
        if chosen.is_empty() {
            return Err(common("No available worker found"));
        }
        Ok(chosen)
    }

    fn add_block(&self, req: &AddBlockRequest) -> NsResult<LocatedBlockProto> {
        let mut ns = lock(&self.ns);
        let id = ns.resolve_file(&req.path, req.inode_id)?;

        let reply =
            |nb: NewBlock| self.located_block(&nb.block, nb.file_type as i32, nb.storage_type);
        let last = req.last_block.as_ref().map(|b| b.id);
        if let Some(existing) = ns.allocated_successor(id, last) {
            return Ok(reply(existing));
        }

        let (replicas, block_size) = ns.file_shape(id);
        let workers = self.choose_workers(
            replicas,
            block_size,
            &req.client_address.hostname,
            &req.exclude_workers,
        )?;
        let block = ns.add_block(&req.path, id, &req.commit_blocks, req.file_len, workers)?;
        Ok(reply(block))
    }

    /// Removes the replicas of deleted blocks from every worker, the way a
    /// real master tells its workers through heartbeats.
    pub fn drop_blocks(&self, blocks: &[i64]) {
        if blocks.is_empty() {
            return;
        }
        self.with_workers(|workers| {
            for w in workers {
                for id in blocks {
                    w.store.remove(*id);
                }
            }
        });
    }
}
