//! The reporting (tracking / BAM) workload: the read queries that operators and business
//! users run against the MessageBox, on the primary or on readable secondaries.

pub mod mix;
pub mod queries;
mod session;

pub use mix::{ReportKind, ReportMix};
pub use session::{conflict_counts, is_recovery_conflict, ReadPosition, ReportSession, ServerRole};
