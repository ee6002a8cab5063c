//! What a run's host instances and configuration changes did with the master secret: counted
//! by the workers as they go, read once at the end.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::pg::Endpoint;

/// A host instance's start (the run's first, or after its death): it cannot process anything
/// before it has the secret.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InstanceStart {
    pub instance: String,
    /// µs since the Unix epoch: it asked for the secret, and got it (None: never).
    pub asked_us: i64,
    pub got_us: Option<i64>,
    pub failed_attempts: u32,
}

#[derive(Debug)]
pub struct SsoState {
    /// Where the secret is fetched and new encryptions are written.
    pub endpoint: Endpoint,
    pub decrypt_ok: AtomicU64,
    pub decrypt_failed: AtomicU64,
    pub encrypt_ok: AtomicU64,
    pub encrypt_failed: AtomicU64,
    pub encrypt_unknown: AtomicU64,
    pub refresh_ok: AtomicU64,
    pub refresh_failed: AtomicU64,
    /// µs since the Unix epoch of the first and last encryption that did not succeed (0: none).
    first_encrypt_fail_us: AtomicI64,
    last_encrypt_fail_us: AtomicI64,
    starts: Mutex<Vec<InstanceStart>>,
}

impl SsoState {
    pub(crate) fn new(endpoint: Endpoint) -> SsoState {
        SsoState {
            endpoint,
            decrypt_ok: AtomicU64::new(0),
            decrypt_failed: AtomicU64::new(0),
            encrypt_ok: AtomicU64::new(0),
            encrypt_failed: AtomicU64::new(0),
            encrypt_unknown: AtomicU64::new(0),
            refresh_ok: AtomicU64::new(0),
            refresh_failed: AtomicU64::new(0),
            first_encrypt_fail_us: AtomicI64::new(0),
            last_encrypt_fail_us: AtomicI64::new(0),
            starts: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn count(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    /// An encryption that failed or stayed unknown at `at_us`.
    pub(crate) fn encrypt_not_done(&self, at_us: i64) {
        let _ = self.first_encrypt_fail_us.compare_exchange(0, at_us, Ordering::Relaxed, Ordering::Relaxed);
        self.last_encrypt_fail_us.fetch_max(at_us, Ordering::Relaxed);
    }

    /// The first and last encryption that did not succeed (µs since the Unix epoch).
    pub(crate) fn encrypt_fail_span_us(&self) -> Option<(i64, i64)> {
        let first = self.first_encrypt_fail_us.load(Ordering::Relaxed);
        (first != 0).then(|| (first, self.last_encrypt_fail_us.load(Ordering::Relaxed)))
    }

    pub(crate) fn started(&self, s: InstanceStart) {
        self.starts.lock().expect("starts lock").push(s);
    }

    pub(crate) fn starts(&self) -> Vec<InstanceStart> {
        self.starts.lock().expect("starts lock").clone()
    }
}
