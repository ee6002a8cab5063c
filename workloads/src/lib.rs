//! habench-workloads: *what* habench runs against a database and what "correct" means.
//!
//! The operation/outcome model, the MessageBox workload (schema and operations), the calibration
//! insert, and the seeded random source and duration syntax they share.

pub mod checker;
pub mod duration;
pub mod messagebox;
pub mod outcome;
pub mod reporting;
pub mod rng;
pub mod sso;

pub use outcome::{classify, classify_sqlstate, error_text, is_cancelled_sync_wait, Outcome, Phase};
