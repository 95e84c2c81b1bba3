//! What every fulfilment scenario builds on: servers that fulfil orders (in one process, or a
//! command process first and a fulfilling one after it), stocked products, orders, and waiting
//! for outcomes the way a caller would (`awaitOutcome`) or for a fulfilment to settle.

use std::{path::Path, time::Duration};

use causeway_client::{
    admin::{
        ListProjectionsRequest, ProjectionInfo, projection_admin_client::ProjectionAdminClient,
    },
    common::Consistency,
    fulfilment::{
        Fulfilment, FulfilmentStatus, GetFulfilmentRequest,
        fulfilment_queries_client::FulfilmentQueriesClient,
    },
    inventory::{
        GetProductRequest, Product, ReceiveStockRequest, RegisterProductRequest,
        inventory_commands_client::InventoryCommandsClient,
        inventory_queries_client::InventoryQueriesClient,
    },
    orders::{
        CancelOrderRequest, GetOrderRequest, Order, OrderLine, PlaceOrderRequest, ShipOrderRequest,
        order_commands_client::OrderCommandsClient, order_queries_client::OrderQueriesClient,
    },
};
use causeway_server::config::{Config, Role};
use tempfile::TempDir;
use tonic::{Code, transport::Channel};

use crate::{EventBackend, TestServer, fulfilling, options, unchecked};

/// The longest any scenario waits for an outcome.
pub const WAIT: Duration = Duration::from_secs(30);
/// The deadline of the scenarios that do not test it: never reached.
pub const NO_HURRY: Duration = Duration::from_secs(600);

/// A server's configuration on `dir` with `backend`'s events, fulfilling orders within
/// `timeout`, in `role`.
pub fn config(backend: &EventBackend, dir: &Path, role: Role, timeout: Duration) -> Config {
    let mut config = fulfilling(unchecked(Config::with_data_dir(dir)), timeout);
    config.role = role;
    if let EventBackend::KurrentDb(url) = backend {
        config.kurrentdb_url = Some(url.as_str().into());
    }
    config
}

/// A server with every role that fulfils orders within `timeout`.
pub async fn fulfilling_server(backend: &EventBackend, timeout: Duration) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    TestServer::start_with(config(backend, dir.path(), Role::All, timeout), dir).await
}

/// A command-only server whose orders await fulfilment, but which runs none: what a
/// deployment looks like while its fulfilling process is down.
pub async fn command_server(backend: &EventBackend) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    TestServer::start_with(config(backend, dir.path(), Role::Command, NO_HURRY), dir).await
}

/// The fulfilling process coming up on `dir` (a stopped server's) with `timeout`.
pub async fn fulfilling_after(
    backend: &EventBackend,
    dir: TempDir,
    timeout: Duration,
) -> TestServer {
    TestServer::start_with(config(backend, dir.path(), Role::All, timeout), dir).await
}

/// One order line of `quantity` units of `sku`.
pub fn line(sku: &str, quantity: u32) -> OrderLine {
    OrderLine {
        sku: sku.into(),
        quantity,
        unit_price_minor: 1_000,
    }
}

/// The clients of one server.
#[derive(Clone)]
pub struct Clients {
    /// Order commands.
    pub orders: OrderCommandsClient<Channel>,
    /// Order queries.
    pub order_queries: OrderQueriesClient<Channel>,
    /// Inventory commands.
    pub inventory: InventoryCommandsClient<Channel>,
    /// Inventory queries.
    pub products: InventoryQueriesClient<Channel>,
    /// Fulfilment queries.
    pub fulfilments: FulfilmentQueriesClient<Channel>,
    /// Projection admin.
    pub admin: ProjectionAdminClient<Channel>,
}

impl Clients {
    /// Clients of `server`.
    pub async fn of(server: &TestServer) -> Self {
        let channel = server.channel().await;
        Self {
            orders: OrderCommandsClient::new(channel.clone()),
            order_queries: OrderQueriesClient::new(channel.clone()),
            inventory: InventoryCommandsClient::new(channel.clone()),
            products: InventoryQueriesClient::new(channel.clone()),
            fulfilments: FulfilmentQueriesClient::new(channel.clone()),
            admin: ProjectionAdminClient::new(channel),
        }
    }

    /// Registers `sku` with `quantity` units on hand (none when 0).
    pub async fn stock(&mut self, sku: &str, quantity: u64) {
        self.inventory
            .register_product(RegisterProductRequest {
                options: options(),
                sku: sku.into(),
                name: format!("Product {sku}"),
            })
            .await
            .expect("register product");
        if quantity > 0 {
            self.inventory
                .receive_stock(ReceiveStockRequest {
                    options: options(),
                    sku: sku.into(),
                    quantity,
                })
                .await
                .expect("receive stock");
        }
    }

    /// Places an order of `lines` for `customer`; returns its id.
    pub async fn place(&mut self, customer: &str, lines: Vec<OrderLine>) -> String {
        self.orders
            .place_order(PlaceOrderRequest {
                options: options(),
                order_id: String::new(),
                customer_id: customer.into(),
                currency: "EUR".into(),
                lines,
            })
            .await
            .expect("place order")
            .into_inner()
            .order_id
    }

    /// The order once fulfilment has settled it, as a caller learns it: `GetOrder` with
    /// `awaitOutcome`, retried only when the deadline of one call passed.
    pub async fn outcome(&mut self, order_id: &str) -> Order {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let mut request = tonic::Request::new(GetOrderRequest {
                order_id: order_id.into(),
                consistency: None,
                await_outcome: true,
                ..Default::default()
            });
            request.set_timeout(Duration::from_secs(10));
            match self.order_queries.get_order(request).await {
                Ok(answer) => return answer.into_inner().order.expect("an order"),
                Err(status)
                    if matches!(status.code(), Code::DeadlineExceeded | Code::NotFound)
                        && tokio::time::Instant::now() < deadline =>
                {
                    // NOT_FOUND: the read model has not seen the placement yet.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(status) => panic!("no outcome for {order_id}: {status:?}"),
            }
        }
    }

    /// The fulfilment of `order_id` once `done` holds for it (bounded wait).
    pub async fn fulfilment_when(
        &mut self,
        order_id: &str,
        done: impl Fn(&Fulfilment) -> bool,
    ) -> Fulfilment {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let answer = self
                .fulfilments
                .get_fulfilment(GetFulfilmentRequest {
                    order_id: order_id.into(),
                    ..Default::default()
                })
                .await;
            match answer {
                Ok(found) => {
                    let fulfilment = found.into_inner().fulfilment.expect("a fulfilment");
                    if done(&fulfilment) {
                        return fulfilment;
                    }
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "gave up waiting: {fulfilment:#?}"
                    );
                }
                Err(status) if status.code() == Code::NotFound => {
                    assert!(tokio::time::Instant::now() < deadline, "never fulfilled");
                }
                Err(status) => panic!("GetFulfilment failed: {status:?}"),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The fulfilment of `order_id` once it reached `status`.
    pub async fn fulfilment_in(&mut self, order_id: &str, status: FulfilmentStatus) -> Fulfilment {
        self.fulfilment_when(order_id, |f| f.status() == status)
            .await
    }

    /// `sku` as the products read model shows it once it has applied `position`.
    pub async fn product_at(&mut self, sku: &str, position: u64) -> Product {
        let mut request = tonic::Request::new(GetProductRequest {
            sku: sku.into(),
            consistency: Some(Consistency {
                min_position: position,
            }),
            ..Default::default()
        });
        request.set_timeout(Duration::from_secs(10));
        self.products
            .get_product(request)
            .await
            .expect("get product")
            .into_inner()
            .product
            .expect("a product")
    }

    /// `name`'s line in `ListProjections` once `done` holds for it (bounded wait).
    pub async fn projection_when(
        &mut self,
        name: &str,
        done: impl Fn(&ProjectionInfo) -> bool,
    ) -> ProjectionInfo {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let info = self
                .admin
                .list_projections(ListProjectionsRequest {})
                .await
                .expect("list projections")
                .into_inner()
                .projections
                .into_iter()
                .find(|p| p.name == name)
                .unwrap_or_else(|| panic!("{name} is not listed"));
            if done(&info) {
                return info;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "gave up waiting: {info:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Cancels `order_id`.
    pub async fn cancel(&mut self, order_id: &str, reason: &str) {
        self.orders
            .cancel_order(CancelOrderRequest {
                options: options(),
                order_id: order_id.into(),
                reason: reason.into(),
            })
            .await
            .expect("cancel");
    }

    /// Ships `order_id`.
    pub async fn ship(&mut self, order_id: &str) {
        self.orders
            .ship_order(ShipOrderRequest {
                options: options(),
                order_id: order_id.into(),
            })
            .await
            .expect("ship");
    }
}

/// (on hand, reserved, available) of `product`.
pub fn stock_of(product: &Product) -> (u64, u64, u64) {
    (product.on_hand, product.reserved, product.available)
}
