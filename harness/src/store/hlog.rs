//! `latency.hlog`: an HdrHistogram interval log (V2 compressed histograms, one tag per
//! operation), readable by HdrHistogram tools. Written by its own thread: each interval is
//! serialized into memory and reaches the file whole, as the interval ends (a failed write cuts
//! the file back to its last whole interval).

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;

use crate::measure::{IntervalRow, Op};

type Interval = (Duration, Duration, Vec<(Op, Histogram<u64>)>);

#[derive(Debug)]
pub(crate) struct HlogWriter {
    tx: Option<mpsc::Sender<Interval>>,
    thread: Option<std::thread::JoinHandle<Option<String>>>,
    ops: Vec<Op>,
}

impl HlogWriter {
    pub(crate) fn start(path: PathBuf, wall_start: SystemTime, ops: Vec<Op>) -> std::io::Result<HlogWriter> {
        let mut file = super::RecordFile::create(&path)?;
        let (tx, rx) = mpsc::channel::<Interval>();
        let thread = std::thread::Builder::new().name("hlog".into()).spawn(move || {
            // The interval log writer borrows its output for its whole life: a shared buffer,
            // emptied into the file after each interval.
            let buf = super::SharedBuf::default();
            let mut out = buf.clone();
            let mut ser = V2DeflateSerializer::new();
            let mut builder = IntervalLogWriterBuilder::new();
            builder
                .add_comment("habench latency log: values in microseconds, one tag per operation")
                .with_start_time(wall_start)
                .with_base_time(wall_start)
                .with_max_value_divisor(1000.0);
            let Ok(mut log) = builder.begin_log_with(&mut out, &mut ser) else {
                return Some("its header could not be written".to_string());
            };
            file.append(&buf.take());
            for (start, len, hists) in rx {
                for (op, h) in &hists {
                    if let Err(e) = log.write_histogram(h, start, len, Tag::new(op.as_str())) {
                        tracing::warn!("writing latency.hlog: {e}");
                    }
                }
                file.append(&buf.take());
            }
            file.cut().map(str::to_string)
        })?;
        Ok(HlogWriter { tx: Some(tx), thread: Some(thread), ops })
    }

    /// Queues one interval: a histogram per operation of the run (empty ones included).
    pub(crate) fn interval(&self, row: &IntervalRow) {
        let start = Duration::from_secs_f64((row.t_s - row.interval_s).max(0.0));
        let len = Duration::from_secs_f64(row.interval_s);
        let hists = self
            .ops
            .iter()
            .map(|op| {
                (*op, row.stats.op(*op).map(|s| s.hist.clone()).unwrap_or_else(crate::measure::stats::new_histogram))
            })
            .collect();
        if let Some(tx) = &self.tx {
            let _ = tx.send((start, len, hists));
        }
    }

    /// Waits for every queued interval; returns why the file ends early, if it does.
    pub(crate) fn close(mut self) -> Option<String> {
        self.tx.take();
        self.thread.take().and_then(|t| t.join().ok()).flatten()
    }
}
