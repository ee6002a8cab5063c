//! The reporting load: where report queries go, how many, which.

use std::time::Duration;

use habench_workloads::duration::serde_str;
use habench_workloads::reporting::ReportMix;
use serde::Serialize;

use crate::config::timing::MAX_DURATION;
use crate::config::{scenario, Origin, Overrides, ReportsOn, RunConfig, Target, WorkloadKind};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize)]
pub struct ReportsConfig {
    pub on: ReportsOn,
    /// Report queries per second, on a schedule (latency counts from the intended start).
    pub rate: f64,
    /// Concurrent report workers; each holds one connection per target and takes them in turn.
    pub clients: u16,
    /// The "recent" window of the counts and slowest reports.
    #[serde(with = "serde_str")]
    pub window: Duration,
    pub mix: ReportMix,
    /// Standbys that serve reads (a read-only routing list); empty: every readable standby.
    pub standbys: Vec<String>,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            on: ReportsOn::None,
            rate: 20.0,
            clients: 2,
            window: Duration::from_secs(60),
            mix: ReportMix::default(),
            standbys: Vec::new(),
        }
    }
}

pub(crate) fn reports_config(
    args: &Overrides,
    file: &scenario::ScenarioFile,
    at: &Origin<'_>,
) -> Result<ReportsConfig> {
    let sec = file.reports.clone().unwrap_or_default();
    let mut r = ReportsConfig::default();
    r.on = args.reports_on.or(sec.on).unwrap_or(r.on);
    r.rate = args.report_rate.or(sec.rate).unwrap_or(r.rate);
    r.clients = args.report_clients.or(sec.clients).unwrap_or(r.clients);
    r.window = sec.window.map(|d| d.0).unwrap_or(r.window);
    r.mix = args.report_mix.or(sec.mix).unwrap_or(r.mix);
    r.standbys =
        if args.report_standbys.is_empty() { sec.standbys.unwrap_or_default() } else { args.report_standbys.clone() };
    if !(r.rate.is_finite() && r.rate > 0.0 && r.rate <= 100_000.0) {
        return Err(Error::config(
            at.key(args.report_rate.is_some(), "--report-rate", "reports.rate"),
            format!(
                "{} is not a rate; give report queries per second, more than 0 and at most 100000, e.g. 20",
                r.rate
            ),
        ));
    }
    if r.clients == 0 || r.clients > 200 {
        return Err(Error::config(
            at.key(args.report_clients.is_some(), "--report-clients", "reports.clients"),
            "give 1 to 200 concurrent report workers",
        ));
    }
    if r.window < Duration::from_secs(1) || r.window > MAX_DURATION {
        return Err(Error::config(at.key(false, "window", "reports.window"), "give 1s to 7d"));
    }
    r.mix.validate().map_err(|e| Error::config(at.key(args.report_mix.is_some(), "--report-mix", "reports.mix"), e))?;
    Ok(r)
}

/// Reports need the MessageBox's tables, and standbys to go to; `source` is where `on` was set.
pub(crate) fn check_reports(cfg: &RunConfig, source: &str) -> Result<()> {
    let on = cfg.reports.on;
    if on != ReportsOn::None && cfg.workload.kind != WorkloadKind::Messagebox {
        return Err(Error::config(source, "report queries read the MessageBox tables: use --workload messagebox"));
    }
    if let Target::Topology(spec) = &cfg.target {
        let names = spec.node_names();
        if let Some(n) = cfg.reports.standbys.iter().find(|n| !names[1..].contains(n)) {
            return Err(Error::config(
                "--report-standbys",
                format!("`{n}` is not a standby of {}; its standbys are {}", spec.kind, names[1..].join(", ")),
            ));
        }
    }
    if on == ReportsOn::Standbys && !cfg.has_readable_standbys() {
        return Err(Error::config(
            source,
            "standbys: this target has no readable standby; use --topology sync, async or log-shipping with --standbys 1 or more",
        ));
    }
    Ok(())
}
