//! The summary's receive section: what a receive location's feeder wrote and what its receive
//! instances read and published.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ReceiveSection {
    /// `none`, `exclusive` or `clustered`.
    pub lock: String,
    pub instances: u16,
    /// Files the feeder finished writing.
    pub files_written: u64,
    /// Files at least one acknowledged publish read whole.
    pub files_received: u64,
    /// Acknowledged publishes of a read (each is a message).
    pub receipts: u64,
    /// Acknowledged reads of a file beyond its first: messages published twice.
    pub duplicate_receipts: u64,
    /// Files read and published more than once.
    pub files_duplicated: u64,
    /// Duplicate receipts per 10,000 files written.
    pub duplicates_per_10k: f64,
    /// Acknowledged reads that were not the whole file (length or checksum differ): a message
    /// with a truncated body.
    pub incomplete_reads: u64,
    pub incomplete_per_10k: f64,
    /// Files written whose whole content no acknowledged publish carries: lost, or only ever
    /// published truncated.
    pub files_never_whole: u64,
    /// Reads whose publish failed or stayed unknown (the file was given back and read again).
    pub failed_publishes: u64,
    pub unknown_publishes: u64,
    /// Files still in the location after the run (unread, or claimed and never finished).
    pub left_on_disk: u64,
    /// From a file's last write to its first whole, acknowledged read (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_delay_ms: Option<PickupDelay>,
    /// Receive instances killed (`kill-receive-instance`) and what followed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kills: Vec<ReceiveKill>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct PickupDelay {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// One receive instance's death.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ReceiveKill {
    pub instance: String,
    /// Seconds from the start of the run.
    pub at_s: f64,
    /// clustered: the instance that took over, and after how long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_over_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub takeover_ms: Option<f64>,
    /// No file read from the death to the next read by any instance (ms): the pickup gap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_gap_ms: Option<f64>,
    /// `kill-receive-instance@T:D`: how long after its death it ran again (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restarted_after_ms: Option<f64>,
    /// Reads, after the death, of the file the dead instance had published and not deleted.
    pub read_again: u64,
}
