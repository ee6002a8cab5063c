//! `ledger.csv`: every publish and completion with its outcome.

use crate::runner::ledger::LedgerEntry;

pub const HEADER: [&str; 9] =
    ["at_us", "event", "msg_id", "subject", "instance", "outcome", "held", "latency_us", "attempts"];

/// One entry's cells, in the order of `HEADER`.
pub fn record(e: &LedgerEntry) -> [String; 9] {
    [
        e.at_us.to_string(),
        e.event.as_str().to_string(),
        e.msg_id.to_string(),
        e.subject.to_string(),
        e.instance.to_string(),
        e.outcome.as_str().to_string(),
        e.held.to_string(),
        e.latency_us.to_string(),
        e.attempts.to_string(),
    ]
}
