//! Publishing throttled like BizTalk's "database size" state: once per interval the messages in
//! the MessageBox (host queues plus suspended) are compared with a threshold; above it every
//! publish is delayed, by a delay that doubles each interval the condition lasts (up to a
//! maximum); below it the delay is gone. The publishers read the delay; the interval loop
//! records the state and the delay applied.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::config::ThrottleConfig;
use crate::measure::ThrottleSample;

/// The delay every publish waits now (0: not throttled); shared by the publishers.
#[derive(Debug, Default)]
pub(crate) struct ThrottleGate {
    delay_us: AtomicU64,
}

impl ThrottleGate {
    pub(crate) fn delay(&self) -> Duration {
        Duration::from_micros(self.delay_us.load(Ordering::Relaxed))
    }

    fn set(&self, d: Duration) {
        self.delay_us.store(u64::try_from(d.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

/// Decides the delay from the sampled message count.
#[derive(Debug)]
pub(crate) struct ThrottleController {
    cfg: ThrottleConfig,
    delay: Duration,
}

impl ThrottleController {
    pub(crate) fn new(cfg: ThrottleConfig) -> ThrottleController {
        ThrottleController { cfg, delay: Duration::ZERO }
    }

    /// The next interval's delay from this interval's message count; an interval that could not
    /// be sampled keeps the current state (a database too busy to answer is no reason to stop
    /// throttling).
    pub(crate) fn update(&mut self, messages: Option<i64>, gate: &ThrottleGate) -> ThrottleSample {
        if let Some(n) = messages {
            self.delay = if n as u64 >= self.cfg.threshold {
                (self.delay * 2).max(self.cfg.initial_delay).min(self.cfg.max_delay)
            } else {
                Duration::ZERO
            };
        }
        gate.set(self.delay);
        ThrottleSample { throttled: !self.delay.is_zero(), delay: self.delay, messages }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_while_the_count_is_over_the_threshold_and_ends_below_it() {
        let cfg = ThrottleConfig {
            threshold: 100,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        };
        let gate = ThrottleGate::default();
        let mut c = ThrottleController::new(cfg);
        let ms = |s: ThrottleSample| (s.throttled, s.delay.as_millis());
        assert_eq!(ms(c.update(Some(99), &gate)), (false, 0));
        assert_eq!(ms(c.update(Some(100), &gate)), (true, 10));
        assert_eq!(gate.delay(), Duration::from_millis(10), "publishers see it");
        assert_eq!(ms(c.update(Some(150), &gate)), (true, 20));
        assert_eq!(ms(c.update(None, &gate)), (true, 20), "no sample: the state is kept");
        assert_eq!(ms(c.update(Some(150), &gate)), (true, 40));
        assert_eq!(ms(c.update(Some(150), &gate)), (true, 50), "capped at the maximum");
        assert_eq!(ms(c.update(Some(20), &gate)), (false, 0));
        assert_eq!(gate.delay(), Duration::ZERO);
    }
}
