//! TLS with a private CA, over a real handshake: a tonic server on a free loopback port presents
//! a certificate signed by a CA made for this run with `rcgen` (no key is committed), and with
//! a client CA demands a client certificate (mTLS).

use std::net::SocketAddr;

use causeway_client::{
    BuildError, Client, Error, RetryPolicy,
    orders::{
        GetOrderHistoryRequest, GetOrderHistoryResponse, GetOrderRequest, GetOrderResponse,
        ListOrdersRequest, ListOrdersResponse, Order,
        order_queries_server::{OrderQueries, OrderQueriesServer},
    },
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use tokio::{net::TcpListener, sync::oneshot};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{
    Request, Response, Status,
    transport::{Certificate, Identity, Server, ServerTlsConfig},
};

/// A CA of this test run.
struct Ca(CertifiedIssuer<'static, KeyPair>);

/// A certificate and its key, in PEM.
struct Leaf {
    certificate: String,
    key: String,
}

impl Ca {
    fn new() -> Self {
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        Self(CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap())
    }

    fn pem(&self) -> String {
        self.0.pem()
    }

    fn issue(&self, sans: Vec<SanType>, usage: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params = CertificateParams::default();
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.0).unwrap();
        Leaf {
            certificate: certificate.pem(),
            key: key.serialize_pem(),
        }
    }

    /// For `localhost` and `127.0.0.1`.
    fn server(&self) -> Leaf {
        let sans = vec![
            SanType::DnsName("localhost".try_into().unwrap()),
            SanType::IpAddress([127, 0, 0, 1].into()),
        ];
        self.issue(sans, ExtendedKeyUsagePurpose::ServerAuth)
    }

    fn client(&self) -> Leaf {
        let sans = vec![SanType::URI(
            "spiffe://test.example/billing".try_into().unwrap(),
        )];
        self.issue(sans, ExtendedKeyUsagePurpose::ClientAuth)
    }
}

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
    ca: Ca,
    _stop: oneshot::Sender<()>,
}

/// A server with a certificate from a fresh CA; with `mtls`, it demands a client certificate
/// from that CA too.
async fn tls_server(mtls: bool) -> TlsServer {
    // Tonic's server takes rustls' process-wide provider; with both ring and aws-lc-rs compiled
    // in (as in a whole-workspace build) nobody has chosen one. Losing a race to install it is
    // fine: then one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = Ca::new();
    let server = ca.server();
    let mut tls =
        ServerTlsConfig::new().identity(Identity::from_pem(server.certificate, server.key));
    if mtls {
        tls = tls.client_ca_root(Certificate::from_pem(ca.pem()));
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let router = Server::builder()
        .tls_config(tls)
        .expect("server TLS config")
        .add_service(OrderQueriesServer::new(Echo));
    tokio::spawn(
        router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
            let _ = stopped.await;
        }),
    );
    TlsServer {
        addr,
        ca,
        _stop: stop,
    }
}

fn get(order_id: &str) -> GetOrderRequest {
    GetOrderRequest {
        order_id: order_id.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn trusts_a_server_signed_by_the_given_ca() {
    let server = tls_server(false).await;
    // The certificate names 127.0.0.1 as well as localhost.
    let client = Client::builder(format!("https://{}", server.addr))
        .tls_ca_certificate(server.ca.pem())
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
        .tls_ca_certificate(server.ca.pem())
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
    let server = tls_server(false).await;
    let other_ca = Ca::new().pem();
    let endpoint = format!("https://{}", server.addr);
    let refused = Client::builder(endpoint.clone())
        .tls_ca_certificate(other_ca.clone())
        .connect()
        .await;
    assert!(
        matches!(refused, Err(BuildError::Connect { .. })),
        "{refused:?}"
    );

    // Lazily built, the handshake fails on the call, as a transport failure after the retries.
    let lazy = Client::builder(endpoint)
        .tls_ca_certificate(other_ca)
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

#[tokio::test(flavor = "multi_thread")]
async fn presents_its_client_certificate_where_the_server_demands_one() {
    let server = tls_server(true).await;
    let endpoint = format!("https://{}", server.addr);
    let client = server.ca.client();
    let with_identity = Client::builder(endpoint.clone())
        .tls_ca_certificate(server.ca.pem())
        .tls_client_identity(client.certificate, client.key)
        .connect()
        .await
        .expect("mTLS handshake with a client certificate");
    let order = with_identity
        .orders()
        .get_order(get("mtls"))
        .await
        .expect("query over mTLS");
    assert_eq!(order.order_id, "mtls");

    // Without one, the server ends the handshake: a transport failure, not an answer.
    let without = Client::builder(endpoint)
        .tls_ca_certificate(server.ca.pem())
        .retry_policy(RetryPolicy::default().max_attempts(1))
        .build()
        .expect("lazy client");
    let error = without
        .orders()
        .get_order(get("anonymous"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
}
