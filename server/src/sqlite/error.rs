//! The one error type of the SQLite module. Each store turns it into its own `Unavailable`, so
//! its `Display` is written for callers: what was being done and SQLite's error class, never
//! data or file paths (those stay in [`SqliteError::Call`]'s source, for the log).

/// Why a store's SQLite file could not be opened, migrated or read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SqliteError {
    /// A SQLite call failed while `doing` something.
    #[error("{doing}: {}", class(.source))]
    Call {
        /// What was being done, e.g. "reading a stream".
        doing: String,
        /// SQLite's own error; it may name paths, so it goes to the log only.
        source: rusqlite::Error,
    },
    /// The file stayed in another journal mode, so readers would block the writer.
    #[error("the {file} refused WAL mode (got {mode})")]
    WalRefused {
        /// What the store calls its file, e.g. "event file".
        file: &'static str,
        /// The journal mode SQLite reported instead.
        mode: String,
    },
    /// The file's schema version is not one this build wrote (a newer build's, typically);
    /// guessing at its layout could corrupt it.
    #[error("the {file} has schema version {found}; this build understands up to {known}")]
    UnknownVersion {
        /// What the store calls its file.
        file: &'static str,
        /// The version in the file's `user_version`.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// A thread the store needs could not be started.
    #[error("cannot start {what}: {reason}")]
    Thread {
        /// Which thread.
        what: &'static str,
        /// What the OS said.
        reason: String,
    },
    /// The blocking task running a read ended without an answer (it panicked).
    #[error("a read of the {file} failed")]
    ReadLost {
        /// What the store calls its file.
        file: &'static str,
    },
}

impl SqliteError {
    /// `source`, met while `doing` something.
    pub(crate) fn call(doing: impl Into<String>, source: rusqlite::Error) -> Self {
        Self::Call {
            doing: doing.into(),
            source,
        }
    }

    /// The message a caller may see. A failed SQLite call is logged here in full first, as
    /// `log_as` (the store's wording), because the message keeps only its class; a refusal is
    /// not logged: it reaches the caller whole.
    pub(crate) fn into_caller_message(self, log_as: &'static str) -> String {
        if let Self::Call { doing, source } = &self {
            tracing::warn!(doing = doing.as_str(), error = %source, "{log_as}");
        }
        self.to_string()
    }
}

/// SQLite's error class for a caller's message: the result code, or what kind of value was bad.
fn class(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(e, _) => format!("{:?}", e.code),
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..) => "corrupt row".to_owned(),
        _ => "internal error".to_owned(),
    }
}
