//! `advise.json`: the decision `habench advise` took, every cell with the figure, the rule and
//! the results folders that prove it.

use serde::{Deserialize, Serialize};

pub(crate) const ADVICE_SCHEMA_VERSION: u32 = 1;

/// A class of outage, each one fault as habench runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Outage {
    /// The primary's host is lost (`crash-primary`).
    NodeCrash,
    /// The primary's postmaster is killed (`kill-primary`): a restart in place recovers.
    PostmasterKill,
    /// The primary hangs (`pause-primary`).
    Hang,
    /// A synchronous standby is lost (`kill-sync-standby`): exposure, not RTO.
    StandbyLoss,
    /// The DCS is gone (`dcs-outage`).
    #[serde(rename = "dcs-outage")]
    Dcs,
    /// The primary is cut off (`partition-primary`).
    Partition,
}

impl Outage {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outage::NodeCrash => "node-crash",
            Outage::PostmasterKill => "postmaster-kill",
            Outage::Hang => "hang",
            Outage::StandbyLoss => "standby-loss",
            Outage::Dcs => "dcs-outage",
            Outage::Partition => "partition",
        }
    }
}

/// How a design fares against one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    Meets,
    /// The trials, or the trials and the predicted band, straddle the requirement.
    Borderline,
    Fails,
    /// Nothing measured for it.
    NoEvidence,
    /// The outage cannot happen to the design (a standby lost where there is none): it counts
    /// neither way.
    NotApplicable,
}

/// One cell of the decision table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cell {
    /// `capacity`, `capacity n-1`, `rto node-crash`, `rpo node-crash`...
    pub requirement: String,
    pub verdict: Verdict,
    /// The figure judged (`RTO 1,204 ms worst of 3`), and the rule that judged it.
    pub figure: String,
    /// The figure as a number, in the rule's unit (MST /s, worst RTO ms, lost messages), when
    /// it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    pub rule: String,
    /// The results folders the figure comes from.
    pub folders: Vec<String>,
}

/// One design's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DesignDecision {
    pub design: String,
    /// Servers the design runs (the cost).
    pub servers: Option<u32>,
    /// Meets every requirement.
    pub eligible: bool,
    /// MST (the highest rate that held) over the load.
    pub headroom: Option<f64>,
    /// Publish (commit) p99 at the load (µs), from the capacity search's steps around it.
    pub commit_p99_us: Option<u64>,
    /// Whether a commit waits for a standby's confirmation (true: two copies before the
    /// acknowledgement), false (asynchronous standbys), None (one copy of the data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits_confirmed: Option<bool>,
    /// The setting its failover trials ran with when not the default (`--tune`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<String>,
    /// When it misses only on RTO: the setting the band model predicts would meet it (a
    /// prediction; `--tune` measures it when the design is ruled out before running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tune_hint: Option<String>,
    pub cells: Vec<Cell>,
}

/// What would make a design eligible when none is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Relaxation {
    pub design: String,
    /// Each requirement to relax, and to what (`RTO to 45 s`).
    pub changes: Vec<String>,
}

/// One option along a trade-off among the eligible designs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TradeOff {
    pub design: String,
    /// `safest`, `cheapest`, `fastest commits`.
    pub trade_offs: Vec<String>,
    /// Against the recommended design, from the cells' figures (empty: nothing worse).
    pub gives_up: String,
}

/// A design (or one outage of it) the plan did not run, and why: ruled out by the
/// configuration's predicted band, or an outage that does not apply to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NotRun {
    pub design: String,
    /// None: the whole design.
    pub outage: Option<Outage>,
    /// The outage whose predicted RTO ruled the whole design out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ruled_out_by: Option<Outage>,
    /// The outage cannot happen to the design (true), or habench cannot cause it there (false:
    /// a cluster file without the command): then it is no evidence.
    #[serde(default)]
    pub inapplicable: bool,
    pub why: String,
    /// The setting predicted to meet the RTO, and its flags (`--tune` measures it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<String>,
}

/// The whole decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Advice {
    pub schema_version: u32,
    pub requirements: serde_json::Value,
    /// The answer in one sentence.
    pub answer: String,
    pub recommended: Option<String>,
    /// At most three options along the trade-offs (eligible designs only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<TradeOff>,
    /// Ranked: eligible designs first (by headroom, then fewer servers, then lower commit p99),
    /// then the others.
    pub designs: Vec<DesignDecision>,
    pub relaxation: Option<Relaxation>,
    /// Designs and outages not run: predictions and n/a, never figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<NotRun>,
    /// How folders were taken as evidence.
    pub evidence_rule: String,
    /// When a reused folder replaces an experiment of the plan.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reuse_rule: String,
}
