//! What one MessageBox operation costs habench's client, without a server: encoding a publish
//! (2 KiB body) and a completion, and a whole round trip of each (encode, write, read, decode)
//! against a canned server on a Unix socket pair. A regression in the client's path shows here
//! before it shows in an MST. (Ledger appends: `harness_overhead`.)

use std::io::{Read, Write};
use std::os::unix::net::UnixStream as StdUnixStream;

use criterion::{criterion_group, criterion_main, Criterion};
use habench::pg::wire::{CallBuf, Param, WireConn};
use habench_workloads::messagebox::ops::fragments;

fn publish_params<'a>(parts: &'a [&'a [u8]], context: &'a str) -> [Param<'a>; 5] {
    [
        Param::Int8(42),
        Param::Text("order"),
        Param::Text(context),
        Param::ByteaArray(parts),
        Param::Int8(1_796_000_000_000_000),
    ]
}

const CONTEXT: &str = r#"{"type":"order","bytes":2048}"#;

fn encode(c: &mut Criterion) {
    let mut call = CallBuf::default();
    c.bench_function("client/encode_publish_2k", |b| {
        b.iter(|| {
            let parts = fragments(42, 2048, 100 * 1024);
            call.set("habench_publish", &publish_params(&parts, CONTEXT)).expect("encode").bytes().len()
        })
    });
    c.bench_function("client/encode_complete", |b| {
        b.iter(|| {
            let p = [Param::Int8(42), Param::Text("send-1"), Param::Int8(1234), Param::Int4(1)];
            call.set("habench_complete", &p).expect("encode").bytes().len()
        })
    });
}

/// A backend message: tag, length, body.
fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// BindComplete, `rows` data rows of `columns` integers, CommandComplete, ReadyForQuery.
fn reply(rows: usize, columns: usize) -> Vec<u8> {
    let mut out = message(b'2', &[]);
    for r in 0..rows {
        let mut row = (columns as i16).to_be_bytes().to_vec();
        for c in 0..columns {
            let v = format!("{}", 1_000_000 + r * 10 + c);
            row.extend_from_slice(&(v.len() as i32).to_be_bytes());
            row.extend_from_slice(v.as_bytes());
        }
        out.extend(message(b'D', &row));
    }
    out.extend(message(b'C', format!("SELECT {rows}\0").as_bytes()));
    out.extend(message(b'Z', b"I"));
    out
}

/// A server that answers every request (it ends with Sync) with `answer`, until the client goes.
fn canned_server(answer: Vec<u8>) -> StdUnixStream {
    let (client, mut server) = StdUnixStream::pair().expect("socket pair");
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let n = match server.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buf[..n]);
            // Each request ends with Sync ('S', length 4).
            while let Some(at) = pending.windows(5).position(|w| w == [b'S', 0, 0, 0, 4]) {
                pending.drain(..at + 5);
                if server.write_all(&answer).is_err() {
                    return;
                }
            }
        }
    });
    client
}

fn round_trip(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    for (name, answer, params) in [("publish_2k", reply(1, 1), true), ("dequeue_10_rows", reply(10, 3), false)] {
        let std_stream = canned_server(answer);
        std_stream.set_nonblocking(true).expect("nonblocking");
        let mut conn = rt.block_on(async {
            WireConn::over_unix(tokio::net::UnixStream::from_std(std_stream).expect("tokio stream"))
        });
        let mut call = CallBuf::default();
        c.bench_function(&format!("client/round_trip_{name}"), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let parts = fragments(42, 2048, 100 * 1024);
                    if params {
                        call.set("habench_publish", &publish_params(&parts, CONTEXT)).expect("encode");
                    } else {
                        call.set("habench_dequeue", &[Param::Int8(10), Param::Text("send-1")]).expect("encode");
                    }
                    conn.query_ints(&call).await.expect("reply").ints.len()
                })
            })
        });
    }
}

criterion_group!(benches, encode, round_trip);
criterion_main!(benches);
