//! Shared-disk takeover: fence, start on the same data directory, crash recovery.

mod common;

use std::time::Duration;

use habench::topology::{AnyTopology, Topology, TopologyKind, TopologySpec};

async fn shared_disk() -> habench::topology::SharedDisk {
    match AnyTopology::up(common::env(), TopologySpec::new(TopologyKind::SharedDisk)).await.unwrap() {
        AnyTopology::SharedDisk(t) => t,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn takeover_after_sigkill_keeps_every_committed_row_and_reports_timings() {
    let mut topo = shared_disk().await;
    common::insert_rows(topo.active(), 0..200).await;
    let before = topo.active_mut().pid().unwrap();
    let old_procs = common::server_processes(&mut topo);
    topo.active_mut().kill_postmaster().await.expect("postmaster killed");

    let t = topo.takeover().await.expect("takeover");
    assert_eq!((t.from.as_str(), t.to.as_str()), ("node-a", "node-b"));
    assert!(t.fence <= t.ready && t.start <= t.ready, "{t:?}");
    // A crash needs redo; PostgreSQL logs how long it took.
    let recovery = t.recovery.expect("redo time in the server log");
    assert!(recovery <= t.start, "{t:?}");
    common::assert_all_gone(&old_procs);

    assert_eq!(topo.active().name(), "node-b");
    assert_ne!(topo.active_mut().pid(), Some(before));
    assert_eq!(common::count_rows(topo.active()).await, Some(200), "every committed row survived");
    let log = topo.active().log_text_since_start();
    assert!(log.contains("database system was interrupted"), "crash recovery ran:\n{log}");

    // The listener-style endpoint lands on the new active node.
    let cfg: tokio_postgres::Config = topo.write_dsn().parse().unwrap();
    let client = habench::pg::conn::connect_config(&cfg, Duration::from_secs(5)).await.unwrap();
    let port: i32 = client.query_one("SELECT current_setting('port')::int", &[]).await.unwrap().get(0);
    assert_eq!(port as u16, topo.active().port());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_active_node_is_fenced_before_the_passive_one_starts() {
    let mut topo = shared_disk().await;
    common::insert_rows(topo.active(), 0..10).await;
    topo.active_mut().pause();
    let frozen = common::server_processes(&mut topo);
    let t = topo.takeover().await.expect("takeover of a hung node");
    assert!(t.fenced_processes >= 5, "{t:?}");
    common::assert_all_gone(&frozen);
    assert_eq!(common::count_rows(topo.active()).await, Some(10));
    // And back again: node-a takes over from node-b.
    let back = topo.takeover().await.unwrap();
    assert_eq!(back.to, "node-a");
    assert_eq!(common::count_rows(topo.active()).await, Some(10));
}
