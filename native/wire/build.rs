fn main() {
    let protos = [
        "proto/common.proto",
        "proto/master.proto",
        "proto/worker.proto",
        "proto/mount.proto",
    ];
    for p in &protos {
        println!("cargo:rerun-if-changed={p}");
    }
    prost_build::Config::new()
        .compile_protos(&protos, &["proto"])
        .expect("compiling the .proto files (is protoc installed?)");
}
