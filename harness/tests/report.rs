//! Reports and comparisons from results folders (no servers): golden copies of report.md,
//! compare.md/json and the summary CSV made from the fixture runs in results/examples/; charts
//! render with their titles; compare tells a 20% p99 regression from noise and gates on it.
//! `HABENCH_BLESS=1 cargo test --test report` rewrites the golden copies.

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

fn temp(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("habench-report-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Compares `actual` with the golden copy `expected/<name>` (or rewrites it when blessing).
fn golden(name: &str, actual: &str) {
    let path = examples().join("expected").join(name);
    if std::env::var_os("HABENCH_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        expected == actual,
        "{name} differs from its golden copy {} (HABENCH_BLESS=1 rewrites it)\n--- actual ---\n{actual}",
        path.display()
    );
}

fn habench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_habench")).args(args).output().unwrap()
}

#[test]
fn the_report_of_the_fixture_run_matches_its_golden_copy_and_charts_render() {
    let dir = temp("report").join("run");
    copy_dir(&examples().join("quick-seed1"), &dir);
    let out = habench::report::write(&dir).expect("report");
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    golden("report.md", &std::fs::read_to_string(dir.join("report.md")).unwrap());
    for (name, title) in [("latency-spectrum", "Latency by percentile"), ("timeline", "Throughput and p99 per second")]
    {
        let png = std::fs::read(dir.join("charts").join(format!("{name}.png"))).unwrap();
        assert!(png.len() > 5_000 && png.starts_with(b"\x89PNG"), "{name}.png: {} bytes", png.len());
        let svg = std::fs::read_to_string(dir.join("charts").join(format!("{name}.svg"))).unwrap();
        assert!(svg.contains(title), "{name}.svg has its title as text");
        assert!(svg.contains("publish"), "{name}.svg names its series");
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 2, "both charts inline");
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "no external assets");
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn compare_and_summary_of_the_fixture_runs_match_their_golden_copies() {
    let out = temp("compare");
    let (a, b) = (examples().join("quick-seed1"), examples().join("quick-seed2"));
    let r = habench(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    golden("compare.md", &std::fs::read_to_string(out.join("compare.md")).unwrap());
    golden("compare.json", &std::fs::read_to_string(out.join("compare.json")).unwrap());
    assert!(out.join("charts/compare-spectrum.svg").is_file() && out.join("charts/compare-timeline.png").is_file());
    let csv = out.join("summary.csv");
    // Relative folder names, so that the table does not depend on where the checkout is.
    let r = Command::new(env!("CARGO_BIN_EXE_habench"))
        .current_dir(examples())
        .args(["summary", "quick-seed1", "quick-seed2", "--csv", csv.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    golden("summary.csv", &std::fs::read_to_string(&csv).unwrap());
    std::fs::remove_dir_all(&out).unwrap();
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
    let root = temp("synthetic");
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
    std::fs::remove_dir_all(&root).unwrap();
}
