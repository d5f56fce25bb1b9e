//! File readers and writers at the C boundary: one blocking call per read
//! or write, data straight between the caller's buffer and the socket or
//! block file.

use std::ffi::c_char;
use std::sync::{Mutex, MutexGuard};

use client::{Error, FileReader, FileWriter, WriteOptions};

use crate::status::{borrow_str, guard, guard_void, out_ptr};
use crate::{client_arc, cv_client};

/// cv_writer_open: replace an existing file instead of failing.
pub const CV_WRITE_OVERWRITE: u32 = 1;
/// cv_writer_open: add to the end of the file, creating it if missing.
pub const CV_WRITE_APPEND: u32 = 2;
/// cv_writer_open: create missing parent directories.
pub const CV_WRITE_CREATE_PARENT: u32 = 4;

/// An open file for positional reads. Calls on one reader from several
/// threads are serialized.
pub struct cv_reader {
    reader: Mutex<FileReader>,
    len: u64,
}

/// A file being written. Not for use from several threads at once.
pub struct cv_writer {
    writer: Mutex<FileWriter>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens a file for reading: asks the master where its blocks are. The
/// length is fixed at open.
#[no_mangle]
pub unsafe extern "C" fn cv_reader_open(
    client: *mut cv_client,
    path: *const c_char,
    out: *mut *mut cv_reader,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; `path` NUL-terminated (contract).
        let (client, path) = unsafe { (client_arc(client)?, borrow_str(path, "path")?) };
        out_ptr(out, "out")?;
        let reader = FileReader::open(client, path)?;
        let len = reader.len();
        let handle = Box::into_raw(Box::new(cv_reader {
            reader: Mutex::new(reader),
            len,
        }));
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { *out = handle };
        Ok(())
    })
}

/// The file's length in bytes (-1 for a NULL reader).
#[no_mangle]
pub unsafe extern "C" fn cv_reader_len(reader: *const cv_reader) -> i64 {
    if reader.is_null() {
        return -1;
    }
    // SAFETY: non-NULL and live (contract); `len` is never written after
    // creation.
    unsafe { &*reader }.len as i64
}

/// Reads up to `len` bytes at `offset` into `buf` and sets `*nread`. Fewer
/// bytes only at the end of the file; 0 at or past it, never an error.
#[no_mangle]
pub unsafe extern "C" fn cv_reader_pread(
    reader: *mut cv_reader,
    offset: i64,
    buf: *mut u8,
    len: usize,
    nread: *mut usize,
) -> i32 {
    guard(|| {
        out_ptr(reader, "reader")?;
        out_ptr(nread, "nread")?;
        if offset < 0 {
            return Err(Error::invalid(format!("negative read offset {offset}")));
        }
        if len > 0 {
            out_ptr(buf, "buf")?;
        }
        let dest: &mut [u8] = if len == 0 {
            &mut []
        } else {
            // SAFETY: `buf` is non-NULL and the caller promises `len`
            // writable bytes that nothing else touches during the call.
            unsafe { std::slice::from_raw_parts_mut(buf, len) }
        };
        // SAFETY: non-NULL and live (contract).
        let reader = unsafe { &*reader };
        let n = lock(&reader.reader).pread(offset as u64, dest)?;
        // SAFETY: `nread` is non-NULL and writable (contract).
        unsafe { *nread = n };
        Ok(())
    })
}

/// Ends the reader's streams and frees it; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cv_reader_close(reader: *mut cv_reader) {
    guard_void(|| {
        if !reader.is_null() {
            // SAFETY: made by cv_reader_open and not freed yet (contract).
            drop(unsafe { Box::from_raw(reader) });
        }
    })
}

/// Opens a file for writing. `flags` is a mix of CV_WRITE_*; with none, an
/// existing file is an error (CV_KIND_FILE_ALREADY_EXISTS). `block_size`
/// and `replicas` of 0 take the configured defaults; they apply to new
/// files only.
#[no_mangle]
pub unsafe extern "C" fn cv_writer_open(
    client: *mut cv_client,
    path: *const c_char,
    flags: u32,
    block_size: i64,
    replicas: i32,
    out: *mut *mut cv_writer,
) -> i32 {
    guard(|| {
        // SAFETY: a live handle or NULL; `path` NUL-terminated (contract).
        let (client, path) = unsafe { (client_arc(client)?, borrow_str(path, "path")?) };
        out_ptr(out, "out")?;
        let known = CV_WRITE_OVERWRITE | CV_WRITE_APPEND | CV_WRITE_CREATE_PARENT;
        if flags & !known != 0 {
            return Err(Error::invalid(format!(
                "unknown writer flags {:#x} (known: CV_WRITE_OVERWRITE, CV_WRITE_APPEND, CV_WRITE_CREATE_PARENT)",
                flags & !known
            )));
        }
        if flags & CV_WRITE_OVERWRITE != 0 && flags & CV_WRITE_APPEND != 0 {
            return Err(Error::invalid(
                "CV_WRITE_OVERWRITE and CV_WRITE_APPEND exclude each other",
            ));
        }
        if block_size < 0 || replicas < 0 {
            return Err(Error::invalid(format!(
                "negative block size {block_size} or replica count {replicas}"
            )));
        }
        let options = WriteOptions {
            overwrite: flags & CV_WRITE_OVERWRITE != 0,
            append: flags & CV_WRITE_APPEND != 0,
            create_parent: flags & CV_WRITE_CREATE_PARENT != 0,
            block_size: (block_size > 0).then_some(block_size as u64),
            replicas: (replicas > 0).then_some(replicas),
        };
        let writer = FileWriter::open(client, path, &options)?;
        let handle = Box::into_raw(Box::new(cv_writer {
            writer: Mutex::new(writer),
        }));
        // SAFETY: `out` is non-NULL and writable (contract).
        unsafe { *out = handle };
        Ok(())
    })
}

/// Writes all `len` bytes of `buf`. After a failure the writer only accepts
/// cv_writer_abort or cv_writer_close (which then fails too).
#[no_mangle]
pub unsafe extern "C" fn cv_writer_write(
    writer: *mut cv_writer,
    buf: *const u8,
    len: usize,
) -> i32 {
    guard(|| {
        out_ptr(writer, "writer")?;
        if len == 0 {
            return Ok(());
        }
        out_ptr(buf as *mut u8, "buf")?;
        // SAFETY: `buf` is non-NULL and the caller promises `len` readable
        // bytes that stay unchanged during the call.
        let data = unsafe { std::slice::from_raw_parts(buf, len) };
        // SAFETY: non-NULL and live (contract).
        let writer = unsafe { &*writer };
        lock(&writer.writer).write(data)
    })
}

/// The file's length so far, counting this writer's bytes (-1 for NULL).
#[no_mangle]
pub unsafe extern "C" fn cv_writer_pos(writer: *const cv_writer) -> i64 {
    if writer.is_null() {
        return -1;
    }
    // SAFETY: non-NULL and live (contract).
    let writer = unsafe { &*writer };
    lock(&writer.writer).pos() as i64
}

/// Finishes the file so readers see it complete, and frees the writer
/// whatever the outcome. NULL is CV_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn cv_writer_close(writer: *mut cv_writer) -> i32 {
    guard(|| {
        out_ptr(writer, "writer")?;
        // SAFETY: made by cv_writer_open and not freed yet (contract).
        let writer = unsafe { Box::from_raw(writer) };
        let writer = writer
            .writer
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        writer.close()
    })
}

/// Cancels the writer's streams and frees it; the file is left incomplete
/// (never looks finished). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn cv_writer_abort(writer: *mut cv_writer) {
    guard_void(|| {
        if !writer.is_null() {
            // SAFETY: made by cv_writer_open and not freed yet (contract).
            let writer = unsafe { Box::from_raw(writer) };
            let writer = writer
                .writer
                .into_inner()
                .unwrap_or_else(|p| p.into_inner());
            writer.abort();
        }
    })
}
