//! The real `causeway-server` binary as a process with its read models in MongoDB: for tests
//! that kill a process (SIGKILL) or read what it logs.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use tonic::transport::{Channel, Endpoint};

use super::MongoServer;

/// How long a started process may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The `causeway-server` binary beside the running test binary.
pub fn server_binary() -> PathBuf {
    crate::tools::workspace_binary("causeway-server")
}

/// A `causeway-server` process, SIGKILLed on drop.
pub struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    /// Starts `causeway-server --role <role>` on a free port over `data_dir`, with its read
    /// models in `database` on `mongo`, logging at `warn` into `log` (or nowhere).
    pub fn start(
        role: &str,
        data_dir: &Path,
        mongo: &MongoServer,
        database: &str,
        log: Option<&Path>,
    ) -> Self {
        let env = [
            ("MONGODB_URL", mongo.url()),
            ("CAUSEWAY_MONGODB_DATABASE", database),
        ];
        Self::start_with(role, data_dir, &env, log)
    }

    /// Starts `causeway-server --role <role>` on a free port over `data_dir` with `env` (e.g.
    /// `KURRENTDB_URL`, `MONGODB_URL`), authentication off, logging at `warn` into `log` (or
    /// nowhere).
    pub fn start_with(
        role: &str,
        data_dir: &Path,
        env: &[(&str, &str)],
        log: Option<&Path>,
    ) -> Self {
        Self::start_with_args(role, data_dir, env, &[], log)
    }

    /// [`ServerProcess::start_with`] with more command-line `args`; `/metrics` stays off unless
    /// they give `--metrics-listen`.
    pub fn start_with_args(
        role: &str,
        data_dir: &Path,
        env: &[(&str, &str)],
        args: &[&str],
        log: Option<&Path>,
    ) -> Self {
        let port = crate::tools::free_port();
        // The server logs to stdout; both streams go to the log file.
        let (stdout, stderr) = match log {
            Some(path) => {
                let file = std::fs::File::create(path).expect("log file");
                let copy = file.try_clone().expect("log file handle");
                (Stdio::from(file), Stdio::from(copy))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let metrics_off: &[&str] = match args.contains(&"--metrics-listen") {
            true => &[],
            false => &["--metrics-listen", "off"],
        };
        let child = Command::new(server_binary())
            .args(["--role", role, "--listen", &format!("127.0.0.1:{port}")])
            .args(["--auth", "disabled"])
            .args(metrics_off)
            .args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .envs(env.iter().copied())
            .env("CAUSEWAY_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("the server binary starts");
        Self { child, port }
    }

    /// A channel to it once it accepts connections (bounded wait).
    pub async fn channel(&self) -> Channel {
        let endpoint =
            Endpoint::from_shared(format!("http://127.0.0.1:{}", self.port)).expect("url");
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            match endpoint.connect().await {
                Ok(channel) => return channel,
                Err(e) => assert!(
                    tokio::time::Instant::now() < deadline,
                    "server on port {} never came up: {e}",
                    self.port
                ),
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process id, to read what the kernel says about it (`/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, no goodbye.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
