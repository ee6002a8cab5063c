//! Operation timeouts without a timer in the runtime that runs the operation. Each worker has a
//! slot where it writes when its operation started; one OS thread of the run looks at every
//! slot every few milliseconds and wakes the worker whose operation is past its timeout. A
//! worker's operation thus costs two atomic stores and no timer: a client thread's runtime
//! with no timer waits for its sockets without a timeout, as pgbench's loop does (a timer per
//! operation, or one re-armed per timeout, cost about 2 µs of CPU per publish at 17,000/s).
//!
//! An operation times out between its start plus the timeout and one tick (5 ms) later.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;

/// How often the watching thread looks at the slots.
const TICK: Duration = Duration::from_millis(5);
/// A slot's `started` when no operation runs.
const IDLE: u64 = 0;
/// A slot's `started` once the watching thread found its operation overdue.
const EXPIRED: u64 = u64::MAX;

/// The operation had no answer within the timeout (it was dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimedOut;

/// Aligned to two cache lines: each worker's slot is written at every operation, by workers
/// on different threads, and must not share a line (or its prefetched neighbour) with another's.
#[derive(Debug)]
#[repr(align(128))]
struct Slot {
    timeout_ns: u64,
    /// Nanoseconds since the watch's origin, plus one, when the running operation started;
    /// `IDLE` or `EXPIRED` otherwise.
    started: AtomicU64,
    waker: AtomicWaker,
}

#[derive(Debug)]
struct Inner {
    origin: Instant,
    slots: Mutex<Vec<Weak<Slot>>>,
    stop: AtomicBool,
}

/// The watch of one run: its thread ends within a tick of its drop (not joined: a drop on a
/// runtime's thread does not wait for it).
#[derive(Debug)]
pub(crate) struct OpWatch {
    inner: Arc<Inner>,
}

impl OpWatch {
    /// Starts the watching thread.
    pub(crate) fn start() -> OpWatch {
        let inner = Arc::new(Inner { origin: Instant::now(), slots: Mutex::default(), stop: AtomicBool::new(false) });
        let watched = inner.clone();
        let spawned = std::thread::Builder::new()
            .name("habench-op-watch".into())
            // This thread only sleeps, reads atomics and wakes tasks: its sleeps block nothing.
            .spawn(move || watch(&watched));
        if let Err(e) = spawned {
            tracing::error!("no operation timeouts: {e}");
        }
        OpWatch { inner }
    }

    /// A worker's watchdog: its operations time out after `timeout`.
    pub(crate) fn watchdog(&self, timeout: Duration) -> Watchdog {
        let slot = Arc::new(Slot {
            timeout_ns: timeout.as_nanos().min(u128::from(u64::MAX / 2)) as u64,
            started: AtomicU64::new(IDLE),
            waker: AtomicWaker::new(),
        });
        let mut slots = self.inner.slots.lock().expect("slots lock");
        slots.retain(|s| s.strong_count() > 0);
        slots.push(Arc::downgrade(&slot));
        Watchdog { slot, origin: self.inner.origin }
    }
}

impl Drop for OpWatch {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::Relaxed);
    }
}

/// One worker's operation timeout (one operation at a time).
#[derive(Debug)]
pub(crate) struct Watchdog {
    slot: Arc<Slot>,
    origin: Instant,
}

impl Watchdog {
    /// Runs `op`, started at `start`, until it ends or its timeout passes.
    pub(crate) async fn run<F: Future>(&mut self, start: Instant, op: F) -> Result<F::Output, TimedOut> {
        let ns = start.saturating_duration_since(self.origin).as_nanos() as u64;
        self.slot.started.store(ns.saturating_add(1).min(EXPIRED - 1), Ordering::Release);
        let mut op = std::pin::pin!(op);
        let slot = &*self.slot;
        let out = std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = op.as_mut().poll(cx) {
                return Poll::Ready(Ok(out));
            }
            // Registered before the check: a mark made after the check wakes this task.
            slot.waker.register(cx.waker());
            if slot.started.load(Ordering::Acquire) == EXPIRED {
                return Poll::Ready(Err(TimedOut));
            }
            Poll::Pending
        })
        .await;
        slot.started.store(IDLE, Ordering::Release);
        out
    }
}

/// The watching thread's loop.
fn watch(inner: &Inner) {
    let mut slots: Vec<Arc<Slot>> = Vec::new();
    while !inner.stop.load(Ordering::Relaxed) {
        // This is the watch's own OS thread, not a runtime: sleeping here holds up nothing.
        std::thread::sleep(TICK);
        let now = Instant::now().saturating_duration_since(inner.origin).as_nanos() as u64 + 1;
        slots.clear();
        slots.extend(inner.slots.lock().expect("slots lock").iter().filter_map(Weak::upgrade));
        for s in &slots {
            let started = s.started.load(Ordering::Acquire);
            let overdue = started != IDLE && started != EXPIRED && now.saturating_sub(started) >= s.timeout_ns;
            // Only the operation that was seen overdue is marked: one that ended and a next one
            // that started meanwhile keep their time.
            if overdue && s.started.compare_exchange(started, EXPIRED, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                s.waker.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn quick_operations_never_time_out_and_a_hung_one_does_at_its_own_deadline() {
        let watch = OpWatch::start();
        let mut w = watch.watchdog(Duration::from_millis(60));
        // Quick operations for longer than the timeout: none times out.
        let began = Instant::now();
        while began.elapsed() < Duration::from_millis(200) {
            let r = w.run(Instant::now(), tokio::task::yield_now()).await;
            assert_eq!(r, Ok(()));
        }
        let start = Instant::now();
        let r = w.run(start, std::future::pending::<()>()).await;
        assert_eq!(r, Err(TimedOut));
        let waited = start.elapsed();
        // At its deadline, within the watch's tick and this machine's scheduling.
        assert!(waited >= Duration::from_millis(60) && waited < Duration::from_secs(2), "{waited:?}");
        // And the next operation gets its full time again.
        let r = w.run(Instant::now(), tokio::time::sleep(Duration::from_millis(30))).await;
        assert_eq!(r, Ok(()));
    }

    #[test]
    fn an_operation_on_a_timerless_runtime_times_out() {
        let watch = OpWatch::start();
        let mut w = watch.watchdog(Duration::from_millis(20));
        // No timer driver at all: only the watching thread can end the wait.
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let r = rt.block_on(w.run(Instant::now(), std::future::pending::<()>()));
        assert_eq!(r, Err(TimedOut));
    }
}
