//! A reporting connection: report queries prepared once, plus where the server's replay stands.

use tokio_postgres::{Client, Statement};

use crate::messagebox::config::MessageBoxConfig;
use crate::messagebox::OpError;
use crate::outcome::Outcome;
use crate::reporting::mix::ReportKind;
use crate::reporting::queries;

/// What the connection landed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerRole {
    pub in_recovery: bool,
    pub backend_pid: i32,
}

/// A standby's replay position at query time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadPosition {
    /// Milliseconds since the last replayed transaction committed on the primary (None before
    /// the standby replayed any).
    pub replay_age_ms: Option<f64>,
    /// Replayed LSN as a byte position (None on a primary).
    pub replay_lsn: Option<i64>,
}

#[derive(Debug)]
pub struct ReportSession {
    client: Client,
    role: ServerRole,
    window_s: f64,
    counts: Statement,
    lookup: Statement,
    slowest: Statement,
    depth: Statement,
    scan: Statement,
}

impl ReportSession {
    /// Prepares the report queries; `window_s` is the "recent" window of counts and slowest.
    pub async fn prepare(
        client: Client,
        cfg: &MessageBoxConfig,
        window_s: f64,
    ) -> Result<ReportSession, tokio_postgres::Error> {
        let row = client.query_one(queries::SERVER_ROLE_SQL, &[]).await?;
        let role = ServerRole { in_recovery: row.get(0), backend_pid: row.get(1) };
        Ok(ReportSession {
            counts: client.prepare(&queries::counts_sql()).await?,
            lookup: client.prepare(&queries::lookup_sql()).await?,
            slowest: client.prepare(&queries::slowest_sql()).await?,
            depth: client.prepare(&queries::depth_sql(cfg)).await?,
            scan: client.prepare(&queries::scan_sql()).await?,
            client,
            role,
            window_s,
        })
    }

    pub fn role(&self) -> ServerRole {
        self.role
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Runs one report query; returns the rows it read. `lookup` is the message (id, host) the
    /// lookup query looks for.
    pub async fn run(&self, kind: ReportKind, lookup: Option<(i64, &str)>) -> Result<usize, OpError> {
        let rows = match kind {
            ReportKind::Counts => self.client.query(&self.counts, &[&self.window_s]).await,
            ReportKind::Slowest => self.client.query(&self.slowest, &[&self.window_s]).await,
            ReportKind::Depth => self.client.query(&self.depth, &[]).await,
            ReportKind::Scan => self.client.query(&self.scan, &[]).await,
            ReportKind::Lookup => {
                let (id, host) = lookup.unwrap_or((-1, ""));
                self.client.query(&self.lookup, &[&id, &host]).await
            }
        };
        rows.map(|r| r.len()).map_err(|e| read_error(&e))
    }

    /// Where this server's replay stands now.
    pub async fn read_position(&self) -> Result<ReadPosition, OpError> {
        let row = self.client.query_one(queries::READ_POSITION_SQL, &[]).await.map_err(|e| read_error(&e))?;
        Ok(ReadPosition { replay_age_ms: row.get(0), replay_lsn: row.get(1) })
    }
}

/// A read that failed: nothing was written, so it is a failure, never unknown.
fn read_error(e: &tokio_postgres::Error) -> OpError {
    OpError { outcome: Outcome::Fail, message: crate::outcome::error_text(e), closed: e.is_closed() }
}

/// True when the server cancelled the query (or ended the session) because WAL replay on a hot
/// standby needed what the query held: a recovery conflict.
pub fn is_recovery_conflict(message: &str) -> bool {
    message.contains("conflict with recovery")
}

/// The recovery-conflict counters of the connection's database (tablespace, lock, snapshot,
/// bufferpin, deadlock).
pub async fn conflict_counts(client: &Client) -> Result<[i64; 5], tokio_postgres::Error> {
    let row = client.query_one(queries::CONFLICTS_SQL, &[]).await?;
    Ok([row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_conflicts_are_recognised_by_the_server_message() {
        assert!(is_recovery_conflict("ERROR: canceling statement due to conflict with recovery (40001)"));
        assert!(is_recovery_conflict("FATAL: terminating connection due to conflict with recovery (40001)"));
        assert!(!is_recovery_conflict("ERROR: relation \"mbox.tracking\" does not exist (42P01)"));
    }
}
