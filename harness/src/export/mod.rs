//! Output formats. Each exporter turns measured values into bytes or text; none measures.

pub mod capacity;
pub mod compare;
pub mod distance;
pub mod exposure;
pub mod ledger_csv;
pub mod lost_writes;
pub mod manifest;
pub mod offload;
pub mod parallel;
pub mod progress;
pub mod receive;
pub mod receive_csv;
pub mod reports;
pub mod split_brain;
pub mod sso;
pub mod summary;
pub mod timeline_csv;

/// A section of a repeated run's top folder: its `summary.json` part, and the same as a
/// Markdown table and as CSV.
#[derive(Debug)]
pub struct TableReport<S> {
    pub summary: S,
    pub markdown: String,
    pub csv: String,
}
