//! Replicas behind an emulated link: a synchronous commit waits one round trip of it; a cut
//! link stalls writes under FIRST 1 of one standby and not under ANY 1 of two.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use habench::cli::{KindArg, QuorumArg, RunArgs, TopologyFlags};
use habench::link::LinkSpec;
use habench::topology::{AnyTopology, TopologyKind, TopologySpec};
use serde_json::Value;

fn out_dir(tag: &str) -> common::TempDir {
    common::TempDir::new("distance", tag)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Median of 15 single-row commits on the primary.
async fn commit_median(spec: TopologySpec) -> Duration {
    let topo = AnyTopology::up(common::env(), spec).await.unwrap();
    let c = topo.as_topology().primary().connect().await.unwrap();
    c.batch_execute("CREATE TABLE t (id int)").await.unwrap();
    let mut times = Vec::new();
    for i in 0..15 {
        let t0 = Instant::now();
        c.execute("INSERT INTO t VALUES ($1)", &[&i]).await.unwrap();
        times.push(t0.elapsed());
    }
    times.sort();
    times[7]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_synchronous_commit_waits_one_round_trip_of_the_link() {
    let link = LinkSpec::parse("delay:10ms").unwrap();
    let mut sync = TopologySpec::new(TopologyKind::Sync).with_standbys(1);
    sync.links.insert("s1".into(), link);
    let mut asynchronous = TopologySpec::new(TopologyKind::Async).with_standbys(1);
    asynchronous.links.insert("s1".into(), link);
    let (s, a) = (commit_median(sync).await, commit_median(asynchronous).await);
    assert!(s >= Duration::from_millis(20), "sync waits the 20 ms round trip: {s:?}");
    // Compared within the run: sync costs async's commit plus about one round trip (and the
    // standby's flush; generous for a loaded disk), not two.
    assert!(s < a + Duration::from_millis(40), "one round trip, not two: sync {s:?}, async {a:?}");
    assert!(a < s / 2, "async does not wait for the link: async {a:?}, sync {s:?}");
}

/// Runs `args` into a fresh results folder; returns the folder.
fn run_into(tag: &str, mut args: RunArgs) -> common::TempDir {
    let out = out_dir(tag);
    args.out = Some(out.to_path_buf());
    args.quiet = true;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(habench::commands::run_cmd::run(args)).expect("run");
    out
}

fn partition_run(tag: &str, flags: TopologyFlags) -> Value {
    let args = RunArgs {
        scenario: Some("quick".into()),
        topology: Some(KindArg::Sync),
        topology_flags: flags,
        rate: Some(200.0),
        warmup: Some(Duration::from_secs(1)),
        duration: Some(Duration::from_secs(6)),
        faults: vec!["partition-standby@2s:2s".parse().unwrap()],
        ..Default::default()
    };
    let out = run_into(tag, args);
    let s = read_json(&out.join("summary.json"));
    std::fs::remove_dir_all(&out).unwrap();
    s
}

#[test]
fn a_cut_link_stalls_writes_under_first_1_and_not_under_any_1_of_2() {
    let first = partition_run("first", TopologyFlags { standbys: Some(1), ..Default::default() });
    let t = &first["failover"]["trials"][0];
    assert_eq!(t["target"], "s1");
    let rto = t["rto_ms"].as_f64().unwrap();
    assert!((1800.0..3000.0).contains(&rto), "writes stalled for the 2 s partition: RTO {rto} ms");
    assert!(first["latency_us"]["publish"]["max"].as_u64().unwrap() >= 1_800_000);
    assert_eq!(first["check"]["lost"], 0);

    let any = partition_run(
        "any",
        TopologyFlags { standbys: Some(2), quorum: Some(QuorumArg::Any), sync_count: Some(1), ..Default::default() },
    );
    let rto = any["failover"]["trials"][0]["rto_ms"].as_f64().unwrap();
    assert!(rto < 1000.0, "the other standby confirms: writes went on (RTO {rto} ms)");
    assert_eq!(any["check"]["lost"], 0);
}

#[test]
fn a_primary_cut_from_clients_and_standbys_is_replaced_and_nothing_acknowledged_is_lost() {
    let args = RunArgs {
        scenario: Some("quick".into()),
        topology: Some(KindArg::Sync),
        topology_flags: TopologyFlags { standbys: Some(2), ..Default::default() },
        rate: Some(200.0),
        warmup: Some(Duration::from_secs(1)),
        duration: Some(Duration::from_secs(8)),
        faults: vec!["partition-primary@2s:5s".parse().unwrap()],
        probe_interval: Some(Duration::from_millis(200)),
        probe_threshold: Some(5),
        ..Default::default()
    };
    let out = run_into("partition-primary", args);
    let s = read_json(&out.join("summary.json"));
    let t = &s["failover"]["trials"][0];
    assert!(t["detected_ms"].as_f64().unwrap() < 2500.0, "5 probes 200 ms apart: {t:#}");
    assert!(t["promoted_ms"].as_f64().is_some(), "a standby was promoted: {t:#}");
    let rto = t["rto_ms"].as_f64().unwrap();
    assert!(rto < 4500.0, "clients reached the new primary before the 5 s partition healed: RTO {rto} ms");
    assert_eq!(s["check"]["lost"], 0, "{:#}", s["check"]);
    let manifest = read_json(&out.join("manifest.json"));
    let first_port = manifest["topology"]["write_dsn"].as_str().unwrap();
    assert!(
        !first_port.contains(&format!("port={},", manifest["topology"]["nodes"][0]["port"])),
        "the listener goes through client links"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_slow_link_shows_as_commit_latency_for_its_duration_only() {
    let args = RunArgs {
        workload: Some(habench::cli::WorkloadArg::Insert),
        topology: Some(KindArg::Sync),
        rate: Some(100.0),
        warmup: Some(Duration::from_secs(1)),
        duration: Some(Duration::from_secs(6)),
        faults: vec!["slow-link@2s:2s".parse().unwrap()],
        ..Default::default()
    };
    let out = run_into("slow-link", args);
    let timeline = std::fs::read_to_string(out.join("timeline.csv")).unwrap();
    let t = habench::run_data::Timeline::parse(&timeline);
    let p50: Vec<(f64, f64)> = t.points("insert_p50_us", &["measure"]);
    // Measured phase starts at 1 s; the link is slow from 3 s to 5 s.
    let during: Vec<f64> = p50.iter().filter(|(x, _)| (3.5..=5.0).contains(x)).map(|p| p.1).collect();
    let after: Vec<f64> = p50.iter().filter(|(x, _)| *x >= 6.5).map(|p| p.1).collect();
    assert!(!during.is_empty() && !after.is_empty(), "{p50:?}");
    assert!(during.iter().all(|v| *v >= 100_000.0), "a 50 ms one-way slow-down costs 100 ms per commit: {p50:?}");
    assert!(after.iter().all(|v| *v < 50_000.0), "and is gone after it: {p50:?}");
    std::fs::remove_dir_all(&out).unwrap();
}
