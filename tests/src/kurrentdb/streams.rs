//! The double's `Streams` service: client-streaming appends answered in-band, reads and
//! subscriptions (both on `Read`), soft delete and tombstone.

use std::{pin::Pin, sync::Arc};

use futures::{Stream, StreamExt};
use tokio::sync::watch;
use tonic::{Request, Response, Status, Streaming};

use super::{
    Shared,
    log::{Expected, Proposed, Refused, Written},
    protocol::event_store::client::{
        Empty,
        streams::{
            AppendReq, AppendResp, DeleteReq, DeleteResp, ReadReq, ReadResp, TombstoneReq,
            TombstoneResp, append_req, append_resp, delete_req, delete_resp,
            read_req::options::{CountOption, FilterOption},
            streams_server::Streams,
            tombstone_req, tombstone_resp,
        },
    },
    read, subscription,
    wire::{self, Filter, UuidFormat},
};

/// Replies of one `Read` call.
type ReadStream = Pin<Box<dyn Stream<Item = Result<ReadResp, Status>> + Send>>;

/// One incarnation of the service over the shared log; `stopping` ends its subscriptions.
pub(crate) struct StreamsService {
    shared: Arc<Shared>,
    stopping: watch::Receiver<bool>,
}

impl StreamsService {
    pub(crate) fn new(shared: Arc<Shared>, stopping: watch::Receiver<bool>) -> Self {
        Self { shared, stopping }
    }
}

#[tonic::async_trait]
impl Streams for StreamsService {
    type ReadStream = ReadStream;

    async fn read(&self, request: Request<ReadReq>) -> Result<Response<ReadStream>, Status> {
        let options = request
            .into_inner()
            .options
            .ok_or_else(|| Status::invalid_argument("a read needs options"))?;
        let ids = UuidFormat::of(options.uuid_option.as_ref());
        let filter = match &options.filter_option {
            Some(FilterOption::Filter(filter)) => Some(Filter::from_options(filter)?),
            Some(FilterOption::NoFilter(_)) | None => None,
        };
        let replies: ReadStream = match options.count_option {
            Some(CountOption::Subscription(_)) => subscription::start(
                Arc::clone(&self.shared),
                &options,
                filter,
                ids,
                self.stopping.clone(),
            )?,
            Some(CountOption::Count(count)) => {
                let replies = read::once(&self.shared, &options, count, filter.as_ref(), ids)?;
                futures::stream::iter(replies.into_iter().map(Ok)).boxed()
            }
            None => {
                return Err(Status::invalid_argument(
                    "a read needs a count or a subscription",
                ));
            }
        };
        Ok(Response::new(replies))
    }

    async fn append(
        &self,
        request: Request<Streaming<AppendReq>>,
    ) -> Result<Response<AppendResp>, Status> {
        let mut messages = request.into_inner();
        let options = match messages.message().await?.and_then(|m| m.content) {
            Some(append_req::Content::Options(options)) => options,
            _ => {
                return Err(Status::invalid_argument(
                    "an append starts with its options",
                ));
            }
        };
        let stream = wire::stream_name(options.stream_identifier.as_ref())?;
        let expected = match options.expected_stream_revision {
            Some(append_req::options::ExpectedStreamRevision::Revision(r)) => Expected::Exact(r),
            Some(append_req::options::ExpectedStreamRevision::NoStream(_)) => Expected::NoStream,
            Some(append_req::options::ExpectedStreamRevision::StreamExists(_)) => {
                Expected::StreamExists
            }
            Some(append_req::options::ExpectedStreamRevision::Any(_)) | None => Expected::Any,
        };
        let mut events = Vec::new();
        while let Some(message) = messages.message().await? {
            match message.content {
                Some(append_req::Content::ProposedMessage(proposed)) => {
                    events.push(proposed_event(proposed)?);
                }
                _ => {
                    return Err(Status::invalid_argument(
                        "only events may follow the options",
                    ));
                }
            }
        }
        let written = self
            .shared
            .with_log(|log| log.append(&stream, expected, events));
        let result = match written {
            Written::Ok { revision, position } => {
                append_resp::Result::Success(success(Some(revision), Some(position)))
            }
            Written::Nothing { current } => append_resp::Result::Success(success(current, None)),
            Written::WrongExpected { current } => {
                append_resp::Result::WrongExpectedVersion(wrong_expected(current, expected))
            }
            Written::Deleted => return Err(wire::stream_deleted(&stream)),
        };
        Ok(Response::new(AppendResp {
            result: Some(result),
        }))
    }

    async fn delete(&self, request: Request<DeleteReq>) -> Result<Response<DeleteResp>, Status> {
        let options = request
            .into_inner()
            .options
            .ok_or_else(|| Status::invalid_argument("a delete needs options"))?;
        let stream = wire::stream_name(options.stream_identifier.as_ref())?;
        use delete_req::options::ExpectedStreamRevision as Rule;
        let expected = match options.expected_stream_revision {
            Some(Rule::Revision(r)) => Expected::Exact(r),
            Some(Rule::NoStream(_)) => Expected::NoStream,
            Some(Rule::StreamExists(_)) => Expected::StreamExists,
            Some(Rule::Any(_)) | None => Expected::Any,
        };
        let position = self
            .shared
            .with_log(|log| log.delete(&stream, expected))
            .map_err(|refused| refusal("Delete", &stream, expected, refused))?;
        Ok(Response::new(DeleteResp {
            position_option: Some(delete_resp::PositionOption::Position(
                delete_resp::Position {
                    commit_position: position,
                    prepare_position: position,
                },
            )),
        }))
    }

    async fn tombstone(
        &self,
        request: Request<TombstoneReq>,
    ) -> Result<Response<TombstoneResp>, Status> {
        let options = request
            .into_inner()
            .options
            .ok_or_else(|| Status::invalid_argument("a tombstone needs options"))?;
        let stream = wire::stream_name(options.stream_identifier.as_ref())?;
        use tombstone_req::options::ExpectedStreamRevision as Rule;
        let expected = match options.expected_stream_revision {
            Some(Rule::Revision(r)) => Expected::Exact(r),
            Some(Rule::NoStream(_)) => Expected::NoStream,
            Some(Rule::StreamExists(_)) => Expected::StreamExists,
            Some(Rule::Any(_)) | None => Expected::Any,
        };
        let position = self
            .shared
            .with_log(|log| log.tombstone(&stream, expected))
            .map_err(|refused| refusal("Tombstone", &stream, expected, refused))?;
        Ok(Response::new(TombstoneResp {
            position_option: Some(tombstone_resp::PositionOption::Position(
                tombstone_resp::Position {
                    commit_position: position,
                    prepare_position: position,
                },
            )),
        }))
    }
}

/// A proposed event, which must carry an id, a `type` and a `content-type`.
fn proposed_event(proposed: append_req::ProposedMessage) -> Result<Proposed, Status> {
    let id = wire::decode_uuid(proposed.id.as_ref())?;
    let mut metadata = proposed.metadata;
    let event_type = metadata
        .remove("type")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Status::invalid_argument("an event needs a type"))?;
    let content_type = metadata
        .remove("content-type")
        .ok_or_else(|| Status::invalid_argument("an event needs a content-type"))?;
    Ok(Proposed {
        id,
        event_type,
        content_type,
        custom_metadata: proposed.custom_metadata,
        data: proposed.data,
    })
}

/// A success reply. The client reads both oneofs unconditionally, so both are always set.
fn success(revision: Option<u64>, position: Option<u64>) -> append_resp::Success {
    use append_resp::success::{CurrentRevisionOption, PositionOption};
    append_resp::Success {
        current_revision_option: Some(match revision {
            Some(revision) => CurrentRevisionOption::CurrentRevision(revision),
            None => CurrentRevisionOption::NoStream(Empty {}),
        }),
        position_option: Some(match position {
            Some(position) => PositionOption::Position(append_resp::Position {
                commit_position: position,
                prepare_position: position,
            }),
            None => PositionOption::NoPosition(Empty {}),
        }),
    }
}

/// The in-band wrong-expected-version reply: the stream's actual revision and what was expected.
fn wrong_expected(current: Option<u64>, expected: Expected) -> append_resp::WrongExpectedVersion {
    use append_resp::wrong_expected_version::{CurrentRevisionOption, ExpectedRevisionOption};
    append_resp::WrongExpectedVersion {
        current_revision_option: Some(match current {
            Some(revision) => CurrentRevisionOption::CurrentRevision(revision),
            None => CurrentRevisionOption::CurrentNoStream(Empty {}),
        }),
        expected_revision_option: Some(match expected {
            Expected::Exact(revision) => ExpectedRevisionOption::ExpectedRevision(revision),
            Expected::Any => ExpectedRevisionOption::ExpectedAny(Empty {}),
            Expected::StreamExists => ExpectedRevisionOption::ExpectedStreamExists(Empty {}),
            Expected::NoStream => ExpectedRevisionOption::ExpectedNoStream(Empty {}),
        }),
    }
}

/// The status a refused delete or tombstone answers with.
fn refusal(operation: &str, stream: &str, expected: Expected, refused: Refused) -> Status {
    match refused {
        Refused::WrongExpected { current } => {
            wire::wrong_expected_version(operation, stream, expected.version(), current)
        }
        Refused::Deleted => wire::stream_deleted(stream),
    }
}
