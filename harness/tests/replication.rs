//! Streaming replicas: data reaches every standby, sync states match the configuration,
//! promotion works and the other standbys follow, log shipping delivers.

mod common;

use std::time::Duration;

use habench::topology::{AnyTopology, Quorum, RepointMethod, SyncCommit, Topology, TopologyKind, TopologySpec};

async fn sync_states(topo: &dyn Topology) -> Vec<(String, String)> {
    let client = topo.primary().connect().await.unwrap();
    let rows = client
        .query("SELECT application_name, sync_state FROM pg_stat_replication ORDER BY application_name", &[])
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

async fn replicated(spec: TopologySpec) -> habench::topology::Replicated {
    match AnyTopology::up(common::env(), spec).await.expect("bring-up") {
        AnyTopology::Replicated(r) => r,
        other => panic!("not a replicated topology: {other:?}"),
    }
}

async fn assert_row_reaches_every_standby(topo: &habench::topology::Replicated) {
    common::insert_rows(topo.primary(), 0..10).await;
    for standby in topo.standbys() {
        common::poll(&format!("10 rows on {}", standby.name()), Duration::from_secs(20), || async {
            (common::count_rows(standby).await == Some(10)).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn first_1_of_2_has_one_sync_and_one_potential_standby_with_every_row() {
    let topo = replicated(TopologySpec::new(TopologyKind::Sync).with_standbys(2)).await;
    assert_eq!(sync_states(&topo).await, pairs(&[("s1", "sync"), ("s2", "potential")]));
    let ssn = topo.primary().query_text("SHOW synchronous_standby_names").await.unwrap();
    assert_eq!(ssn.as_deref(), Some("FIRST 1 (s1, s2)"));
    assert_row_reaches_every_standby(&topo).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn any_1_of_2_puts_both_standbys_in_the_quorum_with_the_commit_level_applied() {
    let spec = TopologySpec::new(TopologyKind::Sync)
        .with_standbys(2)
        .with_quorum(Quorum::Any, 1)
        .with_sync_commit(SyncCommit::RemoteApply);
    let topo = replicated(spec).await;
    assert_eq!(sync_states(&topo).await, pairs(&[("s1", "quorum"), ("s2", "quorum")]));
    let level = topo.primary().query_text("SHOW synchronous_commit").await.unwrap();
    assert_eq!(level.as_deref(), Some("remote_apply"));
    // remote_apply: once the commit returns, the row is visible on the standby that confirmed.
    assert_row_reaches_every_standby(&topo).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn async_standbys_report_async_and_settings_pass_through() {
    let spec = TopologySpec::new(TopologyKind::Async).with_standbys(2).with_setting("work_mem", "7MB");
    let topo = replicated(spec).await;
    assert_eq!(sync_states(&topo).await, pairs(&[("s1", "async"), ("s2", "async")]));
    for node in topo.nodes() {
        assert_eq!(node.query_text("SHOW work_mem").await.unwrap().as_deref(), Some("7MB"), "{}", node.name());
    }
    assert_row_reaches_every_standby(&topo).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_promoted_sync_standby_takes_writes_and_the_other_standby_follows_it() {
    let mut topo = replicated(TopologySpec::new(TopologyKind::Sync).with_standbys(2)).await;
    common::insert_rows(topo.primary(), 0..5).await;
    let old_lsn = topo.primary().current_lsn().await.unwrap();
    let killed = topo.node_mut("primary").unwrap().kill_postmaster().await;
    assert!(killed.is_some());

    let promotion = topo.promote("s1", true).await.expect("promotion");
    assert_eq!(topo.primary().name(), "s1");
    assert!(!topo.primary().in_recovery().await.unwrap());
    assert!(topo.primary().current_lsn().await.unwrap() > old_lsn);
    assert_eq!(promotion.followers.len(), 1);
    assert_eq!(promotion.followers[0].name, "s2");
    assert_ne!(promotion.followers[0].method, RepointMethod::Recloned, "s2 had no extra WAL: {promotion:?}");

    // The new primary names s2 as its synchronous standby, so this write needs s2 to follow.
    common::insert_rows(topo.primary(), 5..10).await;
    assert_eq!(sync_states(&topo).await, pairs(&[("s2", "sync")]));
    let s2 = topo.node("s2").unwrap();
    common::poll("10 rows on s2 via the new primary", Duration::from_secs(20), || async {
        (common::count_rows(s2).await == Some(10)).then_some(())
    })
    .await;

    // The old primary comes back as a standby of the new one.
    let method = topo.repoint("primary").await.expect("old primary rejoins");
    assert_ne!(method, RepointMethod::Failed);
    assert!(topo.node("primary").unwrap().in_recovery().await.unwrap());
    let states = sync_states(&topo).await;
    assert!(states.iter().any(|(n, _)| n == "primary"), "{states:?}");
    // Whatever the method, the proof is the data: a row written now reaches the old primary.
    common::insert_rows(topo.primary(), 10..12).await;
    let old = topo.node("primary").unwrap();
    common::poll("12 rows on the old primary, now a standby", Duration::from_secs(20), || async {
        (common::count_rows(old).await == Some(12)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn promoting_while_the_primary_runs_is_refused() {
    let mut topo = replicated(TopologySpec::new(TopologyKind::Async).with_standbys(1)).await;
    let err = topo.promote("s1", true).await.unwrap_err().to_string();
    assert!(err.contains("still runs"), "{err}");
    assert!(topo.node("s1").unwrap().in_recovery().await.unwrap(), "s1 was left a standby");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_shipping_standby_receives_a_row_after_the_archive_timeout() {
    let topo = replicated(TopologySpec::new(TopologyKind::LogShipping)).await;
    let dr = topo.node("dr").unwrap();
    assert!(dr.in_recovery().await.unwrap());
    let conninfo = dr.query_text("SHOW primary_conninfo").await.unwrap().unwrap_or_default();
    assert!(conninfo.is_empty(), "restore-only: no streaming connection, got `{conninfo}`");
    common::insert_rows(topo.primary(), 0..3).await;
    // archive_timeout is 1 s; the standby polls the archive every 200 ms.
    common::poll("3 rows on the DR standby", Duration::from_secs(30), || async {
        (common::count_rows(dr).await == Some(3)).then_some(())
    })
    .await;
    let archived = std::fs::read_dir(topo.archive_dir().unwrap()).unwrap().count();
    assert!(archived > 0, "segments in the archive");
}
