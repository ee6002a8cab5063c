//! habench watching itself: a stall detector. A dedicated OS thread wakes every few
//! milliseconds; each runtime of a run (the main one, every client thread's) runs a heartbeat
//! task, and the thread asks each of them to beat every `BEAT` (it wakes the task; the task
//! writes the time it ran). No timer in the runtimes: a client thread's runtime waits for its
//! sockets only. The thread finds
//! - a runtime stall: a beat that came more than the threshold after it was asked for (that
//!   runtime did not run its tasks: something blocked it), and
//! - a process stall: the thread itself woke more than the threshold late (the whole process
//!   was stopped, `kill -STOP`, or starved of CPU); runtime stalls inside it are its echo and
//!   are not counted twice.
//!
//! Measurement only: the stalls are handed over as instants and durations, never formatted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a runtime's heartbeat task is asked to beat.
pub(crate) const BEAT: Duration = Duration::from_millis(10);
/// How often the watching thread wakes.
const TICK: Duration = Duration::from_millis(5);
/// A pause shorter than this is not recorded.
pub(crate) const RECORD_OVER: Duration = Duration::from_millis(50);

/// One stall of habench itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Stall {
    /// `main`, `client-N`, or `process` (the whole process stopped or starved).
    pub runtime: String,
    pub start: Instant,
    pub duration: Duration,
    /// Still going on when the detector stopped.
    pub ongoing: bool,
}

#[derive(Debug)]
struct Beat {
    name: String,
    /// Nanoseconds since the detector's origin at the last beat.
    last_ns: AtomicU64,
    /// When the watching thread last asked for a beat.
    asked_ns: AtomicU64,
    active: AtomicBool,
    ask: tokio::sync::Notify,
}

impl Beat {
    /// Asked and not answered yet.
    fn waiting(&self) -> Option<u64> {
        let asked = self.asked_ns.load(Ordering::Relaxed);
        (asked > self.last_ns.load(Ordering::Relaxed)).then_some(asked)
    }
}

#[derive(Debug)]
struct Inner {
    origin: Instant,
    beats: Mutex<Vec<Arc<Beat>>>,
    stalls: Mutex<Vec<Stall>>,
    stop: AtomicBool,
    /// The longest lateness seen of any heartbeat or of the watching thread, recorded or not.
    largest_late_ns: AtomicU64,
}

impl Inner {
    fn ns(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.origin).as_nanos() as u64
    }

    fn at(&self, ns: u64) -> Instant {
        self.origin + Duration::from_nanos(ns)
    }
}

/// The detector of one run: its thread runs until `finish`.
#[derive(Debug)]
pub(crate) struct StallDetector {
    inner: Arc<Inner>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StallDetector {
    /// Starts the watching thread.
    pub(crate) fn start() -> StallDetector {
        let inner = Arc::new(Inner {
            origin: Instant::now(),
            beats: Mutex::default(),
            stalls: Mutex::default(),
            stop: AtomicBool::new(false),
            largest_late_ns: AtomicU64::new(0),
        });
        let watched = inner.clone();
        let thread = std::thread::Builder::new()
            .name("habench-stall-watch".into())
            // This thread only sleeps and reads atomics: its sleeps block nothing else.
            .spawn(move || watch(&watched))
            .map_err(|e| tracing::warn!("no stall detector: {e}"))
            .ok();
        StallDetector { inner, thread }
    }

    /// A heartbeat for the runtime that will run the returned future (spawn it there). The
    /// runtime is watched while the future lives.
    pub(crate) fn heartbeat(&self, runtime: &str) -> impl std::future::Future<Output = ()> + Send + 'static {
        heartbeat(&self.inner, runtime)
    }

    /// A handle to hand to other threads (client threads register their own heartbeat).
    pub(crate) fn handle(&self) -> StallHandle {
        StallHandle(self.inner.clone())
    }

    /// The longest any runtime (or the process) was late so far, stalls under the recording
    /// threshold included: what a healthy run's margin is.
    pub(crate) fn largest_lateness(&self) -> Duration {
        Duration::from_nanos(self.inner.largest_late_ns.load(Ordering::Relaxed))
    }

    /// Stops the thread; returns every stall seen, in time order (one still going on included).
    pub(crate) fn finish(mut self) -> Vec<Stall> {
        self.stop_thread();
        let now = Instant::now();
        let mut stalls = std::mem::take(&mut *self.inner.stalls.lock().expect("stalls lock"));
        for b in self.inner.beats.lock().expect("beats lock").iter() {
            let Some(asked) = b.waiting().map(|ns| self.inner.at(ns)) else { continue };
            let late = now.saturating_duration_since(asked);
            if b.active.load(Ordering::Relaxed) && late > RECORD_OVER {
                stalls.push(Stall { runtime: b.name.clone(), start: asked, duration: late, ongoing: true });
            }
        }
        stalls.sort_by_key(|s| s.start);
        stalls
    }

    fn stop_thread(&mut self) {
        self.inner.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for StallDetector {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

/// What a client thread needs to register its runtime's heartbeat.
#[derive(Debug, Clone)]
pub(crate) struct StallHandle(Arc<Inner>);

impl StallHandle {
    pub(crate) fn heartbeat(&self, runtime: &str) -> impl std::future::Future<Output = ()> + Send + 'static {
        heartbeat(&self.0, runtime)
    }
}

/// The heartbeat task of one runtime: writes the time whenever it is asked, while it lives.
fn heartbeat(inner: &Arc<Inner>, runtime: &str) -> impl std::future::Future<Output = ()> + Send + 'static {
    let now = inner.ns(Instant::now());
    let beat = Arc::new(Beat {
        name: runtime.to_string(),
        last_ns: AtomicU64::new(now),
        asked_ns: AtomicU64::new(now),
        active: AtomicBool::new(true),
        ask: tokio::sync::Notify::new(),
    });
    inner.beats.lock().expect("beats lock").push(beat.clone());
    let inner = inner.clone();
    async move {
        let _off = BeatOff(beat.clone());
        loop {
            beat.ask.notified().await;
            beat.last_ns.store(inner.ns(Instant::now()), Ordering::Relaxed);
        }
    }
}

/// Marks a heartbeat inactive when its task ends or its runtime is dropped.
struct BeatOff(Arc<Beat>);

impl Drop for BeatOff {
    fn drop(&mut self) {
        self.0.active.store(false, Ordering::Relaxed);
    }
}

/// The watching thread's loop.
fn watch(inner: &Inner) {
    let mut prev_tick = Instant::now();
    while !inner.stop.load(Ordering::Relaxed) {
        // This is the detector's own OS thread, not a runtime: sleeping here holds up nothing.
        std::thread::sleep(TICK);
        let now = Instant::now();
        let late = now.saturating_duration_since(prev_tick).saturating_sub(TICK);
        inner.largest_late_ns.fetch_max(late.as_nanos() as u64, Ordering::Relaxed);
        if late > RECORD_OVER {
            record(inner, Stall { runtime: "process".into(), start: prev_tick + TICK, duration: late, ongoing: false });
        }
        prev_tick = now;
        let now_ns = inner.ns(now);
        let beats = inner.beats.lock().expect("beats lock").clone();
        for b in beats.iter().filter(|b| b.active.load(Ordering::Relaxed)) {
            if b.waiting().is_some() {
                continue;
            }
            // The last ask was answered: how late, and time for the next one?
            let (asked, last) = (b.asked_ns.load(Ordering::Relaxed), b.last_ns.load(Ordering::Relaxed));
            let gap = Duration::from_nanos(last - asked);
            inner.largest_late_ns.fetch_max(gap.as_nanos() as u64, Ordering::Relaxed);
            if gap > RECORD_OVER {
                record(inner, Stall { runtime: b.name.clone(), start: inner.at(asked), duration: gap, ongoing: false });
                // Recorded once: the answer is the next ask's origin.
                b.asked_ns.store(last, Ordering::Relaxed);
            }
            if now_ns.saturating_sub(asked.max(last)) >= BEAT.as_nanos() as u64 {
                b.asked_ns.store(now_ns, Ordering::Relaxed);
                b.ask.notify_one();
            }
        }
    }
}

/// Keeps a stall, unless it lies within a process stall already kept (its echo), and drops
/// earlier runtime stalls that a process stall covers.
fn record(inner: &Inner, stall: Stall) {
    let mut stalls = inner.stalls.lock().expect("stalls lock");
    let slack = BEAT + TICK * 2;
    let covers = |p: &Stall, s: &Stall| {
        p.runtime == "process" && s.start + slack >= p.start && s.start + s.duration <= p.start + p.duration + slack
    };
    if stall.runtime == "process" {
        stalls.retain(|s| !covers(&stall, s));
    } else if stalls.iter().any(|p| covers(p, &stall)) {
        return;
    }
    stalls.push(stall);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn a_blocked_runtime_is_a_stall_of_that_runtime_and_a_busy_one_is_not() {
        let d = StallDetector::start();
        let rt = runtime();
        rt.block_on(async {
            tokio::spawn(d.heartbeat("main"));
            // Yielding work: no stall.
            for _ in 0..20 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // The runtime's thread blocked for 300 ms: a stall of about that.
            std::thread::sleep(Duration::from_millis(300));
            tokio::time::sleep(Duration::from_millis(50)).await;
        });
        drop(rt);
        let stalls = d.finish();
        assert_eq!(stalls.len(), 1, "{stalls:?}");
        assert_eq!(stalls[0].runtime, "main");
        let ms = stalls[0].duration.as_millis();
        assert!((230..=400).contains(&ms), "{ms} ms");
        assert!(!stalls[0].ongoing);
    }

    #[test]
    fn a_runtime_still_blocked_at_the_end_is_an_ongoing_stall_and_an_ended_one_is_none() {
        let d = StallDetector::start();
        let h = d.handle();
        // A client thread whose runtime ended: its heartbeat is off, no stall.
        std::thread::spawn(move || {
            runtime().block_on(async {
                tokio::spawn(h.heartbeat("client-0"));
                tokio::time::sleep(Duration::from_millis(20)).await;
            })
        })
        .join()
        .unwrap();
        // The main runtime blocked when the detector stops.
        let rt = runtime();
        rt.block_on(async {
            tokio::spawn(d.heartbeat("main"));
            tokio::time::sleep(Duration::from_millis(20)).await;
        });
        std::thread::sleep(Duration::from_millis(200));
        let stalls = d.finish();
        drop(rt);
        assert_eq!(stalls.len(), 1, "{stalls:?}");
        assert_eq!(stalls[0].runtime, "main");
        assert!(stalls[0].ongoing && stalls[0].duration >= Duration::from_millis(150));
    }

    #[test]
    fn runtime_stalls_inside_a_process_stall_are_its_echo() {
        let inner = Inner {
            origin: Instant::now(),
            beats: Mutex::default(),
            stalls: Mutex::default(),
            stop: AtomicBool::new(false),
            largest_late_ns: AtomicU64::new(0),
        };
        let t0 = inner.origin + Duration::from_secs(1);
        let stall = |rt: &str, from_ms: u64, ms: u64| Stall {
            runtime: rt.into(),
            start: t0 + Duration::from_millis(from_ms),
            duration: Duration::from_millis(ms),
            ongoing: false,
        };
        record(&inner, stall("client-0", 3, 1995));
        record(&inner, stall("process", 0, 2000));
        record(&inner, stall("main", 8, 1990));
        record(&inner, stall("main", 5000, 120));
        let kept: Vec<(String, u128)> =
            inner.stalls.lock().unwrap().iter().map(|s| (s.runtime.clone(), s.duration.as_millis())).collect();
        assert_eq!(kept, vec![("process".into(), 2000), ("main".into(), 120)]);
    }
}
