//! Repeated and compared runs: one row per variant (topology) over its trials, and every
//! trial's timeline, for the top folder's `summary.json`.

use crate::analysis::trials::spread;
use crate::summary::{RepeatedFailover, RepeatedSummary, RunRef, Summary, VariantRow, VariantTrial, SCHEMA_VERSION};

/// `runs`: (variant, trial number, that run's summary).
///
/// Over 80 lines: one row per variant, a field per column of the comparison table.
pub(crate) fn repeated_summary(runs: &[(String, u32, Summary)]) -> RepeatedSummary {
    let mut variants: Vec<String> = Vec::new();
    for (v, _, _) in runs {
        if !variants.contains(v) {
            variants.push(v.clone());
        }
    }
    let mut all_trials = Vec::new();
    let mut rows = Vec::new();
    for v in &variants {
        let mine: Vec<&(String, u32, Summary)> = runs.iter().filter(|(name, _, _)| name == v).collect();
        let mut trials = Vec::new();
        for (_, n, s) in &mine {
            for t in s.trials() {
                trials.push(VariantTrial {
                    timeline: t.clone(),
                    variant: v.clone(),
                    trial: *n,
                    run_id: s.run_id.clone(),
                });
            }
        }
        let col = |f: fn(&VariantTrial) -> Option<f64>| spread(trials.iter().filter_map(f));
        let sum = |f: fn(&habench_workloads::checker::CheckReport) -> u64| {
            mine.iter().filter_map(|(_, _, s)| s.check_report()).map(f).sum::<u64>()
        };
        rows.push(VariantRow {
            variant: v.clone(),
            topology: mine.first().map(|(_, _, s)| s.topology.clone()).unwrap_or_default(),
            runs: mine.len(),
            complete: mine.iter().all(|(_, _, s)| s.complete),
            rto_ms: col(|t| t.timeline.rto_ms),
            detected_ms: col(|t| t.timeline.detected_ms),
            endpoint_ready_ms: col(|t| t.timeline.endpoint_ready_ms),
            recovery_ms: col(|t| t.timeline.recovery_ms),
            p99_during_recovery_us_max: trials.iter().filter_map(|t| t.timeline.p99_during_recovery_us).max(),
            publish_p99_us: spread(mine.iter().filter_map(|(_, _, s)| s.latency("publish")).map(|l| l.p99 as f64)),
            lost: sum(|c| c.lost),
            duplicated: sum(|c| c.duplicated),
            recovered: sum(|c| c.recovered),
            valid: mine.iter().all(|(_, _, s)| s.check_report().is_none_or(|c| c.valid)),
            exposed_s: exposure_sum(&mine, |e| e.exposed_s),
            acked_exposed: exposure_sum(&mine, |e| e.acked_exposed as f64).map(|v| v as u64),
            lost_in_windows: exposure_sum(&mine, |e| e.lost_in_windows as f64).map(|v| v as u64),
            failed_publishes: mine
                .iter()
                .filter_map(|(_, _, s)| s.ops.get("publish"))
                .map(|c| c.fail + c.unknown)
                .sum(),
            stranded: stranded_sum(&mine, |m| m.stranded as f64).map(|v| v as u64),
            stranded_delay_max_ms: mine
                .iter()
                .filter_map(|(_, _, s)| s.parallel.as_ref())
                .flat_map(|p| p.maneuvers.iter().filter_map(|m| m.extra_delay_ms.map(|d| d.max)))
                .reduce(f64::max),
            receive_files: section_sum(&mine, |s| s.receive.as_ref().map(|r| r.files_written)),
            receive_duplicates: section_sum(&mine, |s| s.receive.as_ref().map(|r| r.duplicate_receipts)),
            receive_incomplete: section_sum(&mine, |s| s.receive.as_ref().map(|r| r.incomplete_reads)),
            sso_decryptions_failed: section_sum(&mine, |s| s.sso.as_ref().map(|x| x.decryptions_failed)),
            sso_encryptions_failed: section_sum(&mine, |s| {
                s.sso.as_ref().map(|x| x.encryptions_failed + x.encryptions_unknown)
            }),
            sso_starts_blocked: section_sum(&mine, |s| s.sso.as_ref().map(|x| x.starts_blocked)),
        });
        all_trials.extend(trials);
    }
    RepeatedSummary {
        schema_version: SCHEMA_VERSION,
        complete: runs.iter().all(|(_, _, s)| s.complete),
        scenario: runs.first().map(|(_, _, s)| s.scenario.clone()).unwrap_or_default(),
        failover: RepeatedFailover { trials: all_trials },
        runs: runs
            .iter()
            .map(|(v, n, s)| RunRef {
                variant: v.clone(),
                trial: *n,
                run_id: s.run_id.clone(),
                complete: s.complete,
                compromised: s.compromised,
            })
            .collect(),
        offload: None,
        distance: None,
        variants: rows,
    }
}

/// What every run of a repeated run lost and duplicated, and whether every check held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub lost: u64,
    pub duplicated: u64,
    /// No message lost or duplicated, and every run's check valid.
    pub all_valid: bool,
}

pub(crate) fn totals(s: &RepeatedSummary) -> Totals {
    let lost = s.variants.iter().map(|v| v.lost).sum();
    let duplicated = s.variants.iter().map(|v| v.duplicated).sum();
    Totals { lost, duplicated, all_valid: lost == 0 && duplicated == 0 && s.variants.iter().all(|v| v.valid) }
}

/// A figure of the runs' exposure sections, summed; None when no run had one.
fn exposure_sum(
    runs: &[&(String, u32, Summary)],
    pick: impl Fn(&crate::summary::ExposureSection) -> f64,
) -> Option<f64> {
    let sections: Vec<f64> = runs.iter().filter_map(|(_, _, s)| s.exposure.as_ref()).map(pick).collect();
    (!sections.is_empty()).then(|| sections.iter().sum())
}

/// A count of the runs' sections, summed; None when no run had the section.
fn section_sum(runs: &[&(String, u32, Summary)], pick: impl Fn(&Summary) -> Option<u64>) -> Option<u64> {
    runs.iter().filter_map(|(_, _, s)| pick(s)).reduce(|a, b| a + b)
}

/// A figure of the runs' parallel-group maneuvers, summed; None when no run had groups.
fn stranded_sum(runs: &[&(String, u32, Summary)], pick: impl Fn(&crate::summary::Maneuver) -> f64) -> Option<f64> {
    let sections: Vec<f64> =
        runs.iter().filter_map(|(_, _, s)| s.parallel.as_ref()).map(|p| p.maneuvers.iter().map(&pick).sum()).collect();
    (!sections.is_empty()).then(|| sections.iter().sum())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::summary::CheckSection;

    pub(crate) fn run(rto: f64, lost: u64) -> Summary {
        let mut s = Summary::blank("r").with_latency("publish", 1000, 4000, 100.0);
        s.check = Some(CheckSection::Report(habench_workloads::checker::CheckReport {
            lost,
            recovered: 1,
            valid: lost == 0,
            ..Default::default()
        }));
        let trial: crate::summary::Trial = serde_json::from_value(serde_json::json!({
            "fault": { "kind": "kill-primary", "at": "1s" }, "target": "primary", "injected_at_s": 2.0,
            "rto_ms": rto, "detected_ms": 100.0, "p99_during_recovery_us": 900000, "events": [],
            "fenced_ms": null, "promoted_ms": null, "endpoint_ready_ms": null, "last_ack_before_ms": null,
            "first_ack_after_ms": null, "p99_recovered_ms": null, "pre_fault_p99_us": null,
            "backlog_recovered_ms": null, "recovery_ms": null, "redo_bytes": null, "promoted_node": null
        }))
        .unwrap();
        s.failover = Some(crate::analysis::trials::failover_section(vec![trial]));
        s
    }

    #[test]
    fn a_row_per_variant_aggregates_its_trials() {
        let runs = vec![
            ("sync".to_string(), 1, run(1200.0, 0)),
            ("sync".to_string(), 2, run(1000.0, 0)),
            ("shared-disk".to_string(), 1, run(11000.0, 2)),
        ];
        let r = repeated_summary(&runs);
        assert_eq!(r.variants.len(), 2);
        assert_eq!(r.variants[0].rto_ms.unwrap().max, 1200.0);
        assert_eq!((r.variants[1].lost, r.variants[1].valid), (2, false));
        assert_eq!(r.failover.trials.len(), 3);
        // What is written reads back as the same type.
        let text = serde_json::to_string(&r).unwrap();
        let back: RepeatedSummary = serde_json::from_str(&text).unwrap();
        assert_eq!(back.failover.trials[2].variant, "shared-disk");
    }
}
