//! Report queries: where they ran, how fast, how stale.

use crate::report::doc::{table, Block};
use crate::report::sections::values::{fixed, us_as_ms};
use crate::summary::Summary;

pub(super) fn reports(s: &Summary) -> Vec<Block> {
    let Some(r) = &s.reports else { return Vec::new() };
    let rows = r
        .targets
        .iter()
        .map(|(name, t)| {
            let all = t.latency_us.get("all");
            vec![
                name.clone(),
                fixed(Some(t.queries.ok_per_sec), 1),
                us_as_ms(all.map(|l| l.p50 as f64)),
                us_as_ms(all.map(|l| l.p99 as f64)),
                fixed(t.staleness_ms.map(|x| x.p50), 1),
                fixed(t.staleness_ms.map(|x| x.p99), 1),
                format!("{} / {}", t.read_your_writes.violations, t.read_your_writes.checks),
                t.recovery_conflicts.client_cancellations.to_string(),
            ]
        })
        .collect();
    vec![
        Block::Heading(2, "Reports".into()),
        Block::Para(format!("Report queries on **{}**.", r.on.as_str())),
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
