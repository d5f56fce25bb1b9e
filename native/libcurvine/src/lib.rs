/// Returns 42.
#[no_mangle]
pub extern "C" fn cv_probe() -> i32 {
    42
}
