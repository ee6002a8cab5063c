//! What a Patroni cluster is asked to be: its DCS, its synchronous mode and any key of its
//! dynamic configuration; the timings it will really use (Patroni's own clamping applied).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Patroni's `synchronous_mode` family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Asynchronous replication (Patroni's default).
    #[default]
    Off,
    /// `synchronous_mode: true`: a sync standby confirms commits while one is available.
    On,
    /// `synchronous_mode_strict`: commits wait even when no standby is available.
    Strict,
    /// `synchronous_mode: quorum`: ANY k of the replicas confirm.
    Quorum,
}

impl SyncMode {
    pub(crate) const ALL: [SyncMode; 4] = [SyncMode::Off, SyncMode::On, SyncMode::Strict, SyncMode::Quorum];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SyncMode::Off => "off",
            SyncMode::On => "on",
            SyncMode::Strict => "strict",
            SyncMode::Quorum => "quorum",
        }
    }
}

impl fmt::Display for SyncMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SyncMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SyncMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a synchronous mode; use off, on, strict or quorum"))
    }
}

/// Top-level keys of Patroni's dynamic configuration (Patroni 3-4); `postgresql.*` and
/// `standby_cluster.*` take dotted paths.
pub(crate) const DYNAMIC_KEYS: [&str; 17] = [
    "ttl",
    "loop_wait",
    "retry_timeout",
    "maximum_lag_on_failover",
    "maximum_lag_on_syncnode",
    "max_timelines_history",
    "primary_start_timeout",
    "primary_stop_timeout",
    "synchronous_mode",
    "synchronous_mode_strict",
    "synchronous_node_count",
    "failsafe_mode",
    "check_timeline",
    "member_slots_ttl",
    "postgresql",
    "standby_cluster",
    "slots",
];

/// The engine part of a Patroni topology.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatroniSpec {
    /// etcd members (1 or 3).
    pub dcs_members: u8,
    pub sync_mode: SyncMode,
    /// `--engine-set KEY=VALUE`, in order; values typed as Patroni reads them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub engine_set: BTreeMap<String, serde_json::Value>,
    /// Every node's postgres, REST API and DCS connections go through emulated links (so that a
    /// node can be partitioned); set when a fault needs them.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub links: bool,
    /// `--rest-tls`: the REST API over HTTPS with basic auth.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rest_tls: bool,
}

impl Default for PatroniSpec {
    fn default() -> Self {
        PatroniSpec {
            dcs_members: 1,
            sync_mode: SyncMode::Off,
            engine_set: BTreeMap::new(),
            links: false,
            rest_tls: false,
        }
    }
}

/// Parses `KEY=VALUE` of `--engine-set` for any engine: integers, true/false and null are typed,
/// the rest is a string. Which keys an engine takes is checked with the topology
/// ([`parse_engine_set`] for Patroni).
pub fn parse_key_value(text: &str) -> Result<(String, serde_json::Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: write KEY=VALUE, e.g. ttl=20 or loop_wait=1 or failsafe_mode=true"))?;
    let value = value.trim();
    let typed = match value {
        "true" => serde_json::Value::Bool(true),
        "false" => serde_json::Value::Bool(false),
        "null" => serde_json::Value::Null,
        v => match v.parse::<i64>() {
            Ok(n) => serde_json::Value::from(n),
            Err(_) => serde_json::Value::String(v.to_string()),
        },
    };
    Ok((key.trim().to_string(), typed))
}

/// Parses `KEY=VALUE` of `--engine-set` for Patroni: KEY must be a key of Patroni's dynamic
/// configuration (dotted under postgresql).
pub fn parse_engine_set(text: &str) -> Result<(String, serde_json::Value), String> {
    let (key, typed) = parse_key_value(text)?;
    let key = key.as_str();
    let top = key.split('.').next().unwrap_or_default();
    if !DYNAMIC_KEYS.contains(&top) || key.split('.').any(str::is_empty) {
        return Err(format!(
            "`{key}` is not a key of Patroni's dynamic configuration; use one of {} (postgresql.* with dots)",
            DYNAMIC_KEYS.join(", ")
        ));
    }
    Ok((key.to_string(), typed))
}

impl PatroniSpec {
    /// The dynamic configuration written to the DCS at bootstrap: the synchronous mode, then
    /// the user's keys on top (they win).
    pub(crate) fn dynamic_config(&self, sync_count: u8, postgres: serde_json::Value) -> serde_json::Value {
        let mut dcs = serde_json::json!({ "postgresql": postgres });
        match self.sync_mode {
            SyncMode::Off => {}
            SyncMode::On => dcs["synchronous_mode"] = true.into(),
            SyncMode::Strict => {
                dcs["synchronous_mode"] = true.into();
                dcs["synchronous_mode_strict"] = true.into();
            }
            SyncMode::Quorum => dcs["synchronous_mode"] = "quorum".into(),
        }
        if self.sync_mode != SyncMode::Off {
            dcs["synchronous_node_count"] = sync_count.into();
        }
        for (key, value) in &self.engine_set {
            set_path(&mut dcs, key, value.clone());
        }
        dcs
    }

    /// The timings Patroni runs with, from the keys given (its defaults otherwise).
    pub(crate) fn timing(&self) -> Timing {
        let int = |k: &str| self.engine_set.get(k).and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
        Timing::clamped(
            int("ttl").unwrap_or(30),
            int("loop_wait").unwrap_or(10),
            int("retry_timeout").unwrap_or(10),
            int("primary_start_timeout").unwrap_or(300),
            self.engine_set.get("failsafe_mode").and_then(|v| v.as_bool()).unwrap_or(false),
        )
    }
}

fn set_path(root: &mut serde_json::Value, dotted: &str, value: serde_json::Value) {
    let mut at = root;
    let parts: Vec<&str> = dotted.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        if !at.get(*p).is_some_and(|v| v.is_object()) {
            at[*p] = serde_json::json!({});
        }
        at = &mut at[*p];
    }
    at[parts[parts.len() - 1]] = value;
}

/// The timings that decide how fast Patroni reacts, as Patroni applies them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Leader key lifetime (s).
    pub ttl: i64,
    /// HA loop period (s).
    pub loop_wait: i64,
    pub retry_timeout: i64,
    /// How long a crashed primary may take to restart in place before a failover (s).
    pub primary_start_timeout: i64,
    pub failsafe_mode: bool,
    /// What Patroni changed, in its words (e.g. `ttl=10 can't be smaller than 20`).
    pub adjusted: Vec<String>,
}

impl Timing {
    /// Patroni's rule (config.py `_validate_and_adjust_timeouts`): minimums loop_wait 1,
    /// retry_timeout 3, ttl 20; then `loop_wait + 2*retry_timeout <= ttl`, reducing loop_wait
    /// first and retry_timeout only when loop_wait is already 1.
    pub(crate) fn clamped(
        ttl: i64,
        loop_wait: i64,
        retry_timeout: i64,
        primary_start_timeout: i64,
        failsafe_mode: bool,
    ) -> Timing {
        let mut adjusted = Vec::new();
        let mut at_least = |name: &str, v: i64, min: i64| {
            if v < min {
                adjusted.push(format!("{name}={v} can't be smaller than {min}"));
                min
            } else {
                v
            }
        };
        let mut loop_wait = at_least("loop_wait", loop_wait, 1);
        let mut retry_timeout = at_least("retry_timeout", retry_timeout, 3);
        let ttl = at_least("ttl", ttl, 20);
        if 1 + 2 * retry_timeout > ttl {
            adjusted.push(format!(
                "loop_wait + 2*retry_timeout <= ttl violated: loop_wait {loop_wait} -> 1, retry_timeout {retry_timeout} -> {}",
                (ttl - 1) / 2
            ));
            loop_wait = 1;
            retry_timeout = (ttl - 1) / 2;
        } else if loop_wait + 2 * retry_timeout > ttl {
            adjusted.push(format!(
                "loop_wait + 2*retry_timeout <= ttl violated: loop_wait {loop_wait} -> {}",
                ttl - 2 * retry_timeout
            ));
            loop_wait = ttl - 2 * retry_timeout;
        }
        Timing { ttl, loop_wait, retry_timeout, primary_start_timeout, failsafe_mode, adjusted }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_settings_are_typed_and_unknown_keys_refused() {
        assert_eq!(parse_engine_set("ttl=20").unwrap(), ("ttl".into(), serde_json::json!(20)));
        assert_eq!(parse_engine_set("failsafe_mode=true").unwrap().1, serde_json::json!(true));
        assert_eq!(parse_engine_set("postgresql.use_pg_rewind=false").unwrap().0, "postgresql.use_pg_rewind");
        assert!(parse_engine_set("tll=20").unwrap_err().contains("not a key of Patroni"));
        assert!(parse_engine_set("ttl").unwrap_err().contains("KEY=VALUE"));
        assert!(parse_engine_set("postgresql..x=1").is_err());
    }

    #[test]
    fn timings_are_clamped_as_patroni_does() {
        let d = PatroniSpec::default().timing();
        assert_eq!((d.ttl, d.loop_wait, d.retry_timeout, d.adjusted.len()), (30, 10, 10, 0));
        let t = Timing::clamped(10, 2, 3, 300, false);
        assert_eq!((t.ttl, t.loop_wait, t.retry_timeout), (20, 2, 3));
        assert!(t.adjusted[0].contains("ttl=10 can't be smaller than 20"), "{:?}", t.adjusted);
        let r = Timing::clamped(20, 10, 10, 300, false);
        assert_eq!((r.loop_wait, r.retry_timeout), (1, 9));
        let l = Timing::clamped(20, 10, 5, 300, false);
        assert_eq!((l.loop_wait, l.retry_timeout), (10, 5));
        let l = Timing::clamped(20, 12, 5, 300, false);
        assert_eq!(l.loop_wait, 10);
    }

    #[test]
    fn the_dynamic_configuration_carries_the_mode_and_the_users_keys_last() {
        let mut spec = PatroniSpec { sync_mode: SyncMode::Strict, ..PatroniSpec::default() };
        spec.engine_set.insert("synchronous_node_count".into(), serde_json::json!(2));
        spec.engine_set.insert("postgresql.use_slots".into(), serde_json::json!(false));
        let dcs = spec.dynamic_config(1, serde_json::json!({"use_slots": true, "parameters": {}}));
        assert_eq!(dcs["synchronous_mode"], true);
        assert_eq!(dcs["synchronous_mode_strict"], true);
        assert_eq!(dcs["synchronous_node_count"], 2);
        assert_eq!(dcs["postgresql"]["use_slots"], false);
        let off = PatroniSpec::default().dynamic_config(1, serde_json::json!({}));
        assert!(off.get("synchronous_mode").is_none());
    }
}
