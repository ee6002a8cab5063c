//! The ledger: every publish and every completion with its outcome, kept outside the cluster
//! under test. Workers send entries; the results store writes them (`ledger.csv`).

use habench_workloads::Outcome;
use serde::Serialize;
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Publish,
    Insert,
    Complete,
    Suspend,
}

impl Event {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Event::Publish => "publish",
            Event::Insert => "insert",
            Event::Complete => "complete",
            Event::Suspend => "suspend",
        }
    }
}

#[derive(Debug, Clone)]
pub struct LedgerEntry {
    /// µs since the Unix epoch when the outcome was known.
    pub at_us: i64,
    pub event: Event,
    pub msg_id: i64,
    /// publish: the message type; complete/suspend: the host.
    pub subject: String,
    /// complete/suspend: the host's index in the configuration.
    pub host: u16,
    /// complete/suspend: the host instance.
    pub instance: String,
    pub outcome: Outcome,
    /// complete/suspend false: the instance no longer held the message (nothing happened).
    pub held: bool,
    pub latency_us: u64,
    pub attempts: i32,
    /// The port of the server that answered (0: unknown): after a takeover without fencing,
    /// which of two primaries took the write.
    pub server_port: u16,
    /// Parallel groups: the group (1, 2...) the message lives in; 0 without groups.
    pub group: u8,
}

impl LedgerEntry {
    /// A publish (or calibration insert, `event`) of message `msg_id`, known at `at_us`: one
    /// attempt, no host; the answering server and the group unknown until set.
    pub(crate) fn publish(
        event: Event,
        at_us: i64,
        msg_id: i64,
        subject: String,
        outcome: Outcome,
        latency_us: u64,
    ) -> Self {
        LedgerEntry {
            at_us,
            event,
            msg_id,
            subject,
            host: 0,
            instance: String::new(),
            outcome,
            held: true,
            latency_us,
            attempts: 1,
            server_port: 0,
            group: 0,
        }
    }
}

pub(crate) type LedgerTx = mpsc::UnboundedSender<LedgerEntry>;
pub(crate) type LedgerRx = mpsc::UnboundedReceiver<LedgerEntry>;

pub fn channel() -> (LedgerTx, LedgerRx) {
    mpsc::unbounded_channel()
}
