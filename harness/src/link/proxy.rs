//! The link emulator: a TCP proxy on loopback that delays each direction (keeping byte order),
//! adds jitter, limits bandwidth, and can blackhole (hold everything, as a partition does until
//! TCP retransmits after it heals) or reset (close every connection) the link.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use habench_workloads::rng::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::link::spec::LinkSpec;

/// Whether bytes cross the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Up,
    /// Nothing crosses: bytes sent on open connections are held and delivered once the link is
    /// up again (as TCP retransmits after a partition heals); new connections are closed at once
    /// (unreachable: a client with several hosts moves on to the next).
    Blackhole,
}

/// How long a link dialing from a network host waits for its server: habench's clients' own
/// `connect_timeout` (a host that does not answer is given up as a client would give it up).
const DIAL_TIMEOUT: Duration = Duration::from_secs(2);

/// How the link reaches its upstream server.
#[derive(Debug, Clone)]
pub enum Dial {
    /// `127.0.0.1:port` on this machine's loopback.
    Loopback,
    /// From a host of a network habench made (its clients), to a server at `addr`:port.
    From { net: Arc<crate::netns::Network>, host: String, addr: std::net::Ipv4Addr },
}

impl Dial {
    /// Connects to `port`, at `addr` when given (a link that follows its upstream's address).
    async fn connect(&self, port: u16, addr: Option<std::net::Ipv4Addr>) -> std::io::Result<TcpStream> {
        match self {
            Dial::Loopback => TcpStream::connect(("127.0.0.1", port)).await,
            Dial::From { net, host, addr: own } => {
                net.connect(host, std::net::SocketAddr::from((addr.unwrap_or(*own), port)), DIAL_TIMEOUT).await
            }
        }
    }
}

#[derive(Debug)]
pub struct LinkProxy {
    port: u16,
    upstream: Arc<AtomicU16>,
    /// The upstream's address when it moved from the dial's (0: the dial's own).
    upstream_addr: Arc<AtomicU32>,
    spec: watch::Sender<LinkSpec>,
    state: watch::Sender<LinkState>,
    conns: Arc<Mutex<JoinSet<()>>>,
    accept: JoinHandle<()>,
}

const CHUNK: usize = 64 * 1024;

impl LinkProxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:upstream_port`.
    pub async fn start(upstream_port: u16, spec: LinkSpec, seed: u64) -> std::io::Result<LinkProxy> {
        Self::start_at(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), upstream_port, spec, seed).await
    }

    /// Listens on `listen` (another loopback address stands for another host) and forwards to
    /// `127.0.0.1:upstream_port`.
    pub async fn start_at(
        listen: std::net::SocketAddr,
        upstream_port: u16,
        spec: LinkSpec,
        seed: u64,
    ) -> std::io::Result<LinkProxy> {
        Self::start_via(listen, Dial::Loopback, upstream_port, spec, seed).await
    }

    /// Listens on `listen` and forwards to the upstream port the way `dial` says.
    pub async fn start_via(
        listen: std::net::SocketAddr,
        dial: Dial,
        upstream_port: u16,
        spec: LinkSpec,
        seed: u64,
    ) -> std::io::Result<LinkProxy> {
        let listener = TcpListener::bind(listen).await?;
        Self::serve(listener, dial, upstream_port, spec, seed)
    }

    /// A link inside a host of a network: it listens on the host's loopback (for the host's own
    /// programs) and dials from the host to `addr:upstream_port` (`set_upstream_addr` moves it),
    /// so the network's rules act on what it forwards.
    pub(crate) async fn start_in(
        net: Arc<crate::netns::Network>,
        host: &str,
        (addr, upstream_port): (std::net::Ipv4Addr, u16),
        spec: LinkSpec,
        seed: u64,
    ) -> std::io::Result<LinkProxy> {
        let listener = net.listen(host, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))?;
        Self::serve(listener, Dial::From { net, host: host.into(), addr }, upstream_port, spec, seed)
    }

    fn serve(
        listener: TcpListener,
        dial: Dial,
        upstream_port: u16,
        spec: LinkSpec,
        seed: u64,
    ) -> std::io::Result<LinkProxy> {
        let port = listener.local_addr()?.port();
        let upstream = Arc::new(AtomicU16::new(upstream_port));
        let upstream_addr = Arc::new(AtomicU32::new(0));
        let (spec_tx, spec_rx) = watch::channel(spec);
        let (state_tx, state_rx) = watch::channel(LinkState::Up);
        let conns = Arc::new(Mutex::new(JoinSet::new()));
        let ends = Ends { upstream: upstream.clone(), addr: upstream_addr.clone(), dial: Arc::new(dial) };
        let accept = tokio::spawn(accept_loop(listener, ends, spec_rx, state_rx, conns.clone(), seed));
        Ok(LinkProxy { port, upstream, upstream_addr, spec: spec_tx, state: state_tx, conns, accept })
    }

    /// A link inside a host: the address its next connections go to (the new primary's).
    pub(crate) fn set_upstream_addr(&self, addr: std::net::Ipv4Addr) {
        self.upstream_addr.store(u32::from(addr), Ordering::SeqCst);
    }

    /// Where clients connect.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn upstream(&self) -> u16 {
        self.upstream.load(Ordering::SeqCst)
    }

    /// Forward new connections to another server (after a failover).
    pub(crate) fn set_upstream(&self, port: u16) {
        self.upstream.store(port, Ordering::SeqCst);
    }

    pub(crate) fn spec(&self) -> LinkSpec {
        *self.spec.borrow()
    }

    /// Changes delay, jitter or bandwidth for bytes sent from now on.
    pub fn set_spec(&self, spec: LinkSpec) {
        self.spec.send_replace(spec);
    }

    pub fn set_state(&self, state: LinkState) {
        self.state.send_replace(state);
    }

    pub(crate) fn state(&self) -> LinkState {
        *self.state.borrow()
    }

    /// Closes every connection through the link now (new ones are accepted).
    pub fn reset(&self) {
        self.conns.lock().expect("link connections lock").abort_all();
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.accept.abort();
        if let Ok(mut c) = self.conns.lock() {
            c.abort_all();
        }
    }
}

/// Where a link's new connections go: the upstream port, and how it is reached.
struct Ends {
    upstream: Arc<AtomicU16>,
    addr: Arc<AtomicU32>,
    dial: Arc<Dial>,
}

async fn accept_loop(
    listener: TcpListener,
    ends: Ends,
    spec: watch::Receiver<LinkSpec>,
    state: watch::Receiver<LinkState>,
    conns: Arc<Mutex<JoinSet<()>>>,
    seed: u64,
) {
    let mut n = 0u64;
    while let Ok((client, _)) = listener.accept().await {
        n += 1;
        let _ = client.set_nodelay(true);
        let addr = Some(ends.addr.load(Ordering::SeqCst)).filter(|a| *a != 0).map(std::net::Ipv4Addr::from);
        let to = (ends.dial.clone(), (addr, ends.upstream.load(Ordering::SeqCst)));
        let task = connection(client, to, spec.clone(), state.clone(), seed ^ n);
        let mut set = conns.lock().expect("link connections lock");
        while set.try_join_next().is_some() {}
        set.spawn(task);
    }
}

async fn connection(
    client: TcpStream,
    (dial, (addr, upstream_port)): (Arc<Dial>, (Option<std::net::Ipv4Addr>, u16)),
    spec: watch::Receiver<LinkSpec>,
    mut state: watch::Receiver<LinkState>,
    seed: u64,
) {
    // A partitioned link reaches nothing: the new connection ends at once.
    if *state.borrow_and_update() != LinkState::Up {
        return;
    }
    let Ok(server) = dial.connect(upstream_port, addr).await else { return };
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = pump(cr, sw, spec.clone(), state.clone(), Rng::new(seed).fork(1));
    let down = pump(sr, cw, spec, state, Rng::new(seed).fork(2));
    // When one direction ends the connection is over: the other side closes too.
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

/// One direction, in one task: reads as bytes come, stamps each chunk with when it may be
/// delivered (its delay and jitter, its turn on a bandwidth-limited link, and never before an
/// earlier chunk: order is kept), and writes what is due. At zero delay a chunk is written as
/// soon as it is read, with no hop between tasks.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    spec: watch::Receiver<LinkSpec>,
    mut state: watch::Receiver<LinkState>,
    mut rng: Rng,
) {
    let mut queue: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut last_due = Instant::now();
    let mut eof = false;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let up = *state.borrow() == LinkState::Up;
        // Write everything that is due.
        while up && queue.front().is_some_and(|(due, _)| *due <= Instant::now()) {
            let (_, data) = queue.pop_front().expect("front");
            if to.write_all(&data).await.is_err() {
                return;
            }
        }
        if eof && queue.is_empty() {
            let _ = to.shutdown().await;
            return;
        }
        let next_due = queue.front().map(|(d, _)| *d).filter(|_| up);
        tokio::select! {
            r = from.read(&mut buf), if !eof => {
                let n = match r {
                    Ok(0) | Err(_) => { eof = true; continue }
                    Ok(n) => n,
                };
                let s = *spec.borrow();
                let mut delay = s.delay.as_secs_f64();
                if !s.jitter.is_zero() {
                    delay += (rng.next_f64() * 2.0 - 1.0) * s.jitter.as_secs_f64();
                }
                let mut due = (Instant::now() + Duration::from_secs_f64(delay.max(0.0))).max(last_due);
                if let Some(bps) = s.bandwidth_bps {
                    // Serialisation: the chunk leaves once the link has sent what came before.
                    due += Duration::from_secs_f64(n as f64 * 8.0 / bps as f64);
                }
                last_due = due;
                queue.push_back((due, buf[..n].to_vec()));
            }
            _ = sleep_until_opt(next_due) => {}
            r = state.changed() => {
                if r.is_err() {
                    return;
                }
            }
        }
    }
}

/// tokio's timers fire on millisecond ticks, up to a tick late: fine for most of a delay, not
/// for its end. The last stretch is slept on a blocking thread (nanosleep, ~0.1 ms precise).
const COARSE_MARGIN: Duration = Duration::from_micros(1500);

async fn sleep_until_opt(at: Option<Instant>) {
    let Some(t) = at else { return std::future::pending().await };
    if let Some(coarse) = t.checked_sub(COARSE_MARGIN) {
        if coarse > Instant::now() {
            tokio::time::sleep_until(coarse.into()).await;
        }
    }
    let rest = t.saturating_duration_since(Instant::now());
    if !rest.is_zero() {
        // The last sub-millisecond stretch sleeps on the blocking pool (tokio's timer is
        // millisecond-grained): the runtime is not held.
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}
