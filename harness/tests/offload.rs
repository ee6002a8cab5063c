//! Readable secondaries: report queries really run on the standbys, the offload scenario runs
//! its three variants on one set of servers, and a provoked recovery conflict is counted without
//! stopping the run.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use habench::cli::{KindArg, RunArgs};
use habench::config::{ReportsOn, RunConfig};
use habench::pg::Endpoint;
use habench::run_result::{Progress, RunSink};
use habench::runner;
use habench::topology::AnyTopology;
use habench_workloads::reporting::ReportMix;
use serde_json::Value;

fn out_dir(tag: &str) -> common::TempDir {
    common::TempDir::new("offload", tag)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

struct Discard;

impl RunSink for Discard {
    fn interval(&mut self, _: &habench::measure::IntervalRow, _: &Progress<'_>) {}
}

/// Scans and index scans of `mbox.tracking` that a server's own statistics counted.
async fn tracking_reads(node: &habench::pg::Node) -> i64 {
    let c = node.connect().await.unwrap();
    let row = c
        .query_one(
            "SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0)::int8
             FROM pg_stat_user_tables WHERE schemaname = 'mbox' AND relname = 'tracking'",
            &[],
        )
        .await
        .unwrap();
    row.get(0)
}

/// Servers for `args`, the MessageBox installed, and where its reports go.
async fn servers(
    args: &RunArgs,
) -> (Arc<RunConfig>, AnyTopology, Endpoint, tokio_postgres::Client, habench::runner::reporter::ReportPlan) {
    let cfg = Arc::new(habench::commands::options::run_config(args).unwrap());
    let habench::config::Target::Topology(spec) = &cfg.target else { panic!("a topology") };
    let mut topo = AnyTopology::up(common::env(), spec.clone()).await.unwrap();
    let endpoint = Endpoint::new(topo.as_topology().write_dsn().parse().unwrap());
    let client = endpoint.connect_once().await.unwrap();
    habench_workloads::messagebox::install(&client, &cfg.workload.messagebox).await.unwrap();
    let (plan, _) = habench::commands::run_cmd::report_plan_for(&cfg, topo.as_topology_mut(), &endpoint);
    (cfg, topo, endpoint, client, plan)
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_on_standbys_read_there_and_measure_staleness() {
    let args = RunArgs {
        topology: Some(KindArg::Sync),
        rate: Some(200.0),
        duration: Some(Duration::from_secs(3)),
        warmup: Some(Duration::from_secs(1)),
        reports_on: Some(ReportsOn::Standbys),
        report_rate: Some(40.0),
        seed: Some(3),
        quiet: true,
        topology_flags: habench::cli::TopologyFlags { standbys: Some(2), ..Default::default() },
        ..Default::default()
    };
    let (cfg, topo, endpoint, _client, plan) = servers(&args).await;
    assert_eq!(plan.targets.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["s1", "s2"]);
    let (ledger_tx, mut ledger_rx) = runner::ledger::channel();
    let drain = tokio::spawn(async move { while ledger_rx.recv().await.is_some() {} });
    let (_abort_tx, abort_rx) = tokio::sync::watch::channel(false);
    let r = runner::run(cfg, endpoint.into(), ledger_tx, &mut Discard, abort_rx, None, plan).await;
    drain.await.unwrap();
    assert!(r.stop_reason.is_none());

    let reports = r.reports.expect("report results");
    for name in ["s1", "s2"] {
        let t = &reports.stats.targets[name];
        assert!(t.connections > 0 && t.misrouted == 0, "{name}: every connection checked to be in recovery");
        assert!(t.total().ok > 10, "{name}: {} queries", t.total().ok);
        assert_eq!(t.total().fail, 0, "{name}");
        assert!(t.staleness_us.as_ref().is_some_and(|h| !h.is_empty()), "{name}: staleness per read");
        assert!(t.ryw_checks > 0, "{name}: read-your-writes probes");
    }
    assert!(!reports.stats.targets.contains_key("primary"));
    // The servers' own statistics agree: the standbys read the tracking table, the primary did not.
    let t = topo.as_topology();
    let (primary, standbys): (Vec<_>, Vec<_>) = t.nodes().iter().partition(|n| n.name() == t.primary().name());
    for s in standbys {
        let reads = common::poll("standby statistics", Duration::from_secs(5), || async {
            let n = tracking_reads(s).await;
            (n > 0).then_some(n)
        })
        .await;
        assert!(reads > 0, "{}", s.name());
    }
    assert_eq!(tracking_reads(primary[0]).await, 0, "no report ran on the primary");
    let cpu = r.cpu.expect("server CPU");
    assert_eq!(cpu.report_backends.get(t.primary().name()).copied().unwrap_or(0.0), 0.0);
    assert!(cpu.by_node[t.primary().name()] > 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_offload_scenario_runs_three_ways_on_one_set_of_servers() {
    let out = out_dir("scenario");
    let args = RunArgs {
        scenario: Some("offload".into()),
        rate: Some(100.0),
        duration: Some(Duration::from_secs(2)),
        warmup: Some(Duration::from_secs(1)),
        report_rate: Some(20.0),
        out: Some(out.to_path_buf()),
        quiet: true,
        ..Default::default()
    };
    habench::commands::run_cmd::run(args).await.expect("run");
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["complete"], true);
    let rows = s["offload"]["variants"].as_array().expect("offload rows");
    let on: Vec<&str> = rows.iter().map(|r| r["reports_on"].as_str().unwrap()).collect();
    assert_eq!(on, ["none", "primary", "standbys"]);
    for r in rows {
        assert!(r["publish_per_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["primary_cpu_s"].as_f64().unwrap() > 0.0, "{r}");
        assert_eq!(r["lost"], 0, "{r}");
    }
    assert!(rows[1]["report_per_s"].as_f64().unwrap() > 0.0);
    assert!(rows[2]["staleness_ms_p50"].as_f64().is_some(), "standby reads have a staleness");
    assert!(rows[1]["staleness_ms_p50"].is_null(), "primary reads have none");
    assert!(s["offload"]["standbys_vs_primary"]["publish_p99_ratio"].as_f64().is_some());
    let md = std::fs::read_to_string(out.join("offload.md")).unwrap();
    assert!(md.contains("| reports-on-standbys | standbys |"), "{md}");
    // One set of servers, back to back: every variant's manifest names the same ports.
    let ports = |variant: &str| {
        let m = read_json(&out.join(variant).join("trial-1").join("manifest.json"));
        m["topology"]["nodes"].as_array().unwrap().iter().map(|n| n["port"].as_u64().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(ports("no-reports"), ports("reports-on-standbys"));
    assert_eq!(ports("no-reports"), ports("reports-on-primary"));
    let standbys = read_json(&out.join("reports-on-standbys").join("trial-1").join("summary.json"));
    let targets: Vec<&String> = standbys["reports"]["targets"].as_object().unwrap().keys().collect();
    assert_eq!(targets, ["s1", "s2"]);
    std::fs::remove_dir_all(&out).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provoked_recovery_conflict_is_counted_and_the_run_goes_on() {
    // No feedback and no grace: a VACUUM on the primary cancels standby queries whose snapshot
    // needs the rows it removes. The reports are long scans of a big tracking table.
    let args = RunArgs {
        topology: Some(KindArg::Sync),
        rate: Some(200.0),
        duration: Some(Duration::from_secs(5)),
        warmup: Some(Duration::from_secs(1)),
        reports_on: Some(ReportsOn::Standbys),
        report_rate: Some(20.0),
        report_mix: Some(ReportMix::parse("scan=1").unwrap()),
        quiet: true,
        topology_flags: habench::cli::TopologyFlags {
            standbys: Some(1),
            pg_set: vec![
                ("hot_standby_feedback".into(), "off".into()),
                ("max_standby_streaming_delay".into(), "0".into()),
            ],
            ..Default::default()
        },
        ..Default::default()
    };
    let (cfg, _topo, endpoint, client, plan) = servers(&args).await;
    client
        .batch_execute(
            "INSERT INTO mbox.tracking (msg_id, msg_type, host, instance, status, attempts, e2e_us)
             SELECT -g, 'order', 'send', 'preload', 'completed', 1, (random() * 1e6)::bigint
             FROM generate_series(1, 300000) g",
        )
        .await
        .unwrap();
    let (ledger_tx, mut ledger_rx) = runner::ledger::channel();
    let drain = tokio::spawn(async move { while ledger_rx.recv().await.is_some() {} });
    let (_abort_tx, abort_rx) = tokio::sync::watch::channel(false);
    let run_cfg = cfg.clone();
    let ep = endpoint.clone();
    let run =
        tokio::spawn(
            async move { runner::run(run_cfg, ep.into(), ledger_tx, &mut Discard, abort_rx, None, plan).await },
        );
    // The vacuum that conflicts: dead queue entries removed while scans run on the standby, for
    // the first 2.5 s (the reports after it must go on).
    let vacuum = tokio::spawn(async move {
        for _ in 0..16 {
            let _ = client.batch_execute("VACUUM mbox.q_send, mbox.q_archive, mbox.spool").await;
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    });
    let r = run.await.unwrap();
    vacuum.abort();
    drain.await.unwrap();
    assert!(r.stop_reason.is_none(), "the run completes despite cancelled reports");
    let reports = r.reports.expect("report results");
    let s1 = &reports.stats.targets["s1"];
    assert!(s1.conflicts > 0, "no conflict provoked: {:?}", r.errors);
    // Every failure was a conflict: a cancelled query, or a session the standby terminated.
    assert!(
        r.errors.by_message.keys().all(|k| k.contains("conflict with recovery") || k.contains("connection closed")),
        "{:?}",
        r.errors
    );
    // The workers went on after cancellations: the schedule (20/s for 5 s) was kept.
    let attempted = s1.total().total();
    assert!(attempted >= 60, "reports went on after a cancellation: {attempted} of ~100 scheduled were made");
    let counted: i64 = reports.server_conflicts.get("s1").map(|c| c.iter().sum()).unwrap_or(0);
    eprintln!(
        "conflicts: {} reports cancelled, {} ok, {counted} counted by the standby, errors {:?}",
        s1.conflicts,
        s1.total().ok,
        r.errors.by_message
    );
    assert!(counted > 0, "the standby counted them too");
    assert!(r.errors.by_message.keys().any(|k| k.contains("conflict with recovery")), "{:?}", r.errors);
}
