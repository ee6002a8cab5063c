//! A network fault as rules on named hosts: roles (`primary`, `standby`) resolved against the
//! topology as it is when the fault is injected, and Jepsen's shapes (halves, bridge,
//! majorities ring) worked out as the pairs of hosts that stop hearing each other. Pure: the
//! nodes' order is the caller's (the primary first, then the standbys in order).

use crate::fault::{HostRef, NetFault, PartitionShape};
use crate::netns::{Shape, CLIENTS};

/// The hosts a shape can name.
#[derive(Debug, Clone)]
pub(crate) struct Hosts {
    /// Database nodes, the primary first, then the standbys in order.
    pub nodes: Vec<String>,
    /// The coordination service's hosts (none for habench's own orchestrator).
    pub dcs: Vec<String>,
}

impl Hosts {
    fn name(&self, h: &HostRef) -> Result<String, String> {
        match h {
            HostRef::Primary => self.nodes.first().cloned().ok_or_else(|| "there is no primary".into()),
            HostRef::Standby => self
                .nodes
                .get(1)
                .cloned()
                .ok_or_else(|| "`standby` needs a standby: use sync, async or log-shipping".into()),
            HostRef::Clients => Ok(CLIENTS.into()),
            HostRef::Dcs if self.dcs.is_empty() => Err(self.no_dcs("dcs")),
            HostRef::Dcs if self.dcs.len() == 1 => Ok(self.dcs[0].clone()),
            HostRef::Dcs => Err(format!(
                "`dcs` has {} members here: name one ({}), or use leader-from-dcs",
                self.dcs.len(),
                self.dcs.join(", ")
            )),
            HostRef::Name(n) if self.nodes.contains(n) || self.dcs.contains(n) => Ok(n.clone()),
            HostRef::Name(n) => Err(format!(
                "`{n}` is no host of this topology (its hosts: {}, clients)",
                self.nodes.iter().chain(&self.dcs).cloned().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The order the shapes split: the nodes (the primary first), each followed by a member of
    /// the coordination service while there are members left (as deployments that put one
    /// member beside each node have them), then the members left over.
    fn ring(&self) -> Vec<String> {
        let mut out = Vec::new();
        for i in 0..self.nodes.len().max(self.dcs.len()) {
            out.extend(self.nodes.get(i).cloned());
            out.extend(self.dcs.get(i).cloned());
        }
        out
    }

    fn no_dcs(&self, what: &str) -> String {
        format!(
            "`{what}` needs a coordination service, which habench's own orchestrator has not (it probes from the \
             clients' host): use --topology patroni or pg_auto_failover"
        )
    }
}

/// The shape that carries `fault` out on `hosts`, and the host it is reported on.
pub(crate) fn resolve(fault: &NetFault, hosts: &Hosts) -> Result<(Shape, String), String> {
    let ring = hosts.ring();
    let n = ring.len();
    let both = |a: &str, b: &str| [(a.to_string(), b.to_string()), (b.to_string(), a.to_string())];
    // Both ways between every node of `left` and every node of `right`.
    let across = |left: &[String], right: &[String]| -> Vec<(String, String)> {
        left.iter().flat_map(|a| right.iter().flat_map(move |b| both(a, b))).collect()
    };
    Ok(match fault {
        NetFault::Loss { percent, host } => {
            let host = hosts.name(host)?;
            (Shape::Loss { host: host.clone(), percent: *percent }, host)
        }
        NetFault::Bandwidth { kbit, host } => {
            let host = hosts.name(host)?;
            (Shape::Rate { host: host.clone(), kbit: *kbit }, host)
        }
        NetFault::Partition(shape) => match shape {
            PartitionShape::Isolate(h) => {
                let host = hosts.name(h)?;
                (Shape::Isolate(host.clone()), host)
            }
            PartitionShape::OneWay { from, to } => {
                let (from, to) = (hosts.name(from)?, hosts.name(to)?);
                if from == to {
                    return Err(format!("one-way: {from} cannot be cut from itself"));
                }
                (Shape::Drops(vec![(from.clone(), to)]), from)
            }
            PartitionShape::ClientsFrom(h) => {
                let host = hosts.name(h)?;
                if host == CLIENTS {
                    return Err("clients-from: name a node, not the clients".into());
                }
                (Shape::Drops(both(&host, CLIENTS).to_vec()), host)
            }
            PartitionShape::Halves => {
                if n < 2 {
                    return Err("halves needs two nodes or more".into());
                }
                let (left, right) = ring.split_at(n.div_ceil(2));
                (Shape::Drops(across(left, right)), "halves".into())
            }
            PartitionShape::Bridge => {
                if n < 3 {
                    return Err("bridge needs three nodes or more (two halves and the node between them)".into());
                }
                let mid = n / 2;
                let (left, right) = (&ring[..mid], &ring[mid + 1..]);
                (Shape::Drops(across(left, right)), ring[mid].clone())
            }
            PartitionShape::MajoritiesRing => {
                if n < 5 {
                    return Err(format!("majorities-ring needs five nodes or more (this topology has {n})"));
                }
                // Each node hears its neighbours within `reach` on the ring: itself and them a
                // majority.
                let reach = (n / 2).div_ceil(2);
                let mut pairs = Vec::new();
                for i in 0..n {
                    for j in 0..n {
                        let d = i.abs_diff(j).min(n - i.abs_diff(j));
                        if d > reach {
                            pairs.push((ring[i].clone(), ring[j].clone()));
                        }
                    }
                }
                (Shape::Drops(pairs), "ring".into())
            }
            PartitionShape::LeaderFromDcs => {
                if hosts.dcs.is_empty() {
                    return Err(hosts.no_dcs("leader-from-dcs"));
                }
                let primary = hosts.name(&HostRef::Primary)?;
                let pairs = hosts.dcs.iter().flat_map(|d| both(&primary, d)).collect();
                (Shape::Drops(pairs), primary)
            }
        },
    })
}

/// The primary (the first node) cut both ways from every other node and member of the
/// coordination service, the clients still reaching it: pg_auto_failover's `partition-primary`.
pub(crate) fn primary_from_peers(hosts: &Hosts) -> Shape {
    let Some(primary) = hosts.nodes.first() else { return Shape::Whole };
    let peers = hosts.nodes.iter().skip(1).chain(&hosts.dcs);
    Shape::Drops(peers.flat_map(|p| [(primary.clone(), p.clone()), (p.clone(), primary.clone())]).collect())
}

/// Who hears whom under a shape: the event the report draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reach {
    /// Every host, the nodes in order, then the clients.
    pub hosts: Vec<String>,
    pub dropped: Vec<[String; 2]>,
    pub impaired: Vec<[String; 2]>,
}

impl Reach {
    pub(crate) fn of(shape: &Shape, hosts: &Hosts) -> Reach {
        let all: Vec<String> = hosts.nodes.iter().chain(&hosts.dcs).cloned().chain([CLIENTS.to_string()]).collect();
        let pair = |a: &String, b: &String| [a.clone(), b.clone()];
        let (dropped, impaired) = match shape {
            Shape::Whole => (Vec::new(), Vec::new()),
            Shape::Isolate(h) => {
                let others = all.iter().filter(|o| *o != h);
                (others.flat_map(|o| [pair(h, o), pair(o, h)]).collect(), Vec::new())
            }
            Shape::Cut { from, to, direction } => {
                let mut d = vec![pair(from, to)];
                if *direction == crate::netns::Direction::Both {
                    d.push(pair(to, from));
                }
                (d, Vec::new())
            }
            Shape::Drops(pairs) => (pairs.iter().map(|(a, b)| pair(a, b)).collect(), Vec::new()),
            Shape::Loss { host, percent } => (Vec::new(), vec![[host.clone(), format!("{percent}% loss")]]),
            Shape::Rate { host, kbit } => (Vec::new(), vec![[host.clone(), format!("{kbit} kbit/s")]]),
        };
        Reach { hosts: all, dropped, impaired }
    }
}

/// Who no longer hears whom, for the injection's detail: `a x b` both ways, `a > b` one way.
pub(crate) fn describe(shape: &Shape) -> String {
    match shape {
        Shape::Whole => "whole".into(),
        Shape::Isolate(h) => format!("{h} isolated from every host (clients included)"),
        Shape::Cut { from, to, .. } => format!("{from} x {to}"),
        Shape::Loss { host, percent } => format!("{percent}% of {host}'s packets dropped each way (nftables numgen)"),
        Shape::Rate { host, kbit } => format!("{host}'s line limited to {kbit} kbit/s each way (tbf)"),
        Shape::Drops(pairs) => {
            let mut parts = Vec::new();
            for (i, (a, b)) in pairs.iter().enumerate() {
                let reverse = (b.clone(), a.clone());
                // A both-ways cut is told once, where its first direction comes.
                if pairs[..i].contains(&reverse) {
                    continue;
                }
                let back = pairs[i..].contains(&reverse);
                parts.push(if back { format!("{a} x {b}") } else { format!("{a} > {b}") });
            }
            format!("dropped: {}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_from_its_peers_leaves_the_clients_reaching_it() {
        let h = Hosts { nodes: vec!["n1".into(), "n2".into()], dcs: vec!["monitor".into()] };
        assert_eq!(describe(&primary_from_peers(&h)), "dropped: n1 x n2, n1 x monitor");
    }

    fn hosts(n: usize) -> Hosts {
        let nodes = std::iter::once("primary".to_string()).chain((1..n).map(|i| format!("s{i}"))).collect();
        Hosts { nodes, dcs: Vec::new() }
    }

    fn drops(fault: &str, n: usize) -> Vec<(String, String)> {
        match resolve(&fault.parse().unwrap(), &hosts(n)).unwrap().0 {
            Shape::Drops(p) => p,
            other => panic!("{other:?}"),
        }
    }

    fn hears(pairs: &[(String, String)], a: &str, b: &str) -> bool {
        !pairs.contains(&(a.to_string(), b.to_string()))
    }

    #[test]
    fn halves_split_the_nodes_and_leave_the_clients_with_both() {
        let p = drops("halves", 3);
        assert!(hears(&p, "primary", "s1") && hears(&p, "s1", "primary"));
        for other in ["primary", "s1"] {
            assert!(!hears(&p, other, "s2") && !hears(&p, "s2", other));
        }
        assert!(p.iter().all(|(a, b)| a != CLIENTS && b != CLIENTS));
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn a_bridge_hears_both_halves_which_do_not_hear_each_other() {
        let p = drops("bridge", 5);
        for other in ["primary", "s1", "s3", "s4"] {
            assert!(hears(&p, "s2", other) && hears(&p, other, "s2"), "{other}");
        }
        assert!(!hears(&p, "primary", "s3") && !hears(&p, "s4", "s1"));
        assert!(hears(&p, "primary", "s1") && hears(&p, "s3", "s4"));
        assert_eq!(resolve(&"bridge".parse().unwrap(), &hosts(5)).unwrap().1, "s2");
    }

    #[test]
    fn on_a_majorities_ring_every_node_hears_a_different_majority() {
        let n = 5;
        let p = drops("majorities-ring", n);
        let names = hosts(n).nodes;
        let mut seen = Vec::new();
        for a in &names {
            let heard: Vec<&String> = names.iter().filter(|b| hears(&p, b, a)).collect();
            assert_eq!(heard.len(), 3, "{a} hears {heard:?}");
            assert!(!seen.contains(&heard));
            seen.push(heard);
        }
        assert!(resolve(&"majorities-ring".parse().unwrap(), &hosts(4)).unwrap_err().contains("five nodes"));
    }

    #[test]
    fn one_way_and_clients_from_cut_what_they_name() {
        assert_eq!(drops("one-way:primary>standby", 2), vec![("primary".to_string(), "s1".to_string())]);
        let c = drops("clients-from:standby", 3);
        assert_eq!(c.len(), 2);
        assert!(!hears(&c, CLIENTS, "s1") && !hears(&c, "s1", CLIENTS) && hears(&c, "primary", "s1"));
        assert_eq!(describe(&Shape::Drops(c)), "dropped: s1 x clients");
    }

    #[test]
    fn with_a_coordination_service_its_members_alternate_with_the_nodes() {
        let h = Hosts {
            nodes: vec!["n2".into(), "n1".into(), "n3".into()],
            dcs: vec!["e1".into(), "e2".into(), "e3".into()],
        };
        assert_eq!(h.ring(), ["n2", "e1", "n1", "e2", "n3", "e3"]);
        // Halves: the leader's half has two nodes and one member (a DCS minority).
        let Shape::Drops(p) = resolve(&"halves".parse().unwrap(), &h).unwrap().0 else { panic!() };
        assert!(hears(&p, "n2", "e1") && hears(&p, "n1", "n2") && !hears(&p, "n2", "e2") && !hears(&p, "n1", "n3"));
        assert!(hears(&p, "n3", "e2") && hears(&p, "e3", "e2") && !hears(&p, "e1", "e3"));
        // Bridge: the second member hears both halves.
        let (Shape::Drops(b), bridge) = resolve(&"bridge".parse().unwrap(), &h).unwrap() else { panic!() };
        assert_eq!(bridge, "e2");
        assert!(hears(&b, "e2", "n2") && hears(&b, "e2", "e3") && !hears(&b, "e1", "e3") && !hears(&b, "n2", "n3"));
        // The leader cut from every member only.
        let Shape::Drops(l) = resolve(&"leader-from-dcs".parse().unwrap(), &h).unwrap().0 else { panic!() };
        assert_eq!(l.len(), 6);
        let e = resolve(&"isolate:dcs".parse().unwrap(), &h).unwrap_err();
        assert!(e.contains("name one (e1, e2, e3)"), "{e}");
        assert_eq!(resolve(&"isolate:e2".parse().unwrap(), &h).unwrap().1, "e2");
        assert!(!hears(&l, "n2", "e3") && hears(&l, "n2", "n1") && hears(&l, "clients", "n2"));
    }

    #[test]
    fn the_reach_of_an_isolated_host_drops_it_both_ways_with_every_host() {
        let r = Reach::of(&Shape::Isolate("s1".into()), &hosts(3));
        assert_eq!(r.hosts, ["primary", "s1", "s2", "clients"]);
        assert_eq!(r.dropped.len(), 6);
        assert!(r.dropped.contains(&["clients".to_string(), "s1".to_string()]));
        let loss = Reach::of(&Shape::Loss { host: "s1".into(), percent: 5 }, &hosts(2));
        assert_eq!((loss.dropped.len(), loss.impaired), (0, vec![["s1".to_string(), "5% loss".to_string()]]));
    }

    #[test]
    fn what_cannot_be_cut_here_says_why() {
        let e = |f: &str, n| resolve(&f.parse().unwrap(), &hosts(n)).unwrap_err();
        assert!(e("leader-from-dcs", 3).contains("coordination service"));
        assert!(e("isolate:dcs", 3).contains("coordination service"));
        assert!(e("isolate:standby", 1).contains("needs a standby"));
        assert!(e("isolate:s7", 3).contains("primary, s1, s2, clients"));
        assert!(e("one-way:s1>s1", 3).contains("itself"));
        assert!(e("bridge", 2).contains("three nodes"));
    }
}
