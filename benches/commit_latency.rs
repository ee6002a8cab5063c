//! Commit latency per topology and operation, on embedded clusters (the same code as
//! `habench topology up`). Each group brings its topology up once and tears it down after,
//! also when a benchmark panics (the topology is dropped while unwinding).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use habench::pg::{EnvOptions, PgEnv};
use habench::topology::{AnyTopology, Quorum, SyncCommit, TopologyKind, TopologySpec};
use habench_workloads::messagebox::{install, HostSession, MessageBoxConfig, PublishSession};

static NEXT_ID: AtomicI64 = AtomicI64::new(1);

fn cases() -> Vec<(&'static str, TopologySpec)> {
    let sync = |n| TopologySpec::new(TopologyKind::Sync).with_standbys(n);
    [
        ("single", TopologySpec::new(TopologyKind::Single)),
        ("shared-disk", TopologySpec::new(TopologyKind::SharedDisk)),
        ("sync-first1-on", sync(1).with_sync_commit(SyncCommit::On)),
        ("sync-any1of2-on", sync(2).with_quorum(Quorum::Any, 1).with_sync_commit(SyncCommit::On)),
        ("sync-first1-remote_apply", sync(1).with_sync_commit(SyncCommit::RemoteApply)),
        ("async", TopologySpec::new(TopologyKind::Async).with_standbys(1)),
    ]
    .into_iter()
    .chain(patroni())
    .collect()
}

/// Patroni (3 nodes, synchronous mode on) when the engine is installed
/// (`scripts/install-ha-engines.sh`); said and skipped otherwise.
fn patroni() -> Option<(&'static str, TopologySpec)> {
    if let Err(e) = habench::patroni::EnginePrograms::find(None) {
        eprintln!("commit_latency: no patroni case: {e}");
        return None;
    }
    let mut spec = TopologySpec::new(TopologyKind::Patroni).with_sync_commit(SyncCommit::On);
    let engine = spec.engine.as_mut().expect("patroni spec");
    engine.sync_mode = habench::patroni::SyncMode::On;
    engine.engine_set.insert("loop_wait".into(), 1.into());
    Some(("patroni-sync-on", spec))
}

async fn connect(dsn: &str) -> tokio_postgres::Client {
    let cfg: tokio_postgres::Config = dsn.parse().expect("write dsn");
    habench::pg::conn::connect_config(&cfg, Duration::from_secs(10)).await.expect("connect")
}

fn commit_latency(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let env = PgEnv::discover(&EnvOptions::default()).expect("PostgreSQL binaries (see README)");
    let mb = MessageBoxConfig::default();
    for (name, spec) in cases() {
        let topo = rt.block_on(AnyTopology::up(env.clone(), spec)).expect("topology up");
        let dsn = topo.as_topology().write_dsn();
        let (publisher, host) = rt.block_on(async {
            let admin = connect(&dsn).await;
            install(&admin, &mb).await.expect("schema");
            let p = PublishSession::prepare(connect(&dsn).await, &mb).await.expect("prepare publish");
            let h = HostSession::prepare(connect(&dsn).await, "send", "bench-1").await.expect("prepare host");
            (p, h)
        });
        let mut group = c.benchmark_group(format!("commit_latency/{name}"));
        group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
        group.bench_function("publish", |b| {
            b.to_async(&rt).iter(|| async {
                let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                publisher.publish(id, "order", 2048, 0).await.expect("publish")
            })
        });
        group.bench_function("insert", |b| {
            b.to_async(&rt).iter(|| async { publisher.insert(100).await.expect("insert") })
        });
        group.bench_function("complete", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    // Untimed: publish and claim what is completed below.
                    for _ in 0..iters {
                        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                        publisher.publish(id, "order", 2048, 0).await.expect("publish");
                    }
                    let mut timed = Duration::ZERO;
                    let mut done = 0;
                    while done < iters {
                        let batch = host.dequeue(100).await.expect("dequeue");
                        assert!(!batch.is_empty(), "published messages are queued");
                        for d in &batch {
                            let t0 = Instant::now();
                            host.complete(d, 0).await.expect("complete");
                            timed += t0.elapsed();
                            done += 1;
                        }
                    }
                    timed
                })
            })
        });
        group.finish();
        drop(topo);
    }
}

criterion_group!(benches, commit_latency);
criterion_main!(benches);
