//! pg_auto_failover: a monitor node (PostgreSQL with the `pgautofailover` extension) that
//! assigns every data node its state, and a keeper (`pg_autoctl run`) per data node that
//! reports to it and carries the assignments out. habench starts a formation of its own
//! (`formation.rs`), reads the monitor's view of it (`view.rs`) and breaks its hosts or asks
//! the monitor for planned moves (`node_ops.rs`).

mod formation;
mod links;
mod locate;
mod monitor;
mod node_ops;
mod settings;
mod view;

pub use formation::Formation;
pub(crate) use formation::MONITOR;
pub(crate) use locate::version_note;
pub use locate::Autoctl;
pub use monitor::{Monitor, Readback};
pub use settings::{FormationSettings, MONITOR_SETTINGS};
pub use view::{FormationView, NodeState};
