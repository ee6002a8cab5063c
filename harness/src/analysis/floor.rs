//! The commit floor of a run's setup: what the hardware alone costs one commit (a local WAL
//! flush, plus the round trips and the standby's flush when commits wait for one, plus an
//! emulated link's round trip), and how many floors the measured commit p50 is.

use crate::measure::floor::{commit_floor_us, Floor};
use crate::run_data::RunData;
use crate::summary::Summary;

/// The commit floor of the run's setup.
#[derive(Debug)]
pub(crate) struct SetupFloor {
    pub measured: Floor,
    /// Whether commits wait for a standby.
    pub waits: bool,
    pub link_rtt_us: f64,
    /// The floor of one commit, µs.
    pub floor_us: Option<f64>,
    /// The run's commit p50 (publish or insert), µs, and how many floors it is.
    pub commit_p50_us: Option<f64>,
    pub vs_floor: Option<f64>,
}

pub(crate) fn setup_floor(d: &RunData, s: &Summary) -> Option<SetupFloor> {
    let measured = serde_json::from_value::<Floor>(d.manifest["physical_floor"].clone()).ok()?;
    let sync = d.manifest["server_settings"][d.primary_name()]["synchronous_standby_names"]
        .as_str()
        .is_some_and(|s| !s.is_empty());
    let level = d.manifest["server_settings"][d.primary_name()]["synchronous_commit"].as_str().unwrap_or("on");
    let waits = sync && !matches!(level, "off" | "local");
    // An emulated link adds its round trip to the standby's.
    let link_rtt_us = s.setup.as_ref().map_or(0.0, |x| x.one_way_delay_ms) * 2000.0;
    let floor_us = commit_floor_us(&measured, waits).map(|fl| if waits { fl + link_rtt_us } else { fl });
    let commit_p50_us = s.latency(s.commit_op()).map(|l| l.p50 as f64);
    let vs_floor = floor_us.zip(commit_p50_us).filter(|(fl, _)| *fl > 0.0).map(|(fl, c)| c / fl);
    Some(SetupFloor { measured, waits, link_rtt_us, floor_us, commit_p50_us, vs_floor })
}
