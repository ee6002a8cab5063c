//! Report queries: where they ran, how fast, how stale.

use crate::report::data::RunData;
use crate::report::doc::{table, Block};
use crate::report::sections::values::{ms, num, text};

pub(super) fn reports(d: &RunData) -> Vec<Block> {
    let r = &d.summary["reports"];
    let Some(targets) = r["targets"].as_object() else { return Vec::new() };
    let rows = targets
        .iter()
        .map(|(name, t)| {
            vec![
                name.clone(),
                num(&t["queries"]["ok_per_sec"], 1),
                ms(&t["latency_us"]["all"]["p50"]),
                ms(&t["latency_us"]["all"]["p99"]),
                num(&t["staleness_ms"]["p50"], 1),
                num(&t["staleness_ms"]["p99"], 1),
                format!("{} / {}", text(&t["read_your_writes"]["violations"]), text(&t["read_your_writes"]["checks"])),
                text(&t["recovery_conflicts"]["client_cancellations"]),
            ]
        })
        .collect();
    vec![
        Block::Heading(2, "Reports".into()),
        Block::Para(format!("Report queries on **{}**.", text(&r["on"]))),
        table(
            &[
                "target",
                "ok/s",
                "p50 ms",
                "p99 ms",
                "staleness p50 ms",
                "staleness p99 ms",
                "RYW violations",
                "conflicts",
            ],
            rows,
        ),
    ]
}
