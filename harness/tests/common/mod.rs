//! Shared helpers of the real-PostgreSQL integration tests.
#![allow(dead_code)]

pub mod kept;

use std::sync::Arc;
use std::time::{Duration, Instant};

use habench::pg::procs::{self, ProcId};
use habench::pg::{EnvOptions, Node, PgEnv};
use habench::topology::Topology;

/// The environment every test uses: binaries, server user and work root from the defaults
/// (`HABENCH_PG_BIN`, `HABENCH_WORK` when set).
pub fn env() -> Arc<PgEnv> {
    PgEnv::discover(&EnvOptions::default()).expect("PostgreSQL binaries and work dir")
}

/// Every server process of the topology right now: postmasters and their descendants.
pub fn server_processes(t: &mut dyn Topology) -> Vec<ProcId> {
    let mut all = Vec::new();
    for n in t.nodes_mut() {
        if let Some(pid) = n.pid() {
            all.push(ProcId::of(pid).expect("postmaster in /proc"));
            all.extend(procs::descendants(pid));
        }
    }
    all
}

/// Asserts that none of `procs` runs any more (polling: exits are asynchronous).
pub fn assert_all_gone(procs: &[ProcId]) {
    assert!(!procs.is_empty(), "no processes recorded: the test would prove nothing");
    let gone = procs::wait_gone_blocking(procs, Duration::from_secs(10));
    let alive: Vec<u32> = procs.iter().filter(|p| p.is_running()).map(|p| p.pid).collect();
    assert!(gone, "server processes left behind: {alive:?}");
}

/// Polls `f` every 20 ms until it returns Some; after `timeout`, the error names `what`. The
/// one polling loop of the blocking tests (`poll_blocking`, `poll_child`, `wait_exit`).
pub fn poll_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Result<T, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `f` until it returns Some; fails the test after `timeout`.
pub fn poll_blocking<T>(what: &str, timeout: Duration, f: impl FnMut() -> Option<T>) -> T {
    poll_until(what, timeout, f).unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `f` until it returns Some; after `timeout`, kills `child` (it would outlive the test)
/// and fails.
pub fn poll_child<T>(
    child: &mut std::process::Child,
    what: &str,
    timeout: Duration,
    f: impl FnMut() -> Option<T>,
) -> T {
    poll_until(what, timeout, f).unwrap_or_else(|e| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{e}")
    })
}

/// Waits for `child` to exit; after `timeout`, kills it and fails.
pub fn wait_exit(child: &mut std::process::Child, timeout: Duration) -> std::process::ExitStatus {
    let done = poll_until("the process to exit", timeout, || child.try_wait().unwrap());
    done.unwrap_or_else(|e| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{e}")
    })
}

/// The async twin of [`poll_blocking`], for tests on a runtime.
pub async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates a table and inserts `ids` on `node` (one transaction per row).
pub async fn insert_rows(node: &Node, ids: std::ops::Range<i64>) {
    let client = node.connect().await.expect("connect");
    client.batch_execute("CREATE TABLE IF NOT EXISTS t (id bigint PRIMARY KEY)").await.expect("create table");
    for id in ids {
        client.execute("INSERT INTO t VALUES ($1)", &[&id]).await.expect("insert");
    }
}

/// Row count of `t` on `node`, or None while it cannot be read (table not replayed yet).
pub async fn count_rows(node: &Node) -> Option<i64> {
    let client = node.connect().await.ok()?;
    let row = client.query_one("SELECT count(*) FROM t", &[]).await.ok()?;
    Some(row.get(0))
}

/// A fresh path for a results folder or a work root (not created: habench creates it), inside
/// a directory of its own that tempfile removes when dropped, also when the test fails. The
/// directory is readable by others: servers run as the `postgres` user when tests run as root.
#[derive(Debug)]
pub struct TempDir {
    _root: tempfile::TempDir,
    path: std::path::PathBuf,
}

impl TempDir {
    /// `$TMPDIR/habench-<area>-test-XXXX/<tag>`.
    pub fn new(area: &str, tag: &str) -> TempDir {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::Builder::new()
            .prefix(&format!("habench-{area}-test-"))
            .permissions(std::fs::Permissions::from_mode(0o755))
            .tempdir()
            .expect("a temporary directory");
        let path = root.path().join(tag);
        TempDir { _root: root, path }
    }
}

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.path
    }
}

impl AsRef<std::path::Path> for TempDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.path
    }
}

/// The habench binary of this build.
pub fn habench() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_habench"))
}

/// Kills the child on drop, so that a failing assertion leaves nothing behind.
pub struct Guard(pub std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `habench topology up ARGS`: the running process (guarded) and the one JSON line it printed.
pub fn start_up(args: &[&str]) -> (Guard, serde_json::Value) {
    use std::io::BufRead;
    let mut child = habench()
        .args(["topology", "up"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = Guard(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not one JSON line ({e}): {line:?}"));
    (guard, json)
}

/// Waits (up to 60 s) until the run writing into `out` has `n` measured intervals in its
/// timeline; kills `child` and fails when none come.
pub fn wait_measured_intervals(child: &mut std::process::Child, out: &std::path::Path, n: usize) {
    let timeline = out.join("timeline.csv");
    let what = format!("{n} measured intervals in {}", timeline.display());
    poll_child(child, &what, Duration::from_secs(60), || {
        let rows = std::fs::read_to_string(&timeline).map(|t| t.matches(",measure,").count()).unwrap_or(0);
        (rows >= n).then_some(())
    });
}
