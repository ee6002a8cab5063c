//! Failover experiments end to end: faults under load, the orchestrator's timeline, and the
//! checker's verdict (lost, duplicated) against what survived.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use habench::cli::{KindArg, RunArgs};
use habench::failover::FailoverPlan;
use habench::measure::IntervalRow;
use habench::pg::Endpoint;
use habench::run_result::{Progress, RunSink};
use habench::runner;
use habench::topology::{AnyTopology, TopologyKind, TopologySpec};
use serde_json::Value;

fn out_dir(tag: &str) -> common::TempDir {
    common::TempDir::new("failover", tag)
}

/// A short run with a fast orchestrator (probes every 200 ms, 3 missed = down).
fn args(out: &Path, topology: KindArg, fault: &str) -> RunArgs {
    RunArgs {
        scenario: Some("quick".into()),
        topology: Some(topology),
        duration: Some(Duration::from_secs(8)),
        warmup: Some(Duration::from_secs(1)),
        faults: vec![fault.parse().unwrap()],
        probe_interval: Some(Duration::from_millis(200)),
        probe_threshold: Some(3),
        out: Some(out.to_path_buf()),
        quiet: true,
        ..Default::default()
    }
}

async fn run(args: RunArgs) -> Value {
    let out = args.out.clone().unwrap();
    habench::commands::run_cmd::run(args).await.expect("run completes");
    let s: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    s
}

fn trial(s: &Value) -> &Value {
    let trials = s["failover"]["trials"].as_array().expect("failover.trials");
    assert_eq!(trials.len(), 1, "{s:#}");
    &trials[0]
}

fn ms(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a time: {v}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_kill_primary_loses_nothing_and_reports_the_rto_breakdown() {
    let out = out_dir("sync-kill");
    let mut a = args(&out, KindArg::Sync, "kill-primary@3s");
    a.topology_flags.standbys = Some(2);
    let s = run(a).await;
    assert_eq!(s["check"]["lost"], 0, "{:#}", s["check"]);
    assert_eq!(s["check"]["valid"], true);
    assert!(s["check"]["acknowledged"].as_u64().unwrap() > 500);
    let t = trial(&s);
    let (detected, fenced, promoted, ready) =
        (ms(&t["detected_ms"]), ms(&t["fenced_ms"]), ms(&t["promoted_ms"]), ms(&t["endpoint_ready_ms"]));
    assert!(detected >= 400.0, "3 missed probes 200 ms apart: {detected}");
    assert!(detected <= fenced && fenced <= promoted && promoted <= ready, "{t:#}");
    let rto = ms(&t["rto_ms"]);
    assert!(rto >= detected * 0.8 && rto < 30_000.0, "rto {rto} vs detection {detected}");
    assert_eq!(t["promoted_node"], "s1", "the synchronous standby is the most advanced");
    assert_eq!(s["drain"]["drained"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_calibration_insert_follows_the_listener_through_a_failover_on_the_wire_client() {
    let out = out_dir("insert-kill");
    let mut a = args(&out, KindArg::Sync, "kill-primary@3s");
    a.workload = Some(habench::cli::WorkloadArg::Insert);
    a.driver = Some(habench::cli::DriverArg::Wire);
    a.topology_flags.standbys = Some(1);
    a.rate = Some(200.0);
    let s = run(a).await;
    let t = trial(&s);
    let rto = ms(&t["rto_ms"]);
    assert!(rto > 400.0 && rto < 10_000.0, "writes stopped for the detection and came back: {t:#}");
    // The old primary was SIGKILLed: an acknowledgement after the fault can only come from the
    // promoted standby, and nothing is promoted before the fault is detected. (Not against
    // `promoted_ms`: that is when the orchestrator saw recovery end, a poll later than clients.)
    assert!(ms(&t["first_ack_after_ms"]) > ms(&t["detected_ms"]), "acknowledged on the new primary: {t:#}");
    assert_eq!(t["promoted_node"], "s1", "{t:#}");
    let ops = &s["ops"]["insert"];
    assert_eq!(ops["fail"], 0, "the listener never hands out a read-only session: {ops}");
    assert!(ops["ok"].as_u64().unwrap() > 1000, "{ops}");
    assert_eq!(s["complete"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn shared_disk_kill_primary_recovers_on_the_same_data_with_nothing_lost() {
    let out = out_dir("sd-kill");
    let s = run(args(&out, KindArg::SharedDisk, "kill-primary@3s")).await;
    assert_eq!(s["check"]["lost"], 0, "{:#}", s["check"]);
    let t = trial(&s);
    assert_eq!(t["promoted_node"], "node-b");
    assert!(t["recovery_ms"].as_f64().is_some(), "redo time from the server log: {t:#}");
    assert!(ms(&t["rto_ms"]) >= ms(&t["detected_ms"]) * 0.8, "{t:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_host_instance_loses_nothing_and_its_batch_is_redelivered() {
    let out = out_dir("host-kill");
    let s = run(args(&out, KindArg::Single, "kill-host-instance@2s")).await;
    assert_eq!(s["check"]["lost"], 0, "{:#}", s["check"]);
    assert_eq!(s["check"]["valid"], true);
    assert!(s["dequeue"]["redelivered"].as_u64().unwrap() >= 1, "{:#}", s["dequeue"]);
    let t = trial(&s);
    let killed = t["events"].as_array().unwrap().iter().any(|e| e["event"] == "host_instance_killed");
    assert!(killed, "{t:#}");
    assert_eq!(s["drain"]["drained"], true, "the other instance took the messages");
}

#[tokio::test(flavor = "multi_thread")]
async fn losing_the_only_sync_standby_stalls_writes_until_the_orchestrator_drops_it() {
    let out = out_dir("sync-standby");
    let mut a = args(&out, KindArg::Sync, "kill-sync-standby@2s");
    a.topology_flags.standbys = Some(1);
    let s = run(a).await;
    let t = trial(&s);
    let events: Vec<&str> = t["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert!(events.contains(&"standby_dropped") && events.contains(&"standby_rejoined"), "{events:?}");
    // Commits wait for the dead standby until it is dropped from the synchronous list.
    assert!(ms(&t["rto_ms"]) >= ms(&t["detected_ms"]) * 0.8, "writes stalled until detection: {t:#}");
    assert_eq!(s["check"]["lost"], 0);
}

/// Keeps nothing: the test reads the summary.
struct Nothing;

impl RunSink for Nothing {
    fn interval(&mut self, _: &IntervalRow, _: &Progress<'_>) {}
}

#[tokio::test(flavor = "multi_thread")]
async fn async_failover_loses_acknowledged_messages_and_the_checker_counts_them_exactly() {
    async_loss(TopologySpec::new(TopologyKind::Async).with_standbys(1), 200.0, true, "async-loss", LOCAL_KILL).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn async_behind_a_20ms_link_loses_what_was_in_flight_and_the_checker_counts_it() {
    let mut spec = TopologySpec::new(TopologyKind::Async).with_standbys(1);
    spec.links.insert("s1".into(), habench::link::LinkSpec::parse("delay:20ms").unwrap());
    async_loss(spec, 500.0, false, "async-link-loss", LOCAL_KILL).await;
}

/// Patroni with `synchronous_mode` off: the leader's walsender stalls 1 s before its node
/// crashes; Patroni promotes the replica once the leader key expires (ttl 20), and what the
/// replica never received is lost, as many as an independent SQL count says.
#[tokio::test(flavor = "multi_thread")]
async fn patroni_async_loses_what_the_stalled_walsender_held_and_the_checker_counts_it() {
    let mut spec = TopologySpec::new(TopologyKind::Patroni).with_standbys(1);
    let engine = spec.engine.as_mut().unwrap();
    // Failing over to a replica that is behind must be allowed for the loss to show.
    for (k, v) in [("ttl", 20), ("loop_wait", 1), ("retry_timeout", 3), ("maximum_lag_on_failover", 1 << 30)] {
        engine.engine_set.insert(k.into(), v.into());
    }
    async_loss(spec, 200.0, true, "patroni-async-loss", ("crash-primary@3s", Duration::from_secs(30))).await;
}

/// The fault and the measured time of the built-in orchestrator's loss tests.
const LOCAL_KILL: (&str, Duration) = ("kill-primary@3s", Duration::from_secs(8));

/// Kills the primary under load (optionally with its walsenders stopped 1 s before) and checks
/// that the checker's lost count equals an independent SQL count.
async fn async_loss(spec: TopologySpec, rate: f64, stall_walsender: bool, tag: &str, fault: (&str, Duration)) {
    let topo = AnyTopology::up(common::env(), spec).await.unwrap();
    let write_dsn = topo.as_topology().write_dsn();
    let topo = Arc::new(tokio::sync::Mutex::new(topo));
    let args = RunArgs {
        scenario: Some("quick".into()),
        target_dsn: Some(write_dsn.clone()),
        duration: Some(fault.1),
        warmup: Some(Duration::ZERO),
        rate: Some(rate),
        quiet: true,
        ..Default::default()
    };
    let mut cfg = habench::commands::options::run_config(&args).unwrap();
    cfg.orchestrator.probe_interval = Duration::from_millis(200);
    cfg.orchestrator.probe_threshold = 10; // 2 s: the paused standby below is not declared dead
    cfg.faults = vec![fault.0.parse().unwrap()];
    let cfg = Arc::new(cfg);
    let endpoint = Endpoint::new(write_dsn.parse().unwrap());
    let client = endpoint.connect_once().await.unwrap();
    habench_workloads::messagebox::install(&client, &cfg.workload.messagebox).await.unwrap();
    drop(client);

    let out = out_dir(tag);
    let dir = habench::store::ResultsDir::create(Some(&out), "t", "t", true).unwrap();
    let (ledger_tx, ledger_rx) = runner::ledger::channel();
    let ledger = dir.spawn_ledger_writer(ledger_rx, cfg.workload.messagebox.hosts.len()).unwrap();
    let plan = FailoverPlan {
        faults: cfg.faults.clone(),
        orchestrator: cfg.orchestrator.clone(),
        topology: Some(topo.clone()),
        cluster: None,
        write_endpoint: endpoint.clone(),
        sso: None,
        groups: Vec::new(),
        messagebox: cfg.workload.messagebox.clone(),
    };
    let (_abort_tx, abort_rx) = tokio::sync::watch::channel(false);
    let run_cfg = cfg.clone();
    let ep = endpoint.clone();
    let run = tokio::spawn(async move {
        runner::run(run_cfg, ep.into(), ledger_tx, &mut Nothing, abort_rx, Some(plan), Default::default()).await
    });

    if stall_walsender {
        // The replication link stalls 1 s before the primary dies: its walsender is stopped, so
        // what the primary acknowledges from then on never reaches the standby.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let walsenders: Vec<i32> = {
            let t = topo.lock().await;
            let c = t.as_topology().primary().connect().await.unwrap();
            c.query("SELECT pid FROM pg_stat_replication", &[]).await.unwrap().iter().map(|r| r.get(0)).collect()
        };
        assert!(!walsenders.is_empty(), "no walsender to stall");
        for pid in walsenders {
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGSTOP).unwrap();
        }
    }
    let result = run.await.unwrap();
    let ledger = ledger.await.unwrap().unwrap();
    assert!(result.events.iter().any(|e| matches!(e.kind, habench::events::EventKind::Promoted { .. })));

    let client = endpoint.connect_once().await.unwrap();
    let db = habench::check::read_db_state(&client, &cfg.workload.messagebox).await.unwrap();
    let report = habench_workloads::checker::check(&ledger.index, &db, false);
    assert!(report.lost_publishes > 0, "acknowledged but not yet on the standby, gone after failover: {report:?}");

    // Independently: the acknowledged ids that the new primary has no trace of, in SQL.
    let acked: Vec<i64> = ledger.index.acknowledged().collect();
    client.batch_execute("CREATE TEMP TABLE acked (id bigint PRIMARY KEY)").await.unwrap();
    client.execute("INSERT INTO acked SELECT unnest($1::bigint[])", &[&acked]).await.unwrap();
    let mut sql = String::from(
        "SELECT count(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM mbox.spool s WHERE s.id = a.id) \
        AND NOT EXISTS (SELECT 1 FROM mbox.tracking t WHERE t.msg_id = a.id)",
    );
    for h in &cfg.workload.messagebox.hosts {
        sql.push_str(&format!(
            " AND NOT EXISTS (SELECT 1 FROM mbox.q_{0} q WHERE q.msg_id = a.id) AND NOT EXISTS (SELECT 1 FROM mbox.q_{0}_suspended q WHERE q.msg_id = a.id)",
            h.name
        ));
    }
    let missing: i64 = client.query_one(&sql, &[]).await.unwrap().get(0);
    eprintln!(
        "{tag}: {} acknowledged, checker lost {} publishes ({} completions), SQL check {missing} missing",
        report.acknowledged, report.lost_publishes, report.lost_completions
    );
    assert_eq!(report.lost_publishes as i64, missing, "checker and SQL agree");
    let _ = std::fs::remove_dir_all(dir.path());
}

fn habench() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_habench"))
}

#[test]
fn trials_repeat_the_fault_on_fresh_topologies_and_keep_leaves_the_last_one_running() {
    use std::io::{BufRead, BufReader};
    let out = out_dir("trials");
    let mut child = habench()
        .args(["run", "quick", "--duration", "4s", "--warmup", "1s", "--fault", "kill-host-instance@1s"])
        .args(["--trials", "2", "--keep", "--quiet", "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The comparison table, the results line, then the kept servers' JSON line.
    let mut kept: Option<Value> = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("{\"kind\"") {
            kept = Some(serde_json::from_str(&line).unwrap());
            break;
        }
    }
    let kept = kept.expect("a JSON line describing the kept servers");
    let pid = kept["nodes"][0]["pid"].as_u64().unwrap() as u32;
    let server = habench::pg::procs::ProcId::of(pid).unwrap();
    assert!(server.is_running(), "the last trial's server is kept");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(habench::pg::procs::wait_gone_blocking(&[server], Duration::from_secs(10)), "torn down after the signal");

    let s: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["complete"], true);
    assert_eq!(s["failover"]["trials"].as_array().unwrap().len(), 2);
    assert_eq!(s["variants"][0]["runs"], 2);
    assert_eq!(s["variants"][0]["lost"], 0);
    for t in 1..=2 {
        assert!(out.join(format!("single/trial-{t}/ledger.csv")).is_file());
    }
    let md = std::fs::read_to_string(out.join("comparison.md")).unwrap();
    assert!(md.starts_with("| variant |") && md.contains("| single | single | 2 |"), "{md}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_primary_is_fenced_and_replaced_once_its_probes_run_out() {
    let out = out_dir("sync-pause");
    let mut a = args(&out, KindArg::Sync, "pause-primary@2s:6s");
    a.topology_flags.standbys = Some(1);
    let s = run(a).await;
    let t = trial(&s);
    let events: Vec<&str> = t["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert!(events.starts_with(&["injected", "detected", "fenced", "promoted"]), "{events:?}");
    assert!(!events.contains(&"resumed"), "the hung node was fenced, not resumed: {events:?}");
    assert_eq!(s["check"]["lost"], 0, "{:#}", s["check"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_planned_switchover_loses_nothing_and_keeps_the_old_primary_as_a_standby() {
    let out = out_dir("switchover");
    let mut a = args(&out, KindArg::Async, "switchover@2s");
    a.topology_flags.standbys = Some(1);
    let s = run(a).await;
    let t = trial(&s);
    assert!(t["detected_ms"].is_null(), "nothing to detect in a planned switchover: {t:#}");
    assert!(ms(&t["endpoint_ready_ms"]) < 30_000.0);
    assert!(t["events"][0]["detail"].as_str().unwrap().contains("rejoined"), "{t:#}");
    assert_eq!(s["check"]["lost"], 0, "{:#}", s["check"]);
    assert_eq!(s["check"]["valid"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn log_shipping_fails_over_to_the_dr_site_after_the_manual_delay_and_reports_what_it_lost() {
    let dir = out_dir("logship");
    let mut a = args(&dir, KindArg::LogShipping, "kill-primary@3s");
    a.manual_delay = Some(Duration::from_millis(500));
    habench::commands::run_cmd::run(a).await.expect("run completes");
    let s: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let ledger = std::fs::read_to_string(dir.join("ledger.csv")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let t = trial(&s);
    assert_eq!(t["promoted_node"], "dr", "{t:#}");
    let (fenced, promoted) = (ms(&t["fenced_ms"]), ms(&t["promoted_ms"]));
    assert!(promoted - fenced >= 500.0, "a person decides first: fenced {fenced}, promoted {promoted}");
    // What was not archived yet is gone: the checker counts it, it does not crash on it, and
    // every message it calls lost was acknowledged in the ledger (read here on its own).
    let lost = s["check"]["lost"].as_u64().expect("check.lost");
    eprintln!("log shipping: {lost} of {} acknowledged publishes lost", s["check"]["acknowledged"]);
    let acked: std::collections::HashSet<i64> = ledger
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| c[1] == "publish" && c[5] == "ok")
        .map(|c| c[2].parse().unwrap())
        .collect();
    for id in s["check"]["lost_ids"].as_array().unwrap() {
        assert!(acked.contains(&id.as_i64().unwrap()), "{id} is called lost but was never acknowledged");
    }
    assert_eq!(s["complete"], true);
}
