//! pg_auto_failover formations that habench starts: a monitor and three data nodes formed as
//! one primary and two secondaries, writable on the primary, replicating, and gone with every
//! process (monitor, keepers, their postgres) when the formation is dropped.

mod common;

use std::time::Duration;

use habench::autofailover::{Formation, FormationSettings};
use habench::pg::{conn, procs};

/// Every process whose command line names the formation's directory (each `pg_autoctl`, each
/// postgres it started with `-D` there), and their descendants.
fn processes_of(dir: &std::path::Path) -> Vec<procs::ProcId> {
    let needle = dir.display().to_string();
    let mut all = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&needle) {
            all.extend(procs::ProcId::of(pid));
            all.extend(procs::descendants(pid));
        }
    }
    all.sort_by_key(|p| p.pid);
    all.dedup_by_key(|p| p.pid);
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_formation_forms_replicates_and_leaves_nothing_when_dropped() {
    let names: Vec<String> = ["n1", "n2", "n3"].map(String::from).to_vec();
    let mut settings = FormationSettings::default();
    settings.set("node_considered_unhealthy_timeout", &serde_json::json!(7000)).unwrap();
    settings.set("number_sync_standbys", &serde_json::json!(1)).unwrap();
    settings.set("candidate_priority.n3", &serde_json::json!(0)).unwrap();
    let f = Formation::up(common::env(), &names, &settings, None).await.expect("a formation");
    let set = f.settings().iter().find(|(k, _)| k == "pgautofailover.node_considered_unhealthy_timeout");
    assert_eq!(set.map(|(_, v)| v.as_str()), Some("7000"), "read back: {:?}", f.settings());
    // The formation's and the nodes' settings, as the monitor holds them.
    let back = f.readback();
    assert_eq!(back.number_sync_standbys, 1, "{back:?}");
    let n3 = back.nodes.iter().find(|n| n.0 == "n3").expect("n3 registered");
    assert_eq!((n3.1, n3.2), (0, true), "{back:?}");
    assert!(
        back.nodes.iter().filter(|n| n.0 != "n3").all(|n| n.1 == 50),
        "pg_auto_failover's default priority: {back:?}"
    );
    let view = f.view().await.expect("the monitor answers");
    assert!(view.is_formed(3), "{}", view.brief());
    let primary = view.primary().expect("a primary").clone();
    let standbys: Vec<u16> = view.nodes.iter().filter(|n| n.name != primary.name).map(|n| n.port).collect();
    assert_eq!(standbys.len(), 2, "{}", view.brief());

    // habench's clients reach the primary on 127.0.0.1 and write there.
    let c = conn::connect(primary.port, Duration::from_secs(5)).await.expect("the primary takes clients");
    c.batch_execute("CREATE TABLE af_probe (i int); INSERT INTO af_probe VALUES (42)").await.expect("a write");
    // number_sync_standbys=1: the primary waits for one of its two standbys.
    let names: String = c.query_one("SHOW synchronous_standby_names", &[]).await.unwrap().get(0);
    assert!(names.starts_with("ANY 1 ("), "synchronous_standby_names = {names:?}");
    // Each secondary is in recovery and receives the row.
    for port in standbys {
        let s = conn::connect(port, Duration::from_secs(5)).await.expect("a secondary takes clients");
        let in_recovery: bool = s.query_one("SELECT pg_is_in_recovery()", &[]).await.unwrap().get(0);
        assert!(in_recovery, "port {port} is not a standby");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let got = s.query_opt("SELECT i FROM af_probe", &[]).await.ok().flatten().map(|r| r.get::<_, i32>(0));
            if got == Some(42) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "port {port} never received the row");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let dir = f.dir().to_path_buf();
    let running = processes_of(&dir);
    assert!(running.len() >= 8, "monitor, 3 keepers and their servers expected: {} processes", running.len());
    drop(f);
    common::assert_all_gone(&running);
    assert!(!dir.exists(), "{} left behind", dir.display());
}

/// The monitor tuned for CI: a node is unhealthy after 4 s without a report (and a failed
/// check), and a failed primary gets 4 s to confirm its demotion.
const FAST: [&str; 6] = [
    "--engine-set",
    "node_considered_unhealthy_timeout=4000",
    "--engine-set",
    "primary_demote_timeout=4000",
    "--engine-set",
    "health_check_period=1000",
];

fn run(tag: &str, args: &[&str]) -> serde_json::Value {
    run_nodes(tag, "3", args)
}

/// `habench run quick` on a formation of `nodes` data nodes with the FAST monitor; its summary.
fn run_nodes(tag: &str, nodes: &str, args: &[&str]) -> serde_json::Value {
    run_with_ledger(tag, nodes, args).0
}

/// The same, with the run's ledger.csv.
fn run_with_ledger(tag: &str, nodes: &str, args: &[&str]) -> (serde_json::Value, String) {
    let root = common::TempDir::new("auto_failover", tag);
    let out = root.join("results");
    let status = common::habench()
        .args(["run", "quick", "--topology", "pg_auto_failover", "--nodes", nodes, "--rate", "100", "--warmup", "1s"])
        .args(["--quiet"])
        .args(FAST)
        .args(args)
        .args(["--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "habench run {args:?}: {status:?}");
    let summary = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    (summary, std::fs::read_to_string(out.join("ledger.csv")).unwrap())
}

fn only_trial(summary: &serde_json::Value) -> &serde_json::Value {
    let check = &summary["check"];
    assert_eq!((check["lost"].as_u64(), check["duplicated"].as_u64()), (Some(0), Some(0)), "{check}");
    assert_eq!(check["valid"], true, "{check}");
    assert!(check["acknowledged"].as_u64().unwrap() > 500, "{check}");
    let trials = summary["failover"]["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 1, "{summary}");
    &trials[0]
}

#[test]
fn a_node_crash_fails_over_inside_the_monitors_band_with_nothing_lost() {
    let summary = run("crash", &["--duration", "25s", "--fault", "crash-primary@3s"]);
    let t = only_trial(&summary);
    let band = &t["band"];
    assert_eq!((band["lo_ms"].as_f64(), band["hi_ms"].as_f64()), (Some(8_000.0), Some(16_000.0)), "{band}");
    assert_eq!(band["inside"], true, "RTO {} outside {band}", t["rto_ms"]);
    // The monitor's phases: the old primary drained (detected), another node promoted, then
    // the new primary answering read-write.
    assert_ne!(t["promoted_node"], t["target"], "{t}");
    assert!(t["detected_ms"].as_f64().unwrap() < t["promoted_ms"].as_f64().unwrap(), "{t}");
    assert!(t["endpoint_ready_ms"].as_f64().unwrap() >= t["promoted_ms"].as_f64().unwrap(), "{t}");
}

#[test]
fn a_switchover_asked_of_the_monitor_moves_the_primary_with_nothing_lost() {
    let summary = run("switchover", &["--duration", "12s", "--fault", "switchover@3s"]);
    let t = only_trial(&summary);
    let injected = t["events"].as_array().unwrap().iter().find(|e| e["event"] == "injected").unwrap();
    assert!(injected["detail"].as_str().unwrap().contains("switchover asked of the monitor"), "{injected}");
    assert_ne!(t["promoted_node"], t["target"], "{t}");
    assert_eq!(t["band"]["inside"], true, "RTO {} outside {}", t["rto_ms"], t["band"]);
}

#[test]
fn killing_the_only_standby_opens_a_window_where_the_monitor_drops_the_primary_to_wait_primary() {
    let summary = run_nodes("window", "2", &["--duration", "15s", "--fault", "kill-sync-standby@3s"]);
    let t = only_trial(&summary);
    // The monitor's own state changes: the primary assigned wait_primary, then reporting it
    // (its keeper has cleared synchronous_standby_names: commits stop waiting).
    let events = t["events"].as_array().unwrap();
    let engine: Vec<(&str, f64)> = events
        .iter()
        .filter(|e| e["event"] == "engine")
        .map(|e| {
            (e["what"].as_str().unwrap(), t["injected_at_s"].as_f64().unwrap() + e["at_ms"].as_f64().unwrap() / 1e3)
        })
        .collect();
    let reported = engine.iter().position(|(w, _)| w.starts_with("n1 wait_primary,"));
    let reported = reported.unwrap_or_else(|| panic!("no `n1 wait_primary` among {events:?}"));
    let reported_s = engine[reported].1;
    // The assignment is a view of its own unless the keeper carried it out between two reads of
    // the monitor (50 ms apart): then it happened after the last view before the report.
    let assigned_s = engine[..reported]
        .iter()
        .find(|(w, _)| w.starts_with("n1 primary->wait_primary"))
        .or(engine[..reported].last())
        .map(|(_, at)| *at)
        .unwrap_or_else(|| panic!("no view before `n1 wait_primary` among {events:?}"));
    // The window habench measured from the primary's synchronous setting opens between them
    // (the setting is sampled, hence the second of slack).
    let exposure = &summary["exposure"];
    let windows = exposure["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1, "{exposure}");
    let w = &windows[0];
    let start = w["start_s"].as_f64().unwrap();
    assert!(
        start > assigned_s - 0.5 && start < reported_s + 1.0,
        "window opened at {start} s; the monitor assigned wait_primary at {assigned_s} s, n1 reported it at {reported_s} s"
    );
    assert!(w["cause"].as_str().unwrap().contains("wait_primary"), "{w}");
    assert!(w["end_s"].is_null(), "the standby never came back: the window stays open to the end: {w}");
    // Publishes went on inside it, acknowledged by the primary alone; none lost.
    assert!(w["acked"].as_u64().unwrap() > 100, "{w}");
    assert_eq!(w["lost"], 0, "{w}");
    // Commits waited for the dead standby until the monitor dropped the requirement.
    let stall = t["rto_ms"].as_f64().unwrap();
    let injected_s = t["injected_at_s"].as_f64().unwrap();
    assert!(stall > 1_000.0 && stall < (reported_s - injected_s) * 1e3 + 1_000.0, "{t}");
}

/// pg_auto_failover's guard against split brain: a primary that reaches neither the monitor nor
/// a standby stops itself after `network_partition_timeout` (20 s, counted once its standby's
/// connection has ended: `wal_sender_timeout` 30 s). habench's clients still reach it.
#[test]
fn a_primary_cut_from_monitor_and_standby_stops_itself_and_acknowledges_nothing_beside_the_new_one() {
    let (summary, ledger) =
        run_with_ledger("partition", "2", &["--duration", "60s", "--fault", "partition-primary@3s:56s"]);
    let t = only_trial(&summary);
    let b = &summary["split_brain"];
    assert_eq!((b["cut_off"].as_bool(), &b["node"]), (Some(true), &t["target"]), "{b}");
    // The monitor promoted the standby while the old primary still answered as a primary.
    assert_ne!(b["promoted_node"], b["node"], "{b}");
    let (promoted_s, seen_s) = (b["promoted_s"].as_f64().unwrap(), b["seen_s"].as_f64().unwrap());
    assert!(seen_s >= promoted_s, "{b}");
    // It stopped itself 30 s + 20 s after the cut (+ keeper rounds), inside the band.
    let stopped_after = b["fenced_s"].as_f64().unwrap() - t["injected_at_s"].as_f64().unwrap();
    assert!((48.0..55.0).contains(&stopped_after), "stopped {stopped_after} s after the cut: {b}");
    assert_eq!(t["band"]["inside"], true, "RTO {} outside {}", t["rto_ms"], t["band"]);
    // No publish acknowledged by it after the promotion: counted again from the ledger.
    let (port, promoted_us) = (b["port"].as_u64().unwrap().to_string(), b["promoted_us"].as_i64().unwrap());
    let mut lines = ledger.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (at, event, outcome, server) = (col("at_us"), col("event"), col("outcome"), col("server_port"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let on_old = |r: &&Vec<&str>| r[event] == "publish" && r[server] == port;
    let after: Vec<&Vec<&str>> =
        rows.iter().filter(on_old).filter(|r| r[at].parse::<i64>().unwrap() >= promoted_us).collect();
    assert_eq!(after.iter().filter(|r| r[outcome] == "ok").count() as u64, b["acked"].as_u64().unwrap());
    assert_eq!(b["acked"], 0, "{b}");
    assert!(rows.iter().filter(on_old).any(|r| r[outcome] == "ok"), "it took publishes before the cut");
}

/// On a network of hosts (`--net namespaces`) the monitor and the nodes know each other by
/// their addresses; a killed habench leaves no process, cgroup or namespace, and `clean` sweeps
/// the directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_formation_on_namespaces_meets_by_address_and_dies_with_a_killed_habench() {
    let (mut guard, json) = common::start_up(&["pg_auto_failover", "--nodes", "2", "--net", "namespaces"]);
    assert_eq!(json["engine"]["engine"], "pg_auto_failover", "{json}");
    // The monitor (through habench's door) lists each node under its host's address.
    let monitor: tokio_postgres::Config = json["engine"]["monitor_uri"].as_str().unwrap().parse().unwrap();
    let m = habench::pg::conn::connect_config(&monitor, Duration::from_secs(10)).await.expect("the monitor");
    let sql = "SELECT string_agg(nodename || '@' || nodehost, ',' ORDER BY nodename) FROM pgautofailover.node";
    let registered: String = m.query_one(sql, &[]).await.unwrap().get(0);
    let client: String = m.query_one("SELECT host(inet_client_addr())", &[]).await.unwrap().get(0);
    assert_eq!(client, "127.0.0.1", "habench's door reaches the monitor from its own host");
    drop(m);
    let first = registered.split(',').next().unwrap();
    let net = first.split_once('@').unwrap().1.rsplit_once('.').unwrap().0.to_string();
    assert!(net.starts_with("10.213."), "{registered}");
    assert_eq!(registered, format!("n1@{net}.1,n2@{net}.2"));
    // The clients reach the primary from their own address; the standby streams from its own.
    let dsn: tokio_postgres::Config = json["write_dsn"].as_str().unwrap().parse().unwrap();
    let c = habench::pg::conn::connect_config(&dsn, Duration::from_secs(10)).await.expect("the primary");
    let sql = "SELECT host(inet_client_addr()), (SELECT string_agg(host(client_addr), ',') FROM pg_stat_replication)";
    let row = c.query_one(sql, &[]).await.unwrap();
    assert_eq!((row.get::<_, String>(0), row.get::<_, String>(1)), (format!("{net}.254"), format!("{net}.2")));
    drop(c);

    let dir = std::path::PathBuf::from(json["dir"].as_str().unwrap());
    let group = habench::pg::cgroup::mount_point().unwrap().join("habench").join(dir.file_name().unwrap());
    let pids = habench::pg::cgroup::Group::pids_under(&group);
    assert!(pids.len() >= 6, "monitor, 2 keepers and their servers: {pids:?}");
    guard.0.kill().unwrap(); // SIGKILL: habench gets no chance to clean up
    guard.0.wait().unwrap();
    let alive = || pids.iter().filter(|p| std::path::Path::new(&format!("/proc/{p}")).exists()).count();
    common::poll_blocking("every process of the formation gone", Duration::from_secs(10), || {
        (alive() == 0).then_some(())
    });
    common::poll_blocking("the cgroup removed", Duration::from_secs(10), || (!group.exists()).then_some(()));
    let k = net.rsplit('.').next().unwrap().to_string();
    common::poll_blocking("the network gone", Duration::from_secs(20), || {
        let listing = std::process::Command::new("ip").args(["netns", "list"]).output().unwrap();
        let text = String::from_utf8_lossy(&listing.stdout).into_owned();
        let mut names = text.lines().filter_map(|l| l.split_whitespace().next());
        (!names.any(|n| n == format!("hb{k}") || n.starts_with(&format!("hb{k}-")))).then_some(())
    });
    let out = common::habench().args(["topology", "clean"]).output().unwrap();
    assert!(out.status.success());
    assert!(!dir.exists(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_formation_named_by_a_cluster_file_is_watched_through_its_monitor_and_switched_over() {
    let dir = common::TempDir::new("auto_failover", "external");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cluster.toml");
    let mut args = vec!["pg_auto_failover", "--nodes", "3", "--cluster-file", file.to_str().unwrap()];
    args.extend(FAST);
    // Another habench process runs the formation; this one only knows the file.
    let (mut owner, json) = common::start_up(&args);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("manager = \"pg_auto_failover\"") && text.contains("monitor = "), "{text}");
    let out = dir.join("results");
    let status = common::habench()
        .args(["run", "quick", "--cluster", file.to_str().unwrap(), "--rate", "100", "--warmup", "1s"])
        .args(["--duration", "12s", "--fault", "switchover@3s", "--quiet", "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let t = only_trial(&summary);
    let injected = t["events"].as_array().unwrap().iter().find(|e| e["event"] == "injected").unwrap();
    assert!(injected["detail"].as_str().unwrap().contains("asked of pg_auto_failover's monitor"), "{injected}");
    assert_ne!(t["promoted_node"], t["target"], "{t}");
    assert!(t["endpoint_ready_ms"].as_f64().is_some(), "the new primary answered read-write: {t}");
    // What the monitor holds, read back: the timings the owner set, and the band made of them.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let af = &manifest["cluster"]["auto_failover"];
    assert_eq!(af["version"], "pgautofailover 2.0", "{af}");
    let unhealthy = af["monitor_settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == "pgautofailover.node_considered_unhealthy_timeout")
        .map(|p| p[1].clone());
    assert_eq!(unhealthy, Some(serde_json::json!("4000")), "{af}");
    assert_eq!(t["band"]["inside"], true, "RTO {} outside {}", t["rto_ms"], t["band"]);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| cluster manager | pg_auto_failover (pgautofailover 2.0) |"), "{report}");

    // SIGINT to the owner: it stops the formation and leaves nothing.
    let dir = std::path::PathBuf::from(json["dir"].as_str().unwrap());
    let running = processes_of(&dir);
    assert!(running.len() >= 8, "monitor, 3 keepers and their servers: {} processes", running.len());
    let pid = nix::unistd::Pid::from_raw(owner.0.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = owner.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    common::assert_all_gone(&running);
    assert!(!dir.exists(), "{} left behind", dir.display());
}
