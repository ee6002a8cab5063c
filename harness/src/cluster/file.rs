//! A cluster that already runs elsewhere, described in a TOML file (`--cluster FILE`): its nodes'
//! connection strings, optionally their Patroni REST URLs, and shell commands that carry out
//! fault actions on each node (ssh, systemctl, ...). Nothing in it is started or stopped by habench.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::pg::dsn::UserDsn;

/// Fault actions a node's commands can carry out.
pub const ACTIONS: [&str; 5] = ["crash", "kill", "pause", "resume", "restart_engine"];

/// One node as the file gives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeEntry {
    name: String,
    dsn: String,
    patroni: Option<String>,
    #[serde(default)]
    commands: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    nodes: Vec<NodeEntry>,
    /// Commands on the DCS: `pause` and `resume` (every member), for dcs-outage.
    #[serde(default)]
    dcs: BTreeMap<String, String>,
}

/// One node of an existing cluster, checked.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterNode {
    pub name: String,
    /// Shown without its password.
    pub dsn: UserDsn,
    pub patroni: Option<String>,
    /// Action -> shell command (`sh -c`).
    pub commands: BTreeMap<String, String>,
}

/// An existing cluster, checked.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterFile {
    /// Where it was read from.
    pub path: String,
    pub nodes: Vec<ClusterNode>,
    pub dcs: BTreeMap<String, String>,
}

impl ClusterFile {
    /// Parses and checks the file's text; errors name the file, the node and the key.
    pub fn parse(path: &str, text: &str) -> Result<ClusterFile, String> {
        let raw: FileText = toml::from_str(text).map_err(|e| format!("{path}: {}", e.message()))?;
        if raw.nodes.is_empty() {
            return Err(format!("{path}: no [[nodes]]; give each node's `name` and `dsn`"));
        }
        let mut nodes: Vec<ClusterNode> = Vec::new();
        for (i, n) in raw.nodes.into_iter().enumerate() {
            let at = format!("{path}: nodes[{i}]");
            check_name(&n.name).map_err(|e| format!("{at}.name: {e}"))?;
            if nodes.iter().any(|m| m.name == n.name) {
                return Err(format!("{at}.name: `{}` is used twice", n.name));
            }
            let dsn = UserDsn::parse(&n.dsn).map_err(|e| format!("{at}.dsn: {e}"))?;
            if let Some(url) = &n.patroni {
                crate::patroni::http::host_port(url)
                    .ok_or_else(|| format!("{at}.patroni: `{url}` is not http://HOST:PORT (Patroni's REST API)"))?;
            }
            if let Some(bad) = n.commands.keys().find(|k| !ACTIONS.contains(&k.as_str())) {
                return Err(format!("{at}.commands.{bad}: not an action; use {}", ACTIONS.join(", ")));
            }
            nodes.push(ClusterNode { name: n.name, dsn, patroni: n.patroni, commands: n.commands });
        }
        if let Some(bad) = raw.dcs.keys().find(|k| !["pause", "resume"].contains(&k.as_str())) {
            return Err(format!("{path}: dcs.{bad}: not an action; use pause, resume"));
        }
        Ok(ClusterFile { path: path.to_string(), nodes, dcs: raw.dcs })
    }

    /// The first node lacking one of `actions`, and the action: any node may be the primary
    /// when a fault comes, so node actions are needed on all.
    pub fn missing_action(&self, actions: &[&str]) -> Option<(String, String)> {
        self.nodes.iter().find_map(|n| {
            actions.iter().find(|a| !n.commands.contains_key(**a)).map(|a| (n.name.clone(), a.to_string()))
        })
    }

    /// Whether some node has a Patroni REST URL.
    pub fn has_patroni(&self) -> bool {
        self.nodes.iter().any(|n| n.patroni.is_some())
    }

    /// Whether the DCS can be paused and resumed.
    pub fn has_dcs_commands(&self) -> bool {
        self.dcs.contains_key("pause") && self.dcs.contains_key("resume")
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(())
    } else {
        Err("use 1 to 64 letters, digits, -, _ and .".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[nodes]]
name = "n1"
dsn = "host=db1.example.internal port=5432 user=habench password=s3cret dbname=postgres"
patroni = "http://db1.example.internal:8008"
[nodes.commands]
crash = "ssh db1 sudo systemctl kill -s KILL patroni postgresql"
pause = "ssh db1 sudo systemctl kill -s STOP patroni postgresql"
resume = "ssh db1 sudo systemctl kill -s CONT patroni postgresql"

[[nodes]]
name = "n2"
dsn = "host=db2.example.internal port=5432 user=habench dbname=postgres"
"#;

    #[test]
    fn a_cluster_file_is_checked_and_faults_need_their_keys() {
        let c = ClusterFile::parse("c.toml", FILE).unwrap();
        assert_eq!(c.nodes.len(), 2);
        assert!(!serde_json::to_string(&c).unwrap().contains("s3cret"), "the password is never shown");
        assert!(c.has_patroni() && !c.has_dcs_commands());
        assert_eq!(c.missing_action(&["crash"]), Some(("n2".into(), "crash".into())));
        assert_eq!(c.missing_action(&[]), None);
        let bad = FILE.replace("crash =", "explode =");
        assert!(ClusterFile::parse("c.toml", &bad).unwrap_err().contains("nodes[0].commands.explode"));
        let bad = FILE.replace("http://db1.example.internal:8008", "db1:8008");
        assert!(ClusterFile::parse("c.toml", &bad).unwrap_err().contains("nodes[0].patroni"));
        let bad = FILE.replace("port=5432 user=habench dbname", "port=x dbname");
        assert!(ClusterFile::parse("c.toml", &bad).unwrap_err().contains("nodes[1].dsn"));
        assert!(ClusterFile::parse("c.toml", "").unwrap_err().contains("nodes"));
    }
}
