//! One-shot reads (`Read` with a count): a stream or `$all`, forwards or backwards.
//!
//! - A stream read starts AT its revision (inclusive) either way; a missing stream is one
//!   `stream_not_found` reply, a tombstoned one an error status. Readers asking for
//!   compatibility 1 get `last_stream_position` after the events, preceded by
//!   `first_stream_position` when no event was sent.
//! - A `$all` read forwards from a position includes the record there; backwards excludes it.

use std::sync::Arc;

use tonic::Status;

use super::{
    Shared,
    log::Record,
    protocol::event_store::client::{
        StreamIdentifier,
        streams::{
            ReadResp,
            read_req::{
                Options,
                options::{
                    AllOptions, ReadDirection, StreamOption, StreamOptions, all_options::AllOption,
                    stream_options::RevisionOption,
                },
            },
            read_resp::{self, StreamNotFound},
        },
    },
    wire::{self, Filter, UuidFormat},
};

/// Every reply of a read of at most `count` events.
pub(crate) fn once(
    shared: &Shared,
    options: &Options,
    count: u64,
    filter: Option<&Filter>,
    ids: UuidFormat,
) -> Result<Vec<ReadResp>, Status> {
    let backwards = options.read_direction == ReadDirection::Backwards as i32;
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    match &options.stream_option {
        Some(StreamOption::Stream(stream)) => {
            let compatible = options.control_option.is_some_and(|c| c.compatibility >= 1);
            read_stream(shared, stream, backwards, count, ids, compatible)
        }
        Some(StreamOption::All(all)) => Ok(read_all(shared, all, backwards, count, filter, ids)),
        None => Err(Status::invalid_argument("a read names a stream or $all")),
    }
}

fn read_stream(
    shared: &Shared,
    options: &StreamOptions,
    backwards: bool,
    count: usize,
    ids: UuidFormat,
    compatible: bool,
) -> Result<Vec<ReadResp>, Status> {
    let name = wire::stream_name(options.stream_identifier.as_ref())?;
    let records = shared
        .with_log(|log| log.stream(&name))
        .map_err(|_| wire::stream_deleted(&name))?;
    let Some(records) = records else {
        return Ok(vec![wire::content(read_resp::Content::StreamNotFound(
            StreamNotFound {
                stream_identifier: Some(StreamIdentifier {
                    stream_name: name.into_bytes(),
                }),
            },
        ))]);
    };
    let (first, last) = match (records.first(), records.last()) {
        (Some(first), Some(last)) => (first.revision, last.revision),
        _ => return Err(Status::internal("a found stream has records")),
    };
    let selected: Vec<&Arc<Record>> = match (&options.revision_option, backwards) {
        (Some(RevisionOption::Revision(from)), false) => records
            .iter()
            .filter(|r| r.revision >= *from)
            .take(count)
            .collect(),
        (Some(RevisionOption::Revision(from)), true) => records
            .iter()
            .rev()
            .filter(|r| r.revision <= *from)
            .take(count)
            .collect(),
        (Some(RevisionOption::Start(_)) | None, false) => records.iter().take(count).collect(),
        (Some(RevisionOption::Start(_)) | None, true) => {
            records.iter().take(count.min(1)).collect()
        }
        (Some(RevisionOption::End(_)), true) => records.iter().rev().take(count).collect(),
        (Some(RevisionOption::End(_)), false) => Vec::new(),
    };
    let mut replies: Vec<ReadResp> = selected.iter().map(|r| wire::event(r, ids)).collect();
    if compatible {
        if replies.is_empty() {
            replies.push(wire::content(read_resp::Content::FirstStreamPosition(
                first,
            )));
        }
        replies.push(wire::content(read_resp::Content::LastStreamPosition(last)));
    }
    Ok(replies)
}

fn read_all(
    shared: &Shared,
    options: &AllOptions,
    backwards: bool,
    count: usize,
    filter: Option<&Filter>,
    ids: UuidFormat,
) -> Vec<ReadResp> {
    let records: Vec<Arc<Record>> = shared.with_log(|log| log.records().to_vec());
    let passes = |r: &&Arc<Record>| filter.is_none_or(|f| f.matches(r));
    let selected: Vec<&Arc<Record>> = match (&options.all_option, backwards) {
        (Some(AllOption::Position(p)), false) => records
            .iter()
            .filter(|r| r.position >= p.commit_position)
            .filter(passes)
            .take(count)
            .collect(),
        (Some(AllOption::Position(p)), true) => records
            .iter()
            .rev()
            .filter(|r| r.position < p.commit_position)
            .filter(passes)
            .take(count)
            .collect(),
        (Some(AllOption::Start(_)) | None, false) => {
            records.iter().filter(passes).take(count).collect()
        }
        (Some(AllOption::End(_)), true) => {
            records.iter().rev().filter(passes).take(count).collect()
        }
        (Some(AllOption::Start(_)) | None, true) | (Some(AllOption::End(_)), false) => Vec::new(),
    };
    selected.iter().map(|r| wire::event(r, ids)).collect()
}
