//! gRPC reflection for one role: the contracts' descriptors, listing only the services the
//! role serves (plus health and reflection).

use super::ServerError;
use crate::{config::Role, grpc::roles::SERVICES};

/// Reflection over the contracts, listing only the services this role serves (plus health and
/// reflection), so `grpcurl list` shows what this process answers.
fn reflection(role: Role) -> tonic_reflection::server::Builder<'static> {
    let builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(causeway_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .with_service_name("grpc.reflection.v1alpha.ServerReflection");
    SERVICES
        .iter()
        .filter(|(_, there)| role.serves(*there))
        .fold(builder, |builder, (name, _)| {
            builder.with_service_name(*name)
        })
}

pub(super) fn reflection_v1(
    role: Role,
) -> Result<
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    ServerError,
> {
    Ok(reflection(role).build_v1()?)
}

pub(super) fn reflection_v1alpha(
    role: Role,
) -> Result<
    tonic_reflection::server::v1alpha::ServerReflectionServer<
        impl tonic_reflection::server::v1alpha::ServerReflection,
    >,
    ServerError,
> {
    Ok(reflection(role).build_v1alpha()?)
}
