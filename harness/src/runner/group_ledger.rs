//! The ledger's view of parallel groups: every publish that went to a group, and when each
//! message's deliveries were acknowledged (for stranded messages and their extra delay).

use std::collections::HashMap;

use habench_workloads::Outcome;

use crate::runner::ledger::{Event, LedgerEntry};

/// One publish sent to a group (acknowledged or not).
#[derive(Debug, Clone)]
pub struct GroupPublish {
    /// µs since the Unix epoch when the outcome was known.
    pub at_us: i64,
    pub msg_id: i64,
    /// 1, 2...
    pub group: u8,
    pub outcome: Outcome,
    pub latency_us: u64,
    /// The message type (how many host queues it was routed to).
    pub subject: String,
}

#[derive(Debug, Default)]
pub struct GroupLedger {
    pub publishes: Vec<GroupPublish>,
    /// Per message: when each acknowledged completion or suspension was (a delivery ended).
    pub finished_us: HashMap<i64, Vec<i64>>,
}

impl GroupLedger {
    /// Keeps what a parallel-groups run needs of `e` (nothing without groups).
    pub(crate) fn add(&mut self, e: &LedgerEntry) {
        if e.group == 0 {
            return;
        }
        match e.event {
            Event::Publish => self.publishes.push(GroupPublish {
                at_us: e.at_us,
                msg_id: e.msg_id,
                group: e.group,
                outcome: e.outcome,
                latency_us: e.latency_us,
                subject: e.subject.clone(),
            }),
            Event::Complete | Event::Suspend if e.held && e.outcome.acknowledged() => {
                self.finished_us.entry(e.msg_id).or_default().push(e.at_us)
            }
            _ => {}
        }
    }
}
