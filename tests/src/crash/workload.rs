//! The clients of the crash harness: what they send, what they were told, and sending it all
//! again afterwards.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use causeway_client::{
    common::{CommandAck, CommandOptions},
    inventory::{
        ReceiveStockRequest, RegisterProductRequest,
        inventory_commands_client::InventoryCommandsClient,
    },
    orders::{
        CancelOrderRequest, OrderLine, PlaceOrderRequest,
        order_commands_client::OrderCommandsClient,
    },
};
use tonic::{Code, Status, transport::Channel};

/// Concurrent clients per round.
const CLIENTS: usize = 4;
/// Deadline of one call: a killed server answers nothing.
const DEADLINE: Duration = Duration::from_secs(5);

/// A small deterministic random source (xorshift), so a run can be replayed from its seed.
#[derive(Debug, Clone, Copy)]
pub struct Seed(pub u64);

impl Seed {
    /// A seed from the clock.
    pub fn from_clock() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Self(nanos | 1)
    }

    /// The seed in `CAUSEWAY_CRASH_SEED` (to replay a run), else one from the clock.
    pub fn from_env_or_clock() -> Self {
        std::env::var("CAUSEWAY_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or_else(Self::from_clock, Self)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// One command as sent (its command id is in its options).
#[derive(Debug, Clone)]
pub enum Command {
    /// A new product.
    Register(RegisterProductRequest),
    /// Stock for a product.
    Receive(ReceiveStockRequest),
    /// A new order.
    Place(PlaceOrderRequest),
    /// Cancelling an order.
    Cancel(CancelOrderRequest),
}

/// What the caller was told.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Applied (or a duplicate of an applied one), with this ack.
    Acked(CommandAck),
    /// No answer: the server died or the connection broke. It may or may not have applied.
    Unknown,
    /// Refused by a rule (nothing written).
    Refused(Code),
}

/// Everything sent so far and what came of it.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Each command with its outcome, in the order the answers arrived.
    pub sent: Vec<(Command, Outcome)>,
}

impl Ledger {
    /// The acknowledged commands: (command id, ack).
    pub fn acknowledged(&self) -> impl Iterator<Item = (&str, &CommandAck)> {
        self.sent
            .iter()
            .filter_map(|(command, outcome)| match outcome {
                Outcome::Acked(ack) => Some((command.id(), ack)),
                _ => None,
            })
    }

    /// Counts for the log: acknowledged, unknown, refused.
    pub fn summary(&self) -> String {
        let count = |f: fn(&Outcome) -> bool| self.sent.iter().filter(|(_, o)| f(o)).count();
        format!(
            "{} acknowledged, {} unanswered, {} refused",
            count(|o| matches!(o, Outcome::Acked(_))),
            count(|o| matches!(o, Outcome::Unknown)),
            count(|o| matches!(o, Outcome::Refused(_)))
        )
    }

    fn known_skus(&self) -> Vec<String> {
        self.acked_with(|c| match c {
            Command::Register(r) => Some(r.sku.clone()),
            _ => None,
        })
    }

    fn known_orders(&self) -> Vec<String> {
        self.acked_with(|c| match c {
            Command::Place(p) => Some(p.order_id.clone()),
            _ => None,
        })
    }

    fn acked_with(&self, f: impl Fn(&Command) -> Option<String>) -> Vec<String> {
        self.sent
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Acked(_)))
            .filter_map(|(c, _)| f(c))
            .collect()
    }
}

impl Command {
    fn options(&self) -> Option<&CommandOptions> {
        match self {
            Self::Register(r) => r.options.as_ref(),
            Self::Receive(r) => r.options.as_ref(),
            Self::Place(r) => r.options.as_ref(),
            Self::Cancel(r) => r.options.as_ref(),
        }
    }

    /// Its command id.
    pub fn id(&self) -> &str {
        self.options().map_or("", |o| o.command_id.as_str())
    }

    /// Sends it to `channel` and returns the ack.
    async fn send(&self, channel: &Channel) -> Result<CommandAck, Status> {
        fn timed<T>(message: T) -> tonic::Request<T> {
            let mut request = tonic::Request::new(message);
            request.set_timeout(DEADLINE);
            request
        }
        let mut inventory = InventoryCommandsClient::new(channel.clone());
        let mut orders = OrderCommandsClient::new(channel.clone());
        let ack = match self {
            Self::Register(r) => {
                inventory
                    .register_product(timed(r.clone()))
                    .await?
                    .into_inner()
                    .ack
            }
            Self::Receive(r) => {
                inventory
                    .receive_stock(timed(r.clone()))
                    .await?
                    .into_inner()
                    .ack
            }
            Self::Place(r) => orders.place_order(timed(r.clone())).await?.into_inner().ack,
            Self::Cancel(r) => {
                orders
                    .cancel_order(timed(r.clone()))
                    .await?
                    .into_inner()
                    .ack
            }
        };
        ack.ok_or_else(|| Status::internal("an answer without an ack"))
    }
}

fn options() -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: uuid::Uuid::now_v7().to_string(),
        ..CommandOptions::default()
    })
}

/// The next command a client sends, given what the ledger knows exists.
fn next_command(ledger: &Mutex<Ledger>, rng: &mut Seed) -> Command {
    let (skus, orders) = {
        let ledger = ledger.lock().unwrap();
        (ledger.known_skus(), ledger.known_orders())
    };
    let pick = |list: &[String], rng: &mut Seed| list[rng.below(list.len())].clone();
    match rng.below(10) {
        0 | 1 => Command::Register(RegisterProductRequest {
            options: options(),
            sku: format!("sku-{}", uuid::Uuid::now_v7().simple()),
            name: "Crash test dummy".into(),
        }),
        2 | 3 if !skus.is_empty() => Command::Receive(ReceiveStockRequest {
            options: options(),
            sku: pick(&skus, rng),
            quantity: 1 + rng.below(5) as u64,
        }),
        4 if !orders.is_empty() => Command::Cancel(CancelOrderRequest {
            options: options(),
            order_id: pick(&orders, rng),
            reason: "crash test".into(),
        }),
        _ => Command::Place(PlaceOrderRequest {
            options: options(),
            order_id: format!("order-{}", uuid::Uuid::now_v7().simple()),
            customer_id: format!("customer-{}", rng.below(5)),
            currency: "EUR".into(),
            lines: vec![OrderLine {
                sku: if skus.is_empty() {
                    "loose".into()
                } else {
                    pick(&skus, rng)
                },
                quantity: 1 + rng.below(3) as u32,
                unit_price_minor: 100 * (1 + rng.below(9) as i64),
            }],
        }),
    }
}

fn outcome(answer: Result<CommandAck, Status>) -> Outcome {
    match answer {
        Ok(ack) => Outcome::Acked(ack),
        Err(status) => match status.code() {
            Code::FailedPrecondition
            | Code::NotFound
            | Code::AlreadyExists
            | Code::InvalidArgument => Outcome::Refused(status.code()),
            _ => Outcome::Unknown,
        },
    }
}

/// Runs clients against `channel` until `kill_after` more commands were acknowledged, then
/// calls `kill` while they are still sending, and returns the ledger once every client has
/// had its last answer.
pub async fn load_until_killed(
    channel: Channel,
    ledger: Ledger,
    kill_after: usize,
    rng: &mut Seed,
    kill: impl FnOnce(),
) -> Ledger {
    let ledger = Arc::new(Mutex::new(ledger));
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let (progress, mut watched) = tokio::sync::watch::channel(0usize);
    let progress = Arc::new(progress);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (channel, ledger, stop, acked, progress) = (
                channel.clone(),
                ledger.clone(),
                stop.clone(),
                acked.clone(),
                progress.clone(),
            );
            let mut rng = Seed(rng.0.wrapping_add(i as u64 * 0x9e37_79b9) | 1);
            tokio::spawn(async move {
                while !stop.load(Ordering::Acquire) {
                    let command = next_command(&ledger, &mut rng);
                    let outcome = outcome(command.send(&channel).await);
                    if matches!(outcome, Outcome::Acked(_)) {
                        progress.send_replace(acked.fetch_add(1, Ordering::AcqRel) + 1);
                    }
                    ledger.lock().unwrap().sent.push((command, outcome));
                }
            })
        })
        .collect();
    tokio::time::timeout(super::BOUND, watched.wait_for(|n| *n >= kill_after))
        .await
        .expect("the clients make progress")
        .expect("progress is reported");
    stop.store(true, Ordering::Release);
    kill();
    for client in clients {
        client.await.expect("client task");
    }
    Arc::into_inner(ledger)
        .expect("clients are done")
        .into_inner()
        .unwrap()
}

/// Sends every command again. An acknowledged one must answer `deduplicated` with its ack; an
/// unanswered one is applied now or was applied before (the log check proves which was at
/// most once); a refused one stays refused.
pub async fn resend(channel: Channel, ledger: &mut Ledger) {
    for (command, outcome) in &ledger.sent {
        let again = command.send(&channel).await;
        match outcome {
            Outcome::Acked(ack) => {
                let expected = CommandAck {
                    deduplicated: true,
                    ..ack.clone()
                };
                assert_eq!(
                    again.as_ref().ok(),
                    Some(&expected),
                    "{command:?}: {again:?}"
                );
            }
            Outcome::Unknown => assert!(
                again.is_ok()
                    || matches!(
                        again.as_ref().map_err(Status::code),
                        Err(Code::FailedPrecondition)
                    ),
                "{command:?}: {again:?}"
            ),
            Outcome::Refused(code) => assert!(
                matches!(&again, Err(status) if status.code() == *code) || again.is_ok(),
                "{command:?}: {again:?}"
            ),
        }
    }
}
