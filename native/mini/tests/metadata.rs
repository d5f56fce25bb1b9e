//! The rest of the master calls: create rules, rename outcomes, links,
//! attributes, paged listing, the mount table and the retry cache.

mod common;

use common::data::*;
use common::{err, ok, req_id, stat, Conn, Mini};
use prost::Message;
use wire::frame::{Frame, RPC_SEQ_ID};
use wire::proto::{
    CreateFileResponse, DeleteRequest, DeleteResponse, ExistsRequest, ExistsResponse, FreeRequest,
    FreeResponse, GetBlockLocationsRequest, GetMountInfoRequest, GetMountInfoResponse,
    GetMountTableRequest, GetMountTableResponse, ListOptionsProto, ListOptionsRequest,
    ListOptionsResponse, ListStatusRequest, ListStatusResponse, MkdirOptsProto, MkdirRequest,
    MkdirResponse, MountOptionsProto, MountRequest, OpenFileRequest, OpenFileResponse,
    RenameRequest, RenameResponse, SetAttrOptsProto, SetAttrRequest, SetAttrResponse,
    SymlinkRequest, UnMountRequest,
};
use wire::{RequestStatus, RpcCode};

const BLOCK: i64 = 64 * 1024;

fn mkdir(m: &mut Conn, path: &str) {
    let _: MkdirResponse = m.ok(
        RpcCode::Mkdir,
        &MkdirRequest {
            path: path.into(),
            opts: MkdirOptsProto {
                create_parent: true,
                ..Default::default()
            },
        },
    );
}

fn touch(m: &mut Conn, path: &str, data: &[u8]) {
    write_file(m, path, data, BLOCK, 1, 4096);
}

fn rename(m: &mut Conn, src: &str, dst: &str, flags: u32) -> Result<bool, i32> {
    let reply = m.call(
        RpcCode::Rename,
        &RenameRequest {
            src: src.into(),
            dst: dst.into(),
            flags,
        },
    );
    if reply.is_success() {
        Ok(ok::<RenameResponse>(&reply).result)
    } else {
        Err(err(&reply).raw_kind)
    }
}

fn exists(m: &mut Conn, path: &str) -> bool {
    let r: ExistsResponse = m.ok(RpcCode::Exists, &ExistsRequest { path: path.into() });
    r.exists
}

#[test]
fn create_file_follows_curvine_rules() {
    let mini = Mini::start(&["--min-block-size", "65536"]);
    let mut m = mini.leader_conn();
    mkdir(&mut m, "/dir");

    let created: CreateFileResponse = ok(&create(&mut m, "/dir/f", opts(BLOCK, 1), WRONLY_CREAT));
    let s = created.file_status;
    assert!(!s.is_dir && !s.is_complete);
    assert_eq!(
        (s.len, s.block_size, s.replicas, s.mode),
        (0, BLOCK, 1, 0o644)
    );

    // Existing file without TRUNC, or with EXCL: kind 7.
    assert_eq!(
        kind(&create(&mut m, "/dir/f", opts(BLOCK, 1), WRONLY_CREAT)),
        7
    );
    assert_eq!(
        kind(&create(
            &mut m,
            "/dir/f",
            opts(BLOCK, 1),
            WRONLY_CREAT | TRUNC | 0x80
        )),
        7
    );
    // A directory is not a file: 10000.
    assert_eq!(
        kind(&create(
            &mut m,
            "/dir",
            opts(BLOCK, 1),
            WRONLY_CREAT | TRUNC
        )),
        10000
    );
    // Without CREAT: 10000.
    assert_eq!(kind(&create(&mut m, "/dir/g", opts(BLOCK, 1), 0x1)), 10000);
    // Replicas and block size are checked.
    assert_eq!(
        kind(&create(&mut m, "/dir/g", opts(BLOCK, 0), WRONLY_CREAT)),
        10000
    );
    assert_eq!(
        kind(&create(&mut m, "/dir/g", opts(BLOCK, 100), WRONLY_CREAT)),
        10000
    );
    assert_eq!(
        kind(&create(&mut m, "/dir/g", opts(BLOCK / 2, 1), WRONLY_CREAT)),
        10000
    );
    // A missing or non-directory parent without create_parent: 10000.
    let mut o = opts(BLOCK, 1);
    o.create_parent = false;
    assert_eq!(
        kind(&create(&mut m, "/nodir/g", o.clone(), WRONLY_CREAT)),
        10000
    );
    assert_eq!(
        kind(&create(&mut m, "/dir/f/g", o.clone(), WRONLY_CREAT)),
        10000
    );
    assert!(create(&mut m, "/dir/h", o, WRONLY_CREAT).is_success());
    // create_parent builds the missing directories.
    assert!(create(&mut m, "/p/q/r", opts(BLOCK, 1), WRONLY_CREAT).is_success());
    assert!(stat(&mut m, "/p/q").is_dir);

    // TRUNC empties an existing file and drops its blocks.
    touch(&mut m, "/full", &pattern(3000, 1));
    let over: CreateFileResponse = ok(&create(
        &mut m,
        "/full",
        opts(BLOCK, 1),
        WRONLY_CREAT | TRUNC,
    ));
    assert_eq!(over.file_status.len, 0);
    assert_eq!(over.file_status.id, stat(&mut m, "/full").id);
}

#[test]
fn open_file_read_only_is_a_block_lookup() {
    let mini = Mini::start(&[]);
    let mut m = mini.leader_conn();
    let open = |m: &mut Conn, path: &str, flags| {
        m.call(
            RpcCode::OpenFile,
            &OpenFileRequest {
                path: path.into(),
                opts: opts(BLOCK, 1),
                flags,
            },
        )
    };
    // RDONLY ignores CREAT and TRUNC: a missing file stays missing.
    assert_eq!(kind(&open(&mut m, "/none", 0x40 | 0x200)), 8);
    assert!(!exists(&mut m, "/none"));

    let data = pattern(5000, 2);
    touch(&mut m, "/f", &data);
    let r: OpenFileResponse = ok(&open(&mut m, "/f", 0x200));
    assert_eq!(r.file_blocks.status.len, 5000);
    assert_eq!(r.file_blocks.block_locs.len(), 1);

    // Write modes: missing without CREAT is 8; with CREAT it is created;
    // TRUNC empties.
    assert_eq!(kind(&open(&mut m, "/new", 0x1)), 8);
    let r: OpenFileResponse = ok(&open(&mut m, "/new", 0x41));
    assert!(r.file_blocks.block_locs.is_empty());
    let r: OpenFileResponse = ok(&open(&mut m, "/f", 0x241));
    assert_eq!(r.file_blocks.status.len, 0);
    mkdir(&mut m, "/d");
    assert_eq!(kind(&open(&mut m, "/d", 0x41)), 10000);
    let on_dir = m.call(
        RpcCode::GetBlockLocations,
        &GetBlockLocationsRequest { path: "/d".into() },
    );
    assert_eq!(kind(&on_dir), 10000);
}

#[test]
fn rename_has_every_curvine_outcome() {
    let mini = Mini::start(&[]);
    let mut m = mini.leader_conn();
    touch(&mut m, "/a", b"aaa");
    touch(&mut m, "/b", b"bbbbb");
    mkdir(&mut m, "/d1/sub");
    mkdir(&mut m, "/d2");
    mkdir(&mut m, "/full/x");

    assert_eq!(rename(&mut m, "/missing", "/z", 0), Err(8));
    assert_eq!(rename(&mut m, "/a", "/a", 0), Ok(false));
    assert_eq!(rename(&mut m, "/", "/z", 0), Err(10000));
    assert_eq!(rename(&mut m, "/d1", "/d1/sub/in", 0), Err(28));
    assert_eq!(rename(&mut m, "/a", "/nodir/a", 0), Err(10000));
    assert_eq!(rename(&mut m, "/a", "/d2", 0), Err(26));
    assert_eq!(rename(&mut m, "/d2", "/a", 0), Err(27));
    assert_eq!(rename(&mut m, "/d2", "/full", 0), Err(11));
    assert_eq!(rename(&mut m, "/a", "/b", 1), Err(7));

    // A file onto a file replaces it.
    assert_eq!(rename(&mut m, "/a", "/b", 0), Ok(true));
    assert!(!exists(&mut m, "/a"));
    assert_eq!(stat(&mut m, "/b").len, 3);
    assert!(read_file(&mut m, "/b", 0, 4096) == b"aaa");

    // A directory onto an empty directory, and a move into a directory.
    assert_eq!(rename(&mut m, "/d1", "/d2", 0), Ok(true));
    assert!(stat(&mut m, "/d2/sub").is_dir);
    assert_eq!(rename(&mut m, "/b", "/d2/sub/b2", 0), Ok(true));
    assert_eq!(stat(&mut m, "/d2/sub/b2").name, "b2");

    // EXCHANGE swaps two entries.
    touch(&mut m, "/e1", b"1");
    touch(&mut m, "/e2", b"22");
    assert_eq!(rename(&mut m, "/e1", "/e2", 2), Ok(true));
    assert_eq!(stat(&mut m, "/e1").len, 2);
    assert_eq!(stat(&mut m, "/e2").len, 1);
}

#[test]
fn symlinks_attributes_and_free() {
    let mini = Mini::start(&[]);
    let mut m = mini.leader_conn();
    touch(&mut m, "/f", b"data");
    let link = |m: &mut Conn, target: &str, link: &str, force| {
        m.call(
            RpcCode::Symlink,
            &SymlinkRequest {
                target: target.into(),
                link: link.into(),
                force,
                mode: 0o777,
                owner: Some("bob".into()),
                group: None,
            },
        )
    };
    let made = link(&mut m, "/f", "/l", false);
    assert!(made.is_success() && made.header.is_empty());
    let s = stat(&mut m, "/l");
    assert_eq!(
        (s.file_type, s.target.as_deref(), s.mode),
        (2, Some("/f"), 0o777)
    );
    assert_eq!(s.owner, "bob");
    assert_eq!(kind(&link(&mut m, "/g", "/l", false)), 7);
    assert_eq!(kind(&link(&mut m, "/g", "/f", true)), 7);
    // Accepted, but the link keeps its target, as on Curvine 0.2 masters.
    assert!(link(&mut m, "/g", "/l", true).is_success());
    assert_eq!(stat(&mut m, "/l").target.as_deref(), Some("/f"));
    assert_eq!(kind(&link(&mut m, "/g", "/nodir/l", false)), 10000);

    mkdir(&mut m, "/t/u");
    let set = |m: &mut Conn, path: &str, opts: SetAttrOptsProto| {
        m.call(
            RpcCode::SetAttr,
            &SetAttrRequest {
                path: path.into(),
                opts,
            },
        )
    };
    let r: SetAttrResponse = ok(&set(
        &mut m,
        "/t",
        SetAttrOptsProto {
            recursive: true,
            owner: Some("carol".into()),
            mode: Some(0o700),
            mtime: Some(1_000),
            ..Default::default()
        },
    ));
    assert_eq!(
        (r.status.owner.as_str(), r.status.mode, r.status.mtime),
        ("carol", 0o700, 1_000)
    );
    assert_eq!(stat(&mut m, "/t/u").owner, "carol", "recursive");
    let r: SetAttrResponse = ok(&set(
        &mut m,
        "/f",
        SetAttrOptsProto {
            replicas: Some(3),
            group: Some("staff".into()),
            ..Default::default()
        },
    ));
    assert_eq!(
        (
            r.status.replicas,
            r.status.group.as_str(),
            r.status.owner.as_str()
        ),
        (1, "staff", ""),
        "replicas are accepted and ignored"
    );
    assert_eq!(kind(&set(&mut m, "/nope", SetAttrOptsProto::default())), 8);

    // Data that lives only in the cache has nothing to free.
    let free = |m: &mut Conn, path: &str| {
        m.call(
            RpcCode::Free,
            &FreeRequest {
                path: path.into(),
                recursive: true,
            },
        )
    };
    let r: FreeResponse = ok(&free(&mut m, "/f"));
    assert_eq!((r.res.inodes, r.res.bytes), (0, 0));
    assert_eq!(kind(&free(&mut m, "/nope")), 8);
    assert_eq!(kind(&free(&mut m, "/")), 10000);
    assert!(read_file(&mut m, "/f", 0, 4096) == b"data");
}

#[test]
fn paged_and_glob_listing() {
    let mini = Mini::start(&[]);
    let mut m = mini.leader_conn();
    for name in ["e", "a", "c", "b", "d"] {
        mkdir(&mut m, &format!("/dir/{name}"));
    }
    touch(&mut m, "/dir/a/x.csv", b"1");
    touch(&mut m, "/dir/b/y.csv", b"2");
    touch(&mut m, "/dir/b/z.txt", b"3");

    let page =
        |m: &mut Conn, limit: Option<i32>, after: Option<&str>| -> Result<Vec<String>, i32> {
            let reply = m.call(
                RpcCode::ListOptions,
                &ListOptionsRequest {
                    path: "/dir".into(),
                    options: ListOptionsProto {
                        limit,
                        start_after: after.map(String::from),
                    },
                },
            );
            if reply.is_success() {
                let r: ListOptionsResponse = ok(&reply);
                Ok(r.statuses.into_iter().map(|s| s.name).collect())
            } else {
                Err(err(&reply).raw_kind)
            }
        };
    assert_eq!(page(&mut m, Some(2), None).unwrap(), ["a", "b"]);
    assert_eq!(page(&mut m, Some(2), Some("b")).unwrap(), ["c", "d"]);
    assert_eq!(page(&mut m, None, Some("d")).unwrap(), ["e"]);
    assert!(page(&mut m, Some(2), Some("e")).unwrap().is_empty());
    assert_eq!(page(&mut m, Some(-1), None), Err(10000));

    let listed: ListStatusResponse = m.ok(
        RpcCode::ListStatus,
        &ListStatusRequest {
            path: "/dir/*/*.csv".into(),
            need_location: false,
        },
    );
    let paths: Vec<String> = listed.statuses.into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/dir/a/x.csv", "/dir/b/y.csv"]);
    let glob_page = m.call(
        RpcCode::ListOptions,
        &ListOptionsRequest {
            path: "/dir/*".into(),
            options: ListOptionsProto::default(),
        },
    );
    assert_eq!(kind(&glob_page), 10000);
}

#[test]
fn the_mount_table() {
    let mini = Mini::start(&[]);
    let mut m = mini.leader_conn();
    let mount = |m: &mut Conn, cv: &str, ufs: &str, update: bool| {
        m.call(
            RpcCode::Mount,
            &MountRequest {
                cv_path: cv.into(),
                ufs_path: ufs.into(),
                mount_options: MountOptionsProto {
                    update,
                    add_properties: [("k".to_string(), "v".to_string())].into(),
                    replicas: Some(2),
                    ..Default::default()
                },
            },
        )
    };
    assert!(mount(&mut m, "/mnt/s3", "s3://bucket/data", false).is_success());
    assert!(stat(&mut m, "/mnt/s3").is_dir, "the mount point is created");
    assert_eq!(kind(&mount(&mut m, "/mnt/s3", "s3://other", false)), 10000);
    assert_eq!(
        kind(&mount(&mut m, "/mnt/s3/in", "s3://other", false)),
        10000
    );
    assert_eq!(
        kind(&mount(&mut m, "/mnt/x", "s3://bucket/data/sub", false)),
        10000
    );
    assert_eq!(kind(&mount(&mut m, "/mnt/x", "no-scheme", false)), 10000);
    assert_eq!(kind(&mount(&mut m, "/mnt/none", "s3://b2", true)), 10000);
    assert!(mount(&mut m, "/mnt/s3", "", true).is_success());

    let table: GetMountTableResponse = m.ok(RpcCode::GetMountTable, &GetMountTableRequest {});
    assert_eq!(table.mount_table.len(), 1);
    let entry = &table.mount_table[0];
    assert_eq!(
        (entry.cv_path.as_str(), entry.ufs_path.as_str()),
        ("/mnt/s3", "s3://bucket/data")
    );
    assert_eq!(entry.replicas, Some(2));
    assert_eq!(entry.properties.get("k").map(String::as_str), Some("v"));

    let info = |m: &mut Conn, path: &str| {
        let r: GetMountInfoResponse = m.ok(
            RpcCode::GetMountInfo,
            &GetMountInfoRequest { path: path.into() },
        );
        r.mount_info.map(|i| i.cv_path)
    };
    assert_eq!(info(&mut m, "/mnt/s3/a/b").as_deref(), Some("/mnt/s3"));
    assert_eq!(
        info(&mut m, "s3://bucket/data/a").as_deref(),
        Some("/mnt/s3")
    );
    assert_eq!(info(&mut m, "/mnt/s"), None);

    // A mount point cannot be deleted while mounted.
    let del = |m: &mut Conn| {
        m.call(
            RpcCode::Delete,
            &DeleteRequest {
                path: "/mnt/s3".into(),
                recursive: true,
            },
        )
    };
    assert_eq!(kind(&del(&mut m)), 10000);
    let unmount = |m: &mut Conn| {
        m.call(
            RpcCode::UnMount,
            &UnMountRequest {
                cv_path: "/mnt/s3".into(),
            },
        )
    };
    assert!(unmount(&mut m).is_success());
    assert_eq!(kind(&unmount(&mut m)), 10000);
    assert!(del(&mut m).is_success());
}

#[test]
fn retransmissions_are_answered_from_the_retry_cache() {
    let mini = Mini::start(&[]);
    let mut m = mini.leader_conn();
    let same = |code: RpcCode, rid, header: Vec<u8>| {
        Frame::request(code.as_i8(), RequestStatus::Rpc, rid, RPC_SEQ_ID, header)
    };

    // CreateFile: the retry does not fail with "exists".
    let rid = req_id();
    let header = wire::proto::CreateFileRequest {
        path: "/c".into(),
        opts: opts(BLOCK, 1),
        flags: WRONLY_CREAT,
    }
    .encode_to_vec();
    let first: CreateFileResponse =
        ok(&m.round_trip(&same(RpcCode::CreateFile, rid, header.clone())));
    let again: CreateFileResponse =
        ok(&m.round_trip(&same(RpcCode::CreateFile, rid, header.clone())));
    assert_eq!(first.file_status.id, again.file_status.id);
    assert_eq!(
        kind(&m.round_trip(&same(RpcCode::CreateFile, req_id(), header))),
        7
    );

    // Rename: the retry answers true although the source is gone.
    let rid = req_id();
    let header = RenameRequest {
        src: "/c".into(),
        dst: "/c2".into(),
        flags: 0,
    }
    .encode_to_vec();
    let r: RenameResponse = ok(&m.round_trip(&same(RpcCode::Rename, rid, header.clone())));
    assert!(r.result);
    let r: RenameResponse = ok(&m.round_trip(&same(RpcCode::Rename, rid, header.clone())));
    assert!(r.result);
    assert_eq!(
        kind(&m.round_trip(&same(RpcCode::Rename, req_id(), header))),
        8
    );

    // Delete: the retry answers an empty result instead of "not found".
    let rid = req_id();
    let header = DeleteRequest {
        path: "/c2".into(),
        recursive: false,
    }
    .encode_to_vec();
    let d: DeleteResponse = ok(&m.round_trip(&same(RpcCode::Delete, rid, header.clone())));
    assert_eq!(d.res.unwrap().inodes, 1);
    let d: DeleteResponse = ok(&m.round_trip(&same(RpcCode::Delete, rid, header.clone())));
    assert_eq!(d.res.unwrap().inodes, 0);

    // A failed request may be sent again and run again.
    let rid = req_id();
    let header = DeleteRequest {
        path: "/later".into(),
        recursive: false,
    }
    .encode_to_vec();
    assert_eq!(
        kind(&m.round_trip(&same(RpcCode::Delete, rid, header.clone()))),
        8
    );
    mkdir(&mut m, "/later");
    assert!(m
        .round_trip(&same(RpcCode::Delete, rid, header))
        .is_success());

    // SetAttr never records its outcome: a retransmission is "in progress",
    // as on a real master.
    mkdir(&mut m, "/s");
    let rid = req_id();
    let header = SetAttrRequest {
        path: "/s".into(),
        opts: SetAttrOptsProto::default(),
    }
    .encode_to_vec();
    assert!(m
        .round_trip(&same(RpcCode::SetAttr, rid, header.clone()))
        .is_success());
    assert_eq!(
        kind(&m.round_trip(&same(RpcCode::SetAttr, rid, header))),
        18
    );
}

#[test]
fn ctime_and_link_counts_as_a_curvine_master_reports_them() {
    let mini = Mini::start(&[]);
    let mut m = mini.leader_conn();
    mkdir(&mut m, "/d/a");
    mkdir(&mut m, "/d/b");
    touch(&mut m, "/d/f", b"data");

    // Fresh inodes have no ctime; a directory counts its subdirectories.
    let (f, d) = (stat(&mut m, "/d/f"), stat(&mut m, "/d"));
    assert_eq!((f.ctime, d.ctime), (None, None));
    assert_eq!((f.nlink, d.nlink, stat(&mut m, "/d/a").nlink), (1, 4, 2));

    // The first attribute change sets it; the internal attribute that
    // holds it is neither settable nor shown.
    let r: SetAttrResponse = m.ok(
        RpcCode::SetAttr,
        &SetAttrRequest {
            path: "/d/f".into(),
            opts: SetAttrOptsProto {
                mode: Some(0o600),
                add_x_attr: [
                    ("\0curvine.ctime".to_string(), 7i64.to_le_bytes().to_vec()),
                    ("user.k".to_string(), b"v".to_vec()),
                ]
                .into(),
                ..Default::default()
            },
        },
    );
    let ctime = r.status.ctime.expect("a ctime after SetAttr");
    assert!(ctime >= f.mtime, "{ctime} < {}", f.mtime);
    let f = stat(&mut m, "/d/f");
    assert_eq!(f.ctime, Some(ctime));
    assert_eq!(f.x_attr.keys().collect::<Vec<_>>(), ["user.k"]);

    // A rename sets the moved inode's ctime, not its parents'.
    assert_eq!(rename(&mut m, "/d/a", "/d/b/a", 0), Ok(true));
    assert!(stat(&mut m, "/d/b/a").ctime.is_some());
    let (d, b) = (stat(&mut m, "/d"), stat(&mut m, "/d/b"));
    assert_eq!((d.ctime, b.ctime), (None, None));
    assert_eq!((d.nlink, b.nlink), (3, 3));
}
