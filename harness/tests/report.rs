//! Reports and comparisons from results folders (no servers): a snapshot of every report kind
//! made from the fixture folders in results/examples/ (a run, a repeated run's trial and its top
//! folder, a capacity search; compare of two runs and of two searches; the summary table);
//! charts render with their titles; compare tells a 20% p99 regression from noise and gates on
//! it. `INSTA_UPDATE=always cargo test --test report` rewrites the snapshots (or `cargo insta
//! review`, with cargo-insta installed).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use habench_workloads::rng::Rng;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use serde_json::json;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/examples")
}

/// A fresh folder removed however the test ends.
fn temp() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("habench-report-test-").tempdir().unwrap()
}

/// Copies a fixture folder (and its subfolders).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The fixture `name` copied into `root`, with its report written; returns the copy.
fn reported(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    copy_dir(&examples().join(name), &dir);
    let out = habench::report::write(&dir).expect("report");
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    dir
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn habench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_habench")).args(args).output().unwrap()
}

#[test]
fn the_report_of_the_fixture_run_matches_its_snapshot_and_charts_render() {
    let root = temp();
    let dir = reported(root.path(), "quick-seed1");
    insta::assert_snapshot!("report.md", read(&dir.join("report.md")));
    for (name, title) in [("latency-spectrum", "Latency by percentile"), ("timeline", "Throughput and p99 per second")]
    {
        let png = std::fs::read(dir.join("charts").join(format!("{name}.png"))).unwrap();
        assert!(png.len() > 5_000 && png.starts_with(b"\x89PNG"), "{name}.png: {} bytes", png.len());
        let svg = read(&dir.join("charts").join(format!("{name}.svg")));
        assert!(svg.contains(title), "{name}.svg has its title as text");
        assert!(svg.contains("publish"), "{name}.svg names its series");
    }
    let html = read(&dir.join("report.html"));
    assert_eq!(html.matches("<svg").count(), 2, "both charts inline");
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "no external assets");
    assert!(html.contains("<title>habench report: quick on single (quick-seed1)</title>"), "titled by what it is");
}

/// habench's own CPU is given per publish; above 25 % of the machine the report warns that the
/// figures are partly habench's (the fixture's summary with its share raised).
#[test]
fn the_report_warns_when_habench_took_a_fair_part_of_the_cores() {
    let root = temp();
    let dir = root.path().join("busy");
    copy_dir(&examples().join("quick-seed1"), &dir);
    let path = dir.join("summary.json");
    let mut s: serde_json::Value = serde_json::from_str(&read(&path)).unwrap();
    s["cpu"]["harness"]["machine_share"] = 0.3.into();
    s["cpu"]["harness"]["us_per_publish"] = 41.5.into();
    std::fs::write(&path, serde_json::to_string(&s).unwrap()).unwrap();
    habench::report::write(&dir).expect("report");
    let md = read(&dir.join("report.md"));
    assert!(md.contains("41.5 µs per publish"), "{md}");
    assert!(md.contains("**Warning:** habench used more than 25 %"), "{md}");
    let calm = reported(root.path(), "quick-seed1");
    assert!(!read(&calm.join("report.md")).contains("**Warning:** habench used"), "the fixture used a few %");
}

#[test]
fn a_repeated_run_s_trial_and_top_folder_match_their_snapshots() {
    let root = temp();
    let dir = reported(root.path(), "repeated-kill-primary");
    insta::assert_snapshot!("repeated.report.md", read(&dir.join("report.md")));
    let trial = dir.join("single/trial-1");
    habench::report::write(&trial).expect("trial report");
    let md = read(&trial.join("report.md"));
    assert!(md.starts_with("# habench report: run on single, trial 1\n"), "titled by its trial: {md}");
    insta::assert_snapshot!("trial.report.md", md);
}

#[test]
fn a_capacity_search_s_report_and_comparison_match_their_snapshots() {
    let root = temp();
    let dir = reported(root.path(), "capacity-quick");
    insta::assert_snapshot!("capacity.md", read(&dir.join("capacity.md")));
    assert!(dir.join("capacity.html").is_file());
    let out = root.path().join("compare");
    let search = dir.to_str().unwrap();
    let r = habench(&["compare", search, search, "--out", out.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    insta::assert_snapshot!("capacity.compare.md", read(&out.join("compare.md")));
}

#[test]
fn compare_and_summary_of_the_fixture_runs_match_their_snapshots() {
    let root = temp();
    let out = root.path().join("compare");
    let (a, b) = (examples().join("quick-seed1"), examples().join("quick-seed2"));
    let r = habench(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    insta::assert_snapshot!("compare.md", read(&out.join("compare.md")));
    insta::assert_snapshot!("compare.json", read(&out.join("compare.json")));
    assert!(out.join("charts/compare-spectrum.svg").is_file() && out.join("charts/compare-timeline.png").is_file());
    let csv = out.join("summary.csv");
    // Relative folder names, so that the table does not depend on where the checkout is.
    let r = Command::new(env!("CARGO_BIN_EXE_habench"))
        .current_dir(examples())
        .args(["summary", "quick-seed1", "quick-seed2", "--csv", csv.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    insta::assert_snapshot!("summary.csv", read(&csv));
    insta::assert_snapshot!("summary.md", String::from_utf8_lossy(&r.stdout));
}

/// A minimal run folder whose publish latencies are drawn from one distribution (exponential,
/// mean 2 ms, times `scale`), 30 measured intervals of 400 samples.
fn synthetic_run(dir: &Path, seed: u64, scale: f64) {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = Rng::new(seed);
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut hlog = Vec::new();
    let mut timeline = String::from("t_s,interval_s,phase,publish_ok,publish_ops_per_sec,publish_p99_us\n");
    let mut total = 0;
    {
        let mut ser = V2DeflateSerializer::new();
        let mut log = IntervalLogWriterBuilder::new()
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut hlog, &mut ser)
            .unwrap();
        for i in 0..30u64 {
            let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
            for _ in 0..400 {
                h.record((rng.exponential(2000.0) * scale).max(1.0) as u64).unwrap();
            }
            total += h.len();
            let at = Duration::from_secs(i);
            log.write_histogram(&h, at, Duration::from_secs(1), Tag::new("publish")).unwrap();
            timeline.push_str(&format!("{}.000,1.000,measure,400,400.0,{}\n", i + 1, h.value_at_quantile(0.99)));
        }
    }
    std::fs::write(dir.join("latency.hlog"), hlog).unwrap();
    std::fs::write(dir.join("timeline.csv"), timeline).unwrap();
    let summary = json!({
        "schema_version": 1, "run_id": dir.file_name().unwrap().to_str(), "complete": true, "scenario": "synthetic",
        "topology": "single", "workload": "messagebox", "load": { "mode": "closed", "clients": 1 }, "seed": 1,
        "started_at": "t", "measured_s": 10.0, "ops": {}, "throughput": {}, "dequeue": {},
        "latency_us": { "publish": { "count": total } },
    });
    std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
}

fn verdict(out: &Path, metric: &str) -> String {
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap()).unwrap();
    let m = j["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == metric).unwrap().clone();
    m["verdict"].as_str().unwrap().to_string()
}

#[test]
fn compare_flags_a_20_percent_p99_regression_and_not_noise() {
    let tmp = temp();
    let root = tmp.path().to_path_buf();
    let (a, b, slow) = (root.join("a"), root.join("b"), root.join("slow"));
    synthetic_run(&a, 1, 1.0);
    synthetic_run(&b, 2, 1.0);
    synthetic_run(&slow, 3, 1.2);
    let out = root.join("out");
    let (a_s, b_s, slow_s, out_s) =
        (a.to_str().unwrap(), b.to_str().unwrap(), slow.to_str().unwrap(), out.to_str().unwrap());

    let same = habench(&["compare", a_s, b_s, "--out", out_s, "--fail-if-worse", "10"]);
    assert_eq!(same.status.code(), Some(0), "{}", String::from_utf8_lossy(&same.stderr));
    for m in ["publish.p50_us", "publish.p99_us", "publish.ops_per_sec"] {
        assert_eq!(verdict(&out, m), "no_significant_change", "{m}");
    }

    let worse =
        habench(&["compare", a_s, slow_s, "--out", out_s, "--fail-if-worse", "10", "--metric", "publish.p99_us"]);
    assert_eq!(worse.status.code(), Some(1), "{}", String::from_utf8_lossy(&worse.stderr));
    assert!(String::from_utf8_lossy(&worse.stderr).contains("publish.p99_us"));
    assert_eq!(verdict(&out, "publish.p99_us"), "worse");
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(md.contains("| publish.p99_us |") && md.contains("| worse |"), "{md}");

    let bad = habench(&["compare", a_s, root.join("missing").to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("AFTER"));
    let bad = habench(&["compare", a_s, b_s, "--out", out_s, "--fail-if-worse", "10", "--metric", "publish.p98"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("publish.p99_us"), "lists the metrics");
}
