//! The library on its own: a synchronous group of three, its primary's postmaster killed, a
//! standby promoted, the old primary back as a standby; everything stopped when the group is
//! dropped. `cargo run --example failover_by_hand` (real servers; as root they run as
//! `postgres`).
use habench::pg::{EnvOptions, PgEnv};
use habench::topology::{AnyTopology, Quorum, SyncCommit, Topology, TopologyKind, TopologySpec};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = PgEnv::discover(&EnvOptions::default())?;
    let spec = TopologySpec::new(TopologyKind::Sync)
        .with_standbys(2)
        .with_quorum(Quorum::Any, 1)
        .with_sync_commit(SyncCommit::On)
        .with_setting("shared_buffers", "128MB");
    let AnyTopology::Replicated(mut group) = AnyTopology::up(env, spec).await? else {
        unreachable!("sync is a replicated topology")
    };
    let primary = group.node_mut("primary").expect("a primary");
    let role = primary.live_role().await;
    println!("primary ({role}), its log at {}", primary.log_path().display());
    let killed = primary.kill_postmaster().await; // a process crash
    println!("killed postmaster {killed:?}");
    let promotion = group.promote("s1", true).await?; // s2 follows, rewound if needed
    println!("s1 promoted: {promotion:?}");
    let method = group.repoint("primary").await?; // the old primary rejoins as a standby
    println!("the old primary rejoined by {method:?}");
    Ok(())
    // dropped here: every server stopped, the directory removed
}
