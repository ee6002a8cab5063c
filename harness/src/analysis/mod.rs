//! The analysis: every verdict and derived figure, computed from what a run recorded (its result,
//! ledger, event log and samples) or from results read back. It formats nothing: `export/` and
//! `report/` turn its typed results into files and documents; it touches no server.

pub mod capacity_compare;
pub mod compare;
pub mod distance;
pub mod exposure;
pub mod lost_writes;
pub mod offload;
pub mod parallel;
pub mod receive_check;
pub mod reports;
pub mod run_summary;
pub mod split_brain;
pub mod sso;
pub mod trials;
pub mod variants;
