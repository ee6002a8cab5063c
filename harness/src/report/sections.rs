//! The report's content: configuration, key figures, floor, check, failover, reports, charts.

use serde_json::{json, Value};

use crate::report::charts::distance::DistanceChart;
use crate::report::charts::lag::LagChart;
use crate::report::charts::offload::OffloadChart;
use crate::report::charts::rto::RtoChart;
use crate::report::charts::spectrum::{self, SpectrumChart};
use crate::report::charts::timeline::{TimelineChart, Window};
use crate::report::data::RunData;
use crate::report::doc::{table, Block};
use crate::report::floor::{commit_floor_us, Floor};
use crate::report::AnyChart;

type Draw<'a> = dyn FnMut(AnyChart) -> Option<Block> + 'a;

/// Settings that say where things are, not how the server behaves.
const NOISE: [&str; 7] = [
    "port",
    "cluster_name",
    "listen_addresses",
    "unix_socket_directories",
    "log_line_prefix",
    "lc_messages",
    "DateStyle",
];

fn ms(us: &Value) -> String {
    us.as_f64().map(|v| format!("{:.2}", v / 1000.0)).unwrap_or_else(|| "-".into())
}

fn num(v: &Value, digits: usize) -> String {
    v.as_f64().map(|x| format!("{x:.digits$}")).unwrap_or_else(|| "-".into())
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn primary_name(m: &Value) -> String {
    m["topology"]["nodes"]
        .as_array()
        .and_then(|ns| ns.iter().find(|n| n["role"] == "primary"))
        .and_then(|n| n["name"].as_str())
        .unwrap_or("primary")
        .to_string()
}

fn configuration(d: &RunData) -> Vec<Block> {
    let s = &d.summary;
    let m = &d.manifest;
    let c = &m["config"];
    let primary = primary_name(m);
    let settings = &m["server_settings"][&primary];
    let spec = &c["target"]["topology"];
    let load = &s["load"];
    let load_text = match load["mode"].as_str() {
        Some("open") => format!(
            "open loop, {} msgs/s ({}), {} connections",
            text(&load["rate"]),
            text(&load["arrival"]),
            text(&load["publishers"])
        ),
        Some("closed") => format!("closed loop, {} clients", text(&load["clients"])),
        _ => "-".into(),
    };
    let mut rows = vec![
        vec!["scenario".into(), text(&s["scenario"])],
        vec!["topology".into(), text(&s["topology"])],
        vec!["standbys".into(), text(&spec["standbys"])],
        vec!["synchronous_standby_names".into(), text(&settings["synchronous_standby_names"])],
        vec!["synchronous_commit".into(), text(&settings["synchronous_commit"])],
        vec!["workload".into(), text(&s["workload"])],
        vec!["load".into(), load_text],
        vec!["measured".into(), format!("{} s after {} warm-up", num(&s["measured_s"], 1), text(&c["warmup"]))],
        vec!["seed".into(), text(&s["seed"])],
        vec!["PostgreSQL".into(), text(&m["postgres_version"]).split(" on ").next().unwrap_or("-").to_string()],
        vec!["habench".into(), format!("{} ({})", text(&m["habench_version"]), text(&m["git_commit"]))],
        vec!["machine".into(), format!("{} cores", text(&m["machine"]["cores"]))],
    ];
    if c["reports"]["on"].as_str().is_some_and(|o| o != "none") {
        let r = &c["reports"];
        rows.push(vec![
            "reports".into(),
            format!("on {}, {} queries/s, {} workers", text(&r["on"]), text(&r["rate"]), text(&r["clients"])),
        ]);
    }
    for n in m["topology"]["nodes"].as_array().into_iter().flatten() {
        if let Some(cpus) = n["cpus"].as_str() {
            rows.push(vec![format!("CPUs of {}", text(&n["name"])), cpus.to_string()]);
        }
    }
    let mut out = vec![Block::Heading(2, "Configuration".into()), table(&["", ""], rows)];
    if let Some(map) = settings.as_object() {
        let rows: Vec<Vec<String>> = map
            .iter()
            .filter(|(k, _)| !NOISE.contains(&k.as_str()))
            .map(|(k, v)| vec![format!("`{k}`"), text(v)])
            .collect();
        out.push(Block::Para(format!(
            "Server settings of `{primary}` that differ from PostgreSQL's defaults, and its durability settings:"
        )));
        out.push(table(&["setting", "value"], rows));
    }
    out
}

fn key_figures(d: &RunData) -> Vec<Block> {
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

fn physical_floor(d: &RunData) -> Vec<Block> {
    let Ok(f) = serde_json::from_value::<Floor>(d.manifest["physical_floor"].clone()) else { return Vec::new() };
    let sync = d.manifest["server_settings"][primary_name(&d.manifest)]["synchronous_standby_names"]
        .as_str()
        .is_some_and(|s| !s.is_empty());
    let level = d.manifest["server_settings"][primary_name(&d.manifest)]["synchronous_commit"].as_str().unwrap_or("on");
    let waits = sync && !matches!(level, "off" | "local");
    let commit =
        d.summary["latency_us"]["publish"]["p50"].as_f64().or(d.summary["latency_us"]["insert"]["p50"].as_f64());
    // An emulated link adds its round trip to the standby's.
    let link_rtt_us = d.summary["setup"]["one_way_delay_ms"].as_f64().unwrap_or(0.0) * 2000.0;
    let floor = commit_floor_us(&f, waits).map(|fl| if waits { fl + link_rtt_us } else { fl });
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

fn check(d: &RunData) -> Vec<Block> {
    let c = &d.summary["check"];
    if c.is_null() {
        return Vec::new();
    }
    let keys = ["acknowledged", "lost", "duplicated", "recovered", "unexpected", "undelivered", "valid"];
    let rows = vec![keys.iter().map(|k| text(&c[*k])).collect()];
    vec![
        Block::Heading(2, "Check".into()),
        Block::Para(
            "The ledger of acknowledged operations against what survived in the database after the drain.".into(),
        ),
        table(&keys, rows),
    ]
}

/// A fault as it was asked for (`kill-primary@8s`, `pause-primary@2s:6s`): its time counts from
/// the measured phase's start, like the flag's.
fn fault_label(f: &Value) -> String {
    let mut label = format!("{}@{}", text(&f["kind"]), text(&f["at"]));
    if let Some(d) = f["duration"].as_str() {
        label.push(':');
        label.push_str(d);
    }
    label
}

fn failover(d: &RunData, draw: &mut Draw<'_>) -> Vec<Block> {
    let trials = d.summary["failover"]["trials"].as_array().cloned().unwrap_or_default();
    if trials.is_empty() {
        return Vec::new();
    }
    let rows = trials
        .iter()
        .map(|t| {
            vec![
                fault_label(&t["fault"]),
                num(&t["detected_ms"], 0),
                num(&t["fenced_ms"], 0),
                num(&t["promoted_ms"], 0),
                num(&t["endpoint_ready_ms"], 0),
                num(&t["rto_ms"], 0),
                num(&t["p99_recovered_ms"], 0),
                num(&t["recovery_ms"], 0),
            ]
        })
        .collect();
    let mut out = vec![
        Block::Heading(2, "Failover".into()),
        Block::Para("Milliseconds from the fault's injection.".into()),
        table(
            &["fault", "detected", "fenced", "promoted", "endpoint ready", "RTO", "p99 recovered", "crash recovery"],
            rows,
        ),
    ];
    out.extend(draw(AnyChart::Rto(rto_chart(&trials, |i, _| (i + 1).to_string()))));
    out
}

/// Stacked RTO steps of each trial.
pub fn rto_chart(trials: &[Value], label: impl Fn(usize, &Value) -> String) -> RtoChart {
    let steps = |t: &Value| {
        let at = |k: &str| t[k].as_f64();
        let detected = at("detected_ms").unwrap_or(0.0);
        let fenced = at("fenced_ms").unwrap_or(detected).max(detected);
        let promoted = at("promoted_ms").unwrap_or(fenced).max(fenced);
        let rto = at("rto_ms").or(at("first_ack_after_ms")).unwrap_or(promoted).max(promoted);
        [detected, fenced - detected, promoted - fenced, rto - promoted]
    };
    RtoChart {
        title: "RTO breakdown per trial (ms)".into(),
        trials: trials.iter().enumerate().map(|(i, t)| (label(i, t), steps(t))).collect(),
    }
}

fn reports(d: &RunData) -> Vec<Block> {
    let r = &d.summary["reports"];
    let Some(targets) = r["targets"].as_object() else { return Vec::new() };
    let rows = targets
        .iter()
        .map(|(name, t)| {
            vec![
                name.clone(),
                num(&t["queries"]["ok_per_sec"], 1),
                ms(&t["latency_us"]["all"]["p50"]),
                ms(&t["latency_us"]["all"]["p99"]),
                num(&t["staleness_ms"]["p50"], 1),
                num(&t["staleness_ms"]["p99"], 1),
                format!("{} / {}", text(&t["read_your_writes"]["violations"]), text(&t["read_your_writes"]["checks"])),
                text(&t["recovery_conflicts"]["client_cancellations"]),
            ]
        })
        .collect();
    vec![
        Block::Heading(2, "Reports".into()),
        Block::Para(format!("Report queries on **{}**.", text(&r["on"]))),
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

fn timeline_chart(d: &RunData) -> TimelineChart {
    let t = &d.timeline;
    let main = if t.col("publish_ops_per_sec").is_some() { "publish" } else { "insert" };
    let ops: Vec<&str> =
        [main, "complete", "report"].into_iter().filter(|o| t.col(&format!("{o}_ok")).is_some()).collect();
    let trials = d.summary["failover"]["trials"].as_array().cloned().unwrap_or_default();
    let mut windows = Vec::new();
    let mut marks = Vec::new();
    for tr in &trials {
        let Some(at) = tr["injected_at_s"].as_f64() else { continue };
        let end = tr["first_ack_after_ms"].as_f64().or(tr["rto_ms"].as_f64()).unwrap_or(0.0);
        windows.push(Window { from_s: at, to_s: at + end / 1000.0, label: text(&tr["fault"]["kind"]) });
        for (k, label) in [("detected_ms", "detected"), ("promoted_ms", "promoted")] {
            if let Some(v) = tr[k].as_f64() {
                marks.push((at + v / 1000.0, label.to_string()));
            }
        }
    }
    TimelineChart {
        name: "timeline".into(),
        title: "Throughput and p99 per second".into(),
        throughput: ops.iter().map(|o| (o.to_string(), t.points(&format!("{o}_ops_per_sec"), &[]))).collect(),
        p99_ms: ops
            .iter()
            .map(|o| {
                (
                    o.to_string(),
                    t.points(&format!("{o}_p99_us"), &[]).into_iter().map(|(x, y)| (x, y / 1000.0)).collect(),
                )
            })
            .collect(),
        windows,
        marks,
    }
}

fn spectrum_chart(d: &RunData) -> Option<SpectrumChart> {
    let series: Vec<_> = d
        .ops()
        .into_iter()
        .filter(|o| o != "cleanup")
        .filter_map(|o| d.merged(&o).map(|h| (o.clone(), spectrum::points(&h))))
        .collect();
    (!series.is_empty()).then(|| SpectrumChart {
        name: "latency-spectrum".into(),
        title: "Latency by percentile (measured phase)".into(),
        series,
    })
}

pub fn single_run(d: &RunData, draw: &mut Draw<'_>) -> Vec<Block> {
    let s = &d.summary;
    let mut out = vec![Block::Heading(1, format!("habench report: {}", text(&s["run_id"])))];
    out.push(Block::Para(if s["complete"] == true {
        format!("Scenario `{}` on `{}`: complete.", text(&s["scenario"]), text(&s["topology"]))
    } else {
        format!(
            "Scenario `{}` on `{}`: **incomplete** ({}); the figures cover what was measured.",
            text(&s["scenario"]),
            text(&s["topology"]),
            text(&s["stop_reason"])
        )
    }));
    out.extend(configuration(d));
    out.extend(key_figures(d));
    out.extend(physical_floor(d));
    out.extend(check(d));
    out.extend(failover(d, draw));
    out.extend(reports(d));
    out.push(Block::Heading(2, "Charts".into()));
    if let Some(c) = spectrum_chart(d) {
        out.extend(draw(AnyChart::Spectrum(c)));
    }
    if d.timeline.col("t_s").is_some() {
        out.extend(draw(AnyChart::Timeline(timeline_chart(d))));
        let lag: Vec<_> = d
            .timeline
            .standbys()
            .into_iter()
            .map(|s| (s.clone(), d.timeline.points(&format!("lag_{s}_replay_ms"), &[])))
            .collect();
        if lag.iter().any(|(_, p)| !p.is_empty()) {
            out.extend(draw(AnyChart::Lag(LagChart {
                title: "Replication replay lag per standby".into(),
                series: lag,
            })));
        }
    }
    out
}

pub fn repeated_run(d: &RunData, draw: &mut Draw<'_>) -> Vec<Block> {
    let s = &d.summary;
    let mut out = vec![
        Block::Heading(1, format!("habench report: {}", text(&s["scenario"]))),
        Block::Para(format!("{} runs; complete: {}.", s["runs"].as_array().map_or(0, Vec::len), text(&s["complete"]))),
    ];
    let rows: Vec<Vec<String>> = s["variants"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            vec![
                text(&v["variant"]),
                text(&v["runs"]),
                num(&v["rto_ms"]["p50"], 0),
                num(&v["rto_ms"]["max"], 0),
                ms(&v["publish_p99_us"]["p50"]),
                text(&v["lost"]),
                text(&v["duplicated"]),
            ]
        })
        .collect();
    out.push(Block::Heading(2, "Variants".into()));
    out.push(table(
        &["variant", "runs", "RTO p50 ms", "RTO max ms", "publish p99 ms (median)", "lost", "duplicated"],
        rows,
    ));
    let trials = s["failover"]["trials"].as_array().cloned().unwrap_or_default();
    if !trials.is_empty() {
        let c = rto_chart(&trials, |_, t| format!("{} {}", text(&t["variant"]), text(&t["trial"])));
        out.extend(draw(AnyChart::Rto(c)));
    }
    if let Some(rows) = s["distance"]["rows"].as_array() {
        out.push(Block::Heading(2, "Distance".into()));
        let body = rows
            .iter()
            .map(|r| {
                vec![
                    text(&r["variant"]),
                    text(&r["setup"]),
                    num(&r["round_trip_ms"], 1),
                    num(&r["commit_p50_ms"], 2),
                    num(&r["commit_p99_ms"], 2),
                    num(&r["throughput_per_s"], 1),
                ]
            })
            .collect();
        out.push(table(&["variant", "setup", "round trip ms", "commit p50 ms", "commit p99 ms", "commits/s"], body));
        let slopes = s["distance"]["p50_slope_per_round_trip"].as_object().cloned().unwrap_or_default();
        let list: Vec<String> = slopes.iter().map(|(k, v)| format!("{k} {}", num(v, 2))).collect();
        out.push(Block::Para(format!("Commit p50 grows per ms of round trip by: {}.", list.join(", "))));
        let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for r in rows {
            let (Some(x), Some(y)) = (r["round_trip_ms"].as_f64(), r["commit_p50_ms"].as_f64()) else { continue };
            let name = text(&r["setup"]);
            match series.iter_mut().find(|(n, _)| *n == name) {
                Some((_, pts)) => pts.push((x, y)),
                None => series.push((name, vec![(x, y)])),
            }
        }
        for (_, pts) in &mut series {
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        let flush_ms = rows.iter().find_map(|r| r["floor_flush_us"].as_f64()).map(|us| us / 1000.0);
        out.extend(draw(AnyChart::Distance(DistanceChart {
            title: "Commit latency against the link's round trip".into(),
            series,
            flush_ms,
        })));
    }
    if let Some(rows) = s["offload"]["variants"].as_array() {
        out.push(Block::Heading(2, "Offload".into()));
        let cols = [
            ("variant", "variant"),
            ("reports_on", "reports on"),
            ("publish_per_s", "publish/s"),
            ("publish_p99_us", "publish p99 ms"),
            ("complete_per_s", "complete/s"),
            ("complete_p99_us", "complete p99 ms"),
            ("report_p99_us", "report p99 ms"),
            ("staleness_ms_p99", "staleness p99 ms"),
            ("ryw_violations", "RYW violations"),
            ("primary_cpu_s", "primary CPU s"),
        ];
        let body = rows
            .iter()
            .map(|r| cols.iter().map(|(k, _)| if k.ends_with("_us") { ms(&r[*k]) } else { text(&r[*k]) }).collect())
            .collect();
        out.push(table(&cols.map(|(_, h)| h), body));
        let g = &s["offload"]["standbys_vs_primary"];
        if !g.is_null() {
            out.push(Block::Para(format!(
                "Reports on the standbys instead of the primary: complete throughput x{}, publish p99 x{}, \
                 complete p99 x{}, primary CPU x{}.",
                num(&g["complete_per_s_ratio"], 2),
                num(&g["publish_p99_ratio"], 2),
                num(&g["complete_p99_ratio"], 2),
                num(&g["primary_cpu_ratio"], 2)
            )));
        }
        let cpu = |r: &Value| r["primary_cpu_s"].as_f64().unwrap_or(0.0);
        let chart = OffloadChart {
            title: "Offload: primary latency and CPU".into(),
            variants: rows
                .iter()
                .map(|r| {
                    let p = r["publish_p99_us"].as_f64().unwrap_or(0.0) / 1000.0;
                    let c = r["complete_p99_us"].as_f64().unwrap_or(0.0) / 1000.0;
                    (text(&r["variant"]), [p, c, cpu(r)])
                })
                .collect(),
        };
        out.extend(draw(AnyChart::Offload(chart)));
    }
    out
}
