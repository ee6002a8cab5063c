//! The report queries' SQL. Every query reads only the `mbox` schema, so it runs the same on a
//! primary and on a hot standby.

use std::fmt::Write;

use crate::messagebox::config::MessageBoxConfig;
use crate::messagebox::schema::SCHEMA;

/// Message counts by type and status over the last $1 seconds.
pub fn counts_sql() -> String {
    format!(
        "SELECT msg_type, status, count(*) FROM {SCHEMA}.tracking
WHERE completed_at > now() - make_interval(secs => $1)
GROUP BY msg_type, status"
    )
}

/// The tracking row of message $1 at host $2.
pub fn lookup_sql() -> String {
    format!("SELECT status, e2e_us FROM {SCHEMA}.tracking WHERE msg_id = $1 AND host = $2")
}

/// The 10 slowest end-to-end deliveries of the last $1 seconds.
pub fn slowest_sql() -> String {
    format!(
        "SELECT msg_id, host, e2e_us FROM {SCHEMA}.tracking
WHERE completed_at > now() - make_interval(secs => $1)
ORDER BY e2e_us DESC LIMIT 10"
    )
}

/// Queue depth per host.
pub fn depth_sql(cfg: &MessageBoxConfig) -> String {
    let mut sql = String::new();
    for (i, h) in cfg.hosts.iter().enumerate() {
        if i > 0 {
            sql.push_str("\nUNION ALL ");
        }
        let _ = write!(sql, "SELECT '{0}'::text, count(*) FROM {SCHEMA}.q_{0}", h.name);
    }
    sql
}

/// The heavy report: end-to-end percentiles of the whole tracking table by host and status.
pub fn scan_sql() -> String {
    format!(
        "SELECT host, status, count(*), avg(e2e_us)::float8,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY e2e_us)
FROM {SCHEMA}.tracking GROUP BY host, status"
    )
}

/// Where a standby's replay stands: ms since the last replayed commit was made on the primary,
/// and the replayed LSN (as a number).
pub const READ_POSITION_SQL: &str = "SELECT
  (extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::float8,
  pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::int8";

/// Whether the server is a standby, and the backend serving this connection.
pub const SERVER_ROLE_SQL: &str = "SELECT pg_is_in_recovery(), pg_backend_pid()";

/// Recovery-conflict cancellations the server counted for this database, by cause.
pub const CONFLICTS_SQL: &str = "SELECT confl_tablespace, confl_lock, confl_snapshot, confl_bufferpin, confl_deadlock
FROM pg_stat_database_conflicts WHERE datname = current_database()";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_reads_every_host_queue() {
        let sql = depth_sql(&MessageBoxConfig::default());
        assert!(sql.contains("FROM mbox.q_send") && sql.contains("FROM mbox.q_archive"), "{sql}");
    }
}
