//! The services under test as child processes.

use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Ports handed out start here, below Linux's ephemeral range (32768–60999 by default): an
/// ephemeral port that is free now can be taken a moment later by an outgoing connection (every
/// Kafka client opens several), before the service binds it.
const FIRST_PORT: u32 = 20_000;
const PORTS: u32 = 12_000;
static HANDED_OUT: AtomicU32 = AtomicU32::new(0);

/// A port nothing listens on now, never handed out before by this process; test binaries
/// start at different places (by process id), so ones running side by side rarely collide.
/// Where services started by tests keep their local state stores (`*_STATE_DIR`):
/// services are told apart by their unique ids, so one started again with the ids of a killed
/// one finds that one's store, as after a restart in production.
pub fn state_dir() -> std::path::PathBuf {
    std::env::temp_dir().join("open-bank-test-state")
}

pub fn free_port() -> u16 {
    let start = std::process::id().wrapping_mul(7_919) % PORTS;
    for _ in 0..PORTS {
        let next = HANDED_OUT.fetch_add(1, Ordering::Relaxed);
        let port = u16::try_from(FIRST_PORT + (start + next) % PORTS).expect("below 32000");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!(
        "no free port between {FIRST_PORT} and {}",
        FIRST_PORT + PORTS
    );
}

/// A service binary running as a child process, with its output in a log file.
///
/// It is killed (SIGKILL) when dropped, also when the test panics: a service left running
/// would keep its port, consumer group and transactional id, and handle or fence what the
/// next test does.
pub struct ServiceProcess {
    name: String,
    child: Child,
    health_port: u16,
    log: PathBuf,
}

/// What `/health` must answer before a service counts as started.
enum Ready {
    /// 200 `{"status":"ready"}`, and before it only 503 `{"status":"catching_up"}` or nothing.
    AfterCatchingUp,
    /// Any 200.
    Ok,
}

impl ServiceProcess {
    /// Starts `program` listening on 127.0.0.1 and a [`free_port`], which it is given in the
    /// variables `(port_variable, host_variable)`, with `RUST_LOG=info` (or
    /// `OPEN_BANK_SERVICE_LOG`, e.g. `info,librdkafka=debug` with `KAFKA_DEBUG=cgrp`), the Kafka identity of
    /// its principal ([`crate::service_identity`]) and `env` (which may override both). Stdin is closed, stdout and stderr go to `<temp dir>/<name>-<port>.log`:
    /// the log outlives the test for a look after a failure, and failures quote it. `name` also
    /// names the service in messages.
    pub fn start<K, V>(
        name: &str,
        program: impl AsRef<OsStr>,
        (port_variable, host_variable): (&str, &str),
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Self
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let health_port = free_port();
        let log = std::env::temp_dir().join(format!("{name}-{health_port}.log"));
        let log_file = std::fs::File::create(&log).expect("log file");
        let program = program.as_ref();
        let child = Command::new(program)
            .env(port_variable, health_port.to_string())
            .env(host_variable, "127.0.0.1")
            .env(
                "RUST_LOG",
                std::env::var("OPEN_BANK_SERVICE_LOG").unwrap_or_else(|_| "info".into()),
            )
            .envs(crate::service_identity(std::path::Path::new(program)))
            .envs(env)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        eprintln!("{name}: health port {health_port}, log {}", log.display());
        Self {
            name: name.to_string(),
            child,
            health_port,
            log,
        }
    }

    /// The port of its /health (the GraphQL endpoint serves everything on it).
    pub fn port(&self) -> u16 {
        self.health_port
    }

    /// Its process id, e.g. to read its memory from `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in KiB (`VmRSS` of `/proc/<pid>/status`), when it can be read.
    pub fn resident_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Everything the service has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("child status").is_none()
    }

    /// GET /health: (status code, JSON body), or None while nothing answers with JSON.
    /// The status code and JSON body of /health, or `None` when it does not answer.
    pub async fn health(&self) -> Option<(u16, Value)> {
        let response = reqwest::get(self.health_url()).await.ok()?;
        let code = response.status().as_u16();
        Some((code, response.json().await.ok()?))
    }

    /// Waits for 200 `{"status":"ready"}` on /health, seeing only 503 `{"status":"catching_up"}`
    /// (or no answer) before: the command handler and the projector rebuild their state first.
    /// Fails the test, quoting the log, when the service exits or is not ready `within`.
    pub async fn wait_ready(&mut self, within: Duration) {
        self.wait_for(Ready::AfterCatchingUp, within).await;
    }

    /// Waits for any 200 on /health; fails like [`Self::wait_ready`].
    pub async fn wait_healthy(&mut self, within: Duration) {
        self.wait_for(Ready::Ok, within).await;
    }

    async fn wait_for(&mut self, ready: Ready, within: Duration) {
        let deadline = Instant::now() + within;
        let mut seen_catching_up = false;
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                panic!(
                    "{} exited with {status}; log:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            match ready {
                Ready::AfterCatchingUp => match self.health().await {
                    Some((200, body)) => {
                        assert_eq!(body["status"], "ready");
                        return;
                    }
                    Some((503, body)) => {
                        assert_eq!(body["status"], "catching_up");
                        if !seen_catching_up {
                            eprintln!("{}: health: 503 {body}", self.name);
                            seen_catching_up = true;
                        }
                    }
                    Some((code, body)) => panic!("unexpected health answer {code} {body}"),
                    None => {}
                },
                Ready::Ok => {
                    if let Ok(response) = reqwest::get(self.health_url()).await {
                        if response.status().as_u16() == 200 {
                            return;
                        }
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready within {within:?}; log:\n{}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn health_url(&self) -> String {
        format!("http://127.0.0.1:{}/health", self.health_port)
    }

    /// SIGKILL: no chance to finish or abort anything, as in a crash.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits (bounded) for the process to exit by itself.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("child status") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// SIGTERM, the way a supervisor stops a service, then waits up to 30 s for the exit.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(30))
    }

    /// SIGSTOP: the process freezes mid-work, as in a long GC pause or a VM stall, and its
    /// sessions with Kafka expire while it holds whatever it was doing.
    pub fn pause(&mut self) {
        self.signal("STOP");
    }

    /// SIGCONT after [`Self::pause`]: it wakes up believing nothing happened.
    pub fn resume(&mut self) {
        self.signal("CONT");
    }

    fn signal(&mut self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([format!("-{signal}").as_str(), &pid])
            .status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -{signal}");
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
