//! Floor of the client stack: N connections running the calibration INSERT back to back with
//! nothing else (no recording, no ledger). `cargo run --release --example raw_insert -- DSN N SECS`
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dsn = args[1].clone();
    let n: usize = args[2].parse().unwrap();
    let secs: u64 = args[3].parse().unwrap();
    let threads: usize = args.get(4).map(|t| t.parse().unwrap()).unwrap_or(1);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let dsn = dsn.clone();
            std::thread::spawn(move || one_thread(dsn, n / threads, secs))
        })
        .collect();
    let total: f64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("{total} tps");
}

fn one_thread(dsn: String, n: usize, secs: u64) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let mut tasks = Vec::new();
        let end = Instant::now() + Duration::from_secs(secs);
        for _ in 0..n {
            let dsn = dsn.clone();
            tasks.push(tokio::spawn(async move {
                let (c, conn) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(conn);
                let st = c.prepare("INSERT INTO mbox.calib (payload) VALUES (repeat('x', $1::int))").await.unwrap();
                let mut k = 0u64;
                while Instant::now() < end {
                    c.execute(&st, &[&100i32]).await.unwrap();
                    k += 1;
                }
                k
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        total as f64 / secs as f64
    })
}
