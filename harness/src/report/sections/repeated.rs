//! The report of a repeated run (variants, trials, distance, offload).

use serde_json::Value;

use crate::report::charts::distance::DistanceChart;
use crate::report::charts::offload::OffloadChart;
use crate::report::data::RunData;
use crate::report::doc::{table, Block};
use crate::report::sections::charts::rto_chart;
use crate::report::sections::values::{ms, num, text};
use crate::report::sections::Draw;
use crate::report::AnyChart;

pub fn repeated_run(d: &RunData, draw: &mut Draw<'_>) -> Vec<Block> {
    let s = &d.summary;
    let mut out = vec![
        Block::Heading(1, format!("habench report: {}", text(&s["scenario"]))),
        Block::Headline(crate::report::sections::headline::repeated_facts(d)),
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
