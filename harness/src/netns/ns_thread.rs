//! A thread that lives in one host's namespace for as long as the network does: what it
//! creates belongs to the host. A process it spawns starts inside the namespace (a fork takes
//! the forking thread's namespace) and, with a parent-death signal, dies with this thread; a
//! socket it creates keeps the namespace for good, whichever thread connects it afterwards.

use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::netns::NetHost;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Debug)]
pub(super) struct NsThread {
    name: String,
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl NsThread {
    /// Starts the thread and waits until it has joined `host`'s namespace.
    pub(super) fn start(host: &NetHost) -> Result<NsThread> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel();
        let h = host.clone();
        let thread = std::thread::Builder::new()
            .name(format!("habench-ns-{}", host.name))
            .spawn(move || {
                let joined = super::enter(&h);
                let ok = joined.is_ok();
                let _ = ready_tx.send(joined);
                if ok {
                    for job in rx {
                        job();
                    }
                }
            })
            .map_err(|e| Error::node(&host.name, format!("starting its namespace's thread: {e}")))?;
        ready_rx.recv().map_err(|_| Error::node(&host.name, "its namespace's thread ended at once"))??;
        Ok(NsThread { name: host.name.clone(), jobs: Some(jobs), thread: Some(thread) })
    }

    /// Runs `f` on the thread and returns what it returned. Blocking (a channel round trip and
    /// what `f` does): from a runtime, keep `f` short (creating a socket, forking a process).
    pub(super) fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        let gone = || Error::node(&self.name, "its namespace's thread is gone");
        self.jobs.as_ref().ok_or_else(gone)?.send(job).map_err(|_| gone())?;
        rx.recv().map_err(|_| gone())
    }
}

impl Drop for NsThread {
    fn drop(&mut self) {
        // The queue closes, the thread ends: what it spawned with a parent-death signal dies.
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
