//! Operations on one node: kill the postmaster, crash the instance, pause and resume, stop.

mod common;

use std::time::Duration;

use habench::pg::procs;
use habench::topology::{AnyTopology, TopologyKind, TopologySpec};

async fn single() -> AnyTopology {
    AnyTopology::up(common::env(), TopologySpec::new(TopologyKind::Single)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_postmaster_alone_takes_its_backends_down_soon_after() {
    let mut topo = single().await;
    let t = topo.as_topology_mut();
    let procs = common::server_processes(t);
    let node = &mut t.nodes_mut()[0];
    assert!(node.kill_postmaster().await.is_some());
    assert!(!node.is_running());
    // Backends notice the postmaster's death on their own.
    common::assert_all_gone(&procs);
    // And the same data directory starts again at once (no zombie holds the lock file).
    node.start().await.expect("restart after kill");
    assert!(node.log_text_since_start().contains("database system was interrupted"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_kills_every_process_of_the_instance_at_once() {
    let mut topo = single().await;
    let t = topo.as_topology_mut();
    let procs = common::server_processes(t);
    let killed = t.nodes_mut()[0].crash().await;
    // postmaster, checkpointer, background writer, walwriter, autovacuum and logical launchers
    assert!(killed >= 6, "{killed} processes killed");
    // crash() returns once they are gone: no polling needed here.
    assert!(procs.iter().all(|p| !p.is_running()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_node_hangs_its_clients_and_resumes_intact() {
    let mut topo = single().await;
    let node = &mut topo.as_topology_mut().nodes_mut()[0];
    common::insert_rows(node, 0..3).await;
    let client = node.connect().await.unwrap();
    node.pause();
    let pm = node.pid().unwrap();
    // SIGSTOP takes effect asynchronously; a backend that was exiting may vanish instead.
    common::poll("every process of the instance stopped", Duration::from_secs(5), || async {
        let mut all = procs::descendants(pm);
        all.push(procs::ProcId::of(pm).unwrap());
        all.iter().all(|p| procs::stat(p.pid).is_none_or(|s| s.state == 'T' || s.state == 'Z')).then_some(())
    })
    .await;
    let hung = tokio::time::timeout(Duration::from_millis(300), client.query_one("SELECT 1", &[])).await;
    assert!(hung.is_err(), "a query to a paused node must hang");
    node.resume();
    let row = tokio::time::timeout(Duration::from_secs(10), client.query_one("SELECT count(*) FROM t", &[]))
        .await
        .expect("answer after resume")
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_and_start_report_role_and_lsn() {
    let mut topo = single().await;
    let node = &mut topo.as_topology_mut().nodes_mut()[0];
    let lsn1 = node.current_lsn().await.unwrap();
    common::insert_rows(node, 0..50).await;
    let lsn2 = node.current_lsn().await.unwrap();
    assert!(lsn2 > lsn1);
    assert_eq!(node.replayed_lsn().await.unwrap(), node.current_lsn().await.unwrap());
    node.stop().await.unwrap();
    assert_eq!(node.live_role().await, "down");
    let ready = node.start().await.unwrap();
    assert!(ready < Duration::from_secs(60));
    assert_eq!(node.live_role().await, "primary");
    assert!(node.log_path().is_file());
}
