//! What a capacity search found, as `capacity.json` holds it: every step of every topology with
//! its measure and verdict, how each search ended, and the planning figures derived from them.

use serde::{Deserialize, Serialize};

use crate::capacity::search::{End, Params};
use crate::capacity::verdict::{Rules, StepMeasure, Verdict};

pub(crate) const SCHEMA_VERSION: u32 = 1;

/// One step: a run at one offered rate, in its own results folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Step {
    pub index: usize,
    pub rate: f64,
    /// The step's results folder, relative to the capacity folder.
    pub folder: String,
    /// None when the step did not finish (stopped, or its run failed: see `error`).
    pub measure: Option<StepMeasure>,
    pub verdict: Option<Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub elapsed_s: f64,
}

/// The longer run at the MST found (`--confirm`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Confirm {
    pub rate: f64,
    pub duration_s: f64,
    pub folder: String,
    pub measure: Option<StepMeasure>,
    pub verdict: Option<Verdict>,
}

/// One topology's search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TopologySearch {
    pub label: String,
    pub steps: Vec<Step>,
    /// How the search ended (None: stopped before it did).
    pub end: Option<End>,
    /// The highest sustainable rate found, and the lowest unsustainable one above it.
    pub mst: Option<f64>,
    pub unsustainable: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<Confirm>,
    /// `--overdrive`: F x MST for D, then the low load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdrive: Option<crate::capacity::overdrive::OverdriveResult>,
    /// `--n-minus-1`: the fault that took a node away, and the search on what was left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_minus_1: Option<Box<Degraded>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub elapsed_s: f64,
}

/// The degraded state: how a node was lost (a run with one fault, on the searched servers),
/// what that failover cost, and the search run afterwards on the remaining nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Degraded {
    /// The fault, e.g. `kill-sync-standby@2s`, and what it hit.
    pub fault: String,
    pub target: Option<String>,
    /// The fault run's results folder, relative to the capacity folder.
    pub folder: String,
    /// From the fault run: the write outage (last ack before to first ack after) and the
    /// acknowledged messages the checker found lost.
    pub rto_ms: Option<f64>,
    pub lost: Option<u64>,
    /// None when the node could not be taken away (then there is no search).
    pub search: Option<TopologySearch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The whole `capacity.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CapacityOutcome {
    pub schema_version: u32,
    /// True when every search ended (converged or at a bound) and nothing was stopped.
    pub complete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    pub created_at: String,
    pub scenario: String,
    pub rules: Rules,
    pub rules_text: String,
    pub params: Params,
    /// Measured seconds per step, and the warm-up before each.
    pub step_s: f64,
    pub warmup_s: f64,
    pub target_load: Option<f64>,
    pub topologies: Vec<TopologySearch>,
    pub planning: Vec<PlanRow>,
}

/// One row of the planning table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PlanRow {
    pub label: String,
    pub mst: Option<f64>,
    /// `>=` when the maximum rate held (the MST is at least this), `<` when the minimum failed.
    pub bound: Option<String>,
    /// The first SLO term's value at 50, 70 and 90 % of the MST (µs), interpolated between
    /// the steps around each rate.
    pub latency_at_us: [Option<f64>; 3],
    /// MST over the target load.
    pub headroom: Option<f64>,
    pub steps: usize,
    /// `--n-minus-1`: the MST after losing a node (with its bound), its headroom, and the
    /// outage and loss of the fault that took the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n1: Option<NMinus1Row>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NMinus1Row {
    pub fault: String,
    pub mst: Option<f64>,
    pub bound: Option<String>,
    pub headroom: Option<f64>,
    pub rto_ms: Option<f64>,
    pub lost: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub(crate) const PLAN_FRACTIONS: [f64; 3] = [0.5, 0.7, 0.9];

/// Headroom that counts as carrying the target load.
pub(crate) const HEADROOM_NEEDED: f64 = 1.3;

impl TopologySearch {
    /// Steps that finished, by rate.
    fn measured(&self) -> Vec<(f64, &StepMeasure)> {
        let mut v: Vec<(f64, &StepMeasure)> =
            self.steps.iter().filter_map(|s| Some((s.rate, s.measure.as_ref()?))).collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v
    }

    /// The value of SLO term `term` at `rate`, interpolated linearly between the steps below and
    /// above it (None outside the steps' range).
    pub(crate) fn term_at(&self, term: usize, rate: f64) -> Option<f64> {
        let pts: Vec<(f64, f64)> =
            self.measured().into_iter().filter_map(|(r, m)| Some((r, *m.slo_us.get(term)?.as_ref()? as f64))).collect();
        let exact = pts.iter().find(|p| p.0 == rate).map(|p| p.1);
        exact.or_else(|| {
            let below = pts.iter().rev().find(|p| p.0 < rate)?;
            let above = pts.iter().find(|p| p.0 > rate)?;
            Some(below.1 + (above.1 - below.1) * (rate - below.0) / (above.0 - below.0))
        })
    }

    /// `>=` when the MST is at least the figure (the maximum held, or the search stopped or ran
    /// out of steps first), `<` when even the minimum failed.
    fn bound(&self) -> Option<String> {
        match self.end {
            Some(End::MaxHeld) => Some(">=".to_string()),
            Some(End::MinFailed) => Some("<".to_string()),
            Some(End::Converged) => None,
            Some(End::StepLimit) | None => self.mst.map(|_| ">=".to_string()),
        }
    }

    pub(crate) fn plan_row(&self, target: Option<f64>) -> PlanRow {
        let at = |f: f64| self.mst.and_then(|m| self.term_at(0, m * f));
        let headroom = |mst: Option<f64>| match (mst, target) {
            (Some(m), Some(t)) if t > 0.0 => Some(m / t),
            _ => None,
        };
        PlanRow {
            label: self.label.clone(),
            mst: self.mst,
            bound: self.bound(),
            latency_at_us: [at(PLAN_FRACTIONS[0]), at(PLAN_FRACTIONS[1]), at(PLAN_FRACTIONS[2])],
            headroom: headroom(self.mst),
            steps: self.steps.len(),
            n1: self.n_minus_1.as_ref().map(|d| {
                let search = d.search.as_ref();
                NMinus1Row {
                    fault: d.fault.clone(),
                    mst: search.and_then(|s| s.mst),
                    bound: search.and_then(|s| s.bound()),
                    headroom: headroom(search.and_then(|s| s.mst)),
                    rto_ms: d.rto_ms,
                    lost: d.lost,
                    error: d.error.clone().or_else(|| search.and_then(|s| s.error.clone())),
                }
            }),
        }
    }
}

/// The plain sentence under the planning table: which designs carry the target load with at
/// least 30 % headroom, and (with `--n-minus-1`) which still do after losing a node.
pub(crate) fn verdict_sentence(rows: &[PlanRow], target: Option<f64>) -> Option<String> {
    let target = target?;
    let pct = (HEADROOM_NEEDED - 1.0) * 100.0;
    let split = |headroom: &dyn Fn(&PlanRow) -> Option<f64>| -> (Vec<&str>, Vec<&str>) {
        let carry = rows.iter().filter(|r| headroom(r).is_some_and(|h| h >= HEADROOM_NEEDED)).map(|r| r.label.as_str());
        let short = rows.iter().filter(|r| headroom(r).is_some_and(|h| h < HEADROOM_NEEDED)).map(|r| r.label.as_str());
        (carry.collect(), short.collect())
    };
    let (carry, mut short) = split(&|r| r.headroom);
    short.extend(rows.iter().filter(|r| r.mst.is_none() && r.bound.as_deref() == Some("<")).map(|r| r.label.as_str()));
    let mut text = match (carry.is_empty(), short.is_empty()) {
        (false, true) => format!(
            "Every design measured carries {target:.0}/s with at least {pct:.0} % headroom: {}.",
            carry.join(", ")
        ),
        (true, _) => format!("No design measured carries {target:.0}/s with {pct:.0} % headroom."),
        (false, false) => format!(
            "{} carr{} {target:.0}/s with at least {pct:.0} % headroom; {} do{} not.",
            carry.join(", "),
            if carry.len() == 1 { "ies" } else { "y" },
            short.join(", "),
            if short.len() == 1 { "es" } else { "" }
        ),
    };
    let (n1_carry, n1_short) = split(&|r| r.n1.as_ref().and_then(|n| n.headroom));
    let verb = |v: &[&str], one: &str, many: &str| if v.len() == 1 { one.to_string() } else { many.to_string() };
    match (n1_carry.is_empty(), n1_short.is_empty()) {
        (true, true) => {}
        (false, true) => text.push_str(&format!(
            " After losing a node, {} {} it with at least {pct:.0} % headroom.",
            n1_carry.join(", "),
            verb(&n1_carry, "carries", "carry")
        )),
        (true, false) => text.push_str(&format!(" After losing a node, none carries it with {pct:.0} % headroom.")),
        (false, false) => text.push_str(&format!(
            " After losing a node, {} {} it with at least {pct:.0} % headroom; {} {} not.",
            n1_carry.join(", "),
            verb(&n1_carry, "carries", "carry"),
            n1_short.join(", "),
            verb(&n1_short, "does", "do")
        )),
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(rate: f64, p99_us: u64) -> Step {
        Step {
            index: 0,
            rate,
            folder: String::new(),
            measure: Some(StepMeasure {
                offered: rate,
                achieved: rate,
                delivered: rate,
                slo_us: vec![Some(p99_us)],
                backlog_slope: Some(0.0),
                backlog_slope_se: None,
                entries_per_publish: 1.0,
                backlog_end: Some(0),
                failed: 0,
                late_share: 0.0,
                complete: true,
                throttled_s: 0.0,
                compromised: None,
            }),
            verdict: None,
            error: None,
            elapsed_s: 1.0,
        }
    }

    fn search(label: &str, mst: f64) -> TopologySearch {
        TopologySearch {
            label: label.into(),
            steps: vec![step(100.0, 1000), step(400.0, 4000), step(800.0, 90_000), step(500.0, 5000)],
            end: Some(End::Converged),
            mst: Some(mst),
            unsustainable: Some(mst * 1.04),
            confirm: None,
            overdrive: None,
            n_minus_1: None,
            error: None,
            elapsed_s: 10.0,
        }
    }

    #[test]
    fn latency_is_interpolated_between_the_steps_around_each_rate() {
        let s = search("single", 500.0);
        assert_eq!(s.term_at(0, 400.0), Some(4000.0));
        assert_eq!(s.term_at(0, 250.0), Some(2500.0));
        assert_eq!(s.term_at(0, 50.0), None, "below every step");
        let row = s.plan_row(Some(400.0));
        assert_eq!(row.latency_at_us, [Some(2500.0), Some(3500.0), Some(4500.0)]);
        assert_eq!(row.headroom, Some(1.25));
    }

    #[test]
    fn the_sentence_names_who_carries_the_target() {
        let rows = vec![search("single", 1300.0).plan_row(Some(800.0)), search("sync", 900.0).plan_row(Some(800.0))];
        assert_eq!(
            verdict_sentence(&rows, Some(800.0)).unwrap(),
            "single carries 800/s with at least 30 % headroom; sync does not."
        );
        assert_eq!(verdict_sentence(&rows, None), None);
        let mut degraded = search("sync", 1300.0);
        degraded.n_minus_1 = Some(Box::new(Degraded {
            fault: "kill-sync-standby@2s".into(),
            target: Some("s1".into()),
            folder: "sync/n-1-kill-sync-standby".into(),
            rto_ms: Some(1200.0),
            lost: Some(0),
            search: Some(search("sync/n-1", 950.0)),
            error: None,
        }));
        let row = degraded.plan_row(Some(800.0));
        let n1 = row.n1.as_ref().unwrap();
        assert_eq!((n1.mst, n1.headroom, n1.lost), (Some(950.0), Some(950.0 / 800.0), Some(0)));
        assert_eq!(
            verdict_sentence(&[row], Some(800.0)).unwrap(),
            "Every design measured carries 800/s with at least 30 % headroom: sync. After losing a node, none \
             carries it with 30 % headroom."
        );
    }
}
