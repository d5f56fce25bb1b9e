//! Generates include/curvine.h from the Rust sources with cbindgen, using
//! the same cbindgen.toml that maturin uses for the cffi module, so the C
//! surface is declared once.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let crate_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml must parse");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("the C header must generate from src/");

    let mut text = Vec::new();
    bindings.write(&mut text);
    let header = crate_dir.join("include").join("curvine.h");
    // Rewriting an unchanged header would only churn timestamps.
    if fs::read(&header).ok().as_deref() != Some(text.as_slice()) {
        fs::create_dir_all(header.parent().expect("include/ has a parent"))
            .expect("include/ must be creatable");
        fs::write(&header, text).expect("include/curvine.h must be writable");
    }
}
