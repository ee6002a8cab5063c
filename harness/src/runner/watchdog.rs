//! A worker's operation timeout without a timer per operation: one sleep per worker. It is
//! never moved when an operation starts; when it fires during an operation whose own deadline is
//! still ahead, it is re-armed at that deadline. A worker doing operations back to back is thus
//! woken by it about once per timeout, not once per operation, and every operation still times
//! out exactly at its start plus the timeout.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::time::{Instant as TokioInstant, Sleep};

#[derive(Debug)]
pub(crate) struct Watchdog {
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
}

/// The operation had no answer within the timeout (it was dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimedOut;

impl Watchdog {
    pub(crate) fn new(timeout: Duration) -> Watchdog {
        Watchdog { timeout, sleep: Box::pin(tokio::time::sleep(timeout)) }
    }

    /// Runs `op`, started at `start`, until it ends or `start + timeout` passes.
    pub(crate) async fn run<F: Future>(&mut self, start: Instant, op: F) -> Result<F::Output, TimedOut> {
        // tokio's clock (the same as std's, except in tests with paused time).
        let deadline = TokioInstant::from_std(start) + self.timeout;
        tokio::pin!(op);
        loop {
            tokio::select! {
                biased;
                out = &mut op => return Ok(out),
                _ = &mut self.sleep => {
                    let now = TokioInstant::now();
                    if now >= deadline {
                        self.sleep.as_mut().reset(now + self.timeout);
                        return Err(TimedOut);
                    }
                    self.sleep.as_mut().reset(deadline);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_operation_times_out_at_its_own_deadline_however_old_the_sleep() {
        let mut w = Watchdog::new(Duration::from_secs(30));
        // Quick operations for longer than the timeout: the sleep fires once, early, and is re-armed.
        for _ in 0..40 {
            let r = w.run(TokioInstant::now().into_std(), tokio::time::sleep(Duration::from_secs(1))).await;
            assert_eq!(r, Ok(()));
        }
        let start = TokioInstant::now().into_std();
        let r = w.run(start, std::future::pending::<()>()).await;
        assert_eq!(r, Err(TimedOut));
        let waited = TokioInstant::now().into_std() - start;
        assert!(waited >= Duration::from_secs(30) && waited < Duration::from_millis(30_010), "{waited:?}");
        // And the next operation gets its full time again.
        let r = w.run(TokioInstant::now().into_std(), tokio::time::sleep(Duration::from_secs(29))).await;
        assert_eq!(r, Ok(()));
    }
}
