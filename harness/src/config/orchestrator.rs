//! The orchestrator section: the built-in cluster manager's probes, threshold, delays, fencing.

use std::time::Duration;

use crate::config::{scenario, Origin, Overrides};
use crate::error::{Error, Result};

pub(crate) fn orchestrator(
    args: &Overrides,
    file: &scenario::ScenarioFile,
    at: &Origin<'_>,
) -> Result<crate::failover::OrchestratorConfig> {
    let osec = file.orchestrator.clone().unwrap_or_default();
    let mut o = crate::failover::OrchestratorConfig::default();
    if let Some(d) = args.probe_interval.or(osec.probe_interval.map(|d| d.0)) {
        o.probe_interval = d;
    }
    if let Some(n) = args.probe_threshold.or(osec.probe_threshold) {
        o.probe_threshold = n;
    }
    if let Some(d) = args.manual_delay.or(osec.manual_delay.map(|d| d.0)) {
        o.manual_delay = d;
    }
    if let Some(f) = osec.p99_factor {
        o.p99_factor = f;
    }
    o.heal = !args.no_heal && osec.heal.unwrap_or(true);
    o.fence = !args.no_fence && osec.fence.unwrap_or(true);
    if o.probe_interval < Duration::from_millis(10) || o.probe_interval > Duration::from_secs(600) {
        return Err(Error::config(
            at.key(args.probe_interval.is_some(), "--probe-interval", "orchestrator.probe_interval"),
            "give 10ms to 10m",
        ));
    }
    if o.probe_threshold == 0 || o.probe_threshold > 10_000 {
        return Err(Error::config(
            at.key(args.probe_threshold.is_some(), "--probe-threshold", "orchestrator.probe_threshold"),
            "give 1 to 10000 missed probes",
        ));
    }
    if o.manual_delay > Duration::from_secs(24 * 3600) {
        return Err(Error::config(
            at.key(args.manual_delay.is_some(), "--manual-delay", "orchestrator.manual_delay"),
            "give 0s to 24h",
        ));
    }
    if !(o.p99_factor.is_finite() && (1.0..=1000.0).contains(&o.p99_factor)) {
        return Err(Error::config(at.key(false, "p99_factor", "orchestrator.p99_factor"), "give 1 to 1000"));
    }
    Ok(o)
}
