//! The network load balancer in front of parallel groups: publishes go round-robin to the
//! groups in its rotation. Its health probes (the runner's) take a group out after failed
//! probes and put it back after one that answers; a planned drain takes it out at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::pg::Endpoint;

/// One group as the balancer and the workers see it.
#[derive(Debug)]
pub struct Group {
    /// `g1`, `g2`...
    pub name: String,
    /// The group's write endpoint (its own listener).
    pub endpoint: Endpoint,
    in_rotation: AtomicBool,
    drained: AtomicBool,
    gone: AtomicBool,
}

impl Group {
    pub(crate) fn new(name: String, endpoint: Endpoint) -> Group {
        Group {
            name,
            endpoint,
            in_rotation: AtomicBool::new(true),
            drained: AtomicBool::new(false),
            gone: AtomicBool::new(false),
        }
    }

    /// Whether the probes see the group healthy.
    pub(crate) fn in_rotation(&self) -> bool {
        self.in_rotation.load(Ordering::Relaxed)
    }

    /// Sets what the probes saw; true when that changed it.
    pub(crate) fn set_in_rotation(&self, up: bool) -> bool {
        self.in_rotation.swap(up, Ordering::Relaxed) != up
    }

    /// Planned maintenance: no new publishes while set.
    pub(crate) fn set_drained(&self, drained: bool) {
        self.drained.store(drained, Ordering::Relaxed);
    }

    pub(crate) fn is_drained(&self) -> bool {
        self.drained.load(Ordering::Relaxed)
    }

    /// The group crashed and will not come back in this run: nothing of it can be read.
    pub(crate) fn set_gone(&self) {
        self.gone.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }

    fn accepts(&self) -> bool {
        self.in_rotation() && !self.is_drained()
    }
}

/// The groups, in rotation order, and the probe's settings.
#[derive(Debug)]
pub struct Balancer {
    groups: Vec<Arc<Group>>,
    next: AtomicUsize,
    pub probe_interval: Duration,
    pub probe_threshold: u32,
}

impl Balancer {
    pub(crate) fn new(groups: Vec<Arc<Group>>, probe_interval: Duration, probe_threshold: u32) -> Balancer {
        assert!(!groups.is_empty(), "a balancer needs a group");
        Balancer { groups, next: AtomicUsize::new(0), probe_interval, probe_threshold }
    }

    pub(crate) fn groups(&self) -> &[Arc<Group>] {
        &self.groups
    }

    /// The group (index) the next publish goes to: the next in rotation after the last one
    /// picked. With none in rotation it still picks one in turn (a balancer with every backend
    /// down forwards anyway, and the publish fails).
    pub(crate) fn pick(&self) -> usize {
        let n = self.groups.len();
        // The turn moves past every group it skips: the groups in rotation share evenly.
        for _ in 0..n {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % n;
            if self.groups[i].accepts() {
                return i;
            }
        }
        // None in rotation: one more step, so that the next pick starts one further on.
        self.next.fetch_add(1, Ordering::Relaxed) % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn balancer(n: usize) -> Balancer {
        let e = Endpoint::new("host=127.0.0.1 port=1".parse().unwrap());
        let groups = (1..=n).map(|i| Arc::new(Group::new(format!("g{i}"), e.clone()))).collect();
        Balancer::new(groups, Duration::from_secs(1), 2)
    }

    #[test]
    fn publishes_go_round_robin_over_the_groups_in_rotation() {
        let b = balancer(3);
        assert_eq!((0..6).map(|_| b.pick()).collect::<Vec<_>>(), [0, 1, 2, 0, 1, 2]);
        assert!(b.groups()[1].set_in_rotation(false));
        assert!(!b.groups()[1].set_in_rotation(false), "no change the second time");
        let picks: Vec<_> = (0..6).map(|_| b.pick()).collect();
        assert!(picks.iter().all(|&g| g != 1), "{picks:?}");
        assert_eq!(picks.iter().filter(|&&g| g == 0).count(), 3, "the survivors share evenly: {picks:?}");
        b.groups()[2].set_drained(true);
        assert!((0..4).all(|_| b.pick() == 0), "a drained group gets nothing");
    }

    #[test]
    fn with_every_group_out_the_balancer_still_forwards_in_turn() {
        let b = balancer(2);
        for g in b.groups() {
            g.set_in_rotation(false);
        }
        assert_eq!((0..4).map(|_| b.pick()).collect::<Vec<_>>(), [0, 1, 0, 1]);
    }
}
