//! Faults that the runner carries out on its own workers: the nemesis raises a request, the
//! worker it names dies at its next step (a host instance holding its batch, a receive instance
//! wherever it is in reading a file).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Requests from the nemesis to the runner's workers.
#[derive(Debug, Default)]
pub(crate) struct WorkerKills {
    host: AtomicBool,
    /// A receive instance dies; Some(d): it is started again after d.
    receive: Mutex<Option<Option<Duration>>>,
    /// Wakes receive instances that wait between polls: the death is not put off to the next poll.
    receive_raised: tokio::sync::Notify,
}

impl WorkerKills {
    /// An instance of the first host dies holding its next batch.
    pub(crate) fn kill_host_instance(&self) {
        self.host.store(true, Ordering::SeqCst);
    }

    /// Taken by the instance that dies (once).
    pub(crate) fn take_host_kill(&self) -> bool {
        self.host.swap(false, Ordering::SeqCst)
    }

    /// A receive instance dies, and restarts after `restart` if given.
    pub(crate) fn kill_receive_instance(&self, restart: Option<Duration>) {
        *self.receive.lock().expect("worker kills lock") = Some(restart);
        self.receive_raised.notify_waiters();
    }

    /// Resolves when a receive instance is next asked to die.
    pub(crate) async fn receive_kill_raised(&self) {
        self.receive_raised.notified().await;
    }

    /// Taken by the receive instance that dies (once): its restart delay, if any.
    pub(crate) fn take_receive_kill(&self) -> Option<Option<Duration>> {
        self.receive.lock().expect("worker kills lock").take()
    }
}
