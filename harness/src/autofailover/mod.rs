//! pg_auto_failover: a monitor node (PostgreSQL with the `pgautofailover` extension) that
//! assigns every data node its state, and a keeper (`pg_autoctl run`) per data node that
//! reports to it and carries the assignments out. habench starts a formation of its own
//! (`formation.rs`), reads the monitor's view of it (`view.rs`) and breaks its hosts or asks
//! the monitor for planned moves (`node_ops.rs`).

mod formation;
mod locate;
mod monitor;
mod node_ops;
mod view;

pub use formation::Formation;
pub use locate::Autoctl;
pub use monitor::Monitor;
pub use view::{FormationView, NodeState};

/// The monitor's settings `--engine-set` may change (`pgautofailover.KEY`), with their units.
pub const MONITOR_SETTINGS: [(&str, &str); 7] = [
    ("node_considered_unhealthy_timeout", "ms"),
    ("primary_demote_timeout", "ms"),
    ("health_check_period", "ms"),
    ("health_check_timeout", "ms"),
    ("health_check_retry_delay", "ms"),
    ("health_check_max_retries", "count"),
    ("startup_grace_period", "ms"),
];

/// A monitor setting from `--engine-set KEY=VALUE`: a known key and a whole number (1 or more).
pub fn monitor_setting(key: &str, value: &serde_json::Value) -> Result<i64, String> {
    let Some((_, unit)) = MONITOR_SETTINGS.iter().find(|(k, _)| *k == key) else {
        let keys: Vec<&str> = MONITOR_SETTINGS.iter().map(|(k, _)| *k).collect();
        return Err(format!(
            "{key} is not a monitor setting pg_auto_failover takes here; use one of {}",
            keys.join(", ")
        ));
    };
    match value.as_i64() {
        Some(n) if n >= 1 => Ok(n),
        _ => Err(format!("{key}={value}: give a whole number of {unit}, e.g. {key}=5000")),
    }
}
