//! Readers and writers through the C entry points, against the mini
//! cluster.

#[path = "../../client/tests/mini/mod.rs"]
mod mini;

use std::ffi::{CStr, CString};
use std::ptr;

use curvine::io::*;
use curvine::meta::{cv_delete, cv_list_page, cv_rename};
use curvine::status::*;
use curvine::*;
use mini::Mini;

struct Handle(*mut cv_client);

impl Drop for Handle {
    fn drop(&mut self) {
        unsafe { cv_client_free(self.0) };
    }
}

fn connect(mini: &Mini, short_circuit: bool) -> Handle {
    let config = cv_config_new();
    for (k, v) in [
        ("master_addrs", mini.masters.as_str()),
        ("block_size", "16KB"),
        ("read_chunk_size", "4KB"),
        ("write_chunk_size", "4KB"),
        (
            "short_circuit",
            if short_circuit { "true" } else { "false" },
        ),
        ("hostname", "localhost"),
    ] {
        let (k, v) = (CString::new(k).unwrap(), CString::new(v).unwrap());
        assert_eq!(
            unsafe { cv_config_set(config, k.as_ptr(), v.as_ptr()) },
            CV_OK
        );
    }
    let mut client = ptr::null_mut();
    assert_eq!(unsafe { cv_client_new(config, &mut client) }, CV_OK);
    unsafe { cv_config_free(config) };
    Handle(client)
}

fn message() -> String {
    unsafe { CStr::from_ptr(cv_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn write_then_read_through_the_abi() {
    let mini = Mini::start(&["--workers", "1"]);
    for sc in [false, true] {
        let h = connect(&mini, sc);
        let path = CString::new(format!("/abi{sc}")).unwrap();
        let mut data = vec![0u8; 40_000];
        getrandom::fill(&mut data).unwrap();

        let mut w = ptr::null_mut();
        assert_eq!(
            unsafe { cv_writer_open(h.0, path.as_ptr(), 0, 0, 0, &mut w) },
            CV_OK
        );
        for piece in data.chunks(9999) {
            assert_eq!(
                unsafe { cv_writer_write(w, piece.as_ptr(), piece.len()) },
                CV_OK
            );
        }
        assert_eq!(unsafe { cv_writer_pos(w) }, data.len() as i64);
        assert_eq!(unsafe { cv_writer_close(w) }, CV_OK);

        let mut w = ptr::null_mut();
        assert_eq!(
            unsafe { cv_writer_open(h.0, path.as_ptr(), 0, 0, 0, &mut w) },
            CV_KIND_FILE_ALREADY_EXISTS
        );
        assert!(w.is_null());
        assert!(message().contains(&format!("/abi{sc}")), "{}", message());

        let mut r = ptr::null_mut();
        assert_eq!(unsafe { cv_reader_open(h.0, path.as_ptr(), &mut r) }, CV_OK);
        assert_eq!(unsafe { cv_reader_len(r) }, data.len() as i64);
        let mut out = vec![0u8; data.len() + 100];
        let mut n = 0usize;
        assert_eq!(
            unsafe { cv_reader_pread(r, 0, out.as_mut_ptr(), out.len(), &mut n) },
            CV_OK
        );
        assert_eq!(&out[..n], &data[..]);
        assert_eq!(
            unsafe { cv_reader_pread(r, 12_345, out.as_mut_ptr(), 7, &mut n) },
            CV_OK
        );
        assert_eq!(&out[..n], &data[12_345..12_352]);
        for past in [data.len() as i64, data.len() as i64 + 1, i64::MAX] {
            n = 99;
            assert_eq!(
                unsafe { cv_reader_pread(r, past, out.as_mut_ptr(), 10, &mut n) },
                CV_OK
            );
            assert_eq!(n, 0);
        }
        assert_eq!(
            unsafe { cv_reader_pread(r, -1, out.as_mut_ptr(), 10, &mut n) },
            CV_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            unsafe { cv_reader_pread(r, 0, ptr::null_mut(), 10, &mut n) },
            CV_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            unsafe { cv_reader_pread(r, 0, ptr::null_mut(), 0, &mut n) },
            CV_OK
        );
        unsafe { cv_reader_close(r) };

        // Append, then overwrite.
        let mut w = ptr::null_mut();
        assert_eq!(
            unsafe { cv_writer_open(h.0, path.as_ptr(), CV_WRITE_APPEND, 0, 0, &mut w) },
            CV_OK
        );
        assert_eq!(unsafe { cv_writer_pos(w) }, data.len() as i64);
        assert_eq!(unsafe { cv_writer_write(w, b"tail".as_ptr(), 4) }, CV_OK);
        assert_eq!(unsafe { cv_writer_close(w) }, CV_OK);
        let mut st = ptr::null_mut();
        assert_eq!(unsafe { cv_stat(h.0, path.as_ptr(), &mut st) }, CV_OK);
        assert_eq!(unsafe { (*st).len }, data.len() as i64 + 4);
        unsafe { cv_file_status_free(st) };

        let mut w = ptr::null_mut();
        assert_eq!(
            unsafe { cv_writer_open(h.0, path.as_ptr(), CV_WRITE_OVERWRITE, 0, 0, &mut w) },
            CV_OK
        );
        unsafe { cv_writer_abort(w) };
        let mut st = ptr::null_mut();
        assert_eq!(unsafe { cv_stat(h.0, path.as_ptr(), &mut st) }, CV_OK);
        assert!(!unsafe { (*st).is_complete });
        unsafe { cv_file_status_free(st) };
    }
}

#[test]
fn bad_writer_arguments_are_refused() {
    let mini = Mini::start(&["--workers", "1"]);
    let h = connect(&mini, false);
    let path = CString::new("/bad").unwrap();
    let mut w = ptr::null_mut();
    for (flags, bs, reps) in [
        (CV_WRITE_OVERWRITE | CV_WRITE_APPEND, 0, 0),
        (64, 0, 0),
        (0, -1, 0),
        (0, 0, -3),
        (0, 1 << 32, 0),
        (0, 0, 100),
    ] {
        assert_eq!(
            unsafe { cv_writer_open(h.0, path.as_ptr(), flags, bs, reps, &mut w) },
            CV_ERR_INVALID_ARGUMENT,
            "{flags} {bs} {reps}"
        );
    }
    assert_eq!(
        unsafe { cv_writer_close(ptr::null_mut()) },
        CV_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { cv_writer_write(ptr::null_mut(), b"x".as_ptr(), 1) },
        CV_ERR_INVALID_ARGUMENT
    );
    assert_eq!(unsafe { cv_reader_len(ptr::null()) }, -1);
    unsafe { cv_reader_close(ptr::null_mut()) };
    unsafe { cv_writer_abort(ptr::null_mut()) };
}

#[test]
fn metadata_through_the_abi() {
    let mini = Mini::start(&["--workers", "1"]);
    let h = connect(&mini, false);
    let c = |s: &str| CString::new(s).unwrap();
    assert_eq!(
        unsafe { cv_mkdir(h.0, c("/m").as_ptr(), false, 0o755) },
        CV_OK
    );
    for i in 0..5 {
        let mut w = ptr::null_mut();
        let p = c(&format!("/m/f{i}"));
        assert_eq!(
            unsafe { cv_writer_open(h.0, p.as_ptr(), 0, 0, 0, &mut w) },
            CV_OK
        );
        assert_eq!(unsafe { cv_writer_close(w) }, CV_OK);
    }
    let mut names = Vec::new();
    let mut after = CString::default();
    loop {
        let mut list = ptr::null_mut();
        assert_eq!(
            unsafe { cv_list_page(h.0, c("/m").as_ptr(), after.as_ptr(), 2, &mut list) },
            CV_OK
        );
        let l = unsafe { &*list };
        let items = if l.len == 0 {
            &[][..]
        } else {
            unsafe { std::slice::from_raw_parts(l.items, l.len) }
        };
        let page: Vec<String> = items
            .iter()
            .map(|i| {
                unsafe { CStr::from_ptr(i.name) }
                    .to_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        unsafe { cv_status_list_free(list) };
        if page.is_empty() {
            break;
        }
        after = c(page.last().unwrap());
        names.extend(page);
    }
    assert_eq!(names, ["f0", "f1", "f2", "f3", "f4"]);

    assert_eq!(
        unsafe { cv_rename(h.0, c("/m/f0").as_ptr(), c("/m/g").as_ptr(), 0) },
        CV_OK
    );
    assert_eq!(
        unsafe {
            cv_rename(
                h.0,
                c("/m/f1").as_ptr(),
                c("/m/f2").as_ptr(),
                meta::CV_RENAME_NO_REPLACE,
            )
        },
        CV_KIND_FILE_ALREADY_EXISTS
    );
    assert_eq!(
        unsafe { meta::cv_set_mode(h.0, c("/m/g").as_ptr(), 0o640, false) },
        CV_OK
    );
    assert_eq!(
        unsafe {
            meta::cv_set_owner(
                h.0,
                c("/m/g").as_ptr(),
                c("bob").as_ptr(),
                ptr::null(),
                false,
            )
        },
        CV_OK
    );
    assert_eq!(
        unsafe { meta::cv_set_times(h.0, c("/m/g").as_ptr(), -1, 1234) },
        CV_OK
    );
    let mut st = ptr::null_mut();
    assert_eq!(unsafe { cv_stat(h.0, c("/m/g").as_ptr(), &mut st) }, CV_OK);
    let s = unsafe { &*st };
    assert_eq!(s.mode & 0o777, 0o640);
    assert_eq!(unsafe { CStr::from_ptr(s.owner) }.to_str().unwrap(), "bob");
    assert_eq!(s.mtime_ms, 1234);
    unsafe { cv_file_status_free(st) };

    assert_eq!(
        unsafe { meta::cv_symlink(h.0, c("/m/g").as_ptr(), c("/m/l").as_ptr(), false) },
        CV_OK
    );
    assert_eq!(
        unsafe { cv_delete(h.0, c("/m").as_ptr(), false) },
        CV_KIND_DIR_NOT_EMPTY
    );
    assert_eq!(unsafe { cv_delete(h.0, c("/m").as_ptr(), true) }, CV_OK);
    let mut exists = true;
    assert_eq!(
        unsafe { cv_exists(h.0, c("/m").as_ptr(), &mut exists) },
        CV_OK
    );
    assert!(!exists);

    let mut table = ptr::null_mut();
    assert_eq!(unsafe { meta::cv_mount_table(h.0, &mut table) }, CV_OK);
    assert_eq!(unsafe { (*table).len }, 0);
    unsafe { meta::cv_mount_list_free(table) };
}

#[test]
fn attributes_the_master_ignores_are_not_silent() {
    let mini = Mini::start(&["--workers", "1"]);
    let h = connect(&mini, false);
    let c = |s: &str| CString::new(s).unwrap();
    assert_eq!(
        unsafe { cv_mkdir(h.0, c("/r").as_ptr(), false, 0o755) },
        CV_OK
    );
    let mut w = ptr::null_mut();
    assert_eq!(
        unsafe { cv_writer_open(h.0, c("/r/f").as_ptr(), 0, 0, 0, &mut w) },
        CV_OK
    );
    assert_eq!(unsafe { cv_writer_close(w) }, CV_OK);

    // The master answers SetAttr replicas and keeps the old count.
    assert_eq!(
        unsafe { meta::cv_set_replicas(h.0, c("/r/f").as_ptr(), 2, false) },
        CV_ERR_UNSUPPORTED
    );
    assert!(message().contains("did not apply"), "{}", message());
    assert_eq!(
        unsafe { meta::cv_set_replicas(h.0, c("/r").as_ptr(), 2, true) },
        CV_ERR_UNSUPPORTED
    );
    assert!(message().contains("/r/f"), "{}", message());

    // The master accepts a forced symlink over a link and keeps the old
    // target; the client replaces the link itself.
    let link = |target: &str, force| unsafe {
        meta::cv_symlink(h.0, c(target).as_ptr(), c("/r/l").as_ptr(), force)
    };
    assert_eq!(link("/first", false), CV_OK);
    assert_eq!(link("/second", true), CV_OK);
    let mut st = ptr::null_mut();
    assert_eq!(unsafe { cv_stat(h.0, c("/r/l").as_ptr(), &mut st) }, CV_OK);
    let target = unsafe { CStr::from_ptr((*st).target) }
        .to_str()
        .unwrap()
        .to_string();
    unsafe { cv_file_status_free(st) };
    assert_eq!(target, "/second");
    assert_eq!(
        unsafe { meta::cv_symlink(h.0, c("/x").as_ptr(), c("/r/f").as_ptr(), true) },
        CV_KIND_FILE_ALREADY_EXISTS
    );
}
