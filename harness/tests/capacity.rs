//! `habench capacity`: a real `--quick` search on `single` finds an MST whose steps agree with
//! it and writes every file; Ctrl-C keeps the finished steps; bad input is refused naming the term.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

fn habench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_habench"))
}

fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn steps(search: &Value) -> Vec<(f64, bool)> {
    search["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["rate"].as_f64().unwrap(), s["verdict"]["sustainable"].as_bool().unwrap()))
        .collect()
}

/// The two tests that run searches take turns: on 2 cores, a second search beside the first
/// would be part of what the first one measures.
static SERVERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_quick_search_on_single_finds_an_mst_its_steps_agree_with() {
    let _turn = SERVERS.lock().unwrap_or_else(|e| e.into_inner());
    let out = common::TempDir::new("capacity", "quick");
    let res = habench()
        .args(["capacity", "quick", "--slo", "publish.p99=50ms,end_to_end.p99=5s", "--quick"])
        .args(["--max-rate", "3200", "--target-load", "100", "--quiet", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    let line: Value = serde_json::from_slice(&res.stdout).expect("one JSON line on stdout");
    assert_eq!(line["complete"], true);

    let cap = read_json(&out.join("capacity.json"));
    let search = &cap["topologies"][0];
    assert_eq!(search["label"], "single");
    let tried = steps(search);
    // Every step's verdict and why, shown when an assertion below fails.
    let why: Vec<String> = search["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["rate"], s["verdict"]["reasons"]))
        .collect();
    eprintln!("steps: {why:#?}");
    assert!(tried.len() >= 2, "a search tries more than one rate: {tried:?}");
    assert_eq!(tried[0].0, 100.0, "the search starts at the target load");
    let mst = search["mst"].as_f64().expect("an MST is found between 100/s and 3200/s");
    assert!(tried.contains(&(mst, true)), "the MST is a rate that held: {mst} in {tried:?}");
    match search["end"].as_str().unwrap() {
        "converged" => {
            let above = search["unsustainable"].as_f64().unwrap();
            assert!(above > mst && above <= mst * 1.15 + 1.0, "bounds within --quick's 15 %: {mst} .. {above}");
            let fails = tried.iter().filter(|t| t.0 == above && !t.1).count();
            assert!(fails >= 1, "the bound above the MST failed: {above} in {tried:?}");
        }
        "max_held" => assert_eq!(mst, 3200.0),
        // A noisy machine: the bounds did not meet within --max-steps (default 12).
        "step_limit" => assert_eq!(tried.len(), 12, "{tried:?}"),
        other => panic!("search ended {other}: {tried:?}"),
    }
    assert_eq!(cap["planning"][0]["mst"].as_f64(), Some(mst));
    let headroom = cap["planning"][0]["headroom"].as_f64().unwrap();
    assert!((headroom - mst / 100.0).abs() < 1e-6, "headroom over --target-load: {headroom}");

    // Every step is a results folder of its own, run at the step's rate, judged on its numbers.
    for s in search["steps"].as_array().unwrap() {
        let dir = out.join(s["folder"].as_str().unwrap());
        let summary = read_json(&dir.join("summary.json"));
        assert_eq!(summary["complete"], true, "{}", dir.display());
        let manifest = read_json(&dir.join("manifest.json"));
        assert_eq!(manifest["config"]["load"]["rate"].as_f64(), s["rate"].as_f64(), "{}", dir.display());
        assert!(dir.join("report.html").is_file());
        let v = &s["verdict"];
        assert_eq!(v["sustainable"].as_bool().unwrap(), v["reasons"].as_array().unwrap().is_empty(), "{s}");
        let publish_p99 = s["measure"]["slo_us"][0].as_u64().unwrap();
        if publish_p99 > 50_000 {
            assert_eq!(v["sustainable"], false, "a p99 over the SLO cannot hold: {s}");
        }
    }
    for f in ["capacity.md", "capacity.html", "charts/capacity-latency.svg", "charts/capacity-throughput.svg"] {
        assert!(out.join(f).is_file(), "{f} is written");
    }
    let md = std::fs::read_to_string(out.join("capacity.md")).unwrap();
    let bound = cap["planning"][0]["bound"].as_str().map(|b| format!("{b} ")).unwrap_or_default();
    assert!(md.contains(&format!("| single | {bound}{mst:.0} |")), "planning table names the MST:\n{md}");
    let html = std::fs::read_to_string(out.join("capacity.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("src=\"charts/"), "capacity.html is self-contained");
    compare_against_a_faster_copy(&out, &cap);
}

/// `habench compare` on two capacity folders: a copy whose bracket sits wholly above is better,
/// and the other way round is worse and fails `--fail-if-worse`.
fn compare_against_a_faster_copy(out: &Path, cap: &Value) {
    let faster = common::TempDir::new("capacity", "faster");
    std::fs::create_dir_all(&*faster).unwrap();
    let mut c = cap.clone();
    let t = &mut c["topologies"][0];
    let mst = t["mst"].as_f64().unwrap();
    // A search that found no rate it could not sustain (it ended on its step budget) has no
    // bracket above: its copy gets one, so that "wholly above" can be decided.
    let before = common::TempDir::new("capacity", "bounded");
    let out: &Path = match t["unsustainable"].as_f64() {
        Some(_) => out,
        None => {
            std::fs::create_dir_all(&*before).unwrap();
            let mut b = cap.clone();
            b["topologies"][0]["unsustainable"] = (mst * 1.5).into();
            std::fs::write(before.join("capacity.json"), serde_json::to_string(&b).unwrap()).unwrap();
            &before
        }
    };
    let above = t["unsustainable"].as_f64().unwrap_or(mst * 1.5);
    t["mst"] = (above * 2.0).into();
    t["unsustainable"] = (above * 2.2).into();
    std::fs::write(faster.join("capacity.json"), serde_json::to_string(&c).unwrap()).unwrap();
    let cmp = common::TempDir::new("capacity", "compare");
    let run = |before: &Path, after: &Path| {
        habench()
            .args(["compare", before.to_str().unwrap(), after.to_str().unwrap(), "--fail-if-worse", "5"])
            .args(["--out", cmp.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let up = run(out, &faster);
    let text = String::from_utf8_lossy(&up.stdout);
    assert!(up.status.success(), "{text}{}", String::from_utf8_lossy(&up.stderr));
    // The table prints values under 100 with two decimals: read the row's number back.
    let row = text.lines().find(|l| l.starts_with("| single.mst |")).unwrap_or_else(|| panic!("no MST row: {text}"));
    let before: f64 = row.split('|').nth(2).unwrap().trim().parse().unwrap();
    assert!((before - mst).abs() < 0.5 && row.contains("| better |"), "{text}");
    let json = read_json(&cmp.join("compare.json"));
    assert_eq!(json["kind"], "capacity");
    let down = run(&faster, out);
    assert_eq!(down.status.code(), Some(1), "worse by more than 5 %: {}", String::from_utf8_lossy(&down.stderr));
    assert!(String::from_utf8_lossy(&down.stderr).contains("single.mst"));
    let mixed = habench().args(["compare", out.to_str().unwrap(), "/nonexistent-run"]).output().unwrap();
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("capacity folder"), "capacity vs run is refused");
}

#[test]
fn ctrl_c_keeps_the_finished_steps_and_writes_the_partial_table() {
    let _turn = SERVERS.lock().unwrap_or_else(|e| e.into_inner());
    let out = common::TempDir::new("capacity", "stopped");
    let mut child = habench()
        .args(["capacity", "quick", "--slo", "publish.p99=50ms", "--quick", "--quiet"])
        .args(["--out", out.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let cap_file = out.join("capacity.json");
    let finished = |v: &Value| v["topologies"][0]["steps"].as_array().map(|s| s.len()).unwrap_or(0);
    common::poll_child(&mut child, "a finished step in capacity.json", Duration::from_secs(120), || {
        let steps = std::fs::read_to_string(&cap_file).ok().and_then(|t| serde_json::from_str::<Value>(&t).ok());
        steps.is_some_and(|v| finished(&v) >= 1).then_some(())
    });
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT);
    let res = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success(), "a stopped search exits non-zero");
    assert!(stderr.contains("stopped") && stderr.contains("partial planning table"), "{stderr}");
    let cap = read_json(&cap_file);
    assert_eq!(cap["complete"], false);
    assert!(cap["stop_reason"].as_str().unwrap().contains("interrupted"));
    let kept = &cap["topologies"][0]["steps"][0];
    assert!(kept["verdict"]["sustainable"].is_boolean(), "the finished step is kept: {kept}");
    assert!(out.join(kept["folder"].as_str().unwrap()).join("summary.json").is_file());
    assert!(out.join("capacity.md").is_file(), "the partial report is written");
}

#[test]
fn bad_capacity_flags_are_refused_naming_the_term() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["--slo", "publish.p99=50parsecs"], &["--slo", "parsecs", "ms"]),
        (&["--slo", "latency.p99=5ms"], &["--slo", "unknown operation `latency`", "publish"]),
        (&["--slo", "publish.p42=5ms"], &["--slo", "unknown statistic `p42`", "p99"]),
        (
            &["--slo", "publish.p99=5ms", "--min-rate", "500", "--max-rate", "100"],
            &["--max-rate 100", "--min-rate 500"],
        ),
        (&["--slo", "publish.p99=5ms", "--precision", "0"], &["--precision", "above 0"]),
        (&["--slo", "publish.p99=5ms", "--rate", "100"], &["--rate is not a capacity flag"]),
        (&["--slo", "publish.p99=5ms", "--topologies", "single", "--standbys", "2"], &["--standbys", "single"]),
        (&["offload", "--slo", "publish.p99=5ms", "--topologies", "single"], &["reports_on", "readable standby"]),
        (&["--slo", "publish.p99=5ms", "--overdrive", "0.8:1m"], &["--overdrive", "more than 1"]),
        (&["--slo", "publish.p99=5ms", "--overdrive", "1.4"], &["--overdrive", "FACTOR:DURATION"]),
        (&["--slo", "publish.p99=5ms", "--overdrive", "1.4:2s"], &["--overdrive", "shorter than 5 s"]),
        (&["--slo", "publish.p99=5ms", "--throttle", "0"], &["--throttle", "50000"]),
    ];
    for (args, wanted) in cases {
        let res = habench().arg("capacity").args(*args).args(["--out", "/nonexistent/never-written"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert!(!res.status.success(), "{args:?} must be refused");
        for w in *wanted {
            assert!(stderr.contains(w), "{args:?}: want {w:?} in:\n{stderr}");
        }
    }
}

/// Sums of the `queue_*` columns and the publish rate per row of a timeline, with `t_s`.
fn timeline_rows(dir: &Path) -> Vec<(f64, f64, f64)> {
    let text = std::fs::read_to_string(dir.join("timeline.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let queues: Vec<usize> = (0..head.len()).filter(|i| head[*i].starts_with("queue_")).collect();
    let rate = head.iter().position(|h| *h == "publish_ops_per_sec").unwrap();
    lines
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            let q = queues.iter().map(|i| c[*i].parse::<f64>().unwrap_or(0.0)).sum();
            (c[0].parse().unwrap(), q, c[rate].parse().unwrap_or(0.0))
        })
        .collect()
}

#[test]
fn n_minus_1_on_sync_searches_again_without_the_standby_and_overdrive_measures_the_backlog() {
    let _turn = SERVERS.lock().unwrap_or_else(|e| e.into_inner());
    let out = common::TempDir::new("capacity", "n1");
    let res = habench()
        .args(["capacity", "quick", "--topologies", "sync", "--slo", "publish.p99=200ms", "--quick"])
        .args(["--max-steps", "2", "--target-load", "100", "--n-minus-1", "--overdrive", "2:5s", "--quiet"])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    let cap = read_json(&out.join("capacity.json"));
    let search = &cap["topologies"][0];
    let mst = search["mst"].as_f64().expect("an MST (at least the first step held)");

    // The node was taken by a real fault under load: nothing acknowledged was lost, and the
    // primary the N-1 steps ran on confirms commits with no standby (its own settings say so).
    let n1 = &search["n_minus_1"];
    assert_eq!(n1["fault"], "kill-sync-standby@2s", "{n1}");
    assert!(n1["error"].is_null(), "{n1}");
    assert_eq!(n1["lost"], 0, "{n1}");
    let sync_names = |folder: &str| {
        let m = read_json(&out.join(folder).join("manifest.json"));
        m["server_settings"]["primary"]["synchronous_standby_names"].as_str().unwrap().to_string()
    };
    assert_eq!(sync_names(search["steps"][0]["folder"].as_str().unwrap()), "FIRST 1 (s1)");
    let n1_steps = n1["search"]["steps"].as_array().unwrap();
    assert!(!n1_steps.is_empty(), "{n1}");
    assert_eq!(n1_steps[0]["rate"].as_f64(), Some(mst), "the N-1 search starts at the healthy MST");
    for s in n1_steps {
        assert_eq!(sync_names(s["folder"].as_str().unwrap()), "", "the dead standby was dropped: {s}");
    }
    let row = &cap["planning"][0]["n1"];
    assert_eq!(row["mst"], n1["search"]["mst"], "{row}");
    let md = std::fs::read_to_string(out.join("capacity.md")).unwrap();
    assert!(md.contains("N-1 MST") && md.contains("kill-sync-standby@2s:"), "{md}");

    // Overdrive: twice the MST for 5 s between loads of half the MST; its figures are those of
    // its own timeline.
    let o = &search["overdrive"];
    assert!(o["error"].is_null(), "{o}");
    assert_eq!(o["rate"].as_f64(), Some((mst * 2.0).round()));
    let rows = timeline_rows(&out.join(o["folder"].as_str().unwrap()));
    let warmup = cap["warmup_s"].as_f64().unwrap();
    let peak = rows.iter().filter(|r| r.0 > warmup).map(|r| r.1).fold(0.0, f64::max);
    assert_eq!(o["backlog_peak"].as_f64(), Some(peak), "{o}");
    let mean_rate = |from: f64, to: f64| {
        let v: Vec<f64> = rows.iter().filter(|r| r.0 > warmup + from && r.0 <= warmup + to).map(|r| r.2).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let (during, after) = (mean_rate(1.0, 5.0), mean_rate(9.0, 15.0));
    assert!(during > after * 1.5, "offered twice as much during the overdrive: {during:.0}/s vs {after:.0}/s");
    assert!(md.contains("## Overdrive"), "{md}");
}
