//! What `--engine-set` may set on a pg_auto_failover formation: the monitor's timings
//! (`pgautofailover.*`), the formation's `number_sync_standbys`, and each node's
//! `candidate_priority` and `replication_quorum` (every node, or one by name).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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

/// The formation's settings habench sets; what is not given keeps pg_auto_failover's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormationSettings {
    /// `pgautofailover.KEY` of the monitor, in its units (ms or a count).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub monitor: BTreeMap<String, i64>,
    /// How many standbys must confirm each commit (`pg_autoctl set formation
    /// number-sync-standbys`); 0, pg_auto_failover's default, still waits for one while one is up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_sync_standbys: Option<i64>,
    /// Node name ("*" for every node) -> its candidate priority (0-100; 0 is never promoted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub candidate_priority: BTreeMap<String, i64>,
    /// Node name ("*" for every node) -> whether it takes part in the write quorum.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replication_quorum: BTreeMap<String, bool>,
    /// Every node's postgres (as the monitor and the other nodes reach it) and its keeper's
    /// monitor connection go through emulated links, so that a node can be cut off; set by
    /// `partition-primary`. habench's clients reach each node directly.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub links: bool,
}

impl FormationSettings {
    pub fn is_empty(&self) -> bool {
        self == &FormationSettings::default()
    }

    /// Takes `--engine-set KEY=VALUE`; the error names the key and what it takes.
    pub fn set(&mut self, key: &str, value: &serde_json::Value) -> Result<(), String> {
        let (base, node) = match key.split_once('.') {
            Some((b, n)) if !n.is_empty() => (b, n),
            Some(_) => return Err(format!("{key}: name a node after the dot, e.g. candidate_priority.n2=0")),
            None => (key, "*"),
        };
        match base {
            "number_sync_standbys" if node == "*" => {
                self.number_sync_standbys = Some(whole(key, value, 0, 8)?);
            }
            "candidate_priority" => {
                self.candidate_priority.insert(node.into(), whole(key, value, 0, 100)?);
            }
            "replication_quorum" => {
                let b = value
                    .as_bool()
                    .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
                    .ok_or_else(|| format!("{key}={value}: give true or false"))?;
                self.replication_quorum.insert(node.into(), b);
            }
            _ if node == "*" && MONITOR_SETTINGS.iter().any(|(k, _)| *k == key) => {
                let unit = MONITOR_SETTINGS.iter().find(|(k, _)| *k == key).map_or("ms", |(_, u)| u);
                let n = value.as_i64().filter(|n| *n >= 1).ok_or_else(|| {
                    format!("{key}={value}: give a whole number of {unit} (1 or more), e.g. {key}=5000")
                })?;
                self.monitor.insert(key.into(), n);
            }
            _ => {
                let keys: Vec<&str> = MONITOR_SETTINGS.iter().map(|(k, _)| *k).collect();
                return Err(format!(
                    "{key} is not a setting pg_auto_failover takes here; use number_sync_standbys, \
                     candidate_priority[.NODE], replication_quorum[.NODE] or one of the monitor's: {}",
                    keys.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The node's `pg_autoctl create postgres` options for what is set (by name, else "*").
    pub fn node_args(&self, name: &str) -> Vec<String> {
        let mut a = Vec::new();
        if let Some(p) = self.candidate_priority.get(name).or_else(|| self.candidate_priority.get("*")) {
            a.extend(["--candidate-priority".to_string(), p.to_string()]);
        }
        if let Some(q) = self.replication_quorum.get(name).or_else(|| self.replication_quorum.get("*")) {
            a.extend(["--replication-quorum".to_string(), q.to_string()]);
        }
        a
    }

    /// A node named in a per-node key that is not among `names`.
    pub fn unknown_node<'a>(&'a self, names: &[String]) -> Option<&'a str> {
        let named = self.candidate_priority.keys().chain(self.replication_quorum.keys());
        named.map(String::as_str).find(|n| *n != "*" && !names.iter().any(|m| m == n))
    }
}

/// A whole number in `lo..=hi` from a JSON number or string.
fn whole(key: &str, value: &serde_json::Value, lo: i64, hi: i64) -> Result<i64, String> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .filter(|n| (lo..=hi).contains(n))
        .ok_or_else(|| format!("{key}={value}: give a whole number from {lo} to {hi}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_routed_typed_and_unknown_ones_refused_by_name() {
        let mut s = FormationSettings::default();
        s.set("number_sync_standbys", &json!(1)).unwrap();
        s.set("candidate_priority", &json!(50)).unwrap();
        s.set("candidate_priority.n3", &json!(0)).unwrap();
        s.set("replication_quorum.n3", &json!("false")).unwrap();
        s.set("primary_demote_timeout", &json!(5000)).unwrap();
        assert_eq!(s.number_sync_standbys, Some(1));
        assert_eq!(s.monitor["primary_demote_timeout"], 5000);
        assert_eq!(s.node_args("n2"), ["--candidate-priority", "50"]);
        assert_eq!(s.node_args("n3"), ["--candidate-priority", "0", "--replication-quorum", "false"]);
        assert_eq!(s.unknown_node(&["n1".into(), "n2".into(), "n3".into()]), None);
        assert_eq!(s.unknown_node(&["n1".into(), "n2".into()]), Some("n3"));

        assert!(s.set("candidate_priority", &json!(101)).unwrap_err().contains("0 to 100"));
        assert!(s.set("replication_quorum", &json!(3)).unwrap_err().contains("true or false"));
        assert!(s.set("health_check_period", &json!(0)).unwrap_err().contains("1 or more"));
        assert!(s.set("ttl", &json!(20)).unwrap_err().contains("ttl is not a setting"));
        assert!(s.set("number_sync_standbys.n2", &json!(1)).is_err(), "a formation setting has no node");
        assert!(s.set("candidate_priority.", &json!(1)).unwrap_err().contains("name a node"));
    }
}
