//! A repeated run's variant table (one row per variant over its trials) as Markdown and CSV.

use crate::summary::{RepeatedSummary, Spread, VariantRow};

/// What the top-level folder of a repeated run holds.
pub(crate) type TrialsReport = crate::export::TableReport<RepeatedSummary>;

/// The repeated run's summary with its table as Markdown and CSV.
pub(crate) fn trials_report(summary: RepeatedSummary) -> TrialsReport {
    let (markdown, csv) = table(&summary.variants);
    TrialsReport { summary, markdown, csv }
}

fn table(rows: &[VariantRow]) -> (String, String) {
    let ms = |v: Option<f64>| v.map(|x| format!("{x:.0}")).unwrap_or_else(|| "-".into());
    let us_ms = |v: Option<f64>| v.map(|x| format!("{:.1}", x / 1000.0)).unwrap_or_else(|| "-".into());
    let p50 = |s: &Option<Spread>| s.map(|s| s.p50);
    let md_header = [
        "variant",
        "topology",
        "runs",
        "RTO p50 ms",
        "RTO max ms",
        "detected p50 ms",
        "endpoint ready p50 ms",
        "crash recovery p50 ms",
        "worst p99 during recovery ms",
        "publish p99 ms (median run)",
        "lost",
        "duplicated",
        "valid",
        "exposed s",
        "acked while exposed",
        "lost in exposure",
        "failed publishes",
        "stranded",
        "stranded delay max s",
    ];
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
        "exposed_s",
        "acked_exposed",
        "lost_in_windows",
        "failed_publishes",
        "stranded",
        "stranded_delay_max_s",
    ];
    let mut records = Vec::new();
    for r in rows {
        let cells = [
            r.variant.clone(),
            r.topology.clone(),
            r.runs.to_string(),
            ms(p50(&r.rto_ms)),
            ms(r.rto_ms.map(|s| s.max)),
            ms(p50(&r.detected_ms)),
            ms(p50(&r.endpoint_ready_ms)),
            ms(p50(&r.recovery_ms)),
            us_ms(r.p99_during_recovery_us_max.map(|v| v as f64)),
            us_ms(p50(&r.publish_p99_us)),
            r.lost.to_string(),
            r.duplicated.to_string(),
            r.valid.to_string(),
            r.exposed_s.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into()),
            r.acked_exposed.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
            r.lost_in_windows.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
            r.failed_publishes.to_string(),
            r.stranded.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
            r.stranded_delay_max_ms.map(|v| format!("{:.1}", v / 1e3)).unwrap_or_else(|| "-".into()),
        ];
        records.push(cells.to_vec());
    }
    (crate::text_table::markdown(&md_header, &records), crate::text_table::table(&header, &records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::variants::{repeated_summary, tests::run};

    #[test]
    fn the_table_has_a_row_per_variant_in_both_formats() {
        let runs = vec![
            ("sync".to_string(), 1, run(1200.0, 0)),
            ("sync".to_string(), 2, run(1000.0, 0)),
            ("shared-disk".to_string(), 1, run(11000.0, 2)),
        ];
        let r = trials_report(repeated_summary(&runs));
        assert!(r.markdown.contains("| sync | sync | 2 | 1200 | 1200 | 100 |"), "{}", r.markdown);
        let (header, records) = crate::text_table::read(&r.csv);
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|rec| rec.len() == header.len()));
    }
}
