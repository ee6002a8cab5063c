//! `ledger.csv`: every publish and completion with its outcome.

use crate::runner::ledger::LedgerEntry;

pub const HEADER: &str = "at_us,event,msg_id,subject,instance,outcome,held,latency_us,attempts\n";

pub fn row(e: &LedgerEntry) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{}\n",
        e.at_us,
        e.event.as_str(),
        e.msg_id,
        e.subject,
        e.instance,
        e.outcome.as_str(),
        e.held,
        e.latency_us,
        e.attempts
    )
}
