//! The SSO master secret: its server (a PostgreSQL server of its own, or the MessageBox's
//! cluster), what the host instances and configuration changes did with it during a run, and
//! the summary's account of it.

pub mod check;
mod server;
mod state;

pub use server::SsoServer;
pub use state::{InstanceStart, SsoState};
