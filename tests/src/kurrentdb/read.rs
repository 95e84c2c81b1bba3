//! One-shot reads (`Read` with a count): a stream or `$all`, forwards or backwards.
//!
//! - A stream read starts AT its revision (inclusive) either way; a missing stream is one
//!   `stream_not_found` reply, a tombstoned one an error status. Readers asking for
//!   compatibility 1 get `last_stream_position` after the events, preceded by
//!   `first_stream_position` when no event was sent.
//! - A `$all` read forwards from a position includes the record there; backwards excludes it.
//! - Stream metadata (`$tb`, `$maxCount`, `$maxAge`) limits a stream read, not `$all`.
//! - With `resolve_links`, a link (`$>`) carries the event it points to.

use std::sync::Arc;

use tonic::Status;

use super::{
    Shared,
    log::{Record, StreamView, Tombstoned},
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
    let resolving = options.resolve_links;
    let entries = match &options.stream_option {
        Some(StreamOption::Stream(stream)) => {
            let compatible = options.control_option.is_some_and(|c| c.compatibility >= 1);
            let name = wire::stream_name(stream.stream_identifier.as_ref())?;
            return read_stream(
                shared, stream, &name, backwards, count, resolving, ids, compatible,
            );
        }
        Some(StreamOption::All(all)) => shared.with_log(|log| {
            select_all(log.records(), all, backwards, count, filter)
                .into_iter()
                .map(|r| wire::entry(log, r, resolving))
                .collect::<Vec<_>>()
        }),
        None => return Err(Status::invalid_argument("a read names a stream or $all")),
    };
    Ok(entries.iter().map(|e| wire::event(e, ids)).collect())
}

#[allow(clippy::too_many_arguments)]
fn read_stream(
    shared: &Shared,
    options: &StreamOptions,
    name: &str,
    backwards: bool,
    count: usize,
    resolving: bool,
    ids: UuidFormat,
    compatible: bool,
) -> Result<Vec<ReadResp>, Status> {
    let read = shared.with_log(|log| {
        let view = log.stream(name)?;
        Ok(view.map(|view| {
            let entries: Vec<_> = select_stream(&view, options, backwards, count)
                .into_iter()
                .map(|r| wire::entry(log, r, resolving))
                .collect();
            (entries, view.first, view.last)
        }))
    });
    let Some((entries, first, last)) = read.map_err(|_: Tombstoned| wire::stream_deleted(name))?
    else {
        return Ok(vec![wire::content(read_resp::Content::StreamNotFound(
            StreamNotFound {
                stream_identifier: Some(StreamIdentifier {
                    stream_name: name.as_bytes().to_vec(),
                }),
            },
        ))]);
    };
    let mut replies: Vec<ReadResp> = entries.iter().map(|e| wire::event(e, ids)).collect();
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

/// The visible records of a stream a read selects.
fn select_stream<'a>(
    view: &'a StreamView,
    options: &StreamOptions,
    backwards: bool,
    count: usize,
) -> Vec<&'a Arc<Record>> {
    let records = &view.records;
    match (&options.revision_option, backwards) {
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
    }
}

/// The records of `$all` a read selects.
fn select_all<'a>(
    records: &'a [Arc<Record>],
    options: &AllOptions,
    backwards: bool,
    count: usize,
    filter: Option<&Filter>,
) -> Vec<&'a Arc<Record>> {
    let passes = |r: &&Arc<Record>| filter.is_none_or(|f| f.matches(r));
    match (&options.all_option, backwards) {
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
    }
}
