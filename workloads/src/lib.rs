//! habench-workloads: *what* habench runs against a database and what "correct" means.
//!
//! This crate owns the operation/outcome model. Later modules add the MessageBox schema and
//! operations, reporting queries and the checkers that read the ledger.

pub mod outcome;

pub use outcome::{classify, Outcome, Phase};
