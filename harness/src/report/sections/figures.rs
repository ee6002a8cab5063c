//! Key figures per operation, and the physical floor beside the measured commit.

use serde_json::json;

use crate::measure::floor::{commit_floor_us, Floor};
use crate::report::data::RunData;
use crate::report::doc::{table, Block};
use crate::report::sections::values::{ms, num, primary_name, text};

pub(super) fn key_figures(d: &RunData) -> Vec<Block> {
    let s = &d.summary;
    let rows = d
        .ops()
        .into_iter()
        .map(|op| {
            let l = &s["latency_us"][&op];
            vec![
                op.clone(),
                num(&s["throughput"][&op]["ops_per_sec"], 1),
                ms(&l["p50"]),
                ms(&l["p99"]),
                ms(&l["p999"]),
                ms(&l["max"]),
                text(&s["ops"][&op]["fail"]),
                text(&s["ops"][&op]["unknown"]),
            ]
        })
        .collect();
    let mut out = vec![
        Block::Heading(2, "Key figures".into()),
        Block::Para("Measured phase only; latencies count from each operation's intended start (open loop).".into()),
        table(&["operation", "ok/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "fail", "unknown"], rows),
    ];
    let h = &s["cpu"]["harness"];
    if h.is_object() {
        out.push(Block::Para(format!(
            "habench itself used {} CPU-s over the measured phase: {} of a core, {} % of the machine.",
            num(&h["cpu_s"], 2),
            num(&h["cores"], 3),
            num(&json!(h["machine_share"].as_f64().unwrap_or(0.0) * 100.0), 1)
        )));
    }
    let p = &s["pacing"];
    if p.is_object() {
        out.push(Block::Para(format!(
            "Pacing: publishers waiting for a slot woke {} µs after its intended start on average \
             (max {} µs, {} slots); {} slots found every publisher busy and started late.",
            num(&p["wake_late_us_mean"], 0),
            text(&p["wake_late_us_max"]),
            text(&p["woken"]),
            text(&p["started_late"])
        )));
    }
    out
}

/// The commit floor of the run's setup.
#[derive(Debug)]
pub(super) struct SetupFloor {
    pub measured: Floor,
    /// Whether commits wait for a standby.
    pub waits: bool,
    pub link_rtt_us: f64,
    /// The floor of one commit, µs.
    pub floor_us: Option<f64>,
}

pub(super) fn setup_floor(d: &RunData) -> Option<SetupFloor> {
    let measured = serde_json::from_value::<Floor>(d.manifest["physical_floor"].clone()).ok()?;
    let sync = d.manifest["server_settings"][primary_name(&d.manifest)]["synchronous_standby_names"]
        .as_str()
        .is_some_and(|s| !s.is_empty());
    let level = d.manifest["server_settings"][primary_name(&d.manifest)]["synchronous_commit"].as_str().unwrap_or("on");
    let waits = sync && !matches!(level, "off" | "local");
    // An emulated link adds its round trip to the standby's.
    let link_rtt_us = d.summary["setup"]["one_way_delay_ms"].as_f64().unwrap_or(0.0) * 2000.0;
    let floor_us = commit_floor_us(&measured, waits).map(|fl| if waits { fl + link_rtt_us } else { fl });
    Some(SetupFloor { measured, waits, link_rtt_us, floor_us })
}

/// The operation that commits a message: publish, or the calibration insert.
pub(super) fn commit_op(d: &RunData) -> &'static str {
    if d.summary["latency_us"]["publish"].is_object() {
        "publish"
    } else {
        "insert"
    }
}

pub(super) fn physical_floor(d: &RunData) -> Vec<Block> {
    let Some(SetupFloor { measured: f, waits, link_rtt_us, floor_us: floor }) = setup_floor(d) else {
        return Vec::new();
    };
    let commit = d.summary["latency_us"][commit_op(d)]["p50"].as_f64();
    let us = |v: Option<f64>| v.map(|x| format!("{x:.0} µs")).unwrap_or_else(|| "not measured".into());
    let mut rows = vec![
        vec!["local WAL flush (pg_test_fsync, one 8 kB write + fdatasync)".into(), us(f.fdatasync_us)],
        vec!["client round trip (`SELECT 1`, fastest of 20)".into(), us(f.round_trip_us)],
        vec!["emulated link round trip (to the standby)".into(), us(Some(link_rtt_us))],
        vec![
            if waits { "floor: flush + round trips + standby flush".into() } else { "floor: local flush".into() },
            us(floor),
        ],
        vec!["measured commit p50 (publish or insert)".into(), us(commit)],
    ];
    if let (Some(fl), Some(c)) = (floor, commit) {
        rows.push(vec!["measured / floor".into(), format!("{:.1}x", c / fl)]);
    }
    vec![Block::Heading(2, "Physical floor".into()), table(&["", ""], rows)]
}
