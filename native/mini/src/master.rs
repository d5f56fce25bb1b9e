//! The master RPC handler: one connection at a time, frames answered in
//! order, every call checked against who leads first.

use std::io::BufReader;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use prost::Message;
use wire::frame::Frame;
use wire::proto::{
    CompatibilityModeProto, ComponentInfoProto, DeleteRequest, DeleteResponse, ExistsRequest,
    ExistsResponse, FreeResultProto, GetFileStatusRequest, GetFileStatusResponse,
    GetFilesystemInfoRequest, GetFilesystemInfoResponse, GetMountTableResponse, ListStatusRequest,
    ListStatusResponse, MkdirRequest, MkdirResponse, ServerCompatibilityInfoProto,
    StorageInfoProto, WorkerAddressProto, WorkerInfoProto,
};
use wire::{ErrorBlob, ErrorKind, RpcCode};

use crate::block_store::disk_usage;
use crate::cluster::{lock, Cluster, WorkerSlot};
use crate::namespace::{common, now_ms, NewAttrs, NsResult};

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

fn dispatch(cluster: &Cluster, frame: &Frame) -> NsResult<Vec<u8>> {
    let code = RpcCode::from_i8(frame.code);
    let reply = match code {
        Some(RpcCode::Mkdir) => {
            let req: MkdirRequest = decode(frame)?;
            let opts = req.opts;
            let attrs = NewAttrs::from_mkdir(&opts);
            let status = lock(&cluster.ns).mkdir(&req.path, opts.create_parent, &attrs)?;
            MkdirResponse {
                flag: false,
                status,
            }
            .encode_to_vec()
        }
        Some(RpcCode::Delete) => {
            let req: DeleteRequest = decode(frame)?;
            let removed = lock(&cluster.ns).delete(&req.path, req.recursive)?;
            cluster.drop_blocks(&removed.blocks);
            DeleteResponse {
                res: Some(FreeResultProto {
                    inodes: removed.inodes,
                    bytes: removed.bytes,
                }),
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
            let statuses = lock(&cluster.ns).list(&req.path, None, None)?;
            ListStatusResponse { statuses }.encode_to_vec()
        }
        Some(RpcCode::GetFilesystemInfo) => {
            let _req: GetFilesystemInfoRequest = decode(frame)?;
            filesystem_info(cluster).encode_to_vec()
        }
        Some(RpcCode::GetMountTable) => GetMountTableResponse::default().encode_to_vec(),
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
