//! pg_auto_failover: a monitor node (PostgreSQL with the `pgautofailover` extension) that
//! assigns every data node its state, and a keeper (`pg_autoctl run`) per data node that
//! reports to it and carries the assignments out. habench starts a formation of its own
//! (`formation.rs`) and reads the monitor's view of it (`view.rs`).

mod formation;
mod locate;
mod view;

pub use formation::Formation;
pub use locate::Autoctl;
pub use view::{FormationView, NodeState};
