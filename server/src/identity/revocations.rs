//! Disabled users' tokens stop counting once the `users` read model shows them disabled: a
//! small set of disabled user ids, refreshed from the read model every [`REFRESH`], checked by
//! the authentication layer on every verified token. The bound is the projection's lag plus
//! one refresh; the account's next login is refused at once (it reads the user's stream).

use std::{
    collections::HashSet,
    sync::{Arc, RwLock},
    time::Duration,
};

use tracing::warn;

use super::projection::{USERS, UserDocument};
use crate::{
    auth::Revocations,
    query::{QueryError, ReadModel},
    readstore::{Filter, Query},
};

/// How often the disabled users are read again.
pub const REFRESH: Duration = Duration::from_secs(2);
/// Disabled users read per page.
const PAGE: usize = 500;

/// The disabled users, as of the last refresh.
#[derive(Debug, Default, Clone)]
pub struct DisabledUsers {
    ids: Arc<RwLock<HashSet<String>>>,
}

impl Revocations for DisabledUsers {
    fn is_revoked(&self, subject: &str) -> bool {
        self.ids
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(subject)
    }
}

impl DisabledUsers {
    /// Reads the set from `users` (the `users` projection's read model) now and every
    /// [`REFRESH`], until the task is dropped. A failed read keeps the last set.
    pub async fn follow(self, users: ReadModel) {
        let mut tick = tokio::time::interval(REFRESH);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match read(&users).await {
                Ok(ids) => *self.ids.write().unwrap_or_else(|e| e.into_inner()) = ids,
                Err(e) => {
                    warn!(error = %e, "could not read the disabled users; keeping the last set")
                }
            }
        }
    }

    /// Reads the set once.
    pub async fn refresh(&self, users: &ReadModel) -> Result<(), QueryError> {
        let ids = read(users).await?;
        *self.ids.write().unwrap_or_else(|e| e.into_inner()) = ids;
        Ok(())
    }
}

async fn read(users: &ReadModel) -> Result<HashSet<String>, QueryError> {
    let mut ids = HashSet::new();
    let mut after = None;
    loop {
        let query = Query::new(USERS)
            .with_filter(Filter::eq("disabled", true))
            .with_limit(PAGE)
            .with_after(after);
        let page = users
            .page_as::<UserDocument>(query, None, &tonic::metadata::MetadataMap::new())
            .await?;
        ids.extend(page.documents.into_iter().map(|doc| doc.user_id));
        if page.next_page_token.is_empty() {
            return Ok(ids);
        }
        after = Some(page.next_page_token);
    }
}
