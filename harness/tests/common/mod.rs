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

/// Polls `f` until it returns Some or the deadline passes.
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

/// A fresh temporary folder, removed when dropped: also when the test fails.
#[derive(Debug)]
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// `$TMPDIR/habench-<area>-test-<tag>-<pid>`, emptied if a crashed run left it.
    pub fn new(area: &str, tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("habench-{area}-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        TempDir(p)
    }
}

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for TempDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
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
    let deadline = Instant::now() + Duration::from_secs(60);
    let timeline = out.join("timeline.csv");
    while std::fs::read_to_string(&timeline).map(|t| t.matches(",measure,").count()).unwrap_or(0) < n {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no measured interval appeared in {}", timeline.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
