//! Measurement: per-worker recorders of latency (HdrHistogram) and outcomes, merged per
//! interval; timeline rows. Nothing here formats output (see `export`).

pub mod clock;
pub mod cpu;
pub mod exposure;
pub mod fit;
pub mod floor;
pub mod op;
pub mod recorder;
pub mod reports;
pub mod stall;
pub mod stats;
pub mod timeline;

pub use clock::RunClock;
pub use op::Op;
pub use recorder::{Recorders, WorkerRecorder};
pub use stats::{LatencySummary, OpStats, Stats};
pub use timeline::{IntervalRow, Phase, StandbyLag, ThrottleSample};
