//! The per-interval files written off the runtime: a thread of its own appends each interval's
//! timeline row and rewrites the partial `summary.json`, so that a slow disk (a write held by
//! the kernel's dirty-page throttling, an fsync) never stalls the runtime that measures.

use std::path::Path;
use std::sync::mpsc;

use super::record_file::RecordFile;

enum Job {
    Timeline(String),
    Summary(Vec<u8>),
}

#[derive(Debug)]
pub(crate) struct IntervalWriter {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<Option<String>>>,
}

impl IntervalWriter {
    /// Starts the thread; `timeline.csv` begins with `header`.
    pub(crate) fn start(dir: &Path, header: &str) -> std::io::Result<IntervalWriter> {
        let mut timeline = RecordFile::create(&dir.join("timeline.csv"))?;
        timeline.append(header.as_bytes());
        let summary = dir.join("summary.json");
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new().name("habench-results".into()).spawn(move || {
            for job in rx {
                match job {
                    Job::Timeline(row) => timeline.append(row.as_bytes()),
                    Job::Summary(bytes) => write_partial_summary(&summary, &bytes),
                }
            }
            timeline.cut().map(str::to_string)
        })?;
        Ok(IntervalWriter { tx: Some(tx), thread: Some(thread) })
    }

    pub(crate) fn timeline_row(&self, row: String) {
        self.send(Job::Timeline(row));
    }

    pub(crate) fn partial_summary(&self, bytes: Vec<u8>) {
        self.send(Job::Summary(bytes));
    }

    fn send(&self, job: Job) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(job);
        }
    }

    /// Waits for every queued write; returns why `timeline.csv` ends early, if it does.
    pub(crate) fn close(mut self) -> Option<String> {
        self.tx.take();
        self.thread.take().and_then(|t| t.join().ok()).flatten()
    }
}

/// The partial summary: replaced whole (a reader sees the last one or this one). Without fsync:
/// the final summary is synced; a partial one lost to a power cut changes nothing.
fn write_partial_summary(path: &Path, bytes: &[u8]) {
    if let Err(e) = super::replace_whole(path, bytes, false) {
        tracing::warn!("writing {}: {e}", path.display());
    }
}
