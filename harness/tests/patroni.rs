//! The real HA engine: Patroni + etcd clusters that habench starts, breaks and tears down, from
//! the `habench` binary. These tests need etcd and Patroni (`scripts/install-ha-engines.sh`,
//! which `.ci/run` calls). They run one at a time: RTOs on 2 shared cores are what they assert.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

/// One Patroni cluster at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Timings every test uses unless it says otherwise: the fastest Patroni allows (ttl 20 is its
/// floor), so that a node crash costs ~20 s, not ~30.
const FAST: [&str; 6] = ["--engine-set", "ttl=20", "--engine-set", "loop_wait=1", "--engine-set", "retry_timeout=3"];

use common::{habench, start_up, Guard};

/// `habench topology up patroni ARGS`.
fn up_patroni(args: &[&str]) -> (Guard, serde_json::Value) {
    let mut all = vec!["patroni"];
    all.extend_from_slice(args);
    start_up(&all)
}

/// The topology's cgroup, from the directory `topology up` printed.
fn cgroup_of(json: &serde_json::Value) -> PathBuf {
    let dir = Path::new(json["dir"].as_str().unwrap());
    habench::pg::cgroup::mount_point().unwrap().join("habench").join(dir.file_name().unwrap())
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    common::poll_blocking(what, timeout, || ok().then_some(()));
}

fn alive(pids: &[u32]) -> Vec<u32> {
    pids.iter().copied().filter(|p| Path::new(&format!("/proc/{p}")).exists()).collect()
}

async fn rest(url: &str, path: &str) -> u16 {
    habench::patroni::http::RestClient::plain()
        .request(url, "GET", path, None, Duration::from_secs(2))
        .await
        .map(|r| r.status)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
// The guard only orders this test binary's tests, each on its own thread.
#[allow(clippy::await_holding_lock)]
async fn patroni_bootstraps_a_cluster_that_habench_finds_and_sigterm_leaves_no_process() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut args = vec!["--sync-mode", "on"];
    args.extend(FAST);
    let (mut guard, json) = up_patroni(&args);
    let engine = &json["engine"];
    assert_eq!(engine["engine"], "patroni+etcd", "{json}");
    assert_eq!(engine["timing"]["loop_wait"], 1);
    let nodes = json["nodes"].as_array().unwrap();
    let roles: Vec<&str> = nodes.iter().map(|n| n["role"].as_str().unwrap()).collect();
    assert_eq!(roles.iter().filter(|r| **r == "primary").count(), 1, "{roles:?}");
    assert_eq!(roles.iter().filter(|r| **r == "standby").count(), 2, "{roles:?}");
    // Patroni's REST API agrees: /primary answers 200 on the leader only (what HAProxy checks).
    let mut leaders = Vec::new();
    for pair in engine["rest_urls"].as_array().unwrap() {
        if rest(pair[1].as_str().unwrap(), "/primary").await == 200 {
            leaders.push(pair[0].as_str().unwrap().to_string());
        }
    }
    let primary = nodes.iter().find(|n| n["role"] == "primary").unwrap()["name"].as_str().unwrap();
    assert_eq!(leaders, vec![primary.to_string()]);
    // The write endpoint reaches the leader; one replica confirms commits.
    let cfg: tokio_postgres::Config = json["write_dsn"].as_str().unwrap().parse().unwrap();
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let sync: i64 = client
        .query_one("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sync, 1);
    drop(client);

    let group = cgroup_of(&json);
    let pids = habench::pg::cgroup::Group::pids_under(&group);
    assert!(pids.len() >= 10, "etcd, 3 Patronis and their servers: {pids:?}");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(guard.0.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let status = guard.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    wait_until("every process of the cluster gone", Duration::from_secs(10), || alive(&pids).is_empty());
    assert!(!group.exists(), "cgroup {} left", group.display());
    assert!(!Path::new(json["dir"].as_str().unwrap()).exists());
}

#[test]
fn a_cluster_dies_with_a_killed_habench_and_clean_sweeps_its_directory() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut args = vec!["--nodes", "2"];
    args.extend(FAST);
    let (mut guard, json) = up_patroni(&args);
    let group = cgroup_of(&json);
    let pids = habench::pg::cgroup::Group::pids_under(&group);
    assert!(pids.len() >= 6, "{pids:?}");
    guard.0.kill().unwrap(); // SIGKILL: habench gets no chance to clean up
    guard.0.wait().unwrap();
    // Patroni's postgres is not habench's child: the janitor's cgroup.kill takes it.
    wait_until("every process of the cluster gone", Duration::from_secs(10), || alive(&pids).is_empty());
    wait_until("the cgroup removed", Duration::from_secs(10), || !group.exists());
    let out = habench().args(["topology", "clean"]).output().unwrap();
    assert!(out.status.success());
    assert!(!Path::new(json["dir"].as_str().unwrap()).exists(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// Runs `habench run quick` on a Patroni cluster and returns its summary.
fn run(tag: &str, args: &[&str]) -> serde_json::Value {
    let root = common::TempDir::new("patroni", tag);
    let out = root.join("results");
    let status = habench()
        .args(["run", "quick", "--topology", "patroni", "--rate", "100", "--warmup", "1s", "--quiet"])
        .args(args)
        .args(["--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "habench run {args:?}: {status:?}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(out.join("report.html").exists());
    summary
}

fn only_trial(summary: &serde_json::Value) -> &serde_json::Value {
    let trials = summary["failover"]["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 1, "{summary}");
    &trials[0]
}

fn assert_nothing_lost(summary: &serde_json::Value) {
    let check = &summary["check"];
    assert_eq!(check["lost"], 0, "{check}");
    assert_eq!(check["duplicated"], 0, "{check}");
    assert_eq!(check["valid"], true, "{check}");
    assert!(check["acknowledged"].as_u64().unwrap() > 500, "{check}");
}

fn events(trial: &serde_json::Value, kind: &str) -> Vec<serde_json::Value> {
    trial["events"].as_array().unwrap().iter().filter(|e| e["event"] == kind).cloned().collect()
}

#[test]
fn a_node_crash_under_load_fails_over_inside_the_predicted_band_with_nothing_lost() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut args = vec!["--sync-mode", "on", "--duration", "30s", "--fault", "crash-primary@3s"];
    args.extend(FAST);
    let summary = run("crash", &args);
    assert_nothing_lost(&summary);
    let t = only_trial(&summary);
    let band = &t["band"];
    assert_eq!((band["lo_ms"].as_f64(), band["hi_ms"].as_f64()), (Some(19_000.0), Some(24_000.0)), "{band}");
    assert_eq!(band["inside"], true, "RTO {} outside {band}", t["rto_ms"]);
    // The engine's phases: the key expires (detected), another node promotes on a new timeline.
    assert!(t["detected_ms"].as_f64().unwrap() > 15_000.0, "{t}");
    assert_ne!(t["promoted_node"], t["target"], "{t}");
    assert!(t["endpoint_ready_ms"].as_f64().unwrap() >= t["promoted_ms"].as_f64().unwrap(), "{t}");
}

#[test]
fn a_switchover_through_patrons_rest_api_moves_the_leader_with_nothing_lost() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut args = vec!["--sync-mode", "on", "--duration", "12s", "--fault", "switchover@3s"];
    args.extend(FAST);
    let summary = run("switchover", &args);
    assert_nothing_lost(&summary);
    let t = only_trial(&summary);
    let injected = &events(t, "injected")[0];
    assert!(injected["detail"].as_str().unwrap().contains("POST /switchover"), "{injected}");
    assert_ne!(t["promoted_node"], t["target"], "{t}");
    assert_eq!(t["band"]["inside"], true, "RTO {} outside {}", t["rto_ms"], t["band"]);
}

#[test]
fn a_partitioned_primary_loses_its_key_and_a_replica_takes_over_with_nothing_lost() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut args = vec!["--sync-mode", "on", "--duration", "32s", "--fault", "partition-primary@3s:24s"];
    args.extend(FAST);
    let summary = run("partition", &args);
    assert_nothing_lost(&summary);
    let t = only_trial(&summary);
    // Cut from the DCS, the old leader cannot renew its key: a replica takes over at expiry.
    assert_ne!(t["promoted_node"], t["target"], "{t}");
    let promoted = t["promoted_ms"].as_f64().unwrap();
    assert!((18_000.0..24_000.0).contains(&promoted), "promoted at the key's expiry (ttl 20): {t}");
    assert_eq!(events(t, "resumed").len(), 1, "{t}");
    assert_eq!(t["band"]["inside"], true, "RTO {} outside {}", t["rto_ms"], t["band"]);
}

#[test]
fn a_dcs_outage_demotes_the_primary_without_failsafe_and_not_with_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let base = ["--sync-mode", "on", "--duration", "18s", "--fault", "dcs-outage@3s:8s"];
    let mut on = base.to_vec();
    on.extend(FAST);
    on.extend(["--engine-set", "failsafe_mode=true"]);
    let with = run("dcs-failsafe", &on);
    assert_nothing_lost(&with);
    let t = only_trial(&with);
    assert!(events(t, "detected").is_empty(), "failsafe: the leader stays: {t}");
    assert!(t["rto_ms"].as_f64().unwrap() < 3_000.0, "{t}");
    assert_eq!(t["band"]["inside"], true, "{}", t["band"]);

    let mut off = base.to_vec();
    off.extend(FAST);
    let without = run("dcs-nofailsafe", &off);
    assert_nothing_lost(&without);
    let t = only_trial(&without);
    assert!(!events(t, "detected").is_empty(), "without failsafe the leader demotes: {t}");
    // The leader demotes 3-7 s into the 8 s outage: writes stop while the DCS is still out and
    // come back only after it is back (a late demotion leaves a gap of little more than 2 s).
    let resumed = events(t, "resumed")[0]["at_ms"].as_f64().unwrap();
    let (before, after) = (t["last_ack_before_ms"].as_f64().unwrap(), t["first_ack_after_ms"].as_f64().unwrap());
    assert!(before < resumed && after > resumed, "the DCS alone caused a write outage: {t}");
    assert!(t["rto_ms"].as_f64().unwrap() > 1_000.0, "{t}");
    assert_eq!(t["band"]["inside"], true, "RTO {} outside {}", t["rto_ms"], t["band"]);
}

/// Every node and etcd member a host of its own (`--net namespaces`): the leader cut from the
/// three etcd members only (its replicas and clients still reach it). Without failsafe it
/// demotes once it cannot renew its key and a replica takes over at the key's expiry; nothing
/// lost (synchronous mode on). (With failsafe it keeps leading: measured by
/// `scripts/netns-patroni-reference.sh`, kept out of CI for its time.)
#[test]
fn a_leader_cut_from_the_dcs_demotes_without_failsafe_and_a_replica_takes_over() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let base = ["--sync-mode", "on", "--nodes", "3", "--dcs-members", "3", "--net", "namespaces", "--duration", "32s"];
    let fault = ["--fault", "partition@3s:24s=leader-from-dcs"];
    let mut off: Vec<&str> = base.iter().chain(&fault).copied().collect();
    off.extend(FAST);
    let without = run("leader-from-dcs", &off);
    assert_nothing_lost(&without);
    let t = only_trial(&without);
    let injected = &events(t, "injected")[0];
    let leader = t["target"].as_str().unwrap();
    assert_eq!(injected["detail"], format!("dropped: {leader} x e1, {leader} x e2, {leader} x e3"), "{t}");
    // It stops being a writable leader after retry_timeout (3 s) and a loop or two; a replica
    // holds the key once it expires (ttl 20 s), while the cut still lasts.
    let demoted = events(t, "detected")[0]["at_ms"].as_f64().unwrap();
    assert!((2_000.0..12_000.0).contains(&demoted), "{t}");
    assert_ne!(t["promoted_node"], t["target"], "{t}");
    let promoted = t["promoted_ms"].as_f64().unwrap();
    assert!((17_000.0..23_000.0).contains(&promoted), "at the key's expiry: {t}");
    assert!(promoted < events(t, "resumed")[0]["at_ms"].as_f64().unwrap(), "while the cut lasted: {t}");
    assert_eq!(without["two_primaries"]["acked"], 0, "{}", without["two_primaries"]);
    // Each server by its node and its own address on the network.
    let names = without["two_primaries"]["names"].as_array().unwrap();
    assert!(names.iter().all(|n| n.as_str().unwrap().contains(" at 10.213.")), "{names:?}");
}

#[test]
fn an_existing_cluster_is_discovered_and_broken_through_its_files_commands() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = common::TempDir::new("patroni", "external");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cluster.toml");
    let mut args = vec!["--sync-mode", "on", "--cluster-file", file.to_str().unwrap()];
    args.extend(FAST);
    // Another habench process runs the cluster; this one only knows the file.
    let (_owner, json) = up_patroni(&args);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("[nodes.commands]") && text.contains("[dcs]"), "{text}");
    let out = dir.join("results");
    let status = habench()
        .args(["run", "quick", "--cluster", file.to_str().unwrap(), "--rate", "100", "--warmup", "1s"])
        .args(["--duration", "12s", "--fault", "pause-primary@3s:4s", "--quiet", "--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_nothing_lost(&summary);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let cluster = &manifest["cluster"];
    let primaries: Vec<&serde_json::Value> = cluster["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["role"].as_str().unwrap().starts_with("primary"))
        .collect();
    assert_eq!(primaries.len(), 1, "{cluster}");
    assert_eq!(cluster["engine"]["timing"]["ttl"], 20, "the timings are read from the cluster's DCS: {cluster}");
    let t = only_trial(&summary);
    assert_eq!(events(t, "injected")[0]["detail"], "commands.pause ran", "{t}");
    assert_eq!(events(t, "resumed").len(), 1, "{t}");
    assert_eq!(t["band"]["inside"], true, "RTO {} outside {}", t["rto_ms"], t["band"]);
    // The cluster is untouched by the run's end: the owner still has all three nodes.
    let rest = json["engine"]["rest_urls"][0][1].as_str().unwrap();
    let client = habench::patroni::http::RestClient::plain();
    let view = client.request(rest, "GET", "/cluster", None, Duration::from_secs(2));
    let members = tokio::runtime::Runtime::new().unwrap().block_on(view).unwrap().json().unwrap();
    assert_eq!(members["members"].as_array().unwrap().len(), 3, "{members}");
}

#[test]
fn a_missing_engine_names_the_install_command_and_patronis_refusals_are_shown() {
    let empty = common::TempDir::new("patroni", "noengine");
    std::fs::create_dir_all(&empty).unwrap();
    let out = habench()
        .args(["topology", "up", "patroni"])
        .env("PATH", "/bin")
        .env("HABENCH_HA_VENV", empty.to_str().unwrap())
        .env_remove("HABENCH_HA_BIN")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("`patroni` was not found") && err.contains("scripts/install-ha-engines.sh"), "{err}");

    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = habench().args(["topology", "up", "patroni", "--engine-set", "ttl=abc"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("--engine-set: Patroni refuses the configuration: bootstrap.dcs.ttl abc"), "{err}");

    let out = habench().args(["topology", "up", "patroni", "--engine-set", "ttl=10"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ttl 10 didn't pass validation") && err.contains("ttl=10 can't be smaller than 20"), "{err}");

    let out = habench().args(["topology", "up", "patroni", "--engine-set", "tll=20"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a key of Patroni's dynamic configuration"));
    let out = habench().args(["run", "quick", "--topology", "patroni", "--fault", "slow-link@1s:1s"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--fault: slow-link acts on replication links between standbys"), "{err}");
    let out = habench()
        .args(["run", "quick", "--topology", "patroni", "--fault", "partition-primary@1s:1s"])
        .args(["--engine-set", "failsafe_mode=true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("partition-primary with failsafe_mode on") && err.contains("incomplete"), "{err}");
    let out = habench().args(["run", "quick", "--topology", "sync", "--fault", "dcs-outage@1s:1s"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --topology patroni"));
    // A cluster file without the command a fault needs is refused before anything runs.
    let file = empty.join("cluster.toml");
    std::fs::write(&file, "[[nodes]]\nname = \"n1\"\ndsn = \"host=127.0.0.1 port=1 user=u\"\n").unwrap();
    let out = habench()
        .args(["run", "quick", "--cluster", file.to_str().unwrap(), "--fault", "crash-primary@1s"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--fault: crash-primary needs `commands.crash` on every node") && err.contains("node n1"),
        "{err}"
    );
}

/// Every file below `dir`, read as text (lossy).
fn all_text_below(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(all_text_below(&e.path()));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned();
            out.push((e.path().display().to_string(), text));
        }
    }
    out
}

#[test]
fn a_cluster_with_its_rest_api_over_tls_and_auth_is_switched_over_and_crashed_through_a_cluster_file() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = common::TempDir::new("patroni", "rest-tls");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cluster.toml");
    let mut args = vec!["--rest-tls", "--sync-mode", "on", "--cluster-file", file.to_str().unwrap()];
    args.extend(FAST);
    let (_owner, json) = up_patroni(&args);
    let text = std::fs::read_to_string(&file).unwrap();
    let password = text.lines().find_map(|l| l.strip_prefix("password = ")).unwrap().trim_matches('"').to_string();
    let ca = text.lines().find_map(|l| l.strip_prefix("ca_file = ")).unwrap().trim_matches('"').to_string();
    let key = std::fs::read_to_string(std::path::Path::new(&ca).with_file_name("node.key")).unwrap();
    let key_body = key.lines().nth(1).unwrap().to_string();
    let rest = json["engine"]["rest_urls"][0][1].as_str().unwrap().to_string();
    assert!(rest.starts_with("https://127.0.0.1:"), "{json}");
    // The unsafe endpoints want the basic auth: without it, Patroni says 401.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ca_only = habench::patroni::http::RestAccess { ca_file: Some(ca.clone().into()), ..Default::default() };
    let client = habench::patroni::http::RestClient::new(&ca_only).unwrap();
    let body = serde_json::json!({});
    let r = rt.block_on(client.request(&rest, "POST", "/switchover", Some(&body), Duration::from_secs(5))).unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    // Plain HTTP to the TLS port gets no answer from Patroni.
    let plain = rest.replace("https://", "http://");
    assert!(rt
        .block_on(habench::patroni::http::RestClient::plain().request(
            &plain,
            "GET",
            "/patroni",
            None,
            Duration::from_secs(2)
        ))
        .map_or(true, |r| r.status != 200));

    let out = dir.join("results");
    let o = habench()
        .args(["run", "quick", "--cluster", file.to_str().unwrap(), "--rate", "100", "--warmup", "1s"])
        .args(["--duration", "40s", "--fault", "switchover@2s", "--fault", "crash-primary@12s"])
        .args(["--json", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_nothing_lost(&summary);
    let trials = summary["failover"]["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 2, "{summary}");
    assert!(summary["failover"].get("failed_faults").is_none(), "{summary}");
    assert!(
        events(&trials[0], "injected")[0]["detail"].as_str().unwrap().starts_with("POST /switchover"),
        "{trials:?}"
    );
    for t in trials {
        assert!(t["rto_ms"].as_f64().is_some() && !events(t, "promoted").is_empty(), "{t}");
    }
    // The password and the key are used, never shown.
    let mut outputs = all_text_below(&out);
    outputs.push(("stdout".into(), stdout.into_owned()));
    outputs.push(("stderr".into(), stderr.into_owned()));
    for (name, text) in &outputs {
        assert!(!text.contains(&password), "the REST password is in {name}");
        assert!(!text.contains(&key_body), "the key is in {name}");
    }
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"password\": \"***\""), "the manifest says a password is set, not which");
}
