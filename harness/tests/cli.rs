//! The `habench` binary: `topology up` prints one JSON line and tears down on a signal; bad flags
//! get errors that name the flag; leftovers of a killed run are swept.

mod common;

use std::process::Stdio;
use std::time::Duration;

use habench::pg::procs::{self, ProcId};

use common::{habench, start_up, Guard};

fn server_pids(json: &serde_json::Value) -> Vec<ProcId> {
    let mut all = Vec::new();
    for n in json["nodes"].as_array().unwrap() {
        if let Some(pid) = n["pid"].as_u64() {
            let pid = pid as u32;
            all.push(ProcId::of(pid).unwrap());
            all.extend(procs::descendants(pid));
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn topology_up_prints_one_json_line_and_sigterm_tears_it_down() {
    let (mut guard, json) = start_up(&["sync", "--standbys", "2", "--quorum", "any", "--pg-set", "work_mem=5MB"]);
    assert_eq!(json["kind"], "sync");
    let nodes = json["nodes"].as_array().unwrap();
    let roles: Vec<&str> = nodes.iter().map(|n| n["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["primary", "standby", "standby"]);
    assert_eq!(json["read_dsns"].as_array().unwrap().len(), 2);
    for n in nodes {
        assert!(n["port"].as_u64().unwrap() < 32768, "listen ports stay below the ephemeral range");
        assert!(n["data_dir"].as_str().unwrap().ends_with("/data"));
    }

    let cfg: tokio_postgres::Config = json["write_dsn"].as_str().unwrap().parse().unwrap();
    let client = habench::pg::conn::connect_config(&cfg, Duration::from_secs(5)).await.unwrap();
    let row = client.query_one("SELECT pg_is_in_recovery(), current_setting('work_mem')", &[]).await.unwrap();
    assert!(!row.get::<_, bool>(0), "the write endpoint lands on the primary");
    assert_eq!(row.get::<_, String>(1), "5MB");
    drop(client);

    let procs = server_pids(&json);
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(guard.0.id() as i32), nix::sys::signal::Signal::SIGTERM);
    let status = common::wait_exit(&mut guard.0, Duration::from_secs(30));
    assert!(status.success(), "{status}");
    common::assert_all_gone(&procs);
}

fn expect_usage_error(args: &[&str], needle: &str) {
    let out = habench().args(["topology", "up"]).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(stderr.contains(needle), "{args:?}: stderr should mention {needle:?}:\n{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout for a bad command line");
}

#[test]
fn bad_flags_get_errors_that_name_the_flag() {
    expect_usage_error(&["sync", "--standbys", "9"], "--standbys");
    expect_usage_error(&["sync", "--standbys", "2", "--sync-count", "3"], "--sync-count");
    expect_usage_error(&["sync", "--sync-commit", "sometimes"], "remote_apply");
    expect_usage_error(&["single", "--standbys", "1"], "no standbys");
    expect_usage_error(&["async", "--quorum", "any"], "--quorum");
    expect_usage_error(&["single", "--pg-set", "shared_buffers"], "NAME=VALUE");
    expect_usage_error(&["cluster"], "shared-disk");
    expect_usage_error(&["single", "--pg-bin", "/nonexistent"], "no `postgres`");
    expect_usage_error(&["sync", "--net", "everywhere"], "namespaces");
    expect_usage_error(&["shared-disk", "--net", "namespaces"], "--net");
    expect_usage_error(&["single", "--net", "namespaces", "--client-link", "delay:5ms"], "sync and async");
}

/// Network faults are refused before anything starts where they cannot be laid, saying why.
#[test]
fn network_faults_name_what_they_need() {
    let refused = |args: &[&str], needle: &str| {
        let out = habench().args(["run", "--duration", "1s"]).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(stderr.contains(needle), "{args:?}: stderr should mention {needle:?}:\n{stderr}");
    };
    refused(&["--topology", "sync", "--fault", "partition@1s:2s=halves"], "--net namespaces");
    refused(&["--net", "namespaces", "--fault", "partition@1s:2s=halves"], "two nodes");
    refused(
        &["--topology", "sync", "--net", "namespaces", "--fault", "partition@1s:2s=leader-from-dcs"],
        "coordination service",
    );
    refused(
        &["--topology", "sync", "--net", "namespaces", "--fault", "partition@1s:2s=isolate:s9"],
        "primary, s1, clients",
    );
    refused(&["--topology", "sync", "--fault", "packet-loss@1s:2s"], "5%:standby");
}

#[test]
fn servers_die_with_a_killed_habench_and_clean_sweeps_what_it_left() {
    // A private work root: no other test's bring-up sweeps this run before `clean` does.
    let root = common::TempDir::new("sweep", "clean");
    let root_s = root.to_str().unwrap();
    let (mut guard, json) = start_up(&["single", "--work-dir", root_s]);
    let procs = server_pids(&json);
    let dir = json["dir"].as_str().unwrap().to_string();
    guard.0.kill().unwrap(); // SIGKILL: habench gets no chance to clean up
    guard.0.wait().unwrap();
    // The kernel kills the postmaster (parent-death signal); its children follow it.
    common::assert_all_gone(&procs);
    assert!(std::path::Path::new(&dir).exists(), "the directory is left for clean");

    let out = habench().args(["topology", "clean", "--work-dir", root_s]).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&dir), "clean names the swept directory:\n{stdout}");
    common::assert_all_gone(&procs);
    assert!(!std::path::Path::new(&dir).exists());
    std::fs::remove_dir_all(&root).unwrap();
}

/// Every postgres process whose command line names `root` (the run's private work root).
fn postgres_under(root: &str) -> Vec<ProcId> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("postgres") && cmdline.contains(root) {
            if let Some(p) = ProcId::of(pid) {
                out.push(p);
                out.extend(procs::descendants(pid));
            }
        }
    }
    out
}

#[test]
fn a_run_killed_with_sigkill_leaves_a_readable_incomplete_folder_and_no_server() {
    let root = common::TempDir::new("kill9", "sync");
    let out = root.join("results");
    let (root_s, out_s) = (root.to_str().unwrap(), out.to_str().unwrap());
    let child = habench()
        .args(["run", "quick", "--topology", "sync", "--standbys", "2", "--duration", "60s", "--warmup", "0s"])
        .args(["--quiet", "--work-dir", root_s, "--out", out_s])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut guard = Guard(child);
    // Wait for two measured intervals in the timeline (polled, not slept).
    common::poll_blocking("a measured interval in the timeline", Duration::from_secs(60), || {
        let rows = std::fs::read_to_string(out.join("timeline.csv")).map(|t| t.lines().count()).unwrap_or(0);
        (rows >= 3).then_some(())
    });
    let procs = postgres_under(root_s);
    assert!(procs.len() >= 3, "three servers and their children: {procs:?}");
    guard.0.kill().unwrap();
    guard.0.wait().unwrap();
    common::assert_all_gone(&procs);

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["complete"], false, "{summary}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["config"]["scenario"], "quick");
    let ledger = std::fs::read_to_string(out.join("ledger.csv")).unwrap();
    assert!(ledger.lines().count() > 10, "the ledger so far is on disk: {} lines", ledger.lines().count());
    // The interval log so far is readable: at least one interval per operation.
    let hlog = std::fs::read_to_string(out.join("latency.hlog")).unwrap();
    assert!(hlog.lines().any(|l| l.starts_with("Tag=publish,")), "hlog so far:\n{hlog}");
}
