//! `summary.json`: the run's figures (schema in results/README.md). Written after every interval
//! with `complete: false`, and once more at the end.

use serde_json::{json, Map, Value};

use crate::measure::Stats;
use crate::run_result::RunResult;

/// What the summary says about the run besides its measurements.
#[derive(Debug, Clone)]
pub struct Header {
    pub run_id: String,
    pub scenario: String,
    pub topology: String,
    pub workload: String,
    pub load: Value,
    pub started_at: String,
    pub seed: u64,
}

pub const SCHEMA_VERSION: u32 = 1;

/// Per-operation counts, throughput and latency over `measured_s` seconds.
fn ops_sections(totals: &Stats, measured_s: f64) -> (Value, Value, Value) {
    let (mut ops, mut thr, mut lat) = (Map::new(), Map::new(), Map::new());
    for (op, s) in totals.ops() {
        let name = op.as_str().to_string();
        ops.insert(name.clone(), json!({ "ok": s.ok, "fail": s.fail, "unknown": s.unknown }));
        let rate = if measured_s > 0.0 { s.ok as f64 / measured_s } else { 0.0 };
        thr.insert(name.clone(), json!({ "ops_per_sec": round2(rate) }));
        let l = s.latency();
        lat.insert(
            name,
            json!({ "count": l.count, "mean": round2(l.mean), "p50": l.p50, "p90": l.p90, "p99": l.p99, "p999": l.p999, "max": l.max }),
        );
    }
    (Value::Object(ops), Value::Object(thr), Value::Object(lat))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn base(h: &Header, totals: &Stats, measured_s: f64) -> Map<String, Value> {
    let (ops, thr, lat) = ops_sections(totals, measured_s);
    let mut m = Map::new();
    m.insert("schema_version".into(), json!(SCHEMA_VERSION));
    m.insert("complete".into(), json!(false));
    m.insert("run_id".into(), json!(h.run_id));
    m.insert("scenario".into(), json!(h.scenario));
    m.insert("topology".into(), json!(h.topology));
    m.insert("workload".into(), json!(h.workload));
    m.insert("load".into(), h.load.clone());
    m.insert("seed".into(), json!(h.seed));
    m.insert("started_at".into(), json!(h.started_at));
    m.insert("measured_s".into(), json!(round2(measured_s)));
    m.insert("ops".into(), ops);
    m.insert("throughput".into(), thr);
    m.insert("latency_us".into(), lat);
    m.insert(
        "dequeue".into(),
        json!({ "empty": totals.empty_dequeues, "redelivered": totals.redelivered, "not_held": totals.not_held }),
    );
    m
}

/// While the run goes: what is known so far, marked incomplete.
pub fn partial(h: &Header, totals: &Stats, measured_s: f64, stop_reason: &str) -> Value {
    let mut m = base(h, totals, measured_s);
    m.insert("stop_reason".into(), json!(stop_reason));
    Value::Object(m)
}

/// After the run (complete or not).
pub fn final_summary(h: &Header, r: &RunResult, finished_at: &str, sections: Vec<(&str, Value)>) -> Value {
    let mut m = base(h, &r.totals, r.measured_s);
    m.insert("complete".into(), json!(r.stop_reason.is_none()));
    m.insert("stop_reason".into(), json!(r.stop_reason));
    m.insert("finished_at".into(), json!(finished_at));
    m.insert("messages".into(), serde_json::to_value(&r.messages).unwrap_or_default());
    m.insert("drain".into(), serde_json::to_value(&r.drain).unwrap_or_default());
    m.insert("errors".into(), serde_json::to_value(&r.errors).unwrap_or_default());
    for (k, v) in sections {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Op;
    use habench_workloads::Outcome;

    #[test]
    fn units_are_in_the_key_names_and_rates_use_the_measured_time() {
        let h = Header {
            run_id: "r".into(),
            scenario: "s".into(),
            topology: "single".into(),
            workload: "messagebox".into(),
            load: json!({"mode": "open"}),
            started_at: "t".into(),
            seed: 1,
        };
        let mut t = Stats::default();
        for _ in 0..100 {
            t.record(Op::Publish, Outcome::Ok, 1000);
        }
        t.record(Op::Publish, Outcome::Fail, 0);
        let v = partial(&h, &t, 10.0, "running");
        assert_eq!(v["complete"], json!(false));
        assert_eq!(v["ops"]["publish"]["ok"], json!(100));
        assert_eq!(v["ops"]["publish"]["fail"], json!(1));
        assert_eq!(v["throughput"]["publish"]["ops_per_sec"], json!(10.0));
        assert!(v["latency_us"]["publish"]["p99"].as_u64().unwrap() >= 999);
    }
}
