//! Shapes: which host can reach which, as nftables rules in the hosts' namespaces (one table,
//! `inet habench`, per namespace). Packets are dropped silently, as a cut cable drops them: no
//! reset, a connection waits until its own timeouts.

use crate::error::Result;
use crate::netns::{ip, Network};

/// Which way a cut drops packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Neither host hears the other.
    Both,
    /// Packets from `from` never reach `to`; `to`'s reach `from`.
    OneWay,
}

/// What the network looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// Every host reaches every other.
    Whole,
    /// One host cut from all others (and from the clients).
    Isolate(String),
    /// `from` cut from `to`.
    Cut { from: String, to: String, direction: Direction },
    /// Every pair `(from, to)`: packets from `from` never reach `to` (a both-ways cut is two
    /// pairs). Jepsen's shapes (halves, bridge, majorities ring) are lists of these.
    Drops(Vec<(String, String)>),
    /// Each packet to and from `host` dropped with probability `percent` %.
    Loss { host: String, percent: u8 },
    /// `host`'s line limited to `kbit` kbit/s each way (a token bucket, `tbf`, on both ends of
    /// its veth).
    Rate { host: String, kbit: u32 },
}

/// Lifts every rule (and a rate laid before), then lays `shape`.
pub(super) fn apply(net: &Network, shape: &Shape) -> Result<()> {
    for h in net.hosts() {
        // No table yet is fine: `delete` of a missing table fails, so it is created first.
        ip::nft(&h.ns, "table inet habench {}\ndelete table inet habench\n")?;
    }
    let mut rated = net.rated.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(host) = rated.take() {
        for (ns, dev) in rate_ends(net, &host)? {
            ip::tc(&ns, &["qdisc", "del", "dev", &dev, "root"])?;
        }
    }
    match shape {
        Shape::Whole => Ok(()),
        Shape::Isolate(name) => {
            let h = net.host(name)?;
            let rules = "iifname \"lo\" accept\n    drop";
            let out = "oifname \"lo\" accept\n    drop";
            ip::nft(&h.ns, &table(rules, out)).map(|_| ())
        }
        Shape::Cut { from, to, direction } => {
            let (f, t) = (net.host(from)?, net.host(to)?);
            ip::nft(&t.ns, &table(&format!("ip saddr {} drop", f.addr), ""))?;
            if *direction == Direction::Both {
                ip::nft(&f.ns, &table(&format!("ip saddr {} drop", t.addr), ""))?;
            }
            Ok(())
        }
        Shape::Drops(pairs) => {
            for h in net.hosts() {
                let from: Vec<String> = pairs
                    .iter()
                    .filter(|(_, to)| *to == h.name)
                    .map(|(f, _)| Ok(net.host(f)?.addr.to_string()))
                    .collect::<Result<_>>()?;
                if !from.is_empty() {
                    ip::nft(&h.ns, &table(&format!("ip saddr {{ {} }} drop", from.join(", ")), ""))?;
                }
            }
            Ok(())
        }
        Shape::Loss { host, percent } => {
            let h = net.host(host)?;
            let rule = |dir: &str| format!("{dir} \"eth0\" numgen random mod 100 < {percent} drop");
            ip::nft(&h.ns, &table(&rule("iifname"), &rule("oifname"))).map(|_| ())
        }
        Shape::Rate { host, kbit } => {
            // The bucket holds 10 ms of the rate (at least a few full-size packets).
            let burst = format!("{}b", (u64::from(*kbit) * 1000 / 8 / 100).max(4096));
            let rate = format!("{kbit}kbit");
            *rated = Some(host.clone());
            for (ns, dev) in rate_ends(net, host)? {
                ip::tc(
                    &ns,
                    &[
                        "qdisc", "replace", "dev", &dev, "root", "tbf", "rate", &rate, "burst", &burst, "latency",
                        "100ms",
                    ],
                )?;
            }
            Ok(())
        }
    }
}

/// Both ends of `host`'s line: its `eth0` (what it sends) and its port on the bridge (what it
/// receives).
fn rate_ends(net: &Network, host: &str) -> Result<[(String, String); 2]> {
    let i = net
        .hosts()
        .iter()
        .position(|h| h.name == host)
        .ok_or_else(|| crate::error::Error::node(host, "not a host of the network"))?;
    Ok([(net.hosts()[i].ns.clone(), "eth0".into()), (net.bridge_ns(), format!("p{i}"))])
}

/// The namespace's table: `input` and `output` rules, each chain accepting what they leave.
fn table(input: &str, output: &str) -> String {
    format!(
        "table inet habench {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n    {input}\n  }}\n  \
         chain output {{\n    type filter hook output priority 0; policy accept;\n    {output}\n  }}\n}}\n"
    )
}
