//! What the link emulator adds at zero delay: ping-pong round trips of 100 bytes to a loopback
//! echo server, direct and through a zero-delay proxy, alternating in blocks; p50/p99/p999.
//!   cargo run --release --example link_overhead [ROUND_TRIPS]

use std::time::Instant;

use habench::link::{LinkProxy, LinkSpec};
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn echo_server() -> u16 {
    let l = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

async fn block(s: &mut TcpStream, n: usize, h: &mut Histogram<u64>) {
    let msg = [7u8; 100];
    let mut got = [0u8; 100];
    for _ in 0..n {
        let t0 = Instant::now();
        s.write_all(&msg).await.unwrap();
        s.read_exact(&mut got).await.unwrap();
        h.record(t0.elapsed().as_nanos() as u64).unwrap();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let echo = echo_server().await;
    let proxy = LinkProxy::start(echo, LinkSpec::default(), 1).await.unwrap();
    let mut direct = TcpStream::connect(("127.0.0.1", echo)).await.unwrap();
    let mut via = TcpStream::connect(("127.0.0.1", proxy.port())).await.unwrap();
    direct.set_nodelay(true).unwrap();
    via.set_nodelay(true).unwrap();
    let mut hd = Histogram::<u64>::new(3).unwrap();
    let mut hp = Histogram::<u64>::new(3).unwrap();
    block(&mut direct, 1000, &mut Histogram::new(3).unwrap()).await; // warm-up
    block(&mut via, 1000, &mut Histogram::new(3).unwrap()).await;
    for _ in 0..total / 1000 {
        block(&mut direct, 500, &mut hd).await;
        block(&mut via, 500, &mut hp).await;
    }
    let us = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!("round trips per path: {}", hd.len());
    for (name, h) in [("direct", &hd), ("via proxy", &hp)] {
        println!("{name:>10}: p50 {:7.1} us  p99 {:7.1} us  p999 {:7.1} us", us(h, 0.5), us(h, 0.99), us(h, 0.999));
    }
    println!(
        "added by the proxy: p50 {:+.1} us, p99 {:+.1} us",
        us(&hp, 0.5) - us(&hd, 0.5),
        us(&hp, 0.99) - us(&hd, 0.99)
    );
}
