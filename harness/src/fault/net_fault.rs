//! What a network fault does, as written after `=` in `KIND@TIME:DURATION=WHAT`: a partition's
//! shape (`partition@10s:20s=halves`), a loss rate (`packet-loss@5s:60s=5%:standby`) or a
//! bandwidth (`bandwidth@5s:60s=1mbit:standby`). Hosts are named by role (`primary`, `standby`:
//! the first standby, `clients`) or by node name (`s2`); roles are resolved when the fault is
//! injected, against the topology as it is then.

use std::fmt;
use std::str::FromStr;

/// A host, by role or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRef {
    /// The primary when the fault is injected.
    Primary,
    /// The first standby when the fault is injected.
    Standby,
    /// habench's clients (one host for all of them).
    Clients,
    /// The coordination service (an engine's DCS or monitor).
    Dcs,
    /// A node by its name.
    Name(String),
}

/// Which hosts hear which while a partition lasts (Jepsen's shapes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionShape {
    /// One host cut from every other host, the clients included.
    Isolate(HostRef),
    /// The hosts split into two halves (the primary's the larger); the clients reach both.
    /// With a coordination service its members alternate with the nodes (`net_shape`).
    Halves,
    /// Two halves and the host between them (the middle one in that order, the primary
    /// first): it reaches everyone, the halves not each other.
    Bridge,
    /// Packets from `from` never reach `to`; `to`'s still reach `from`.
    OneWay { from: HostRef, to: HostRef },
    /// One host cut from the clients only; the nodes still hear it.
    ClientsFrom(HostRef),
    /// Every node hears only its nearest neighbours on a ring (a majority, itself included),
    /// so every node sees a different majority. Five nodes or more.
    MajoritiesRing,
    /// The primary cut from the coordination service, not from its clients and replicas.
    LeaderFromDcs,
}

/// What a network fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetFault {
    Partition(PartitionShape),
    /// Each packet to and from the host dropped with this probability (percent, 1-99).
    Loss {
        percent: u8,
        host: HostRef,
    },
    /// The host's line limited to this rate, each way (kbit/s).
    Bandwidth {
        kbit: u32,
        host: HostRef,
    },
}

impl FromStr for HostRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "primary" => HostRef::Primary,
            "standby" => HostRef::Standby,
            "clients" => HostRef::Clients,
            "dcs" | "monitor" => HostRef::Dcs,
            "" => return Err("a host is missing: name a role (primary, standby, clients, dcs) or a node".into()),
            name if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') => {
                HostRef::Name(name.to_string())
            }
            other => {
                return Err(format!("`{other}` is no host: name a role (primary, standby, clients, dcs) or a node"))
            }
        })
    }
}

impl fmt::Display for HostRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostRef::Primary => f.write_str("primary"),
            HostRef::Standby => f.write_str("standby"),
            HostRef::Clients => f.write_str("clients"),
            HostRef::Dcs => f.write_str("dcs"),
            HostRef::Name(n) => f.write_str(n),
        }
    }
}

const SHAPES: &str =
    "isolate:HOST, halves, bridge, one-way:FROM>TO, clients-from:HOST, majorities-ring, leader-from-dcs";

impl FromStr for PartitionShape {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        let host = |what: &str| -> Result<HostRef, String> {
            arg.ok_or_else(|| format!("`{name}` needs a host: {name}:{what}"))?.parse()
        };
        let shape = match name {
            "isolate" => PartitionShape::Isolate(host("primary")?),
            "clients-from" => PartitionShape::ClientsFrom(host("primary")?),
            "one-way" => {
                let (from, to) = arg
                    .and_then(|a| a.split_once('>'))
                    .ok_or_else(|| "`one-way` needs FROM>TO, e.g. one-way:primary>standby".to_string())?;
                PartitionShape::OneWay { from: from.parse()?, to: to.parse()? }
            }
            "halves" | "bridge" | "majorities-ring" | "leader-from-dcs" if arg.is_some() => {
                return Err(format!("`{name}` takes no host (`{s}`)"));
            }
            "halves" => PartitionShape::Halves,
            "bridge" => PartitionShape::Bridge,
            "majorities-ring" => PartitionShape::MajoritiesRing,
            "leader-from-dcs" => PartitionShape::LeaderFromDcs,
            _ => return Err(format!("`{s}` is no partition shape; use one of {SHAPES}")),
        };
        Ok(shape)
    }
}

impl fmt::Display for PartitionShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartitionShape::Isolate(h) => write!(f, "isolate:{h}"),
            PartitionShape::Halves => f.write_str("halves"),
            PartitionShape::Bridge => f.write_str("bridge"),
            PartitionShape::OneWay { from, to } => write!(f, "one-way:{from}>{to}"),
            PartitionShape::ClientsFrom(h) => write!(f, "clients-from:{h}"),
            PartitionShape::MajoritiesRing => f.write_str("majorities-ring"),
            PartitionShape::LeaderFromDcs => f.write_str("leader-from-dcs"),
        }
    }
}

impl NetFault {
    /// Parses what follows `=` for a fault of `kind` (`partition`, `packet-loss`, `bandwidth`).
    pub(crate) fn parse(kind: super::FaultKind, s: &str) -> Result<NetFault, String> {
        use super::FaultKind as K;
        match kind {
            K::Partition => s.parse().map(NetFault::Partition),
            K::PacketLoss => {
                let (pct, host) = s.split_once(':').ok_or("packet-loss needs PERCENT%:HOST, e.g. 5%:standby")?;
                let percent = pct
                    .strip_suffix('%')
                    .and_then(|p| p.parse::<u8>().ok())
                    .filter(|p| (1..=99).contains(p))
                    .ok_or_else(|| format!("`{pct}`: the loss is a whole percentage from 1% to 99%, e.g. 5%"))?;
                Ok(NetFault::Loss { percent, host: host.parse()? })
            }
            K::Bandwidth => {
                let (rate, host) = s.split_once(':').ok_or("bandwidth needs RATE:HOST, e.g. 1mbit:standby")?;
                Ok(NetFault::Bandwidth { kbit: parse_rate(rate)?, host: host.parse()? })
            }
            _ => Err(format!("{kind} takes nothing after `=`")),
        }
    }
}

/// Standalone (as kept in results): the kind is told by the text itself.
impl FromStr for NetFault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let first = s.split(':').next().unwrap_or_default();
        let kind = if first.ends_with('%') {
            super::FaultKind::PacketLoss
        } else if first.ends_with("bit") {
            super::FaultKind::Bandwidth
        } else {
            super::FaultKind::Partition
        };
        NetFault::parse(kind, s)
    }
}

/// `500kbit`, `10mbit`, `1gbit` as kbit/s.
fn parse_rate(s: &str) -> Result<u32, String> {
    let bad = || format!("`{s}`: a rate is a whole number of kbit, mbit or gbit, e.g. 10mbit");
    let (num, scale) = if let Some(n) = s.strip_suffix("kbit") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix("mbit") {
        (n, 1_000)
    } else if let Some(n) = s.strip_suffix("gbit") {
        (n, 1_000_000)
    } else {
        return Err(bad());
    };
    let n: u32 = num.parse().map_err(|_| bad())?;
    n.checked_mul(scale).filter(|k| (8..=10_000_000).contains(k)).ok_or_else(bad)
}

impl fmt::Display for NetFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetFault::Partition(s) => write!(f, "{s}"),
            NetFault::Loss { percent, host } => write!(f, "{percent}%:{host}"),
            NetFault::Bandwidth { kbit, host } if kbit % 1000 == 0 => write!(f, "{}mbit:{host}", kbit / 1000),
            NetFault::Bandwidth { kbit, host } => write!(f, "{kbit}kbit:{host}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::FaultKind as K;

    #[test]
    fn every_shape_reads_back_as_written() {
        for s in [
            "isolate:primary",
            "halves",
            "bridge",
            "one-way:primary>s2",
            "clients-from:standby",
            "majorities-ring",
            "leader-from-dcs",
        ] {
            let f = NetFault::parse(K::Partition, s).unwrap();
            assert_eq!(f.to_string(), s);
        }
        assert_eq!(NetFault::parse(K::PacketLoss, "5%:standby").unwrap().to_string(), "5%:standby");
        assert_eq!(
            NetFault::parse(K::Bandwidth, "10mbit:s1").unwrap(),
            NetFault::Bandwidth { kbit: 10_000, host: HostRef::Name("s1".into()) }
        );
        assert_eq!(NetFault::parse(K::Bandwidth, "512kbit:primary").unwrap().to_string(), "512kbit:primary");
        for s in ["halves", "5%:standby", "512kbit:primary", "one-way:s1>clients"] {
            assert_eq!(s.parse::<NetFault>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn bad_shapes_say_what_to_write() {
        let e = |k, s| NetFault::parse(k, s).unwrap_err();
        assert!(e(K::Partition, "thirds").contains("isolate:HOST, halves"), "{}", e(K::Partition, "thirds"));
        assert!(e(K::Partition, "one-way:primary").contains("FROM>TO"));
        assert!(e(K::Partition, "isolate").contains("isolate:primary"));
        assert!(e(K::Partition, "halves:primary").contains("takes no host"));
        assert!(e(K::PacketLoss, "5%").contains("PERCENT%:HOST"));
        assert!(e(K::PacketLoss, "150%:standby").contains("1% to 99%"));
        assert!(e(K::PacketLoss, "5:standby").contains("1% to 99%"));
        assert!(e(K::Bandwidth, "fast:standby").contains("kbit, mbit or gbit"));
        assert!(e(K::Partition, "isolate:pri mary").contains("no host"));
    }
}
