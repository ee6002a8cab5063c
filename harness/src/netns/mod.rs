//! Every host in a network namespace of its own (`--net namespaces`): each host gets a
//! namespace with one address, joined by a veth pair to a bridge that lives in a namespace of
//! its own; habench's clients are a host too (`clients`, one address for all of them). Shapes
//! are nftables rules inside the hosts' namespaces: silent drops, as a real network's.
//!
//! Names: the network's number `k` (1-250) is leased by creating its bridge namespace `hbK`
//! (creation is atomic: two habench processes cannot take the same `k`); the hosts are `hbK-NAME`
//! on 10.213.K.0/24. The owner's pid is kept in `/run/habench/netns-K.pid`. Everything goes on
//! drop, when habench dies (a janitor process deletes the namespaces when its pipe closes), and
//! with `habench topology clean` (a network whose owner is gone).

mod ip;
mod ns_thread;
mod shape;

use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::error::{Error, Result};

pub use shape::{Direction, Shape};

/// The host habench's clients run in.
pub const CLIENTS: &str = "clients";
const PID_DIR: &str = "/run/habench";

/// One host of a network: its namespace and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetHost {
    pub name: String,
    pub ns: String,
    pub addr: Ipv4Addr,
}

/// A network habench made: a bridge and one namespace per host.
#[derive(Debug)]
pub struct Network {
    k: u8,
    hosts: Vec<NetHost>,
    /// One thread per host, in the hosts' order, living in its namespace.
    threads: Vec<ns_thread::NsThread>,
    janitor: Option<Child>,
    /// The host whose line a rate limits now (`Shape::Rate`), lifted with the next shape.
    rated: std::sync::Mutex<Option<String>>,
}

impl Network {
    /// A bridge and one namespace per name (plus `clients`), each host's `eth0` on the bridge
    /// with its address, `lo` up. Refuses clearly without root, `ip` or `nft`.
    /// Blocking (it runs `ip` a few dozen times and writes the owner's pid file): from a
    /// runtime, call it through `spawn_blocking`.
    pub fn create(names: &[&str]) -> Result<Network> {
        if let Some(why) = ip::missing() {
            return Err(Error::config("--net", why));
        }
        let k = lease()?;
        let mut net = Network { k, hosts: Vec::new(), threads: Vec::new(), janitor: None, rated: Default::default() };
        // From here on, a failure drops `net`, which deletes what was made.
        let all: Vec<&str> = names.iter().copied().chain([CLIENTS]).collect();
        for (i, name) in all.iter().enumerate() {
            let last = if *name == CLIENTS { 254 } else { i as u8 + 1 };
            net.hosts.push(NetHost {
                name: name.to_string(),
                ns: format!("hb{k}-{name}"),
                addr: Ipv4Addr::new(10, 213, k, last),
            });
        }
        net.janitor = Some(janitor(&net.namespaces())?);
        let br = net.bridge_ns();
        ip::ip(&["-n", &br, "link", "add", "br0", "type", "bridge"])?;
        ip::ip(&["-n", &br, "link", "set", "br0", "up"])?;
        for (i, h) in net.hosts.clone().iter().enumerate() {
            ip::ip(&["netns", "add", &h.ns])?;
            let port = format!("p{i}");
            ip::ip(&["link", "add", "eth0", "netns", &h.ns, "type", "veth", "peer", "name", &port, "netns", &br])?;
            ip::ip(&["-n", &br, "link", "set", &port, "master", "br0", "up"])?;
            ip::ip(&["-n", &h.ns, "addr", "add", &format!("{}/24", h.addr), "dev", "eth0"])?;
            ip::ip(&["-n", &h.ns, "link", "set", "eth0", "up"])?;
            ip::ip(&["-n", &h.ns, "link", "set", "lo", "up"])?;
            net.threads.push(ns_thread::NsThread::start(h)?);
        }
        Ok(net)
    }

    /// Spawns `cmd` inside host `name`'s namespace. Its process dies with the network (or with
    /// habench) when it asks for a parent-death signal, as habench's servers do: its parent
    /// thread is the host's, which ends when the network is dropped.
    pub fn spawn(&self, name: &str, mut cmd: Command) -> Result<Child> {
        let program = cmd.get_program().to_string_lossy().into_owned();
        self.thread(name)?
            .run(move || cmd.spawn())?
            .map_err(|e| Error::io("starting", std::path::Path::new(&program), e))
    }

    /// A TCP listener in host `name`'s namespace, on `addr` there (its loopback stands for the
    /// host's own programs). The socket is made and bound on the host's thread.
    pub fn listen(&self, name: &str, addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
        let made = self
            .thread(name)
            .and_then(|t| {
                t.run(move || -> std::io::Result<std::net::TcpListener> {
                    let l = std::net::TcpListener::bind(addr)?;
                    l.set_nonblocking(true)?;
                    Ok(l)
                })
            })
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        tokio::net::TcpListener::from_std(made)
    }

    /// Opens a TCP connection from host `from` (e.g. [`CLIENTS`]) to `addr`: the socket is made
    /// in `from`'s namespace, then connected here (within `timeout`).
    pub async fn connect(
        &self,
        from: &str,
        addr: std::net::SocketAddr,
        timeout: std::time::Duration,
    ) -> std::io::Result<tokio::net::TcpStream> {
        let socket = self
            .thread(from)
            .and_then(|t| t.run(tokio::net::TcpSocket::new_v4))
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        match tokio::time::timeout(timeout, socket.connect(addr)).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("connecting to {addr}"))),
        }
    }

    fn thread(&self, name: &str) -> Result<&ns_thread::NsThread> {
        let i = self.hosts.iter().position(|h| h.name == name);
        i.and_then(|i| self.threads.get(i)).ok_or_else(|| Error::node(name, "not a host of the network"))
    }

    /// The hosts, in the order given (then `clients`).
    pub fn hosts(&self) -> &[NetHost] {
        &self.hosts
    }

    pub fn host(&self, name: &str) -> Result<&NetHost> {
        self.hosts.iter().find(|h| h.name == name).ok_or_else(|| Error::node(name, "not a host of the network"))
    }

    /// Every namespace of the network, the bridge's last.
    pub fn namespaces(&self) -> Vec<String> {
        self.hosts.iter().map(|h| h.ns.clone()).chain([self.bridge_ns()]).collect()
    }

    pub(crate) fn bridge_ns(&self) -> String {
        format!("hb{}", self.k)
    }

    /// Runs `f` on a thread of its own that has joined host `name`'s namespace (its sockets
    /// are the host's).
    pub fn within<T: Send + 'static>(&self, name: &str, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let host = self.host(name)?.clone();
        let t = std::thread::spawn(move || -> Result<T> {
            enter(&host)?;
            Ok(f())
        });
        t.join().map_err(|_| Error::node(name, "the thread in its namespace panicked"))?
    }

    /// Lays `shape` on the network (replacing any shape before it); `Shape::Whole` lifts it.
    pub fn apply(&self, shape: &shape::Shape) -> Result<()> {
        shape::apply(self, shape)
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // The hosts' threads end first: what they spawned with a parent-death signal dies.
        self.threads.clear();
        // The janitor deletes every namespace (with them their veths, the bridge and the
        // nftables tables) when its input closes, then the pid file.
        if let Some(mut j) = self.janitor.take() {
            drop(j.stdin.take());
            let _ = j.wait();
        }
    }
}

/// `/run/netns/NAME`, where `ip netns add` keeps a namespace.
fn netns_path(ns: &str) -> PathBuf {
    PathBuf::from("/run/netns").join(ns)
}

/// Joins host's namespace (the calling thread only: its new sockets are the host's).
pub fn enter(host: &NetHost) -> Result<()> {
    let path = netns_path(&host.ns);
    let f = std::fs::File::open(&path).map_err(|e| Error::io("opening", &path, e))?;
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::node("netns", format!("joining {}: {e}", path.display())))
}

/// Takes the first free network number by creating its bridge namespace, and records the owner.
fn lease() -> Result<u8> {
    std::fs::create_dir_all(PID_DIR).map_err(|e| Error::io("creating", std::path::Path::new(PID_DIR), e))?;
    for k in 1..=250u8 {
        if netns_path(&format!("hb{k}")).exists() {
            continue;
        }
        if ip::ip(&["netns", "add", &format!("hb{k}")]).is_ok() {
            let pid = PathBuf::from(PID_DIR).join(format!("netns-{k}.pid"));
            std::fs::write(&pid, std::process::id().to_string()).map_err(|e| Error::io("writing", &pid, e))?;
            return Ok(k);
        }
    }
    Err(Error::node("netns", "no free network number (hb1-hb250 all taken): run `habench topology clean`"))
}

/// A shell that waits for its input to close (habench's end, however it ends), then deletes
/// the namespaces and the pid file.
fn janitor(namespaces: &[String]) -> Result<Child> {
    let k = namespaces.last().map(|b| b.trim_start_matches("hb").to_string()).unwrap_or_default();
    let script = r#"read _ ; k=$1 ; shift ; for ns in "$@" ; do ip netns del "$ns" 2>/dev/null ; done
rm -f "/run/habench/netns-$k.pid""#;
    let mut args = vec!["-c".to_string(), script.to_string(), "habench-net-janitor".into(), k];
    args.extend(namespaces.iter().cloned());
    Command::new("/bin/sh")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io("starting", std::path::Path::new("/bin/sh"), e))
}

/// Networks whose owner is gone: their namespaces deleted. One line per network. Blocking
/// (`ip`, the pid files): from a runtime, call it through `spawn_blocking`.
pub fn sweep() -> Vec<String> {
    let Ok(listing) = ip::ip(&["netns", "list"]) else { return Vec::new() };
    let names: Vec<String> = listing.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect();
    let mut out = Vec::new();
    for k in names.iter().filter_map(|n| n.strip_prefix("hb")?.parse::<u8>().ok()) {
        let pid_file = PathBuf::from(PID_DIR).join(format!("netns-{k}.pid"));
        let owner = std::fs::read_to_string(&pid_file).ok().and_then(|p| p.trim().parse::<u32>().ok());
        if owner.is_some_and(|p| PathBuf::from(format!("/proc/{p}")).exists()) {
            continue;
        }
        let mine: Vec<&String> =
            names.iter().filter(|n| **n == format!("hb{k}") || n.starts_with(&format!("hb{k}-"))).collect();
        for ns in &mine {
            let _ = ip::ip(&["netns", "del", ns]);
        }
        let _ = std::fs::remove_file(&pid_file);
        out.push(format!("swept network hb{k}: {} namespace(s) deleted", mine.len()));
    }
    out
}
