//! The outcomes of an operation (Jepsen's ok / fail / info, and one PostgreSQL adds).
//!
//! * `Ok`: the server acknowledged it.
//! * `AckedUnreplicated`: the server acknowledged it, with the warning that it stopped waiting
//!   for synchronous replication (the wait was cancelled): committed on the primary, maybe on
//!   no standby. Acknowledged, so the checker holds it to the promise, but never counted as ok.
//! * `Fail`: the server said no and nothing happened.
//! * `Unknown`: the connection was lost or timed out while the operation could have committed.
//!
//! An unknown outcome is never counted as lost nor as done: the checker resolves it later by
//! reading what survived.

use serde::{Deserialize, Serialize};
use tokio_postgres::error::SqlState;

/// What the operation had reached when the error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before COMMIT was sent: an error means the transaction did not commit.
    BeforeCommit,
    /// COMMIT (or an autocommit statement) was sent: a lost answer may hide a commit.
    Commit,
}

/// Outcome of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Fail,
    Unknown,
    AckedUnreplicated,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [Outcome::Ok, Outcome::Fail, Outcome::Unknown, Outcome::AckedUnreplicated];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Unknown => "unknown",
            Outcome::AckedUnreplicated => "acked_unreplicated",
        }
    }

    /// Whether the client was told it committed.
    pub fn acknowledged(self) -> bool {
        matches!(self, Outcome::Ok | Outcome::AckedUnreplicated)
    }
}

/// Whether a server notice is PostgreSQL's warning that a commit stopped waiting for
/// synchronous replication because the query was cancelled (`canceling wait for synchronous
/// replication due to user request`; the commit then returns success). The variant sent when the
/// backend is terminated ends the connection, so that commit's outcome stays unknown. Matched on
/// the English text, as the servers habench starts speak it.
pub fn is_cancelled_sync_wait(code: &str, message: &str) -> bool {
    code == "01000" && message.starts_with("canceling wait for synchronous replication")
}

/// Classifies an error that ended an operation.
///
/// `timed_out` is true when the client gave up waiting (the error is then the harness's own).
pub fn classify(err: Option<&tokio_postgres::Error>, phase: Phase, timed_out: bool) -> Outcome {
    if timed_out && phase == Phase::Commit {
        return Outcome::Unknown;
    }
    classify_sqlstate(err.and_then(|e| e.code()).map(|c| c.code()), phase)
}

/// Classifies an error by its SQLSTATE (None: no answer from the server: I/O error, closed
/// connection, protocol error), for clients other than tokio-postgres.
pub fn classify_sqlstate(code: Option<&str>, phase: Phase) -> Outcome {
    if phase == Phase::BeforeCommit {
        return Outcome::Fail;
    }
    match code {
        Some(code) if server_lost_commit_state(&SqlState::from_code(code)) => Outcome::Unknown,
        Some(_) => Outcome::Fail,
        // The commit may have happened.
        None => Outcome::Unknown,
    }
}

/// An error as a person should read it: the server's own message and SQLSTATE when the server
/// sent one (tokio-postgres prints just "db error" for those), otherwise the client's text.
pub fn error_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {} ({})", db.severity(), db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// SQLSTATEs that the server sends when it is going away: the commit may or may not be durable.
fn server_lost_commit_state(code: &SqlState) -> bool {
    let c = code.code();
    c.starts_with("08") // connection exception
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
        || *code == SqlState::QUERY_CANCELED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_before_commit_are_failures() {
        assert_eq!(classify(None, Phase::BeforeCommit, true), Outcome::Fail);
        assert_eq!(classify(None, Phase::BeforeCommit, false), Outcome::Fail);
    }

    #[test]
    fn lost_answers_to_commit_are_unknown() {
        assert_eq!(classify(None, Phase::Commit, false), Outcome::Unknown);
        assert_eq!(classify(None, Phase::Commit, true), Outcome::Unknown);
    }

    #[test]
    fn shutdown_states_are_unknown_and_constraint_errors_fail() {
        assert!(server_lost_commit_state(&SqlState::ADMIN_SHUTDOWN));
        assert!(server_lost_commit_state(&SqlState::CONNECTION_FAILURE));
        assert!(!server_lost_commit_state(&SqlState::UNIQUE_VIOLATION));
        assert!(!server_lost_commit_state(&SqlState::T_R_SERIALIZATION_FAILURE));
    }

    #[test]
    fn sqlstates_classify_alike_from_any_client() {
        assert_eq!(classify_sqlstate(Some("57P01"), Phase::Commit), Outcome::Unknown, "admin shutdown");
        assert_eq!(classify_sqlstate(Some("08006"), Phase::Commit), Outcome::Unknown);
        assert_eq!(classify_sqlstate(Some("23505"), Phase::Commit), Outcome::Fail, "unique violation");
        assert_eq!(classify_sqlstate(None, Phase::Commit), Outcome::Unknown);
        assert_eq!(classify_sqlstate(Some("57P01"), Phase::BeforeCommit), Outcome::Fail);
    }

    #[test]
    fn outcome_names_are_stable_snake_case() {
        let names: Vec<_> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(names, ["ok", "fail", "unknown", "acked_unreplicated"]);
        assert!(Outcome::AckedUnreplicated.acknowledged() && !Outcome::Unknown.acknowledged());
    }

    #[test]
    fn the_cancelled_wait_warning_is_told_from_other_notices() {
        let text = "canceling wait for synchronous replication due to user request";
        assert!(is_cancelled_sync_wait("01000", text));
        assert!(!is_cancelled_sync_wait("57014", text), "an error, not the warning");
        assert!(!is_cancelled_sync_wait("01000", "there is no transaction in progress"));
    }
}
