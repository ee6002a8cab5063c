//! `summary.json` from what the run measured (the typed [`Summary`]; keys in results/README.md).
//! Written after every interval with `complete: false`, and once more at the end.

use std::collections::BTreeMap;

use crate::config::Load;
use crate::measure::Stats;
use crate::run_result::RunResult;
use crate::summary::{DequeueCounts, OpCounts, Summary, Throughput};

/// What the summary says about the run besides its measurements.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub run_id: String,
    pub scenario: String,
    pub topology: String,
    pub workload: String,
    pub load: Load,
    pub started_at: String,
    pub seed: u64,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn base(h: &Header, totals: &Stats, measured_s: f64) -> Summary {
    let (mut ops, mut throughput, mut latency_us) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for (op, s) in totals.ops() {
        let name = op.as_str().to_string();
        ops.insert(
            name.clone(),
            OpCounts { ok: s.ok, fail: s.fail, unknown: s.unknown, acked_unreplicated: s.acked_unreplicated },
        );
        let rate = if measured_s > 0.0 { s.ok as f64 / measured_s } else { 0.0 };
        throughput.insert(name.clone(), Throughput { ops_per_sec: round2(rate) });
        latency_us.insert(name, s.latency().rounded());
    }
    let mut s = Summary::new(&h.run_id, &h.scenario, &h.topology, &h.workload, h.load.clone(), h.seed, &h.started_at);
    s.measured_s = round2(measured_s);
    s.ops = ops;
    s.throughput = throughput;
    s.latency_us = latency_us;
    s.dequeue =
        DequeueCounts { empty: totals.empty_dequeues, redelivered: totals.redelivered, not_held: totals.not_held };
    s
}

/// While the run goes: what is known so far, marked incomplete.
pub(crate) fn partial(h: &Header, totals: &Stats, measured_s: f64, stop_reason: &str) -> Summary {
    Summary { stop_reason: Some(stop_reason.to_string()), ..base(h, totals, measured_s) }
}

/// After the run (complete or not); the caller adds the sections it analysed.
pub(crate) fn final_summary(h: &Header, r: &RunResult, finished_at: &str) -> Summary {
    let measured_from = r.clock.elapsed_s(r.measure_start);
    let measured_to = r.digests.iter().rev().find(|d| d.measured).map_or(measured_from, |d| d.t_s);
    let harness = crate::summary::HarnessSection::of(
        (&r.stalls, r.largest_lateness),
        &r.clock,
        (measured_from, measured_to),
        r.max_harness_stall,
    );
    let compromised_reason = harness.compromised_reason();
    Summary {
        compromised: compromised_reason.is_some(),
        compromised_reason,
        harness: Some(harness),
        complete: r.stop_reason.is_none(),
        stop_reason: r.stop_reason.clone(),
        finished_at: Some(finished_at.to_string()),
        messages: Some(r.messages.clone()),
        drain: Some(r.drain.clone()),
        errors: Some(r.errors.clone()),
        pacing: r.pacing.clone(),
        throttle: r.throttle.clone(),
        backlog: crate::summary::Backlog::of(
            &r.digests.iter().filter(|d| d.measured).filter_map(|d| Some((d.t_s, d.queue_total?))).collect::<Vec<_>>(),
        ),
        ..base(h, &r.totals, r.measured_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Arrival;
    use crate::measure::Op;
    use habench_workloads::Outcome;

    #[test]
    fn units_are_in_the_key_names_and_rates_use_the_measured_time() {
        let h = Header {
            run_id: "r".into(),
            scenario: "s".into(),
            topology: "single".into(),
            workload: "messagebox".into(),
            load: Load::Open { rate: 10.0, arrival: Arrival::Poisson, publishers: 1 },
            started_at: "t".into(),
            seed: 1,
        };
        let mut t = Stats::default();
        for _ in 0..100 {
            t.record(Op::Publish, Outcome::Ok, 1000);
        }
        t.record(Op::Publish, Outcome::Fail, 0);
        let v = serde_json::to_value(partial(&h, &t, 10.0, "running")).unwrap();
        assert_eq!(v["complete"], false);
        assert_eq!(v["ops"]["publish"]["ok"], 100);
        assert_eq!(v["ops"]["publish"]["fail"], 1);
        assert_eq!(v["throughput"]["publish"]["ops_per_sec"], 10.0);
        assert!(v["latency_us"]["publish"]["p99"].as_u64().unwrap() >= 999);
        let back = Summary::parse(&v.to_string()).expect("what is written reads back");
        assert_eq!(back.ops["publish"], OpCounts { ok: 100, fail: 1, unknown: 0, acked_unreplicated: 0 });
    }
}
