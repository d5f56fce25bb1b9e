//! The client handle and its metadata calls.

use std::net::ToSocketAddrs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use wire::proto;
use wire::RpcCode;

use crate::conf::ClientConf;
use crate::endpoint::Endpoint;
use crate::error::{Code, Error, Result};
use crate::master::MasterClient;
use crate::worker::WorkerPool;

/// Protocol version this client speaks, sent in the version handshake.
pub const PROTOCOL_VERSION: u32 = 1;

/// The Curvine release whose wire protocol this client speaks, sent as the
/// handshake's release version. Servers compare that field with their
/// `min_client_version` and blocked versions as if it named a Curvine
/// client build, so it must be Curvine's number, never curvine-py's own
/// (which goes in `git_tag`).
pub const CURVINE_RELEASE: &str = "0.2.0";

/// What GetFilesystemInfo returned, and which master said it.
pub struct FsInfo {
    pub leader: Endpoint,
    pub info: proto::GetFilesystemInfoResponse,
}

/// A connection to one Curvine cluster. Safe to share between threads.
pub struct Client {
    conf: ClientConf,
    master: MasterClient,
    /// The lease id of this client's writers.
    client_name: String,
    handshake_sent: AtomicBool,
    workers: WorkerPool,
    client_ip: OnceLock<String>,
}

impl Client {
    /// Checks the settings; contacts nobody until the first call.
    pub fn new(conf: ClientConf) -> Result<Client> {
        conf.validate()?;
        let master = MasterClient::new(&conf);
        let workers = WorkerPool::new(&conf);
        let client_name = format!("curvine-py-{:016x}", crate::connection::random_u64());
        Ok(Client {
            conf,
            master,
            client_name,
            handshake_sent: AtomicBool::new(false),
            workers,
            client_ip: OnceLock::new(),
        })
    }

    pub fn conf(&self) -> &ClientConf {
        &self.conf
    }

    pub fn master(&self) -> &MasterClient {
        &self.master
    }

    pub fn client_name(&self) -> &str {
        &self.client_name
    }

    pub(crate) fn workers(&self) -> &WorkerPool {
        &self.workers
    }

    /// Who this client is, for the master's placement of new blocks.
    pub(crate) fn client_address(&self) -> proto::ClientAddressProto {
        let ip = self.client_ip.get_or_init(|| {
            (self.conf.hostname.as_str(), 0)
                .to_socket_addrs()
                .ok()
                .and_then(|mut addrs| addrs.next())
                .map(|a| a.ip().to_string())
                .unwrap_or_else(|| "127.0.0.1".into())
        });
        proto::ClientAddressProto {
            client_name: self.client_name.clone(),
            hostname: self.conf.hostname.clone(),
            ip_addr: ip.clone(),
            port: 0,
        }
    }

    /// Whether a worker shares this host, so its block files can be used
    /// directly.
    pub(crate) fn is_local(&self, worker: &proto::WorkerAddressProto) -> bool {
        self.conf.short_circuit && worker.hostname == self.conf.hostname
    }

    /// Turns the master's generic error for a bad path into the POSIX-style
    /// one it stands for, by looking at the path and its parent.
    pub(crate) fn explain_path_error(&self, path: &str, error: Error) -> Error {
        if !error.is_server(wire::ErrorKind::Common) {
            return error;
        }
        if let Ok(status) = self.stat(path) {
            if status.is_dir {
                return Error::new(
                    crate::error::Code::Server(wire::ErrorKind::IsADirectory as i32),
                    "is a directory",
                )
                .with_path(path);
            }
            return error;
        }
        self.explain_parent_error(path, error)
    }

    /// Like `explain_path_error`, looking at the parent only.
    pub(crate) fn explain_parent_error(&self, path: &str, error: Error) -> Error {
        if !error.is_server(wire::ErrorKind::Common) {
            return error;
        }
        let parent = match path.rfind('/') {
            Some(0) => "/",
            Some(i) => &path[..i],
            None => return error,
        };
        match self.stat(parent) {
            Err(e) if e.is_server(wire::ErrorKind::FileNotFound) => Error::new(
                crate::error::Code::Server(wire::ErrorKind::FileNotFound as i32),
                format!("parent directory {parent} does not exist"),
            )
            .with_path(path),
            Ok(p) if !p.is_dir => Error::new(
                crate::error::Code::Server(wire::ErrorKind::NotADirectory as i32),
                format!("parent {parent} is not a directory"),
            )
            .with_path(path),
            _ => error,
        }
    }

    /// One request/reply with the leader, errors tagged with `path`.
    pub(crate) fn rpc<Req, Resp>(
        &self,
        code: RpcCode,
        req: &Req,
        path: Option<&str>,
    ) -> Result<Resp>
    where
        Req: prost::Message,
        Resp: prost::Message + Default,
    {
        let tag = |e: Error| match path {
            Some(p) => e.with_path(p),
            None => e,
        };
        let reply = self
            .master
            .call(code, wire::encode_message(req))
            .map_err(tag)?;
        wire::decode_message(&reply.header).map_err(|e| {
            tag(Error::protocol(format!("undecodable {code:?} reply: {e}"))
                .with_endpoint(reply.endpoint.to_string()))
        })
    }

    /// Cluster capacity, workers and the leader. The first call of a
    /// session carries this client's version.
    pub fn fs_info(&self) -> Result<FsInfo> {
        let first = !self.handshake_sent.swap(true, Ordering::AcqRel);
        let req = proto::GetFilesystemInfoRequest {
            component_info: first.then(component_info),
        };
        let reply = self
            .master
            .call(RpcCode::GetFilesystemInfo, wire::encode_message(&req));
        let reply = match reply {
            Ok(reply) => reply,
            Err(e) => {
                if first {
                    self.handshake_sent.store(false, Ordering::Release);
                }
                return Err(e);
            }
        };
        let info = wire::decode_message(&reply.header).map_err(|e| {
            Error::protocol(format!("undecodable GetFilesystemInfo reply: {e}"))
                .with_endpoint(reply.endpoint.to_string())
        })?;
        Ok(FsInfo {
            leader: reply.endpoint,
            info,
        })
    }

    pub fn stat(&self, path: &str) -> Result<proto::FileStatusProto> {
        check_path(path)?;
        let req = proto::GetFileStatusRequest { path: path.into() };
        let resp: proto::GetFileStatusResponse = self.rpc(RpcCode::FileStatus, &req, Some(path))?;
        Ok(resp.status)
    }

    pub fn exists(&self, path: &str) -> Result<bool> {
        check_path(path)?;
        let req = proto::ExistsRequest { path: path.into() };
        let resp: proto::ExistsResponse = self.rpc(RpcCode::Exists, &req, Some(path))?;
        Ok(resp.exists)
    }

    /// Every entry of a directory (a file lists as itself).
    pub fn list(&self, path: &str) -> Result<Vec<proto::FileStatusProto>> {
        check_path(path)?;
        let req = proto::ListStatusRequest {
            path: path.into(),
            need_location: false,
        };
        let resp: proto::ListStatusResponse = self.rpc(RpcCode::ListStatus, &req, Some(path))?;
        Ok(resp.statuses)
    }

    /// Creates a directory; `mode` is masked by the configured umask.
    pub fn mkdir(
        &self,
        path: &str,
        create_parent: bool,
        mode: u32,
    ) -> Result<proto::FileStatusProto> {
        check_path(path)?;
        let req = proto::MkdirRequest {
            path: path.into(),
            opts: proto::MkdirOptsProto {
                create_parent,
                mode: mode & !self.conf.umask & 0o7777,
                x_attr: Default::default(),
                storage_policy: self.storage_policy(),
                owner: String::new(),
                group: String::new(),
            },
        };
        let resp: proto::MkdirResponse = self
            .rpc(RpcCode::Mkdir, &req, Some(path))
            .map_err(|e| self.explain_parent_error(path, e))?;
        Ok(resp.status)
    }

    /// Removes a file or directory; a non-empty directory needs
    /// `recursive`.
    pub fn delete(&self, path: &str, recursive: bool) -> Result<()> {
        check_path(path)?;
        let req = proto::DeleteRequest {
            path: path.into(),
            recursive,
        };
        let _: proto::DeleteResponse = self.rpc(RpcCode::Delete, &req, Some(path))?;
        Ok(())
    }

    /// Moves `src` to `dst`; `flags` are Curvine's rename flags
    /// (1 = do not replace an existing file). False when src equals dst.
    pub fn rename(&self, src: &str, dst: &str, flags: u32) -> Result<bool> {
        check_path(src)?;
        check_path(dst)?;
        let req = proto::RenameRequest {
            src: src.into(),
            dst: dst.into(),
            flags,
        };
        let resp: proto::RenameResponse = self
            .rpc(RpcCode::Rename, &req, Some(src))
            .map_err(|e| self.explain_parent_error(dst, e))
            .map_err(|e| {
                let message = format!("{} (renaming {src} to {dst})", e.message);
                Error { message, ..e }
            })?;
        Ok(resp.result)
    }

    /// Applies the fields that are set in `opts`.
    pub fn set_attr(
        &self,
        path: &str,
        opts: proto::SetAttrOptsProto,
    ) -> Result<proto::FileStatusProto> {
        check_path(path)?;
        let req = proto::SetAttrRequest {
            path: path.into(),
            opts,
        };
        let resp: proto::SetAttrResponse = self.rpc(RpcCode::SetAttr, &req, Some(path))?;
        Ok(resp.status)
    }

    /// Sets the replica count of a file, or with `recursive` of every file
    /// under a directory. A master that answers but keeps the old count
    /// (Curvine 0.2 does) gives `Unsupported` rather than a silent no-op.
    pub fn set_replicas(&self, path: &str, replicas: i32, recursive: bool) -> Result<()> {
        let opts = proto::SetAttrOptsProto {
            recursive,
            replicas: Some(replicas),
            ..Default::default()
        };
        let status = self.set_attr(path, opts)?;

        // Directories and links have no replica count of their own; a
        // recursive call is judged by the first file directly inside.
        let file = proto::FileTypeProto::File as i32;
        let sample = if status.file_type == file {
            Some(status)
        } else if status.is_dir && recursive {
            self.list_page(path, None, 1000)?
                .into_iter()
                .find(|s| s.file_type == file)
        } else {
            None
        };
        match sample {
            Some(s) if s.replicas != replicas => Err(Error::new(
                Code::Unsupported,
                format!(
                    "the master did not apply the replica count {replicas}: {} still has {} \
                     (this Curvine release accepts SetAttr replicas but ignores them)",
                    s.path, s.replicas
                ),
            )
            .with_path(path)),
            _ => Ok(()),
        }
    }

    /// Creates `link` pointing at `target`; `force` replaces an existing
    /// link.
    ///
    /// Some masters (Curvine 0.2) accept a forced Symlink over a link and
    /// keep the old target. Then the old link is deleted and the new one
    /// created, which is not atomic: in between the link is missing, and a
    /// client that creates it first makes this call fail with
    /// FileAlreadyExists.
    pub fn symlink(&self, target: &str, link: &str, force: bool) -> Result<()> {
        check_path(link)?;
        if target.is_empty() {
            return Err(Error::invalid("symlink target is empty").with_path(link));
        }
        let mut req = proto::SymlinkRequest {
            target: target.into(),
            link: link.into(),
            force,
            mode: 0o777,
            owner: None,
            group: None,
        };
        let _: proto::SymlinkResponse = self.rpc(RpcCode::Symlink, &req, Some(link))?;
        if !force {
            return Ok(());
        }

        let now = self.stat(link)?;
        if now.target.as_deref() == Some(target) {
            return Ok(());
        }
        if now.file_type != proto::FileTypeProto::Link as i32 {
            return Err(Error::new(
                Code::Server(wire::ErrorKind::FileAlreadyExists as i32),
                "exists and is not a symlink",
            )
            .with_path(link));
        }
        self.delete(link, false)?;
        req.force = false;
        let _: proto::SymlinkResponse = self.rpc(RpcCode::Symlink, &req, Some(link))?;
        Ok(())
    }

    /// At most `limit` entries of a directory, in name order, after
    /// `start_after` (the name of the last entry of the previous page).
    pub fn list_page(
        &self,
        path: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<proto::FileStatusProto>> {
        check_path(path)?;
        let limit = i32::try_from(limit)
            .map_err(|_| Error::invalid(format!("listing page size {limit} is too large")))?;
        let req = proto::ListOptionsRequest {
            path: path.into(),
            options: proto::ListOptionsProto {
                limit: Some(limit),
                start_after: start_after.map(String::from),
            },
        };
        let resp: proto::ListOptionsResponse = self.rpc(RpcCode::ListOptions, &req, Some(path))?;
        Ok(resp.statuses)
    }

    /// Drops the cached copy of a path's data (the under-store keeps it).
    pub fn free(&self, path: &str, recursive: bool) -> Result<proto::FreeResultProto> {
        check_path(path)?;
        let req = proto::FreeRequest {
            path: path.into(),
            recursive,
        };
        let resp: proto::FreeResponse = self.rpc(RpcCode::Free, &req, Some(path))?;
        Ok(resp.res)
    }

    pub fn mount_table(&self) -> Result<Vec<proto::MountInfoProto>> {
        let resp: proto::GetMountTableResponse = self.rpc(
            RpcCode::GetMountTable,
            &proto::GetMountTableRequest {},
            None,
        )?;
        Ok(resp.mount_table)
    }

    /// Mounts the under-store URI `ufs_path` at `cv_path`.
    pub fn mount(
        &self,
        cv_path: &str,
        ufs_path: &str,
        options: proto::MountOptionsProto,
    ) -> Result<()> {
        check_path(cv_path)?;
        if !ufs_path.contains("://") {
            return Err(Error::invalid(format!(
                "under-store path {ufs_path:?} is not a URI (expected e.g. s3://bucket/prefix)"
            ))
            .with_path(cv_path));
        }
        let req = proto::MountRequest {
            cv_path: cv_path.into(),
            ufs_path: ufs_path.into(),
            mount_options: options,
        };
        let _: proto::MountResponse = self.rpc(RpcCode::Mount, &req, Some(cv_path))?;
        Ok(())
    }

    pub fn unmount(&self, cv_path: &str) -> Result<()> {
        check_path(cv_path)?;
        let req = proto::UnMountRequest {
            cv_path: cv_path.into(),
        };
        let _: proto::UnMountResponse = self.rpc(RpcCode::UnMount, &req, Some(cv_path))?;
        Ok(())
    }

    pub(crate) fn storage_policy(&self) -> proto::StoragePolicyProto {
        proto::StoragePolicyProto {
            storage_type: self.conf.storage_type,
            ttl_ms: 0,
            ttl_action: proto::TtlActionProto::None as i32,
            ufs_mtime: 0,
            state: proto::StorageStateProto::Cv as i32,
        }
    }
}

/// The version block of the handshake.
pub fn component_info() -> proto::ComponentInfoProto {
    proto::ComponentInfoProto {
        component: Some("client".into()),
        release_version: Some(CURVINE_RELEASE.into()),
        git_commit: None,
        // Free text to a server: it is only logged, so it says which build
        // of curvine-py this is.
        git_tag: Some(concat!("curvine-py-", env!("CARGO_PKG_VERSION")).into()),
        git_branch: None,
        protocol_version: Some(PROTOCOL_VERSION),
        min_protocol_version: Some(PROTOCOL_VERSION),
        capabilities: Vec::new(),
    }
}

/// Masters take absolute paths only; saying so here beats their generic
/// error.
pub fn check_path(path: &str) -> Result<()> {
    if !path.starts_with('/') {
        return Err(Error::invalid(format!(
            "path {path:?} is not absolute (expected a path starting with '/')"
        )));
    }
    if path.contains('\0') {
        return Err(Error::invalid(format!("path {path:?} contains a NUL byte")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handshake_names_curvines_release_and_carries_our_own() {
        let info = component_info();

        // A worker with min_client_version = "0.2.0" compares this field.
        let release = info.release_version.expect("a release version");
        let parts: Vec<u32> = release.split('.').map(|p| p.parse().unwrap()).collect();
        assert!(parts >= vec![0, 2, 0], "{release}");
        assert_eq!(release, CURVINE_RELEASE);

        let tag = info.git_tag.expect("a git tag");
        assert_eq!(tag, format!("curvine-py-{}", env!("CARGO_PKG_VERSION")));
        assert_eq!(info.component.as_deref(), Some("client"));
        assert_eq!(info.protocol_version, Some(PROTOCOL_VERSION));
    }
}
