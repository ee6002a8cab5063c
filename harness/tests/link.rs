//! The link emulator on its own (no servers): byte order kept under jitter, delay applied within
//! tolerance, blackhole holds bytes until healed, reset closes connections.

use std::time::{Duration, Instant};

use habench::link::{LinkProxy, LinkSpec, LinkState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An echo server on a free loopback port.
async fn echo_server() -> u16 {
    let l = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
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

async fn round_trip(s: &mut TcpStream, msg: &[u8]) -> Duration {
    let t0 = Instant::now();
    s.write_all(msg).await.unwrap();
    let mut got = vec![0u8; msg.len()];
    s.read_exact(&mut got).await.unwrap();
    assert_eq!(got, msg);
    t0.elapsed()
}

#[tokio::test(flavor = "multi_thread")]
async fn delay_is_applied_each_way_within_tolerance() {
    let echo = echo_server().await;
    let proxy = LinkProxy::start(echo, LinkSpec::parse("delay:20ms").unwrap(), 1).await.unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", proxy.port())).await.unwrap();
    s.set_nodelay(true).unwrap();
    let mut rtts: Vec<Duration> = Vec::new();
    for i in 0..10u8 {
        rtts.push(round_trip(&mut s, &[i; 100]).await);
    }
    rtts.sort();
    let (min, median) = (rtts[0], rtts[5]);
    assert!(min >= Duration::from_millis(40), "two 20 ms legs: min round trip {min:?}");
    // Generous: on two shared cores a loaded machine adds scheduling delay to every leg; what
    // matters is that the proxy does not add a second delay.
    assert!(median < Duration::from_millis(70), "not a second delay of its own: median {median:?}");
    // The delay can change while connections are open.
    proxy.set_spec(LinkSpec::parse("delay:5ms").unwrap());
    let rtt = round_trip(&mut s, b"x").await;
    // Shorter than before (two 20 ms legs were 40 ms), so the change took effect at once.
    assert!(rtt >= Duration::from_millis(10) && rtt < Duration::from_millis(40), "{rtt:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn byte_order_is_kept_under_jitter_and_a_bandwidth_limit() {
    let echo = echo_server().await;
    let spec = LinkSpec::parse("delay:3ms,jitter:3ms,bandwidth:50mbit").unwrap();
    let proxy = LinkProxy::start(echo, spec, 7).await.unwrap();
    let s = TcpStream::connect(("127.0.0.1", proxy.port())).await.unwrap();
    let (mut rd, mut wr) = s.into_split();
    const N: u32 = 5000;
    let writer = tokio::spawn(async move {
        for i in 0..N {
            wr.write_all(&i.to_be_bytes()).await.unwrap();
            if i % 100 == 0 {
                tokio::task::yield_now().await;
            }
        }
        wr
    });
    let t0 = Instant::now();
    let mut buf = [0u8; 4];
    for i in 0..N {
        rd.read_exact(&mut buf).await.unwrap();
        assert_eq!(u32::from_be_bytes(buf), i, "bytes came out of order");
    }
    drop(writer.await.unwrap());
    assert!(t0.elapsed() >= Duration::from_millis(6), "the delay applied");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blackholed_link_holds_bytes_until_it_heals_and_reset_closes_connections() {
    let echo = echo_server().await;
    let proxy = LinkProxy::start(echo, LinkSpec::default(), 3).await.unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", proxy.port())).await.unwrap();
    round_trip(&mut s, b"before").await;
    proxy.set_state(LinkState::Blackhole);
    s.write_all(b"during").await.unwrap();
    let mut got = [0u8; 6];
    let held = tokio::time::timeout(Duration::from_millis(300), s.read_exact(&mut got)).await;
    assert!(held.is_err(), "nothing crosses a partitioned link");
    // A new connection reaches nothing: it is closed at once.
    let mut cut = TcpStream::connect(("127.0.0.1", proxy.port())).await.unwrap();
    let mut one = [0u8; 1];
    let r = tokio::time::timeout(Duration::from_secs(5), cut.read(&mut one)).await.expect("closed, not hanging");
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    let healed_at = Instant::now();
    proxy.set_state(LinkState::Up);
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut got))
        .await
        .expect("delivered after healing")
        .unwrap();
    assert_eq!(&got, b"during");
    // Held bytes go at once on healing, not after a timeout (generous for a loaded machine).
    assert!(healed_at.elapsed() < Duration::from_secs(3));

    proxy.reset();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = s.write_all(b"after").await;
        s.read(&mut one).await
    })
    .await
    .expect("the reset connection ends");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    // New connections go through again.
    let mut again = TcpStream::connect(("127.0.0.1", proxy.port())).await.unwrap();
    round_trip(&mut again, b"again").await;
}
