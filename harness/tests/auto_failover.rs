//! pg_auto_failover formations that habench starts: a monitor and three data nodes formed as
//! one primary and two secondaries, writable on the primary, replicating, and gone with every
//! process (monitor, keepers, their postgres) when the formation is dropped.

mod common;

use std::time::Duration;

use habench::autofailover::Formation;
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
    let f = Formation::up(common::env(), &names).await.expect("a formation");
    let view = f.view().await.expect("the monitor answers");
    assert!(view.is_formed(3), "{}", view.brief());
    let primary = view.primary().expect("a primary").clone();
    let standbys: Vec<u16> = view.nodes.iter().filter(|n| n.name != primary.name).map(|n| n.port).collect();
    assert_eq!(standbys.len(), 2, "{}", view.brief());

    // habench's clients reach the primary on 127.0.0.1 and write there.
    let c = conn::connect(primary.port, Duration::from_secs(5)).await.expect("the primary takes clients");
    c.batch_execute("CREATE TABLE af_probe (i int); INSERT INTO af_probe VALUES (42)").await.expect("a write");
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
