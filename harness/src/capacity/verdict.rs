//! Whether one step of a capacity search was sustainable: every SLO term held, the queues did
//! not keep growing, nothing failed or stayed unknown, and the publishers kept the schedule.

use serde::{Deserialize, Serialize};

use crate::capacity::slo::Term;
use crate::summary::Summary;

/// What a step measured that its verdict reads (taken from the step's summary, or from a
/// simulated server in the search's tests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StepMeasure {
    /// Publishes per second the schedule asked for.
    pub offered: f64,
    /// Acknowledged publishes per second.
    pub achieved: f64,
    /// Completed deliveries per second (every host).
    pub delivered: f64,
    /// Per SLO term, the measured value (None: the operation never completed).
    pub slo_us: Vec<Option<u64>>,
    /// Growth of the messages waiting in every host queue over the second half of the measured
    /// phase, per second (least squares; the first half lets the queues fill to their steady
    /// depth), and the queue entries each publish creates.
    pub backlog_slope: Option<f64>,
    /// The slope's standard error: growth within twice it is sampling noise.
    #[serde(default)]
    pub backlog_slope_se: Option<f64>,
    pub entries_per_publish: f64,
    /// Messages waiting at the end of the measured phase.
    pub backlog_end: Option<i64>,
    /// Operations that failed or whose outcome is unknown (any operation).
    pub failed: u64,
    /// Share of scheduled publishes that found every publisher busy and started late.
    pub late_share: f64,
    /// The run finished cleanly.
    pub complete: bool,
    /// Seconds of the measured phase in which publishing was throttled (`--throttle`).
    #[serde(default)]
    pub throttled_s: f64,
    /// habench stalled in the step's measured phase (after one run again): why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compromised: Option<String>,
}

impl StepMeasure {
    /// The measure of a finished step.
    pub(crate) fn of(s: &Summary, terms: &[Term], offered: f64) -> StepMeasure {
        let published = s.messages.as_ref().map(|m| m.published_ok).unwrap_or(0);
        let routed = s.messages.as_ref().map(|m| m.routed_ok).unwrap_or(0);
        let scheduled = s.ops.get(s.commit_op()).map(|c| c.ok + c.fail + c.unknown + c.acked_unreplicated).unwrap_or(0);
        let late = s.pacing.as_ref().map(|p| p.started_late).unwrap_or(0);
        StepMeasure {
            offered,
            achieved: s.rate(s.commit_op()).unwrap_or(0.0),
            delivered: s.rate("complete").unwrap_or(0.0),
            slo_us: terms.iter().map(|t| t.measured_us(s)).collect(),
            backlog_slope: s.backlog.as_ref().map(|b| b.late_slope_per_s.unwrap_or(b.slope_per_s)),
            backlog_slope_se: s.backlog.as_ref().and_then(|b| b.late_slope_se_per_s),
            entries_per_publish: if published > 0 { routed as f64 / published as f64 } else { 1.0 },
            backlog_end: s.backlog.as_ref().map(|b| b.end),
            failed: s.ops.values().map(|c| c.fail + c.unknown).sum(),
            late_share: if scheduled > 0 { late as f64 / scheduled as f64 } else { 0.0 },
            complete: s.complete,
            throttled_s: s.throttle.as_ref().map(|t| t.throttled_s).unwrap_or(0.0),
            compromised: s.compromised_reason.clone().filter(|_| s.compromised),
        }
    }
}

/// How strict a verdict is; stated in the capacity report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Rules {
    pub terms: Vec<Term>,
    /// Backlog growth allowed, as a share of the queue entries offered per second...
    pub backlog_share: f64,
    /// ...plus this many entries per second (sampling noise at low rates).
    pub backlog_floor: f64,
    /// Share of publishes allowed to start late.
    pub late_share: f64,
}

impl Rules {
    pub(crate) fn new(terms: Vec<Term>) -> Rules {
        Rules { terms, backlog_share: 0.02, backlog_floor: 2.0, late_share: 0.01 }
    }

    /// The backlog growth (entries/s) a step at `offered` publishes/s may show.
    pub(crate) fn backlog_allowed(&self, offered: f64, entries_per_publish: f64) -> f64 {
        self.backlog_share * offered * entries_per_publish + self.backlog_floor
    }

    pub(crate) fn describe(&self) -> String {
        let terms: Vec<String> = self.terms.iter().map(|t| t.to_string()).collect();
        format!(
            "{}; queue growth at most {:.0} % of the queue entries offered per second + {:.0}/s (least-squares slope \
             of the total host-queue depth over the second half of the measured phase, once the queues have filled \
             to their steady depth, less twice its standard error: growth the sampling noise explains does not \
             count); no failed or unknown operation; at most {:.0} % \
             of publishes started late; no second of throttled publishing (with --throttle)",
            terms.join(", "),
            self.backlog_share * 100.0,
            self.backlog_floor,
            self.late_share * 100.0
        )
    }
}

/// A step's verdict and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Verdict {
    pub sustainable: bool,
    /// Each broken condition, in words (empty when sustainable).
    pub reasons: Vec<String>,
}

pub(crate) fn judge(m: &StepMeasure, rules: &Rules) -> Verdict {
    let mut reasons = Vec::new();
    if !m.complete {
        reasons.push("the step did not complete".to_string());
    }
    if let Some(why) = &m.compromised {
        reasons.push(format!("compromised twice (run again once): {why}"));
    }
    for (term, measured) in rules.terms.iter().zip(&m.slo_us) {
        match measured {
            Some(v) if *v <= term.limit_us => {}
            Some(v) => reasons.push(format!(
                "{}.{} {} > {}",
                term.op,
                term.stat.as_str(),
                crate::capacity::slo::limit_text(*v),
                crate::capacity::slo::limit_text(term.limit_us)
            )),
            None => reasons.push(format!("no {} completed", term.op)),
        }
    }
    let allowed = rules.backlog_allowed(m.offered, m.entries_per_publish);
    let noise = 2.0 * m.backlog_slope_se.unwrap_or(0.0);
    match m.backlog_slope {
        Some(slope) if slope - noise > allowed => {
            reasons.push(match m.backlog_slope_se {
                Some(se) => format!("backlog grew {slope:.1} ± {se:.1}/s (allowed {allowed:.1}/s)"),
                None => format!("backlog grew {slope:.1}/s (allowed {allowed:.1}/s)"),
            });
        }
        Some(_) => {}
        None => reasons.push("queue depth not sampled".to_string()),
    }
    if m.failed > 0 {
        reasons.push(format!("{} failed or unknown operations", m.failed));
    }
    if m.throttled_s > 0.0 {
        reasons.push(format!("publishing throttled for {:.0} s", m.throttled_s));
    }
    if m.late_share > rules.late_share {
        reasons.push(format!("{:.1} % of publishes started late", m.late_share * 100.0));
    }
    Verdict { sustainable: reasons.is_empty(), reasons }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::slo;

    pub(crate) fn measure(offered: f64) -> StepMeasure {
        StepMeasure {
            offered,
            achieved: offered,
            delivered: offered * 2.0,
            slo_us: vec![Some(10_000)],
            backlog_slope: Some(0.5),
            backlog_slope_se: None,
            entries_per_publish: 2.0,
            backlog_end: Some(40),
            failed: 0,
            late_share: 0.0,
            complete: true,
            throttled_s: 0.0,
            compromised: None,
        }
    }

    #[test]
    fn a_step_compromised_twice_is_not_sustainable_and_says_why() {
        let rules = Rules::new(slo::parse("publish.p99=50ms").unwrap());
        assert!(judge(&measure(100.0), &rules).sustainable);
        let m = StepMeasure { compromised: Some("habench stalled 2.0 s at 12.0 s".into()), ..measure(100.0) };
        let v = judge(&m, &rules);
        assert!(!v.sustainable);
        assert_eq!(v.reasons, vec!["compromised twice (run again once): habench stalled 2.0 s at 12.0 s".to_string()]);
    }

    #[test]
    fn each_broken_condition_is_named() {
        let rules = Rules::new(slo::parse("publish.p99=50ms").unwrap());
        assert_eq!(judge(&measure(500.0), &rules), Verdict { sustainable: true, reasons: vec![] });
        let mut m = measure(500.0);
        m.slo_us = vec![Some(80_000)];
        m.backlog_slope = Some(30.0);
        m.failed = 3;
        m.late_share = 0.05;
        m.throttled_s = 3.0;
        let v = judge(&m, &rules);
        assert!(!v.sustainable);
        assert_eq!(
            v.reasons,
            [
                "publish.p99 80 ms > 50 ms",
                "backlog grew 30.0/s (allowed 22.0/s)",
                "3 failed or unknown operations",
                "publishing throttled for 3 s",
                "5.0 % of publishes started late"
            ]
        );
        m = measure(500.0);
        m.backlog_slope = Some(35.0);
        m.backlog_slope_se = Some(10.0);
        assert!(judge(&m, &rules).sustainable, "35 ± 10 is within 22 + 2 x 10");
        m.backlog_slope_se = Some(5.0);
        assert_eq!(judge(&m, &rules).reasons, ["backlog grew 35.0 ± 5.0/s (allowed 22.0/s)"]);
        m = measure(500.0);
        m.slo_us = vec![None];
        assert_eq!(judge(&m, &rules).reasons, ["no publish completed"]);
    }
}
