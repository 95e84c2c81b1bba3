//! TLS with a private CA, over a real handshake: a tonic server on a free loopback port presents
//! a certificate signed by the test CA in `tests/tls/` (regenerate with `tests/tls/generate.sh`).

use std::net::SocketAddr;

use causeway_client::{
    BuildError, Client, Error, RetryPolicy,
    orders::{
        GetOrderHistoryRequest, GetOrderHistoryResponse, GetOrderRequest, GetOrderResponse,
        ListOrdersRequest, ListOrdersResponse, Order,
        order_queries_server::{OrderQueries, OrderQueriesServer},
    },
};
use tokio::{net::TcpListener, sync::oneshot};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{
    Request, Response, Status,
    transport::{Identity, Server, ServerTlsConfig},
};

const CA: &str = include_str!("tls/ca.pem");
const OTHER_CA: &str = include_str!("tls/other-ca.pem");
const SERVER_CERT: &str = include_str!("tls/server.pem");
const SERVER_KEY: &str = include_str!("tls/server.key");

/// Answers every GetOrder with the id it was asked for.
struct Echo;

#[tonic::async_trait]
impl OrderQueries for Echo {
    async fn get_order(
        &self,
        request: Request<GetOrderRequest>,
    ) -> Result<Response<GetOrderResponse>, Status> {
        Ok(Response::new(GetOrderResponse {
            order: Some(Order {
                order_id: request.into_inner().order_id,
                ..Order::default()
            }),
        }))
    }

    async fn list_orders(
        &self,
        _: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        Ok(Response::new(ListOrdersResponse::default()))
    }

    async fn get_order_history(
        &self,
        _: Request<GetOrderHistoryRequest>,
    ) -> Result<Response<GetOrderHistoryResponse>, Status> {
        Ok(Response::new(GetOrderHistoryResponse::default()))
    }
}

struct TlsServer {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn tls_server() -> TlsServer {
    // Tonic's server takes rustls' process-wide provider; with both ring and aws-lc-rs compiled
    // in (as in a whole-workspace build) nobody has chosen one. Losing a race to install it is
    // fine: then one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let router = Server::builder()
        .tls_config(ServerTlsConfig::new().identity(Identity::from_pem(SERVER_CERT, SERVER_KEY)))
        .expect("server TLS config")
        .add_service(OrderQueriesServer::new(Echo));
    tokio::spawn(
        router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
            let _ = stopped.await;
        }),
    );
    TlsServer { addr, _stop: stop }
}

#[tokio::test(flavor = "multi_thread")]
async fn trusts_a_server_signed_by_the_given_ca() {
    let server = tls_server().await;
    // The certificate names 127.0.0.1 as well as localhost.
    let client = Client::builder(format!("https://{}", server.addr))
        .tls_ca_certificate(CA)
        .connect()
        .await
        .expect("handshake with the test CA");
    let order = client
        .orders()
        .get_order(GetOrderRequest {
            order_id: "over-tls".into(),
            ..Default::default()
        })
        .await
        .expect("query over TLS");
    assert_eq!(order.order_id, "over-tls");

    // Naming the host the certificate must carry, as behind a load balancer.
    let by_name = Client::builder(format!("https://{}", server.addr))
        .tls_ca_certificate(CA)
        .tls_domain_name("localhost")
        .connect()
        .await
        .expect("handshake with an explicit domain name");
    by_name
        .orders()
        .get_order(GetOrderRequest {
            order_id: "by-name".into(),
            ..Default::default()
        })
        .await
        .expect("query with an explicit domain name");
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_a_server_its_ca_did_not_sign() {
    let server = tls_server().await;
    let endpoint = format!("https://{}", server.addr);
    let refused = Client::builder(endpoint.clone())
        .tls_ca_certificate(OTHER_CA)
        .connect()
        .await;
    assert!(
        matches!(refused, Err(BuildError::Connect { .. })),
        "{refused:?}"
    );

    // Lazily built, the handshake fails on the call, as a transport failure after the retries.
    let lazy = Client::builder(endpoint)
        .tls_ca_certificate(OTHER_CA)
        .retry_policy(RetryPolicy::default().max_attempts(2))
        .build()
        .expect("lazy client");
    let error = lazy
        .orders()
        .get_order(GetOrderRequest {
            order_id: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
}
