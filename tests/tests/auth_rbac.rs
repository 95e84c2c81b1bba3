//! What callers may do, generated from the contracts: every RPC of the descriptor set declares
//! its `(causeway.auth.v1.access)` option, and every RPC answers every kind of caller (no
//! token, a token without roles, each role) as that declaration says. The calls are raw gRPC
//! with an empty request: what is judged is only whether the edge refused the caller
//! (`UNAUTHENTICATED`, `PERMISSION_DENIED`) or let it through to the handler (any other
//! answer, e.g. `INVALID_ARGUMENT` for the empty request, or OK).

use std::{collections::BTreeSet, fmt};

use causeway_tests::{TestServer, bench::echo::BytesCodec, tokens::OwnKeys};
use prost::bytes::Bytes;
use prost_reflect::{DescriptorPool, MethodDescriptor, Value};
use tonic::{Code, codegen::http::uri::PathAndQuery, transport::Channel};

/// The access option's full name, as `proto/causeway/auth/v1/access.proto` declares it.
const ACCESS: &str = "causeway.auth.v1.access";

/// The roles of the README's matrix.
const ROLES: [&str; 5] = [
    "customer",
    "orders.staff",
    "inventory.staff",
    "identity.admin",
    "admin",
];

/// What an RPC declares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Declared {
    Public,
    Roles(BTreeSet<String>),
}

/// How the edge answered one caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Unauthenticated,
    PermissionDenied,
    LetThrough,
}

/// Who calls.
#[derive(Debug, Clone)]
enum Caller {
    NoToken,
    Roles(Vec<&'static str>),
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoToken => f.write_str("no token"),
            Self::Roles(roles) if roles.is_empty() => f.write_str("a token without roles"),
            Self::Roles(roles) => write!(f, "{}", roles.join("+")),
        }
    }
}

impl Declared {
    /// What the declaration lets `caller` get.
    fn expects(&self, caller: &Caller) -> Outcome {
        match (self, caller) {
            (Self::Public, _) => Outcome::LetThrough,
            (Self::Roles(_), Caller::NoToken) => Outcome::Unauthenticated,
            (Self::Roles(allowed), Caller::Roles(held)) => {
                if held.iter().any(|r| allowed.contains(*r)) {
                    Outcome::LetThrough
                } else {
                    Outcome::PermissionDenied
                }
            }
        }
    }
}

/// The contracts as the server is built from them.
fn contracts() -> DescriptorPool {
    DescriptorPool::decode(causeway_proto::FILE_DESCRIPTOR_SET).expect("the descriptor set")
}

/// The access option of `method`, `None` when it declares none.
fn declared(pool: &DescriptorPool, method: &MethodDescriptor) -> Option<Declared> {
    let option = pool
        .get_extension_by_name(ACCESS)
        .expect("the contracts define the access option");
    let options = method.options();
    if !options.has_extension(&option) {
        return None;
    }
    let Value::Message(access) = options.get_extension(&option).into_owned() else {
        return None;
    };
    if access.get_field_by_name("public").and_then(|v| v.as_bool()) == Some(true) {
        return Some(Declared::Public);
    }
    let roles = access
        .get_field_by_name("roles")
        .and_then(|v| {
            v.as_list().map(|list| {
                list.iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default();
    Some(Declared::Roles(roles))
}

/// Calls `path` with an empty request as `token`'s holder; any kind of RPC (the request is one
/// message on a stream, the first answer or the status decides).
async fn call(channel: &Channel, path: &str, token: Option<&str>) -> Outcome {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.expect("the channel is ready");
    let mut request = tonic::Request::new(tokio_stream::once(Bytes::new()));
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", causeway_tests::tokens::bearer(token));
    }
    let path: PathAndQuery = path.parse().expect("a gRPC path");
    let code = match grpc.streaming(request, path, BytesCodec).await {
        Err(status) => status.code(),
        Ok(response) => match response.into_inner().message().await {
            Err(status) => status.code(),
            Ok(_) => Code::Ok,
        },
    };
    match code {
        Code::Unauthenticated => Outcome::Unauthenticated,
        Code::PermissionDenied => Outcome::PermissionDenied,
        _ => Outcome::LetThrough,
    }
}

#[test]
fn every_rpc_of_the_contracts_declares_its_access_with_known_roles() {
    let pool = contracts();
    let mut rpcs = 0;
    for service in pool.services() {
        for method in service.methods() {
            rpcs += 1;
            let name = method.full_name();
            match declared(&pool, &method) {
                None => panic!("{name} declares no (causeway.auth.v1.access) option"),
                Some(Declared::Roles(roles)) => {
                    assert!(
                        !roles.is_empty(),
                        "{name} is neither public nor open to a role"
                    );
                    for role in &roles {
                        assert!(
                            ROLES.contains(&role.as_str()),
                            "{name}: unknown role {role}"
                        );
                    }
                    // Admin RPCs and everything else: `admin` may do everything.
                    assert!(roles.contains("admin"), "{name} is closed to admin");
                }
                Some(Declared::Public) => {}
            }
        }
    }
    assert!(
        rpcs >= 20,
        "the contracts hold {rpcs} RPCs: the walk found too few"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rpc_answers_every_caller_as_its_contract_declares() {
    let server = TestServer::start_secured().await;
    let keys = OwnKeys::of_server(&server).await;
    let channel = server.channel().await;
    let mut callers = vec![Caller::NoToken, Caller::Roles(vec![])];
    callers.extend(ROLES.iter().map(|role| Caller::Roles(vec![*role])));
    let tokens: Vec<Option<String>> = callers
        .iter()
        .enumerate()
        .map(|(n, caller)| match caller {
            Caller::NoToken => None,
            // Subjects usable as customer ids, so ownership rules never refuse first.
            Caller::Roles(roles) => Some(keys.token(&format!("caller-{n}"), roles)),
        })
        .collect();

    let pool = contracts();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for service in pool.services() {
        for method in service.methods() {
            let declared = declared(&pool, &method).expect("checked by the test above");
            let path = format!("/{}/{}", service.full_name(), method.name());
            for (caller, token) in callers.iter().zip(&tokens) {
                let got = call(&channel, &path, token.as_deref()).await;
                let expected = declared.expects(caller);
                checked += 1;
                if got != expected {
                    wrong.push(format!(
                        "{path} as {caller}: {got:?}, declared {expected:?}"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{checked} calls, wrong answers: {wrong:#?}"
    );

    // Health and reflection are outside the contracts and open to anyone.
    for path in [
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    ] {
        assert_eq!(
            call(&channel, path, None).await,
            Outcome::LetThrough,
            "{path}"
        );
    }
}
