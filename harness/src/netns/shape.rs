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
}

/// Lifts every rule, then lays `shape`.
pub(super) fn apply(net: &Network, shape: &Shape) -> Result<()> {
    for h in net.hosts() {
        // No table yet is fine: `delete` of a missing table fails, so it is created first.
        ip::nft(&h.ns, "table inet habench {}\ndelete table inet habench\n")?;
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
    }
}

/// The namespace's table: `input` and `output` rules, each chain accepting what they leave.
fn table(input: &str, output: &str) -> String {
    format!(
        "table inet habench {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n    {input}\n  }}\n  \
         chain output {{\n    type filter hook output priority 0; policy accept;\n    {output}\n  }}\n}}\n"
    )
}
