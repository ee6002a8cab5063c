//! What habench itself costs: recording a sample, rotating an interval, a ledger row, the
//! checker over 1,000,000 messages, writing an hlog interval.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use habench::measure::{Op, Recorders, Stats};
use habench::runner::ledger::{Event, LedgerEntry};
use habench::store::LedgerSummary;
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
            };
            let row = habench::export::ledger_csv::row(&e);
            summary.add(&e);
            row.len()
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

criterion_group!(benches, record, ledger, checker, hlog);
criterion_main!(benches);
