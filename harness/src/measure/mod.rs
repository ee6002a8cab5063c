//! Measurement: per-worker recorders of latency (HdrHistogram) and outcomes, merged per
//! interval; timeline rows. Nothing here formats output (see `export`).

pub(crate) mod clock;
pub mod cpu;
pub(crate) mod exposure;
pub(crate) mod fit;
pub(crate) mod floor;
pub(crate) mod op;
pub(crate) mod recorder;
pub(crate) mod reports;
pub(crate) mod stall;
pub mod stats;
pub(crate) mod timeline;

pub(crate) use clock::RunClock;
pub use op::Op;
pub use recorder::{Recorders, WorkerRecorder};
pub use stats::{LatencySummary, OpStats, Stats};
pub use timeline::{IntervalRow, Phase, StandbyLag, ThrottleSample};
