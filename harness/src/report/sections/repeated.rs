//! The report of a repeated run (variants, trials, distance, offload).

use crate::report::charts::distance::DistanceChart;
use crate::report::charts::offload::OffloadChart;
use crate::report::doc::{table, Block};
use crate::report::sections::charts::rto_chart;
use crate::report::sections::values::{fixed, shown, us_as_ms};
use crate::report::sections::Draw;
use crate::report::AnyChart;
use crate::summary::{DistanceSection, OffloadSection, RepeatedSummary, VariantRow};

pub(crate) fn repeated_run(s: &RepeatedSummary, draw: &mut Draw<'_>) -> Vec<Block> {
    let mut out = vec![
        Block::Heading(1, format!("habench report: {}", crate::run_data::repeated_title(s))),
        Block::Headline(crate::report::sections::headline::repeated_facts(s)),
    ];
    let rows: Vec<Vec<String>> = s
        .variants
        .iter()
        .map(|v| {
            vec![
                v.variant.clone(),
                v.runs.to_string(),
                fixed(v.rto_ms.map(|r| r.p50), 0),
                fixed(v.rto_ms.map(|r| r.max), 0),
                us_as_ms(v.publish_p99_us.map(|r| r.p50)),
                v.failed_publishes.to_string(),
                v.lost.to_string(),
                v.duplicated.to_string(),
                v.stranded.map_or("-".into(), |n| n.to_string()),
                fixed(v.stranded_delay_max_ms.map(|ms| ms / 1e3), 1),
            ]
        })
        .collect();
    out.push(Block::Heading(2, "Variants".into()));
    out.push(table(
        &[
            "variant",
            "runs",
            "RTO p50 ms",
            "RTO max ms",
            "publish p99 ms (median)",
            "failed publishes",
            "lost",
            "duplicated",
            "stranded",
            "stranded delay max s",
        ],
        rows,
    ));
    out.extend(exposure(&s.variants));
    out.extend(receive_and_sso(&s.variants));
    let trials = &s.failover.trials;
    if !trials.is_empty() {
        let labelled: Vec<_> = trials.iter().map(|t| (format!("{} {}", t.variant, t.trial), &t.timeline)).collect();
        out.extend(draw(AnyChart::Rto(rto_chart(&labelled))));
    }
    if let Some(d) = &s.distance {
        out.extend(distance(d, draw));
    }
    if let Some(o) = &s.offload {
        out.extend(offload(o, draw));
    }
    out
}

/// The variants' durability exposure side by side (the `exposure` scenario's answer), when any
/// variant ran on synchronous standbys.
fn exposure(variants: &[VariantRow]) -> Vec<Block> {
    if variants.iter().all(|v| v.exposed_s.is_none()) {
        return Vec::new();
    }
    let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    let rows = variants
        .iter()
        .map(|v| {
            vec![
                v.variant.clone(),
                fixed(v.exposed_s, 1),
                count(v.acked_exposed),
                v.lost.to_string(),
                count(v.lost_in_windows),
            ]
        })
        .collect();
    vec![
        Block::Heading(2, "Durability exposure".into()),
        Block::Para(
            "Seconds in which the primary required fewer confirming standbys than it started with, the publishes it \
             acknowledged then, and how many of the lost ones were acknowledged then (summed over each variant's runs; \
             `-`: no synchronous standby to lose)."
                .into(),
        ),
        table(&["variant", "exposed s", "acknowledged while exposed", "lost", "lost while exposed"], rows),
    ]
}

/// The variants' receive locations and SSO secrets side by side (summed over each variant's
/// runs), when any variant had one.
fn receive_and_sso(variants: &[VariantRow]) -> Vec<Block> {
    let count = |n: Option<u64>| n.map_or("-".into(), |n| n.to_string());
    let mut out = Vec::new();
    if variants.iter().any(|v| v.receive_files.is_some()) {
        let rows = variants
            .iter()
            .map(|v| {
                vec![
                    v.variant.clone(),
                    count(v.receive_files),
                    count(v.receive_duplicates),
                    count(v.receive_incomplete),
                ]
            })
            .collect();
        out.push(Block::Heading(2, "Receive locations".into()));
        out.push(table(&["variant", "files written", "duplicate receives", "incomplete reads"], rows));
    }
    if variants.iter().any(|v| v.sso_encryptions_failed.is_some()) {
        let rows = variants
            .iter()
            .map(|v| {
                vec![
                    v.variant.clone(),
                    count(v.sso_decryptions_failed),
                    count(v.sso_encryptions_failed),
                    count(v.sso_starts_blocked),
                ]
            })
            .collect();
        out.push(Block::Heading(2, "SSO master secret".into()));
        out.push(table(
            &["variant", "decryptions failed", "encryptions failed or unknown", "starts that waited"],
            rows,
        ));
    }
    out
}

fn distance(d: &DistanceSection, draw: &mut Draw<'_>) -> Vec<Block> {
    let mut out = vec![Block::Heading(2, "Distance".into())];
    let body = d
        .rows
        .iter()
        .map(|r| {
            vec![
                r.variant.clone(),
                r.setup.clone(),
                fixed(Some(r.round_trip_ms), 1),
                fixed(r.commit_p50_ms, 2),
                fixed(r.commit_p99_ms, 2),
                fixed(r.throughput_per_s, 1),
            ]
        })
        .collect();
    out.push(table(&["variant", "setup", "round trip ms", "commit p50 ms", "commit p99 ms", "commits/s"], body));
    let list: Vec<String> = d.p50_slope_per_round_trip.iter().map(|(k, v)| format!("{k} {}", fixed(*v, 2))).collect();
    out.push(Block::Para(format!("Commit p50 grows per ms of round trip by: {}.", list.join(", "))));
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for r in &d.rows {
        let Some(y) = r.commit_p50_ms else { continue };
        match series.iter_mut().find(|(n, _)| *n == r.setup) {
            Some((_, pts)) => pts.push((r.round_trip_ms, y)),
            None => series.push((r.setup.clone(), vec![(r.round_trip_ms, y)])),
        }
    }
    for (_, pts) in &mut series {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let flush_ms = d.rows.iter().find_map(|r| r.floor_flush_us).map(|us| us / 1000.0);
    out.extend(draw(AnyChart::Distance(DistanceChart {
        title: "Commit latency against the link's round trip".into(),
        series,
        flush_ms,
    })));
    out
}

fn offload(o: &OffloadSection, draw: &mut Draw<'_>) -> Vec<Block> {
    let mut out = vec![Block::Heading(2, "Offload".into())];
    let ms = |us: Option<u64>| us_as_ms(us.map(|v| v as f64));
    let body = o
        .variants
        .iter()
        .map(|r| {
            vec![
                r.variant.clone(),
                r.reports_on.clone(),
                fixed(r.publish_per_s, 1),
                ms(r.publish_p99_us),
                fixed(r.complete_per_s, 1),
                ms(r.complete_p99_us),
                ms(r.report_p99_us),
                fixed(r.staleness_ms_p99, 1),
                shown(r.ryw_violations),
                fixed(r.primary_cpu_s, 2),
            ]
        })
        .collect();
    out.push(table(
        &[
            "variant",
            "reports on",
            "publish/s",
            "publish p99 ms",
            "complete/s",
            "complete p99 ms",
            "report p99 ms",
            "staleness p99 ms",
            "RYW violations",
            "primary CPU s",
        ],
        body,
    ));
    if let Some(g) = o.standbys_vs_primary {
        out.push(Block::Para(format!(
            "Reports on the standbys instead of the primary: complete throughput x{}, publish p99 x{}, \
             complete p99 x{}, primary CPU x{}.",
            fixed(g.complete_per_s_ratio, 2),
            fixed(g.publish_p99_ratio, 2),
            fixed(g.complete_p99_ratio, 2),
            fixed(g.primary_cpu_ratio, 2)
        )));
    }
    let chart = OffloadChart {
        title: "Offload: primary latency and CPU".into(),
        variants: o
            .variants
            .iter()
            .map(|r| {
                let ms = |us: Option<u64>| us.unwrap_or(0) as f64 / 1000.0;
                (r.variant.clone(), [ms(r.publish_p99_us), ms(r.complete_p99_us), r.primary_cpu_s.unwrap_or(0.0)])
            })
            .collect(),
    };
    out.extend(draw(AnyChart::Offload(chart)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposure_is_tabled_only_when_a_variant_measured_it() {
        let plain = VariantRow { variant: "single".into(), ..Default::default() };
        assert!(exposure(std::slice::from_ref(&plain)).is_empty());
        let sync = VariantRow {
            variant: "first-1-of-1".into(),
            lost: 3849,
            exposed_s: Some(31.8),
            acked_exposed: Some(7845),
            lost_in_windows: Some(3849),
            ..Default::default()
        };
        let md = crate::report::doc::to_markdown(&exposure(&[sync, plain]));
        assert!(md.contains("| first-1-of-1 | 31.8 | 7845 | 3849 | 3849 |"), "{md}");
        assert!(md.contains("| single | - | - | 0 | - |"), "{md}");
    }

    #[test]
    fn receive_and_sso_are_tabled_only_when_a_variant_had_them() {
        let plain = VariantRow { variant: "plain".into(), ..Default::default() };
        assert!(receive_and_sso(std::slice::from_ref(&plain)).is_empty());
        let none2 = VariantRow {
            variant: "none-2".into(),
            receive_files: Some(30_000),
            receive_duplicates: Some(25_000),
            receive_incomplete: Some(29),
            ..Default::default()
        };
        let md = crate::report::doc::to_markdown(&receive_and_sso(&[none2, plain]));
        assert!(md.contains("| none-2 | 30000 | 25000 | 29 |") && md.contains("| plain | - | - | - |"), "{md}");
        assert!(!md.contains("SSO"), "{md}");
    }
}
