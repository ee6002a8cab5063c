//! A cluster that runs elsewhere, as habench finds it: roles and replication discovered
//! (Patroni's `GET /cluster`, else `pg_is_in_recovery()` and `pg_stat_replication`), the
//! engine's timings read back from its DCS (`GET /config`), a write endpoint built from the
//! nodes, and the file's commands carried out on request.

use std::time::Duration;

use serde::Serialize;
use tokio_postgres::Config;

use crate::autofailover::Monitor;
use crate::cluster::command::CommandRunner;
use crate::cluster::file::{ClusterFile, ClusterNode};
use crate::error::{Error, Result};
use crate::patroni::{http, ClusterView, SyncMode, Timing};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REST_TIMEOUT: Duration = Duration::from_secs(2);

/// A node as discovered.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct NodeState {
    pub name: String,
    pub dsn: String,
    /// primary, standby or unreachable (SQL), or Patroni's role.
    pub role: String,
    pub patroni: Option<String>,
}

/// The engine running the cluster, when it has a Patroni REST API.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EngineState {
    pub engine: String,
    pub patroni_version: Option<String>,
    pub timing: Timing,
    pub sync_mode: SyncMode,
    pub dynamic_config: serde_json::Value,
    pub rest_urls: Vec<(String, String)>,
}

/// What the manifest records of an existing cluster.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ClusterInfo {
    pub file: String,
    pub write_dsn: String,
    pub nodes: Vec<NodeState>,
    /// `(application_name, sync_state)` on the primary.
    pub replication: Vec<(String, String)>,
    pub engine: Option<EngineState>,
    /// pg_auto_failover's monitor, when it manages the cluster: what it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_failover: Option<crate::topology::info::AutoFailoverInfo>,
}

#[derive(Debug)]
pub struct External {
    file: ClusterFile,
    info: ClusterInfo,
    commands: CommandRunner,
}

impl External {
    /// Reads the cluster as it is now; fails when no node takes writes.
    pub(crate) async fn discover(file: ClusterFile) -> Result<External> {
        let engine = engine_state(&file).await;
        let view = match &engine {
            Some(_) => rest_view(&file).await,
            None => None,
        };
        let (auto_failover, monitor_view) = match monitor_of(&file) {
            Some(m) => {
                let (info, view) = monitor_state(&file, &m).await?;
                (Some(info), Some(view))
            }
            None => (None, None),
        };
        let mut nodes = Vec::new();
        for n in &file.nodes {
            let role = match view.as_ref().and_then(|v| v.members.iter().find(|m| m.name == n.name)) {
                Some(m) => format!("{} ({})", if m.role == "leader" { "primary" } else { "standby" }, m.role),
                None => match monitor_view.as_ref().and_then(|v| v.nodes.iter().find(|m| m.name == n.name)) {
                    Some(m) if Some(m) == monitor_view.as_ref().and_then(|v| v.primary()) => {
                        format!("primary ({})", m.reported)
                    }
                    Some(m) => format!("standby ({})", m.reported),
                    None => sql_role(n).await,
                },
            };
            nodes.push(NodeState {
                name: n.name.clone(),
                dsn: n.dsn.shown().to_string(),
                role,
                patroni: n.patroni.clone(),
            });
        }
        let primary = nodes
            .iter()
            .position(|n| n.role.starts_with("primary"))
            .ok_or_else(|| Error::config("--cluster", format!("no node of {} takes writes now", file.path)))?;
        let replication = replication_of(&file.nodes[primary]).await;
        let write = write_config(&file);
        let info = ClusterInfo {
            file: file.path.clone(),
            write_dsn: crate::pg::dsn::shown(&write),
            nodes,
            replication,
            engine,
            auto_failover,
        };
        let commands = CommandRunner::new(file.secrets());
        Ok(External { file, info, commands })
    }

    pub(crate) fn info(&self) -> &ClusterInfo {
        &self.info
    }

    /// Every node in one multi-host connection string that lands on the writable one.
    pub(crate) fn write_config(&self) -> Config {
        write_config(&self.file)
    }

    pub(crate) fn rest_urls(&self) -> Vec<(String, String)> {
        self.file.nodes.iter().filter_map(|n| Some((n.name.clone(), n.patroni.clone()?))).collect()
    }

    /// The client for the nodes' REST APIs (the file's CA, client certificate and basic auth).
    pub(crate) fn rest_client(&self) -> http::RestClient {
        self.file.rest_client()
    }

    /// pg_auto_failover's monitor, when the file names it.
    pub(crate) fn monitor(&self) -> Option<Monitor> {
        monitor_of(&self.file)
    }

    /// Each node's connection, by name (to see a new primary answer).
    pub(crate) fn node_configs(&self) -> std::collections::BTreeMap<String, Config> {
        self.file.nodes.iter().map(|n| (n.name.clone(), n.dsn.config().clone())).collect()
    }

    /// Patroni's view now, from the first REST API that answers.
    pub(crate) async fn view(&self) -> Option<ClusterView> {
        rest_view(&self.file).await
    }

    /// The node that takes writes now (Patroni's leader, else the one not in recovery).
    pub(crate) async fn primary(&self) -> Result<String> {
        if let Some(m) = self.monitor() {
            let v = m.current().await?;
            return v.primary().map(|p| p.name.clone()).ok_or_else(|| Error::node("monitor", v.brief()));
        }
        if let Some(l) = self.view().await.and_then(|v| v.leader().map(|m| m.name.clone())) {
            return Ok(l);
        }
        for n in &self.file.nodes {
            if sql_role(n).await == "primary" {
                return Ok(n.name.clone());
            }
        }
        Err(Error::node("cluster", "no node takes writes now"))
    }

    /// The standby that confirms commits now: Patroni's sync standby, else the first `sync`
    /// or `quorum` standby whose application_name is a node's name.
    pub(crate) async fn sync_standby(&self) -> Result<String> {
        if let Some(m) = self.monitor() {
            let v = m.current().await?;
            return v
                .secondary()
                .map(|n| n.name.clone())
                .ok_or_else(|| Error::node("monitor", format!("no secondary: {}", v.brief())));
        }
        if let Some(v) = self.view().await {
            if let Some(m) = v.sync_standbys().first() {
                return Ok(m.name.clone());
            }
        }
        let primary = self.primary().await?;
        let node = self.node(&primary)?;
        let rows = replication_of(node).await;
        rows.iter()
            .filter(|(_, s)| s == "sync" || s == "quorum")
            .find_map(|(app, _)| self.file.nodes.iter().find(|n| n.name == *app).map(|n| n.name.clone()))
            .ok_or_else(|| Error::node(&primary, "no synchronous standby whose application_name is a node's name"))
    }

    fn node(&self, name: &str) -> Result<&ClusterNode> {
        self.file.nodes.iter().find(|n| n.name == name).ok_or_else(|| Error::node(name, "not in the cluster file"))
    }

    /// `method path` on the node's Patroni, or on the first node that has one.
    pub(crate) async fn rest_call(
        &self,
        node: &str,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<http::Response> {
        let url = self
            .node(node)?
            .patroni
            .clone()
            .or_else(|| self.file.nodes.iter().find_map(|n| n.patroni.clone()))
            .ok_or_else(|| Error::node(node, "no Patroni REST URL in the cluster file"))?;
        self.file
            .rest_client()
            .request(&url, method, path, Some(body), Duration::from_secs(90))
            .await
            .map_err(|e| Error::node(node, format!("Patroni REST {method} {path}: {e}")))
    }

    /// Runs the node's command for `action` (`sh -c`, in its own process group, with its
    /// timeout); returns what it printed.
    pub(crate) async fn run_action(&self, node: &str, action: &str) -> Result<String> {
        let cmd = self
            .node(node)?
            .commands
            .get(action)
            .ok_or_else(|| Error::node(node, format!("no commands.{action} in {}", self.file.path)))?;
        self.commands.run(node, action, cmd).await
    }

    /// Runs the DCS command for `action` (pause or resume).
    pub(crate) async fn run_dcs(&self, action: &str) -> Result<String> {
        let cmd = self.file.dcs.get(action).ok_or_else(|| Error::node("dcs", format!("no dcs.{action} command")))?;
        self.commands.run("dcs", action, cmd).await
    }

    /// Every command's record goes to `path` from now on (`commands.log` of the run).
    pub(crate) fn log_commands_to(&self, path: std::path::PathBuf) {
        self.commands.log_to(path);
    }

    /// Kills every command still running (with its process group); returns how many.
    pub(crate) fn kill_running_commands(&self) -> usize {
        self.commands.kill_running()
    }
}

impl Drop for External {
    fn drop(&mut self) {
        self.commands.kill_running();
    }
}

fn write_config(file: &ClusterFile) -> Config {
    let mut c = file.nodes[0].dsn.config().clone();
    for n in &file.nodes[1..] {
        let other = n.dsn.config();
        for (i, h) in other.get_hosts().iter().enumerate() {
            if let tokio_postgres::config::Host::Tcp(name) = h {
                c.host(name);
                c.port(other.get_ports().get(i).or(other.get_ports().first()).copied().unwrap_or(5432));
            }
        }
    }
    c.target_session_attrs(tokio_postgres::config::TargetSessionAttrs::ReadWrite);
    if c.get_connect_timeout().is_none() {
        c.connect_timeout(Duration::from_secs(2));
    }
    c
}

async fn sql_role(n: &ClusterNode) -> String {
    let Ok(client) = crate::pg::conn::connect_config(n.dsn.config(), CONNECT_TIMEOUT).await else {
        return "unreachable".into();
    };
    match client.query_one("SELECT pg_is_in_recovery()", &[]).await {
        Ok(row) if row.get::<_, bool>(0) => "standby".into(),
        Ok(_) => "primary".into(),
        Err(_) => "unreachable".into(),
    }
}

async fn replication_of(n: &ClusterNode) -> Vec<(String, String)> {
    let Ok(client) = crate::pg::conn::connect_config(n.dsn.config(), CONNECT_TIMEOUT).await else { return Vec::new() };
    client
        .query("SELECT application_name, sync_state FROM pg_stat_replication ORDER BY 1", &[])
        .await
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        .unwrap_or_default()
}

async fn rest_view(file: &ClusterFile) -> Option<ClusterView> {
    let client = file.rest_client();
    for url in file.nodes.iter().filter_map(|n| n.patroni.as_deref()) {
        if let Ok(r) = client.request(url, "GET", "/cluster", None, REST_TIMEOUT).await {
            if let Some(v) = ClusterView::parse(&r.body) {
                return Some(v);
            }
        }
    }
    None
}

/// Patroni's version and the dynamic configuration its DCS holds, as timings.
async fn engine_state(file: &ClusterFile) -> Option<EngineState> {
    let url = file.nodes.iter().find_map(|n| n.patroni.clone())?;
    let client = file.rest_client();
    let config = client.request(&url, "GET", "/config", None, REST_TIMEOUT).await.ok()?.json()?;
    let version = client
        .request(&url, "GET", "/patroni", None, REST_TIMEOUT)
        .await
        .ok()
        .and_then(|r| r.json())
        .and_then(|j| j["patroni"]["version"].as_str().map(|v| format!("patroni {v}")));
    let int = |k: &str, d: i64| config[k].as_i64().or_else(|| config[k].as_str()?.parse().ok()).unwrap_or(d);
    let timing = Timing::clamped(
        int("ttl", 30),
        int("loop_wait", 10),
        int("retry_timeout", 10),
        int("primary_start_timeout", 300),
        config["failsafe_mode"].as_bool().unwrap_or(false),
    );
    let sync_mode = match (&config["synchronous_mode"], config["synchronous_mode_strict"].as_bool()) {
        (serde_json::Value::String(s), _) if s == "quorum" => SyncMode::Quorum,
        (serde_json::Value::Bool(true), Some(true)) => SyncMode::Strict,
        (serde_json::Value::Bool(true), _) => SyncMode::On,
        _ => SyncMode::Off,
    };
    Some(EngineState {
        engine: "patroni".into(),
        patroni_version: version,
        timing,
        sync_mode,
        dynamic_config: config,
        rest_urls: file.nodes.iter().filter_map(|n| Some((n.name.clone(), n.patroni.clone()?))).collect(),
    })
}

fn monitor_of(file: &ClusterFile) -> Option<Monitor> {
    file.monitor.as_ref().map(|d| Monitor::remote(d.config().clone()))
}

/// What pg_auto_failover's monitor holds (its version, settings, the formation's and the nodes'
/// settings) and its view; fails when it does not answer or names nodes the file does not.
async fn monitor_state(
    file: &ClusterFile,
    m: &Monitor,
) -> Result<(crate::topology::info::AutoFailoverInfo, crate::autofailover::FormationView)> {
    let path = &file.path;
    let view =
        m.view().await.ok_or_else(|| Error::config("--cluster", format!("{path}: the monitor does not answer")))?;
    if let Some(n) = view.nodes.iter().find(|n| !file.nodes.iter().any(|f| f.name == n.name)) {
        let names: Vec<&str> = view.nodes.iter().map(|n| n.name.as_str()).collect();
        return Err(Error::config(
            "--cluster",
            format!("{path}: the monitor names a node {} that the file does not; name the [[nodes]] as the monitor does: {}", n.name, names.join(", ")),
        ));
    }
    let (version, monitor_settings) = m.extension().await?;
    let info = crate::topology::info::AutoFailoverInfo {
        engine: "pg_auto_failover".into(),
        version_note: crate::autofailover::version_note(&version),
        version: Some(version),
        monitor_uri: file.monitor.as_ref().map(|d| d.shown().to_string()).unwrap_or_default(),
        monitor_settings,
        formation: m.formation_settings().await?,
        formed_ms: None,
    };
    Ok((info, view))
}
