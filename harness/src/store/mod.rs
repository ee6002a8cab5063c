//! The results folder, written durably as the run goes: manifest first, then timeline, hlog and
//! ledger per interval, `summary.json` rewritten (atomically) after every interval with
//! `complete: false`, and for the last time when the run ends.

mod hlog;
mod interval_writer;
mod record_file;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::analysis::run_summary as summary;
use crate::export::{ledger_csv, progress, timeline_csv};
use crate::measure::IntervalRow;
use crate::run_result::{Progress, RunSink};
use crate::runner::ledger::{Event, LedgerEntry, LedgerRx};
use habench_workloads::checker::LedgerIndex;
use tokio::sync::mpsc::error::TryRecvError;

pub(crate) use hlog::HlogWriter;
pub(crate) use interval_writer::IntervalWriter;
use record_file::{RecordFile, SharedBuf};

/// How often the ledger writer collects the entries sent since its last look.
const LEDGER_TICK: std::time::Duration = std::time::Duration::from_millis(10);

#[derive(Debug)]
pub struct ResultsDir {
    path: PathBuf,
    writer: Option<IntervalWriter>,
    columns: Option<timeline_csv::Columns>,
    hlog: Option<HlogWriter>,
    header: Option<summary::Header>,
    quiet: bool,
}

impl ResultsDir {
    /// `out`, or `results/<scenario>-<utc stamp>/` with `results/latest` pointing at it. An
    /// existing non-empty `out` is refused: results are never mixed.
    pub fn create(out: Option<&Path>, scenario: &str, stamp: &str, quiet: bool) -> std::io::Result<ResultsDir> {
        let path = match out {
            Some(p) => p.to_path_buf(),
            None => Path::new("results").join(format!("{scenario}-{stamp}")),
        };
        if path.exists() && std::fs::read_dir(&path)?.next().is_some() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists and is not empty: give another --out", path.display()),
            ));
        }
        std::fs::create_dir_all(&path)?;
        if out.is_none() {
            let latest = Path::new("results").join("latest");
            let _ = std::fs::remove_file(&latest);
            let _ = std::os::unix::fs::symlink(path.file_name().unwrap_or_default(), &latest);
        }
        Ok(ResultsDir { path, writer: None, columns: None, hlog: None, header: None, quiet })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `name` atomically (temporary file, fsync, rename).
    pub(crate) fn write_json(&self, name: &str, value: &Value) -> std::io::Result<()> {
        let mut text = serde_json::to_vec_pretty(value)?;
        text.push(b'\n');
        write_atomic(&self.path.join(name), &text)
    }

    /// Writes `summary.json` atomically.
    pub(crate) fn write_summary<S: serde::Serialize>(&self, summary: &S) -> std::io::Result<()> {
        self.write_json("summary.json", &serde_json::to_value(summary)?)
    }

    /// Starts the per-interval files once the columns are known.
    pub(crate) fn begin(
        &mut self,
        columns: timeline_csv::Columns,
        header: summary::Header,
        wall_start: std::time::SystemTime,
    ) -> std::io::Result<()> {
        self.writer = Some(IntervalWriter::start(&self.path, &timeline_csv::header(&columns))?);
        self.hlog = Some(HlogWriter::start(self.path.join("latency.hlog"), wall_start, columns.ops.clone())?);
        self.columns = Some(columns);
        self.write_summary(&summary::partial(&header, &Default::default(), 0.0, "running"))?;
        self.header = Some(header);
        Ok(())
    }

    /// Writes the ledger as entries arrive (on a blocking-pool thread: file writes never hold
    /// the runtime) and indexes it for the checker; returns the index when the channel closes.
    /// A failed write cuts the file back to its last whole row and stops writing it (the index
    /// still gets every entry: the checker is not blinded by a full disk).
    pub fn spawn_ledger_writer(
        &self,
        mut rx: LedgerRx,
        hosts: usize,
    ) -> std::io::Result<tokio::task::JoinHandle<std::io::Result<LedgerSummary>>> {
        let mut file = RecordFile::create(&self.path.join("ledger.csv"))?;
        Ok(tokio::task::spawn_blocking(move || {
            // Rows are serialized into memory and reach the file whole.
            let buf = SharedBuf::default();
            let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(buf.clone());
            w.write_record(ledger_csv::HEADER)?;
            let mut out = LedgerSummary::new(hosts);
            loop {
                match rx.try_recv() {
                    Ok(e) => {
                        w.serialize(ledger_csv::record(&e))?;
                        out.add(&e);
                    }
                    // Drained: what came in reaches the file in one write, then the writer
                    // looks again a tick later. It never waits on the channel, so a worker's
                    // send wakes no thread: at 10,000 publishes/s a wake-up and a write per
                    // entry cost more CPU than the statement's client side (a crash loses at
                    // most a tick of rows).
                    Err(TryRecvError::Empty) => {
                        w.flush()?;
                        file.append(&buf.take());
                        // A blocking-pool thread of its own (`spawn_blocking`): the
                        // sleep holds no runtime.
                        std::thread::sleep(LEDGER_TICK);
                    }
                    Err(TryRecvError::Disconnected) => break,
                }
            }
            w.flush()?;
            file.append(&buf.take());
            out.cut = file.cut().map(str::to_string);
            out.acks.sort_unstable();
            Ok(out)
        }))
    }

    /// Closes the per-interval files (waiting for their writes); returns those that end early
    /// (`(file, why)`).
    pub(crate) fn finish(&mut self) -> Vec<(String, String)> {
        let mut cut = Vec::new();
        if let Some(why) = self.writer.take().and_then(IntervalWriter::close) {
            cut.push(("timeline.csv".to_string(), why));
        }
        if let Some(why) = self.hlog.take().and_then(HlogWriter::close) {
            cut.push(("latency.hlog".to_string(), why));
        }
        cut
    }
}

/// The ledger as the checker and the failover analysis need it.
#[derive(Debug)]
pub struct LedgerSummary {
    pub rows: u64,
    pub index: LedgerIndex,
    /// Every acknowledged publish (when, which message, which server), sorted by time: they
    /// time a fault's outage; MessageBox publishes also the durability exposure and split
    /// brain. (Calibration inserts, in runs with faults, are here too: they are no messages.)
    pub acks: Vec<crate::measure::exposure::MessageAck>,
    /// Parallel groups: every publish's group, and when deliveries ended.
    pub groups: crate::runner::group_ledger::GroupLedger,
    /// Why `ledger.csv` ends early (a write failed), when it does.
    pub cut: Option<String>,
}

impl LedgerSummary {
    pub fn new(hosts: usize) -> LedgerSummary {
        LedgerSummary {
            rows: 0,
            index: LedgerIndex::new(hosts),
            acks: Vec::new(),
            groups: Default::default(),
            cut: None,
        }
    }

    pub fn add(&mut self, e: &LedgerEntry) {
        self.rows += 1;
        self.groups.add(e);
        if matches!(e.event, Event::Publish | Event::Insert) && e.outcome.acknowledged() {
            let ack =
                crate::measure::exposure::MessageAck { at_us: e.at_us, msg_id: e.msg_id, server_port: e.server_port };
            self.acks.push(ack);
        }
        match e.event {
            Event::Publish => self.index.record_publish(e.msg_id, e.outcome),
            Event::Complete | Event::Suspend => {
                self.index.record_finish(e.msg_id, usize::from(e.host), e.outcome, e.held)
            }
            Event::Insert => {}
        }
    }
}

impl RunSink for ResultsDir {
    fn interval(&mut self, row: &IntervalRow, so_far: &Progress<'_>) {
        // The writes happen on the results thread: the runtime only hands them over.
        if let (Some(w), Some(c)) = (self.writer.as_ref(), self.columns.as_ref()) {
            w.timeline_row(timeline_csv::row(c, row));
        }
        if let Some(h) = &self.hlog {
            h.interval(row);
        }
        if let (Some(w), Some(header)) = (self.writer.as_ref(), &self.header) {
            let v = summary::partial(header, so_far.totals, so_far.measured_s, "running (or the run crashed)");
            match serde_json::to_vec_pretty(&v) {
                Ok(mut bytes) => {
                    bytes.push(b'\n');
                    w.partial_summary(bytes);
                }
                Err(e) => tracing::warn!("summary.json: {e}"),
            }
        }
        if !self.quiet {
            eprintln!("{}", progress::line(row, so_far));
        }
    }
}

/// Writes `path` atomically: a temporary file beside it, fsync, rename. A reader sees the old
/// content or the new, never a part; when a write fails (a full disk) the temporary file is
/// removed and `path` is left as it was.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_whole(path, bytes, true)
}

/// The temporary file beside `path` that [`write_atomic`] renames over it.
fn temporary_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

fn replace_whole(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let tmp = temporary_beside(path);
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        if sync {
            f.sync_data()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
