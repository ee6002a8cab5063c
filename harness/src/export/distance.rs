//! The distance sweep (computed in `analysis::distance`) as Markdown and CSV.

use std::fmt::Write;

use crate::export::TableReport;
use crate::summary::DistanceSection;

/// The section with its table as Markdown and CSV.
pub(crate) fn distance_report(section: DistanceSection) -> TableReport<DistanceSection> {
    let mut md = String::from("## Distance: commit latency against the link's round trip\n\n");
    let md_header = ["variant", "setup", "one-way ms", "round trip ms", "commit p50 ms", "commit p99 ms", "commits/s"];
    let header =
        ["variant", "setup", "one_way_delay_ms", "round_trip_ms", "commit_p50_ms", "commit_p99_ms", "throughput_per_s"];
    let mut records = Vec::new();
    let cell = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into());
    for r in &section.rows {
        let cells = [
            r.variant.clone(),
            r.setup.clone(),
            cell(Some(r.one_way_delay_ms)),
            cell(Some(r.round_trip_ms)),
            cell(r.commit_p50_ms),
            cell(r.commit_p99_ms),
            cell(r.throughput_per_s),
        ];
        records.push(cells.to_vec());
    }
    let csv = crate::text_table::table(&header, &records);
    md.push_str(&crate::text_table::markdown(&md_header, &records));
    md.push_str("\nSlope of commit p50 per ms of round trip (1.0: each commit waits one round trip):\n\n");
    for (k, v) in &section.p50_slope_per_round_trip {
        let _ = writeln!(md, "- {k}: {}", cell(*v));
    }
    TableReport { summary: section, markdown: md, csv }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::distance::distance_section;
    use crate::summary::{Setup, Summary};

    fn run(kind: &str, level: &str, delay: f64, p50_us: f64) -> Summary {
        let mut s = Summary::blank("r").with_latency("insert", p50_us as u64, (p50_us * 2.0) as u64, 8.0e6 / p50_us);
        s.setup = Some(Setup {
            kind: kind.into(),
            sync_commit: Some(level.into()),
            one_way_delay_ms: delay,
            links: [("s1".to_string(), format!("delay:{delay}ms"))].into(),
            ..Default::default()
        });
        s
    }

    #[test]
    fn the_slope_of_sync_is_one_round_trip_and_async_is_flat() {
        let mut runs = Vec::new();
        for d in [0.0, 1.0, 5.0, 20.0] {
            runs.push((format!("sync-{d}"), 1, run("sync", "on", d, 300.0 + 2000.0 * d)));
            runs.push((format!("async-{d}"), 1, run("async", "on", d, 250.0)));
        }
        let r = distance_report(distance_section(&runs).unwrap());
        assert_eq!(r.summary.p50_slope_per_round_trip["sync on"], Some(1.0));
        assert_eq!(r.summary.p50_slope_per_round_trip["async"], Some(0.0));
        assert!(r.markdown.contains("| sync-20 | sync on | 20.00 | 40.00 | 40.30 |"), "{}", r.markdown);
        assert_eq!(r.csv.lines().count(), 9);
        let no_links: Vec<_> = runs
            .iter()
            .map(|(v, n, s)| {
                let mut s = s.clone();
                s.setup.as_mut().unwrap().links.clear();
                (v.clone(), *n, s)
            })
            .collect();
        assert!(distance_section(&no_links).is_none());
    }
}
