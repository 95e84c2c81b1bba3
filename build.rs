//! Compiles `proto/` with protox (no `protoc` needed on any machine) and generates messages,
//! clients and servers with tonic-prost-build. Client and server modules are gated by the
//! `client` and `server` features so the server and the SDK share one set of message types.
//!
//! The `google.rpc` error types (`Status`, `BadRequest`, ...) go into the encoded descriptor
//! set only, so that reflection can describe the details of an error; no Rust is generated for
//! them, since tonic-types already provides those types and two copies would not mix.

use std::{env, fs, io, io::Write, path::PathBuf};

/// Messages stored as events (and the types they contain): they get serde impls from
/// pbjson-build, so the server's codec turns proto3 JSON into them directly.
const EVENT_MESSAGES: &[&str] = &[
    ".causeway.orders.v1.OrderPlaced",
    ".causeway.orders.v1.OrderLine",
    ".causeway.orders.v1.OrderConfirmed",
    ".causeway.orders.v1.OrderRejected",
    ".causeway.orders.v1.OrderCancelled",
    ".causeway.orders.v1.OrderShipped",
    ".causeway.inventory.v1.ProductRegistered",
    ".causeway.inventory.v1.StockReceived",
    ".causeway.inventory.v1.StockReserved",
    ".causeway.inventory.v1.StockReleased",
    ".causeway.inventory.v1.ReservationCommitted",
    ".causeway.identity.v1.UserRegistered",
    ".causeway.identity.v1.RoleGranted",
    ".causeway.identity.v1.RoleRevoked",
    ".causeway.identity.v1.UserDisabled",
    ".causeway.identity.v1.EmailReserved",
    ".causeway.fulfilment.v1.FulfilmentStarted",
    ".causeway.fulfilment.v1.PlannedLine",
    ".causeway.fulfilment.v1.LineReserved",
    ".causeway.fulfilment.v1.LineRefused",
    ".causeway.fulfilment.v1.LineReleased",
    ".causeway.fulfilment.v1.LineCommitted",
    ".causeway.fulfilment.v1.FulfilmentConfirmed",
    ".causeway.fulfilment.v1.FulfilmentRejected",
    ".causeway.fulfilment.v1.DeadlinePassed",
    ".causeway.fulfilment.v1.WithdrawalNoticed",
    ".causeway.fulfilment.v1.ShipmentNoticed",
    ".causeway.fulfilment.v1.StepRefused",
];

/// Packages of [`EVENT_MESSAGES`], whose generated modules include the serde impls.
const EVENT_PACKAGES: &[&str] = &[
    "causeway.orders.v1",
    "causeway.inventory.v1",
    "causeway.identity.v1",
    "causeway.fulfilment.v1",
];

/// Package whose files are described (in the encoded set) but not generated: see the crate doc.
const DESCRIBED_ONLY: &str = "google.rpc";

fn main() -> io::Result<()> {
    let protos = [
        "proto/causeway/common/v1/common.proto",
        "proto/causeway/orders/v1/orders.proto",
        "proto/causeway/orders/v1/events.proto",
        "proto/causeway/inventory/v1/inventory.proto",
        "proto/causeway/inventory/v1/events.proto",
        "proto/causeway/identity/v1/identity.proto",
        "proto/causeway/identity/v1/events.proto",
        "proto/causeway/admin/v1/admin.proto",
        "proto/causeway/fulfilment/v1/fulfilment.proto",
        "proto/causeway/fulfilment/v1/events.proto",
        "proto/causeway/auth/v1/access.proto",
        "proto/causeway/auth/v1/keys.proto",
        "proto/causeway/identity/v1/sessions.proto",
        "proto/google/rpc/status.proto",
        "proto/google/rpc/error_details.proto",
    ];
    println!("cargo:rerun-if-changed=proto");

    // The embedded set is encoded by protox itself: `prost_types` drops extension options, and
    // the REST gateway reads its routes from the `google.api.http` method option.
    let (mut fds, encoded) = protox::Compiler::new(["proto"])
        .and_then(|mut compiler| {
            compiler.include_source_info(true);
            compiler.include_imports(true);
            compiler.open_files(protos)?;
            Ok((
                compiler.file_descriptor_set(),
                compiler.encode_file_descriptor_set(),
            ))
        })
        .map_err(|e| io::Error::other(e.to_string()))?;

    fds.file.retain(|file| file.package() != DESCRIBED_ONLY);

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("causeway_descriptor.bin"), encoded)?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .client_mod_attribute(".", r#"#[cfg(feature = "client")]"#)
        .server_mod_attribute(".", r#"#[cfg(feature = "server")]"#)
        // Requests that carry a password get a hand-written, redacted Debug (src/lib.rs), so no
        // log line or error can ever print one.
        .skip_debug([
            "causeway.identity.v1.RegisterUserRequest",
            "causeway.identity.v1.LoginRequest",
            "causeway.identity.v1.LoginResponse",
        ])
        .include_file("causeway.rs")
        .compile_fds(fds)?;

    pbjson_build::Builder::new()
        .out_dir(&out)
        .register_descriptors(&fs::read(out.join("causeway_descriptor.bin"))?)?
        .build(EVENT_MESSAGES)?;
    for package in EVENT_PACKAGES {
        let mut module = fs::OpenOptions::new()
            .append(true)
            .open(out.join(format!("{package}.rs")))?;
        writeln!(
            module,
            "#[cfg(feature = \"event-json\")]\ninclude!(\"{package}.serde.rs\");"
        )?;
    }
    Ok(())
}
