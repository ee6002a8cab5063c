//! Key figures per operation, and the physical floor beside the measured commit.

use crate::analysis::floor::{setup_floor, SetupFloor};
use crate::report::doc::{table, Block};
use crate::report::sections::values::{fixed, us_as_ms};
use crate::run_data::RunData;
use crate::summary::Summary;

/// habench's share of the machine above which the report warns that its figures are partly
/// habench's own (it shares the cores with the servers it started).
const HARNESS_SHARE_WARN: f64 = 0.25;

pub(super) fn key_figures(d: &RunData, s: &Summary) -> Vec<Block> {
    let rows = d
        .ops()
        .into_iter()
        .map(|op| {
            let l = s.latency(&op).copied().unwrap_or_default();
            let counts = s.ops.get(&op).copied().unwrap_or_default();
            let ms = |us: u64| us_as_ms(Some(us as f64));
            vec![
                op.clone(),
                fixed(s.rate(&op), 1),
                ms(l.p50),
                ms(l.p99),
                ms(l.p999),
                ms(l.max),
                counts.fail.to_string(),
                counts.unknown.to_string(),
            ]
        })
        .collect();
    let mut out = vec![
        Block::Heading(2, "Key figures".into()),
        Block::Para(
            if s.receive.is_some() {
                "Measured phase only. A receive location publishes what it reads: a publish counts from the start of \
                 its statement, end to end from the received file's last write."
            } else {
                "Measured phase only; latencies count from each operation's intended start (open loop)."
            }
            .into(),
        ),
        table(&["operation", "ok/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "fail", "unknown"], rows),
    ];
    let unreplicated: Vec<String> = s
        .ops
        .iter()
        .filter(|(_, c)| c.acked_unreplicated > 0)
        .map(|(op, c)| format!("{op} {}", c.acked_unreplicated))
        .collect();
    if !unreplicated.is_empty() {
        out.push(Block::Para(format!(
            "Acknowledged with PostgreSQL's warning that the wait for synchronous replication was cancelled \
             (committed on the primary, maybe on no standby; outcome `acked_unreplicated`, in the latencies \
             but not in ok/s): {}.",
            unreplicated.join(", ")
        )));
    }
    if let Some(h) = s.cpu.as_ref().and_then(|c| c.harness) {
        let per = [("publish", h.us_per_publish), ("delivered message", h.us_per_message)]
            .iter()
            .filter_map(|(what, v)| v.map(|us| format!("{us:.1} µs per {what}")))
            .collect::<Vec<_>>();
        let per = if per.is_empty() { String::new() } else { format!("; {}", per.join(", ")) };
        out.push(Block::Para(format!(
            "habench itself used {:.2} CPU-s over the measured phase{}: {:.3} of a core, {:.1} % of the \
             machine{per}.",
            h.cpu_s,
            h.system_s.map(|k| format!(" ({k:.2} s of it in the kernel)")).unwrap_or_default(),
            h.cores,
            h.machine_share * 100.0
        )));
        if h.machine_share > HARNESS_SHARE_WARN {
            out.push(Block::Para(format!(
                "**Warning:** habench used more than {:.0} % of this machine's cores while sharing them with \
                 the servers it measured: the throughput and latency figures are partly habench's own.",
                HARNESS_SHARE_WARN * 100.0
            )));
        }
    }
    if let Some(h) = &s.harness {
        out.push(Block::Para(harness_text(h)));
    }
    if let (Some(p), Some(_)) = (&s.pacing, &s.receive) {
        out.push(Block::Para(format!(
            "Pacing: the feeder started each file {:.0} µs after its intended time on average (max {} µs, {} \
             files; tokio timers, millisecond resolution).",
            p.wake_late_us_mean, p.wake_late_us_max, p.woken
        )));
    } else if let Some(p) = &s.pacing {
        out.push(Block::Para(format!(
            "Pacing: publishers waiting for a slot woke {:.0} µs after its intended start on average \
             (max {} µs, {} slots); {} slots found every publisher busy and started late.",
            p.wake_late_us_mean, p.wake_late_us_max, p.woken, p.started_late
        )));
    }
    if let Some(t) = &s.throttle {
        out.push(Block::Para(throttle_text(t)));
    }
    out
}

/// What `--throttle` did, in a sentence.
fn throttle_text(t: &crate::run_result::Throttling) -> String {
    let peak = t.peak_messages.map(|p| format!("; at most {p} messages in the MessageBox")).unwrap_or_default();
    if t.throttled_total_s == 0.0 {
        return format!("Throttling (above {} messages): never throttled{peak}.", t.threshold);
    }
    format!(
        "Throttling (above {} messages): publishing throttled for {:.0} s of the measured phase ({:.0} s in all); \
         {} publishes waited a delay, the longest {:.0} ms{peak}.",
        t.threshold, t.throttled_s, t.throttled_total_s, t.delayed_publishes, t.max_delay_ms
    )
}

pub(super) fn physical_floor(d: &RunData, s: &Summary) -> Vec<Block> {
    let Some(SetupFloor { measured: f, waits, link_rtt_us, floor_us: floor, commit_p50_us: commit, vs_floor }) =
        setup_floor(d, s)
    else {
        return Vec::new();
    };
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
    if let Some(x) = vs_floor {
        rows.push(vec!["measured / floor".into(), format!("{x:.1}x")]);
    }
    vec![Block::Heading(2, "Physical floor".into()), table(&["", ""], rows)]
}

/// habench's own stalls, in words: none, or how many, the longest and where.
fn harness_text(h: &crate::summary::HarnessSection) -> String {
    let kept = format!(
        "habench kept running: no stall of its own over 50 ms (its runtimes were at most {:.1} ms late)",
        h.largest_lateness_ms
    );
    let Some(worst) = h.stalls.iter().max_by(|a, b| a.duration_ms.total_cmp(&b.duration_ms)) else {
        return format!("{kept}.");
    };
    let measured = h.stalls.iter().filter(|s| s.measured).count();
    format!(
        "habench itself stalled {} time(s) over 50 ms ({measured} in the measured phase; more than {:.0} ms there \
         compromises a run), the longest {:.0} ms at {:.1} s ({}); see the grey spans on the timeline.",
        h.stalls.len(),
        h.max_stall_ms,
        worst.duration_ms,
        worst.at_s,
        worst.runtime
    )
}
