//! A value built from files and built again when one of them changes.
//!
//! Rotation tools replace files rather than edit them: cert-manager and Kubernetes swap a
//! symlinked directory, mesh agents rename a new file over the old one, and some write the
//! certificate and the key one after the other. So a change is seen by what `stat` reports
//! (file identity, size, modification time, through symlinks), checked whenever the value is
//! asked for: once per new connection, a few microseconds beside a handshake. A build that
//! fails (a half-written pair, a key that does not match yet) keeps the previous value and is
//! tried again at the next change, so a rotation in two steps never interrupts service.

use std::{path::PathBuf, sync::Mutex, time::SystemTime};

use crate::TlsError;

/// What `stat` says about one file; `None` when it cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    #[cfg(unix)]
    device_and_inode: (u64, u64),
    len: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &PathBuf) -> Option<Stamp> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let device_and_inode = {
        use std::os::unix::fs::MetadataExt;
        (metadata.dev(), metadata.ino())
    };
    Some(Stamp {
        #[cfg(unix)]
        device_and_inode,
        len: metadata.len(),
        modified: metadata.modified().ok(),
    })
}

type Build<T> = Box<dyn Fn() -> Result<T, TlsError> + Send + Sync>;

/// A value built by `build` from `files`, rebuilt when they change; see the module docs.
pub struct Watched<T> {
    files: Vec<PathBuf>,
    build: Build<T>,
    state: Mutex<State<T>>,
}

struct State<T> {
    seen: Vec<Option<Stamp>>,
    current: T,
}

impl<T> std::fmt::Debug for Watched<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watched")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl<T: Clone> Watched<T> {
    /// Builds the first value now: a process must not start with files it cannot use.
    pub fn new(
        files: Vec<PathBuf>,
        build: impl Fn() -> Result<T, TlsError> + Send + Sync + 'static,
    ) -> Result<Self, TlsError> {
        let seen = files.iter().map(stamp).collect();
        let current = build()?;
        Ok(Self {
            files,
            build: Box::new(build),
            state: Mutex::new(State { seen, current }),
        })
    }

    /// The value for the files as they are now: rebuilt first if any changed since the last
    /// look, the previous one if that build fails.
    pub fn current(&self) -> T {
        let now: Vec<_> = self.files.iter().map(stamp).collect();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now != state.seen {
            state.seen = now;
            match (self.build)() {
                Ok(value) => {
                    state.current = value;
                    tracing::info!(files = ?self.files, "TLS files changed: reloaded");
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    "TLS files changed but cannot be used (yet); keeping the previous ones"
                ),
            }
        }
        state.current.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    /// Replaces `path` the way rotation tools do: a new file renamed over the old one.
    fn replace(path: &std::path::Path, text: &str) {
        let next = path.with_extension("next");
        std::fs::write(&next, text).unwrap();
        std::fs::rename(&next, path).unwrap();
    }

    #[test]
    fn rebuilds_only_on_change_and_keeps_the_last_good_value() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("value");
        std::fs::write(&file, "1").unwrap();
        let builds = Arc::new(AtomicUsize::new(0));
        let (path, counted) = (file.clone(), builds.clone());
        let watched = Watched::new(vec![file.clone()], move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            text.trim()
                .parse::<u32>()
                .map_err(|e| TlsError::Config(e.to_string()))
        })
        .unwrap();
        assert_eq!((watched.current(), watched.current()), (1, 1));
        assert_eq!(
            builds.load(Ordering::SeqCst),
            1,
            "unchanged files are not re-read"
        );

        replace(&file, "2");
        assert_eq!(watched.current(), 2);
        replace(&file, "half-written");
        assert_eq!(
            watched.current(),
            2,
            "a failed build keeps the previous value"
        );
        let tries = builds.load(Ordering::SeqCst);
        assert_eq!(watched.current(), 2);
        assert_eq!(
            builds.load(Ordering::SeqCst),
            tries,
            "a failure is not retried until the next change"
        );
        replace(&file, "3");
        assert_eq!(watched.current(), 3);

        std::fs::remove_file(&file).unwrap();
        assert_eq!(
            watched.current(),
            3,
            "a vanished file keeps the previous value"
        );
    }

    #[test]
    fn a_value_that_cannot_be_built_at_start_is_an_error() {
        let missing = PathBuf::from("/nonexistent/causeway-tls");
        let built = Watched::new(vec![missing], || -> Result<u32, _> {
            Err(TlsError::Config("no".into()))
        });
        assert!(built.is_err());
    }
}
