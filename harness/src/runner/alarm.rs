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
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::sync::watch;

#[derive(Debug)]
pub(crate) struct Alarm {
    fd: AsyncFd<OwnedFd>,
    /// One instant and the same moment on CLOCK_MONOTONIC, to translate instants.
    origin: (Instant, Duration),
}

fn monotonic_now() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec to write to.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Alarm {
    /// A new alarm; must be called inside a runtime with I/O enabled.
    pub(crate) fn new() -> io::Result<Alarm> {
        // SAFETY: plain syscall; the result is checked.
        let raw = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the OwnedFd stays open and is the same descriptor for the AsyncFd's lifetime
        // (the AsyncFd owns it; nothing else has it).
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Alarm { fd, origin: (Instant::now(), monotonic_now()) })
    }

    /// Returns at `at` (at once when it has passed).
    pub(crate) async fn wait_until(&mut self, at: Instant) -> io::Result<()> {
        if at <= Instant::now() {
            return Ok(());
        }
        let t = self.origin.1 + at.saturating_duration_since(self.origin.0);
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec { tv_sec: t.as_secs() as libc::time_t, tv_nsec: t.subsec_nanos() as libc::c_long },
        };
        // SAFETY: a valid descriptor and itimerspec; the old value is not asked for.
        let r =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut()) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
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
    // SAFETY: PR_SET_TIMERSLACK takes the slack in ns and affects only the calling thread.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, slack.as_nanos() as libc::c_ulong, 0, 0, 0) };
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
