//! Parallel groups (BizTalk's PROD1/PROD2 behind a network load balancer): two to four groups
//! that share nothing, each any single-node or replicated topology with its own servers. A
//! message lives in exactly one group.

use std::time::Duration;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::topology::{TopologyKind, TopologySpec};

/// Fewest and most groups.
pub(crate) const GROUPS: std::ops::RangeInclusive<u8> = 2..=4;

/// What the groups are and how the balancer watches them.
#[derive(Debug, Clone, Serialize)]
pub struct ParallelSpec {
    pub groups: u8,
    /// Every group's own topology (`--group-topology`).
    pub group: Box<TopologySpec>,
    /// The balancer's health probe: every `probe_interval`; a group is taken out of the rotation
    /// after `probe_threshold` failed probes in a row, and back in after one that answers.
    #[serde(with = "habench_workloads::duration::serde_str")]
    pub probe_interval: Duration,
    pub probe_threshold: u32,
}

impl ParallelSpec {
    pub(crate) const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(1);
    pub(crate) const DEFAULT_PROBE_THRESHOLD: u32 = 2;

    /// Checks the groups' number and kind; the error names the flag and the fix.
    pub(crate) fn validate(&self) -> Result<()> {
        if !GROUPS.contains(&self.groups) {
            let hint = if self.groups == 1 { ": one group is --topology single (or any other kind)" } else { "" };
            return Err(Error::config(
                "--groups",
                format!("{} groups asked; parallel takes 2 to 4{hint}", self.groups),
            ));
        }
        match self.group.kind {
            TopologyKind::Parallel => {
                return Err(Error::config("--group-topology", "a group cannot itself be parallel groups"))
            }
            TopologyKind::Patroni => {
                return Err(Error::config(
                    "--group-topology",
                    "patroni groups would run one etcd and one Patroni per node of every group on this machine; \
                     use single, shared-disk, sync, async or log-shipping",
                ))
            }
            _ => {}
        }
        if self.probe_interval < Duration::from_millis(50) || self.probe_interval > Duration::from_secs(60) {
            return Err(Error::config("--balancer-probe", "give 50ms to 60s"));
        }
        if self.probe_threshold == 0 || self.probe_threshold > 100 {
            return Err(Error::config("--balancer-threshold", "give 1 to 100 failed probes"));
        }
        self.group.validate()
    }

    /// The groups' names, in balancer order.
    pub(crate) fn names(&self) -> Vec<String> {
        (1..=self.groups).map(|i| format!("g{i}")).collect()
    }
}
