//! Status codes, the per-thread last error, and the guard every entry point
//! runs its body in.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use client::{Code, Error};

pub const CV_OK: i32 = 0;
/// A bad argument: NULL pointer, malformed endpoint list, relative path, unknown option value.
pub const CV_ERR_INVALID_ARGUMENT: i32 = -1;
/// No master could be reached (every endpoint refused, reset or did not resolve).
pub const CV_ERR_UNAVAILABLE: i32 = -2;
/// The deadline passed before an answer came.
pub const CV_ERR_TIMEOUT: i32 = -3;
/// A peer sent bytes that do not decode as the Curvine protocol.
pub const CV_ERR_PROTOCOL: i32 = -4;
/// A local I/O error (not a server's answer).
pub const CV_ERR_IO: i32 = -5;
/// An operation this client or server does not support.
pub const CV_ERR_UNSUPPORTED: i32 = -6;
/// An option key this client does not know (cv_config_set).
pub const CV_ERR_UNKNOWN_OPTION: i32 = -7;
/// A bug caught at the boundary (a panic).
pub const CV_ERR_INTERNAL: i32 = -99;

/// Curvine error kinds most callers care about (the full list is the wire's).
pub const CV_KIND_IO: i32 = 1;
pub const CV_KIND_NOT_LEADER_MASTER: i32 = 2;
pub const CV_KIND_TIMEOUT: i32 = 4;
pub const CV_KIND_FILE_ALREADY_EXISTS: i32 = 7;
pub const CV_KIND_FILE_NOT_FOUND: i32 = 8;
pub const CV_KIND_PARENT_NOT_DIR: i32 = 10;
pub const CV_KIND_DIR_NOT_EMPTY: i32 = 11;
pub const CV_KIND_IN_PROGRESS: i32 = 18;
pub const CV_KIND_UNSUPPORTED: i32 = 19;
pub const CV_KIND_IS_A_DIRECTORY: i32 = 26;
pub const CV_KIND_NOT_A_DIRECTORY: i32 = 27;
pub const CV_KIND_INVALID_ARGUMENT: i32 = 28;
pub const CV_KIND_BLOCK_NOT_FOUND: i32 = 29;
pub const CV_KIND_READ_ONLY: i32 = 30;
pub const CV_KIND_COMMON: i32 = 10000;

struct LastError {
    code: i32,
    message: CString,
    detail: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = RefCell::new(LastError {
        code: CV_OK,
        message: CString::default(),
        detail: CString::default(),
    });
}

/// The status a client error becomes at the boundary.
pub fn code_of(error: &Error) -> i32 {
    match error.code {
        Code::Server(raw) if raw > 0 => raw,
        Code::Server(_) => CV_KIND_COMMON,
        Code::InvalidArgument => CV_ERR_INVALID_ARGUMENT,
        Code::Unavailable => CV_ERR_UNAVAILABLE,
        Code::Timeout => CV_ERR_TIMEOUT,
        Code::Protocol => CV_ERR_PROTOCOL,
        Code::Io => CV_ERR_IO,
        Code::Unsupported => CV_ERR_UNSUPPORTED,
        Code::UnknownOption => CV_ERR_UNKNOWN_OPTION,
    }
}

fn set_last(code: i32, message: &str, detail: &str) {
    let (message, detail) = (c_string(message), c_string(detail));
    LAST_ERROR.with(|last| {
        *last.borrow_mut() = LastError {
            code,
            message,
            detail,
        };
    });
}

/// Runs an entry point's body: a panic becomes CV_ERR_INTERNAL, an error
/// becomes its status and the thread's last error.
pub fn guard(body: impl FnOnce() -> Result<(), Error>) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            set_last(CV_OK, "", "");
            CV_OK
        }
        Ok(Err(error)) => {
            let code = code_of(&error);
            set_last(
                code,
                &error.to_string(),
                error.detail.as_deref().unwrap_or_default(),
            );
            code
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last(
                CV_ERR_INTERNAL,
                &format!("internal error in libcurvine: {what}"),
                "",
            );
            CV_ERR_INTERNAL
        }
    }
}

/// For entry points that cannot report a status (the *_free functions):
/// a panic is swallowed rather than unwinding into C.
pub fn guard_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// The code of the last failed call on this thread (CV_OK after a success).
#[no_mangle]
pub extern "C" fn cv_last_error_code() -> i32 {
    catch_unwind(|| LAST_ERROR.with(|last| last.borrow().code)).unwrap_or(CV_ERR_INTERNAL)
}

/// The message of the last failed call on this thread ("" after a success).
/// Valid until the next libcurvine call on this thread.
#[no_mangle]
pub extern "C" fn cv_last_error_message() -> *const c_char {
    catch_unwind(|| LAST_ERROR.with(|last| last.borrow().message.as_ptr()))
        .unwrap_or(c"internal error in libcurvine".as_ptr())
}

/// The server's own text behind the last error on this thread, with the
/// thread name and source location that cv_last_error_message() leaves
/// out; "" when there is none. For debug logs. Valid until the next
/// libcurvine call on this thread.
#[no_mangle]
pub extern "C" fn cv_last_error_detail() -> *const c_char {
    catch_unwind(|| LAST_ERROR.with(|last| last.borrow().detail.as_ptr())).unwrap_or(c"".as_ptr())
}

/// A C string from Rust text; interior NUL bytes (never in Curvine paths)
/// are dropped rather than failing.
pub fn c_string(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| CString::new(s.replace('\0', "")).unwrap_or_default())
}

/// Borrows a caller's NUL-terminated UTF-8 string.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid and
/// unchanged for the returned lifetime.
pub unsafe fn borrow_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL, and the caller promises NUL termination and validity.
    let raw = unsafe { CStr::from_ptr(ptr) };
    raw.to_str()
        .map_err(|_| Error::invalid(format!("{what} is not valid UTF-8: {raw:?}")))
}

/// Checks that an out-pointer is usable.
pub fn out_ptr<T>(ptr: *mut T, what: &str) -> Result<(), Error> {
    if ptr.is_null() {
        Err(Error::invalid(format!("{what} is NULL")))
    } else {
        Ok(())
    }
}
