//! The operations habench times.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// MessageBox publish: spool + parts + one queue entry per subscribed host.
    Publish,
    /// Calibration: one single-row INSERT.
    Insert,
    /// A dequeue that returned messages (empty dequeues are counted apart: they commit nothing).
    Dequeue,
    /// Delete entry + tracking + reference release.
    Complete,
    /// A delivery that failed and moved to the suspended queue.
    Suspend,
    /// Intended publish start to completed delivery, per host.
    EndToEnd,
    /// The purge job.
    Cleanup,
    /// A report (tracking/BAM) query, on the primary or a standby.
    Report,
}

impl Op {
    pub(crate) const ALL: [Op; 8] =
        [Op::Publish, Op::Insert, Op::Dequeue, Op::Complete, Op::Suspend, Op::EndToEnd, Op::Cleanup, Op::Report];
    pub(crate) const COUNT: usize = Self::ALL.len();

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Publish => "publish",
            Op::Insert => "insert",
            Op::Dequeue => "dequeue",
            Op::Complete => "complete",
            Op::Suspend => "suspend",
            Op::EndToEnd => "end_to_end",
            Op::Cleanup => "cleanup",
            Op::Report => "report",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}
