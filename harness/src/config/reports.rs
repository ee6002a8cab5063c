//! The reporting load: where report queries go, how many, which.

use std::time::Duration;

use habench_workloads::duration::serde_str;
use habench_workloads::reporting::ReportMix;
use serde::{Deserialize, Serialize};

/// Where report queries are routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ReportsOn {
    /// No report load.
    #[default]
    None,
    /// Reports share the primary with the message traffic.
    Primary,
    /// Reports go to the readable secondaries, in turn (read-only routing).
    Standbys,
}

impl ReportsOn {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportsOn::None => "none",
            ReportsOn::Primary => "primary",
            ReportsOn::Standbys => "standbys",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportsConfig {
    pub on: ReportsOn,
    /// Report queries per second, on a schedule (latency counts from the intended start).
    pub rate: f64,
    /// Concurrent report workers; each holds one connection per target and takes them in turn.
    pub clients: u16,
    /// The "recent" window of the counts and slowest reports.
    #[serde(with = "serde_str")]
    pub window: Duration,
    pub mix: ReportMix,
    /// Standbys that serve reads (a read-only routing list); empty: every readable standby.
    pub standbys: Vec<String>,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            on: ReportsOn::None,
            rate: 20.0,
            clients: 2,
            window: Duration::from_secs(60),
            mix: ReportMix::default(),
            standbys: Vec::new(),
        }
    }
}
