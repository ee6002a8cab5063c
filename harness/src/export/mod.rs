//! Output formats. Each exporter turns measured values into bytes or text; none measures.

pub mod distance;
pub mod ledger_csv;
pub mod manifest;
pub mod offload;
pub mod progress;
pub mod receive_csv;
pub mod summary_table;
pub mod timeline_csv;
pub mod variants;

/// A section of a repeated run's top folder: its `summary.json` part, and the same as a
/// Markdown table and as CSV.
#[derive(Debug)]
pub struct TableReport<S> {
    pub summary: S,
    pub markdown: String,
    pub csv: String,
}
