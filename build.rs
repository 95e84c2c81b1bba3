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
        "proto/causeway/events/v1/options.proto",
        "proto/causeway/events/v1/feed.proto",
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
    let stored_events = stored_event_messages(&fds);

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
    fs::write(
        out.join("event_payloads.rs"),
        event_payloads(&stored_events),
    )?;
    Ok(())
}

/// Full names (without the leading dot) of the stored event messages: the top-level messages
/// of every `causeway/<context>/v1/events.proto`, the same rule the contract gate applies.
fn stored_event_messages(fds: &prost_types::FileDescriptorSet) -> Vec<String> {
    fds.file
        .iter()
        .filter(|f| f.name().starts_with("causeway/") && f.name().ends_with("/events.proto"))
        .flat_map(|f| {
            f.message_type
                .iter()
                .map(move |m| format!("{}.{}", f.package(), m.name()))
        })
        .collect()
}

/// What the event feed's two ends share about stored event messages, generated so that a new
/// event type needs no hand-kept list: `STORED_EVENT_TYPES`; `event_json_to_protobuf` (the
/// server: one match arm per type, decoding proto3 JSON with the generated serde impl and
/// encoding with prost; a type missing from [`EVENT_MESSAGES`] has no serde impl, so forgetting
/// one fails the build); and `StoredEvent` (consumers: any stored event decoded from its
/// `google.protobuf.Any`).
fn event_payloads(messages: &[String]) -> String {
    format!(
        "{}\n{}",
        event_json_arms(messages),
        stored_event_enum(messages)
    )
}

/// The `StoredEvent` enum: one variant per stored event message, named like the message.
fn stored_event_enum(messages: &[String]) -> String {
    let short = |name: &str| name.rsplit('.').next().unwrap_or(name).to_owned();
    let mut variants = String::new();
    let mut decode = String::new();
    let mut names = String::new();
    for name in messages {
        let (variant, path) = (short(name), name.replace('.', "::"));
        variants.push_str(&format!(
            "    /// `{name}`.\n    {variant}(crate::{path}),\n"
        ));
        decode.push_str(&format!(
            "            \"{name}\" => prost::Message::decode(any.value.as_slice()).map(Self::{variant}),\n"
        ));
        names.push_str(&format!("            Self::{variant}(_) => \"{name}\",\n"));
    }
    format!(
        "/// A stored event of any type, decoded from the `google.protobuf.Any` the event feed\n\
         /// delivers it in. Non-exhaustive: a newer server may deliver types this build does not\n\
         /// know, which [`StoredEvent::from_any`] reports as `None`.\n\
         #[derive(Clone, PartialEq, Debug)]\n#[non_exhaustive]\npub enum StoredEvent {{\n{variants}}}\n\n\
         impl StoredEvent {{\n    \
         /// The event in `any` (type URL `type.googleapis.com/<full name>`): `None` when the\n    \
         /// type is no stored event message of these contracts, `Some(Err)` when the bytes do\n    \
         /// not decode as that message.\n    \
         pub fn from_any(any: &prost_types::Any) -> Option<Result<Self, prost::DecodeError>> {{\n        \
         let name = any.type_url.rsplit('/').next().unwrap_or_default();\n        \
         Some(match name {{\n{decode}            _ => return None,\n        }})\n    }}\n\n    \
         /// The full protobuf name of the event's type.\n    \
         pub fn type_name(&self) -> &'static str {{\n        match self {{\n{names}        }}\n    }}\n}}\n"
    )
}

/// `event_json_to_protobuf` and `STORED_EVENT_TYPES`.
fn event_json_arms(messages: &[String]) -> String {
    let arms: String = messages
        .iter()
        .map(|name| {
            let path = name.replace('.', "::");
            format!(
                "        \"{name}\" => <crate::{path} as serde::Deserialize>::deserialize(deserializer)\n            .map(|message| prost::Message::encode_to_vec(&message)),\n"
            )
        })
        .collect();
    format!(
        "/// The protobuf wire form of a stored event's proto3 JSON, read by `deserializer` as the\n\
         /// message named `event_type`; `None` when no stored event message has that name.\n\
         #[cfg(feature = \"event-json\")]\n\
         pub fn event_json_to_protobuf<'de, D: serde::Deserializer<'de>>(\n    \
         event_type: &str,\n    deserializer: D,\n) -> Option<Result<Vec<u8>, D::Error>> {{\n    \
         Some(match event_type {{\n{arms}        _ => return None,\n    }})\n}}\n\n\
         /// Full names of the stored event messages (the top-level messages of every\n\
         /// `causeway/<context>/v1/events.proto`).\n\
         pub const STORED_EVENT_TYPES: &[&str] = &{messages:?};\n"
    )
}
