//! Publishing throttling like BizTalk's "database size" state (`--throttle [N]`).

use std::time::Duration;

use habench_workloads::duration::serde_str;
use serde::Serialize;

use crate::config::{Overrides, WorkloadKind};
use crate::error::{Error, Result};

/// Above `threshold` messages in the MessageBox (host queues plus suspended), every publish is
/// delayed: first by `initial_delay`, doubled each interval the condition lasts, at most
/// `max_delay` (BizTalk's default maximum publishing delay is 300 s).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ThrottleConfig {
    pub threshold: u64,
    #[serde(with = "serde_str")]
    pub initial_delay: Duration,
    #[serde(with = "serde_str")]
    pub max_delay: Duration,
}

impl ThrottleConfig {
    /// From `--throttle N` (N: the threshold).
    pub(crate) fn with_threshold(threshold: u64) -> Result<ThrottleConfig> {
        if threshold == 0 {
            return Err(Error::config(
                "--throttle",
                "give the message count above which publishing is throttled, e.g. 50000 (BizTalk's default)",
            ));
        }
        Ok(ThrottleConfig { threshold, initial_delay: Duration::from_millis(10), max_delay: Duration::from_secs(300) })
    }
}

/// `--throttle N`: only the MessageBox has queues to count.
pub(crate) fn throttle(args: &Overrides, kind: WorkloadKind) -> Result<Option<ThrottleConfig>> {
    let Some(n) = args.throttle else { return Ok(None) };
    if kind != WorkloadKind::Messagebox {
        return Err(Error::config("--throttle", "it counts MessageBox queue entries; the insert workload has none"));
    }
    ThrottleConfig::with_threshold(n).map(Some)
}
