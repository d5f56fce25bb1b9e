//! Writing and reading files through the mini cluster's workers, remote and
//! short-circuit, with the metadata calls around them.

mod mini;

use std::sync::Arc;

use client::{Client, ClientConf, Code, FileReader, FileWriter, WriteOptions};
use mini::Mini;
use wire::ErrorKind;

const BLOCK: usize = 16 * 1024;
const CHUNK: usize = 4 * 1024;

fn client(mini: &Mini, short_circuit: bool) -> Arc<Client> {
    let mut conf = ClientConf::default();
    conf.set("master_addrs", &mini.masters).unwrap();
    conf.set("rpc_retry_max_duration_ms", "10s").unwrap();
    conf.set("block_size", &BLOCK.to_string()).unwrap();
    conf.set("read_chunk_size", &CHUNK.to_string()).unwrap();
    conf.set("write_chunk_size", &CHUNK.to_string()).unwrap();
    conf.set("short_circuit", &short_circuit.to_string())
        .unwrap();
    // The mini cluster's workers call themselves localhost.
    conf.set("hostname", "localhost").unwrap();
    Arc::new(Client::new(conf).unwrap())
}

fn random(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    getrandom::fill(&mut v).unwrap();
    v
}

fn write(c: &Arc<Client>, path: &str, data: &[u8], options: &WriteOptions) -> usize {
    let mut w = FileWriter::open(c.clone(), path, options).unwrap();
    let start = w.pos() as usize;
    // Uneven pieces cross chunk and block boundaries at odd places.
    for piece in data.chunks(5000) {
        w.write(piece).unwrap();
    }
    assert_eq!(w.pos() as usize, start + data.len());
    let local = w.local_replicas();
    w.close().unwrap();
    local
}

fn read_all(c: &Arc<Client>, path: &str) -> Vec<u8> {
    let mut r = FileReader::open(c.clone(), path).unwrap();
    let mut out = vec![0u8; r.len() as usize];
    let n = r.pread(0, &mut out).unwrap();
    assert_eq!(n, out.len());
    out
}

fn sizes() -> Vec<usize> {
    vec![
        0,
        1,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        BLOCK - 1,
        BLOCK,
        BLOCK + 1,
        3 * BLOCK + 17,
    ]
}

fn round_trips(short_circuit: bool) {
    let mini = Mini::start(&["--workers", "1"]);
    let c = client(&mini, short_circuit);
    c.mkdir("/rt", true, 0o755).unwrap();
    for size in sizes() {
        let path = format!("/rt/f{size}");
        let data = random(size);
        let local = write(&c, &path, &data, &WriteOptions::default());
        let blocks = size.div_ceil(BLOCK);
        assert_eq!(local, if short_circuit { blocks } else { 0 }, "size {size}");
        let st = c.stat(&path).unwrap();
        assert_eq!(st.len as usize, size);
        assert!(st.is_complete);
        assert_eq!(read_all(&c, &path), data, "size {size}");

        // Positional reads at awkward offsets, in an awkward order.
        let mut r = FileReader::open(c.clone(), &path).unwrap();
        for (off, len) in [
            (size / 2, 3000),
            (0, 1),
            (size.saturating_sub(7), 100),
            (size / 3, BLOCK + 5),
        ] {
            let mut buf = vec![0u8; len];
            let n = r.pread(off as u64, &mut buf).unwrap();
            let end = (off + len).min(size);
            let want = if off >= size {
                &[][..]
            } else {
                &data[off..end]
            };
            assert_eq!(&buf[..n], want, "size {size} off {off} len {len}");
        }
        // At and past the end: nothing, and no error.
        let mut buf = [0u8; 10];
        if size > 0 {
            assert_eq!(r.local_blocks() > 0, short_circuit, "size {size}");
        }
        assert_eq!(r.pread(size as u64, &mut buf).unwrap(), 0);
        assert_eq!(r.pread(size as u64 + 1000, &mut buf).unwrap(), 0);
    }
}

#[test]
fn round_trips_remote() {
    round_trips(false);
}

#[test]
fn round_trips_short_circuit() {
    round_trips(true);
}

#[test]
fn small_sequential_reads_continue_one_stream() {
    let mini = Mini::start(&["--workers", "1"]);
    let c = client(&mini, false);
    let data = random(2 * BLOCK + 333);
    write(&c, "/seq", &data, &WriteOptions::default());
    let mut r = FileReader::open(c.clone(), "/seq").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 777];
    loop {
        let n = r.pread(got.len() as u64, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, data);
}

#[test]
fn overwrite_append_and_exclusive_create() {
    let mini = Mini::start(&["--workers", "1"]);
    for sc in [false, true] {
        let c = client(&mini, sc);
        let path = format!("/oa{sc}");
        let first = random(BLOCK + 100);
        write(&c, &path, &first, &WriteOptions::default());

        let e = FileWriter::open(c.clone(), &path, &WriteOptions::default())
            .err()
            .unwrap();
        assert_eq!(
            e.code,
            Code::Server(ErrorKind::FileAlreadyExists as i32),
            "{e}"
        );

        // Append to a partly filled last block, then to a full one.
        let more = random(BLOCK);
        let append = WriteOptions {
            append: true,
            ..Default::default()
        };
        write(&c, &path, &more, &append);
        let mut expected = [first.clone(), more].concat();
        assert_eq!(read_all(&c, &path), expected);
        let tail = random(BLOCK - 100 + 5);
        {
            let mut w = FileWriter::open(c.clone(), &path, &append).unwrap();
            assert_eq!(w.pos() as usize, expected.len());
            w.write(&tail).unwrap();
            w.close().unwrap();
        }
        expected.extend_from_slice(&tail);
        assert_eq!(read_all(&c, &path), expected);

        let replaced = random(10);
        let overwrite = WriteOptions {
            overwrite: true,
            ..Default::default()
        };
        write(&c, &path, &replaced, &overwrite);
        assert_eq!(read_all(&c, &path), replaced);

        // Append creates a missing file.
        let fresh = format!("/fresh{sc}");
        write(&c, &fresh, b"abc", &append);
        assert_eq!(read_all(&c, &fresh), b"abc");
    }
}

#[test]
fn a_dead_worker_is_replaced_by_another_replica() {
    let mut mini = Mini::start(&["--workers", "2"]);
    let c = client(&mini, false);
    let data = random(2 * BLOCK + 1);
    let two = WriteOptions {
        replicas: Some(2),
        ..Default::default()
    };
    write(&c, "/two", &data, &two);
    assert_eq!(c.stat("/two").unwrap().replicas, 2);
    mini.command("stop-worker 0");
    for _ in 0..3 {
        assert_eq!(read_all(&c, "/two"), data);
    }
    mini.command("stop-worker 1");
    let mut r = FileReader::open(c.clone(), "/two").unwrap();
    let mut buf = [0u8; 10];
    let e = r.pread(0, &mut buf).unwrap_err();
    assert!(e.message.contains("any replica"), "{e}");
    assert!(
        e.message.contains(&mini.workers[0]) && e.message.contains(&mini.workers[1]),
        "{e}"
    );
}

#[test]
fn a_failed_write_never_completes_the_file() {
    let mut mini = Mini::start(&["--workers", "1"]);
    let c = client(&mini, false);
    let mut w = FileWriter::open(c.clone(), "/broken", &WriteOptions::default()).unwrap();
    w.write(&random(BLOCK + 10)).unwrap();
    mini.command("stop-worker 0");
    let mut failed = None;
    for _ in 0..8 {
        if let Err(e) = w.write(&random(BLOCK)) {
            failed = Some(e);
            break;
        }
    }
    let e = failed.expect("writing to a stopped worker fails");
    assert!(e.path.as_deref() == Some("/broken"), "{e}");
    // Every later call fails the same way; close does not complete.
    assert_eq!(w.write(b"x").unwrap_err(), e);
    assert!(w.close().is_err());
    assert!(!c.stat("/broken").unwrap().is_complete);
}

#[test]
fn an_aborted_writer_leaves_the_file_incomplete() {
    let mini = Mini::start(&["--workers", "1"]);
    let c = client(&mini, false);
    let mut w = FileWriter::open(c.clone(), "/aborted", &WriteOptions::default()).unwrap();
    w.write(&random(100)).unwrap();
    w.abort();
    assert!(!c.stat("/aborted").unwrap().is_complete);
}

#[test]
fn posix_errors_for_paths() {
    let mini = Mini::start(&["--workers", "1"]);
    let c = client(&mini, false);
    c.mkdir("/d", false, 0o755).unwrap();
    write(&c, "/d/f", b"x", &WriteOptions::default());
    let kind = |e: client::Error| e.code;

    assert_eq!(
        kind(FileReader::open(c.clone(), "/d").err().unwrap()),
        Code::Server(ErrorKind::IsADirectory as i32)
    );
    assert_eq!(
        kind(FileReader::open(c.clone(), "/nope").err().unwrap()),
        Code::Server(ErrorKind::FileNotFound as i32)
    );
    assert_eq!(
        kind(
            FileWriter::open(
                c.clone(),
                "/d",
                &WriteOptions {
                    overwrite: true,
                    ..Default::default()
                }
            )
            .err()
            .unwrap()
        ),
        Code::Server(ErrorKind::IsADirectory as i32)
    );
    assert_eq!(
        kind(
            FileWriter::open(c.clone(), "/missing/f", &WriteOptions::default())
                .err()
                .unwrap()
        ),
        Code::Server(ErrorKind::FileNotFound as i32)
    );
    assert_eq!(
        kind(
            FileWriter::open(c.clone(), "/d/f/g", &WriteOptions::default())
                .err()
                .unwrap()
        ),
        Code::Server(ErrorKind::NotADirectory as i32)
    );
    let parents = WriteOptions {
        create_parent: true,
        ..Default::default()
    };
    write(&c, "/made/for/me", b"y", &parents);
    assert!(c.stat("/made/for").unwrap().is_dir);
    assert_eq!(
        kind(c.mkdir("/missing/dir", false, 0o755).unwrap_err()),
        Code::Server(ErrorKind::FileNotFound as i32)
    );
    assert_eq!(
        kind(c.delete("/d", false).unwrap_err()),
        Code::Server(ErrorKind::DirNotEmpty as i32)
    );
    assert_eq!(
        kind(c.delete("/gone", false).unwrap_err()),
        Code::Server(ErrorKind::FileNotFound as i32)
    );
    assert_eq!(
        kind(c.rename("/gone", "/x", 0).unwrap_err()),
        Code::Server(ErrorKind::FileNotFound as i32)
    );
    let e = c.rename("/d/f", "/nowhere/f", 0).unwrap_err();
    assert_eq!(e.code, Code::Server(ErrorKind::FileNotFound as i32), "{e}");
    c.delete("/d", true).unwrap();
    assert!(!c.exists("/d").unwrap());
}

#[test]
fn metadata_rename_attrs_symlink_paging() {
    let mini = Mini::start(&["--workers", "1"]);
    let c = client(&mini, false);
    c.mkdir("/m", false, 0o755).unwrap();
    for i in 0..25 {
        write(&c, &format!("/m/f{i:02}"), b"z", &WriteOptions::default());
    }
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = c.list_page("/m", after.as_deref(), 10).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        after = page.last().map(|s| s.name.clone());
        names.extend(page.into_iter().map(|s| s.name));
    }
    let expected: Vec<String> = (0..25).map(|i| format!("f{i:02}")).collect();
    assert_eq!(names, expected);

    assert!(c.rename("/m/f00", "/m/g00", 0).unwrap());
    assert!(!c.exists("/m/f00").unwrap());
    assert_eq!(
        c.rename("/m/f01", "/m/f02", 1).unwrap_err().code,
        Code::Server(ErrorKind::FileAlreadyExists as i32)
    );

    let st = c
        .set_attr(
            "/m/g00",
            wire::proto::SetAttrOptsProto {
                mode: Some(0o600),
                owner: Some("alice".into()),
                group: Some("staff".into()),
                mtime: Some(1_600_000_000_000),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        (st.mode & 0o777, st.owner.as_str(), st.group.as_str()),
        (0o600, "alice", "staff")
    );
    let st = c.stat("/m/g00").unwrap();
    assert_eq!(st.mtime, 1_600_000_000_000);

    c.symlink("/m/g00", "/m/link", false).unwrap();
    let st = c.stat("/m/link").unwrap();
    assert_eq!(st.target.as_deref(), Some("/m/g00"));

    assert!(c.mount_table().unwrap().is_empty());
}

#[test]
fn short_circuit_needs_the_same_host_name() {
    let mini = Mini::start(&["--workers", "1", "--worker-hostname", "worker-elsewhere"]);
    let c = client(&mini, true);
    let data = random(BLOCK + 3);
    assert_eq!(write(&c, "/far", &data, &WriteOptions::default()), 0);
    let mut r = FileReader::open(c.clone(), "/far").unwrap();
    let mut out = vec![0u8; data.len()];
    assert_eq!(r.pread(0, &mut out).unwrap(), data.len());
    assert_eq!(out, data);
    assert_eq!(r.local_blocks(), 0);
}

#[test]
fn block_paths_out_of_reach_are_read_and_written_over_the_stream() {
    // The worker names block files in a directory this host does not have,
    // like a worker whose data directory is in another mount namespace.
    let hidden = std::env::temp_dir().join(format!("curvine-unseen-{}", random_name()));
    let hidden = hidden.display().to_string();
    let mini = Mini::start(&["--workers", "1", "--block-path-root", &hidden]);
    let c = client(&mini, true);
    for size in sizes() {
        let path = format!("/unseen{size}");
        let data = random(size);
        assert_eq!(write(&c, &path, &data, &WriteOptions::default()), 0);
        assert_eq!(read_all(&c, &path), data, "size {size}");

        let mut r = FileReader::open(c.clone(), &path).unwrap();
        for off in [size / 2, 0, size.saturating_sub(3)] {
            let mut buf = vec![0u8; BLOCK + 9];
            let n = r.pread(off as u64, &mut buf).unwrap();
            assert_eq!(&buf[..n], &data[off.min(size)..(off + BLOCK + 9).min(size)]);
        }
        assert_eq!(r.local_blocks(), 0);
    }
    assert!(!std::path::Path::new(&hidden).exists());
}

fn random_name() -> String {
    random(8).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_file_being_written_reads_as_its_committed_blocks() {
    let mini = Mini::start(&["--workers", "1"]);
    let writer = client(&mini, false);
    let reader = client(&mini, false);
    let data = random(2 * BLOCK + 100);

    // One block in: it is allocated but not committed yet.
    let mut w = FileWriter::open(writer.clone(), "/growing", &WriteOptions::default()).unwrap();
    w.write(&data[..BLOCK / 2]).unwrap();
    assert_eq!(reader.stat("/growing").unwrap().len, 0);
    assert_eq!(read_all(&reader, "/growing"), b"");

    // Two blocks committed (by the AddBlock of the third), the third open.
    w.write(&data[BLOCK / 2..]).unwrap();
    let st = reader.stat("/growing").unwrap();
    assert!(!st.is_complete);
    assert_eq!(st.len as usize, 2 * BLOCK);
    assert_eq!(read_all(&reader, "/growing"), &data[..2 * BLOCK]);

    w.close().unwrap();
    assert_eq!(read_all(&reader, "/growing"), data);
}

#[test]
fn one_client_serves_many_threads() {
    let mini = Mini::start(&["--workers", "2"]);
    for sc in [false, true] {
        let c = client(&mini, sc);
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let c = c.clone();
                std::thread::spawn(move || {
                    let path = format!("/t{sc}{i}");
                    let data = random(2 * BLOCK + i * 1000);
                    write(&c, &path, &data, &WriteOptions::default());
                    for _ in 0..3 {
                        assert_eq!(read_all(&c, &path), data);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}

#[test]
fn mounts_come_and_go() {
    let mini = Mini::start(&["--workers", "1"]);
    let c = client(&mini, false);
    let options = wire::proto::MountOptionsProto {
        add_properties: [("s3.endpoint".to_string(), "http://minio:9000".to_string())].into(),
        access_mode: Some(wire::proto::AccessModeProto::ReadWrite as i32),
        ..Default::default()
    };
    c.mount("/lake", "s3://bucket/prefix", options).unwrap();
    let table = c.mount_table().unwrap();
    assert_eq!(table.len(), 1);
    assert_eq!(
        (table[0].cv_path.as_str(), table[0].ufs_path.as_str()),
        ("/lake", "s3://bucket/prefix")
    );
    assert_eq!(
        table[0].properties.get("s3.endpoint").map(String::as_str),
        Some("http://minio:9000")
    );
    assert_eq!(
        c.mount("/lake2", "not-a-uri", Default::default())
            .unwrap_err()
            .code,
        Code::InvalidArgument
    );
    c.unmount("/lake").unwrap();
    assert!(c.mount_table().unwrap().is_empty());
}

#[test]
fn two_replicas_one_local_one_dead() {
    let mut mini = Mini::start(&["--workers", "2"]);
    let c = client(&mini, true);
    let data = random(3 * BLOCK + 5);
    let two = WriteOptions {
        replicas: Some(2),
        ..Default::default()
    };
    // Both workers share this host name, so both replicas are written
    // through their block files.
    assert_eq!(write(&c, "/both", &data, &two), 2 * 4);
    assert_eq!(read_all(&c, "/both"), data);
    mini.command("stop-worker 1");
    assert_eq!(read_all(&c, "/both"), data);
}
