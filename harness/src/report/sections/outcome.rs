//! What happened to the messages: the check, and each failover's timeline.

use serde_json::Value;

use crate::report::data::RunData;
use crate::report::doc::{table, Block};
use crate::report::sections::charts::rto_chart;
use crate::report::sections::values::{num, text};
use crate::report::sections::Draw;
use crate::report::AnyChart;

pub(super) fn check(d: &RunData) -> Vec<Block> {
    let c = &d.summary["check"];
    if c.is_null() {
        return Vec::new();
    }
    let keys = ["acknowledged", "lost", "duplicated", "recovered", "unexpected", "undelivered", "valid"];
    let rows = vec![keys.iter().map(|k| text(&c[*k])).collect()];
    vec![
        Block::Heading(2, "Check".into()),
        Block::Para(
            "The ledger of acknowledged operations against what survived in the database after the drain.".into(),
        ),
        table(&keys, rows),
    ]
}

/// A fault as it was asked for (`kill-primary@8s`, `pause-primary@2s:6s`): its time counts from
/// the measured phase's start, like the flag's.
pub(super) fn fault_label(f: &Value) -> String {
    let mut label = format!("{}@{}", text(&f["kind"]), text(&f["at"]));
    if let Some(d) = f["duration"].as_str() {
        label.push(':');
        label.push_str(d);
    }
    label
}

pub(super) fn failover(d: &RunData, draw: &mut Draw<'_>) -> Vec<Block> {
    let trials = d.summary["failover"]["trials"].as_array().cloned().unwrap_or_default();
    if trials.is_empty() {
        return Vec::new();
    }
    let rows = trials
        .iter()
        .map(|t| {
            vec![
                fault_label(&t["fault"]),
                num(&t["detected_ms"], 0),
                num(&t["fenced_ms"], 0),
                num(&t["promoted_ms"], 0),
                num(&t["endpoint_ready_ms"], 0),
                num(&t["rto_ms"], 0),
                num(&t["p99_recovered_ms"], 0),
                num(&t["recovery_ms"], 0),
            ]
        })
        .collect();
    let mut out = vec![
        Block::Heading(2, "Failover".into()),
        Block::Para("Milliseconds from the fault's injection.".into()),
        table(
            &["fault", "detected", "fenced", "promoted", "endpoint ready", "RTO", "p99 recovered", "crash recovery"],
            rows,
        ),
    ];
    out.extend(draw(AnyChart::Rto(rto_chart(&trials, |i, _| (i + 1).to_string()))));
    out
}
