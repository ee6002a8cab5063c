//! Prototype: the calibration INSERT over a minimal wire-protocol client (one task per
//! connection, trust auth). `cargo run --release --example lean_insert -- PORT N SECS [THREADS]`
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn msg(tag: u8, body: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    out.extend_from_slice(body);
}

async fn read_until_ready(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    loop {
        // Parse what we have.
        let mut off = 0;
        let mut ready = false;
        let mut err = None;
        while buf.len() - off >= 5 {
            let tag = buf[off];
            let len = i32::from_be_bytes(buf[off + 1..off + 5].try_into().unwrap()) as usize;
            if buf.len() - off < 1 + len {
                break;
            }
            match tag {
                b'Z' => ready = true,
                b'E' => err = Some(String::from_utf8_lossy(&buf[off + 5..off + 1 + len]).into_owned()),
                b'R' => {
                    let code = i32::from_be_bytes(buf[off + 5..off + 9].try_into().unwrap());
                    if code != 0 {
                        return Err(format!("auth {code}"));
                    }
                }
                _ => {}
            }
            off += 1 + len;
        }
        buf.drain(..off);
        if ready {
            return match err {
                Some(e) => Err(e),
                None => Ok(()),
            };
        }
        let mut chunk = [0u8; 8192];
        let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn conn(port: u16, end: Instant) -> u64 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.set_nodelay(true).unwrap();
    let mut startup = Vec::new();
    startup.extend_from_slice(&196608i32.to_be_bytes());
    for kv in ["user", "postgres", "database", "postgres", "application_name", "lean"] {
        startup.extend_from_slice(kv.as_bytes());
        startup.push(0);
    }
    startup.push(0);
    let mut out = Vec::new();
    out.extend_from_slice(&((startup.len() + 4) as i32).to_be_bytes());
    out.extend_from_slice(&startup);
    s.write_all(&out).await.unwrap();
    let mut buf = Vec::new();
    read_until_ready(&mut s, &mut buf).await.unwrap();
    // Parse "ins" with one int4 parameter.
    let mut out = Vec::new();
    let mut body = b"ins\0INSERT INTO mbox.calib (payload) VALUES (repeat('x', $1::int))\0".to_vec();
    body.extend_from_slice(&1i16.to_be_bytes());
    body.extend_from_slice(&23i32.to_be_bytes());
    msg(b'P', &body, &mut out);
    msg(b'S', &[], &mut out);
    s.write_all(&out).await.unwrap();
    read_until_ready(&mut s, &mut buf).await.unwrap();
    // Bind + Execute + Sync, prebuilt.
    let mut req = Vec::new();
    let mut bind = b"\0ins\0".to_vec();
    bind.extend_from_slice(&1i16.to_be_bytes());
    bind.extend_from_slice(&1i16.to_be_bytes());
    bind.extend_from_slice(&1i16.to_be_bytes());
    bind.extend_from_slice(&4i32.to_be_bytes());
    bind.extend_from_slice(&100i32.to_be_bytes());
    bind.extend_from_slice(&0i16.to_be_bytes());
    msg(b'B', &bind, &mut req);
    let mut exec = b"\0".to_vec();
    exec.extend_from_slice(&0i32.to_be_bytes());
    msg(b'E', &exec, &mut req);
    msg(b'S', &[], &mut req);
    let mut k = 0;
    while Instant::now() < end {
        s.write_all(&req).await.unwrap();
        read_until_ready(&mut s, &mut buf).await.unwrap();
        k += 1;
    }
    k
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args[1].parse().unwrap();
    let n: usize = args[2].parse().unwrap();
    let secs: u64 = args[3].parse().unwrap();
    let threads: usize = args.get(4).map(|t| t.parse().unwrap()).unwrap_or(1);
    let end = Instant::now() + Duration::from_secs(secs);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    let tasks: Vec<_> = (0..n / threads).map(|_| tokio::spawn(conn(port, end))).collect();
                    let mut t = 0;
                    for h in tasks {
                        t += h.await.unwrap();
                    }
                    t
                })
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("{} tps", total as f64 / secs as f64);
}
