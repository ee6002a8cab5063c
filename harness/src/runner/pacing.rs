//! The open-loop publish schedule: intended start times at a fixed rate, uniform or Poisson
//! (exponential gaps from the run's seed). Workers take the next slot; a slot's latency counts
//! from its intended start whether or not a worker was free then (no coordinated omission).

use std::time::{Duration, Instant};

use habench_workloads::rng::Rng;

use crate::config::Arrival;

#[derive(Debug)]
pub(crate) struct Schedule {
    start: Instant,
    end: Instant,
    mean_gap_s: f64,
    arrival: Arrival,
    rng: Rng,
    next_offset_s: f64,
    seq: u64,
    /// Rate changes still to come: (seconds from `start`, publishes/s), in time order.
    changes: Vec<(f64, f64)>,
}

impl Schedule {
    pub(crate) fn new(start: Instant, end: Instant, rate: f64, arrival: Arrival, seed: u64) -> Schedule {
        Schedule::with_changes(start, end, rate, Vec::new(), arrival, seed)
    }

    /// A schedule whose rate changes at the given offsets from its start (seconds,
    /// publishes/s). Poisson arrivals stay Poisson across a change (no memory: from the change
    /// on, the next gap is drawn at the new rate).
    pub(crate) fn with_changes(
        start: Instant,
        end: Instant,
        rate: f64,
        mut changes: Vec<(f64, f64)>,
        arrival: Arrival,
        seed: u64,
    ) -> Schedule {
        changes.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut s = Schedule {
            start,
            end,
            mean_gap_s: 1.0 / rate,
            arrival,
            rng: Rng::new(seed).fork(0xA11),
            next_offset_s: 0.0,
            seq: 0,
            changes,
        };
        s.advance();
        s
    }

    /// Moves `next_offset_s` to the next slot, applying the rate changes it passes.
    fn advance(&mut self) {
        let mut from = self.next_offset_s;
        loop {
            let next = from + self.gap();
            match self.changes.first().copied() {
                Some((at, rate)) if next >= at => {
                    from = at;
                    self.mean_gap_s = 1.0 / rate;
                    self.changes.remove(0);
                }
                _ => {
                    self.next_offset_s = next;
                    return;
                }
            }
        }
    }

    fn gap(&mut self) -> f64 {
        match self.arrival {
            Arrival::Uniform => self.mean_gap_s,
            Arrival::Poisson => self.rng.exponential(self.mean_gap_s),
        }
    }

    /// Slots not handed out yet (consumes them).
    pub(crate) fn take_remaining(&mut self) -> u64 {
        let mut n = 0;
        while self.next_slot().is_some() {
            n += 1;
        }
        n
    }

    /// The next slot (sequence number from 0, intended start), or None past the end.
    pub(crate) fn next_slot(&mut self) -> Option<(u64, Instant)> {
        let at = self.start + Duration::from_secs_f64(self.next_offset_s);
        if at >= self.end {
            return None;
        }
        let slot = (self.seq, at);
        self.seq += 1;
        self.advance();
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(arrival: Arrival, rate: f64, secs: u64, seed: u64) -> (u64, Vec<Instant>) {
        let start = Instant::now();
        let mut s = Schedule::new(start, start + Duration::from_secs(secs), rate, arrival, seed);
        let mut times = Vec::new();
        while let Some((seq, at)) = s.next_slot() {
            assert_eq!(seq as usize, times.len());
            times.push(at);
        }
        (times.len() as u64, times)
    }

    #[test]
    fn uniform_slots_are_evenly_spaced_at_the_rate() {
        let (n, t) = count(Arrival::Uniform, 100.0, 10, 1);
        assert_eq!(n, 999, "slots at 10ms, 20ms, ... 9990ms");
        let gap = t[1] - t[0];
        assert!((gap.as_secs_f64() - 0.01).abs() < 1e-6);
    }

    #[test]
    fn a_rate_change_takes_effect_at_its_offset() {
        let start = Instant::now();
        for arrival in [Arrival::Uniform, Arrival::Poisson] {
            let changes = vec![(10.0, 300.0), (5.0, 200.0)];
            let mut s = Schedule::with_changes(start, start + Duration::from_secs(20), 100.0, changes, arrival, 5);
            let mut per_5s = [0u32; 4];
            while let Some((_, at)) = s.next_slot() {
                per_5s[((at - start).as_secs_f64() / 5.0) as usize] += 1;
            }
            // 100/s for 5 s, 200/s for 5 s, then 300/s (changes given out of order).
            let want = [500.0, 1000.0, 1500.0, 1500.0];
            for (got, want) in per_5s.iter().zip(want) {
                assert!((*got as f64 - want).abs() <= want * 0.12, "{arrival:?}: {per_5s:?}");
            }
        }
    }

    #[test]
    fn poisson_slots_average_the_rate_and_repeat_with_the_seed() {
        let (n, a) = count(Arrival::Poisson, 1000.0, 20, 7);
        assert!((19_400..20_600).contains(&n), "{n}");
        let (_, b) = count(Arrival::Poisson, 1000.0, 20, 7);
        let first = |v: &Vec<Instant>| (v[1] - v[0], v[2] - v[1]);
        assert_eq!(first(&a), first(&b), "same seed, same gaps");
        assert!(a.windows(2).all(|w| w[1] >= w[0]));
    }
}
