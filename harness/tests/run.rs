//! `habench run`: quick runs write every file with sane numbers; a paused server shows up as
//! latency (no coordinated omission); the hlog reads back; bad input gets clear errors; an
//! interrupted run leaves readable results marked incomplete.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use habench::cli::{KindArg, RunArgs};
use habench::measure::{IntervalRow, Op};
use habench::pg::Endpoint;
use habench::run_result::{Progress, RunSink};
use habench::runner;
use habench::topology::{AnyTopology, TopologyKind, TopologySpec};
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use serde_json::Value;

fn out_dir(tag: &str) -> common::TempDir {
    common::TempDir::new("run", tag)
}

fn quick_args(out: &Path) -> RunArgs {
    RunArgs {
        scenario: Some("quick".into()),
        duration: Some(Duration::from_secs(3)),
        warmup: Some(Duration::from_secs(1)),
        out: Some(out.to_path_buf()),
        quiet: true,
        ..Default::default()
    }
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn assert_sane_results(dir: &Path) -> Value {
    for f in ["manifest.json", "summary.json", "timeline.csv", "latency.hlog", "ledger.csv"] {
        let meta = std::fs::metadata(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(meta.len() > 0, "{f} is empty");
    }
    let s = read_json(&dir.join("summary.json"));
    assert_eq!(s["complete"], true, "{s:#}");
    for op in ["publish", "dequeue", "complete", "end_to_end"] {
        assert!(s["ops"][op]["ok"].as_u64().unwrap() > 0, "{op}: {s:#}");
        let l = &s["latency_us"][op];
        let (p50, p99, max) = (l["p50"].as_u64().unwrap(), l["p99"].as_u64().unwrap(), l["max"].as_u64().unwrap());
        assert!(0 < p50 && p50 <= p99 && p99 <= max, "{op}: {l}");
        assert!(s["throughput"][op]["ops_per_sec"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(s["drain"]["drained"], true, "{s:#}");
    let m = &s["messages"];
    assert_eq!(
        m["routed_ok"].as_u64().unwrap(),
        m["completed_ok"].as_u64().unwrap() + m["suspended_ok"].as_u64().unwrap(),
        "every routed delivery was completed or suspended: {m}"
    );
    let manifest = read_json(&dir.join("manifest.json"));
    assert_eq!(manifest["seed"], 1);
    assert!(manifest["postgres_version"].as_str().unwrap().starts_with("PostgreSQL"));
    assert!(manifest["machine"]["cores"].as_u64().unwrap() >= 1);
    let ledger = std::fs::read_to_string(dir.join("ledger.csv")).unwrap();
    let publishes = ledger.lines().filter(|l| l.contains(",publish,") && l.contains(",ok,")).count() as u64;
    assert_eq!(publishes, m["published_ok"].as_u64().unwrap(), "the ledger has every acknowledged publish");
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quick_run_on_single_writes_every_file_with_sane_numbers() {
    let out = out_dir("single");
    habench::commands::run_cmd::run(quick_args(&out)).await.expect("run");
    let s = assert_sane_results(&out);
    assert_eq!(s["topology"], "single");
    // Open loop: publishers waited for their slots, and the run says how late they woke.
    let p = &s["pacing"];
    // (Slots are counted by intended start, operations by when they finished: the phase's edges
    // differ by a few.)
    let slots = p["woken"].as_u64().unwrap() + p["started_late"].as_u64().unwrap();
    let ok = s["ops"]["publish"]["ok"].as_u64().unwrap();
    assert!(p["woken"].as_u64().unwrap() > 0 && slots <= ok + ok / 10 + 10, "{p} for {ok} publishes");
    assert!(p["wake_late_us_mean"].as_f64().unwrap() <= p["wake_late_us_max"].as_f64().unwrap(), "{p}");
    assert!(std::fs::read_to_string(out.join("report.md")).unwrap().contains("Pacing: publishers"), "report.md");
    let timeline = std::fs::read_to_string(out.join("timeline.csv")).unwrap();
    let phases: Vec<&str> = timeline.lines().skip(1).map(|l| l.split(',').nth(2).unwrap()).collect();
    assert_eq!(phases.iter().filter(|p| **p == "warmup").count(), 1);
    assert_eq!(phases.iter().filter(|p| **p == "measure").count(), 3);
    check_hlog_reads_back(&out, &timeline);
    std::fs::remove_dir_all(&out).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_calibration_insert_runs_on_either_driver_and_habench_reports_its_own_cpu() {
    for (driver, tag) in [(habench::cli::DriverArg::Wire, "wire"), (habench::cli::DriverArg::TokioPostgres, "tp")] {
        let out = out_dir(&format!("insert-{tag}"));
        let mut a = quick_args(&out);
        a.workload = Some(habench::cli::WorkloadArg::Insert);
        a.driver = Some(driver);
        a.clients = Some(4);
        habench::commands::run_cmd::run(a).await.expect("run");
        let s = read_json(&out.join("summary.json"));
        assert_eq!(s["complete"], true, "{tag}: {s:#}");
        let ops = &s["ops"]["insert"];
        assert!(ops["ok"].as_u64().unwrap() > 100 && ops["fail"] == 0 && ops["unknown"] == 0, "{tag}: {ops}");
        let l = &s["latency_us"]["insert"];
        assert!(l["p50"].as_u64().unwrap() <= l["p99"].as_u64().unwrap(), "{tag}: {l}");
        let manifest = read_json(&out.join("manifest.json"));
        assert_eq!(manifest["config"]["workload"]["driver"], tag.replace("tp", "tokio-postgres"), "{tag}");
        // Closed loop keeps habench busy: measurably above zero, below every core of the machine.
        let h = &s["cpu"]["harness"];
        let cores = h["cores"].as_f64().unwrap();
        assert!(cores > 0.01 && h["machine_share"].as_f64().unwrap() <= 1.0, "{tag}: {h}");
        assert!(std::fs::read_to_string(out.join("report.md")).unwrap().contains("habench itself used"), "{tag}");
        std::fs::remove_dir_all(&out).unwrap();
    }
}

/// The hlog holds one histogram per operation and interval, and its counts match the timeline.
fn check_hlog_reads_back(dir: &Path, timeline: &str) {
    let bytes = std::fs::read(dir.join("latency.hlog")).unwrap();
    let mut de = Deserializer::new();
    let mut publish_counts = Vec::new();
    for entry in IntervalLogIterator::new(&bytes) {
        if let LogEntry::Interval(ilh) = entry.expect("a well-formed log entry") {
            let raw = habench::run_data::base64_decode(ilh.encoded_histogram()).expect("base64");
            let h: hdrhistogram::Histogram<u64> = de.deserialize(&mut raw.as_slice()).expect("a V2 histogram");
            if ilh.tag().map(|t| t.as_str().to_string()).as_deref() == Some("publish") {
                publish_counts.push(h.len());
            }
        }
    }
    let header: Vec<&str> = timeline.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|c| *c == "publish_ok").unwrap();
    let from_timeline: Vec<u64> =
        timeline.lines().skip(1).map(|l| l.split(',').nth(col).unwrap().parse().unwrap()).collect();
    assert_eq!(publish_counts, from_timeline, "hlog and timeline agree interval by interval");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quick_run_on_sync_records_replication_lag_per_standby() {
    let out = out_dir("sync");
    let mut args = quick_args(&out);
    args.topology = Some(KindArg::Sync);
    args.topology_flags.standbys = Some(2);
    habench::commands::run_cmd::run(args).await.expect("run");
    let s = assert_sane_results(&out);
    assert_eq!(s["topology"], "sync");
    let timeline = std::fs::read_to_string(out.join("timeline.csv")).unwrap();
    let header = timeline.lines().next().unwrap();
    assert!(header.contains("lag_s1_replay_bytes") && header.contains("lag_s2_flush_ms"), "{header}");
    let manifest = read_json(&out.join("manifest.json"));
    assert_eq!(manifest["server_settings"]["primary"]["synchronous_standby_names"], "FIRST 1 (s1, s2)");
    assert_eq!(manifest["topology"]["nodes"].as_array().unwrap().len(), 3);
    std::fs::remove_dir_all(&out).unwrap();
}

/// Keeps the rows of a run in memory.
#[derive(Default)]
struct Rows(Vec<IntervalRow>);

impl RunSink for Rows {
    fn interval(&mut self, row: &IntervalRow, _: &Progress<'_>) {
        self.0.push(row.clone());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_paused_for_one_second_shows_up_as_publish_latency() {
    let mut topo = AnyTopology::up(common::env(), TopologySpec::new(TopologyKind::Single)).await.unwrap();
    let dsn = topo.as_topology().primary().dsn();
    let args = RunArgs {
        scenario: Some("quick".into()),
        target_dsn: Some(dsn.clone()),
        duration: Some(Duration::from_secs(4)),
        warmup: Some(Duration::ZERO),
        quiet: true,
        ..Default::default()
    };
    let cfg = Arc::new(habench::commands::options::run_config(&args).unwrap());
    let endpoint = Endpoint::new(dsn.parse().unwrap());
    let client = endpoint.connect_once().await.unwrap();
    habench_workloads::messagebox::install(&client, &cfg.workload.messagebox).await.unwrap();
    let (ledger_tx, mut ledger_rx) = runner::ledger::channel();
    let drain = tokio::spawn(async move { while ledger_rx.recv().await.is_some() {} });
    let (_abort_tx, abort_rx) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(async move {
        let mut rows = Rows::default();
        let r = runner::run(cfg, endpoint.into(), ledger_tx, &mut rows, abort_rx, None, Default::default()).await;
        (r, rows)
    });
    tokio::time::sleep(Duration::from_millis(1500)).await; // let the load settle in
    let node = &mut topo.as_topology_mut().nodes_mut()[0];
    let paused_at = Instant::now();
    node.pause();
    tokio::time::sleep(Duration::from_secs(1)).await;
    node.resume();
    let paused_for = paused_at.elapsed();
    let (result, rows) = run.await.unwrap();
    drain.await.unwrap();

    assert!(result.stop_reason.is_none());
    let publish = result.totals.op(Op::Publish).unwrap();
    let max_us = publish.latency().max;
    assert!(
        max_us as f64 >= paused_for.as_micros() as f64 * 0.9,
        "a 1 s stall must show as ~1 s of publish latency (max {max_us} us, paused {paused_for:?})"
    );
    assert_eq!((publish.fail, publish.unknown), (0, 0), "a pause is slowness, not failure");
    // Publishes kept their schedule: the stalled interval is followed by a catch-up, not a gap.
    let total: u64 = rows.0.iter().filter_map(|r| r.stats.op(Op::Publish)).map(|s| s.ok).sum();
    assert!(total >= 700, "about 200/s for 4 s were due, {total} acknowledged");
}

fn habench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_habench"))
}

fn run_bin(args: &[&str]) -> (bool, String) {
    let out = habench().arg("run").args(args).arg("--quiet").output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bad_scenario_files_name_the_line_and_the_field() {
    let dir = out_dir("bad-scenario");
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("name = \"x\"\n[load]\nrate = 10\nburst = 5\n", "line 4", "burst"),
        ("[load]\nrate = \"fast\"\n", "line 2", "rate"),
        ("[topology]\nkind = \"sync\"\nstandbys = 9\n", "--standbys", "1 to 8"),
        ("duration = \"10 parsecs\"\n", "line 1", "unknown unit"),
        ("[[messagebox.hosts]]\nname = \"Send\"\n[[messagebox.message_types]]\nname = \"a\"\nsubscribers = [\"Send\"]\n", "line 2", "hosts[0].name"),
    ];
    for (i, (text, where_, what)) in cases.iter().enumerate() {
        let file = dir.join(format!("bad{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let (ok, stderr) = run_bin(&[file.to_str().unwrap(), "--out", dir.join(format!("out{i}")).to_str().unwrap()]);
        assert!(!ok, "case {i} should fail");
        assert!(
            stderr.contains(where_) && stderr.contains(what),
            "case {i}: want {where_:?} and {what:?} in:\n{stderr}"
        );
    }
    let (ok, stderr) = run_bin(&["--rate", "0"]);
    assert!(!ok && stderr.contains("--rate"), "{stderr}");
    let (ok, stderr) = run_bin(&["--throttle", "0"]);
    assert!(!ok && stderr.contains("--throttle") && stderr.contains("50000"), "{stderr}");
    let (ok, stderr) = run_bin(&["--throttle", "--workload", "insert"]);
    assert!(!ok && stderr.contains("--throttle") && stderr.contains("insert"), "{stderr}");
    let (ok, stderr) = run_bin(&["--target-dsn", "host=x port=bad password=hunter2"]);
    assert!(!ok && stderr.contains("--target-dsn") && !stderr.contains("hunter2"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_interrupted_run_leaves_readable_results_marked_incomplete() {
    let out = out_dir("interrupted");
    let mut child = habench()
        .args(["run", "quick", "--duration", "60s", "--quiet", "--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the measured phase has written something.
    common::wait_measured_intervals(&mut child, &out, 2);
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT);
    let out_put = child.wait_with_output().unwrap();
    assert!(!out_put.status.success(), "an interrupted run exits non-zero");
    let stderr = String::from_utf8_lossy(&out_put.stderr);
    assert!(stderr.contains("did not complete"), "{stderr}");
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["complete"], false);
    assert!(s["stop_reason"].as_str().unwrap().contains("interrupted"));
    assert!(s["ops"]["publish"]["ok"].as_u64().unwrap() > 0, "what was measured is kept");
    std::fs::remove_dir_all(&out).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_delays_publishes_exactly_in_the_intervals_over_the_threshold() {
    for (threshold, tag) in [(1u64, "throttled"), (10_000_000, "never")] {
        let out = out_dir(&format!("throttle-{tag}"));
        let mut a = quick_args(&out);
        a.rate = Some(400.0);
        a.throttle = Some(threshold);
        habench::commands::run_cmd::run(a).await.expect("run");
        let s = assert_sane_results(&out);
        let t = &s["throttle"];
        assert_eq!(t["threshold"], threshold, "{t}");
        let timeline = std::fs::read_to_string(out.join("timeline.csv")).unwrap();
        let head: Vec<&str> = timeline.lines().next().unwrap().split(',').collect();
        let col = |name: &str| head.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name}: {head:?}"));
        let (messages, throttled, delay) = (col("messagebox_messages"), col("throttled"), col("throttle_delay_ms"));
        let mut throttled_rows = 0;
        let mut prev = false;
        for line in timeline.lines().skip(1) {
            let c: Vec<&str> = line.split(',').collect();
            let on = c[throttled] == "1";
            // The state follows the sampled count (an unsampled interval keeps the last state).
            match c[messages].parse::<u64>() {
                Ok(n) => assert_eq!(on, n >= threshold, "{line}"),
                Err(_) => assert_eq!(on, prev, "{line}"),
            }
            assert_eq!(on, c[delay].parse::<f64>().unwrap() > 0.0, "{line}");
            throttled_rows += usize::from(on);
            prev = on;
        }
        let delayed = t["delayed_publishes"].as_u64().unwrap();
        if threshold == 1 {
            assert!(throttled_rows > 0 && delayed > 0, "{t}");
            assert!(delayed <= s["messages"]["published_ok"].as_u64().unwrap() + 1, "{t}");
            let report = std::fs::read_to_string(out.join("report.md")).unwrap();
            assert!(report.contains("publishing throttled for"), "report.md says so");
        } else {
            assert_eq!((throttled_rows, delayed, t["throttled_total_s"].as_f64()), (0, 0, Some(0.0)), "{t}");
        }
        std::fs::remove_dir_all(&out).unwrap();
    }
}
