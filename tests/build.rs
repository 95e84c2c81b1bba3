//! Compiles the KurrentDB protocol double's own `.proto` files (`proto/kurrentdb/`) with protox
//! (no `protoc` on any machine) and generates messages, server stubs and clients with
//! tonic-prost-build. The double serves them; tests use the clients to look at raw replies.

use std::io;

fn main() -> io::Result<()> {
    let protos = [
        "proto/kurrentdb/shared.proto",
        "proto/kurrentdb/server_features.proto",
        "proto/kurrentdb/streams.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::Compiler::new(["proto/kurrentdb"])
        .and_then(|mut compiler| {
            compiler.include_imports(true);
            compiler.open_files(protos)?;
            Ok(compiler.file_descriptor_set())
        })
        .map_err(|e| io::Error::other(e.to_string()))?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .include_file("kurrentdb_protocol.rs")
        .compile_fds(fds)
}
