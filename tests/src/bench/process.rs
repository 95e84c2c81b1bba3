//! The real `causeway-server` binary as a process of its own, for the scenarios that judge what
//! a production process does over time: its resident memory and its thread count, read from
//! `/proc/<pid>/status`, with nothing of the load generator mixed in. When the run pins, the
//! process is started under `taskset` on the server's core.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use tonic::transport::{Channel, Endpoint};

use super::{BenchError, error::Context};

/// How long a started process may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a benchmark request may take before the client gives up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What `/proc/<pid>/status` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Resident set size, in KiB (`VmRSS`).
    pub rss_kib: u64,
    /// Threads (`Threads`).
    pub threads: u64,
}

impl Footprint {
    /// Resident memory in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }
}

/// A running `causeway-server` process, killed on drop.
pub struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    /// Starts the binary over `data_dir` with `args` (after `--listen`, `--data-dir`,
    /// `--auth disabled`, `--metrics-listen off`, full durability and `warn` logs), on core
    /// `core` when given.
    /// With `wrapper` (a command line, e.g. `heaptrack -o /tmp/server`), the binary runs under
    /// it.
    pub fn start(
        data_dir: &Path,
        args: &[&str],
        core: Option<usize>,
        wrapper: Option<&str>,
    ) -> Result<Self, BenchError> {
        let binary = server_binary()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .doing("finding a free port")?
            .port();
        let mut line: Vec<String> = Vec::new();
        if let Some(core) = core {
            line.extend(["taskset".to_owned(), "-c".to_owned(), core.to_string()]);
        }
        line.extend(
            wrapper
                .into_iter()
                .flat_map(str::split_whitespace)
                .map(str::to_owned),
        );
        let mut command = match line.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(&binary);
                command
            }
            None => Command::new(&binary),
        };
        // A group of its own, so that stopping it stops a wrapper's child too.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--auth", "disabled", "--metrics-listen", "off"])
            .args(["--durability", "full", "--log", "warn"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .doing(&format!("starting {}", binary.display()))?;
        Ok(Self { child, port })
    }

    /// A channel to the process once it accepts connections (bounded wait).
    pub async fn channel(&mut self) -> Result<Channel, BenchError> {
        let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{}", self.port))
            .doing("server url")?
            .timeout(REQUEST_TIMEOUT);
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            match endpoint.connect().await {
                Ok(channel) => return Ok(channel),
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    return Err(BenchError::new(format!(
                        "causeway-server never accepted connections: {e}"
                    )));
                }
                Err(_) => {}
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(BenchError::new(format!(
                    "causeway-server exited at start: {status}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The server's own process id: the child, or under a wrapper the wrapper's descendant
    /// named `causeway-server` (a wrapper may start helpers of its own beside it).
    fn server_pid(&self) -> u32 {
        let mut queue = std::collections::VecDeque::from([self.child.id()]);
        let mut visited = 0;
        while let Some(pid) = queue.pop_front() {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "causeway-server" {
                return pid;
            }
            visited += 1;
            if visited > 32 {
                break;
            }
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            queue.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
        self.child.id()
    }

    /// Ends the whole group: SIGINT first (a wrapper such as `perf record` or `heaptrack`
    /// writes its data when the server under it ends), SIGKILL after a bounded wait.
    fn end_group(&mut self) {
        let group = format!("-{}", self.child.id());
        let signal = |name: &str| {
            let _ = Command::new("kill")
                .args([name, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        signal("-INT");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        signal("-KILL");
        let _ = self.child.wait();
    }

    /// Its resident memory and threads now.
    pub fn footprint(&self) -> Result<Footprint, BenchError> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.server_pid()))
            .doing("reading the server's /proc status")?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|value| value.parse::<u64>().ok())
                .ok_or_else(|| BenchError::new(format!("no {name} in /proc status")))
        };
        Ok(Footprint {
            rss_kib: field("VmRSS:")?,
            threads: field("Threads:")?,
        })
    }

    /// Stops the process (its data set is scratch) and reports an earlier exit.
    pub fn stop(mut self) -> Result<(), BenchError> {
        let exited = self.child.try_wait().doing("checking the server process")?;
        self.end_group();
        match exited {
            Some(status) => Err(BenchError::new(format!(
                "causeway-server exited during the run: {status}"
            ))),
            None => Ok(()),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.end_group();
        }
    }
}

/// The `causeway-server` binary of the same build as this program: beside it (`causeway-bench`
/// in `target/<profile>/`) or one directory up (a test binary in `target/<profile>/deps/`).
fn server_binary() -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe().doing("finding this program")?;
    let found = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("causeway-server"))
        .find(|candidate| candidate.is_file());
    found.ok_or_else(|| {
        BenchError::new(format!(
            "no causeway-server binary beside {}: build it in the same profile \
             (`cargo build --release -p causeway-server`; scripts/bench does)",
            exe.display()
        ))
    })
}
