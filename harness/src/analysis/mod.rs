//! The analysis: every verdict and derived figure, computed from what a run recorded (its result,
//! ledger, event log and samples) or from results read back. It formats nothing: `export/` and
//! `report/` turn its typed results into files and documents; it touches no server.

pub(crate) mod advise;
pub(crate) mod capacity_compare;
pub(crate) mod compare;
pub(crate) mod distance;
pub(crate) mod exposure;
pub(crate) mod floor;
pub(crate) mod lost_writes;
pub(crate) mod offload;
pub(crate) mod parallel;
pub(crate) mod receive_check;
pub(crate) mod reports;
pub(crate) mod run_summary;
pub(crate) mod split_brain;
pub(crate) mod sso;
pub(crate) mod trials;
pub(crate) mod two_primaries;
pub(crate) mod variants;
