//! Repeated and compared runs: one row per variant (topology) over its trials, as JSON,
//! Markdown and CSV.

use std::fmt::Write;

use serde_json::{json, Value};

use crate::failover::trials::spread;

/// What the top-level folder of a repeated run holds.
pub type TrialsReport = crate::export::TableReport;

fn f(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// `runs`: (variant, trial number, that run's summary).
pub fn trials_report(runs: &[(String, u32, Value)]) -> TrialsReport {
    let mut variants: Vec<String> = Vec::new();
    for (v, _, _) in runs {
        if !variants.contains(v) {
            variants.push(v.clone());
        }
    }
    let mut all_trials = Vec::new();
    let mut rows = Vec::new();
    for v in &variants {
        let mine: Vec<&(String, u32, Value)> = runs.iter().filter(|(name, _, _)| name == v).collect();
        let mut trials = Vec::new();
        for (_, n, s) in &mine {
            for t in s["failover"]["trials"].as_array().into_iter().flatten() {
                let mut t = t.clone();
                t["variant"] = json!(v);
                t["trial"] = json!(n);
                t["run_id"] = s["run_id"].clone();
                trials.push(t);
            }
        }
        let col = |k: &str| spread(trials.iter().filter_map(|t| f(&t[k])));
        let sum = |k: &str| mine.iter().map(|(_, _, s)| s["check"][k].as_u64().unwrap_or(0)).sum::<u64>();
        let recovery_p99 = trials.iter().filter_map(|t| t["p99_during_recovery_us"].as_u64()).max();
        let publish_p99 = spread(mine.iter().filter_map(|(_, _, s)| f(&s["latency_us"]["publish"]["p99"])));
        rows.push(json!({
            "variant": v,
            "topology": mine.first().map(|(_, _, s)| s["topology"].clone()).unwrap_or_default(),
            "runs": mine.len(),
            "complete": mine.iter().all(|(_, _, s)| s["complete"] == true),
            "rto_ms": col("rto_ms"),
            "detected_ms": col("detected_ms"),
            "endpoint_ready_ms": col("endpoint_ready_ms"),
            "recovery_ms": col("recovery_ms"),
            "p99_during_recovery_us_max": recovery_p99,
            "publish_p99_us": publish_p99,
            "lost": sum("lost"),
            "duplicated": sum("duplicated"),
            "recovered": sum("recovered"),
            "valid": mine.iter().all(|(_, _, s)| s["check"]["valid"] != false),
        }));
        all_trials.extend(trials);
    }
    let complete = runs.iter().all(|(_, _, s)| s["complete"] == true);
    let summary = json!({
        "schema_version": crate::export::summary::SCHEMA_VERSION,
        "complete": complete,
        "scenario": runs.first().map(|(_, _, s)| s["scenario"].clone()).unwrap_or_default(),
        "variants": rows,
        "failover": { "trials": all_trials },
        "runs": runs.iter().map(|(v, n, s)| json!({ "variant": v, "trial": n, "run_id": s["run_id"], "complete": s["complete"] })).collect::<Vec<_>>(),
    });
    let (markdown, csv) = table(&rows);
    TrialsReport { summary, markdown, csv }
}

fn table(rows: &[Value]) -> (String, String) {
    let ms = |v: &Value| v.as_f64().map(|x| format!("{x:.0}")).unwrap_or_else(|| "-".into());
    let us_ms = |v: &Value| v.as_f64().map(|x| format!("{:.1}", x / 1000.0)).unwrap_or_else(|| "-".into());
    let mut md = String::from(
        "| variant | topology | runs | RTO p50 ms | RTO max ms | detected p50 ms | endpoint ready p50 ms | crash recovery p50 ms | worst p99 during recovery ms | publish p99 ms (median run) | lost | duplicated | valid |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let header = [
        "variant",
        "topology",
        "runs",
        "rto_ms_p50",
        "rto_ms_max",
        "detected_ms_p50",
        "endpoint_ready_ms_p50",
        "recovery_ms_p50",
        "p99_during_recovery_ms_max",
        "publish_p99_ms",
        "lost",
        "duplicated",
        "valid",
    ];
    let mut records = Vec::new();
    for r in rows {
        let cells = [
            r["variant"].as_str().unwrap_or("").to_string(),
            r["topology"].as_str().unwrap_or("").to_string(),
            r["runs"].to_string(),
            ms(&r["rto_ms"]["p50"]),
            ms(&r["rto_ms"]["max"]),
            ms(&r["detected_ms"]["p50"]),
            ms(&r["endpoint_ready_ms"]["p50"]),
            ms(&r["recovery_ms"]["p50"]),
            us_ms(&r["p99_during_recovery_us_max"]),
            us_ms(&r["publish_p99_us"]["p50"]),
            r["lost"].to_string(),
            r["duplicated"].to_string(),
            r["valid"].to_string(),
        ];
        let _ = writeln!(md, "| {} |", cells.join(" | "));
        records.push(cells.to_vec());
    }
    (md, crate::csvfmt::table(&header, &records))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rto: f64, lost: u64) -> Value {
        json!({
            "complete": true, "run_id": "r", "scenario": "s", "topology": "sync",
            "latency_us": { "publish": { "p99": 4000 } },
            "check": { "lost": lost, "duplicated": 0, "recovered": 1, "valid": lost == 0 },
            "failover": { "trials": [ { "rto_ms": rto, "detected_ms": 100.0, "p99_during_recovery_us": 900000 } ] },
        })
    }

    #[test]
    fn a_row_per_variant_aggregates_its_trials() {
        let runs = vec![
            ("sync".to_string(), 1, run(1200.0, 0)),
            ("sync".to_string(), 2, run(1000.0, 0)),
            ("shared-disk".to_string(), 1, run(11000.0, 0)),
        ];
        let r = trials_report(&runs);
        assert_eq!(r.summary["variants"].as_array().unwrap().len(), 2);
        assert_eq!(r.summary["variants"][0]["rto_ms"]["max"], 1200.0);
        assert_eq!(r.summary["failover"]["trials"].as_array().unwrap().len(), 3);
        assert!(r.markdown.contains("| sync | sync | 2 | 1200 | 1200 | 100 |"), "{}", r.markdown);
        let (header, records) = crate::csvfmt::read(&r.csv);
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|rec| rec.len() == header.len()));
    }
}
