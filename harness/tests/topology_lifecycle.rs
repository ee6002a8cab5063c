//! Every topology comes up and goes down without leaving a server process behind.

mod common;

use habench::topology::{AnyTopology, TopologyKind, TopologySpec};

async fn up_and_down(spec: TopologySpec) {
    let kind = spec.kind;
    let mut topo = AnyTopology::up(common::env(), spec).await.expect("bring-up");
    let t = topo.as_topology_mut();
    assert_eq!(t.kind(), kind);
    let info = habench::topology::describe(t).await;
    assert_eq!(info.nodes.iter().filter(|n| n.role == "primary").count(), 1, "{info:?}");
    let procs = common::server_processes(t);
    let dir = t.dir().to_path_buf();
    assert!(dir.exists());
    drop(topo);
    common::assert_all_gone(&procs);
    assert!(!dir.exists(), "topology directory {} left behind", dir.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn single_comes_up_and_leaves_nothing_behind() {
    up_and_down(TopologySpec::new(TopologyKind::Single)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shared_disk_comes_up_with_one_active_and_one_passive_node() {
    let mut topo = AnyTopology::up(common::env(), TopologySpec::new(TopologyKind::SharedDisk)).await.unwrap();
    let info = habench::topology::describe(topo.as_topology_mut()).await;
    let roles: Vec<&str> = info.nodes.iter().map(|n| n.role.as_str()).collect();
    assert_eq!(roles, ["primary", "passive"]);
    assert_eq!(info.nodes[0].data_dir, info.nodes[1].data_dir, "one data directory for both nodes");
    assert!(info.write_dsn.contains("target_session_attrs=read-write"));
    let procs = common::server_processes(topo.as_topology_mut());
    drop(topo);
    common::assert_all_gone(&procs);
}

#[tokio::test(flavor = "multi_thread")]
async fn async_and_log_shipping_come_up_and_leave_nothing_behind() {
    up_and_down(TopologySpec::new(TopologyKind::Async).with_standbys(2)).await;
    up_and_down(TopologySpec::new(TopologyKind::LogShipping)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_test_body_still_tears_the_servers_down() {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = tokio::spawn(async move {
        let mut topo =
            AnyTopology::up(common::env(), TopologySpec::new(TopologyKind::Sync).with_standbys(1)).await.unwrap();
        tx.send(common::server_processes(topo.as_topology_mut())).unwrap();
        panic!("deliberate panic with the topology alive");
    });
    let err = handle.await.expect_err("the task panicked");
    assert!(err.is_panic());
    let procs = rx.recv().unwrap();
    assert!(procs.len() >= 8, "primary and standby with their children: {procs:?}");
    common::assert_all_gone(&procs);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pinned_node_runs_all_its_processes_on_its_cpus() {
    let mut spec = TopologySpec::new(TopologyKind::Sync).with_standbys(1);
    spec.pin.insert("s1".into(), vec![0]);
    let mut topo = AnyTopology::up(common::env(), spec).await.unwrap();
    for node in topo.as_topology_mut().nodes_mut() {
        let pm = node.pid().unwrap();
        let mut pids = vec![pm];
        pids.extend(habench::pg::procs::descendants(pm).iter().map(|p| p.pid));
        assert!(pids.len() > 3, "{}: postmaster and its children", node.name());
        for pid in pids {
            let cpus = habench::pg::procs::allowed_cpus(pid).unwrap_or_default();
            if node.name() == "s1" {
                assert_eq!(cpus, "0", "s1 process {pid}");
            } else {
                let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
                assert!(cores == 1 || cpus != "0", "the primary is not pinned (process {pid})");
            }
        }
    }
}
