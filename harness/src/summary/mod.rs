//! `summary.json` as one typed value, shared by what writes it (the run, after every interval
//! and at the end) and by everything that reads it (report, compare, the capacity table, the
//! top folder of a repeated run). Keys and units are documented in results/README.md.

mod advice;
mod failover;
mod harness;
mod parallel;
mod receive;
mod repeated;
mod sections;
mod sso;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub(crate) use advice::{
    Advice, Cell, DesignDecision, NotRun as AdviceNotRun, Outage, Relaxation, TradeOff as AdviceOption,
    Verdict as AdviceVerdict, ADVICE_SCHEMA_VERSION,
};
pub(crate) use failover::{FailedFault, FailoverSection, Spread, TimedEvent, Trial};
pub(crate) use harness::HarnessSection;

pub(crate) use parallel::{DelayFigures, GroupFigures, Maneuver, ParallelSection};
pub(crate) use receive::{PickupDelay, ReceiveKill, ReceiveSection};
pub(crate) use repeated::{
    DistanceRow, DistanceSection, Gain, OffloadRow, OffloadSection, RepeatedFailover, RepeatedSummary, RunRef,
    VariantRow, VariantTrial,
};
pub(crate) use sections::{
    AsyncAtFault, AsyncExposureSection, Backlog, CheckSection, CpuSection, Environment, ExposureSection,
    ExposureWindow, HarnessCpu, LostWritesSection, NodeCpu, Queries, ReportTarget, ReportsSection, RywCounts, Setup,
    SplitBrainSection, Staleness, TargetConflicts, TotalConflicts, TotalRyw, TwoPrimariesSection,
};
pub(crate) use sso::{SsoOutageWindow, SsoSection, SsoStart};

use crate::config::Load;
use crate::run_result::{DrainResult, ErrorLog, MessageCounts, Pacing};

pub(crate) const SCHEMA_VERSION: u32 = 1;

/// Outcome counts of one operation in the measured phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct OpCounts {
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
    /// Acknowledged with the warning that the synchronous-replication wait was cancelled.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub acked_unreplicated: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Throughput {
    pub ops_per_sec: f64,
}

/// Latency of ok operations, µs.
pub(crate) use crate::measure::LatencySummary as Latency;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct DequeueCounts {
    pub empty: u64,
    pub redelivered: u64,
    pub not_held: u64,
}

/// One run's `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub schema_version: u32,
    /// True only when the run finished cleanly.
    pub complete: bool,
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// habench itself stalled past `--max-harness-stall` in the measured phase: its figures
    /// may not be what the servers did.
    #[serde(default)]
    pub compromised: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compromised_reason: Option<String>,
    /// What habench saw of itself: its stalls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness: Option<HarnessSection>,
    /// Outputs of the results folder that could not be written, or end early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<OutputsSection>,
    pub run_id: String,
    pub scenario: String,
    pub topology: String,
    pub workload: String,
    pub load: Load,
    pub seed: u64,
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    pub measured_s: f64,
    pub ops: BTreeMap<String, OpCounts>,
    pub throughput: BTreeMap<String, Throughput>,
    pub latency_us: BTreeMap<String, Latency>,
    pub dequeue: DequeueCounts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<MessageCounts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<DrainResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<ErrorLog>,
    /// Host-queue depth over the measured phase (MessageBox runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog: Option<Backlog>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<Setup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacing: Option<Pacing>,
    /// Durability exposure (MessageBox runs on servers with synchronous standbys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<ExposureSection>,
    /// Durability exposure of an asynchronous setup (standbys that confirm nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub async_exposure: Option<AsyncExposureSection>,
    /// A receive location: files written, read, duplicated and read half-written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receive: Option<ReceiveSection>,
    /// Parallel groups: messages per group, and what a crash or a drain of one cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<ParallelSection>,
    /// The SSO master secret: decryptions, encryptions and host instance starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso: Option<SsoSection>,
    /// Writes taken by an old primary after a takeover without fencing (`--no-fence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_brain: Option<SplitBrainSection>,
    /// Publishes acknowledged by two servers at once, from the ledger alone (every topology;
    /// present when two servers or more acknowledged publishes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub two_primaries: Option<TwoPrimariesSection>,
    /// Where the lost acknowledged publishes sit in time (runs that lost some).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_writes: Option<LostWritesSection>,
    /// Publishing throttling (`--throttle` runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<crate::run_result::Throttling>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reports: Option<ReportsSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverSection>,
}

/// Files of a results folder that are missing (could not be written: nothing of them is
/// there) or cut (written as the run went, they end at their last whole record).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct OutputsSection {
    pub missing: Vec<OutputProblem>,
    pub cut: Vec<OutputProblem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OutputProblem {
    /// The file, relative to the results folder.
    pub file: String,
    pub why: String,
}

impl OutputsSection {
    pub(crate) fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.cut.is_empty()
    }

    /// One line naming every file: `missing report.html (No space left on device); cut ...`.
    pub(crate) fn line(&self) -> String {
        let part = |kind: &str, v: &[OutputProblem]| {
            v.iter().map(|p| format!("{kind} {} ({})", p.file, p.why)).collect::<Vec<_>>()
        };
        let mut all = part("missing", &self.missing);
        all.extend(part("cut", &self.cut));
        all.join("; ")
    }
}

impl Summary {
    /// Marks the run incomplete for what its folder lacks (keeping an earlier stop reason).
    pub(crate) fn note_outputs(&mut self, outputs: &OutputsSection) {
        if outputs.is_empty() {
            return;
        }
        self.complete = false;
        let line = format!("results folder incomplete: {}", outputs.line());
        self.stop_reason = Some(match self.stop_reason.take() {
            Some(r) if !r.starts_with("results folder incomplete") => format!("{r}; {line}"),
            _ => line,
        });
        self.outputs = Some(outputs.clone());
    }
}

/// What a results folder's summary.json holds: one run's, or a repeated run's top folder's.
#[derive(Debug)]
pub(crate) enum FolderSummary {
    Run(Box<Summary>),
    Repeated(Box<RepeatedSummary>),
}

impl FolderSummary {
    /// Reads summary.json text of either kind (a repeated run's has `variants`).
    pub(crate) fn parse(text: &str) -> Result<FolderSummary, String> {
        let raw: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        if raw.get("variants").is_some() {
            let s = serde_json::from_value(raw).map_err(|e| format!("not a repeated run's summary ({e})"))?;
            Ok(FolderSummary::Repeated(Box::new(s)))
        } else {
            let s = serde_json::from_value(raw).map_err(|e| format!("not a run's summary ({e})"))?;
            Ok(FolderSummary::Run(Box::new(s)))
        }
    }
}

impl Summary {
    /// A run that has measured nothing yet (complete: false).
    pub(crate) fn new(
        run_id: &str,
        scenario: &str,
        topology: &str,
        workload: &str,
        load: Load,
        seed: u64,
        started_at: &str,
    ) -> Summary {
        Summary {
            schema_version: SCHEMA_VERSION,
            complete: false,
            stop_reason: None,
            compromised: false,
            compromised_reason: None,
            harness: None,
            outputs: None,
            run_id: run_id.into(),
            scenario: scenario.into(),
            topology: topology.into(),
            workload: workload.into(),
            load,
            seed,
            started_at: started_at.into(),
            finished_at: None,
            measured_s: 0.0,
            ops: BTreeMap::new(),
            throughput: BTreeMap::new(),
            latency_us: BTreeMap::new(),
            dequeue: DequeueCounts::default(),
            messages: None,
            drain: None,
            errors: None,
            backlog: None,
            setup: None,
            environment: None,
            pacing: None,
            throttle: None,
            exposure: None,
            async_exposure: None,
            split_brain: None,
            two_primaries: None,
            receive: None,
            sso: None,
            parallel: None,
            lost_writes: None,
            check: None,
            cpu: None,
            reports: None,
            failover: None,
        }
    }

    /// Reads a run's summary.json text.
    pub(crate) fn parse(text: &str) -> Result<Summary, String> {
        match FolderSummary::parse(text)? {
            FolderSummary::Run(s) => Ok(*s),
            FolderSummary::Repeated(_) => Err("a repeated run's top folder, not one run's".into()),
        }
    }

    /// The operation that commits a message: publish, or the calibration insert.
    pub(crate) fn commit_op(&self) -> &'static str {
        if self.latency_us.contains_key("publish") {
            "publish"
        } else {
            "insert"
        }
    }

    pub(crate) fn latency(&self, op: &str) -> Option<&Latency> {
        self.latency_us.get(op)
    }

    pub(crate) fn rate(&self, op: &str) -> Option<f64> {
        self.throughput.get(op).map(|t| t.ops_per_sec)
    }

    /// The check's report, when the check ran and could read the database.
    pub(crate) fn check_report(&self) -> Option<&habench_workloads::checker::CheckReport> {
        match &self.check {
            Some(CheckSection::Report(r)) => Some(r),
            _ => None,
        }
    }

    /// The failover trials (none without faults).
    pub(crate) fn trials(&self) -> &[crate::summary::Trial] {
        self.failover.as_ref().map(|f| f.trials.as_slice()).unwrap_or_default()
    }
}

#[cfg(test)]
impl Summary {
    /// A complete run that measured nothing: tests set what they need.
    pub(crate) fn blank(run_id: &str) -> Summary {
        let load = Load::Closed { clients: 1 };
        Summary { complete: true, measured_s: 10.0, ..Summary::new(run_id, "s", "sync", "messagebox", load, 1, "t") }
    }

    pub(crate) fn with_latency(mut self, op: &str, p50: u64, p99: u64, ops_per_sec: f64) -> Summary {
        self.latency_us.insert(op.into(), Latency { count: 10, p50, p99, ..Default::default() });
        self.throughput.insert(op.into(), Throughput { ops_per_sec });
        self
    }
}
