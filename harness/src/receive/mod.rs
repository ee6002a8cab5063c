//! A receive location: a real directory, a feeder that writes files into it on the run's
//! schedule (each in pieces, as an upload arrives), and receive instances that poll it and
//! publish every file they read. What they read is recorded; `export::receive` compares it with
//! what was written.

pub(crate) mod file;
mod lease;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use lease::Lease;
pub(crate) use lease::Role;

/// The suffix of the feeder's hidden names, before a file is linked to its own.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

/// A file the feeder wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Feed {
    pub seq: u64,
    pub file: String,
    pub bytes: usize,
    /// µs since the Unix epoch: the file appeared (empty), and its last piece was written.
    pub created_us: i64,
    pub done_us: i64,
}

/// One read of a file by a receive instance, and what became of its publish.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub seq: u64,
    pub file: String,
    pub instance: String,
    pub msg_id: i64,
    /// Bytes read, and whether they were the whole file (length and checksum).
    pub bytes: usize,
    pub whole: bool,
    /// µs since the Unix epoch: the read began.
    pub read_us: i64,
    pub outcome: habench_workloads::Outcome,
}

/// What the feeder and the receive instances share, and what they record.
#[derive(Debug)]
pub(crate) struct ReceiveLog {
    dir: PathBuf,
    feeds: Mutex<Vec<Feed>>,
    receipts: Mutex<Vec<Receipt>>,
    lease: Mutex<Lease>,
}

/// Everything recorded about a receive location in one run.
#[derive(Debug, Clone, Default)]
pub struct ReceiveRecords {
    pub feeds: Vec<Feed>,
    pub receipts: Vec<Receipt>,
    /// Files still in the location after the run (unread, or claimed and never finished).
    pub left_on_disk: Vec<String>,
}

impl ReceiveLog {
    /// A log for the location `dir` (created when missing).
    pub(crate) fn new(dir: &Path) -> std::io::Result<ReceiveLog> {
        std::fs::create_dir_all(dir)?;
        Ok(ReceiveLog {
            dir: dir.to_path_buf(),
            feeds: Mutex::default(),
            receipts: Mutex::default(),
            lease: Mutex::new(Lease::held_by(1)),
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn feed(&self, f: Feed) {
        self.feeds.lock().expect("feeds lock").push(f);
    }

    pub(crate) fn receipt(&self, r: Receipt) {
        self.receipts.lock().expect("receipts lock").push(r);
    }

    /// Files not yet taken away: the feeder's files and claimed ones (not the feeder's
    /// temporary names).
    pub(crate) fn pending(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(TMP_SUFFIX))
            .collect();
        names.sort();
        names
    }

    /// clustered: instance `n` asks to be (or stay) the active one.
    pub(crate) fn ask_lease(&self, n: u16, dead_after: std::time::Duration) -> Role {
        self.lease.lock().expect("lease lock").ask(n, std::time::Instant::now(), dead_after)
    }

    /// clustered: the active instance's heartbeat; false when `n` is not the active one.
    pub(crate) fn beat(&self, n: u16) -> bool {
        self.lease.lock().expect("lease lock").beat(n, std::time::Instant::now())
    }

    /// Files an instance may still read: the feeder's own names (a file claimed by an instance
    /// that died keeps its hidden name, and nobody reads it any more).
    pub(crate) fn readable(&self) -> usize {
        self.pending().iter().filter(|n| file::FileName::parse(n).is_some()).count()
    }

    /// The records, sorted by time, and the files left.
    pub(crate) fn records(&self) -> ReceiveRecords {
        let mut feeds = std::mem::take(&mut *self.feeds.lock().expect("feeds lock"));
        feeds.sort_by_key(|f| f.seq);
        let mut receipts = std::mem::take(&mut *self.receipts.lock().expect("receipts lock"));
        receipts.sort_by_key(|r| (r.read_us, r.msg_id));
        ReceiveRecords { feeds, receipts, left_on_disk: self.pending() }
    }
}

/// Receive instances share one shape of name: `recv-N`.
pub(crate) fn instance_name(n: u16) -> String {
    format!("recv-{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_file_is_left_on_disk_but_no_longer_readable() {
        let dir = std::env::temp_dir().join(format!("habench-receive-log-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let log = ReceiveLog::new(&dir).unwrap();
        let name = file::FileName::of(1, b"abc").render();
        std::fs::write(dir.join(&name), b"abc").unwrap();
        std::fs::write(dir.join(format!(".{name}.recv-2")), b"abc").unwrap();
        std::fs::write(dir.join(format!(".{name}{TMP_SUFFIX}")), b"").unwrap();
        assert_eq!(log.pending().len(), 2, "the upload's temporary name is not a file yet");
        assert_eq!(log.readable(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
