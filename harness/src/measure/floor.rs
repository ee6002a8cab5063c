//! The physical floor of a commit: what the hardware alone costs. Local WAL flush from
//! `pg_test_fsync` (fdatasync of one 8 kB write, as PostgreSQL's default `wal_sync_method`
//! does), measured once a day per work root and cached; the client round trip to the server
//! (`SELECT 1`, the fastest of 20) measured at each run.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::pg::PgEnv;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Floor {
    /// One 8 kB write + fdatasync, µs (pg_test_fsync).
    pub fdatasync_us: Option<f64>,
    /// When it was measured (seconds since the Unix epoch).
    pub fdatasync_measured_at: u64,
    /// Fastest `SELECT 1` round trip to the primary, µs.
    pub round_trip_us: Option<f64>,
}

const CACHE: &str = "physical-floor.json";
const CACHE_FOR: Duration = Duration::from_secs(24 * 3600);

fn now_s() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Reads `usecs/op` of the fdatasync line in pg_test_fsync's single-write section.
pub(crate) fn parse_pg_test_fsync(out: &str) -> Option<f64> {
    let section = out.split("Compare file sync methods using one").nth(1)?;
    let section = section.split("Compare file sync methods using two").next()?;
    let line = section.lines().find(|l| l.trim_start().starts_with("fdatasync"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let i = words.iter().position(|w| *w == "usecs/op")?;
    words.get(i - 1)?.parse().ok()
}

/// The local WAL flush time, from the cache when it is fresh, else measured now (~15 s) in
/// `data_dir` (a server's data directory: the file system its WAL is on, writable by the server
/// user).
pub(crate) async fn fdatasync(env: &PgEnv, data_dir: &Path) -> (Option<f64>, u64) {
    let cache = env.root.path().join(CACHE);
    if let Some(f) = read_cache(&cache) {
        if now_s().saturating_sub(f.fdatasync_measured_at) < CACHE_FOR.as_secs() && f.fdatasync_us.is_some() {
            return (f.fdatasync_us, f.fdatasync_measured_at);
        }
    }
    // One process measures (it holds the lock while it does, however it ends); others running
    // at the same time go without.
    let lock = env.root.path().join("physical-floor.lock");
    let Ok(Some(_held)) = crate::pg::flock::try_exclusive(&lock) else { return (None, now_s()) };
    let file = data_dir.join("habench_pg_test_fsync.tmp");
    let file = file.to_string_lossy().into_owned();
    let us = match env.run_tool("pg_test_fsync", &["-s", "1", "-f", &file]).await {
        Ok(out) => parse_pg_test_fsync(&out),
        Err(e) => {
            tracing::warn!("pg_test_fsync: {e}");
            None
        }
    };
    let _ = std::fs::remove_file(&file);
    let f = Floor { fdatasync_us: us, fdatasync_measured_at: now_s(), round_trip_us: None };
    if us.is_some() {
        let tmp = cache.with_extension("tmp");
        if std::fs::write(&tmp, serde_json::to_vec(&f).unwrap_or_default()).is_ok() {
            let _ = std::fs::rename(&tmp, &cache);
        }
    }
    (us, f.fdatasync_measured_at)
}

fn read_cache(p: &Path) -> Option<Floor> {
    serde_json::from_slice(&std::fs::read(p).ok()?).ok()
}

/// The fastest of 20 `SELECT 1` round trips.
pub(crate) async fn round_trip(client: &tokio_postgres::Client) -> Option<f64> {
    let mut best: Option<Duration> = None;
    for _ in 0..20 {
        let t0 = Instant::now();
        client.simple_query("SELECT 1").await.ok()?;
        let d = t0.elapsed();
        best = Some(best.map_or(d, |b| b.min(d)));
    }
    best.map(|d| d.as_secs_f64() * 1e6)
}

/// The commit floor of a setup: local flush, plus (when commits wait for a standby) a round
/// trip and the standby's own flush.
pub(crate) fn commit_floor_us(f: &Floor, waits_for_standby: bool) -> Option<f64> {
    let flush = f.fdatasync_us?;
    if waits_for_standby {
        Some(flush + f.round_trip_us.unwrap_or(0.0) + flush)
    } else {
        Some(flush)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = "5 seconds per test
O_DIRECT supported on this platform for open_datasync and open_sync.

Compare file sync methods using one 8kB write:
(in wal_sync_method preference order, except fdatasync is Linux's default)
        open_datasync                      2345.678 ops/sec     426 usecs/op
        fdatasync                          2000.000 ops/sec     500 usecs/op
        fsync                              1000.000 ops/sec    1000 usecs/op

Compare file sync methods using two 8kB writes:
        fdatasync                          1500.000 ops/sec     666 usecs/op
";

    #[test]
    fn the_single_write_fdatasync_line_is_read() {
        assert_eq!(parse_pg_test_fsync(OUT), Some(500.0));
        assert_eq!(parse_pg_test_fsync("nothing"), None);
    }

    #[test]
    fn a_synchronous_commit_adds_a_round_trip_and_the_standby_flush() {
        let f = Floor { fdatasync_us: Some(500.0), fdatasync_measured_at: 0, round_trip_us: Some(50.0) };
        assert_eq!(commit_floor_us(&f, false), Some(500.0));
        assert_eq!(commit_floor_us(&f, true), Some(1050.0));
    }
}
