//! A forked child reads with its parent's client and reader without
//! touching the parent's sockets. Alone in its own test binary, so no other
//! test thread is running at the fork.

mod mini;

use std::sync::Arc;

use client::{Client, ClientConf, FileReader, FileWriter, WriteOptions};
use mini::Mini;

#[test]
fn a_forked_child_reads_on_its_own_sockets() {
    let mini = Mini::start(&["--workers", "1"]);
    let mut conf = ClientConf::default();
    conf.set("master_addrs", &mini.masters).unwrap();
    conf.set("block_size", "16KB").unwrap();
    conf.set("read_chunk_size", "4KB").unwrap();
    conf.set("short_circuit", "false").unwrap();
    let c = Arc::new(Client::new(conf).unwrap());

    let mut data = vec![0u8; 100_000];
    getrandom::fill(&mut data).unwrap();
    let mut w = FileWriter::open(c.clone(), "/forked", &WriteOptions::default()).unwrap();
    w.write(&data).unwrap();
    w.close().unwrap();
    let mut pending = FileWriter::open(c.clone(), "/pending", &WriteOptions::default()).unwrap();
    pending.write(b"parent's bytes").unwrap();

    // The parent has a stream open in the middle of a block.
    let mut r = FileReader::open(c.clone(), "/forked").unwrap();
    let mut buf = vec![0u8; 1000];
    assert_eq!(r.pread(0, &mut buf).unwrap(), 1000);

    // SAFETY: this test binary runs this one test; the child only calls the
    // client and then _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let mut ok = true;
        let mut got = vec![0u8; data.len()];
        ok &= r.pread(0, &mut got).ok() == Some(data.len()) && got == data;
        ok &= c.stat("/forked").map(|s| s.len as usize) == Ok(data.len());
        ok &= pending.write(b"child's bytes").is_err();
        ok &= read_all(&c, "/forked") == data;
        drop(pending);
        drop(r);
        // SAFETY: ends the child without running the parent's atexit work.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: {status}"
    );

    // The parent's stream and writer carry on as if nothing happened.
    let mut rest = vec![0u8; data.len() - 1000];
    assert_eq!(r.pread(1000, &mut rest).unwrap(), rest.len());
    assert_eq!(rest, data[1000..]);
    pending.write(b" and more").unwrap();
    pending.close().unwrap();
    assert_eq!(read_all(&c, "/pending"), b"parent's bytes and more");
}

fn read_all(c: &Arc<Client>, path: &str) -> Vec<u8> {
    let Ok(mut r) = FileReader::open(c.clone(), path) else {
        return Vec::new();
    };
    let mut out = vec![0u8; r.len() as usize];
    match r.pread(0, &mut out) {
        Ok(n) if n == out.len() => out,
        _ => Vec::new(),
    }
}
