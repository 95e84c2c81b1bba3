//! The login provider against a test double of `causeway.identity.v1.Sessions` on a free
//! loopback port, which numbers the tokens it issues (`token-1`, `token-2`, …), can hold or fail
//! a given login, and serves `OrderQueries` refusing the tokens a test names. The double makes
//! what the real server cannot show observable: how many logins happened, and when. The same
//! provider against the real server is in `tests/tests/sdk_auth.rs`.

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use causeway_client::{
    Client, Error, RetryPolicy, TokenProvider,
    identity::{
        LoginRequest, LoginResponse,
        sessions_server::{Sessions, SessionsServer},
    },
    orders::{
        GetOrderHistoryRequest, GetOrderHistoryResponse, GetOrderRequest, GetOrderResponse,
        ListOrdersRequest, ListOrdersResponse, Order,
        order_queries_server::{OrderQueries, OrderQueriesServer},
    },
};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, oneshot},
    time::Instant,
};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status, transport::Server};

const PASSWORD: &str = "correct horse";
/// How long any condition is waited for before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// What the double does and has seen.
#[derive(Default)]
struct State {
    /// `expires_in` of every token.
    expires_in: u64,
    /// Logins received (started), and logins answered.
    started: AtomicU32,
    /// Logins with this number wait for a permit of `hold` before answering.
    held: Option<u32>,
    hold: Option<Arc<Semaphore>>,
    /// Logins from this number on answer UNAVAILABLE.
    failing_from: Option<u32>,
    /// Tokens `OrderQueries` refuses.
    refused: Mutex<HashSet<String>>,
}

#[derive(Clone)]
struct Double(Arc<State>);

#[tonic::async_trait]
impl Sessions for Double {
    async fn login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        let number = self.0.started.fetch_add(1, Ordering::SeqCst) + 1;
        if request.into_inner().password != PASSWORD {
            return Err(Status::unauthenticated("wrong email or password"));
        }
        if self.0.held == Some(number)
            && let Some(hold) = &self.0.hold
        {
            let _permit = hold.acquire().await.expect("hold open");
        }
        if self.0.failing_from.is_some_and(|from| number >= from) {
            return Err(Status::unavailable("the store is down"));
        }
        Ok(Response::new(LoginResponse {
            access_token: format!("token-{number}"),
            token_type: "Bearer".into(),
            expires_in: self.0.expires_in,
        }))
    }
}

#[tonic::async_trait]
impl OrderQueries for Double {
    async fn get_order(
        &self,
        request: Request<GetOrderRequest>,
    ) -> Result<Response<GetOrderResponse>, Status> {
        let token = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_owned();
        if self.0.refused.lock().unwrap().contains(&token) {
            return Err(Status::unauthenticated(
                "the bearer token's signing key is unknown",
            ));
        }
        Ok(Response::new(GetOrderResponse {
            order: Some(Order {
                order_id: request.into_inner().order_id,
                customer_id: token,
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

struct Running {
    addr: SocketAddr,
    state: Arc<State>,
    _stop: oneshot::Sender<()>,
}

impl Running {
    async fn start(state: State) -> Self {
        let state = Arc::new(state);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let double = Double(state.clone());
        let router = Server::builder()
            .add_service(SessionsServer::new(double.clone()))
            .add_service(OrderQueriesServer::new(double));
        tokio::spawn(router.serve_with_incoming_shutdown(
            TcpListenerStream::new(listener),
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            addr,
            state,
            _stop: stop,
        }
    }

    fn client(&self) -> Client {
        Client::builder(format!("http://{}", self.addr))
            .retry_policy(RetryPolicy::never())
            .build()
            .expect("client")
    }

    fn logins(&self) -> u32 {
        self.state.started.load(Ordering::SeqCst)
    }
}

fn state(expires_in: u64) -> State {
    State {
        expires_in,
        ..State::default()
    }
}

/// Asks `provider` until it hands out something other than `old`.
async fn next_token(provider: &TokenProvider, old: &str) -> String {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tokio::time::timeout(PATIENCE, async {
        loop {
            tick.tick().await;
            let token = provider.access_token().await.expect("a token");
            if token.secret() != old {
                return token.secret().to_owned();
            }
        }
    })
    .await
    .expect("a new token in time")
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_first_calls_share_one_login() {
    let double = Running::start(state(900)).await;
    let provider = TokenProvider::login(&double.client(), "ada@example.com", PASSWORD);
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let provider = provider.clone();
            tokio::spawn(async move { provider.access_token().await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().secret(), "token-1");
    }
    assert_eq!(double.logins(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_is_kept_until_due_and_replaced_before_it_expires() {
    // Three seconds: two after rounding, due after one.
    let double = Running::start(state(3)).await;
    let provider = TokenProvider::login(&double.client(), "ada@example.com", PASSWORD);
    let asked = Instant::now();
    let first = provider.access_token().await.unwrap();
    assert_eq!(provider.access_token().await.unwrap(), first);
    assert_eq!(double.logins(), 1);

    let second = next_token(&provider, first.secret()).await;
    assert_eq!(second, "token-2");
    assert!(
        asked.elapsed() >= Duration::from_secs(1),
        "replaced before it was due: {:?}",
        asked.elapsed()
    );
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "replaced only after it expired: {:?}",
        asked.elapsed()
    );
    assert_eq!(double.logins(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn while_one_refresh_is_in_flight_other_calls_keep_the_valid_token() {
    let hold = Arc::new(Semaphore::new(0));
    let double = Running::start(State {
        held: Some(2),
        hold: Some(hold.clone()),
        // Due after two seconds, valid for two more: room for the calls below.
        ..state(5)
    })
    .await;
    let provider = TokenProvider::login(&double.client(), "ada@example.com", PASSWORD);
    assert_eq!(provider.access_token().await.unwrap().secret(), "token-1");

    // Once due, one caller signs in again and is held there by the double.
    let refreshing = {
        let provider = provider.clone();
        tokio::spawn(async move { next_token(&provider, "token-1").await })
    };
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tokio::time::timeout(PATIENCE, async {
        while double.logins() < 2 {
            tick.tick().await;
        }
    })
    .await
    .expect("the refresh reached the server");

    // Everyone else gets the old token at once, without a login of their own.
    for _ in 0..5 {
        let token = tokio::time::timeout(Duration::from_millis(500), provider.access_token())
            .await
            .expect("not held up by the refresh")
            .unwrap();
        assert_eq!(token.secret(), "token-1");
    }
    assert_eq!(double.logins(), 2);

    hold.add_permits(1);
    assert_eq!(refreshing.await.unwrap(), "token-2");
    assert_eq!(provider.access_token().await.unwrap().secret(), "token-2");
    assert_eq!(double.logins(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_refresh_keeps_the_valid_token_and_a_wrong_password_is_typed() {
    let double = Running::start(State {
        failing_from: Some(2),
        ..state(3)
    })
    .await;
    let provider = TokenProvider::login(&double.client(), "ada@example.com", PASSWORD);
    let asked = Instant::now();
    assert_eq!(provider.access_token().await.unwrap().secret(), "token-1");
    // Due after a second; the refresh fails, the token is still good for another one.
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while double.logins() < 2 {
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "no refresh was tried"
        );
        tick.tick().await;
        assert_eq!(provider.access_token().await.unwrap().secret(), "token-1");
    }
    // Once it has expired, the failure is the caller's answer.
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let error = tokio::time::timeout(PATIENCE, async {
        loop {
            tick.tick().await;
            if let Err(error) = provider.access_token().await {
                return error;
            }
        }
    })
    .await
    .expect("the expired token is given up");
    assert!(asked.elapsed() >= Duration::from_secs(2));
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");

    let wrong = TokenProvider::login(&double.client(), "ada@example.com", "wrong horse");
    let error = wrong.access_token().await.unwrap_err();
    assert!(matches!(error, Error::Unauthenticated { .. }), "{error:?}");
    assert!(!format!("{error:?} {error}").contains("wrong horse"));
    assert!(!format!("{wrong:?}").contains("wrong horse"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_is_dropped_and_the_next_call_signs_in_again() {
    let double = Running::start(state(900)).await;
    double
        .state
        .refused
        .lock()
        .unwrap()
        .insert("token-1".to_owned());
    let client = Client::builder(format!("http://{}", double.addr))
        .retry_policy(RetryPolicy::never())
        .login("ada@example.com", PASSWORD)
        .build()
        .expect("client");
    assert!(!format!("{client:?}").contains(PASSWORD));
    let get = || GetOrderRequest {
        order_id: "o-1".into(),
        ..Default::default()
    };
    let refused = client.orders().get_order(get()).await.unwrap_err();
    assert!(
        matches!(refused, Error::Unauthenticated { .. }),
        "{refused:?}"
    );
    let order = client
        .orders()
        .get_order(get())
        .await
        .expect("signed in again");
    // The double echoes the token it accepted as the customer.
    assert_eq!(order.customer_id, "token-2");
    assert_eq!(double.logins(), 2);
}
