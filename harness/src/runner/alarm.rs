//! Waking a worker at an intended start with microsecond precision.
//!
//! tokio's timers tick in whole milliseconds and round a deadline up to the next tick, so an
//! open-loop worker woke on average ~0.5-1 ms after its intended start, and since latency counts
//! from the intended start, every open-loop latency carried that lateness (measured: insert p50
//! 1.37 ms at 1,000/s where pgbench, whose `select()` timeouts are in µs, saw 0.48 ms mean). An
//! `Alarm` is a timerfd of CLOCK_MONOTONIC (the clock of `std::time::Instant`) armed at an
//! absolute time and awaited through the runtime's reactor: the kernel's high-resolution timer
//! wakes the worker, at the cost of one `timerfd_settime` per wait.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use nix::time::{clock_gettime, ClockId as Clock};
use tokio::io::unix::AsyncFd;
use tokio::sync::watch;

#[derive(Debug)]
pub(crate) struct Alarm {
    fd: AsyncFd<Timer>,
    /// One instant and the same moment on CLOCK_MONOTONIC, to translate instants.
    origin: (Instant, Duration),
}

/// The timerfd, as the reactor wants it (a raw descriptor).
#[derive(Debug)]
struct Timer(TimerFd);

impl AsRawFd for Timer {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

fn monotonic_now() -> Duration {
    clock_gettime(Clock::CLOCK_MONOTONIC).map(Duration::from).unwrap_or_default()
}

impl Alarm {
    /// A new alarm; must be called inside a runtime with I/O enabled.
    pub(crate) fn new() -> io::Result<Alarm> {
        let timer = TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC)?;
        // SAFETY: the TimerFd stays open and is the same descriptor for the AsyncFd's lifetime
        // (the AsyncFd owns it; nothing else has it).
        let fd = unsafe { AsyncFd::register_with_interest(Timer(timer), tokio::io::Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Alarm { fd, origin: (Instant::now(), monotonic_now()) })
    }

    /// Returns at `at` (at once when it has passed).
    pub(crate) async fn wait_until(&mut self, at: Instant) -> io::Result<()> {
        if at <= Instant::now() {
            return Ok(());
        }
        let t = self.origin.1 + at.saturating_duration_since(self.origin.0);
        self.fd
            .get_ref()
            .0
            .set(Expiration::OneShot(TimeSpec::from_duration(t)), TimerSetTimeFlags::TFD_TIMER_ABSTIME)?;
        // The expiration count is never read: re-arming resets it, and the reactor (edge
        // triggered) hears of the next expiration all the same. One system call per wait.
        loop {
            let mut guard = self.fd.readable().await?;
            guard.clear_ready();
            if Instant::now() >= at {
                return Ok(());
            }
        }
    }
}

/// Waits until `at` on `alarm` (tokio's millisecond timer without one) unless `stop` changes
/// first. Returns true when it woke at `at`, false when stopped.
pub(crate) async fn wait_unless_stopped(
    alarm: Option<&mut Alarm>,
    at: Instant,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    match alarm {
        Some(a) => tokio::select! {
            r = a.wait_until(at) => {
                if r.is_err() {
                    // The timerfd failed: the coarse timer still ends the wait.
                    tokio::time::sleep_until(at.into()).await;
                }
                true
            }
            _ = stop.changed() => false,
        },
        None => tokio::select! {
            _ = tokio::time::sleep_until(at.into()) => true,
            _ = stop.changed() => false,
        },
    }
}

/// An alarm for an open-loop worker; without a timerfd the worker paces with tokio's timers and
/// the run's error log says so.
pub(crate) fn for_worker(note: impl FnOnce(&str)) -> Option<Alarm> {
    match Alarm::new() {
        Ok(a) => Some(a),
        Err(e) => {
            note(&format!("no timerfd ({e}); pacing with millisecond timers"));
            None
        }
    }
}

/// Lets the calling thread's timers fire within `slack` of their time (the default is 50 µs).
pub(crate) fn set_timer_slack(slack: Duration) {
    // Affects only the calling thread; a refusal leaves the default slack.
    let _ = nix::sys::prctl::set_timerslack(slack.as_nanos() as nix::libc::c_ulong);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_alarm_never_wakes_early_and_is_later_than_tokios_timer_by_less() {
        set_timer_slack(Duration::from_micros(1));
        let mut a = Alarm::new().unwrap();
        let (mut alarm_late, mut tokio_late) = (Vec::new(), Vec::new());
        let start = Instant::now();
        for k in 1..=40u64 {
            // Deadlines off the millisecond grid, the alarm and tokio's timer in turn, so that
            // both see the same machine: the comparison is within one run, not against a bound.
            let at = start + Duration::from_micros(1_300 * k + 37);
            if k % 2 == 0 {
                a.wait_until(at).await.unwrap();
                let late = Instant::now().checked_duration_since(at);
                alarm_late.push(late.unwrap_or_else(|| panic!("the alarm woke early at wait {k}")));
            } else {
                tokio::time::sleep_until(at.into()).await;
                tokio_late.push(Instant::now().saturating_duration_since(at));
            }
        }
        alarm_late.sort();
        tokio_late.sort();
        let (alarm, tokio) = (alarm_late[alarm_late.len() / 2], tokio_late[tokio_late.len() / 2]);
        // tokio rounds a deadline up to its next millisecond tick: ~0.5 ms late on average.
        assert!(alarm < tokio, "median lateness: alarm {alarm:?}, tokio {tokio:?}");
        let before = Instant::now();
        a.wait_until(before - Duration::from_millis(1)).await.unwrap();
        a.wait_until(before).await.unwrap();
    }
}
