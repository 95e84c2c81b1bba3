//! Reaching the deployment: the client built from the connection string (never echoed), and
//! what kind of deployment answers, which decides how batches commit.

use std::time::Duration;

use mongodb::{
    Client,
    bson::{Bson, doc},
    error::ErrorKind,
    options::ClientOptions,
};
use tracing::info;

use super::{Atomicity, MongoSettings, errors::unavailable};
use crate::readstore::ReadStoreError;

/// Server selection and connect timeout when the URL sets none: short, so that an unreachable
/// server fails health probes and batches quickly instead of stalling them for the driver's
/// default 30 s.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Command not found: a server too old for `hello` (it answers `isMaster`).
const COMMAND_NOT_FOUND: i32 = 59;

/// A client for `url`, failing fast unless the URL sets its own timeouts. Parse errors are
/// `Invalid`, saying what kind of mistake it is and quoting nothing of the URL.
pub(super) async fn client(url: &str) -> Result<Client, ReadStoreError> {
    let invalid = |e: mongodb::error::Error| ReadStoreError::Invalid(url_error(url, &e));
    let mut options = ClientOptions::parse(url).await.map_err(invalid)?;
    options.server_selection_timeout = options.server_selection_timeout.or(Some(DEFAULT_TIMEOUT));
    options.connect_timeout = options.connect_timeout.or(Some(DEFAULT_TIMEOUT));
    options.app_name = options
        .app_name
        .or_else(|| Some("causeway-server".to_owned()));
    Client::with_options(options).map_err(invalid)
}

/// Asks the deployment what it is (`hello`) and picks the commit path: transactions on a
/// replica set (`setName`) or behind a mongos (`msg: isdbgrid`) with sessions, unless the
/// settings forbid them; the journal otherwise. The choice is logged.
pub(super) async fn detect(
    client: &Client,
    settings: &MongoSettings,
) -> Result<Atomicity, ReadStoreError> {
    let admin = client.database("admin");
    let hello = match admin.run_command(doc! { "hello": 1 }).await {
        Err(e) if is_command_not_found(&e) => admin.run_command(doc! { "isMaster": 1 }).await,
        other => other,
    }
    .map_err(|e| unavailable("asking the server what it is", &e))?;
    let set = hello.get_str("setName").ok();
    let router = hello.get_str("msg").is_ok_and(|m| m == "isdbgrid");
    let sessions = !matches!(
        hello.get("logicalSessionTimeoutMinutes"),
        None | Some(Bson::Null)
    );
    let database = settings.database.as_str();
    if (set.is_some() || router) && sessions && settings.transactions {
        info!(
            database,
            replica_set = set.unwrap_or("(mongos)"),
            "MongoDB read store: each batch commits documents and checkpoint in one transaction"
        );
        Ok(Atomicity::Transactions)
    } else {
        info!(
            database,
            standalone = set.is_none() && !router,
            "MongoDB read store without transactions: batches commit through the journal in \
             causeway.journal (finished after a crash, never applied twice)"
        );
        Ok(Atomicity::Journal)
    }
}

fn is_command_not_found(error: &mongodb::error::Error) -> bool {
    matches!(error.kind.as_ref(), ErrorKind::Command(c) if c.code == COMMAND_NOT_FOUND)
}

/// Accepts database names MongoDB takes everywhere: 1-63 characters of `[A-Za-z0-9_-]`.
pub(super) fn validate_database(name: &str) -> Result<(), ReadStoreError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ReadStoreError::Invalid(
            "the MongoDB database name must be 1-63 characters of [A-Za-z0-9_-]".to_owned(),
        ))
    }
}

/// Why `url` is not a usable connection string, in words that quote nothing of it. A
/// connection string carries secrets in its user info and in options
/// (`authMechanismProperties`, `tlsCertificateKeyFilePassword`), percent-encoded or not, and the
/// driver's messages quote values (decoded), so they are never shown: only the kind of mistake.
pub fn url_error(url: &str, error: &mongodb::error::Error) -> String {
    use mongodb::error::ErrorKind;
    let why = if !(url.starts_with("mongodb://") || url.starts_with("mongodb+srv://")) {
        "it must start with mongodb:// or mongodb+srv://"
    } else {
        match error.kind.as_ref() {
            ErrorKind::InvalidArgument { .. } => {
                "a host, an option or an option's value is not valid"
            }
            ErrorKind::DnsResolve { .. } => "its SRV host name does not resolve",
            _ => "it does not parse",
        }
    };
    format!(
        "MONGODB_URL is not a usable MongoDB connection string: {why} (the driver's detail is \
         withheld, since it may quote a password or a token)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_part_of_a_bad_url_reaches_the_message() {
        let urls = [
            "mongodb://ada:s3cr%40t@db1:27017,db2/causeway?authSource=admin&wtimeoutMS=banana",
            "mongodb://db:27017/?authMechanismProperties=AWS_SESSION_TOKEN=IQoJsecret%2Ftoken",
            "mongodb://db:27017/?tlsCertificateKeyFilePassword=hunter2&bogus",
            "postgres://ada:hunter2@db/causeway",
        ];
        for url in urls {
            let error = mongodb::options::ConnectionString::parse(url)
                .err()
                .unwrap_or_else(|| panic!("{url} should not parse"));
            let message = url_error(url, &error);
            for secret in ["s3cr", "ada", "IQoJ", "Ftoken", "hunter2", "db1", "banana"] {
                assert!(!message.contains(secret), "{url}: {message}");
            }
        }
    }

    #[test]
    fn database_names_are_checked() {
        assert!(validate_database("causeway_test-1").is_ok());
        for bad in ["", "a.b", "a b", "a/b", &"x".repeat(64)] {
            assert!(validate_database(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_bad_url_is_invalid_without_echoing_it() {
        match client("mongodb://u:hunter2@").await {
            Err(ReadStoreError::Invalid(message)) => {
                assert!(!message.contains("hunter2"), "{message}")
            }
            Err(other) => panic!("expected Invalid, got {other:?}"),
            Ok(_) => panic!("expected Invalid, got a client"),
        }
    }
}
