//! The `summary.json` of a repeated run's top folder: one row per variant over its trials, every
//! trial's failover timeline, the runs, and the offload or distance comparison when there is one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::summary::{Spread, Trial};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RepeatedSummary {
    pub schema_version: u32,
    pub complete: bool,
    pub scenario: String,
    pub variants: Vec<VariantRow>,
    pub failover: RepeatedFailover,
    pub runs: Vec<RunRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offload: Option<OffloadSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<DistanceSection>,
}

/// One variant over its trials.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct VariantRow {
    pub variant: String,
    pub topology: String,
    pub runs: usize,
    pub complete: bool,
    pub rto_ms: Option<Spread>,
    pub detected_ms: Option<Spread>,
    pub endpoint_ready_ms: Option<Spread>,
    pub recovery_ms: Option<Spread>,
    pub p99_during_recovery_us_max: Option<u64>,
    /// Publish p99 over the runs (p50: the median run).
    pub publish_p99_us: Option<Spread>,
    pub lost: u64,
    pub duplicated: u64,
    pub recovered: u64,
    pub valid: bool,
    /// Durability exposure summed over the runs (None: no run had synchronous standbys):
    /// seconds exposed, publishes acknowledged while exposed, and lost ones acknowledged then.
    #[serde(default)]
    pub exposed_s: Option<f64>,
    #[serde(default)]
    pub acked_exposed: Option<u64>,
    #[serde(default)]
    pub lost_in_windows: Option<u64>,
    /// Publishes of the measured phase that failed or got no answer, summed over the runs.
    #[serde(default)]
    pub failed_publishes: u64,
    /// Parallel groups: messages stranded in a group that went down (summed over the runs), and
    /// the longest extra delay of one delivered after its group came back (None: no groups).
    #[serde(default)]
    pub stranded: Option<u64>,
    #[serde(default)]
    pub stranded_delay_max_ms: Option<f64>,
    /// A receive location, summed over the runs: files written, duplicate receives and
    /// incomplete reads (None: no receive location).
    #[serde(default)]
    pub receive_files: Option<u64>,
    #[serde(default)]
    pub receive_duplicates: Option<u64>,
    #[serde(default)]
    pub receive_incomplete: Option<u64>,
    /// The SSO master secret, summed over the runs: decryptions and encryptions that did not
    /// work (failed or unknown), and host instance starts that waited (None: no `--sso`).
    #[serde(default)]
    pub sso_decryptions_failed: Option<u64>,
    #[serde(default)]
    pub sso_encryptions_failed: Option<u64>,
    #[serde(default)]
    pub sso_starts_blocked: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RepeatedFailover {
    pub trials: Vec<VariantTrial>,
}

/// A trial's failover timeline, with the run it came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VariantTrial {
    #[serde(flatten)]
    pub timeline: Trial,
    pub variant: String,
    pub trial: u32,
    pub run_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunRef {
    pub variant: String,
    pub trial: u32,
    pub run_id: String,
    pub complete: bool,
    /// habench stalled past its threshold in this run's measured phase.
    #[serde(default)]
    pub compromised: bool,
}

/// No reports, reports on the primary, reports on the standbys.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct OffloadSection {
    pub variants: Vec<OffloadRow>,
    /// Reports on the standbys against reports on the primary (below 1: the primary got faster).
    pub standbys_vs_primary: Option<Gain>,
    /// What reports cost where they run, against no reports at all.
    pub primary_vs_none: Option<Gain>,
    pub standbys_vs_none: Option<Gain>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct OffloadRow {
    pub variant: String,
    pub run_id: String,
    pub reports_on: String,
    pub complete: bool,
    pub publish_per_s: Option<f64>,
    pub complete_per_s: Option<f64>,
    pub publish_p99_us: Option<u64>,
    pub complete_p99_us: Option<u64>,
    pub end_to_end_p99_us: Option<u64>,
    pub report_per_s: Option<f64>,
    pub report_p50_us: Option<u64>,
    pub report_p99_us: Option<u64>,
    pub report_fail: Option<u64>,
    pub staleness_ms_p50: Option<f64>,
    pub staleness_ms_p99: Option<f64>,
    pub staleness_bytes_p99: Option<f64>,
    pub ryw_checks: Option<u64>,
    pub ryw_violations: Option<u64>,
    pub conflict_cancellations: Option<u64>,
    pub primary_cpu_s: Option<f64>,
    pub primary_report_cpu_s: Option<f64>,
    pub lost: Option<u64>,
}

/// Ratios of one way against another.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Gain {
    pub publish_per_s_ratio: Option<f64>,
    pub complete_per_s_ratio: Option<f64>,
    pub publish_p99_ratio: Option<f64>,
    pub complete_p99_ratio: Option<f64>,
    pub primary_cpu_ratio: Option<f64>,
}

/// Commit latency against the link's round trip, per setup.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct DistanceSection {
    pub rows: Vec<DistanceRow>,
    /// Setup -> commit p50 growth per ms of round trip.
    pub p50_slope_per_round_trip: BTreeMap<String, Option<f64>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct DistanceRow {
    pub variant: String,
    pub setup: String,
    pub one_way_delay_ms: f64,
    pub round_trip_ms: f64,
    pub commit_p50_ms: Option<f64>,
    pub commit_p99_ms: Option<f64>,
    pub throughput_per_s: Option<f64>,
    pub floor_flush_us: Option<f64>,
    pub complete: bool,
}
