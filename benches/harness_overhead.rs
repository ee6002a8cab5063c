//! What habench itself costs: recording a sample, rotating an interval, a ledger row, the
//! checker over 1,000,000 messages, writing an hlog interval; and its whole client's CPU at
//! 5,000 inserts/s against pgbench's at the same rate on the same embedded server.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use habench::cli::{RunArgs, WorkloadArg};
use habench::measure::{Op, Recorders, Stats};
use habench::pg::{EnvOptions, PgEnv};
use habench::runner::ledger::{Event, LedgerEntry};
use habench::store::LedgerSummary;
use habench::topology::{AnyTopology, TopologyKind, TopologySpec};
use habench_workloads::checker::{check, DbState, LedgerIndex};
use habench_workloads::Outcome;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;

fn record(c: &mut Criterion) {
    let recorders = Recorders::new();
    let w = recorders.register();
    let mut x = 0u64;
    c.bench_function("overhead/record_sample", |b| {
        b.iter(|| {
            x = x.wrapping_add(7919) % 50_000;
            w.record(Op::Publish, Outcome::Ok, 500 + x);
        })
    });
    // 16 workers, each with a second's worth of samples, merged and cleared.
    let workers: Vec<_> = (0..16).map(|_| recorders.register()).collect();
    c.bench_function("overhead/interval_rotation_16_workers", |b| {
        b.iter_batched(
            || {
                for (i, w) in workers.iter().enumerate() {
                    for k in 0..300u64 {
                        w.record(Op::Publish, Outcome::Ok, 200 + k * (i as u64 + 1));
                    }
                }
            },
            |()| {
                let mut interval = Stats::default();
                recorders.drain_into(&mut interval);
                interval
            },
            BatchSize::SmallInput,
        )
    });
}

fn ledger(c: &mut Criterion) {
    let mut summary = LedgerSummary::new(2);
    let mut out = csv::WriterBuilder::new().has_headers(false).from_writer(std::io::sink());
    let mut id = 0i64;
    c.bench_function("overhead/ledger_append", |b| {
        b.iter(|| {
            id += 1;
            let e = LedgerEntry {
                at_us: 1_796_000_000_000_000 + id,
                event: Event::Publish,
                msg_id: id,
                subject: "order".into(),
                host: 0,
                instance: String::new(),
                outcome: Outcome::Ok,
                held: true,
                latency_us: 1234,
                attempts: 1,
                server_port: 5432,
                group: 0,
            };
            out.serialize(habench::export::ledger_csv::record(&e)).expect("ledger row");
            summary.add(&e);
        })
    });
}

/// A ledger and a surviving database of `n` messages over 2 hosts, everything delivered.
fn clean_run(n: i64) -> (LedgerIndex, DbState) {
    let mut l = LedgerIndex::new(2);
    let mut db = DbState::new(2);
    for id in 1..=n {
        l.record_publish(id, Outcome::Ok);
        l.record_finish(id, 0, Outcome::Ok, true);
        db.add_tracking(id, 0, 1);
        if id % 4 != 0 {
            l.record_finish(id, 1, Outcome::Ok, true);
            db.add_tracking(id, 1, 1);
        }
    }
    (l, db)
}

fn checker(c: &mut Criterion) {
    let (l, db) = clean_run(1_000_000);
    let mut g = c.benchmark_group("overhead");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("checker_1m_messages", |b| b.iter(|| check(&l, &db, true)));
    g.finish();
    drop((l, db));
    // Memory for 10,000,000 messages: reported once, not timed.
    let before = habench::sysinfo::rss_bytes().unwrap_or(0);
    let (l, db) = clean_run(10_000_000);
    let report = check(&l, &db, true);
    let after = habench::sysinfo::rss_bytes().unwrap_or(0);
    assert!(report.valid && report.acknowledged == 10_000_000);
    println!("overhead/checker_10m_messages: resident memory grew by {} MiB", after.saturating_sub(before) >> 20);
}

fn hlog(c: &mut Criterion) {
    let mut h = habench::measure::stats::new_histogram();
    for k in 0..5000u64 {
        h.record(300 + (k * 7919) % 40_000).expect("in range");
    }
    c.bench_function("overhead/hlog_interval_write", |b| {
        b.iter_batched(
            Vec::new,
            |mut out: Vec<u8>| {
                let mut ser = V2DeflateSerializer::new();
                let builder = IntervalLogWriterBuilder::new();
                let mut log = builder.begin_log_with(&mut out, &mut ser).expect("log");
                log.write_histogram(&h, Duration::ZERO, Duration::from_secs(1), Tag::new("publish")).expect("write");
                drop(log);
                out
            },
            BatchSize::SmallInput,
        )
    });
}

const RATE: u32 = 5000;
const CONNECTIONS: &str = "16";
const SECONDS: u64 = 8;

/// habench's client CPU per insert at 5,000/s (open loop, 16 connections, 2 client threads), from
/// the run's own `cpu.harness`, beside pgbench `-R 5000 -c 16 -j 2` with the identical INSERT on
/// the same server (its CPU from the reaped child). One line; not a criterion timing.
fn client_cpu_at_rate(_: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let env = PgEnv::discover(&EnvOptions::default()).expect("PostgreSQL binaries (see README)");
    let topo = rt.block_on(AnyTopology::up(env.clone(), TopologySpec::new(TopologyKind::Single))).expect("topology up");
    let port = topo.as_topology().primary().port();
    let dsn = habench::pg::conn::dsn(port);
    let out = std::env::temp_dir().join(format!("habench-bench-cpu-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let args = RunArgs {
        target_dsn: Some(dsn.clone()),
        workload: Some(WorkloadArg::Insert),
        rate: Some(RATE as f64),
        publishers: Some(16),
        threads: Some(2),
        duration: Some(Duration::from_secs(SECONDS)),
        warmup: Some(Duration::from_secs(2)),
        out: Some(out.clone()),
        quiet: true,
        ..Default::default()
    };
    rt.block_on(habench::commands::run_cmd::run(args)).expect("habench run");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary")).expect("json");
    let _ = std::fs::remove_dir_all(&out);
    let h = &s["cpu"]["harness"];
    let inserts = s["ops"]["insert"]["ok"].as_f64().unwrap_or(0.0);
    let h_us = h["cpu_s"].as_f64().unwrap_or(0.0) / inserts.max(1.0) * 1e6;

    // pgbench on the same, emptied table.
    rt.block_on(async {
        let c = habench::pg::conn::connect(port, Duration::from_secs(10)).await.expect("connect");
        c.batch_execute("TRUNCATE mbox.calib").await.expect("truncate");
    });
    let script = env.root.path().join(format!("bench-insert-{}.sql", std::process::id()));
    std::fs::write(&script, "\\set n 100\nINSERT INTO mbox.calib (payload) VALUES (repeat('x', :n));\n")
        .expect("script");
    let before = habench::measure::cpu::children_cpu_s();
    let pg = env
        .command("pgbench")
        .args(["-n", "-M", "prepared", "-h", "127.0.0.1", "-U", "postgres", "-c", CONNECTIONS, "-j", "2"])
        .args(["-p", &port.to_string(), "-R", &RATE.to_string(), "-T", &SECONDS.to_string()])
        .arg("-f")
        .arg(&script)
        .arg("postgres")
        .output()
        .expect("pgbench");
    let pg_cpu = habench::measure::cpu::children_cpu_s() - before;
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&pg.stdout);
    let tps: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("tps = ")?.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("pgbench said: {text}{}", String::from_utf8_lossy(&pg.stderr)));
    let pg_us = pg_cpu / (tps * SECONDS as f64) * 1e6;
    println!(
        "overhead/client_cpu_at_{RATE}_per_s: habench {h_us:.1} us CPU per insert ({:.3} cores, {:.1} % of the machine); \
         pgbench {pg_us:.1} us ({:.3} cores); habench/pgbench {:.2}",
        h["cores"].as_f64().unwrap_or(0.0),
        h["machine_share"].as_f64().unwrap_or(0.0) * 100.0,
        pg_cpu / SECONDS as f64,
        h_us / pg_us
    );
    drop(topo);
}

criterion_group!(benches, record, ledger, checker, hlog, client_cpu_at_rate);
criterion_main!(benches);
