//! A clustered receive host: one instance is active and beats; the others watch the beat and
//! the first to see it missed for `threshold` intervals takes over (a cluster service that
//! moves a resource group).

use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Lease {
    holder: u16,
    last_beat: Instant,
}

/// What an instance may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Active,
    /// It took over from this instance just now.
    TookOver {
        from: u16,
    },
    Waiting,
}

impl Lease {
    pub(crate) fn held_by(n: u16) -> Lease {
        Lease { holder: n, last_beat: Instant::now() }
    }

    /// The holder's heartbeat; false when `n` no longer holds the lease.
    pub(crate) fn beat(&mut self, n: u16, now: Instant) -> bool {
        if self.holder == n {
            self.last_beat = now;
        }
        self.holder == n
    }

    /// Instance `n` asks at `now`: the holder beats and stays active; another instance takes
    /// over once the holder has not beaten for `dead_after`.
    pub(crate) fn ask(&mut self, n: u16, now: Instant, dead_after: Duration) -> Role {
        if self.holder == n {
            self.last_beat = now;
            return Role::Active;
        }
        if now.saturating_duration_since(self.last_beat) > dead_after {
            let from = self.holder;
            self.holder = n;
            self.last_beat = now;
            return Role::TookOver { from };
        }
        Role::Waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_instance_takes_over_only_after_the_beat_stops_for_long_enough() {
        let t0 = Instant::now();
        let dead_after = Duration::from_secs(3);
        let mut l = Lease { holder: 1, last_beat: t0 };
        assert_eq!(l.ask(2, t0 + Duration::from_secs(2), dead_after), Role::Waiting);
        assert_eq!(l.ask(1, t0 + Duration::from_secs(2), dead_after), Role::Active);
        assert_eq!(l.ask(2, t0 + Duration::from_secs(5), dead_after), Role::Waiting);
        assert_eq!(l.ask(2, t0 + Duration::from_millis(5001), dead_after), Role::TookOver { from: 1 });
        assert_eq!(l.ask(1, t0 + Duration::from_secs(6), dead_after), Role::Waiting);
        assert_eq!(l.ask(2, t0 + Duration::from_secs(6), dead_after), Role::Active);
    }
}
