//! Output formats. Each exporter turns measured values into bytes or text; none measures.

pub(crate) mod distance;
pub mod ledger_csv;
pub(crate) mod manifest;
pub(crate) mod offload;
pub(crate) mod progress;
pub(crate) mod receive_csv;
pub(crate) mod summary_table;
pub(crate) mod timeline_csv;
pub(crate) mod variants;

/// A section of a repeated run's top folder: its `summary.json` part, and the same as a
/// Markdown table and as CSV.
#[derive(Debug)]
pub(crate) struct TableReport<S> {
    pub summary: S,
    pub markdown: String,
    pub csv: String,
}
