//! One logical call, however many attempts it takes: the command id fixed before the first
//! attempt, a fresh token and the remaining deadline on each, backoff between them, and the
//! session's position recorded from the ack or sent with the query.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use causeway_proto::common::CommandAck;
use tokio::time::Instant;
use tonic::{Response, Status, metadata::AsciiMetadataValue, transport::Channel};

use crate::{
    Client, Error, TokenProvider,
    command::{Acknowledged, Command, Query},
    error::{Origin, origin},
    retry::CallKind,
};

/// The longest `grpc-timeout` sent: 8 digits of seconds (about three years), the most the header
/// holds in that unit; tonic refuses to encode longer ones.
const MAX_GRPC_TIMEOUT: Duration = Duration::from_secs(99_999_999);

/// Makes calls for one context handle: the client's settings plus, in a session, the session's
/// high-water mark.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    client: Client,
    seen: Option<Arc<AtomicU64>>,
}

impl Caller {
    pub(crate) fn new(client: Client, seen: Option<Arc<AtomicU64>>) -> Self {
        Self { client, seen }
    }

    /// The client the calls go through.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Sends a command: gives it a UUIDv7 command id unless the caller chose one, keeps that id
    /// on every retry, and returns the response with its ack (recorded in the session).
    pub(crate) async fn command<Req, Resp, F, Fut>(
        &self,
        mut request: Req,
        send: F,
    ) -> Result<(Resp, CommandAck), Error>
    where
        Req: Command,
        Resp: Acknowledged,
        F: Fn(Channel, tonic::Request<Req>) -> Fut + Send + Sync,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send,
    {
        let options = request.options_mut().get_or_insert_with(Default::default);
        if options.command_id.trim().is_empty() {
            options.command_id = uuid::Uuid::now_v7().to_string();
        }
        let kind = if options.expected_revision.is_some() {
            CallKind::CommandAtRevision
        } else {
            CallKind::Command
        };
        let response = self.unary(kind, request, send).await?;
        let ack = response
            .ack()
            .cloned()
            .ok_or_else(|| Error::protocol("the server acknowledged a command without an ack"))?;
        if let Some(seen) = &self.seen {
            seen.fetch_max(ack.position, Ordering::AcqRel);
        }
        Ok((response, ack))
    }

    /// Sends a query; in a session, asks the read model to have reached at least every position
    /// the session was acknowledged (or the caller's own `min_position`, if higher).
    pub(crate) async fn query<Req, Resp, F, Fut>(
        &self,
        mut request: Req,
        send: F,
    ) -> Result<Resp, Error>
    where
        Req: Query,
        F: Fn(Channel, tonic::Request<Req>) -> Fut + Send + Sync,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send,
    {
        if let Some(seen) = &self.seen {
            let seen = seen.load(Ordering::Acquire);
            if seen > 0 {
                let consistency = request
                    .consistency_mut()
                    .get_or_insert_with(Default::default);
                consistency.min_position = consistency.min_position.max(seen);
            }
        }
        self.unary(CallKind::Query, request, send).await
    }

    /// One unary call of `kind`: attempts with a fresh token and the remaining deadline each,
    /// backoff between them.
    pub(crate) async fn unary<Req, Resp, F, Fut>(
        &self,
        kind: CallKind,
        request: Req,
        send: F,
    ) -> Result<Resp, Error>
    where
        Req: Clone + Send,
        F: Fn(Channel, tonic::Request<Req>) -> Fut + Send + Sync,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send,
    {
        let settings = self.client.settings();
        // A deadline too far away to represent is no deadline at all.
        let deadline = settings
            .deadline
            .and_then(|d| Instant::now().checked_add(d));
        let mut attempt = 1;
        loop {
            let mut call = tonic::Request::new(request.clone());
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                call.set_timeout(left.min(MAX_GRPC_TIMEOUT));
            }
            let sent = match &settings.tokens {
                Some(tokens) => {
                    let token = authorization(tokens, deadline).await?;
                    call.metadata_mut().insert("authorization", token.clone());
                    Some((tokens, token))
                }
                None => None,
            };
            let status = match send(self.client.channel(), call).await {
                Ok(response) => return Ok(response.into_inner()),
                Err(status) => status,
            };
            if let Some((tokens, token)) = sent
                && status.code() == tonic::Code::Unauthenticated
                && origin(&status) == Origin::Server
            {
                tokens.refused(&token);
            }
            if attempt >= settings.retry.attempts() || !settings.retry.retries(&status, kind) {
                return Err(status.into());
            }
            let pause = settings.retry.backoff(attempt);
            let resume = Instant::now().checked_add(pause);
            if deadline.is_some_and(|deadline| resume.is_none_or(|resume| resume >= deadline)) {
                return Err(status.into());
            }
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }
}

/// The `authorization` header from `tokens`, asked for within the call's deadline.
pub(crate) async fn authorization(
    tokens: &TokenProvider,
    deadline: Option<Instant>,
) -> Result<AsciiMetadataValue, Error> {
    let Some(deadline) = deadline else {
        return tokens.authorization().await;
    };
    tokio::time::timeout_at(deadline, tokens.authorization())
        .await
        .map_err(|_| Error::DeadlineExceeded {
            message: "the token provider did not answer within the deadline".to_owned(),
        })?
}
