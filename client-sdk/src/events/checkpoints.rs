//! Where a [`super::Consumer`] keeps how far it got: the position of the last item it handled.
//! The trait is small so that a service can keep its checkpoint in the same transaction as
//! its own writes (then every event takes effect exactly once); the two stores here are for
//! tests ([`MemoryCheckpoints`]) and for services whose effects are idempotent or checked by
//! position ([`FileCheckpoints`]).

use std::{
    future::Future,
    io,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

/// Why a checkpoint could not be loaded or stored.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The store failed.
    #[error("checkpoint store: {0}")]
    Io(#[from] io::Error),
    /// What the store holds is not a position.
    #[error("checkpoint store holds {0:?}, not a position")]
    Corrupt(String),
}

/// A durable "handled up to here" for one consumer.
pub trait Checkpoints: Send + Sync {
    /// The position stored last; `None` before the first.
    fn load(&self) -> impl Future<Output = Result<Option<u64>, CheckpointError>> + Send;

    /// Stores `position`: every item up to it has been handled.
    fn store(&self, position: u64) -> impl Future<Output = Result<(), CheckpointError>> + Send;
}

/// A checkpoint in memory, shared by clones: lost with the process.
#[derive(Debug, Clone, Default)]
pub struct MemoryCheckpoints {
    position: Arc<Mutex<Option<u64>>>,
}

impl MemoryCheckpoints {
    /// A store that starts at `position` (`None`: from the start of the log).
    pub fn starting_at(position: Option<u64>) -> Self {
        Self {
            position: Arc::new(Mutex::new(position)),
        }
    }

    /// What it holds now.
    pub fn position(&self) -> Option<u64> {
        *self.position.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Checkpoints for MemoryCheckpoints {
    async fn load(&self) -> Result<Option<u64>, CheckpointError> {
        Ok(self.position())
    }

    async fn store(&self, position: u64) -> Result<(), CheckpointError> {
        *self.position.lock().unwrap_or_else(|e| e.into_inner()) = Some(position);
        Ok(())
    }
}

/// A checkpoint in a file of its own, holding the position as decimal text. Each store writes
/// a temporary file beside it, flushes it to disk and renames it over the old one, so a crash
/// leaves either the old position or the new one, never a torn write.
#[derive(Debug, Clone)]
pub struct FileCheckpoints {
    path: PathBuf,
}

impl FileCheckpoints {
    /// A store in the file at `path` (created by the first store; its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Checkpoints for FileCheckpoints {
    async fn load(&self) -> Result<Option<u64>, CheckpointError> {
        let path = self.path.clone();
        let text = match tokio::task::spawn_blocking(move || std::fs::read_to_string(path)).await {
            Ok(Ok(text)) => text,
            Ok(Err(e)) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Ok(Err(e)) => return Err(e.into()),
            Err(e) => return Err(io::Error::other(e).into()),
        };
        let text = text.trim();
        text.parse()
            .map(Some)
            .map_err(|_| CheckpointError::Corrupt(text.chars().take(40).collect()))
    }

    async fn store(&self, position: u64) -> Result<(), CheckpointError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || replace(&path, position))
            .await
            .map_err(io::Error::other)??;
        Ok(())
    }
}

/// Writes `position` to a temporary file beside `path`, syncs it and renames it over `path`.
fn replace(path: &Path, position: u64) -> io::Result<()> {
    use std::io::Write;

    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary)?;
    writeln!(file, "{position}")?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    // The rename itself is durable once the directory is synced (where the platform allows).
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_checkpoint_survives_a_new_store_and_refuses_garbage() {
        let dir = std::env::temp_dir().join(format!("causeway-cp-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("consumer.checkpoint");
        let store = FileCheckpoints::new(&path);
        assert_eq!(store.load().await.unwrap(), None);
        store.store(41).await.unwrap();
        store.store(42).await.unwrap();
        assert_eq!(FileCheckpoints::new(&path).load().await.unwrap(), Some(42));
        assert!(!dir.join("consumer.checkpoint.tmp").exists());
        std::fs::write(&path, "forty-two").unwrap();
        assert!(matches!(
            store.load().await,
            Err(CheckpointError::Corrupt(text)) if text == "forty-two"
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_memory_checkpoint_is_shared_by_clones() {
        let store = MemoryCheckpoints::starting_at(Some(3));
        let clone = store.clone();
        assert_eq!(clone.load().await.unwrap(), Some(3));
        store.store(9).await.unwrap();
        assert_eq!(clone.position(), Some(9));
    }
}
