//! A cluster that already runs elsewhere, described in a TOML file (`--cluster FILE`): its nodes'
//! connection strings, optionally their Patroni REST URLs or pg_auto_failover's monitor, and
//! shell commands that carry out fault actions on each node (ssh, systemctl, ...). Nothing in it
//! is started or stopped by habench.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cluster::command::{ShellCommand, DEFAULT_TIMEOUT};
use crate::patroni::http::{RestAccess, RestClient, Secret};
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
    commands: BTreeMap<String, CommandEntry>,
}

/// A command: its text, or a table with its text and its own timeout (`{ run, timeout }`),
/// read by hand so that a mistake is named by its key.
type CommandEntry = toml::Value;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    /// How long any command may run (default 30 s); a command's own `timeout` overrides it.
    timeout: Option<String>,
    /// The cluster manager: "patroni" (the nodes' `patroni` URLs) or "pg_auto_failover" (`monitor`).
    manager: Option<String>,
    /// pg_auto_failover's monitor, by connection string (`manager = "pg_auto_failover"`).
    monitor: Option<String>,
    nodes: Vec<NodeEntry>,
    /// Commands on the DCS: `pause` and `resume` (every member), for dcs-outage.
    #[serde(default)]
    dcs: BTreeMap<String, CommandEntry>,
    /// How to reach the nodes' REST APIs: TLS files and basic auth.
    rest: Option<RestEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestEntry {
    ca_file: Option<std::path::PathBuf>,
    cert_file: Option<std::path::PathBuf>,
    key_file: Option<std::path::PathBuf>,
    username: Option<String>,
    password: Option<String>,
}

/// One node of an existing cluster, checked.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterNode {
    pub name: String,
    /// Shown without its password.
    pub dsn: UserDsn,
    pub patroni: Option<String>,
    /// Action -> shell command (`sh -c`) and its timeout.
    pub commands: BTreeMap<String, ShellCommand>,
}

/// An existing cluster, checked.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterFile {
    /// Where it was read from.
    pub path: String,
    pub nodes: Vec<ClusterNode>,
    pub dcs: BTreeMap<String, ShellCommand>,
    /// TLS files and basic auth for the REST APIs (the password shown as `***`).
    pub rest: RestAccess,
    /// pg_auto_failover's monitor, when it is the manager (shown without its password).
    pub monitor: Option<UserDsn>,
}

impl ClusterFile {
    /// Parses and checks the file's text; errors name the file, the node and the key.
    pub fn parse(path: &str, text: &str) -> Result<ClusterFile, String> {
        let raw: FileText = toml::from_str(text).map_err(|e| {
            // The line names the key: a type's mismatch message does not.
            match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("{path}: line {line}: {}", e.message())
                }
                None => format!("{path}: {}", e.message()),
            }
        })?;
        let default_timeout = match &raw.timeout {
            Some(t) => timeout(t).map_err(|e| format!("{path}: timeout: {e}"))?,
            None => DEFAULT_TIMEOUT,
        };
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
                let scheme = crate::patroni::http::check_url(url).map_err(|e| format!("{at}.patroni: {e}"))?;
                if scheme == "https" && raw.rest.as_ref().and_then(|r| r.ca_file.as_ref()).is_none() {
                    return Err(format!(
                        "{at}.patroni: `{url}` is https: give [rest] ca_file (the CA that signed Patroni's certificate)"
                    ));
                }
            }
            if let Some(bad) = n.commands.keys().find(|k| !ACTIONS.contains(&k.as_str())) {
                return Err(format!("{at}.commands.{bad}: not an action; use {}", ACTIONS.join(", ")));
            }
            let commands = checked(n.commands, default_timeout, &format!("{at}.commands"))?;
            nodes.push(ClusterNode { name: n.name, dsn, patroni: n.patroni, commands });
        }
        if let Some(bad) = raw.dcs.keys().find(|k| !["pause", "resume"].contains(&k.as_str())) {
            return Err(format!("{path}: dcs.{bad}: not an action; use pause, resume"));
        }
        let dcs = checked(raw.dcs, default_timeout, &format!("{path}: dcs"))?;
        let rest = match raw.rest {
            None => RestAccess::default(),
            Some(r) => {
                if r.password.is_some() && r.username.is_none() {
                    return Err(format!("{path}: rest.password: give rest.username too (basic auth)"));
                }
                let access = RestAccess {
                    ca_file: r.ca_file,
                    cert_file: r.cert_file,
                    key_file: r.key_file,
                    username: r.username,
                    password: r.password.map(Secret::new),
                };
                // The files are read now: a missing or unreadable one is refused before the run.
                RestClient::new(&access).map_err(|e| format!("{path}: rest.{e}"))?;
                access
            }
        };
        let monitor = match (raw.manager.as_deref(), raw.monitor) {
            (Some("pg_auto_failover"), Some(m)) => {
                Some(UserDsn::parse(&m).map_err(|e| format!("{path}: monitor: {e}"))?)
            }
            (Some("pg_auto_failover"), None) => {
                return Err(format!(
                    "{path}: manager = \"pg_auto_failover\" needs `monitor`, the monitor's connection string \
                     (e.g. postgres://autoctl_node@monitor.example.internal:5432/pg_auto_failover)"
                ))
            }
            (Some("patroni"), None) if nodes.iter().any(|n| n.patroni.is_some()) => None,
            (Some("patroni"), None) => {
                return Err(format!(
                    "{path}: manager = \"patroni\" needs `patroni = \"http://HOST:PORT\"` on the nodes"
                ))
            }
            (None, None) => None,
            (None | Some("patroni"), Some(_)) => {
                return Err(format!("{path}: monitor: give manager = \"pg_auto_failover\" with it"))
            }
            (Some(other), _) => {
                return Err(format!(
                    "{path}: manager: `{other}` is not a manager habench knows; use patroni or pg_auto_failover"
                ))
            }
        };
        if monitor.is_some() && nodes.iter().any(|n| n.patroni.is_some()) {
            return Err(format!("{path}: a node names a Patroni URL, but the manager is pg_auto_failover: drop one"));
        }
        Ok(ClusterFile { path: path.to_string(), nodes, dcs, rest, monitor })
    }

    /// A client for the nodes' REST APIs (the files were checked when the file was read).
    pub(crate) fn rest_client(&self) -> RestClient {
        RestClient::new(&self.rest).unwrap_or_else(|_| RestClient::plain())
    }

    /// The passwords of the file's connection strings: never written to a log.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .nodes
            .iter()
            .map(|n| &n.dsn)
            .chain(self.monitor.as_ref())
            .filter_map(|d| d.config().get_password().map(|p| String::from_utf8_lossy(p).into_owned()))
            .collect();
        out.extend(self.rest.password.as_ref().map(|p| p.expose().to_string()));
        out
    }

    /// The first node lacking one of `actions`, and the action: any node may be the primary
    /// when a fault comes, so node actions are needed on all.
    pub(crate) fn missing_action(&self, actions: &[&str]) -> Option<(String, String)> {
        self.nodes.iter().find_map(|n| {
            actions.iter().find(|a| !n.commands.contains_key(**a)).map(|a| (n.name.clone(), a.to_string()))
        })
    }

    /// Whether some node has a Patroni REST URL.
    pub(crate) fn has_patroni(&self) -> bool {
        self.nodes.iter().any(|n| n.patroni.is_some())
    }

    /// Whether a cluster manager takes planned moves (Patroni's REST API, pg_auto_failover's monitor).
    pub(crate) fn has_manager(&self) -> bool {
        self.has_patroni() || self.monitor.is_some()
    }

    /// Whether the DCS can be paused and resumed.
    pub(crate) fn has_dcs_commands(&self) -> bool {
        self.dcs.contains_key("pause") && self.dcs.contains_key("resume")
    }
}

/// Each command with its timeout (its own, else the file's); errors name the key.
fn checked(
    entries: BTreeMap<String, CommandEntry>,
    default: std::time::Duration,
    at: &str,
) -> Result<BTreeMap<String, ShellCommand>, String> {
    let mut out = BTreeMap::new();
    for (action, entry) in entries {
        let shape = || format!("{at}.{action}: give a command, or {{ run = \"COMMAND\", timeout = \"30s\" }}");
        let (run, limit) = match entry {
            toml::Value::String(run) => (run, default),
            toml::Value::Table(t) => {
                if let Some(bad) = t.keys().find(|k| !["run", "timeout"].contains(&k.as_str())) {
                    return Err(format!("{at}.{action}.{bad}: not a key of a command; use run and timeout"));
                }
                let run = t.get("run").and_then(|v| v.as_str()).ok_or_else(shape)?.to_string();
                let limit = match t.get("timeout") {
                    None => default,
                    Some(toml::Value::String(text)) => {
                        timeout(text).map_err(|e| format!("{at}.{action}.timeout: {e}"))?
                    }
                    Some(_) => return Err(format!("{at}.{action}.timeout: give a duration such as \"30s\"")),
                };
                (run, limit)
            }
            _ => return Err(shape()),
        };
        if run.trim().is_empty() {
            return Err(format!("{at}.{action}: an empty command; give the shell command to run"));
        }
        out.insert(action, ShellCommand { run, timeout: limit });
    }
    Ok(out)
}

/// A command's timeout: a duration from 100 ms to 1 hour.
fn timeout(text: &str) -> Result<std::time::Duration, String> {
    let d = habench_workloads::duration::parse_duration(text)?;
    if d < std::time::Duration::from_millis(100) || d > std::time::Duration::from_secs(3600) {
        return Err(format!("`{text}` is out of range; give a duration from 100ms to 1h (default 30s)"));
    }
    Ok(d)
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

    #[test]
    fn a_pg_auto_failover_cluster_names_its_monitor_and_mistakes_are_named() {
        let nodes = "[[nodes]]\nname = \"n1\"\ndsn = \"host=db1 user=habench\"\n";
        let monitor = "monitor = \"postgres://autoctl_node:pw@mon:5432/pg_auto_failover\"\n";
        let ok = format!("manager = \"pg_auto_failover\"\n{monitor}{nodes}");
        let c = ClusterFile::parse("c.toml", &ok).unwrap();
        assert!(c.has_manager() && !c.has_patroni());
        assert_eq!(c.secrets(), vec!["pw".to_string()], "the monitor's password is a secret too");
        let e = ClusterFile::parse("c.toml", &format!("manager = \"pg_auto_failover\"\n{nodes}")).unwrap_err();
        assert!(e.contains("needs `monitor`"), "{e}");
        let e = ClusterFile::parse("c.toml", &format!("{monitor}{nodes}")).unwrap_err();
        assert!(e.contains("monitor: give manager = \"pg_auto_failover\""), "{e}");
        let e = ClusterFile::parse("c.toml", &format!("manager = \"repmgr\"\n{nodes}")).unwrap_err();
        assert!(e.contains("`repmgr` is not a manager"), "{e}");
        let e = ClusterFile::parse("c.toml", &format!("manager = \"patroni\"\n{nodes}")).unwrap_err();
        assert!(e.contains("needs `patroni"), "{e}");
    }

    #[test]
    fn command_timeouts_come_from_the_command_then_the_file_then_the_default() {
        let c = ClusterFile::parse("c.toml", FILE).unwrap();
        assert_eq!(c.nodes[0].commands["crash"].timeout, DEFAULT_TIMEOUT);
        let text = format!("timeout = \"5s\"\n{}", FILE).replace(
            "resume = \"ssh db1 sudo systemctl kill -s CONT patroni postgresql\"",
            "resume = { run = \"sleep 120\", timeout = \"3s\" }",
        );
        let c = ClusterFile::parse("c.toml", &text).unwrap();
        assert_eq!(c.nodes[0].commands["crash"].timeout, std::time::Duration::from_secs(5));
        assert_eq!(c.nodes[0].commands["resume"].timeout, std::time::Duration::from_secs(3));
        assert_eq!(c.nodes[0].commands["resume"].run, "sleep 120");
        assert_eq!(c.secrets(), vec!["s3cret".to_string()]);
        let bad = text.replace("timeout = \"3s\"", "timeout = \"soon\"");
        let e = ClusterFile::parse("c.toml", &bad).unwrap_err();
        assert!(e.contains("nodes[0].commands.resume.timeout") && e.contains("not a duration"), "{e}");
        let bad = text.replace("timeout = \"5s\"", "timeout = \"10ms\"");
        let e = ClusterFile::parse("c.toml", &bad).unwrap_err();
        assert!(e.starts_with("c.toml: timeout:") && e.contains("100ms to 1h"), "{e}");
        let bad = format!("{FILE}\n[dcs]\npause = {{ run = \"x\", timout = \"1s\" }}\n");
        let e = ClusterFile::parse("c.toml", &bad).unwrap_err();
        assert!(e.contains("dcs.pause.timout: not a key"), "{e}");
        let bad = format!("{FILE}\n[dcs]\npause = 3\n");
        assert!(ClusterFile::parse("c.toml", &bad).unwrap_err().contains("dcs.pause: give a command"));
    }
}
